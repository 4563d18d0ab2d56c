#!/bin/bash
# it-timeout: 240
# it_complete_owner.sh: a CompleteMultipartUpload retried after NoSuchUpload must accept
# only an object proven to be this upload's (issue 11), and the engine must never delete
# an object it cannot prove is its own.
# RGW cannot be made to lose a Complete answer and then say NoSuchUpload, so the fault
# proxy (tests/faultproxy) emulates what S3 documents: its script answers the first
# Complete with 500 (never reaching S3) and the retry with 404 NoSuchUpload (what S3
# answers a retry whose first try went through, or an upload that is gone). Meanwhile
# ANOTHER writer's multipart object of the same part count sits under the key:
#   1. same size: the old code took its "-2" ETag as proof, close succeeded, the file's
#      bytes were lost and its upload orphaned;
#   2. another size: the old code took it too (the size was never looked at).
# Now: close fails with EIO, the other writer's object is untouched, no multipart upload
# is left (this upload is aborted: nothing is lost or half-published).
#   3. the Complete succeeds (RGW answers it with an empty ETag, so the engine HEADs the
#      key) but another writer's object of another size lands before that HEAD (the
#      proxy holds the HEAD 6 s): the old code found the size wrong and DELETED the other
#      writer's object. Now: close fails with EIO and that object is kept.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
. "$(dirname "$0")/../faultproxy/proxy.sh"

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
MIB=1048576
fp_start --seed 5
IT_MOUNT_OPTS=$(fp_mount_opts)
start_mount "$B" "$M" -o part_size=8M
LOG=$(mount_log "$M")

sha_key() { obj_sha256 "$B" "$1"; }
sha_file() { file_sha256 "$1"; }
etag() { s3api head-object --bucket "$B" --key "$1" --query ETag --output text 2>/dev/null; }
uploads() { uploads_count "$B"; }

head -c $((16 * MIB)) /dev/urandom >"$D/mine"
for case in same-size other-size; do
    if [ $case = same-size ]; then n=16; else n=12; fi
    head -c $((n * MIB)) /dev/urandom >"$D/theirs-$case"
    # the other writer: awscli, straight to S3, in 8 MiB parts: a "-2" ETag like ours
    put_file "$D/theirs-$case" "$B" "owner-$case" || fail "put owner-$case"
    theirs=$(etag "owner-$case")
    echo "  $case: the other writer's object has ETag $theirs"
    fp_set '{"script": {"post_complete": ["500", "nosuchupload"]}}'
    fp_reset
    out=$(write_close "$M/owner-$case" "$D/mine")
    fp_set '{"script": {}}'
    echo "  $case: $out; proxy faults: $(fp_stat .faults_by_class.post_complete | tr -d ' \n')"
    check_eq "$case: the script ran (500, then NoSuchUpload)" \
        "$(fp_stat '.faults.nosuchupload')" 1
    check_eq "$case: close fails with EIO" "$out" "close EIO"
    check_eq "$case: the other writer's object is untouched" "$(sha_key "owner-$case")" \
        "$(sha_file "$D/theirs-$case")"
    check_eq "$case: no multipart upload is left" "$(uploads)" 0
done

# ---- 3. another writer's object lands between Complete and the HEAD after it ----------------
case=newer
head -c $((12 * MIB)) /dev/urandom >"$D/theirs-$case"
fp_set '{"delay_s": 6}'
fp_reset
rm -f "$D/closing"
python3 - "$M/owner-$case" "$D/mine" "$FP_CTL" "$D/closing" >"$D/out-$case" 2>&1 <<'PY' &
import errno, os, sys, urllib.request
path, mine, ctl, closing = sys.argv[1:5]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(mine, "rb").read())
# the second HEAD is the one after the Complete: hold it (the first is the one that
# checks the commit's If-None-Match before the Complete, issue 13)
urllib.request.urlopen(urllib.request.Request(
    f"http://127.0.0.1:{ctl}/config", data=b'{"script": {"head": [null, "delay"]}}',
    method="POST")).read()
open(closing, "w").close()
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
PY
wpid=$!
for _ in $(seq 300); do [ -e "$D/closing" ] && break; sleep 0.1; done
sleep 1.5
put_file "$D/theirs-$case" "$B" "owner-$case" || fail "put owner-$case"
wait "$wpid"
fp_set '{"script": {}}'
out=$(cat "$D/out-$case")
echo "  $case: $out; HEADs held: $(fp_stat .faults.delay)"
check_eq "$case: the HEAD after Complete was held" "$(fp_stat .faults.delay)" 1
check_eq "$case: close fails with EIO" "$out" "close EIO"
check_eq "$case: the other writer's newer object is kept" "$(sha_key "owner-$case")" \
    "$(sha_file "$D/theirs-$case")"
check_eq "$case: no multipart upload is left" "$(uploads)" 0

# ---- 4, 5. under SSE-KMS no multipart ETag can be computed: the upload's nonce decides -------
# The proxy answers as S3 does for aws:kms objects (sse_emulate: every ETag replaced by one
# that is no MD5, the encryption header added), so only the nonce that s3mount records at
# CreateMultipartUpload (x-amz-meta-s3mount-upload) can prove the object ours.
#   4. our Complete goes through but its answer is lost (connection reset), the retry gets
#      NoSuchUpload: the object is ours, close succeeds (before the nonce: EIO);
#   5. another writer's object of the same size and part count, our Complete never reached
#      S3: not ours, close fails with EIO and their object stays.
fp_set '{"sse_emulate": "aws:kms", "script": {"post_complete": ["reset", "nosuchupload"]}}'
fp_reset
out=$(write_close "$M/kms-lost-answer" "$D/mine")
fp_set '{"script": {}}'
check_eq "kms, answer lost: the script ran (reset, then NoSuchUpload)" "$(fp_stat '.faults.nosuchupload')" 1
check_eq "kms, answer lost: close succeeds (the nonce proves the object ours)" "$out" "close ok"
fp_set '{"sse_emulate": null}'
check_eq "kms, answer lost: the object is the file" "$(sha_key kms-lost-answer)" "$(sha_file "$D/mine")"
check_eq "kms, answer lost: no multipart upload is left" "$(uploads)" 0

head -c $((16 * MIB)) /dev/urandom >"$D/theirs-kms"
put_file "$D/theirs-kms" "$B" owner-kms || fail "put owner-kms"
fp_set '{"sse_emulate": "aws:kms", "script": {"post_complete": ["500", "nosuchupload"]}}'
fp_reset
out=$(write_close "$M/owner-kms" "$D/mine")
fp_set '{"script": {}, "sse_emulate": null}'
check_eq "kms, another writer's object: close fails with EIO" "$out" "close EIO"
check_eq "kms, another writer's object: untouched" "$(sha_key owner-kms)" "$(sha_file "$D/theirs-kms")"
check_eq "kms, another writer's object: no multipart upload is left" "$(uploads)" 0

stop_mount "$M" || fail "unmount"
grep -E 'error|warn' "$LOG" | grep -v summary | head -12 | cut -c1-200
