import { UserError } from "../errors.js";
import { readReport } from "../report/read.js";
import { renderSummary } from "../report/summary.js";
import { type Command, printJson } from "./command.js";

const help = `redis-repro report show DIR [--json]

Reads DIR/report.json (written by \`redis-repro run --report DIR\`) and prints the summary the run
printed, from that file alone: no engine, no images, no sources needed.

  --json   print report.json's run (the RunResult) as JSON instead

Exit: 0 the report's expectations were met, 1 one was not, 2 no readable report in DIR.
`;

export const reportCommand: Command = {
  name: "report",
  summary: "show a report folder written by run --report DIR",
  help,
  options: { help: { type: "boolean", short: "h" }, json: { type: "boolean" } },
  async run(values, positionals) {
    const [sub, dir, ...extra] = positionals;
    if (sub !== "show")
      throw new UserError(
        sub === undefined
          ? "report needs a subcommand: redis-repro report show DIR"
          : `unknown report subcommand "${sub}": use redis-repro report show DIR`,
      );
    if (dir === undefined || extra.length > 0)
      throw new UserError("report show takes one folder: redis-repro report show DIR");
    const report = await readReport(dir);
    if (values.json) printJson(report.run);
    else process.stdout.write(renderSummary(report.run));
    return report.run.ok ? 0 : 1;
  },
};
