/**
 * The Debian mirror the harness reads: the offline base images (debootstrap) and `deb:` targets'
 * sources (InRelease, Sources, the pool) come from the same one. Kept apart from targets/debian.ts so
 * that every run's import of bases.ts loads nothing more.
 */
export function debianMirror(env: NodeJS.ProcessEnv = process.env): string {
  return (env.REDIS_REPRO_DEBIAN_MIRROR ?? "http://deb.debian.org/debian").replace(/\/+$/, "");
}
