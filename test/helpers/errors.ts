import { expect } from "vitest";
import { UserError } from "../../harness/core/errors.js";

/** Runs `fn`, expects it to throw a UserError, and returns it for assertions on its one line. */
export function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error("expected a UserError, nothing was thrown");
}
