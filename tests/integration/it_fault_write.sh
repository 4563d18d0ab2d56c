#!/bin/bash
# it-timeout: 600
# it_fault_write.sh: writes through the mount with a fault-injecting proxy (tests/faultproxy)
# between s3mount and RGW. Each close() must either succeed with an object identical to
# the source, or fail (EIO) leaving no object and no listed multipart upload: nothing
# half-written ever becomes visible.
#   1. S3M_FAULT_BYTES (default 256 MiB; the issue's full 1 GiB by hand with
#      S3M_FAULT_BYTES=1073741824) written as 4 files with cp, 5% of the upload requests
#      (PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload) failed by
#      500, 503 SlowDown, a reset, a dropped answer or a flipped request byte. Counts
#      which branch each close took.
#   2. Every UploadPart body corrupted (one byte flipped): RGW must reject each (400
#      XAmzContentSHA256Mismatch: the signed payload hash catches it before Content-MD5);
#      s3mount retries each, then close() fails, no object, no upload.
#   3. One corrupted part only: retried (identical object) or a clean failure; printed.
#   4. The answer of CompleteMultipartUpload lost (reset / dropped after RGW completed):
#      the retried Complete must commit, identical, and keep the ETag quoted (fails today:
#      RGW answers the retry with an unquoted ETag that s3mount stores as is).
# Prints FIGURES lines.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

BYTES=${S3M_FAULT_BYTES:-268435456}
RATE=${S3M_FAULT_RATE:-0.05}
NFILES=4
PER=$((BYTES / NFILES))
B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
fp_start --seed 7
IT_MOUNT_OPTS=$(fp_mount_opts)
M=$(new_dir mnt)

# uploads_listed KEY: how many multipart uploads are listed for exactly KEY (awscli prints
# nothing at all for an empty listing, hence the default).
uploads_listed() {
    local out
    out=$(s3api list-multipart-uploads --bucket "$B" --prefix "$1" --output json) || return 1
    jq --arg k "$1" '[(.Uploads // [])[] | select(.Key == $k)] | length' <<<"${out:-{\}}"
}
# object_absent KEY: no object and no listed multipart upload under KEY.
object_absent() {
    local n
    s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1 && { echo "object $1 exists"; return 1; }
    n=$(uploads_listed "$1") || { echo "list-multipart-uploads failed"; return 1; }
    [ "$n" = 0 ] || { echo "$n multipart upload(s) listed for $1"; return 1; }
}
# object_identical KEY FILE: a direct GET (not through the proxy) equals FILE.
object_identical() {
    rm -f "$D/got"
    get_file "$B" "$1" "$D/got" && cmp -s "$D/got" "$2"
}

# ---- 1. 5% faults on the upload requests -------------------------------------------------------
r=$(awk -v r="$RATE" 'BEGIN { printf "%.6f", r / 5 }')
kinds="{\"500\": $r, \"503\": $r, \"reset\": $r, \"truncate\": $r, \"flip_req\": $r}"
fp_set "{\"rates\": {\"put\": $kinds, \"upload_part\": $kinds, \"post_create\": $kinds, \"post_complete\": $kinds}}"
fp_reset
start_mount "$B" "$M"
committed=0
failed_clean=0
t0=$(date +%s.%N)
# At least NFILES files, and more (up to 8 x NFILES) until 2 faults were injected, so a
# small S3M_FAULT_BYTES still exercises the faults.
nf=0
for i in $(seq 1 $((8 * NFILES))); do
    if [ "$i" -gt "$NFILES" ] && [ "$(fp_stat .faults_total)" -ge 2 ]; then
        break
    fi
    nf=$i
    head -c "$PER" /dev/urandom >"$D/src$i"
    if cp "$D/src$i" "$M/f$i" 2>"$D/cp.err"; then
        if object_identical "f$i" "$D/src$i"; then
            committed=$((committed + 1))
            ok "f$i: close succeeded and the object is identical"
        else
            fail "f$i: close succeeded but the object differs from the source"
        fi
    else
        if why=$(object_absent "f$i"); then
            failed_clean=$((failed_clean + 1))
            ok "f$i: close failed ($(head -c 120 "$D/cp.err")) and left no object, no upload"
        else
            fail "f$i: close failed but left something behind: $why"
        fi
    fi
    rm -f "$D/src$i"
done
t1=$(date +%s.%N)
stop_mount "$M" || fail "unmount after the faulty writes"
grep -E 'error|warn' "$(mount_log "$M")" | head -5
st=$(fp_stats)
inj=$(jq -r .faults_total <<<"$st")
echo "faults by kind: $(jq -c .faults <<<"$st") by class: $(jq -c .faults_by_class <<<"$st") S3 answers: $(jq -c .status <<<"$st")"
[ "$inj" -gt 0 ] && ok "faults were injected ($inj)" || fail "no fault was injected"
echo "FIGURES write-5%: files $nf of $PER bytes; requests $(jq -r .requests_total <<<"$st")" \
    "faults_injected $inj committed_identical $committed failed_clean $failed_clean" \
    "bytes_compared $((committed * PER)) seconds $(echo "$t1 - $t0" | bc)"

# ---- 2. every part corrupted in flight -----------------------------------------------------------
fp_set '{"rates": {"upload_part": {"flip_req": 1}}, "max_faults": -1}'
fp_reset
start_mount "$B" "$M"
head -c $((20 * 1048576)) /dev/urandom >"$D/c"
check_not "close() fails when every part is corrupted in flight" cp "$D/c" "$M/corrupt"
check "corrupted upload: no object, no listed upload" object_absent corrupt
st=$(fp_stats)
n400=$(jq -r '.status["400"] // 0' <<<"$st")
flipped=$(jq -r .flipped_req <<<"$st")
check "RGW rejected every corrupted part (HTTP 400, x-amz-content-sha256 / Content-MD5 mismatch: $n400 of $flipped flipped)" \
    test "$n400" -ge 1 -a "$n400" = "$flipped"
stop_mount "$M" || fail "unmount after the corrupted upload"
grep -m2 -i 'BadDigest\|corrupt' "$(mount_log "$M")"
echo "FIGURES flip-req-all: parts_flipped $flipped rejected_by_server $n400 object_left 0"

# ---- 3. one part corrupted ------------------------------------------------------------------------
fp_set '{"rates": {"upload_part": {"flip_req": 1}}, "max_faults": 1}'
fp_reset
start_mount "$B" "$M"
if cp "$D/c" "$M/onecorrupt" 2>"$D/cp.err"; then
    check "one corrupted part: retried, object identical" object_identical onecorrupt "$D/c"
    outcome="retried, object identical"
else
    check "one corrupted part: close failed cleanly (no object, no upload)" object_absent onecorrupt
    outcome="close failed with $(head -c 80 "$D/cp.err"), nothing left (BadDigest is not retried)"
fi
stop_mount "$M" || fail "unmount after one corrupted part"
echo "FIGURES flip-req-one: parts_flipped $(fp_stat .flipped_req) outcome: $outcome"

# ---- 4. CompleteMultipartUpload's answer lost (RGW completed it; the client retries) -----------------
# RGW answers the retried Complete of a completed upload with 200 and the ETag; the object
# must be committed (not an error), identical, readable at once through the same mount, and
# its ETag kept in the same (quoted) form as S3's other answers.
for kind in reset truncate; do
    fp_set "{\"rates\": {\"post_complete\": {\"$kind\": 1}}, \"max_faults\": 1}"
    fp_reset
    start_mount "$B" "$M" -o log_level=info
    check "Complete answer lost ($kind): close() succeeds" cp "$D/c" "$M/lost-$kind"
    check "Complete answer lost ($kind): the object is identical" object_identical "lost-$kind" "$D/c"
    check "Complete answer lost ($kind): reads back through the same mount" cmp -s "$M/lost-$kind" "$D/c"
    stop_mount "$M" || fail "unmount after the lost Complete answer"
    check_eq "Complete answer lost ($kind): one fault injected" "$(fp_stat .faults.$kind)" 1
    check_not "Complete answer lost ($kind): no ETag mismatch warning (unquoted ETag of the retried Complete)" \
        grep -q 'expected "' "$(mount_log "$M")"
    grep -m1 'expected "' "$(mount_log "$M")" || true   # shows the line when there is one
done
