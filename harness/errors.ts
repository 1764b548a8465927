/**
 * Errors a user can cause or fix: one line that names the thing and the fix.
 * The CLI prints `message` alone and exits with `exitCode`; anything else is a bug and shows a stack.
 */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "UserError";
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
 * the user's input nor the verdict: `kind` lets the CLI give it the environment's exit code.
 */
export class EnvironmentError extends UserError {
  readonly kind = "environment" as const;
  constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}
