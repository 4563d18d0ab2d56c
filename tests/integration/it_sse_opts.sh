#!/bin/bash
# it-timeout: 300
# it_sse_opts.sh: the encryption and request options send the headers S3 documents on exactly
# the requests they apply to (shared/s3hdr.h has the table), seen on the wire: the fault proxy
# records every request's headers (record) while the mount writes, fsyncs and continues
# (UploadPartCopy), reads, lists, renames files and a directory, deletes, and abandons an
# upload (a killed writer). RGW 16 refuses SSE over plain HTTP, so the proxy drops the SSE
# headers after recording them and signs the request again (strip_headers); RGW then stores
# plain objects and every operation runs end to end.
#   1. sse=aws:kms, sse_kms_key_id, storage_class, requester_pays, expected_bucket_owner.
#   2. sse_c_key_file (SSE-C, with the copy-source headers on copies).
#   3. no option: none of those headers on any request.
#   4. bad key files fail before mounting with a message naming sse_c_key_file.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
head -c $((1048576 + 17)) /dev/urandom >"$D/small" || fatal "cannot make test data"
head -c $((12 * 1048576 + 5)) /dev/urandom >"$D/big" || fatal "cannot make test data"
fp_start --seed 7
IT_MOUNT_OPTS=$(fp_mount_opts)
fp_set '{"record": true, "strip_headers": ["x-amz-server-side-encryption*", "x-amz-copy-source-server-side-encryption*"]}'

# workload TAG: every request kind s3mount sends, under files TAG-*
workload() {
    local t=$1
    check "$t: ls" ls -l "$M" >/dev/null
    check "$t: write a small file (PutObject)" cp "$D/small" "$M/$t-small"
    check "$t: write 12 MiB (multipart)" cp "$D/big" "$M/$t-big"
    check "$t: read it back" cmp -s "$M/$t-big" "$D/big"
    # 6 MiB, fsync, more: the new upload's part 1 is an UploadPartCopy of the committed object
    check "$t: write, fsync, write (UploadPartCopy)" python3 - "$M/$t-res" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"a" * (6 << 20))
os.fsync(fd)
os.write(fd, b"b" * (1 << 20))
os.close(fd)
PY
    check "$t: rename a file (CopyObject, DeleteObject)" mv "$M/$t-small" "$M/$t-small2"
    check "$t: read the renamed file" cmp -s "$M/$t-small2" "$D/small"
    mkdir "$M/$t-dir" && cp "$D/small" "$M/$t-dir/x" && cp "$D/small" "$M/$t-dir/y"
    check "$t: rename a directory" mv "$M/$t-dir" "$M/$t-dir2"
    check "$t: rm -r (DeleteObject(s))" rm -r "$M/$t-dir2"
    # a writer killed with a part sent: its upload is aborted
    (python3 - "$M/$t-killed" <<'PY'
import os, signal, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"k" * (6 << 20))
os.kill(os.getpid(), signal.SIGKILL)
PY
    ) 2>/dev/null
    sleep 1
}

# verify_headers MODE: checks the recorded requests against the table for MODE (kms, ssec,
# none); prints "ok|..." and "FAIL|..." lines.
verify_headers() {
    curl -s -f "http://127.0.0.1:$FP_CTL/requests" >"$D/requests.json" || fatal "no /requests"
    python3 - "$1" "$D/requests.json" <<'PY'
import json, sys
mode, recs = sys.argv[1], json.load(open(sys.argv[2]))
ALL = {"HeadBucket", "DeleteBucket", "ListObjectsV2", "HeadObject", "GetObject", "PutObject",
       "CopyObject", "DeleteObject", "DeleteObjects", "CreateMultipartUpload", "UploadPart",
       "UploadPartCopy", "CompleteMultipartUpload", "AbortMultipartUpload",
       "ListMultipartUploads"}
CREATING = {"PutObject", "CopyObject", "CreateMultipartUpload"}
SSEC = CREATING | {"UploadPart", "UploadPartCopy", "CompleteMultipartUpload", "GetObject",
                   "HeadObject"}
COPIES = {"CopyObject", "UploadPartCopy"}
C = "x-amz-server-side-encryption-customer-"
S = "x-amz-copy-source-server-side-encryption-customer-"
if mode == "kms":
    want = {"x-amz-server-side-encryption": ("aws:kms", CREATING),
            "x-amz-server-side-encryption-aws-kms-key-id": ("alias/it-key", CREATING),
            "x-amz-storage-class": ("STANDARD", CREATING),
            "x-amz-request-payer": ("requester", ALL),
            "x-amz-expected-bucket-owner": ("111122223333", ALL)}
elif mode == "ssec":
    want = {C + "algorithm": ("AES256", SSEC), C + "key": (None, SSEC),
            C + "key-md5": ("SaaDheEjzuynJH8eW6AEpQ==", SSEC),
            S + "algorithm": ("AES256", COPIES), S + "key": (None, COPIES),
            S + "key-md5": ("SaaDheEjzuynJH8eW6AEpQ==", COPIES)}
else:
    want = {}
names = ["x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
         "x-amz-storage-class", "x-amz-request-payer", "x-amz-expected-bucket-owner",
         C + "algorithm", C + "key", C + "key-md5", S + "algorithm", S + "key", S + "key-md5"]
seen = {r["op"] for r in recs}
need = ALL - {"DeleteBucket", "DeleteObjects"}
for op in sorted(need):
    print(("ok|" if op in seen else "FAIL|") + "%s: the workload sent %s" % (mode, op))
bad = {}
for r in recs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    for n in names:
        val, ops = want.get(n, (None, set()))
        present = n in h
        good = (present and (val is None or h[n] == val)) if r["op"] in ops else not present
        if not good:
            bad.setdefault((r["op"], n), "%s %s: %s [%s]" % (
                r["method"], r["target"][:60], n, h.get(n, "absent")))
for op in sorted(seen):
    errs = [v for (o, n), v in bad.items() if o == op]
    print(("ok|%s: %s carries exactly its headers" % (mode, op)) if not errs else
          ("FAIL|%s: %s: %s" % (mode, op, "; ".join(errs[:3]))))
PY
}
run_verify() {
    local line
    while IFS= read -r line; do
        case "$line" in ok\|*) ok "${line#ok|}" ;; FAIL\|*) fail "${line#FAIL|}" ;; *) echo "$line" ;; esac
    done < <(verify_headers "$1")
}

# ---- 1. KMS, storage class, requester pays, expected owner ---------------------------------
fp_reset
start_mount "$B" "$M" -o part_size=5M,memory_budget=64M,abort_stale_uploads=1000,sse=aws:kms,sse_kms_key_id=alias/it-key,storage_class=STANDARD,requester_pays,expected_bucket_owner=111122223333
workload kms
stop_mount "$M" || fail "unmount after the kms workload"
run_verify kms
check_eq "the proxy re-signed without error" "$(fp_stat .resign_errors)" 0

# ---- 2. SSE-C ------------------------------------------------------------------------------
# a key of 32 bytes 0x2a, in base64; its MD5 in base64 is what the checker expects
KEY=$IT_TMP/ssec.key
printf '%s\n' "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=" >"$KEY" && chmod 600 "$KEY"
fp_reset
start_mount "$B" "$M" -o part_size=5M,memory_budget=64M,abort_stale_uploads=1000,sse_c_key_file="$KEY"
workload ssec
stop_mount "$M" || fail "unmount after the ssec workload"
run_verify ssec
check_not "the SSE-C key is not in the daemon's log" grep -q "KioqKioq" "$(mount_log "$M")"

# ---- 3. no option ----------------------------------------------------------------------------
fp_reset
start_mount "$B" "$M" -o part_size=5M,memory_budget=64M,abort_stale_uploads=1000
workload plain
stop_mount "$M" || fail "unmount after the plain workload"
run_verify none

# ---- 4. bad key files ------------------------------------------------------------------------
# bad_key DESC FILE WANT: s3mount refuses to start, naming the option and WANT
bad_key() {
    local out rc
    out=$("$IT_S3MOUNT" -f -o "$(it_default_mount_opts)" -o sse_c_key_file="$2" "$B" "$M" 2>&1 </dev/null)
    rc=$?
    is_mounted "$M" && fusermount3 -u "$M"
    if [ "$rc" != 0 ] && [[ "$out" == *sse_c_key_file*"$3"* ]]; then
        ok "key file $1: refused ($out)"
    else
        fail "key file $1: want a refusal naming sse_c_key_file and '$3', got rc $rc: $out"
    fi
}
bad_key missing "$IT_TMP/nope.key" "No such file"
cp "$KEY" "$IT_TMP/open.key" && chmod 644 "$IT_TMP/open.key"
bad_key world-readable "$IT_TMP/open.key" "chmod 600"
head -c 31 /dev/urandom >"$IT_TMP/short.key" && chmod 600 "$IT_TMP/short.key"
bad_key "of 31 bytes" "$IT_TMP/short.key" "32-byte key"
if [ "$(id -u)" != 0 ]; then
    cp "$KEY" "$IT_TMP/unreadable.key" && chmod 000 "$IT_TMP/unreadable.key"
    bad_key unreadable "$IT_TMP/unreadable.key" "Permission denied"
fi
check_not "sse with sse_c_key_file is refused" "$IT_S3MOUNT" -o sse=AES256,sse_c_key_file="$KEY" "$B" "$M"
