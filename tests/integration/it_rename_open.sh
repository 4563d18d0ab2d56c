#!/bin/bash
# it-timeout: 180
# it_rename_open.sh: rename() and files open for writing (issue 11, found by reading the code).
#   1. rename() ONTO a file open for writing: the writer's later close must never replace the
#      renamed-in object. The writer gets EIO (from its next write and from close), the
#      renamed object stays, no multipart upload is left (docs/semantics.md). Three writers:
#      nothing written yet, a small buffered file, a multipart upload under way.
#      (Tried against the code before the fix: the close succeeded and replaced the
#      renamed-in object with the writer's bytes, in all three cases.)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
MIB=1048576
start_mount "$B" "$M" -o part_size=5M
LOG=$(mount_log "$M")

sha_key() { s3cli cp --no-progress "s3://$B/$1" - 2>/dev/null | sha256sum | cut -c1-64; }
sha_file() { sha256sum <"$1" | cut -c1-64; }
exists() { s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
uploads() {
    s3api list-multipart-uploads --bucket "$B" --query 'Uploads[].Key' --output text 2>/dev/null |
        tr '\t' '\n' | grep -v '^None$' | grep -c .
}
# wait_gone KEY: up to 10 s for a close running in the daemon.
wait_gone() { for _ in $(seq 50); do exists "$1" || return 0; sleep 0.2; done; return 1; }

# ---- 1. rename onto a file open for writing ----------------------------------------------------
head -c 1000 /dev/urandom >"$D/a"
head -c $((12 * MIB)) /dev/urandom >"$D/w12"
for case in none small multipart; do
    cp "$D/a" "$M/onto-$case-a" || fail "cp onto-$case-a"
    out=$(python3 - "$M" "$case" "$D/w12" <<'PY' 2>&1
import errno, os, sys
m, case, big = sys.argv[1:4]
a, b = f"{m}/onto-{case}-a", f"{m}/onto-{case}-b"
fd = os.open(b, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
if case == "small":
    os.write(fd, b"W" * 100)
elif case == "multipart":
    with open(big, "rb") as f:
        os.write(fd, f.read())
os.rename(a, b)
res = []
try:
    os.write(fd, b"X" * 10)
    res.append("write ok")
except OSError as e:
    res.append("write " + errno.errorcode[e.errno])
try:
    os.close(fd)
    res.append("close ok")
except OSError as e:
    res.append("close " + errno.errorcode[e.errno])
print(" ".join(res))
PY
)
    echo "  rename onto a writer ($case): $out"
    check_eq "rename onto a writer ($case): its write and close fail with EIO" "$out" \
        "write EIO close EIO"
    check_eq "rename onto a writer ($case): the renamed object is kept" \
        "$(sha_key "onto-$case-b")" "$(sha_file "$D/a")"
    check_eq "rename onto a writer ($case): the mount shows it" \
        "$(sha_file "$M/onto-$case-b" 2>/dev/null)" "$(sha_file "$D/a")"
    check_not "rename onto a writer ($case): the old name is gone" exists "onto-$case-a"
done
check_eq "rename onto a writer: no multipart upload left" "$(uploads)" 0

stop_mount "$M" || fail "unmount"
grep -E 'error|warn' "$LOG" | grep -v summary | head -20 | cut -c1-200
