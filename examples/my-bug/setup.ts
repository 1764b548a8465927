import { matchers } from "redis-repro/vitest";
import { expect } from "vitest";

expect.extend(matchers);
