#!/bin/bash
# it-timeout: 300
# it_stale_meta.sh: stale-if-error metadata (issue 12). With default options, the mount lists
# and stats a directory, then S3 goes dark (the fault proxy closes every connection without
# an answer: a dead server) for longer than stat_ttl and dir_ttl:
#   - `ls -l` of the directory answers from its last complete listing: the same names,
#     sizes and times as before the outage;
#   - stat of a known file answers its last known size; stat of the root too;
#   - a name never seen gets EIO, never ENOENT; a directory never listed gets EIO, never an
#     empty listing;
#   - one log line when the outage begins, one when S3 answers again (with the count of
#     stale answers), and after that the mount asks S3 again (a file added meanwhile shows).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
fp_start --seed 3
IT_MOUNT_OPTS=$(fp_mount_opts)
M=$(new_dir mnt)
start_mount "$B" "$M"
mkdir -p "$M/d/sub" || fatal "mkdir"
for i in $(seq -w 0 29); do
    head -c $((1000 + 37 * 10#$i)) /dev/urandom >"$M/d/f$i" || fatal "write f$i"
done
echo hello >"$M/d/sub/x" || fatal "write sub/x"
echo top >"$M/top.txt" || fatal "write top.txt"
sleep 1.5
ls -l --time-style=+%s "$M/d" >"$D/before" || fatal "ls before the outage"
ls "$M" >"$D/root.before" || fatal "ls of the root before the outage"
size05=$(stat -c %s "$M/d/f05")

fp_set '{"down": true}'
sleep 2.5 # past stat_ttl (1 s) and dir_ttl (1 s): every answer must be asked again
t0=$(date +%s.%N)
ls -l --time-style=+%s "$M/d" >"$D/during" 2>"$D/during.err"
rc=$?
t1=$(date +%s.%N)
check_eq "ls -l during the outage succeeds" "$rc" 0
check "ls -l during the outage shows the last listing (names, sizes, times)" cmp -s "$D/before" "$D/during"
[ "$rc" = 0 ] || head -3 "$D/during.err" >&2
check_eq "stat of a known file during the outage: its last known size" "$(stat -c %s "$M/d/f05" 2>&1)" "$size05"
ls "$M" >"$D/root.during" 2>&1
check "ls of the root during the outage shows the last listing" cmp -s "$D/root.before" "$D/root.during"
err=$(stat "$M/d/never-seen" 2>&1)
check "a name never seen: EIO ($err)" grep -q "Input/output error" <<<"$err"
check_not "a name never seen is not ENOENT" grep -q "No such file" <<<"$err"
err=$(ls "$M/d/sub" 2>&1)
check "a directory never listed: EIO, not an empty listing ($err)" grep -q "Input/output error" <<<"$err"
echo "FIGURES ls -l of 31 entries during the outage took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
sleep 1.2
ls -l --time-style=+%s "$M/d" >"$D/during2" 2>&1
check "a second ls -l during the outage answers the same" cmp -s "$D/before" "$D/during2"

# S3 is back: a file added by another client meanwhile shows (the mount asks S3 again)
fp_set '{"down": false}'
echo new >"$D/new"
put_file "$D/new" "$B" d/added || fatal "put d/added"
sleep 1.5
ls "$M/d" >"$D/after" 2>&1
check "after the outage the listing comes from S3 again (the new file shows)" grep -qx added "$D/after"
LOG=$(mount_log "$M")
check_eq "one log line when the outage began" "$(grep -c "S3 out of reach" "$LOG")" 1
check_eq "one log line when S3 answered again" "$(grep -c "S3 answers again" "$LOG")" 1
grep -E "S3 out of reach|S3 answers again" "$LOG" | sed 's/^/  log: /'
stop_mount "$M" || fail "unmount"
