/** Every container and image the harness makes carries these, so leftovers can always be found. */
export const LABEL_MANAGED = "redis-repro.managed";
export const LABEL_RUN = "redis-repro.run";
export const LABEL_TARGET = "redis-repro.target";
export const LABEL_VERSION = "redis-repro.version";
export const LABEL_PATCHES = "redis-repro.patches";
export const LABEL_SOURCE_CHECK = "redis-repro.source-check";
export const LABEL_CONTENT = "redis-repro.content";
export const LABEL_KIND = "redis-repro.kind";
export const LABEL_NODE = "redis-repro.node";
/** The process that started a container (pid, its start time, host name, boot id): cleanup removes only dead owners' containers. */
export const LABEL_OWNER_PID = "redis-repro.pid";
export const LABEL_OWNER_START = "redis-repro.pid-start";
export const LABEL_OWNER_HOST = "redis-repro.host";
export const LABEL_OWNER_BOOT = "redis-repro.boot-id";
/** The full commit id a git: target was built from. */
export const LABEL_COMMIT = "redis-repro.commit";
/** The server an image runs: redis or valkey (absent on images made before Valkey: redis). */
export const LABEL_SERVER = "redis-repro.server";
