#!/usr/bin/env bash
# `make test`: the whole suite in two lanes side by side, so that a 2-core machine keeps both
# cores busy. Much of the broker tests' time is waiting (a JVM starting, services importing,
# items settling), which the other lane's CPU-bound unit tests fill.
#   lane 1: the unit tests, then the chaos tests (the chaos lab starts an Apache Kafka and a
#           PostgreSQL of its own, so it shares nothing with lane 2);
#   lane 2: everything else, on the session's broker and PostgreSQL.
# Lane 2 prints as it runs; lane 1 writes to .local/test-logs/lane1.log, printed when both are
# done. The exit status is non-zero if either lane failed. Ctrl-C (or SIGTERM) interrupts both
# lanes, and each pytest tears its fixtures down (brokers, databases, services) before exiting.
#
# Each session has a temporary folder of its own under .local/test-tmp (--basetemp), not under
# /tmp/pytest-of-<user>: pgserver runs PostgreSQL as another user and opens the folders above
# a stack's data directory to it, and every pytest session that starts makes
# /tmp/pytest-of-<user> private again, which cut off the databases of stacks running in the
# other lane (or in any other pytest run of the same user) mid-test.
set -uo pipefail
bin=${1:-.venv/bin}
logs=.local/test-logs
tmp="$PWD/.local/test-tmp"
mkdir -p "$logs" "$tmp"
lane1_log="$logs/lane1.log"

# Job control gives each lane a process group of its own, which the trap below interrupts.
set -m
(
    trap 'exit 130' INT  # after the running pytest has torn down: no chaos tests then
    "$bin/pytest" -q --basetemp="$tmp/unit" tests/unit
    unit=$?
    "$bin/pytest" -q --basetemp="$tmp/chaos" tests/chaos
    chaos=$?
    exit $((unit != 0 || chaos != 0))
) >"$lane1_log" 2>&1 &
lane1=$!
"$bin/pytest" -q --basetemp="$tmp/rest" --ignore=tests/unit --ignore=tests/chaos &
lane2=$!
set +m

interrupt() {
    kill -INT -- "-$lane1" "-$lane2" 2>/dev/null
    wait "$lane1" "$lane2"
    echo "interrupted; lane 1's output: $lane1_log"
    exit 130
}
trap interrupt INT TERM

wait "$lane2"
lane2_status=$?
wait "$lane1"
lane1_status=$?
trap - INT TERM

echo
echo "=== lane 1: unit tests, then chaos tests (ran beside the above; $lane1_log) ==="
cat "$lane1_log"
echo "=== lane 1 exit $lane1_status, lane 2 exit $lane2_status ==="
exit $((lane1_status != 0 || lane2_status != 0))
