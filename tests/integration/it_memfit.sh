#!/bin/bash
# it-timeout: 400
# it_memfit.sh: the memory budget fits the box (issue 16, "budget from the box"). The daemon
# runs inside memory cgroups of 128, 256 and 512 MiB (cgroup v1 or v2, whichever this
# machine's memory controller is on; this CI host is hybrid: v1 memory, v2 without it) with
# no memory_budget=: it logs the budget it chose from the cgroup's limit (32, 64 and 128 MiB:
# a quarter), a 2 x 20 MiB read and a 20 MiB write work inside the cgroup, nothing in it is
# OOM-killed; an explicit memory_budget=256M in the 256 MiB cgroup and any daemon in a 48 MiB
# one are refused before mounting, with a message naming the numbers (and nothing mounted).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
head -c $((20 << 20)) /dev/urandom >"$D/a"
put_file "$D/a" "$B" a.bin || fatal "put a.bin"
head -c $((20 << 20)) /dev/urandom >"$D/w"

# new_cgroup MiB: a memory cgroup with that limit into $CG (not in a subshell: CGS must
# keep every directory for the cleanup).
CGS=()
new_cgroup() {
    local lim=$(($1 << 20)) base cg
    if [ -d /sys/fs/cgroup/memory ] && [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
        base=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
        cg=$base/s3m-memfit-$$-$1
        mkdir "$cg" && echo "$lim" >"$cg/memory.limit_in_bytes" || return 1
        echo 0 >"$cg/memory.swappiness" 2>/dev/null
    else
        base=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
        cg=$base/s3m-memfit-$$-$1
        mkdir "$cg" && echo "$lim" >"$cg/memory.max" || return 1
    fi
    CGS+=("$cg")
    CG=$cg
}
oom_kills() {
    if [ -f "$1/memory.events" ]; then awk '$1 == "oom_kill" { print $2 }' "$1/memory.events"
    else awk '$1 == "oom_kill" { print $2 }' "$1/memory.oom_control"; fi
}
trap 'rc=$?; for c in "${CGS[@]}"; do rmdir "$c" 2>/dev/null; done; (exit $rc); it_exit' EXIT

for mib in 128 256 512; do
    new_cgroup $mib || fatal "cannot create a ${mib} MiB memory cgroup"
    IT_MOUNT_WRAP=(bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG")
    M=$(new_dir "mnt$mib")
    start_mount "$B" "$M"
    want=$((mib / 4))
    LOG=$(mount_log "$M")
    line=$(grep -o "memory budget [0-9]* MiB: .*" "$LOG" | head -1)
    echo "  $mib MiB cgroup: $line"
    check "${mib} MiB cgroup: budget $want MiB chosen and logged with its reason" \
        grep -q "memory budget $want MiB: a quarter of the memory limit of cgroup file .*($mib MiB)" <<<"$line"
    # the work inside the cgroup: two concurrent reads and a write
    bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" sh -c \
        "cmp '$M/a.bin' '$D/a' & cmp '$M/a.bin' '$D/a' & cp '$D/w' '$M/w$mib.bin'; wait" \
        >"$D/work$mib" 2>&1
    check_eq "${mib} MiB cgroup: reads identical and the write closed" "$(cat "$D/work$mib")" ""
    check_eq "${mib} MiB cgroup: the written object is whole" "$(obj_sha256 "$B" "w$mib.bin")" "$(file_sha256 "$D/w")"
    stop_mount "$M" || fail "unmount ($mib MiB)"
    check_eq "${mib} MiB cgroup: nothing OOM-killed" "$(oom_kills "$CG")" 0
    IT_MOUNT_WRAP=()
done

# refusals, before anything is mounted
CG=${CGS[1]} # the 256 MiB one
M=$(new_dir mntx)
out=$(bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" \
    "$IT_S3MOUNT" -f -o "$(it_default_mount_opts),memory_budget=256M" "$B" "$M" 2>&1 </dev/null)
rc=$?
check "memory_budget=256M in a 256 MiB cgroup is refused (exit $rc)" test "$rc" -ne 0
check "the refusal names both numbers ($out)" grep -q "memory_budget=256 MiB does not fit the memory limit 256 MiB" <<<"$out"
check_not "nothing was mounted" is_mounted "$M"
new_cgroup 48 || fatal "cannot create a 48 MiB memory cgroup"
out=$(bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" \
    "$IT_S3MOUNT" -f -o "$(it_default_mount_opts)" "$B" "$M" 2>&1 </dev/null)
rc=$?
check "a 48 MiB cgroup is refused (exit $rc: $out)" grep -q "is 48 MiB: the daemon needs at least 64 MiB" <<<"$out"
check_not "nothing was mounted" is_mounted "$M"
