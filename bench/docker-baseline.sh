#!/usr/bin/env bash
# The hand-written peer that `redis-repro run` is measured against (bench/seed.ts): the seed
# reproduction with plain docker commands, as issue #13 describes it. Usage: docker-baseline.sh IMAGE...
# (images whose entrypoint is redis-server; all run in parallel). Prints one line per image:
#   IMAGE VERDICT fds=N total=S start=S workload=S verdict=S teardown=S
# then the total wall time. Same limits and fault as the harness: 64 MiB, the harness's seccomp profile
# (fork fails with ENOMEM), 64 clients, fds by `ls /proc/1/fd` every 0.2 s, a fresh `redis-cli ping`.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${BASELINE_SECCOMP:-$root/docker/seccomp/fork-enomem.json}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
one() {
  local img=$1 c="baseline-$$-$RANDOM" t0 t1 t2 t3 t4 uid n base=0 fails v=inconclusive
  t0=$(now)
  docker run -d --name "$c" --memory 64m --memory-swap 64m \
    --security-opt "seccomp=$profile" --entrypoint redis-server "$img" \
    --appendonly yes --auto-aof-rewrite-percentage 1 --auto-aof-rewrite-min-size 1kb \
    --maxclients 64 --hz 10 --protected-mode no --dir /tmp >/dev/null || { echo "$img start-failed"; return; }
  for _ in $(seq 1 200); do docker logs "$c" 2>&1 | grep -q 'ready to accept connections' && break; sleep 0.05; done
  t1=$(now)
  uid=$(docker exec "$c" stat -c %u /proc/1)
  base=$(docker exec -u "$uid" "$c" ls /proc/1/fd | wc -l)
  for i in $(seq 1 100); do echo "SET k$i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done \
    | docker exec -i "$c" redis-cli >/dev/null
  t2=$(now)
  for _ in $(seq 1 150); do
    n=$(docker exec -u "$uid" "$c" ls /proc/1/fd | wc -l)
    fails=$(docker logs "$c" 2>&1 | grep -c "fork: ")
    if [ "$n" -ge 190 ] && ! docker exec "$c" redis-cli ping 2>&1 | grep -q PONG; then v=exhaustion; break; fi
    if [ "$fails" -ge 30 ] && [ "$n" -le $((base + 3)) ]; then v=stable; break; fi
    sleep 0.2
  done
  t3=$(now)
  docker rm -f "$c" >/dev/null
  t4=$(now)
  echo "$img $v fds=$n total=$(since "$t0" "$t4") start=$(since "$t0" "$t1") workload=$(since "$t1" "$t2") verdict=$(since "$t2" "$t3") teardown=$(since "$t3" "$t4")"
}
T0=$(now)
for img in "$@"; do one "$img" & done
wait
echo "total $(since "$T0" "$(now)")s"
