import { ExitCode } from "../core/errors.js";
import { type Input, printJson } from "./command.js";
import { runDoctor } from "./doctor-checks.js";

export async function run({ values }: Input): Promise<number> {
  const checks = await runDoctor();
  if (values.json) printJson(checks);
  else {
    for (const c of checks) {
      process.stdout.write(
        `${c.status.padEnd(5)} ${c.name.padEnd(16)} ${c.detail}${c.fix ? `\n${" ".repeat(23)}→ ${c.fix}` : ""}\n`,
      );
    }
  }
  return checks.some((c) => c.status === "fail") ? ExitCode.environment : ExitCode.ok;
}
