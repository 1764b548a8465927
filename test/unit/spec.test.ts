import { describe, expect, it } from "vitest";
import { compareVersions, formatTarget, parseTarget } from "../../harness/targets/spec.js";
import { userError } from "../helpers/errors.js";

describe("parseTarget", () => {
  it("parses a bare release version", () => {
    expect(parseTarget("3.2.8")).toEqual({ kind: "release", version: "3.2.8", patches: [] });
  });

  it("accepts the redis@ prefix and surrounding whitespace", () => {
    expect(parseTarget("redis@3.2.8")).toEqual({ kind: "release", version: "3.2.8", patches: [] });
    expect(parseTarget("  3.2.8 \n")).toEqual({ kind: "release", version: "3.2.8", patches: [] });
  });

  it("parses one patch", () => {
    expect(parseTarget("3.2.8+fix-aof-pipe-leak")).toEqual({
      kind: "release",
      version: "3.2.8",
      patches: ["fix-aof-pipe-leak"],
    });
  });

  it("keeps several patches in the order given", () => {
    expect(parseTarget("redis@3.2.8+b-second+a-first+c3")).toEqual({
      kind: "release",
      version: "3.2.8",
      patches: ["b-second", "a-first", "c3"],
    });
  });

  it("parses an image reference, keeping its own colons", () => {
    expect(parseTarget("image:redis:3.2.8")).toEqual({ kind: "image", image: "redis:3.2.8" });
    expect(parseTarget("image:ghcr.io/me/redis@sha256:abc")).toEqual({
      kind: "image",
      image: "ghcr.io/me/redis@sha256:abc",
    });
  });

  it("accepts pre-release and two-part versions", () => {
    expect(parseTarget("8.0-m01")).toEqual({ kind: "release", version: "8.0-m01", patches: [] });
    expect(parseTarget("3.2.0-rc3")).toEqual({ kind: "release", version: "3.2.0-rc3", patches: [] });
    expect(parseTarget("7.0")).toEqual({ kind: "release", version: "7.0", patches: [] });
  });

  it.each([
    "",
    "latest",
    "3",
    "3.2.8.1",
    "v3.2.8",
    "3.2.8-beta1",
    "redis@",
    "redis:3.2.8",
    "3.2.8+",
    "3.2.8++fix",
    "3.2.8+Fix-Upper",
    "3.2.8+-leading-dash",
    "3.2.8+fix aof",
    "image:",
    "image: redis",
    "image:-redis",
  ])("refuses malformed target %j with a one-line UserError", (input) => {
    const error = userError(() => parseTarget(input));
    expect(error.message).toContain("malformed target");
    expect(error.message).toContain(`"${input}"`.replace(/\s*\n\s*/g, " "));
    expect(error.message).not.toContain("\n");
    expect(error.exitCode).toBe(2);
  });

  it("names the bad patch in the message", () => {
    expect(userError(() => parseTarget("3.2.8+Bad")).message).toContain('patch name "Bad"');
  });

  it("refuses a patch named twice", () => {
    const error = userError(() => parseTarget("3.2.8+fix-aof-pipe-leak+fix-aof-pipe-leak"));
    expect(error.message).toMatch(/named twice/);
  });
});

describe("formatTarget", () => {
  it.each([
    "3.2.8",
    "3.2.8+fix-aof-pipe-leak",
    "3.2.8+b+a",
    "8.0-m01",
    "image:redis:3.2.8",
    "image:ghcr.io/x/y:1",
  ])("round-trips %s", (text) => {
    const spec = parseTarget(text);
    expect(formatTarget(spec)).toBe(text);
    expect(parseTarget(formatTarget(spec))).toEqual(spec);
  });

  it("drops the redis@ prefix (canonical form)", () => {
    expect(formatTarget(parseTarget("redis@3.2.8+fix-aof-pipe-leak"))).toBe("3.2.8+fix-aof-pipe-leak");
  });
});

describe("compareVersions", () => {
  it.each([
    ["3.2.9", "3.2.8"],
    ["3.2.10", "3.2.9"],
    ["3.2.13", "3.2.2"],
    ["4.0.0", "3.2.13"],
    ["10.0.0", "9.9.9"],
    ["8.0.0", "8.0-m01"],
    ["3.2.0", "3.2.0-rc3"],
    ["3.2.0-rc10", "3.2.0-rc3"],
    ["8.0-m02", "8.0-m01"],
    ["3.2.1", "3.2.0"],
  ])("%s > %s", (bigger, smaller) => {
    expect(compareVersions(bigger, smaller)).toBeGreaterThan(0);
    expect(compareVersions(smaller, bigger)).toBeLessThan(0);
  });

  it("treats a missing patch level as .0", () => {
    expect(compareVersions("8.0", "8.0.0")).toBe(0);
    expect(compareVersions("3.2.8", "3.2.8")).toBe(0);
  });

  it("sorts a mixed list numerically, pre-releases first", () => {
    const list = ["3.2.10", "8.0.0", "3.2.9", "8.0-m01", "3.2.0", "3.2.0-rc3", "2.8.24", "3.2.8"];
    expect([...list].sort(compareVersions)).toEqual([
      "2.8.24",
      "3.2.0-rc3",
      "3.2.0",
      "3.2.8",
      "3.2.9",
      "3.2.10",
      "8.0-m01",
      "8.0.0",
    ]);
  });
});
