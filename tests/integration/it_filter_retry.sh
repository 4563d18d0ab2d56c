#!/bin/bash
# it-timeout: 300
# it_filter_retry.sh: the filter rides out an S3 outage in the middle of an input (issue 12).
# A ~64 MB gzip file lives in the bucket; s3mount (memory_budget=32M, so it cannot prefetch
# the whole file) reaches RGW through the fault proxy. The filter's CSV goes into a pipe
# whose reader starts late, so the filter is a few MiB in when the proxy goes down (every
# connection closed unanswered: a dead server) for 7.5 s. The mount is set to fail fast
# (retries=1,op_timeout=2) so that EIO surely reaches the filter during the outage,
# whatever the mount's own defaults become. The filter must:
#   - log a retry, reopen the file and read on from the byte reached once S3 is back;
#   - exit 0 with a CSV byte-identical to the run on a local copy of the file;
#   - say in its summary that 1 input needed retries.
# A control run with --input-retries 0 under the same outage fails the file (exit 3): the
# outage does reach the filter, so the first run's success is the retry's doing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env
F=$S3M_BUILD_DIR/filter/filter
[ -x "$F" ] || fatal "filter binary missing: $F"

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
# incompressible lines (base64 of random bytes): ~64 MB of gzip, ~880k records: twice the
# mount's memory budget, so that it cannot have prefetched the whole file before the outage
head -c 48M /dev/urandom | base64 -w 57 |
    awk '{ printf "{\"id\": %d, \"blob\": \"%s\", \"k\": %d}\n", NR, $0, NR % 7 }' |
    gzip -1 >"$D/in.gz" || fatal "making the input"
# one key per run: the second run must not be served from the first one's cache
put_file "$D/in.gz" "$B" logs/retry.gz || fatal "upload"
put_file "$D/in.gz" "$B" logs/noretry.gz || fatal "upload"
"$F" -q -j 1 -c id,blob,k -w 'k != 3' -o "$D/want.csv" "$D/in.gz" || fatal "local run"

fp_start --seed 5
IT_MOUNT_OPTS="$(fp_mount_opts),retries=1,op_timeout=2,memory_budget=32M"
M=$(new_dir mnt)
start_mount "$B" "$M"
check "the input is visible in the mount" test -s "$M/logs/retry.gz"

# run_with_outage NAME ARGS...: the filter over the mount (key logs/NAME.gz), its CSV into
# a pipe whose reader starts only 3 s later: the filter stops reading when its buffers are
# full (a few MiB in), S3 goes down at 1.5 s, the reader starts at 3 s (the filter reads
# on: past what the mount prefetched within its 32M budget, its GETs fail, EIO about 2 s
# later), S3 is back at 9 s.
run_with_outage() {
    local n=$1 pid t0 t1
    shift
    t0=$(date +%s.%N)
    { "$F" -j 1 --no-progress -c id,blob,k -w 'k != 3' "$@" "$M/logs/$n.gz" 2>"$D/$n.err"
      echo $? >"$D/$n.rc"; } | { sleep 3; cat >"$D/$n.csv"; } &
    pid=$!
    sleep 1.5
    fp_set '{"down": true}'
    sleep 7.5
    fp_set '{"down": false}'
    wait "$pid"
    RC=$(cat "$D/$n.rc")
    t1=$(date +%s.%N)
    echo "FIGURES $n: exit $RC after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
    sed 's/^/  stderr: /' "$D/$n.err" | head -12
}

run_with_outage retry --input-retries 5
check_eq "with retries: exit 0" "$RC" 0
check "with retries: the CSV is byte-identical to the fault-free local run" cmp -s "$D/retry.csv" "$D/want.csv"
check "with retries: a retry was logged, naming the file" grep -q "retry.gz: .*retry 1/5" "$D/retry.err"
check "with retries: the summary counts 1 retried input" grep -Eq "1 inputs retried \([0-9]+ retries\)" "$D/retry.err"
check_not "with retries: no file failed" grep -q "failed" "$D/retry.err"

run_with_outage noretry --input-retries 0
check_eq "control, --input-retries 0: the outage fails the file (exit 3)" "$RC" 3
check "control: the failure is a read error naming the file" grep -q "noretry.gz.*Input/output error" "$D/noretry.err"
check_not "control: the CSV is not complete" cmp -s "$D/noretry.csv" "$D/want.csv"
fp_set '{"rates": {}, "down": false}'
stop_mount "$M" || fail "unmount"
