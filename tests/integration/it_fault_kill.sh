#!/bin/bash
# it-timeout: 400
# it_fault_kill.sh: crash safety of writes.
#   1. A writer (dd) killed with SIGKILL mid-file: no object and no listed upload (the
#      flush of a process dying from a signal aborts instead of committing).
#   2. s3mount itself killed with SIGKILL while a file is being written: no partial object
#      (the 0-byte object that dd's open commits, as documented, may be there).
#      A multipart upload IS left listed (nobody is alive to abort it): reported; then the
#      next mount with abort_stale_uploads=0 aborts it (checked, with its log line).
#   3. Unmount with open files: fusermount3 -u refuses (EBUSY) while a reader and a
#      half-written file are open; SIGTERM to the daemon then exits cleanly (status 0),
#      publishing nothing of the half-written file and leaving no upload; the holders'
#      descriptors then fail instead of hanging. (This test found, and now guards, two
#      bugs fixed in fec3640: exit status 1 after SIGTERM, and "rcache_free with readers
#      still open" logged at a shutdown with open files.)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
head -c $((5 * 1048576)) /dev/urandom >"$D/r" && put_file "$D/r" "$B" r.bin || fatal "setup"

uploads_listed() {
    local out
    out=$(s3api list-multipart-uploads --bucket "$B" --prefix "$1" --output json) || return 1
    jq --arg k "$1" '[(.Uploads // [])[] | select(.Key == $k)] | length' <<<"${out:-{\}}"
}
object_exists() { s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
# wait_size FILE BYTES: until FILE (in the mount) has at least BYTES, 60 s at most.
wait_size() {
    local i s
    for ((i = 0; i < 600; i++)); do
        s=$(stat -c %s -- "$1" 2>/dev/null || echo 0)
        [ "$s" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- 1. writer killed -------------------------------------------------------------------------
start_mount "$B" "$M" -o part_size=5M
dd if=/dev/urandom of="$M/killed-writer" bs=1M count=400 status=none 2>/dev/null &
w=$!
check "writer reached 30 MiB" wait_size "$M/killed-writer" $((30 * 1048576))
kill -KILL "$w"
wait "$w" 2>/dev/null
sleep 2
check_not "killed writer: no object" object_exists killed-writer
check_eq "killed writer: no listed upload" "$(uploads_listed killed-writer)" 0
stop_mount "$M" || fail "unmount after the killed writer"
aborts=$(grep -o 'killed-writer aborts [0-9]*' "$(mount_log "$M")" | tail -1 | grep -o '[0-9]*$')
check_eq "the daemon counted one killed-writer abort" "${aborts:-?}" 1

# ---- 2. s3mount killed during a write ------------------------------------------------------------
start_mount "$B" "$M" -o part_size=5M
pid=$(mount_pid "$M")
dd if=/dev/urandom of="$M/daemon-killed" bs=1M count=400 status=none 2>"$D/dd.err" &
w=$!
check "writer reached 30 MiB before the daemon is killed" wait_size "$M/daemon-killed" $((30 * 1048576))
kill -KILL "$pid"
wait "$pid" 2>/dev/null
unset "IT_MOUNT_PID[$M]"
wait "$w"
check_not "the writer of a killed daemon gets an error" test $? = 0
echo "writer's error: $(head -c 200 "$D/dd.err")"
check "the dead mount unmounts" fusermount3 -u -- "$M"
# dd's open (O_TRUNC, then dup2) commits an empty object at once (docs/semantics.md,
# "Shell redirection and dd"): that 0-byte object may exist; no byte of the data may.
sz=$(s3api head-object --bucket "$B" --key daemon-killed --query ContentLength --output text 2>/dev/null || echo none)
check "killed daemon: no partial object (none, or the 0-byte object of dd's open; got: $sz)" \
    test "$sz" = none -o "$sz" = 0
left=$(uploads_listed daemon-killed)
echo "FIGURES daemon-SIGKILL: object_after_kill ${sz}_bytes, multipart_uploads_left_listed ${left:-?}"
check "killed daemon: its multipart upload is left listed (nobody could abort it)" test "${left:-0}" -ge 1
# the next mount cleans it up
start_mount "$B" "$M" -o abort_stale_uploads=0,log_level=info
check_eq "abort_stale_uploads=0 at the next mount: upload gone" "$(uploads_listed daemon-killed)" 0
check "its log says so" grep -q 'abort_stale_uploads: [1-9][0-9]* upload(s)' "$(mount_log "$M")"
grep -m1 'abort_stale_uploads' "$(mount_log "$M")"
check "the remounted bucket reads" cmp -s "$M/r.bin" "$D/r"
stop_mount "$M" || fail "unmount after the cleanup mount"

# ---- 3. unmount with open files ---------------------------------------------------------------------
start_mount "$B" "$M" -o part_size=5M
pid=$(mount_pid "$M")
# a holder with a reader and a half-written file (two parts sent, one buffered) open
(
    exec 3<"$M/r.bin" 4>"$M/open-writer"
    head -c 4096 <&3 >/dev/null
    head -c $((12 * 1048576)) /dev/urandom >&4
    echo ready >"$D/holder.ready"
    sleep 300
) &
h=$!
for ((i = 0; i < 300; i++)); do [ -e "$D/holder.ready" ] && break; sleep 0.1; done
check "holder has its files open" test -e "$D/holder.ready"
check_not "fusermount3 -u refuses while files are open" fusermount3 -u -- "$M"
kill -TERM "$pid"
st=0
for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    fail "s3mount still running 30 s after SIGTERM with open files"
    kill -KILL "$pid"
fi
wait "$pid"
st=$?
unset "IT_MOUNT_PID[$M]"
check_eq "SIGTERM with open files: the daemon exits with status 0" "$st" 0
check_not "SIGTERM with open files: no error logged at shutdown" grep -q ' error: ' "$(mount_log "$M")"
check_not "SIGTERM with open files: no sanitizer report" grep -Eq "$IT_SANITIZER_RE" "$(mount_log "$M")"
kill -TERM "$h" 2>/dev/null
wait "$h" 2>/dev/null
is_mounted "$M" && fusermount3 -u -z -- "$M"
check_not "half-written file of an unmounted fs: no object" object_exists open-writer
check_eq "half-written file of an unmounted fs: no listed upload" "$(uploads_listed open-writer)" 0
tail -n 3 "$(mount_log "$M")"
# the bucket still mounts and reads afterwards
start_mount "$B" "$M"
check "mount works after the unmount with open files" cmp -s "$M/r.bin" "$D/r"
stop_mount "$M" || fail "final unmount"
