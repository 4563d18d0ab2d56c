#!/bin/bash
# it_mount_outage.sh: the S3 server goes away under a mounted s3mount and comes back
# (issue 3, Errors): requests that need the server fail with EIO after the client's
# retries instead of hanging, cached data still reads, and once the server is back the
# same mount serves again (no remount). Runs its OWN RGW (tests/s3/rgw-up.sh on a free
# port) because it stops and restarts it.
# it-timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

HERE=$(cd "$(dirname "$0")" && pwd)
RGW_UP=$HERE/../s3/rgw-up.sh
RGW_DOWN=$HERE/../s3/rgw-down.sh
RGW_CTL=$HERE/../s3/rgw-ctl.sh
export S3M_RGW_DIR=$IT_TMP/rgw
export S3M_RGW_PORT=auto
export S3M_RGW_BLOCK_GB=4

outage_exit() {
    local rc=$? m
    for m in "${!IT_MOUNT_PID[@]}"; do stop_mount "$m"; done
    "$RGW_DOWN" "$S3M_RGW_DIR" >/dev/null 2>&1 || echo "warning: rgw-down failed" >&2
    IT_BUCKETS=() # the whole instance is gone
    (exit "$rc")
    it_exit
}
trap outage_exit EXIT

"$RGW_UP" >"$IT_TMP/rgw.env" 2>"$IT_TMP/rgw.err" || {
    tail -5 "$IT_TMP/rgw.err" >&2
    fatal "could not start a private RGW"
}
# shellcheck disable=SC1090
. "$IT_TMP/rgw.env"
ok "private RGW at $S3M_ENDPOINT"

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
head -c $((3 * 1048576)) /dev/urandom >"$D/cached"
head -c $((3 * 1048576)) /dev/urandom >"$D/uncached"
put_file "$D/cached" "$B" cached || fatal "upload"
put_file "$D/uncached" "$B" dir/uncached || fatal "upload"

start_mount "$B" "$M" -o "stat_ttl=1,negative_ttl=1,memory_budget=64M"
PID=$(mount_pid "$M")
check_file_eq "read before the outage" "$M/cached" "$D/cached"

"$RGW_CTL" stop "$S3M_RGW_DIR" >/dev/null 2>&1 || fail "rgw-ctl stop"
sleep 1.2 # past stat_ttl: everything must be asked again
t0=$(date +%s)
out=$(cat "$M/dir/uncached" 2>&1 >/dev/null)
t1=$(date +%s)
case "$out" in
*"Input/output error"*) ok "read while the server is down -> EIO ($((t1 - t0)) s)" ;;
*) fail "read while the server is down: [$out]" ;;
esac
out=$(ls "$M/newname" 2>&1)
case "$out" in
*"Input/output error"*) ok "lookup while the server is down -> EIO" ;;
*) fail "lookup while the server is down: [$out]" ;;
esac
check "daemon alive during the outage" kill -0 "$PID"

"$RGW_CTL" start "$S3M_RGW_DIR" >/dev/null 2>&1 || fail "rgw-ctl start"
check_file_eq "same mount reads again after the server is back" "$M/dir/uncached" "$D/uncached"
echo back >"$M/written-after" && ok "write after the server is back" || fail "write after the server is back"
check_eq "written object readable" "$(cat "$M/written-after")" "back"
check "daemon alive" kill -0 "$PID"
stop_mount "$M" && ok "clean unmount"
