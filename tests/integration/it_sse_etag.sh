#!/bin/bash
# it-timeout: 300
# it_sse_etag.sh: whole reads of SSE-KMS, DSSE-KMS and SSE-C objects are not checked against
# their ETag (S3's ETag of such an object is no MD5 of its bytes), SSE-S3 (AES256) objects
# still are. RGW computes its ETag over the plaintext even under KMS, so only the fault proxy
# can show this: with sse_emulate it answers as S3 does (the encryption headers on every
# object answer, each ETag replaced by another of the same shape in headers and listings,
# mapped back when a request names it in If-Match; those requests are signed again).
#   1. aws:kms: a one-PUT object, a multipart object s3mount wrote (layout recorded), a
#      foreign multipart object (aws s3 cp, 8 MiB parts: its layout from the emulated
#      HEAD ?partNumber), and files written and read back through the mount (PutObject and
#      multipart): each reads byte-identical, no EIO. On the code before the fix every one
#      of those reads failed with EIO at its end.
#   2. aws:kms:dsse and SSE-C answers: the same for the one-PUT and the multipart object.
#   3. AES256 with a wrong ETag: the read still fails with EIO (SSE-S3 ETags are MD5s).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
head -c $((3 * 1048576 + 12345)) /dev/urandom >"$D/small" || fatal "cannot make test data"
head -c $((17 * 1048576 + 77)) /dev/urandom >"$D/mp" || fatal "cannot make test data"
put_file "$D/small" "$B" small.bin || fatal "upload of small.bin failed"
put_file "$D/mp" "$B" foreign.bin || fatal "upload of foreign.bin failed"
# a multipart object with s3mount's part layout, written straight to RGW
M=$(new_dir mnt)
start_mount "$B" "$M" -o part_size=5M,memory_budget=64M
check "mp.bin (17 MiB, 5 MiB parts) written through a direct mount" cp "$D/mp" "$M/mp.bin"
stop_mount "$M" || fail "unmount after writing mp.bin"

fp_start --seed 3
IT_MOUNT_OPTS=$(fp_mount_opts)

# read_ok MODE NAME SRC: on the mount, NAME reads without error and equals SRC
read_ok() {
    if cat "$M/$2" >"$D/out" 2>"$D/err"; then
        check "$1: $2 reads byte-identical" cmp -s "$D/out" "$3"
    else
        fail "$1: reading $2 failed: $(tr '\n' ' ' <"$D/err")"
    fi
}

# ---- 1. aws:kms ---------------------------------------------------------------------------
fp_set '{"sse_emulate": "aws:kms", "part_number_size": 8388608}'
fp_reset
start_mount "$B" "$M" -o memory_budget=64M,log_level=debug
etag=$(s3curl -I "$(fp_endpoint)/$B/small.bin" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p' | tr -d '"')
real=$(s3api head-object --bucket "$B" --key small.bin --query ETag --output text | tr -d '"')
[ -n "$etag" ] && [ "$etag" != "$real" ] && ok "the proxy answers with another ETag ($etag, RGW's $real)" ||
    fail "the proxy did not replace the ETag: [$etag] vs [$real]"
read_ok aws:kms small.bin "$D/small"
read_ok aws:kms mp.bin "$D/mp"
read_ok aws:kms foreign.bin "$D/mp"
check "aws:kms: written through the mount (one PutObject)" cp "$D/small" "$M/w1.bin"
read_ok aws:kms w1.bin "$D/small"
check "aws:kms: written through the mount (multipart)" cp "$D/mp" "$M/w2.bin"
read_ok aws:kms w2.bin "$D/mp"
check "aws:kms: a second read (same mount, cached blocks)" cmp -s "$M/mp.bin" "$D/mp"
LOG=$(mount_log "$M")
check_not "aws:kms: no MD5 mismatch logged" grep -q "does not match its ETag" "$LOG"
check "aws:kms: the log says why the ETag is not checked" grep -q "encrypted with SSE-KMS or SSE-C" "$LOG"
stop_mount "$M" || fail "unmount after aws:kms"
check_eq "the proxy signed the requests it changed without error" "$(fp_stat .resign_errors)" 0
resigned=$(fp_stat .resigned)
[ "$resigned" -gt 0 ] && ok "reads named the replaced ETag ($resigned requests mapped back)" ||
    fail "no request named a replaced ETag"

# ---- 2. aws:kms:dsse and SSE-C answers ----------------------------------------------------
for mode in aws:kms:dsse sse-c; do
    fp_set "{\"sse_emulate\": \"$mode\"}"
    start_mount "$B" "$M" -o memory_budget=64M
    read_ok "$mode" small.bin "$D/small"
    read_ok "$mode" mp.bin "$D/mp"
    stop_mount "$M" || fail "unmount after $mode"
done

# ---- 3. AES256 (SSE-S3): still checked ----------------------------------------------------
# S3 gives SSE-S3 objects their MD5 as ETag; the proxy here gives a wrong one, as a corrupted
# transfer would look: the read of the end must fail with EIO.
fp_set '{"sse_emulate": "AES256"}'
start_mount "$B" "$M" -o memory_budget=64M
if cat "$M/small.bin" >"$D/out" 2>"$D/err"; then
    fail "AES256: a read whose bytes do not match the ETag succeeded"
else
    case "$(cat "$D/err")" in
    *"Input/output error"*) ok "AES256: the ETag is still checked (EIO)" ;;
    *) fail "AES256: want EIO, got: $(cat "$D/err")" ;;
    esac
fi
stop_mount "$M" || fail "unmount after AES256"
fp_set '{"sse_emulate": null, "part_number_size": 0}'
