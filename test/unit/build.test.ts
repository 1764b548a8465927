import { describe, expect, it } from "vitest";
import { type ContentInput, contentHash, IMAGE_REPO, imageTag } from "../../harness/targets/build.js";

const base: ContentInput = {
  version: "3.2.8",
  filesDigest: "a98a109dd23993b780a3c33654653a1ae5c79f377e670b3fad092559a8664fb3",
  patches: [{ name: "fix-aof-pipe-leak", text: "--- a/src/aof.c\n+++ b/src/aof.c\n" }],
  dockerfile: "FROM scratch\n",
  builderId: "sha256:1111",
  runtimeId: "sha256:2222",
};

describe("contentHash", () => {
  it("is a sha256 hex digest", () => {
    expect(contentHash(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the same for the same input (and for an equal copy)", () => {
    expect(contentHash(base)).toBe(contentHash(base));
    expect(contentHash(structuredClone(base))).toBe(contentHash(base));
  });

  it("ignores fields other than the content ones (a full Patch object hashes like {name, text})", () => {
    const withExtra = {
      ...base,
      patches: base.patches.map((p) => ({ ...p, files: [], appliesTo: { from: "3.2.0", to: "3.2.8" } })),
    };
    expect(contentHash(withExtra)).toBe(contentHash(base));
  });

  it.each<[string, Partial<ContentInput>]>([
    ["version", { version: "3.2.7" }],
    ["files digest", { filesDigest: "b".repeat(64) }],
    [
      "a patch's text",
      { patches: [{ name: "fix-aof-pipe-leak", text: "--- a/src/aof.c\n+++ b/src/aof.c\n " }] },
    ],
    ["a patch's name", { patches: [{ name: "fix-other", text: "--- a/src/aof.c\n+++ b/src/aof.c\n" }] }],
    ["no patches", { patches: [] }],
    ["the Dockerfile", { dockerfile: "FROM scratch\nRUN true\n" }],
    ["the builder base id", { builderId: "sha256:1112" }],
    ["the runtime base id", { runtimeId: "sha256:2223" }],
    ["builder and runtime swapped", { builderId: "sha256:2222", runtimeId: "sha256:1111" }],
  ])("changes with %s", (_, change) => {
    expect(contentHash({ ...base, ...change })).not.toBe(contentHash(base));
  });

  it("depends on patch order", () => {
    const a = { name: "a", text: "A" };
    const b = { name: "b", text: "B" };
    expect(contentHash({ ...base, patches: [a, b] })).not.toBe(contentHash({ ...base, patches: [b, a] }));
  });
});

describe("imageTag", () => {
  const content = contentHash(base);

  it("names version, patches and 12 hex of content", () => {
    const tag = imageTag("3.2.8", ["fix-aof-pipe-leak"], content);
    expect(tag).toBe(`redis-repro/redis:3.2.8-fix-aof-pipe-leak-${content.slice(0, 12)}`);
    expect(tag).toMatch(/^redis-repro\/redis:3\.2\.8-fix-aof-pipe-leak-[0-9a-f]{12}$/);
    expect(tag.startsWith(`${IMAGE_REPO}:`)).toBe(true);
  });

  it("works without patches and with several", () => {
    expect(imageTag("3.2.8", [], content)).toMatch(/^redis-repro\/redis:3\.2\.8-[0-9a-f]{12}$/);
    expect(imageTag("8.0-m01", ["a", "b"], content)).toBe(
      `redis-repro/redis:8.0-m01-a-b-${content.slice(0, 12)}`,
    );
  });

  it("is a valid docker tag (at most 128 chars, allowed characters)", () => {
    const tag = imageTag("3.2.8", ["fix-aof-pipe-leak"], content);
    const tagPart = tag.slice(tag.indexOf(":") + 1);
    expect(tagPart).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });
});
