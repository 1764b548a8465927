import { z } from "zod";

/** The node a part acts on: "main" (the scenario's own) unless it names another. */
export const NodeName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/)
  .default("main");

/** A probe's series prefix. */
export const ProbeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a name such as fds, tmp or info");
