# Proposed regression test for Valkey (tests/integration/replication-fork-failure.tcl).
#
# A failed fork() of a diskless full sync must leave the primary able to try again.
# rdbSaveToReplicasSockets() closes the two pipes it opened when fork() fails, but leaves their
# closed fds in server.rdb_pipe_read and server.rdb_child_exit_pipe; the replica asks again within
# a second, and the next call asserts both are -1: the primary crashes.
#
# fork() is made to fail as in aof-fork-failure.tcl, without privileges and without a seccomp
# profile: the primary's soft RLIMIT_NPROC is lowered to 1 with prlimit(1), so fork() returns
# EAGAIN. Linux only, and not as root (the kernel does not apply RLIMIT_NPROC to root): elsewhere the
# test is skipped with a message.

proc fork_failure_possible {} {
    if {[string tolower [exec uname -s]] ne {linux}} { return "not Linux" }
    if {[exec id -u] == 0} { return "running as root, whom RLIMIT_NPROC does not limit" }
    if {[catch {exec prlimit --version}]} { return "no prlimit(1)" }
    return ""
}

set why_not [fork_failure_possible]
if {$why_not ne ""} {
    puts "Skipping the replication fork-failure test: $why_not"
} else {
tags {"repl external:skip"} {
    start_server {overrides {save {} repl-diskless-sync yes repl-diskless-sync-delay 0}} {
        set primary [srv 0 client]
        set primary_host [srv 0 host]
        set primary_port [srv 0 port]
        set primary_pid [srv 0 pid]
        $primary set k v

        start_server {overrides {save {}}} {
            set replica [srv 0 client]

            test {Diskless sync: the primary retries after a failed fork() instead of asserting} {
                # fork() fails on the primary from here on: EAGAIN, as under a pids or memory limit.
                set nproc [string trim [exec prlimit --pid $primary_pid --nproc --output SOFT --noheadings]]
                exec prlimit --pid $primary_pid --nproc=1:

                $replica replicaof $primary_host $primary_port

                # The replica asks again within a second; every attempt's fork fails, and the
                # primary must survive each of them.
                wait_for_condition 50 100 {
                    [count_log_message -1 "Can't save in background: fork"] >= 3
                } else {
                    fail "the primary did not survive 3 failed diskless syncs: [count_log_message -1 {Can't save in background: fork}] failed forks, [count_log_message -1 {ASSERTION FAILED}] failed assertions"
                }
                assert_equal 0 [count_log_message -1 "ASSERTION FAILED"]
                assert_equal PONG [$primary ping]

                # fork() works again: the next attempt syncs the replica.
                exec prlimit --pid $primary_pid --nproc=$nproc:
                wait_for_sync $replica
                assert_equal v [$replica get k]
            }
        }
    }
}
}
