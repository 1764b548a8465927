# Proposed regression test for Redis (tests/integration/aof-fork-failure.tcl).
#
# A failed fork() of an automatic AOF rewrite must count as a failed rewrite, so that the rewrite
# limiter (aofRewriteLimited(), "triggered the limit") bounds the INCR AOF files repeated failures
# leave behind. rewriteAppendOnlyFileBackground() opens a new INCR AOF before it forks; today a
# failed fork returns without counting, the limiter never engages, and serverCron makes one more
# INCR AOF (and rewrites the manifest) on every tick for as long as fork keeps failing.
#
# The existing limiter test ("AOF will trigger limit when AOFRW fails many times" in
# aof-multi-part.tcl) makes the rewrite fail by killing the child; this one makes fork() itself fail,
# without privileges and without a seccomp profile: the server's soft RLIMIT_NPROC is lowered to 1
# with prlimit(1) (util-linux), so fork() returns EAGAIN (the test's user already runs one process,
# the server). The kernel does not apply RLIMIT_NPROC to root, and prlimit is Linux's: elsewhere the
# test is skipped with a message.

source tests/support/aofmanifest.tcl

proc aof_fork_failure_possible {} {
    if {[string tolower [exec uname -s]] ne {linux}} { return "not Linux" }
    if {[exec id -u] == 0} { return "running as root, whom RLIMIT_NPROC does not limit" }
    if {[catch {exec prlimit --version}]} { return "no prlimit(1)" }
    return ""
}

proc aof_dir_files {dir} {
    llength [glob -nocomplain -directory $dir *]
}

set why_not [aof_fork_failure_possible]
if {$why_not ne ""} {
    puts "Skipping the AOF fork-failure test: $why_not"
} else {
tags {"aof external:skip"} {
    start_server {overrides {appendonly yes auto-aof-rewrite-percentage 0 save {}}} {
        set aof_dirpath "[get_redis_dir]/appendonlydir"

        test {AOF rewrite limiter engages when the rewrite's fork() fails} {
            # A clean start: one base and one INCR AOF, and the failure count at 0.
            r bgrewriteaof
            waitForBgrewriteaof r
            assert_equal 0 [s aof_rewrites_consecutive_failures]
            wait_for_condition 50 100 {
                [aof_dir_files $aof_dirpath] == 3
            } else {
                fail "AOF dir did not settle: [glob -nocomplain -directory $aof_dirpath *]"
            }

            # fork() fails from here on: EAGAIN, as under a pids or memory limit.
            set pid [srv 0 pid]
            set nproc [string trim [exec prlimit --pid $pid --nproc --output SOFT --noheadings]]
            exec prlimit --pid $pid --nproc=1:

            # Let serverCron start automatic rewrites.
            r config set auto-aof-rewrite-min-size 1kb
            r config set auto-aof-rewrite-percentage 1
            r set k [string repeat x 2048]

            wait_for_condition 50 100 {
                [count_log_message 0 "Can't rewrite append only file in background: fork"] >= 3
            } else {
                fail "automatic AOF rewrites did not start"
            }
            # With the failed forks counted, the limiter engages after AOF_REWRITE_LIMITE_THRESHOLD (3).
            wait_for_condition 50 100 {
                [count_log_message 0 "triggered the limit"] == 1
            } else {
                fail "the limiter never engaged: [count_log_message 0 {Can't rewrite append only file in background: fork}] failed forks, aof_rewrites_consecutive_failures [s aof_rewrites_consecutive_failures], [aof_dir_files $aof_dirpath] files in the AOF dir"
            }
            assert_equal 3 [s aof_rewrites_consecutive_failures]
            assert_equal 0 [s aof_rewrite_in_progress]

            # No new INCR AOF while limited: one per failed fork, then nothing (base + 4 INCR + manifest).
            assert_equal 6 [aof_dir_files $aof_dirpath]
            after 1000
            assert_equal 6 [aof_dir_files $aof_dirpath]
            assert_equal 3 [count_log_message 0 "Can't rewrite append only file in background: fork"]

            # fork() works again: a manual rewrite still runs at once, succeeds, resets the count and
            # removes the INCR AOFs the failed forks left.
            exec prlimit --pid $pid --nproc=$nproc:
            r config set auto-aof-rewrite-percentage 0
            r bgrewriteaof
            waitForBgrewriteaof r
            assert_equal 0 [s aof_rewrites_consecutive_failures]
            wait_for_condition 50 100 {
                [aof_dir_files $aof_dirpath] == 3
            } else {
                fail "history INCR AOFs were not deleted: [glob -nocomplain -directory $aof_dirpath *]"
            }
            assert_equal [string repeat x 2048] [r get k]
        }
    }
}
}
