/**
 * Exit codes, in one place. The CLI's help and docs/troubleshooting.md quote `exitCodesHelp`.
 * 130/143 (SIGINT/SIGTERM) come from harness/core/interrupt.ts.
 */
export const ExitCode = {
  /** Every outcome as expected. */
  ok: 0,
  /** An outcome not as expected, or no single flip for bisect. */
  notAsExpected: 1,
  /** The command line or an input file is wrong: fix what you typed. */
  usage: 2,
  /** The machine cannot do the run: no engine, a base image or download missing, a container removed from outside. */
  environment: 3,
  /** A bug in the harness: the message carries a stack. */
  internal: 4,
} as const;

/** The codes every command shares; each command's help says what its 0 and 1 mean before these. */
export const sharedExitCodes =
  "2 usage error (fix the command or input), 3 environment failure (engine, base images, downloads, builds, a container removed from outside), 4 internal error (a bug: please report it), 130/143 interrupted";
export const exitCodesHelp = `Exit codes: 0 as expected, 1 not as expected, ${sharedExitCodes}.`;

/** Whose fix it is: the user's input (usage) or the machine the run needs (environment). */
export type ErrorKind = "usage" | "environment";

/**
 * Errors a user can cause or fix: one line that names the thing and the fix.
 * The CLI prints `message` alone and exits with `exitCode`; anything else is a bug and shows a stack.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(
    message: string,
    readonly kind: ErrorKind = "usage",
    /** For a command another tool runs and reads by its exit (git bisect run): its own code. */
    exitCode?: number,
  ) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "UserError";
    this.exitCode = exitCode ?? (kind === "environment" ? ExitCode.environment : ExitCode.usage);
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The environment failed the run (the engine went away, a container was removed from outside), not
 * the user's input nor an outcome: `kind` lets the CLI give it the environment's exit code.
 */
export class EnvironmentError extends UserError {
  constructor(message: string) {
    super(message, "environment");
    this.name = "EnvironmentError";
  }
}

/** zod's first issue as "path: message", for a one-line error naming the field to fix. */
export function firstIssue(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? issue.path.map(String).join(".") : "(top level)";
  return `${path}: ${issue?.message ?? "invalid"}`;
}
