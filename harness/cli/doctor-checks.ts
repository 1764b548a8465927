import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { execa } from "execa";
import { z } from "zod";
import { errorText } from "../core/errors.js";
import { sourceDirs, sourceDirsText } from "../core/paths.js";
import { engine, engineFacts, prepareReaper } from "../engine/client.js";
import { localImageId } from "../engine/images.js";
import { engineLocality } from "../engine/locality.js";
import { baseDefinitions } from "../targets/bases.js";
import { debianKeyring } from "../targets/debian.js";

export const Check = z.object({
  status: z.enum(["ok", "warn", "fail"]),
  name: z.string(),
  detail: z.string(),
  /** What to do about it; empty when nothing needs doing. */
  fix: z.string(),
});
export type Check = z.infer<typeof Check>;

const ok = (name: string, detail: string): Check => ({ status: "ok", name, detail, fix: "" });

/** Everything a run depends on, each with what to do when it is missing. Never changes anything. */
export async function runDoctor(): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    await engine();
  } catch (error) {
    return [
      {
        status: "fail",
        name: "engine",
        detail: errorText(error),
        fix: "start Docker: sudo bash scripts/ensure-engine.sh, or set DOCKER_HOST",
      },
    ];
  }
  const { version, info } = await engineFacts();
  checks.push(
    ok(
      "engine",
      `${version.Version} (${info.OperatingSystem ?? "?"}), ${info.NCPU} CPUs, ${(info.MemTotal / 1024 ** 3).toFixed(1)} GiB`,
    ),
  );
  const api = Number(version.ApiVersion);
  checks.push(
    api >= 1.41
      ? ok("api version", version.ApiVersion)
      : {
          status: "fail",
          name: "api version",
          detail: version.ApiVersion,
          fix: "seccomp errnoRet and live pids updates need engine 20.10 (API 1.41) or later: upgrade the engine",
        },
  );
  const security: string[] = info.SecurityOptions ?? [];
  checks.push(
    security.some((o) => o.includes("seccomp"))
      ? ok("seccomp", "supported: the seccomp-enomem fault can run")
      : {
          status: "fail",
          name: "seccomp",
          detail: "the engine has no seccomp support",
          fix: "use --fault pids-limit, or an engine built with seccomp",
        },
  );
  checks.push(ok("cgroup", `v${info.CgroupVersion ?? "?"} (${info.CgroupDriver ?? "?"} driver)`));
  checks.push(
    info.PidsLimit
      ? ok("pids controller", "available: the pids-limit fault can run")
      : {
          status: "fail",
          name: "pids controller",
          detail: "the engine cannot limit pids",
          fix: "enable the pids cgroup controller, or use --fault seccomp-enomem",
        },
  );
  checks.push(
    info.SwapLimit
      ? ok("memory limits", "memory and swap limits enforced")
      : {
          status: "warn",
          name: "memory limits",
          detail: "no swap accounting: MemorySwap is ignored",
          fix: "enable swap accounting (cgroup_enable=memory swapaccount=1) for limits without swap",
        },
  );
  const reaper = await prepareReaper();
  checks.push(
    reaper === "ryuk"
      ? ok("reaper", "Ryuk available: containers of a killed process are removed")
      : {
          status: "warn",
          name: "reaper",
          detail: "Ryuk cannot be pulled: only the harness removes its containers",
          fix: "after a kill -9, run `redis-repro cleanup`",
        },
  );
  // fds come from this host's /proc where the engine is here and it is readable (root), else by exec
  // in the server's container; under pids-limit, where no exec starts there, from a sidecar.
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const { onThisHost, publishing } = await engineLocality();
  checks.push(
    ok(
      "fd reading",
      `${isRoot && onThisHost ? "this host's /proc" : "exec in the server's container (under pids-limit: a sidecar container in its PID namespace)"}; ports ${publishing.how}`,
    ),
  );
  const dir = sourceDirsText();
  const listed = await Promise.all(sourceDirs().map((d) => readdir(d).catch(() => [] as string[])));
  const tarballs = listed.flat().filter((f) => /\.tar\.(gz|xz)$/.test(f));
  checks.push(
    tarballs.length
      ? ok(
          "source cache",
          `${dir}: ${tarballs.length} tarball(s) (${tarballs.slice(0, 6).join(", ")}${tarballs.length > 6 ? ", …" : ""})`,
        )
      : {
          status: "warn",
          name: "source cache",
          detail: `${dir} is empty`,
          fix: "tarballs are downloaded on first use; offline, run `redis-repro sources add FILE` or set REDIS_REPRO_SOURCES",
        },
  );
  // deb: targets verify Debian's signed indexes (gpgv, the archive keyring) and read them (xz).
  const runs = (program: string, args: string[]) =>
    execa(program, args, { reject: false }).then(
      (r) => r.exitCode === 0,
      () => false,
    );
  const keyring = debianKeyring();
  const debTools = [
    ...((await runs("gpgv", ["--version"])) ? [] : ["gpgv"]),
    ...((await runs("xz", ["--version"])) ? [] : ["xz-utils"]),
    ...(existsSync(keyring) ? [] : ["debian-archive-keyring"]),
  ];
  checks.push(
    debTools.length
      ? {
          status: "warn",
          name: "deb: targets",
          detail: `missing ${debTools.join(", ")}`,
          fix: `install them to build deb: targets (\`apt-get install ${debTools.join(" ")}\`); other targets do not need them`,
        }
      : ok("deb: targets", `gpgv, xz and ${keyring} present: Debian's signed indexes can be verified`),
  );
  const hasDebootstrap = await execa("debootstrap", ["--version"], { reject: false }).then(
    (r) => r.exitCode === 0,
    () => false,
  );
  for (const [role, def] of Object.entries(baseDefinitions())) {
    const official = await localImageId(def.official);
    const offline = await localImageId(def.offline);
    if (official || offline)
      checks.push(ok(`base ${role}`, official ? def.official : `${def.offline} (offline equivalent)`));
    else if (isRoot && hasDebootstrap)
      checks.push({
        status: "warn",
        name: `base ${role}`,
        detail: `${def.official} not present`,
        fix: "pulled on first build, or made offline with debootstrap (about a minute): `redis-repro images bases`",
      });
    else
      checks.push({
        status: "warn",
        name: `base ${role}`,
        detail: `${def.official} not present and no debootstrap/root`,
        fix: `docker pull ${def.official}, or make the offline bases once as root: \`sudo bash scripts/ensure-engine.sh\``,
      });
  }
  return checks;
}
