import { readReport } from "../report/read.js";
import { renderSummary } from "../report/summary.js";
import { type Input, printJson } from "./command.js";

export async function show({ values, args }: Input): Promise<number> {
  const report = await readReport(args[0] as string);
  if (values.json) printJson(report.run);
  else process.stdout.write(renderSummary(report.run));
  return report.run.ok ? 0 : 1;
}
