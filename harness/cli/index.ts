/**
 * Every command, one entry each: what it takes (from which the parser and the help are made) and a
 * dynamic import of the code that runs it. Adding a command is adding an entry here and a module that
 * exports `run(input)`. Keep this file free of imports that load anything heavy (see spec.ts).
 */
import type { CommandSpec, OptionSpec } from "./spec.js";

/** Values also defined in the code that uses them; test/unit/cli.test.ts keeps the two equal. */
export const DEFAULT_SCENARIO = "aof-auto-rewrite-enomem";
export const FAULTS = ["seccomp-enomem", "pids-limit", "none"] as const;
export const BASE_MODES = ["auto", "online", "offline"] as const;
export const MAX_CONCURRENCY = 8;

const json: OptionSpec = {
  type: "boolean",
  help: "print only JSON on stdout, and no progress on stderr (errors still go there)",
};
const sources: OptionSpec = {
  type: "string",
  arg: "DIR",
  help: "source cache of release tarballs (else $REDIS_REPRO_SOURCES or ~/.cache/redis-repro/sources)",
};
const bases: OptionSpec = {
  type: "string",
  choices: BASE_MODES,
  default: "auto",
  help: "base images for builds: online pulls the official ones, offline makes equivalents here with debootstrap (root), auto tries online then offline",
};
const rebuild: OptionSpec = {
  type: "boolean",
  help: "build images again even when their content tag exists",
};
const gitDir: OptionSpec = {
  type: "string",
  arg: "DIR",
  help: "the clone git:REF targets come from (else $REDIS_REPRO_GIT; a bare clone works)",
};
const build = { bases, rebuild, sources, "git-dir": gitDir };
const concurrency: OptionSpec = {
  type: "string",
  arg: "N",
  help: `containers at once, 1..${MAX_CONCURRENCY} (default two per core)`,
};
const shard: OptionSpec = {
  type: "string",
  arg: "I/N",
  help: "run only part I of N of the cells, for spreading one run over N CI runners: every runner gets the same command line and its own I; cells are dealt round-robin in the order given; join the parts' --json results with `redis-repro merge`",
};
const target: OptionSpec = {
  type: "string",
  multiple: true,
  arg: "TARGET",
  help: "the same as a TARGET argument",
};
const scenario = (multiple: boolean): OptionSpec => ({
  type: "string",
  arg: "NAME|FILE",
  multiple,
  help: `a scenario under scenarios/ by name, or a path to a scenario file (JSON, or a TypeScript/JavaScript script exporting defineScenario({…}))${multiple ? "; `all` for every one" : ""} (default ${DEFAULT_SCENARIO})`,
});
const targetsHelp =
  "3.2.8, 3.2.8+fix-aof-pipe-leak (a release with patches), image:redis:3.2.8 (an image as is), git:REF[+patch] (a commit of --git-dir), dir:PATH[+patch] (a tree as it is), deb:redis/8.0.6 or deb:valkey/9.1.2[@SUITE][+patch] (upstream's source as Debian's archive carries it, verified by the archive's signed indexes; `images debian` lists them)";

export const commands: CommandSpec[] = [
  {
    name: "run",
    summary:
      "run a scenario on targets side by side: each an outcome (bug, no-bug, unknown) with its evidence",
    about: `With no target: the scenario's own targets (for the seed, ${DEFAULT_SCENARIO}: 3.2.8 and 3.2.8+fix-aof-pipe-leak). Missing images are built first, one at a time.`,
    args: [{ name: "TARGET", variadic: true, help: targetsHelp }],
    argsAlias: "target",
    options: {
      scenario: scenario(false),
      target,
      fault: {
        type: "string",
        choices: FAULTS,
        help: "the main node's whole-run fault instead of the scenario's",
      },
      report: {
        type: "string",
        arg: "DIR",
        help: "also write a bug report there: report.md, report.json, chart.svg (the deciding checker's plot), scenario.json (and a script scenario's copy with its sha256), raw/ logs, events, series and attempts (DIR must be new, empty, or an earlier report, which is replaced)",
      },
      json,
      ...build,
    },
    exit: "0 every stated expectation met, 1 one was not",
    load: () => import("./run.js").then((m) => m.run),
  },
  {
    name: "matrix",
    summary: "run scenarios × releases in parallel and compare each outcome with the release catalogue",
    about:
      "Missing images are built first, one at a time. Prints release × scenario → label ✓/✗ against the catalogue, the checker's summary line and the time.",
    args: [
      {
        name: "RELEASES",
        variadic: true,
        help: "releases (3.2.8, 3.2.8+fix-aof-pipe-leak), ranges A..B (every catalogue release from A to B), `all`, `cached` (releases whose tarball is in the source cache; the default), deb:PACKAGE/VERSION[@SUITE][+patch] targets, or `debian` (the catalogue's deb: targets); comma- or space-separated",
      },
    ],
    argsAlias: "target",
    options: {
      scenario: scenario(true),
      target,
      concurrency,
      shard,
      retries: {
        type: "string",
        arg: "N",
        help: "run a cell that differs (or fails to run) again, after the others, up to N times, 0..3 (default 1); earlier runs stay in the table, JSON and JUnit",
      },
      junit: {
        type: "string",
        arg: "FILE",
        help: "also write JUnit XML (a suite per scenario, a case per release)",
      },
      record: {
        type: "boolean",
        help: "write the measured outcomes and labels into the catalogue with today's date and the harness version (a maintainer's step)",
      },
      catalogue: {
        type: "boolean",
        help: "print the catalogue (releases, hash check, config, what each scenario gave) and exit",
      },
      json,
      ...build,
    },
    exit: "0 every measured expectation met (unmeasured cells are reported, not failed), 1 one differs or a run failed",
    load: () => import("./matrix.js").then((m) => m.run),
  },
  {
    name: "sweep",
    summary: "every fork path of a target under fork failure: what each failed attempt leaks",
    about:
      "No expectations: each cell (target × fork path × fault) says what leaks per failed attempt (fds by kind, files in the data and AOF directories, used_memory) and whether a fresh client still connects, or clean, or why it could not decide. Cells run through the matrix's pool. `--list` names the paths and how each is driven. With `--heal` each fault is an episode that heals after the path's failed attempts, and each cell also says whether the server recovered.",
    args: [
      {
        name: "TARGET",
        variadic: true,
        help: "releases, patched builds, ranges A..B, git:REF, image:REF (default 3.2.8)",
      },
    ],
    argsAlias: "target",
    options: {
      target,
      fault: {
        type: "string",
        multiple: true,
        arg: "FAULT",
        help: "the main node's fault: seccomp-enomem, pids-limit, or any injector and call as the history names it, libfiu:CALL:ERRNO[@P] (libfiu:open:EACCES) or seccomp:CALL[,CALL]:ERRNO (seccomp:pipe2,pipe:EMFILE); other than fork, an attempt is a log line with the errno's text (default seccomp-enomem and pids-limit)",
      },
      path: {
        type: "string",
        multiple: true,
        arg: "NAME",
        help: "a fork path from --list (default every one)",
      },
      list: {
        type: "boolean",
        help: "print the fork paths (how each is driven, and those found but not driven) and exit",
      },
      heal: {
        type: "boolean",
        help: "each fault heals after the path's failed attempts (15, or its smaller budget), and each cell also says whether the server recovered: fds and the data and AOF directories back to their baseline, fresh clients and a write served, the path's fork working again (default faults libfiu:fork:ENOMEM and pids-limit; a seccomp fault cannot heal)",
      },
      "recover-within": {
        type: "string",
        arg: "SECONDS",
        help: "with --heal: how long after the heal recovery may take, 1..120 (default 10)",
      },
      concurrency,
      shard,
      retries: {
        type: "string",
        arg: "N",
        help: "run a cell that failed to run or could not decide again, up to N times, 0..3 (default 1)",
      },
      junit: {
        type: "string",
        arg: "FILE",
        help: "also write JUnit XML (a leak is a failure, an undecided cell is skipped)",
      },
      report: {
        type: "string",
        arg: "DIR",
        help: "also write sweep.md, sweep.json and the chart of each cell that is not clean",
      },
      json,
      ...build,
    },
    exit: "0 every cell clean, 1 something leaks or could not be decided",
    load: () => import("./sweep.js").then((m) => m.run),
  },
  {
    name: "merge",
    summary:
      "join the --json results of a matrix's or a sweep's shards (--shard I/N) into one table, JSON or JUnit",
    about:
      "Reads matrix or sweep results (files, or folders searched for *.json files that hold one), checks they are the parts of one plan (the same command line with --shard 1/N … N/N), and prints the table the whole run would have printed. A missing part is named and fails the merge (exit 1); parts of different plans, or one part given twice, are refused (exit 2). Whole results of different runs (no --shard) merge too, if no cell is in two of them.",
    args: [
      {
        name: "RESULT",
        variadic: true,
        required: true,
        help: "a --json result of `redis-repro matrix` or `redis-repro sweep`, or a folder holding them",
      },
    ],
    options: {
      junit: { type: "string", arg: "FILE", help: "also write the merged JUnit XML" },
      json,
    },
    exit: "0 every part present and every cell as expected (a sweep: clean), 1 otherwise",
    load: () => import("./merge.js").then((m) => m.run),
  },
  {
    name: "bisect",
    summary: "find the release, commit or patch where a scenario's outcome flips, by runs",
    about:
      "Binary search from --good to --bad (either may be the older); each step runs the scenario on one target, the ends first, side by side. By outcome: no-bug is good, bug is bad, unknown (or a target that does not build) is skipped as git bisect skip; an end that contradicts its name is said in one line. After each step it prints the range still to search and about how many steps are left. Ends on different lines of history are refused with their merge-base offered. Over releases (default): those from A to B that can run here (in the catalogue, or with a cached tarball); a flip across never-run releases is named as a gap. Over commits (--commits, or an end written git:REF): every first-parent commit from A to B of the --git-dir clone. With one release and patches on one side (--bad 3.2.8 --good 3.2.8+fix-aof-pipe-leak) the two builds run to confirm the patch flips it.",
    options: {
      good: {
        type: "string",
        arg: "TARGET",
        help: "a release (or with --commits a ref) you call good (e.g. 3.2.9)",
      },
      bad: { type: "string", arg: "TARGET", help: "a release (or ref) you call bad (e.g. 3.2.8)" },
      commits: { type: "boolean", help: "bisect over the commits between the two ends instead of releases" },
      "full-history": {
        type: "boolean",
        help: "with --commits: every commit in between, not only the first-parent line",
      },
      scenario: scenario(false),
      json,
      ...build,
    },
    exit: "0 the flip was found, 1 no single flip (the ends agree, an end is unknown, only skipped or never-run targets between, or it flips back)",
    load: () => import("./bisect.js").then((m) => m.run),
  },
  {
    name: "bisect-run",
    summary: "for `git bisect run`: build the working tree, run a scenario, exit 0 good, 1 bad, 125 skip",
    about:
      "Builds the tree as it is (dir:DIR, uncommitted changes included) and runs the scenario on it. By default the bug is bad and no bug good, to find the commit that brought a bug; to find the one that fixed it, start git bisect with the fixed commit as bad and pass --fix. Example: git bisect start --first-parent 3.2.9 3.2.8; git bisect run npx redis-repro bisect-run --fix.",
    options: {
      tree: { type: "string", arg: "DIR", default: ".", help: "the Redis source tree to build" },
      fix: { type: "boolean", help: "hunting a fix: the bug exits 0, no bug exits 1" },
      scenario: scenario(false),
      json,
      ...build,
    },
    exit: "0 good, 1 bad, 125 cannot test (it did not build, or the outcome was unknown), 128 any other failure (stops git bisect)",
    // git bisect run marks a commit bad on exit 2: a mistyped option must stop it (128) instead.
    usageExit: 128,
    load: () => import("./bisect-run.js").then((m) => m.run),
  },
  {
    name: "report show",
    summary: "print the summary of a report folder written by `run --report DIR`, from report.json alone",
    args: [{ name: "DIR", required: true, help: "the folder `redis-repro run --report DIR` wrote" }],
    options: { json: { type: "boolean", help: "print report.json's run (the RunResult) as JSON" } },
    exit: "0 the report's expectations were met, 1 one was not",
    load: () => import("./report.js").then((m) => m.show),
  },
  {
    name: "images build",
    summary: "build (or find cached) the images behind targets",
    args: [{ name: "TARGET", variadic: true, required: true, help: targetsHelp }],
    argsAlias: "target",
    options: { target, json, ...build },
    load: () => import("./images.js").then((m) => m.build),
  },
  {
    name: "images ls",
    summary: "list the images the harness made",
    options: { json },
    load: () => import("./images.js").then((m) => m.ls),
  },
  {
    name: "images releases",
    summary: "list the releases the harness can build and how each tarball is verified",
    options: { json },
    load: () => import("./images.js").then((m) => m.releases),
  },
  {
    name: "images debian",
    summary: "list the redis and valkey sources Debian's archive offers, suite by suite, as deb: targets",
    about:
      "Reads each suite's InRelease (signature checked with gpgv against Debian's archive keyring) and its Sources index (checked against the sha256 InRelease lists). A target deb:PACKAGE/VERSION takes the first suite listed here that has it; @SUITE names one. Only the orig tarball is built: upstream's source without Debian's patches.",
    options: {
      suite: {
        type: "string",
        multiple: true,
        arg: "SUITE",
        help: "a suite under the archive's dists/ (default sid, forky, trixie, trixie-backports, bookworm, bookworm-backports, experimental)",
      },
      json,
      sources,
    },
    load: () => import("./images.js").then((m) => m.debian),
  },
  {
    name: "images bases",
    summary:
      "make sure the base images exist: pull them, or make offline equivalents with debootstrap (needs root)",
    options: { json, bases },
    load: () => import("./images.js").then((m) => m.bases),
  },
  {
    name: "sources add",
    summary: "verify a tarball you have (or Debian's, fetched) and put it into the source cache",
    about:
      "Accepts an official tarball, a mirror's, Debian's .orig.tar.gz or a `git archive` of the tag; each is verified by its published hash or a digest over its files, and copied as redis-VERSION.tar.gz. Given a deb:PACKAGE/VERSION[@SUITE] target instead, fetches Debian's orig tarball, verifies it through the archive's signed indexes and keeps it under Debian's name (a release's own target, e.g. 7.0.15, then finds it too).",
    args: [
      {
        name: "FILE",
        required: true,
        help: "a redis .tar.gz, or a deb: target (e.g. deb:redis/7.0.15@bookworm)",
      },
    ],
    options: {
      version: {
        type: "string",
        arg: "V",
        help: "the release it holds (default: read from the tarball's top folder)",
      },
      json,
      sources,
    },
    load: () => import("./sources.js").then((m) => m.add),
  },
  {
    name: "sources ls",
    summary: "list the source cache",
    options: { json, sources },
    load: () => import("./sources.js").then((m) => m.ls),
  },
  {
    name: "doctor",
    summary: "check the engine, seccomp, cgroups, pids, source cache and base images; say what to fix",
    options: { json },
    exit: "0 nothing failed, 3 a check failed",
    load: () => import("./doctor.js").then((m) => m.run),
  },
  {
    name: "cleanup",
    summary: "remove the containers of runs whose process is gone (killed runs); images stay",
    about:
      "Removes the harness's containers and run networks whose owning process is gone (a run killed with SIGKILL, a crash): each container's labels name its run, process, host and boot. Containers of live runs, and of owners this host cannot judge, are kept and counted.",
    options: {
      run: {
        type: "string",
        arg: "ID",
        help: "remove that run's containers and network, whoever owns them (the id is in a report's runId)",
      },
      json,
    },
    load: () => import("./cleanup.js").then((m) => m.run),
  },
];
