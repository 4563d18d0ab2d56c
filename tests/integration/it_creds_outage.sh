#!/bin/bash
# it-timeout: 240
# it_creds_outage.sh: the mount's only credentials come from a fake instance metadata
# service (tests/unit/shared/fake_imds.py on 127.0.0.1, serving the test user's keys with an
# Expiration a few seconds ahead), and they expire while that service fails (issue 11,
# section 3). A credentials failure must never look like an empty bucket:
#   1. one failed refresh at expiry (3 x 503) is retried inside the S3 call: the read works;
#   2. the service stops answering (connections closed unanswered): `ls` of a directory not
#      listed before fails with EIO (not an empty listing, not ENOENT), a lookup of a new
#      name fails with EIO, and the filter over the mount exits non-zero naming each file
#      it could not read and why;
#   3. the instance "has no IAM role" any more (the chain's "try the next source", which
#      used to become ENOENT): a lookup fails with EIO and is not remembered as missing;
#   4. the service answers again: the same mount (same daemon, no remount) lists, looks up
#      and reads again, and the names that failed in 2 and 3 resolve (no negative entry).
# The daemon's log names the source (imds) and the reason.
# With CREDS_DEPLOY=unit-pidns (it_creds_outage_deploy.sh) the same runs where README
# recommends deploying: the daemon under the systemd unit's capability set, in a child pid
# namespace, with allow_other, and every reader (ls, stat, cat, filter) as uid 65534.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

ROOT=${S3M_SRC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
IMDS_PY=$ROOT/tests/unit/shared/fake_imds.py
F=$S3M_BUILD_DIR/filter/filter
[ -x "$F" ] || fatal "filter binary missing: $F"
E=3 # seconds a credentials set lives
AS=()    # prefix of every command that reads the mount
MOPTS="" # extra mount options
if [ "${CREDS_DEPLOY:-}" = unit-pidns ]; then
    read -r -a IT_MOUNT_WRAP <<<"unshare --pid --fork --kill-child $(caps_wrap "$(unit_caps)")"
    AS=("${AS_OTHER[@]}")
    MOPTS=,allow_other,uid=65534,gid=65534
    chmod 711 "$IT_TMP"
    echo "deployment: daemon under ${IT_MOUNT_WRAP[*]}; readers as uid 65534"
fi

python3 "$IMDS_PY" "$IT_TMP/imds.port" 2>"$IT_TMP/imds.err" &
IMDS_PID=$!
creds_exit() {
    local rc=$? m
    for m in "${!IT_MOUNT_PID[@]}"; do stop_mount "$m"; done
    kill "$IMDS_PID" 2>/dev/null
    wait "$IMDS_PID" 2>/dev/null
    (exit "$rc")
    it_exit
}
trap creds_exit EXIT
for ((i = 0; i < 100; i++)); do
    [ -s "$IT_TMP/imds.port" ] && break
    sleep 0.1
done
[ -s "$IT_TMP/imds.port" ] || fatal "fake_imds.py did not start: $(cat "$IT_TMP/imds.err")"
IMDS=http://127.0.0.1:$(cat "$IT_TMP/imds.port")

# imds STATE: reconfigure the fake service. up: serves the test user's keys (no session
# token), expiring in E s; other states add to that.
imds() {
    local extra=""
    case "$1" in
    up) ;;
    blip) extra=',"fail_next":[503,503,503]' ;;
    down) extra=',"down":true' ;;
    norole) extra=',"role":null' ;;
    *) fatal "imds: unknown state $1" ;;
    esac
    local body code
    body=$(printf '{"mode":"dynamic","expires_in":%d,"keys":{"AccessKeyId":"%s","SecretAccessKey":"%s"}%s}' \
        "$E" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$extra")
    code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data "$body" "$IMDS/_ctl/config")
    [ "$code" = 200 ] || fatal "fake IMDS config ($1): HTTP $code"
    echo "  [imds: $1]"
}
# imds_doc_statuses: the statuses of the credentials documents served since the last
# reconfiguration, in order.
imds_doc_statuses() {
    curl -s --noproxy '*' "$IMDS/_ctl/log" | python3 -c '
import json, sys
print(" ".join(str(e["status"]) for e in json.load(sys.stdin)
               if e["path"].endswith("/security-credentials/test-role")))'
}
# expired: wait until the set fetched by the last request has expired.
expired() { sleep $((E + 1)); }

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
for n in a b c d f; do
    seq 1 50 | awk -v f="$n" '{ printf "{\"id\": \"%s%d\", \"v\": %d}\n", f, $1, $1 }' >"$D/$n.jsonl"
done
echo "one blip" >"$D/blip.txt"
put_file "$D/a.jsonl" "$B" dir1/a.jsonl || fatal "upload"
put_file "$D/b.jsonl" "$B" dir1/b.jsonl || fatal "upload"
put_file "$D/c.jsonl" "$B" data/c.jsonl || fatal "upload"
put_file "$D/d.jsonl" "$B" data/d.jsonl || fatal "upload"
put_file "$D/f.jsonl" "$B" more/f.jsonl || fatal "upload"
put_file "$D/blip.txt" "$B" blip.txt || fatal "upload"

imds up
# The daemon gets no keys, no profile and no container endpoint: IMDS only.
AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
    AWS_EC2_METADATA_DISABLED AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
    AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_EC2_METADATA_SERVICE_ENDPOINT=$IMDS AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_CONFIG_FILE=/nonexistent
# Long TTLs: a name the mount wrongly remembered as missing would stay missing, and
# directories known before the outage are listed, not looked up, during it. retries=3
# keeps each failing call short.
start_mount "$B" "$M" -o "stat_ttl=600,dir_ttl=600,negative_ttl=600,retries=3,log_level=info$MOPTS"
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_EC2_METADATA_DISABLED=true
unset AWS_EC2_METADATA_SERVICE_ENDPOINT AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE
PID=$(mount_pid "$M")
LOG=$(mount_log "$M")
check "credentials from IMDS" grep -q "credentials: from imds" "$LOG"
check_eq "top level listed with IMDS credentials" "$("${AS[@]}" ls "$M" | tr '\n' ' ')" "blip.txt data dir1 more "
# Names known (not their contents): dir1 is never listed before the outage.
check "lookups before the outage" "${AS[@]}" stat "$M/data/c.jsonl" "$M/data/d.jsonl" "$M/blip.txt" "$M/more"

# ---- 1. one failed refresh at expiry is retried -------------------------------------------
expired
imds blip
out=$("${AS[@]}" cat "$M/blip.txt" 2>&1)
check_eq "a read at expiry survives one failed refresh (3 x 503)" "$out" "one blip"
# ... and was signed with a set fetched after the failure, not the expired one (which this
# S3 server, knowing nothing of the expiry, would accept)
check_eq "the source was asked again: 503 503 503 then 200" "$(imds_doc_statuses)" "503 503 503 200"

# ---- 2. the service stops answering -------------------------------------------------------
imds down
expired
t0=$(date +%s)
out=$("${AS[@]}" ls "$M/dir1" 2>&1)
rc=$?
echo "  ls dir1: exit $rc, $(($(date +%s) - t0)) s: $out"
case "$rc:$out" in
0:*) fail "ls of a directory not listed before succeeded while no credentials: [$out]" ;;
*"Input/output error"*) ok "ls of a directory not listed before -> EIO" ;;
*) fail "ls of a directory not listed before: [$out], want Input/output error" ;;
esac
case "$out" in *a.jsonl* | *b.jsonl*) fail "ls printed entries without credentials" ;; esac
out=$("${AS[@]}" ls -d "$M/newname" 2>&1)
case "$out" in
*"Input/output error"*) ok "lookup of a new name -> EIO" ;;
*) fail "lookup of a new name while no credentials: [$out], want Input/output error" ;;
esac
timeout 120 "${AS[@]}" "$F" -q -c id "$M/data/c.jsonl" "$M/data/d.jsonl" >"$D/out1.csv" 2>"$D/err1"
rc=$?
echo "  filter: exit $rc; stderr: $(tr '\n' '|' <"$D/err1")"
if [ "$rc" != 0 ] && [ "$rc" -lt 124 ]; then ok "filter exits non-zero ($rc)"; else fail "filter exit $rc"; fi
for n in c d; do
    if grep "$n.jsonl" "$D/err1" | grep -q "Input/output error"; then
        ok "filter names $n.jsonl and why (Input/output error)"
    else
        fail "filter stderr does not name $n.jsonl with Input/output error"
    fi
done
check_not "filter never calls an input missing" grep -q "No such file" "$D/err1"
check "daemon alive during the outage" kill -0 "$PID"

# ---- 3. the instance has no IAM role any more ---------------------------------------------
imds norole
sleep 1.1 # past the one-refresh-a-second limit
out=$("${AS[@]}" stat -c %s "$M/more/f.jsonl" 2>&1)
case "$out" in
*"Input/output error"*) ok "lookup with no IAM role -> EIO" ;;
*) fail "lookup with no IAM role: [$out], want Input/output error" ;;
esac

# ---- 4. the service answers again ---------------------------------------------------------
imds up
sleep 1.1
check_eq "same mount lists dir1 again" "$("${AS[@]}" ls "$M/dir1" 2>&1 | tr '\n' ' ')" "a.jsonl b.jsonl "
check_eq "the name that failed with no role resolves (no negative entry)" \
    "$("${AS[@]}" stat -c %s "$M/more/f.jsonl" 2>&1)" "$(stat -c %s "$D/f.jsonl")"
out=$("${AS[@]}" ls -d "$M/newname" 2>&1)
case "$out" in
*"No such file"*) ok "a really absent name is ENOENT again" ;;
*) fail "absent name after recovery: [$out]" ;;
esac
timeout 120 "${AS[@]}" "$F" -q -c id "$M/data/c.jsonl" "$M/data/d.jsonl" >"$D/out2.csv" 2>"$D/err2"
check_eq "filter over the mount after recovery: exit" "$?" 0
check_eq "filter output after recovery: rows" "$(grep -c . "$D/out2.csv")" 101
check_eq "read after recovery" "$("${AS[@]}" cat "$M/more/f.jsonl" | md5sum)" "$(md5sum <"$D/f.jsonl")"
check_eq "no remount: same daemon" "$(mount_pid "$M")" "$PID"
check "daemon alive" kill -0 "$PID"

# ---- the log --------------------------------------------------------------------------------
check "log: refresh failure names the source" grep -q "refresh from imds failed" "$LOG"
check "log: the reason when unreachable" grep -q "IMDS request failed" "$LOG"
check "log: the reason when the role is gone" grep -q "no IAM role" "$LOG"
check_not "log: no credentials failure turned into not-found" \
    grep -q "No such file or directory" <(grep -i "credentials" "$LOG")
stop_mount "$M" && ok "clean unmount"
