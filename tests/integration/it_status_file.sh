#!/bin/bash
# it-timeout: 300
# it_status_file.sh: the mount's state as a file (issue 12): `.s3mount-status` in the mount root,
# Prometheus text format (checked line by line against the exposition format by a parser of
# this test's own), reachable by name, absent from ls -a and find, read-only (EACCES), hiding
# an object of that name. Its counters move with the work: bytes read and written, S3
# requests by kind, and a file being written (name with a quote, a backslash and a space)
# shows with the bytes S3 has acknowledged while it is open.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
echo "an object of the reserved name" >"$D/hidden"
put_file "$D/hidden" "$B" .s3mount-status || fatal "put"
head -c $((3 << 20)) /dev/urandom >"$D/r"
put_file "$D/r" "$B" r.bin || fatal "put r.bin"
M=$(new_dir mnt)
start_mount "$B" "$M" -o part_size=5M
S=$M/.s3mount-status

# validate FILE: the Prometheus text exposition format (0.0.4), strictly enough to catch an
# unescaped label value or a sample without its family.
validate() {
    python3 - "$1" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$" % (name, lab, lab))
typed, helped, bad = set(), set(), []
for i, line in enumerate(open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        helped.add(line.split(" ")[2]); continue
    if line.startswith("# TYPE "):
        p = line.split(" ")
        if len(p) != 4 or p[3] not in ("counter", "gauge"): bad.append((i, line))
        typed.add(p[2]); continue
    m = sample.match(line)
    if not m or m.group(1) not in typed or m.group(1) not in helped:
        bad.append((i, line))
if bad:
    for b in bad[:5]: print("bad line %d: %r" % b)
    sys.exit(1)
print("ok %d families" % len(typed))
PY
}
metric() { grep -E "^s3mount_$2( |\{)" "$1" | awk '{ s += $NF } END { print s + 0 }'; }

cat "$S" >"$D/s1" 2>"$D/s1.err"
check_eq "cat of the status file works" "$?" 0
check "the status file is valid Prometheus text" validate "$D/s1"
check_not "ls -a of the root does not show it" grep -qx .s3mount-status <<<"$(ls -a "$M")"
check_not "find does not show it" grep -q "s3mount-status" <<<"$(find "$M")"
check_not "it hides the object of the same name" grep -q "reserved name" "$D/s1"
err=$(sh -c "echo x > '$S'" 2>&1)
check "writing it is refused (EACCES: $err)" grep -q "Permission denied" <<<"$err"
check_eq "its stat: a read-only regular file (size 0: reads use direct I/O)" "$(stat -c '%F %a' "$S")" "regular empty file 444"

r0=$(metric "$D/s1" read_bytes_total)
cat "$M/r.bin" >/dev/null
cat "$S" >"$D/s2"
r1=$(metric "$D/s2" read_bytes_total)
check_eq "read_bytes_total grew by the file read" "$((r1 - r0))" $((3 << 20))
check "GetObject requests are counted" test "$(grep -E '^s3mount_s3_requests_total\{kind="GetObject"\}' "$D/s2" | awk '{print $2}')" -gt 0

# a file being written: 12 MiB (3 parts of 5 MiB acknowledged before the pause), then a pause
NAME='we"ird\ name.bin'
python3 - "$M/$NAME" "$D/w.done" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
chunk = os.urandom(1 << 20)
for _ in range(16):
    os.write(fd, chunk)
open(sys.argv[2] + ".mid", "w").close()
time.sleep(8)
os.close(fd)
open(sys.argv[2], "w").close()
PY
WPID=$!
for i in $(seq 1 100); do [ -e "$D/w.done.mid" ] && break; sleep 0.1; done
sleep 4
cat "$S" >"$D/s3"
check "the status file is valid Prometheus text while a file is written" validate "$D/s3"
line=$(grep '^s3mount_upload_bytes_acknowledged{' "$D/s3")
echo "  $line"
check "the file being written shows, its name escaped" \
    grep -qF 's3mount_upload_bytes_acknowledged{key="we\"ird\\ name.bin",parts="3"} 15728640' <<<"$line"
check_eq "one upload in progress" "$(metric "$D/s3" uploads_in_progress)" 1
wait "$WPID"
cat "$S" >"$D/s4"
check_eq "no upload in progress after the close" "$(metric "$D/s4" uploads_in_progress)" 0
check_eq "written_bytes_total counts the file" "$(metric "$D/s4" written_bytes_total)" $((16 << 20))
check "a commit is counted" test "$(metric "$D/s4" commits_total)" -ge 1
stop_mount "$M" || fail "unmount"
