#!/bin/bash
# it-timeout: 400
# it-labels: normal-only
# it_slowdown_storm.sh: a SlowDown storm (issue 12, "adaptive sending"): for 20 s the fault
# proxy answers EVERY request 503 SlowDown (S3's real XML body), then none. With default
# options (no retries=, no op_timeout=) the mount must ride it out and send less meanwhile:
#   - 8 loops stat-ing 8 files (stat_ttl=0: each stat is a HEAD) run before, during and after
#     the storm: not one stat fails (before: 6 retries ~1.6 s apart in all, then EIO);
#   - a 64 MiB read and a 24 MiB write (3 parts) started as the storm begins both complete,
#     byte-identical (sha256), and leave no multipart upload;
#   - the proxy's per-second counts (requests that arrived, most in flight) show the daemon
#     sending far less during the storm (from its 3rd second: under 1/100 of the rate
#     before, at most 2 in flight) and as much as before afterwards (from 12 s after the
#     storm: at least half the rate before, 6+ in flight);
#   - the daemon's summary counts the throttled answers.
# The storm is the proxy's; RGW never throttles. Prints a FIGURES line with the rates.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
head -c $((64 << 20)) /dev/urandom >"$D/big" || fatal "cannot make test data"
head -c $((24 << 20)) /dev/urandom >"$D/w" || fatal "cannot make test data"
put_file "$D/big" "$B" big.bin || fatal "upload of big failed"
for i in 1 2 3 4 5 6 7 8; do
    echo "file $i" >"$D/s$i"
    put_file "$D/s$i" "$B" "s$i" || fatal "upload of s$i failed"
done

fp_start --seed 12
IT_MOUNT_OPTS=$(fp_mount_opts)
M=$(new_dir mnt)
start_mount "$B" "$M" -o stat_ttl=0,negative_ttl=0
LOOPS=$(new_dir loops)
STOP=$LOOPS/stop
for i in 1 2 3 4 5 6 7 8; do
    (
        n=0 bad=0
        while [ ! -e "$STOP" ]; do
            if stat -c %s "$M/s$i" >/dev/null 2>>"$LOOPS/err$i"; then
                n=$((n + 1))
            else
                bad=$((bad + 1))
            fi
        done
        echo "$n $bad" >"$LOOPS/res$i"
    ) &
done
sleep 1
fp_reset
sleep 6
t_storm=$(($(date +%s%N) / 1000000))
fp_set '{"rates": {"*": {"503": 1.0}}}'
sha256sum <"$M/big.bin" | cut -c1-64 >"$LOOPS/read.sha" 2>"$LOOPS/read.err" &
RPID=$!
write_close "$M/w.bin" "$D/w" >"$LOOPS/write.res" &
WPID=$!
sleep 20
fp_set '{"rates": {}}'
t_end=$(($(date +%s%N) / 1000000))
wait "$RPID"
wait "$WPID"
sleep 20
touch "$STOP"
wait_loops=0
for i in 1 2 3 4 5 6 7 8; do
    while [ ! -s "$LOOPS/res$i" ] && [ $wait_loops -lt 300 ]; do
        sleep 0.1
        wait_loops=$((wait_loops + 1))
    done
done
fp_stats >"$LOOPS/stats.json"

check_eq "the read during the storm is byte-identical" "$(cat "$LOOPS/read.sha")" "$(file_sha256 "$D/big")"
check_eq "the write during the storm closes" "$(cat "$LOOPS/write.res")" "close ok"
bad=0 good=0
for i in 1 2 3 4 5 6 7 8; do
    read -r n b <"$LOOPS/res$i"
    good=$((good + n))
    bad=$((bad + b))
done
check_eq "no stat failed before, during or after the storm ($good succeeded)" "$bad" 0
[ "$bad" = 0 ] || head -5 "$LOOPS"/err* >&2
check "the proxy answered 503 to the daemon during the storm" \
    test "$(jq -r '.faults["503"]' "$LOOPS/stats.json")" -gt 0

# per-second figures, relative to the reset; the storm began ~6 s in and lasted 20 s
t_reset=$((t_storm - 6000))
read -r before during after inf_during inf_after <<<"$(jq -r --argjson s 6 --argjson e $(((t_end - t_reset) / 1000)) '
  .per_second as $p
  | def rate($a; $b): ([$p[] | select(.[0] >= $a and .[0] < $b) | .[1]] | add // 0) / ($b - $a);
    def most($a; $b): ([$p[] | select(.[0] >= $a and .[0] < $b) | .[2]] | max // 0);
  "\(rate(1; $s)) \(rate($s + 3; $e)) \(rate($e + 12; $e + 19)) \(most($s + 3; $e)) \(most($e + 12; $e + 19))"
' "$LOOPS/stats.json")"
echo "FIGURES requests/s before $before, in the storm (from its 3rd s) $during (most in flight $inf_during), after (12-19 s) $after (most in flight $inf_after)"
check "the daemon sends under 1/100 of its rate during the storm" \
    awk -v b="$before" -v d="$during" 'BEGIN { exit !(b > 0 && d < b / 100) }'
check "at most 2 requests in flight during the storm (was $inf_during)" test "$inf_during" -le 2
check "the rate comes back after the storm (at least half)" \
    awk -v b="$before" -v a="$after" 'BEGIN { exit !(a >= b / 2) }'
check "8 loops in flight again after the storm (was $inf_after)" test "$inf_after" -ge 6

check_eq "the object written during the storm is whole" "$(obj_sha256 "$B" w.bin)" "$(file_sha256 "$D/w")"
check_eq "no multipart upload left" "$(uploads_count "$B")" 0
LOG=$(mount_log "$M")
stop_mount "$M" || fail "unmount"
thr=$(grep -o "summary: .*" "$LOG" | tail -1 | grep -o "throttled [0-9]*" | cut -d' ' -f2)
check "the summary counts throttled answers (${thr:-none})" test "${thr:-0}" -gt 0
check_not "no EIO in the daemon's log" grep -q "Input/output error" "$LOG"
