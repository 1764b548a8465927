import { describe, expect, it } from "vitest";
import { decidePublishing, engineOnThisHost, isLoopback } from "../../harness/engine/locality.js";

describe("engine locality: where a run's port is published and whether /proc is the engine's", () => {
  it("loopback: names and addresses", () => {
    for (const host of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ["10.253.1.2", "192.168.1.10", "::2", "docker.example", "localhost.example", ""])
      expect(isLoopback(host), host).toBe(false);
  });

  it("a local socket or a loopback TCP address is this host; any other address is another machine", () => {
    expect(engineOnThisHost({ socketPath: "/var/run/docker.sock" })).toBe(true);
    expect(engineOnThisHost({ socketPath: "/run/podman/podman.sock" })).toBe(true);
    expect(engineOnThisHost({ host: "127.0.0.1" })).toBe(true);
    expect(engineOnThisHost({ host: "localhost" })).toBe(true);
    expect(engineOnThisHost({ host: "10.253.7.2" })).toBe(false);
    expect(engineOnThisHost({ host: "docker.example" })).toBe(false);
    expect(engineOnThisHost({})).toBe(false);
  });

  it("a local engine's port stays on loopback, reached at 127.0.0.1 (not a name that may be ::1)", () => {
    expect(decidePublishing("localhost")).toMatchObject({ bindIp: "127.0.0.1", connectHost: "127.0.0.1" });
    expect(decidePublishing("127.0.0.1")).toMatchObject({ bindIp: "127.0.0.1", connectHost: "127.0.0.1" });
  });

  it("an address of this host's own interfaces is the local engine too: loopback, not the bridge", () => {
    // A sandbox with /.dockerenv whose engine shares its network namespace: testcontainers gives
    // docker0's gateway, which is one of our own addresses.
    const own = ["127.0.0.1", "192.0.2.2", "172.17.0.1"];
    expect(decidePublishing("172.17.0.1", own)).toMatchObject({
      bindIp: "127.0.0.1",
      connectHost: "127.0.0.1",
    });
    expect(decidePublishing("192.0.2.2", own)).toMatchObject({
      bindIp: "127.0.0.1",
      connectHost: "127.0.0.1",
    });
    // This host's end of a veth pair is ours; the engine's end (another namespace) is not.
    expect(decidePublishing("10.253.7.2", [...own, "10.253.7.1"])).toMatchObject({ bindIp: "10.253.7.2" });
  });

  it("an engine reached at an address: bound to that address only, reached there", () => {
    expect(decidePublishing("10.253.7.2", [])).toMatchObject({
      bindIp: "10.253.7.2",
      connectHost: "10.253.7.2",
    });
    // Inside a container (its own network namespace), testcontainers gives the bridge's gateway for a
    // mounted socket: the host's address, not ours.
    expect(decidePublishing("172.17.0.1", ["127.0.0.1", "172.17.0.5"])).toMatchObject({
      bindIp: "172.17.0.1",
      connectHost: "172.17.0.1",
    });
    expect(decidePublishing("[fd00::2]", [])).toMatchObject({ bindIp: "fd00::2", connectHost: "fd00::2" });
  });

  it("an engine reached by a name: every interface of its host, and the words say so", () => {
    const p = decidePublishing("docker.example");
    expect(p).toMatchObject({ bindIp: "0.0.0.0", connectHost: "docker.example" });
    expect(p.how).toMatch(/every interface of docker\.example/);
  });
});
