#!/bin/bash
# it-timeout: 300
# it_rename_open.sh: rename() and files open for writing (issue 11, found by reading the code).
#   1. rename() ONTO a file open for writing: the writer's later close must never replace the
#      renamed-in object. The writer gets EIO (from its next write and from close), the
#      renamed object stays, no multipart upload is left (docs/semantics.md). Three writers:
#      nothing written yet, a small buffered file, a multipart upload under way.
#      (Against the code before the fix: the close succeeded and replaced the renamed-in
#      object with the writer's bytes, in all three cases.)
#   2. rename() OF a file open for writing keeps whatever is under the old name until the
#      commit under the new name:
#      a. fsync'ed (>= 5 MiB, so the resumed upload starts with an UploadPartCopy of the old
#         name), more written, renamed while that copy is in flight, closed: the close
#         succeeds, the new name has every byte, the old name is gone. The copy is held in
#         flight by the fault proxy's "delay" (RGW alone copies too fast to see it).
#      b. the same, small (< 5 MiB: resumed by a GET) and large, with the writer killed by
#         SIGKILL after the rename: the old name still holds the fsync'ed version, the new
#         name holds nothing, no multipart upload is left.
#      c. an object replaced with O_TRUNC and renamed while open: after close the old name
#         is gone and the new one holds the new bytes.
#      (Against the code before the fix: 2a's close failed with EIO, UploadPartCopy 404
#      NoSuchKey, and 2b left neither name, in both sizes.)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
. "$(dirname "$0")/../faultproxy/proxy.sh"

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
MIB=1048576
fp_start --seed 11
IT_MOUNT_OPTS=$(fp_mount_opts)
start_mount "$B" "$M" -o part_size=5M
LOG=$(mount_log "$M")

sha_key() { obj_sha256 "$B" "$1"; }
sha_file() { file_sha256 "$1"; }
exists() { s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
uploads() { uploads_count "$B"; }
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

# ---- 2a. fsync'ed, renamed while the resumed upload's UploadPartCopy is in flight ---------------
head -c $((6 * MIB)) /dev/urandom >"$D/p6"
head -c $((2 * MIB)) /dev/urandom >"$D/p2"
cat "$D/p6" "$D/p2" "$D/p2" >"$D/all"
fp_set '{"delay_s": 4}'
out=$(python3 - "$M" "$D" "$FP_CTL" <<'PY' 2>&1
import errno, os, sys, time, urllib.request
m, d, ctl = sys.argv[1:4]
def fp(cfg):
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{ctl}/config", data=cfg.encode(), method="POST")).read()
p6 = open(f"{d}/p6", "rb").read()
p2 = open(f"{d}/p2", "rb").read()
fd = os.open(f"{m}/inflight-a", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, p6)
os.fsync(fd)
fp('{"rates": {"upload_part": {"delay": 1}}}')   # the copy of inflight-a is held
os.write(fd, p2)                                  # resume: UploadPartCopy queued
time.sleep(0.5)
os.rename(f"{m}/inflight-a", f"{m}/inflight-b")
fp('{"rates": {}}')
os.write(fd, p2)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
PY
)
fp_set '{"rates": {}}'
echo "  rename during the resumed copy: $out; delayed requests: $(fp_stat .faults.delay)"
check "the proxy held at least one part request" test "$(fp_stat .faults.delay)" -ge 1
check_eq "rename during the resumed copy: close succeeds" "$out" "close ok"
check_eq "rename during the resumed copy: the new name has every byte" \
    "$(sha_key inflight-b)" "$(sha_file "$D/all")"
check "rename during the resumed copy: the old name is gone after close" wait_gone inflight-a
check_eq "rename during the resumed copy: no multipart upload left" "$(uploads)" 0

# ---- 2b. fsync'ed, renamed, writer killed -------------------------------------------------------
head -c $((1 * MIB)) /dev/urandom >"$D/p1"
for size in small large; do
    if [ $size = small ]; then first=$D/p1; else first=$D/p6; fi
    rm -f "$D/ready"
    python3 - "$M" "$first" "$D/ready" "$size" <<'PY' &
import os, sys, time
m, first, ready, size = sys.argv[1:5]
fd = os.open(f"{m}/killed-{size}-a", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(first, "rb").read())
os.fsync(fd)
os.write(fd, b"more" * 1000)
os.rename(f"{m}/killed-{size}-a", f"{m}/killed-{size}-b")
os.write(fd, b"even more" * 1000)
open(ready, "w").close()
time.sleep(120)
PY
    wpid=$!
    for _ in $(seq 300); do [ -e "$D/ready" ] && break; sleep 0.1; done
    check "killed writer ($size): it got through the rename" test -e "$D/ready"
    kill -KILL "$wpid" 2>/dev/null
    wait "$wpid" 2>/dev/null
    sleep 1
    check_eq "killed writer ($size): the old name keeps the fsync'ed version" \
        "$(sha_key "killed-$size-a")" "$(sha_file "$first")"
    check_not "killed writer ($size): nothing under the new name" exists "killed-$size-b"
    check_eq "killed writer ($size): no multipart upload left" "$(uploads)" 0
done

# ---- 2c. an object replaced with O_TRUNC, renamed while open ------------------------------------
cp "$D/a" "$M/trunc-a" || fail "cp trunc-a"
out=$(python3 - "$M" "$D/p2" <<'PY' 2>&1
import os, sys
m, p2 = sys.argv[1:3]
fd = os.open(f"{m}/trunc-a", os.O_WRONLY | os.O_TRUNC)
os.write(fd, open(p2, "rb").read())
os.rename(f"{m}/trunc-a", f"{m}/trunc-b")
os.write(fd, open(p2, "rb").read())
os.close(fd)
print("close ok")
PY
)
check_eq "O_TRUNC then rename: close succeeds" "$out" "close ok"
cat "$D/p2" "$D/p2" >"$D/p22"
check_eq "O_TRUNC then rename: the new name has the new bytes" "$(sha_key trunc-b)" \
    "$(sha_file "$D/p22")"
check "O_TRUNC then rename: the old name is gone after close" wait_gone trunc-a

# ---- 2d. renamed after its first part was sent, and the copy to the new name fails ------------
# The upload completes under the old name and is copied to the new one at close (S3 cannot
# move an unfinished upload). If that copy fails, the whole file is committed under the old
# name: it must stay there (close fails with EIO and the log says where), never be deleted.
# (Against the code before: the old name was deleted too, and the file was lost.)
out=$(python3 - "$M" "$D/w12" "$FP_CTL" <<'PY' 2>&1
import errno, os, sys, time, urllib.request
m, big, ctl = sys.argv[1:4]
def fp(cfg):
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{ctl}/config", data=cfg.encode(), method="POST")).read()
fd = os.open(f"{m}/copyfail-a", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(big, "rb").read())
time.sleep(1)                                   # parts 1 and 2 are sent
os.rename(f"{m}/copyfail-a", f"{m}/copyfail-b")
fp('{"rates": {"put": {"500": 1}}}')            # every CopyObject fails
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
fp('{"rates": {}}')
PY
)
fp_set '{"rates": {}}'
echo "  copy to the new name fails: $out; put faults: $(fp_stat .faults_by_class.put | tr -d ' \n')"
check_eq "copy to the new name fails: close fails with EIO" "$out" "close EIO"
check_eq "copy to the new name fails: the file is whole under the old name" \
    "$(sha_key copyfail-a)" "$(sha_file "$D/w12")"
check "copy to the new name fails: the log says where the file is" \
    grep -q "the file is committed under its old name" "$LOG"
check_eq "copy to the new name fails: no multipart upload left" "$(uploads)" 0

stop_mount "$M" || fail "unmount"
grep -E 'error|warn' "$LOG" | grep -v summary | head -20 | cut -c1-200
