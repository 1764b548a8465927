import { runDoctor } from "../doctor.js";
import { type Command, commonOptions, printJson } from "./command.js";

export const doctorCommand: Command = {
  name: "doctor",
  summary: "check the engine, seccomp, cgroups, pids, source cache and base images; say what to fix",
  help: "redis-repro doctor [--json]\n\n  Checks what runs depend on and says what to do about each missing piece. Exit 2 when something fails.\n",
  options: { ...commonOptions },
  async run(values) {
    const checks = await runDoctor();
    if (values.json) printJson(checks);
    else {
      for (const c of checks) {
        process.stdout.write(
          `${c.status.padEnd(5)} ${c.name.padEnd(16)} ${c.detail}${c.fix ? `\n${" ".repeat(23)}→ ${c.fix}` : ""}\n`,
        );
      }
    }
    return checks.some((c) => c.status === "fail") ? 2 : 0;
  },
};
