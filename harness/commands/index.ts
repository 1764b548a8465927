import { bisectCommand } from "./bisect.js";
import { bisectRunCommand } from "./bisect-run.js";
import { cleanupCommand } from "./cleanup.js";
import type { Command } from "./command.js";
import { doctorCommand } from "./doctor.js";
import { imagesCommand } from "./images.js";
import { matrixCommand } from "./matrix.js";
import { reportCommand } from "./report.js";
import { runCommand } from "./run.js";
import { sourcesCommand } from "./sources.js";
import { sweepCommand } from "./sweep.js";

export const commands: Command[] = [
  runCommand,
  matrixCommand,
  sweepCommand,
  bisectCommand,
  bisectRunCommand,
  imagesCommand,
  sourcesCommand,
  cleanupCommand,
  doctorCommand,
  reportCommand,
];

export const usage = `redis-repro: reproduce Redis bugs in real, resource-limited containers

Usage: redis-repro <command> [options]

${commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n")}

Run \`redis-repro <command> --help\` for its options.
Exit codes: 0 verdicts as expected, 1 a verdict not as expected, 2 usage or environment error.
`;
