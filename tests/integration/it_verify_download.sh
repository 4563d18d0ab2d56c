#!/bin/bash
# it-timeout: 600
# it_verify_download.sh: whole reads are verified end to end (issue 13, docs/integrity.md),
# through the fault proxy (tests/faultproxy), each flipped byte in the FIRST download of an
# object only ("flip_once": a later GET of it, the second download or the re-read, is clean):
#   A. a server that keeps CRC64NVME checksums. RGW 16.2 keeps none, so the proxy emulates
#      S3 (checksum_head): HEAD with x-amz-checksum-mode: ENABLED answers
#      x-amz-checksum-crc64nvme / x-amz-checksum-type: FULL_OBJECT, computed by the proxy's own
#      plain-Python CRC64NVME (checked against the published check value, never our C code).
#      (a) a single-PUT object and (b) a multipart object written by s3mount are read
#      checked against that CRC: the flipped read fails with EIO at its end, the log names
#      the key and the CRC, and the clean re-read on the same mount gives the right sha256;
#      (a') the same under emulated SSE-KMS (an ETag that is no MD5: only the CRC can check).
#   B. RGW as it is (no checksums, HEAD ?partNumber ignored), multipart objects no s3mount
#      wrote: the part layout is guessed from common uploaders' part sizes, and a second
#      download decides when no guess matches:
#      (c) 64 MiB by `aws s3 cp` (8 MiB parts: the aws-cli guess matches),
#      (d1) 64 MiB by `aws s3 cp` with multipart_chunksize 15MB (s3cmd's size matches),
#      (d2) 64 MiB by `aws s3 cp` with multipart_chunksize 12MB (no tool's size fits 6 parts),
#      (e) 6 + 9 + 3.2 MiB parts by s3api upload-part (aws-cli's 8 MiB fits 3 parts, wrongly).
#      Each: a clean read on a fresh mount succeeds (d2, e: decided by the second download,
#      logged at info), and a flipped one fails with EIO, then re-reads right.
# Prints a FIGURES line per object.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
MiB=1048576
head -c $((64 * MiB)) /dev/urandom >"$D/big" || fatal "cannot make test data"
head -c $((12 * MiB + 4321)) "$D/big" >"$D/single"
head -c $((20 * MiB + 777)) "$D/big" >"$D/s3m"
head -c $((6 * MiB)) "$D/big" >"$D/part1"
tail -c +$((6 * MiB + 1)) "$D/big" | head -c $((9 * MiB)) >"$D/part2"
tail -c +$((15 * MiB + 1)) "$D/big" | head -c 3333333 >"$D/part3"
cat "$D/part1" "$D/part2" "$D/part3" >"$D/uneven"

# the objects: one PUT; aws s3 cp at 8, 15 and 12 MiB parts; uneven parts
check "single.bin: one PUT" s3api put-object --bucket "$B" --key single.bin --body "$D/single" \
    --output text
put_file "$D/big" "$B" aws64.bin || fatal "upload of aws64.bin failed"
for mb in 15 12; do
    printf '[default]\ns3 =\n    multipart_chunksize = %sMB\n' "$mb" >"$IT_TMP/aws-config-$mb"
    AWS_CONFIG_FILE=$IT_TMP/aws-config-$mb AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        "$IT_AWS" --endpoint-url "$S3M_ENDPOINT" --region "$AWS_REGION" s3 cp --no-progress \
        "$D/big" "s3://$B/aws$mb.bin" >/dev/null || fatal "upload of aws$mb.bin failed"
done
uid=$(s3api create-multipart-upload --bucket "$B" --key uneven.bin --query UploadId --output text)
parts=""
for n in 1 2 3; do
    e=$(s3api upload-part --bucket "$B" --key uneven.bin --upload-id "$uid" --part-number $n \
        --body "$D/part$n" --query ETag --output text)
    parts+="{\"PartNumber\": $n, \"ETag\": $(jq -R . <<<"$e")},"
done
echo "{\"Parts\": [${parts%,}]}" >"$D/parts.json"
check "uneven.bin: multipart upload of 6 + 9 + 3.2 MiB completed" s3api complete-multipart-upload \
    --bucket "$B" --key uneven.bin --upload-id "$uid" --multipart-upload "file://$D/parts.json" \
    --output text
s3etag() { s3api head-object --bucket "$B" --key "$1" --query ETag --output text | tr -d '"'; }
check_eq "aws64.bin: 8 parts" "$(s3etag aws64.bin | sed 's/.*-//')" 8
check_eq "aws15.bin: 5 parts" "$(s3etag aws15.bin | sed 's/.*-//')" 5
check_eq "aws12.bin: 6 parts" "$(s3etag aws12.bin | sed 's/.*-//')" 6
check_eq "uneven.bin: 3 parts" "$(s3etag uneven.bin | sed 's/.*-//')" 3

fp_start --seed 13
IT_MOUNT_OPTS=$(fp_mount_opts)
M=$(new_dir mnt)
# the multipart object written by s3mount (its layout in x-amz-meta-s3mount-parts)
start_mount "$B" "$M" -o memory_budget=64M
check "s3m.bin written through the mount" cp "$D/s3m" "$M/s3m.bin"
stop_mount "$M" || fail "unmount after writing s3m.bin"
check_eq "s3m.bin: multipart" "$(s3etag s3m.bin | sed 's/.*-//')" 3

# flip_read KEY SRC: a fresh mount; the first GET of KEY gets one flipped byte; cat KEY (the
# flipped read), then cat it again on the same mount (clean). Sets RES (the first read's
# outcome), RES2 (sha256 of the re-read: "ok" when right), FLIPS, LOG. Leaves the mount up.
flip_read() {
    fp_set "{\"flip_once\": [\"$1\"]}"
    fp_reset
    start_mount "$B" "$M" -o memory_budget=64M,log_level=debug
    LOG=$(mount_log "$M")
    if cat "$M/$1" >"$D/flipped" 2>"$D/flip.err"; then
        if cmp -s "$D/flipped" "$2"; then RES="no corruption reached the reader"; else RES="UNDETECTED"; fi
    else
        RES="detected: $(tr '\n' ' ' <"$D/flip.err")"
    fi
    FLIPS=$(fp_stat .flipped_resp)
    if [ "$(sha256sum <"$M/$1")" = "$(sha256sum <"$2")" ]; then RES2=ok; else RES2=wrong; fi
}
# expect_detected NAME: the flipped read failed with EIO and the re-read was right.
expect_detected() {
    check_eq "$1: one response byte flipped" "$FLIPS" 1
    case "$RES" in
    *"Input/output error"*) ok "$1: the flipped byte made the read fail with EIO" ;;
    *)
        fail "$1: the flipped byte was not reported: $RES"
        grep -v "HTTP 20[06]" "$LOG" | tail -8 >&2
        ;;
    esac
    check_eq "$1: the clean re-read on the same mount gives the right sha256" "$RES2" ok
}

# ---- A. a server with CRC64NVME checksums (emulated) ---------------------------------------
fp_set '{"checksum_head": true}'
# the proxy's plain-Python CRC takes seconds per object: compute it once, before any mount
# (Debian's aws CLI may not know the CRC64NVME field: the proxy's counter tells)
fp_reset
for k in single.bin s3m.bin; do
    AWS_CONFIG_FILE=$IT_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        "$IT_AWS" --endpoint-url "$(fp_endpoint)" --region "$AWS_REGION" s3api head-object \
        --bucket "$B" --key "$k" --checksum-mode ENABLED >/dev/null || fail "HEAD of $k through the proxy"
done
check_eq "the proxy computed both CRC64NVMEs" "$(fp_stat .checksum_heads)" 2
for f in single.bin:single s3m.bin:s3m; do
    k=${f%%:*}
    flip_read "$k" "$D/${f#*:}"
    expect_detected "$k (CRC64NVME)"
    check "$k: checked against the CRC64NVME" grep -q "open of '$k': a whole read is checked against its CRC64NVME" "$LOG"
    check "$k: the log names the key and the CRC" \
        grep -q "read of '$k': the CRC64NVME of the bytes downloaded does not match its stored checksum" "$LOG"
    check_eq "$k: the re-read was checked too (a second checked open)" \
        "$(grep -c "open of '$k': a whole read is checked against its CRC64NVME" "$LOG")" 2
    check_eq "$k: HEAD answers carried the CRC" "$(fp_stat '.checksum_heads > 0')" true
    stop_mount "$M" || fail "unmount after the flip of $k"
    echo "FIGURES verify-crc64nvme $k: faults_injected $FLIPS result: $RES; re-read $RES2"
done
# (a') the same object as S3 shows it under SSE-KMS (the proxy's sse_emulate: KMS headers, an
# ETag that is no MD5): without a CRC such a read is not checked at all; the CRC holds whatever
# the encryption
fp_set '{"sse_emulate": "aws:kms"}'
flip_read single.bin "$D/single"
expect_detected "single.bin under SSE-KMS (CRC64NVME)"
check "single.bin under SSE-KMS: checked against the CRC64NVME" \
    grep -q "open of 'single.bin': a whole read is checked against its CRC64NVME" "$LOG"
stop_mount "$M" || fail "unmount after the SSE-KMS flip of single.bin"
echo "FIGURES verify-crc64nvme single.bin SSE-KMS: faults_injected $FLIPS result: $RES; re-read $RES2"
fp_set '{"checksum_head": false, "sse_emulate": null}'

# ---- B. RGW: no checksums, partNumber ignored: guessed layouts, second download ------------
for f in aws64.bin:"matches parts of 8388608 bytes (aws-cli" \
    aws15.bin:"matches parts of 15728640 bytes (s3cmd" \
    aws12.bin:"a second download gave the same bytes: delivered" \
    uneven.bin:"a second download gave the same bytes: delivered"; do
    k=${f%%:*}
    want=${f#*:}
    src=$D/big
    [ "$k" = uneven.bin ] && src=$D/uneven
    fp_reset
    start_mount "$B" "$M" -o memory_budget=64M,log_level=debug
    LOG=$(mount_log "$M")
    check "$k: a clean read succeeds and is right" cmp -s "$M/$k" "$src"
    check "$k: checked against guessed part layouts" \
        grep -q "open of '$k': a whole read is checked against its ETag (MD5, guessed part layout)" "$LOG"
    check "$k: $want" grep -q "$want" "$LOG"
    gets=$(fp_stat .requests.get)
    case "$want" in
    *second*) check_eq "$k: the second download was one whole GET" "$gets" 1 ;;
    *) check_eq "$k: no second download" "$gets" 0 ;;
    esac
    stop_mount "$M" || fail "unmount after the clean read of $k"
    flip_read "$k" "$src"
    expect_detected "$k (guessed layout)"
    check "$k: the log names the key" grep -q "read of '$k': .*EIO" "$LOG"
    stop_mount "$M" || fail "unmount after the flip of $k"
    echo "FIGURES verify-guessed $k: clean read: ${want}; flipped: $RES; re-read $RES2"
done

remove_bucket "$B"
fp_stop # it_exit clears the EXIT trap that would stop the proxy
it_exit
