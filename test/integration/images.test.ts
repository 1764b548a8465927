import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { removeContainers } from "../../harness/engine/cleanup.js";
import { prepareReaper } from "../../harness/engine/client.js";
import { localImage } from "../../harness/engine/images.js";
import { RedisReproContainer } from "../../harness/parts/container/redis-container.js";
import { ensureImage, type TargetImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

const runId = `test-images-${process.pid}`;
const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");

async function pingImage(image: TargetImage): Promise<{ pong: string; version: string }> {
  await prepareReaper();
  // Given the TargetImage, the container knows the release's arguments and a brought image's entrypoint.
  const container = await new RedisReproContainer(image)
    .withRun(runId, image.target)
    .withLimits({ memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 })
    .start();
  // A client of our own, not the container's: the image must answer any client on its published port.
  const client = new Redis({ host: container.host, port: container.port, lazyConnect: true });
  try {
    await client.connect();
    const pong = await client.ping();
    const info = await client.info("server");
    return { pong, version: /redis_version:(\S+)/.exec(info)?.[1] ?? "" };
  } finally {
    client.disconnect();
    await container.discard();
  }
}

async function buildTwice(target: string): Promise<[TargetImage, TargetImage]> {
  const first = await ensureImage(parseTarget(target), { bases: "auto" });
  const second = await ensureImage(parseTarget(target), { bases: "auto" });
  return [first, second];
}

afterAll(async () => {
  await removeContainers(runId);
});

describe("images from verified sources", () => {
  it.skipIf(missing7)(
    skipTitle(
      "7.0.15 (Debian's source package, verified by files digest) builds, is cached, answers PING",
      missing7,
    ),
    async () => {
      const [first, second] = await buildTwice("7.0.15");
      expect(["built", "cached"]).toContain(first.origin);
      expect(first.sourceCheck).toMatch(/^(files-digest|published-sha256)$/);
      expect(second.origin).toBe("cached");
      expect(second.image).toBe(first.image);
      expect(second.imageId).toBe(first.imageId);
      expect(first.image).toMatch(/^redis-repro\/redis:7\.0\.15-[0-9a-f]{12}$/);
      const labels = (await localImage(first.image))?.labels ?? {};
      expect(labels["redis-repro.version"]).toBe("7.0.15");
      expect(labels["redis-repro.source-check"]).toBe(first.sourceCheck);
      expect(await pingImage(second)).toEqual({ pong: "PONG", version: "7.0.15" });
    },
    600_000,
  );

  it.skipIf(missing328)(
    skipTitle("3.2.8 and 3.2.8+fix-aof-pipe-leak build, are cached the second time, answer PING", missing328),
    async () => {
      for (const target of ["3.2.8", "3.2.8+fix-aof-pipe-leak"]) {
        const [first, second] = await buildTwice(target);
        expect(second.origin).toBe("cached");
        expect(second.imageId).toBe(first.imageId);
        expect(await pingImage(second)).toEqual({ pong: "PONG", version: "3.2.8" });
      }
      const plain = await ensureImage(parseTarget("3.2.8"), { bases: "auto" });
      const fixed = await ensureImage(parseTarget("3.2.8+fix"), { bases: "auto" });
      expect(fixed.target).toBe("3.2.8+fix-aof-pipe-leak");
      expect(fixed.image).not.toBe(plain.image);
      expect(fixed.image).toContain("3.2.8-fix-aof-pipe-leak-");
    },
    600_000,
  );

  it.skipIf(missing7)(
    skipTitle("an image the user brings (image:REF) is used as is", missing7),
    async () => {
      const ours = await ensureImage(parseTarget("7.0.15"), { bases: "auto" });
      const brought = await ensureImage(parseTarget(`image:${ours.image}`), { bases: "auto" });
      expect(brought.origin).toBe("brought");
      expect(brought.imageId).toBe(ours.imageId);
      expect(await pingImage(brought)).toEqual({ pong: "PONG", version: "7.0.15" });
    },
    600_000,
  );

  it("leaves no container behind", async () => {
    expect(await countContainers(runId)).toBe(0);
  });
});
