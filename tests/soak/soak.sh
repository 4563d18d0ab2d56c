#!/bin/bash
# soak.sh: a bounded mixed workload against one s3mount mount for N minutes, sampling the
# daemon's RSS and open file descriptors; at the end a trend check. NOT part of ctest.
#
# Usage: tests/soak/soak.sh [-m MINUTES] [-i SAMPLE_SECONDS] [-o CSV]
#   -m MINUTES   duration of the workload (default 20)
#   -i SECONDS   sampling interval (default 5)
#   -o CSV       where the samples go (default: soak-<date>.csv in the current dir)
# Environment: as the integration tests (source /tmp/s3m-dev-rgw.env, S3M_BUILD_DIR=...);
# SOAK_BUDGET (default 64M) is the mount's memory_budget.
# Workload, in parallel until the deadline: 2 readers (whole objects, md5 checked against
# the source), 1 writer (12 MiB files with cp, read back by size, renamed, old ones
# deleted), 1 small-file writer (create, append-by-rewrite, delete), 1 lister (ls -lR, find).
# Disk: the writers delete what they wrote (the bucket goes at the end). Sampled too: the
# bytes the RGW's OSD holds live (bluestore_allocated, from $S3M_RGW_DIR/run/osd.0.asok: what
# the RGW's garbage collection must keep bounded), the OSD's sparse file on disk (`du`: a
# high-water mark, since bluestore reuses freed space anywhere in the file; capped by
# S3M_RGW_BLOCK_GB) and the free space of $TMPDIR's filesystem.
# Pass criteria: no workload error, no data mismatch; over the second half of the samples
# the least-squares slope of RSS is below SOAK_RSS_SLOPE_KB (default 1024 KiB/min) and that
# of the fd count below 0.5/min; with S3M_RGW_DIR set, the OSD's live bytes grow by less than
# SOAK_DISK_SLOPE_MB (default 64 MiB/min) over the second half; peak RSS below budget + 96
# MiB; the daemon exits 0.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MIN=20
INT=5
CSV=""
while getopts "m:i:o:h" opt; do
    case $opt in
    m) MIN=$OPTARG ;;
    i) INT=$OPTARG ;;
    o) CSV=$OPTARG ;;
    h) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
    esac
done
CSV=${CSV:-$PWD/soak-$(date -u +%Y%m%dT%H%M%S).csv}
. "$HERE/../integration/lib.sh"
require_env
BUDGET=${SOAK_BUDGET:-64M}
SLOPE_MAX=${SOAK_RSS_SLOPE_KB:-1024}
DISK_SLOPE_MAX=${SOAK_DISK_SLOPE_MB:-64}
RGW_DIR=${S3M_RGW_DIR:-}

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
NOBJ=6
for i in $(seq 1 $NOBJ); do
    head -c $((16 * 1048576 + i * 4099)) /dev/urandom >"$D/o$i"
    md5sum <"$D/o$i" | cut -d' ' -f1 >"$D/o$i.md5"
    put_file "$D/o$i" "$B" "r/o$i" || fatal "upload o$i"
done
head -c $((12 * 1048576)) /dev/urandom >"$D/w"
start_mount "$B" "$M" -o memory_budget=$BUDGET,log_level=warn
PID=$(mount_pid "$M")
END=$(($(date +%s) + MIN * 60))
ERR=$D/errors
: >"$ERR"
note() { echo "$(date -u +%T) $*" >>"$ERR"; }

reader() {
    local n=0 i got
    while [ "$(date +%s)" -lt "$END" ]; do
        i=$((RANDOM % NOBJ + 1))
        got=$(md5sum <"$M/r/o$i" 2>>"$ERR" | cut -d' ' -f1)
        [ "$got" = "$(cat "$D/o$i.md5")" ] || note "reader $1: o$i md5 $got"
        n=$((n + 1))
    done
    echo "$n" >"$D/reader$1.n"
}
writer() {
    local n=0
    mkdir -p "$M/w" 2>>"$ERR"
    while [ "$(date +%s)" -lt "$END" ]; do
        cp "$D/w" "$M/w/f$n" 2>>"$ERR" || note "writer: cp f$n failed"
        [ "$(stat -c %s "$M/w/f$n" 2>/dev/null)" = $((12 * 1048576)) ] || note "writer: f$n size"
        mv "$M/w/f$n" "$M/w/g$n" 2>>"$ERR" || note "writer: mv f$n failed"
        [ "$n" -ge 3 ] && { rm -f "$M/w/g$((n - 3))" 2>>"$ERR" || note "writer: rm g$((n - 3))"; }
        n=$((n + 1))
    done
    echo "$n" >"$D/writer.n"
}
smallfiles() {
    local n=0 k
    mkdir -p "$M/s" 2>>"$ERR"
    while [ "$(date +%s)" -lt "$END" ]; do
        k=$((n % 50))
        printf 'line %d\n' "$n" >"$M/s/x$k" 2>>"$ERR" || note "small: write x$k"
        grep -q "line $n" "$M/s/x$k" 2>>"$ERR" || note "small: read x$k"
        [ $((n % 7)) = 0 ] && { rm -f "$M/s/x$k" || note "small: rm x$k"; }
        n=$((n + 1))
    done
    echo "$n" >"$D/small.n"
}
lister() {
    local n=0
    while [ "$(date +%s)" -lt "$END" ]; do
        ls -lR "$M" >/dev/null 2>>"$D/ls.err" || true   # entries may vanish mid-listing
        find "$M" -type f >/dev/null 2>>"$D/ls.err" || true
        kill -0 "$PID" 2>/dev/null || note "lister: the daemon is gone"
        n=$((n + 1))
        sleep 1
    done
    echo "$n" >"$D/lister.n"
}

# osd_live_kb: bytes bluestore holds allocated (live data incl. not yet collected garbage)
osd_live_kb() {
    local s=$RGW_DIR/run/osd.0.asok
    [ -S "$s" ] || { echo 0; return; }
    timeout 10 ceph --admin-daemon "$s" perf dump 2>/dev/null |
        jq -r '(.bluestore.bluestore_allocated // 0) / 1024 | floor' 2>/dev/null || echo 0
}
echo "t_s,rss_kb,fds,threads,osd_live_kb,df_avail_kb,rgw_du_kb" >"$CSV"
sampler() {
    local t0 now rss fds thr rgw avail live
    t0=$(date +%s)
    while [ "$(date +%s)" -lt "$END" ]; do
        now=$(($(date +%s) - t0))
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status" 2>/dev/null)
        thr=$(awk '/^Threads/ { print $2 }' "/proc/$PID/status" 2>/dev/null)
        fds=$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)
        rgw=0
        live=0
        if [ -n "$RGW_DIR" ]; then
            rgw=$(du -sk "$RGW_DIR" 2>/dev/null | cut -f1)
            live=$(osd_live_kb)
        fi
        avail=$(df -Pk "$IT_TMP" | awk 'NR == 2 { print $4 }')
        echo "$now,${rss:-0},$fds,${thr:-0},${live:-0},${avail:-0},${rgw:-0}" >>"$CSV"
        sleep "$INT"
    done
}

echo "soak: $MIN min against $S3M_ENDPOINT, budget $BUDGET, samples -> $CSV"
WORKERS=()
reader 1 & WORKERS+=($!)
reader 2 & WORKERS+=($!)
writer & WORKERS+=($!)
smallfiles & WORKERS+=($!)
lister & WORKERS+=($!)
sampler & WORKERS+=($!)
# only the workers: a bare `wait` would also wait for the s3mount daemon (a job of this shell)
wait "${WORKERS[@]}"
kill -USR1 "$PID"
sleep 0.5
stop_mount "$M" || fail "unmount at the end of the soak"
grep -o 'summary: .*' "$(mount_log "$M")" | tail -1

# least-squares slopes over the second half (per minute)
read -r slope_rss slope_fd slope_disk peak n <<<"$(awk -F, 'NR > 1 { t[++n] = $1; r[n] = $2; f[n] = $3; g[n] = $5; if ($2 > p) p = $2 }
    END { h = int(n / 2) + 1; m = n - h + 1; st = sr = sf = sg = stt = str = stf = stg = 0
          for (i = h; i <= n; i++) { st += t[i]; sr += r[i]; sf += f[i]; sg += g[i]; stt += t[i] * t[i]
                                     str += t[i] * r[i]; stf += t[i] * f[i]; stg += t[i] * g[i] }
          d = m * stt - st * st
          if (d == 0) { print 0, 0, 0, p, n; exit }
          printf "%.1f %.3f %.1f %d %d\n", 60 * (m * str - st * sr) / d, 60 * (m * stf - st * sf) / d,
                 60 * (m * stg - st * sg) / d / 1024, p, n }' "$CSV")"
budget_kb=$(numfmt --from=iec "$BUDGET")
budget_kb=$((budget_kb / 1024))
first=$(sed -n 2p "$CSV")
last=$(tail -1 "$CSV")
echo "samples $n; first $first; last $last; peak RSS ${peak} kB"
echo "second-half slopes: RSS ${slope_rss} kB/min, fds ${slope_fd}/min, OSD live bytes ${slope_disk} MiB/min"
echo "operations: reads $(cat "$D/reader1.n" "$D/reader2.n" 2>/dev/null | paste -sd+ | bc)" \
    "big writes $(cat "$D/writer.n" 2>/dev/null) small writes $(cat "$D/small.n" 2>/dev/null)" \
    "listings $(cat "$D/lister.n" 2>/dev/null)"
nerr=$(grep -c . "$ERR")
check_eq "workload errors" "$nerr" 0
[ "$nerr" = 0 ] || head -20 "$ERR"
check "RSS slope ${slope_rss} kB/min < $SLOPE_MAX" awk -v s="$slope_rss" -v m="$SLOPE_MAX" 'BEGIN { exit !(s < m) }'
check "fd slope ${slope_fd}/min < 0.5" awk -v s="$slope_fd" 'BEGIN { exit !(s < 0.5) }'
check "peak RSS ${peak} kB < budget + 96 MiB" test "$peak" -lt $((budget_kb + 98304))
if [ -n "$RGW_DIR" ]; then
    check "OSD live bytes slope ${slope_disk} MiB/min < $DISK_SLOPE_MAX (GC keeps up)" \
        awk -v s="$slope_disk" -v m="$DISK_SLOPE_MAX" 'BEGIN { exit !(s < m) }'
fi
echo "FIGURES soak: minutes $MIN samples $n peak_rss_kb $peak rss_slope_kb_per_min $slope_rss" \
    "fd_slope_per_min $slope_fd osd_live_slope_mib_per_min $slope_disk first [$first] last [$last]" \
    "errors $nerr"
