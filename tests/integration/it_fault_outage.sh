#!/bin/bash
# it-timeout: 420
# it_fault_outage.sh: the S3 server goes away during a read. Starts its OWN RGW instance
# (tests/s3/rgw-up.sh on a free port, never the shared one) so that it can stop it with
# tests/s3/rgw-ctl.sh.
#   1. radosgw stopped for 20 s (connections refused) in the middle of a slow sequential
#      read: the read completes byte-identical or fails with EIO (s3mount's client gives
#      up after its retries: 6 with backoff from 50 ms to 5 s); either way the mount
#      serves again once RGW is back (read, list, write).
#   2. radosgw paused (SIGSTOP: connections hang) for 20 s, less than the 30 s low-speed
#      timeout: the read completes byte-identical.
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
# the source; prints "identical SECONDS", "differs SECONDS" or "error ERRNO-NAME SECONDS".
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
    print("error %s %.1f" % (errno.errorcode.get(e.errno, e.errno), time.time() - t0))
    sys.exit(0)
src = hashlib.md5(open(sys.argv[2], "rb").read()).hexdigest()
print("%s %.1f" % ("identical" if h.hexdigest() == src else "differs", time.time() - t0))
EOF
}

# ---- 1. radosgw stopped for OUTAGE seconds -----------------------------------------------------
start_mount "$B" "$M" -o memory_budget=32M
slow_read "$M/big.bin" >"$D/r1" &
rp=$!
sleep 2
ts=$(date +%s)
check "rgw-ctl stop" "$ROOT/tests/s3/rgw-ctl.sh" stop "$RGW_DIR"
sleep "$OUTAGE"
check "rgw-ctl start" "$ROOT/tests/s3/rgw-ctl.sh" start "$RGW_DIR"
te=$(date +%s)
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
wait "$rp"
res=$(cat "$D/r1")
echo "read during a ${OUTAGE}s stop (down $((te - ts)) s incl. restart): $res"
case "$res" in
identical*) ok "read across the outage completed byte-identical" ;;
"error EIO"*) ok "read across the outage failed with EIO (retries exhausted)" ;;
*) fail "read across the outage: $res (want identical or EIO)" ;;
esac
echo "FIGURES rgw-stop-${OUTAGE}s: outcome $res"
# the mount serves again
check "after the outage: ls" ls "$M" || { echo "---- daemon log"; tail -15 "$(mount_log "$M")"; }
check "after the outage: the object reads identical (reopened)" cmp -s "$M/big.bin" "$D/src"
check "after the outage: a write commits" cp "$D/r1" "$M/after-outage.txt"
check "after the outage: the written file reads back" cmp -s "$M/after-outage.txt" "$D/r1"
grep -m3 -E ' (error|warn): ' "$(mount_log "$M")"
stop_mount "$M" || fail "unmount after the outage"

# ---- 2. radosgw paused for OUTAGE seconds ------------------------------------------------------
start_mount "$B" "$M" -o memory_budget=32M
slow_read "$M/big.bin" >"$D/r2" &
rp=$!
sleep 2
check "rgw-ctl pause" "$ROOT/tests/s3/rgw-ctl.sh" pause "$RGW_DIR"
sleep "$OUTAGE"
check "rgw-ctl resume" "$ROOT/tests/s3/rgw-ctl.sh" resume "$RGW_DIR"
wait "$rp"
res2=$(cat "$D/r2")
echo "read during a ${OUTAGE}s pause: $res2"
case "$res2" in
identical*) ok "read across a ${OUTAGE}s stall (< 30 s low-speed timeout) completed byte-identical" ;;
*) fail "read across a ${OUTAGE}s stall: $res2 (want identical)" ;;
esac
echo "FIGURES rgw-pause-${OUTAGE}s: outcome $res2"
check "after the pause: ls" ls "$M"
stop_mount "$M" || fail "unmount after the pause"
