#!/bin/bash
# it-timeout: 600
# it_kill_caps.sh: killed writers publish nothing where users deploy s3mount (issue 11 §1, §2).
# The daemon runs with allow_other and exactly the capabilities of systemd/s3mount@.service
# (read from the unit: CapabilityBoundingSet), the writers run as uid 65534 (tests/integration/
# killprobe.c writes 9,100 bytes, then ends as the case says).
#   1. Under the unit's capabilities (CAP_SYS_PTRACE included: the writer's exit status is
#      visible): SIGKILL, unhandled SIGTERM, a 4-thread writer killed, a crash, cgroup.kill
#      (SIGKILL to each thread), the OOM killer of a 64 MiB memory cgroup -> nothing published; exit(0) without close, single- and
#      multi-threaded (from main and from another thread), and a child that inherited the
#      descriptor and exits normally after its parent was killed -> committed.
#   2. The same without CAP_SYS_PTRACE (the fallback of procstat.h): the same verdicts except
#      cgroup.kill, which it cannot see (published: the documented gap), and the mount warns.
#   3. pid namespaces: the daemon in a child pid namespace (host /proc), writers outside (pid 0
#      to the daemon): warned at mount and at the first flush; a flush commits at once
#      (close() reports it; later writes continue the file); a SIGKILLed writer is published,
#      as documented. The daemon in the host's namespace, writers in a child one: detected.
#      Daemon and writers in one new pid namespace with its own /proc (a Kubernetes pod with
#      shareProcessNamespace): detected.
#   4. close() reports the commit there too: the daemon under the unit's capabilities in a
#      child pid namespace, behind the fault proxy, a writer of uid 65534: a clean close()
#      returns after the object exists; with every PutObject failing, close() fails with
#      EIO and nothing is published.
# Before this change (ae0be8b) case 1 published every killed writer's 9,100 bytes (exit_code
# reads 0 without ptrace access), and case 3's flush did not commit.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

PROBE_BIN=$S3M_BUILD_DIR/tests/integration/s3m_killprobe
[ -x "$PROBE_BIN" ] || fatal "missing $PROBE_BIN (build the tree)"
command -v setpriv >/dev/null || fatal "setpriv missing (util-linux)"
# uid 65534 must reach the probe and the mountpoint
chmod 711 "$IT_TMP"
P=$IT_TMP/killprobe
cp "$PROBE_BIN" "$P" && chmod 755 "$P" || fatal "copy the probe"

UNIT_SET=$(unit_caps)
NOPTRACE_SET=$(unit_caps CAP_SYS_PTRACE)
echo "unit capabilities: setpriv $UNIT_SET"
check "the unit grants CAP_SYS_PTRACE (the exit status of writers of other uids)" \
    grep -q sys_ptrace <<<"$UNIT_SET"

# A cgroup v2 directory for cgroup.kill (the v2 hierarchy may sit at /sys/fs/cgroup/unified
# on hybrid hosts such as this one, where the memory controller is on v1).
CG=
for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -e "$root/cgroup.controllers" ] && mkdir "$root/s3m-kill.$$" 2>/dev/null; then
        CG=$root/s3m-kill.$$
        [ -e "$CG/cgroup.kill" ] && break
        rmdir "$CG"
        CG=
    fi
done
[ -n "$CG" ] || fail "no cgroup v2 directory with cgroup.kill: the cgroup.kill cases cannot run"
# A memory cgroup of 64 MiB for the OOM case (v1 memory controller, as on this host, or v2).
MCG=
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] && mkdir /sys/fs/cgroup/memory/s3m-oom.$$ 2>/dev/null; then
    MCG=/sys/fs/cgroup/memory/s3m-oom.$$
    echo $((64 << 20)) >"$MCG/memory.limit_in_bytes"
    echo 0 >"$MCG/memory.swappiness" 2>/dev/null
elif [ -n "$CG" ] && grep -qw memory "$(dirname "$CG")/cgroup.controllers" 2>/dev/null &&
    mkdir "$(dirname "$CG")/s3m-oom.$$" 2>/dev/null; then
    MCG=$(dirname "$CG")/s3m-oom.$$
    echo $((64 << 20)) >"$MCG/memory.max"
fi
[ -n "$MCG" ] || fail "no memory cgroup to run the OOM-killer case in"
cleanup_cg() {
    [ -n "$CG" ] && rmdir "$CG" 2>/dev/null
    [ -n "$MCG" ] && rmdir "$MCG" 2>/dev/null
}
trap 'cleanup_cg; it_exit' EXIT

B=$(unique_bucket)
make_bucket "$B"
M=$(new_dir mnt)

# size_of KEY: the object's size, nothing when absent. PFX: the prefix of the current mount.
PFX=
size_of() { s3api head-object --bucket "$B" --key "$PFX$1" --query ContentLength --output text 2>/dev/null; }
# wait_pidfile FILE: until FILE has a line (the probe's pid), 20 s at most.
wait_pidfile() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
# verdict KEY EXPECT: published (9,100 bytes, within 8 s) or absent (after 3 s).
verdict() {
    local key=$1 want=$2 i s
    if [ "$want" = published ]; then
        for ((i = 0; i < 80; i++)); do
            s=$(size_of "$key")
            [ "$s" = 9100 ] && break
            sleep 0.1
        done
        check_eq "$CASE_LABEL $key: published whole" "${s:-none}" 9100
    else
        sleep 3
        s=$(size_of "$key")
        check_eq "$CASE_LABEL $key: nothing published" "${s:-none}" none
    fi
}
# run_case KEY MODE END EXPECT [WRITER-PREFIX...]: start the probe as uid 65534 (under the
# prefix, e.g. unshare --pid --fork), then END: - (it ends by itself), a signal name, or
# cgkill (cgroup.kill of a cgroup holding only the probe).
run_case() {
    local key=$1 mode=$2 end=$3 want=$4 pf w pid
    pf=$IT_TMP/$key.pid
    shift 4
    : >"$pf"
    "$@" "${AS_OTHER[@]}" "$P" "$mode" "$M/$key" >"$pf" 2>"$IT_TMP/$key.err" &
    w=$!
    if ! wait_pidfile "$pf"; then
        fail "$CASE_LABEL $key: the probe did not start: $(cat "$IT_TMP/$key.err")"
        kill -KILL "$w" 2>/dev/null
        wait "$w" 2>/dev/null
        return
    fi
    pid=$(head -1 "$pf")
    # behind a pid-namespace prefix the probe's own pid is not ours: find its host pid
    if [ "$#" -gt 0 ] && [ "$end" != - ]; then
        pid=$(pgrep -n -f "^$P $mode $M/$key\$") || pid=
        [ -n "$pid" ] || { fail "$CASE_LABEL $key: cannot find the probe's pid"; return; }
    fi
    [ "$end" = oom ] || sleep 0.5
    case $end in
    -) ;;
    cgkill)
        if [ -n "$CG" ]; then
            echo "$pid" >"$CG/cgroup.procs" && echo 1 >"$CG/cgroup.kill"
        fi
        ;;
    oom) # the probe starts allocating 1 s after its first line: move it in before that
        [ -n "$MCG" ] && echo "$pid" >"$MCG/cgroup.procs"
        ;;
    *) kill -s "$end" "$pid" ;;
    esac
    wait "$w" 2>/dev/null
    verdict "$key" "$want"
}

# the cases every deployment must get right; $1: what cgroup.kill must give
standard_cases() {
    run_case kill9 wait KILL absent
    run_case term wait TERM absent
    run_case mtkill mt-wait KILL absent
    run_case crash segv - absent
    [ -n "$MCG" ] && run_case oom oom oom absent
    [ -n "$CG" ] && run_case cgkill wait cgkill "$1"
    [ -n "$CG" ] && run_case mtcgkill mt-wait cgkill "$1"
    run_case exit exit - published
    run_case mtexitmain mt-exit-main - published
    run_case mtexitthread mt-exit-thread - published
    run_case child child KILL published
}
killed_aborts() { grep -o 'killed-writer aborts [0-9]*' "$(mount_log "$M")" | tail -1 | grep -o '[0-9]*$'; }

# ---- 1. the unit's capabilities -----------------------------------------------------------
CASE_LABEL="[unit caps]"
PFX=unit/
read -r -a IT_MOUNT_WRAP <<<"$(caps_wrap "$UNIT_SET")"
start_mount "$B:/unit" "$M" -o allow_other,uid=65534,gid=65534
standard_cases absent
check_not "[unit caps] no CAP_SYS_PTRACE warning" grep -q "no CAP_SYS_PTRACE" "$(mount_log "$M")"
stop_mount "$M" || fail "unmount [unit caps]"
want=4
[ -n "$CG" ] && want=$((want + 2))
[ -n "$MCG" ] && want=$((want + 1))
check_eq "[unit caps] killed-writer aborts counted" "$(killed_aborts)" "$want"

# ---- 2. the unit's capabilities less CAP_SYS_PTRACE: the fallback ---------------------------
CASE_LABEL="[no ptrace]"
PFX=noptrace/
read -r -a IT_MOUNT_WRAP <<<"$(caps_wrap "$NOPTRACE_SET")"
start_mount "$B:/noptrace" "$M" -o allow_other,uid=65534,gid=65534
check "[no ptrace] the mount warns that exit statuses are hidden" \
    grep -q "no CAP_SYS_PTRACE" "$(mount_log "$M")"
# cgroup.kill sends SIGKILL to each thread: without the exit status nothing shows it
standard_cases published
stop_mount "$M" || fail "unmount [no ptrace]"

# ---- 3a. daemon in a child pid namespace (host /proc), writers outside -----------------------
CASE_LABEL="[daemon in child pidns]"
PFX=childns/
IT_MOUNT_WRAP=(unshare --pid --fork --kill-child)
start_mount "$B:/childns" "$M" -o allow_other,uid=65534,gid=65534
log=$(mount_log "$M")
check "[daemon in child pidns] warned at mount: /proc of another pid namespace" \
    grep -q "this daemon's /proc belongs to another pid namespace" "$log"
# close() commits at once: the object is there while the writer still holds a copy of the
# descriptor (no RELEASE yet), and later writes through the copy continue the file
pf=$IT_TMP/dup.out
"${AS_OTHER[@]}" "$P" dup-close "$M/dup" 5 >"$pf" 2>"$IT_TMP/dup.err" &
w=$!
for ((i = 0; i < 100; i++)); do
    grep -q closed "$pf" 2>/dev/null && break
    sleep 0.1
done
check_eq "[daemon in child pidns] close() committed before returning" "$(size_of dup)" 9100
check "[daemon in child pidns] warned once at the first unseen caller (pid 0)" \
    grep -q "a writer in a pid namespace this daemon cannot see (pid 0)" "$log"
wait "$w"
check_eq "[daemon in child pidns] the dup-close writer exited 0" "$?" 0
D=$(new_dir data)
{ head -c 9100 /dev/zero | tr '\0' k; head -c 9100 /dev/zero | tr '\0' l; } >"$D/dup.want"
for ((i = 0; i < 50; i++)); do [ "$(size_of dup)" = 18200 ] && break; sleep 0.1; done
get_file "$B" childns/dup "$D/dup.got"
check "[daemon in child pidns] later writes continued the file (18,200 bytes)" cmp -s "$D/dup.want" "$D/dup.got"
# nothing tells a kill from a close here: a killed writer is published (documented)
run_case kill9 wait KILL published
check_eq "[daemon in child pidns] the pid-0 warning is logged once" \
    "$(grep -c "cannot see (pid 0)" "$log")" 1
stop_mount "$M" || fail "unmount [daemon in child pidns]"

# ---- 3b. daemon in the host's pid namespace, writers in a child one --------------------------
CASE_LABEL="[writer in child pidns]"
PFX=hostns/
IT_MOUNT_WRAP=()
start_mount "$B:/hostns" "$M" -o allow_other,uid=65534,gid=65534
run_case kill9 wait KILL absent unshare --pid --fork --kill-child
run_case exit exit - published unshare --pid --fork --kill-child
check_not "[writer in child pidns] no pid-namespace warning" grep -q "pid namespace" "$(mount_log "$M")"
stop_mount "$M" || fail "unmount [writer in child pidns]"

# ---- 3c. daemon and writers in one new pid namespace with its own /proc ----------------------
# (a pod with shareProcessNamespace: true). The mount lives in that namespace's private mount
# namespace; the inner script reports one line per case.
inner() {
    set -u
    mkdir -p "$M"
    "$IT_S3MOUNT" -f -o "$OPTS,allow_other,uid=65534,gid=65534" "$B:/samens" "$M" 2>"$LOG" &
    local d=$! i
    for ((i = 0; i < 300; i++)); do mountpoint -q "$M" && break; sleep 0.1; done
    mountpoint -q "$M" || { echo "RESULT mount failed"; return 1; }
    setpriv --reuid=65534 --regid=65534 --clear-groups "$P" wait "$M/kill9" >"$M.kill9" &
    local w=$!
    for ((i = 0; i < 200; i++)); do [ -s "$M.kill9" ] && break; sleep 0.1; done
    sleep 0.5
    kill -KILL "$(head -1 "$M.kill9")"
    wait "$w"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$P" exit "$M/exit" >/dev/null
    sleep 3
    fusermount3 -u "$M"
    wait "$d"
    echo "RESULT daemon exit $?"
}
out=$(B=$B M=$IT_TMP/samens P=$P LOG=$IT_TMP/samens.log IT_S3MOUNT=$IT_S3MOUNT \
    OPTS=$(it_default_mount_opts) unshare --pid --fork --mount-proc bash -c "$(declare -f inner); inner")
echo "$out"
check_eq "[one pidns with its /proc] the daemon exited cleanly" "$(sed -n 's/^RESULT daemon exit //p' <<<"$out")" 0
CASE_LABEL="[one pidns with its /proc]"
PFX=samens/
check_eq "$CASE_LABEL killed writer: nothing published" "$(size_of kill9 || true)" ""
check_eq "$CASE_LABEL exit(0) writer: published" "$(size_of exit)" 9100
check_not "$CASE_LABEL no pid-namespace warning" grep -q "pid namespace" "$IT_TMP/samens.log"

# ---- 4. close() reports the commit: unit caps, child pid namespace, writer of another uid -----
. "$(dirname "$0")/../faultproxy/proxy.sh"
trap 'fp_rc=$?; fp_stop; cleanup_cg; (exit $fp_rc); it_exit' EXIT
fp_start --seed 3
CASE_LABEL="[close, unit caps + child pidns]"
PFX=close/
read -r -a IT_MOUNT_WRAP <<<"unshare --pid --fork --kill-child $(caps_wrap "$UNIT_SET")"
IT_MOUNT_OPTS=$(fp_mount_opts) start_mount "$B:/close" "$M" -o allow_other,uid=65534,gid=65534,retries=1
# close_as_other NAME: write 1000 bytes as uid 65534 and report close()'s result, then
# whether the object existed the moment close returned
close_as_other() {
    "${AS_OTHER[@]}" /usr/bin/python3 - "$M/$1" <<'PY' 2>&1
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"c" * 1000)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
PY
}
out=$(close_as_other clean)
s=$(size_of clean)
check_eq "$CASE_LABEL clean close() returns 0" "$out" "close ok"
check_eq "$CASE_LABEL the object exists when close() returns" "${s:-none}" 1000
fp_set '{"rates": {"put": {"500": 1}}}'
out=$(close_as_other failed)
fp_set '{"rates": {}}'
check_eq "$CASE_LABEL a failed commit fails close() with EIO" "$out" "close EIO"
s=$(size_of failed)
check_eq "$CASE_LABEL nothing published after the failed commit" "${s:-none}" none
stop_mount "$M" || fail "unmount $CASE_LABEL"
IT_MOUNT_WRAP=()
fp_stop
