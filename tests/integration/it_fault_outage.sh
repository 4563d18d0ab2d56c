#!/bin/bash
# it-timeout: 420
# it_fault_outage.sh: the S3 server goes away during a read. Starts its OWN RGW instance
# (tests/s3/rgw-up.sh on a free port, never the shared one) so that it can stop it with
# tests/s3/rgw-ctl.sh. Each outage is shared by several mounts of the same bucket with
# different timeout options (mount options retries, request_timeout, op_timeout), so the
# outcomes cost one outage each:
#   1. radosgw stopped for 20 s (connections refused) in the middle of slow sequential reads:
#      - default options (6 retries, 50 ms to 5 s apart): byte-identical or EIO;
#      - retries=1000,op_timeout=4: EIO about 4 s after the stop (within the deadline plus
#        slack: the reader runs ahead of the outage by its prefetched window), long before
#        RGW is back;
#      - retries=1000,op_timeout=120: the read waits and completes byte-identical after RGW
#        is back.
#      Every mount then serves again (read, list, write).
#   2. radosgw paused (SIGSTOP: connections hang) for 20 s:
#      - default options (30 s request_timeout): the read completes byte-identical;
#      - request_timeout=1,op_timeout=4: EIO within the deadline plus slack.
# Prints FIGURES lines (outcome, seconds to the error or to completion).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RGW_DIR=$IT_TMP/rgw
OUTAGE=${S3M_OUTAGE_SECONDS:-20}
# A random free port far from 7480: "auto" takes the first free port from 7480 up, so
# while this gateway is stopped another test's new RGW could take its port (seen: the
# restarted gateway could not bind and requests went to a stranger's instance).
port_busy() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
for ((i = 0; i < 50; i++)); do
    RGW_PORT=$((20000 + RANDOM % 20000))
    port_busy "$RGW_PORT" || break
done
S3M_RGW_PORT=$RGW_PORT S3M_RGW_DIR=$RGW_DIR S3M_RGW_BLOCK_GB=4 "$ROOT/tests/s3/rgw-up.sh" \
    >"$IT_TMP/rgw.env" 2>"$IT_TMP/rgw-up.err" || { tail -20 "$IT_TMP/rgw-up.err"; fatal "own RGW did not start"; }
. "$IT_TMP/rgw.env"
echo "own RGW on $S3M_ENDPOINT"

outage_cleanup() {
    local m b
    "$ROOT/tests/s3/rgw-ctl.sh" resume "$RGW_DIR" >/dev/null 2>&1
    "$ROOT/tests/s3/rgw-ctl.sh" status "$RGW_DIR" >/dev/null 2>&1 ||
        "$ROOT/tests/s3/rgw-ctl.sh" start "$RGW_DIR" >/dev/null 2>&1
    for m in "${!IT_MOUNT_PID[@]}"; do stop_mount "$m"; done
    for b in "${IT_BUCKETS[@]}"; do remove_bucket "$b"; done
    IT_BUCKETS=()
    "$ROOT/tests/s3/rgw-down.sh" "$RGW_DIR" >/dev/null 2>&1 || fail "rgw-down of the test's own RGW"
}
trap 'oc_rc=$?; outage_cleanup; (exit $oc_rc); it_exit' EXIT

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
SIZE=$((64 * 1048576))
head -c "$SIZE" /dev/urandom >"$D/src" && put_file "$D/src" "$B" big.bin || fatal "setup"

# slow_read FILE: read FILE 1 MiB every 0.1 s (so an outage lands mid-read), compare with
# the source; prints "identical SECONDS END", "differs SECONDS END" or
# "error ERRNO-NAME SECONDS END" (END: epoch seconds of the outcome).
slow_read() {
    /usr/bin/python3 - "$1" "$D/src" <<'EOF'
import errno, hashlib, sys, time
t0 = time.time()
h = hashlib.md5()
try:
    with open(sys.argv[1], "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            time.sleep(0.1)
except OSError as e:
    t = time.time()
    print("error %s %.1f %.1f" % (errno.errorcode.get(e.errno, e.errno), t - t0, t))
    sys.exit(0)
src = hashlib.md5(open(sys.argv[2], "rb").read()).hexdigest()
t = time.time()
print("%s %.1f %.1f" % ("identical" if h.hexdigest() == src else "differs", t - t0, t))
EOF
}

# outcome_end RESULT: the epoch seconds of a slow_read result (its last field).
outcome_end() { echo "${1##* }"; }
# since A B: A - B in seconds, one decimal.
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
# within A B LIMIT: A - B <= LIMIT (decimal seconds).
within() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { exit !(a - b <= l) }'; }
# serves_again MNT NAME: the mount lists, reads the object and commits a write.
serves_again() {
    local m=$1 n=$2
    check "$n, after the outage: ls" ls "$m" >/dev/null || { echo "---- daemon log"; tail -15 "$(mount_log "$m")"; }
    check "$n, after the outage: the object reads identical (reopened)" cmp -s "$m/big.bin" "$D/src"
    check "$n, after the outage: a write commits" cp "$D/small" "$m/after-$3.txt"
    check "$n, after the outage: the written file reads back" cmp -s "$m/after-$3.txt" "$D/small"
}
# expect_eio_by NAME RESULT T0: RESULT is EIO, at most SHORT + SLACK seconds after T0.
expect_eio_by() {
    local n=$1 r=$2 t0=$3 after
    after=$(since "$(outcome_end "$r")" "$t0")
    echo "$n: $r (${after} s after the outage began)"
    case "$r" in
    "error EIO"*) ok "$n: the read failed with EIO" ;;
    *) fail "$n: $r (want EIO)" ;;
    esac
    if within "$(outcome_end "$r")" "$t0" $((SHORT + SLACK)); then
        ok "$n: EIO ${after} s after the outage began (<= $SHORT + $SLACK s)"
    else
        fail "$n: EIO ${after} s after the outage began (want <= $SHORT + $SLACK s)"
    fi
    FIG_AFTER=$after
}
head -c 100000 /dev/urandom >"$D/small"
SHORT=4  # op_timeout of the mounts that must give up during the outage
LONG=120 # op_timeout of the mount that must wait for RGW
SLACK=5  # the reader runs ahead of the outage by its prefetched window; load

# ---- 1. radosgw stopped for OUTAGE seconds -----------------------------------------------------
MS=$(new_dir mnt-short)
ML=$(new_dir mnt-long)
start_mount "$B" "$M" -o memory_budget=32M
start_mount "$B" "$MS" -o "memory_budget=32M,retries=1000,op_timeout=$SHORT"
start_mount "$B" "$ML" -o "memory_budget=32M,retries=1000,op_timeout=$LONG"
slow_read "$M/big.bin" >"$D/r1" &
rp=$!
slow_read "$MS/big.bin" >"$D/r1s" &
rps=$!
slow_read "$ML/big.bin" >"$D/r1l" &
rpl=$!
sleep 2
ts=$(date +%s.%N)
check "rgw-ctl stop" "$ROOT/tests/s3/rgw-ctl.sh" stop "$RGW_DIR"
sleep "$OUTAGE"
check "rgw-ctl start" "$ROOT/tests/s3/rgw-ctl.sh" start "$RGW_DIR"
te=$(date +%s.%N)
# rgw-ctl start waits for an anonymous answer; wait for a signed ListBuckets too (the
# restarted gateway may answer before it serves S3 requests), and show why if it never does
s3_ready() {
    local i
    for ((i = 0; i < 60; i++)); do
        [ "$(s3curl -o /dev/null -w '%{http_code}' "$S3M_ENDPOINT/")" = 200 ] && return 0
        sleep 0.5
    done
    tail -n 20 "$RGW_DIR/log/client.rgw.a.log" >&2
    return 1
}
check "restarted RGW answers a signed ListBuckets" s3_ready
wait "$rp" "$rps" "$rpl"
res=$(cat "$D/r1")
echo "read during a ${OUTAGE}s stop (down $(since "$te" "$ts") s incl. restart), default options: $res"
case "$res" in
identical*) ok "default options: read across the outage completed byte-identical" ;;
"error EIO"*) ok "default options: read across the outage failed with EIO (retries exhausted)" ;;
*) fail "default options: read across the outage: $res (want identical or EIO)" ;;
esac
echo "FIGURES rgw-stop-${OUTAGE}s default: outcome $res"
FIG_AFTER=?
expect_eio_by "stop, retries=1000,op_timeout=$SHORT" "$(cat "$D/r1s")" "$ts"
echo "FIGURES rgw-stop-${OUTAGE}s op_timeout=$SHORT: outcome $(cat "$D/r1s"); seconds_after_stop $FIG_AFTER"
res=$(cat "$D/r1l")
echo "retries=1000,op_timeout=$LONG: $res ($(since "$(outcome_end "$res")" "$te") s after RGW was back)"
case "$res" in
identical*) ok "op_timeout=$LONG: the read waited for RGW and completed byte-identical" ;;
*) fail "op_timeout=$LONG: $res (want identical)" ;;
esac
within "$te" "$(outcome_end "$res")" 0 || fail "op_timeout=$LONG: completed before RGW was back"
echo "FIGURES rgw-stop-${OUTAGE}s op_timeout=$LONG: outcome $res; seconds_after_restart $(since "$(outcome_end "$res")" "$te")"
serves_again "$M" "default options" default
serves_again "$MS" "op_timeout=$SHORT" short
serves_again "$ML" "op_timeout=$LONG" long
grep -m3 -E ' (error|warn): ' "$(mount_log "$MS")"
for m in "$M" "$MS" "$ML"; do stop_mount "$m" || fail "unmount of $m after the outage"; done

# ---- 2. radosgw paused for OUTAGE seconds ------------------------------------------------------
start_mount "$B" "$M" -o memory_budget=32M
start_mount "$B" "$MS" -o "memory_budget=32M,request_timeout=1,op_timeout=$SHORT"
slow_read "$M/big.bin" >"$D/r2" &
rp=$!
slow_read "$MS/big.bin" >"$D/r2s" &
rps=$!
sleep 2
ts=$(date +%s.%N)
check "rgw-ctl pause" "$ROOT/tests/s3/rgw-ctl.sh" pause "$RGW_DIR"
sleep "$OUTAGE"
check "rgw-ctl resume" "$ROOT/tests/s3/rgw-ctl.sh" resume "$RGW_DIR"
wait "$rp" "$rps"
res2=$(cat "$D/r2")
echo "read during a ${OUTAGE}s pause, default options: $res2"
case "$res2" in
identical*) ok "default options: read across a ${OUTAGE}s stall (< 30 s request_timeout) completed byte-identical" ;;
*) fail "default options: read across a ${OUTAGE}s stall: $res2 (want identical)" ;;
esac
echo "FIGURES rgw-pause-${OUTAGE}s default: outcome $res2"
FIG_AFTER=?
expect_eio_by "pause, request_timeout=1,op_timeout=$SHORT" "$(cat "$D/r2s")" "$ts"
echo "FIGURES rgw-pause-${OUTAGE}s request_timeout=1,op_timeout=$SHORT: outcome $(cat "$D/r2s"); seconds_after_pause $FIG_AFTER"
check "after the pause: ls" ls "$M" >/dev/null
serves_again "$MS" "paused, op_timeout=$SHORT" paused
for m in "$M" "$MS"; do stop_mount "$m" || fail "unmount of $m after the pause"; done
