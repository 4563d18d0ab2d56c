#!/bin/bash
# it-timeout: 600
# it_checksum_upload.sh: upload checksums (issue 13, option checksum=) through a real mount,
# the fault proxy (tests/faultproxy) and RGW.
#   1. A server that validates checksums, emulated by the proxy ("checksum_validate": RGW 16
#      ignores x-amz-checksum-*, S3 checks them): it recomputes each declared CRC32C or
#      CRC64NVME with its own plain-Python CRC, answers 400 BadDigest without forwarding on a
#      mismatch and echoes the header on success. With checksum=auto the first upload
#      carries Content-MD5 and the CRC, every later one the CRC only (the echo was seen;
#      logged once); a multipart file declares CRC64NVME FULL_OBJECT at Create, each part
#      carries its CRC, and Complete the whole file's CRC64NVME, which must equal the one
#      this script computes with the proxy's Python CRC (also after fsync-then-write, whose
#      head is copied server-side). Then flipped bytes (after the echo,
#      so no MD5 is sent: the emulated server's BadDigest is the only thing that can catch
#      them): one flipped PutObject or part is retried into an identical object; every
#      PutObject or every part flipped makes close() fail with no object and no listed
#      multipart upload, and RGW never sees a flipped body.
#   2. Plain RGW (no validation, no echo): every upload carries Content-MD5 and the CRC (the
#      decision "does not echo" logged once); flipped bytes are caught by Content-MD5 (RGW's
#      400), single PUT and multipart alike.
#   3. checksum=md5, off, crc32c, crc64nvme each send exactly their headers (the proxy's
#      request log), forced CRCs without Content-MD5 and with UNSIGNED-PAYLOAD, md5/off
#      without any x-amz-checksum-*; the CRC32C values are checked by the emulated server.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../faultproxy/proxy.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
fp_start --seed 13
IT_MOUNT_OPTS=$(fp_mount_opts)
FPDIR=$(cd "$(dirname "$0")/../faultproxy" && pwd)

fp_requests() { curl -s -f "http://127.0.0.1:$FP_CTL/requests"; }
# nreq OP JQ-CONDITION: how many recorded requests of OP satisfy the condition.
nreq() { fp_requests | jq "[.[] | select(.op == \"$1\") | select($2)] | length"; }
# hdr OP NAME: the value of header NAME on the last recorded request of OP.
hdr() { fp_requests | jq -r "[.[] | select(.op == \"$1\")] | last | .headers[\"$2\"] // \"\""; }
# pycrc ALG FILE: S3's header value of FILE's CRC, by the proxy's own Python CRC.
pycrc() {
    (cd "$FPDIR" && /usr/bin/python3 -c 'import sys, faultproxy as f
d = open(sys.argv[2], "rb").read()
print(f.crc_b64(sys.argv[1], f.crc_of(sys.argv[1], d)))' "$1" "$2")
}
uploads_listed() {
    local out
    out=$(s3api list-multipart-uploads --bucket "$B" --prefix "$1" --output json) || return 1
    jq --arg k "$1" '[(.Uploads // [])[] | select(.Key == $k)] | length' <<<"${out:-{\}}"
}
object_absent() {
    local n
    s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1 && { echo "object $1 exists"; return 1; }
    n=$(uploads_listed "$1") || { echo "list-multipart-uploads failed"; return 1; }
    [ "$n" = 0 ] || { echo "$n multipart upload(s) listed for $1"; return 1; }
}
object_identical() {
    rm -f "$D/got"
    get_file "$B" "$1" "$D/got" && cmp -s "$D/got" "$2"
}
# decisions MNT: the number of "checksum: the server ..." decision lines in MNT's log.
decisions() { grep -c 'checksum: the server' "$(mount_log "$1")"; }

head -c 1000 /dev/urandom >"$D/s1"
head -c 3000 /dev/urandom >"$D/s2"
head -c $((12 * 1048576 + 4321)) /dev/urandom >"$D/m" # 3 parts of 5 MiB
MOUNT_OPTS=part_size=5M,log_level=info

# ---- 1. a server that validates checksums (emulated) ------------------------------------
fp_set '{"checksum_validate": true, "record": true}'
fp_reset
start_mount "$B" "$M" -o "$MOUNT_OPTS"
check "validating: first small file" cp "$D/s1" "$M/s1"
check_eq "validating: the first PutObject carries Content-MD5 and the CRC64NVME" \
    "$(nreq PutObject '.headers["content-md5"] and .headers["x-amz-checksum-crc64nvme"]')" 1
check_eq "validating: its CRC64NVME is the file's (the proxy's Python CRC)" \
    "$(hdr PutObject x-amz-checksum-crc64nvme)" "$(pycrc crc64nvme "$D/s1")"
fp_reset
check "validating: second small file" cp "$D/s2" "$M/s2"
check "validating: multipart file" cp "$D/m" "$M/m"
check_eq "validating: after the echo, PutObject carries the CRC only (no Content-MD5)" \
    "$(nreq PutObject '.headers["content-md5"] == null and .headers["x-amz-checksum-crc64nvme"]')" 1
check_eq "validating: CreateMultipartUpload declares CRC64NVME" \
    "$(hdr CreateMultipartUpload x-amz-checksum-algorithm)" CRC64NVME
check_eq "validating: ... and FULL_OBJECT" "$(hdr CreateMultipartUpload x-amz-checksum-type)" FULL_OBJECT
check_eq "validating: every UploadPart carries its CRC64NVME, none Content-MD5, all UNSIGNED-PAYLOAD" \
    "$(nreq UploadPart '.headers["content-md5"] == null and .headers["x-amz-checksum-crc64nvme"] and .headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"')" 3
check_eq "validating: Complete carries the whole file's CRC64NVME (combined from the parts)" \
    "$(hdr CompleteMultipartUpload x-amz-checksum-crc64nvme)" "$(pycrc crc64nvme "$D/m")"
check_eq "validating: Complete says FULL_OBJECT" "$(hdr CompleteMultipartUpload x-amz-checksum-type)" FULL_OBJECT
st=$(fp_stats)
check_eq "validating: every body's CRC checked and echoed, none bad" \
    "$(jq -c '[.checksum_checked, .checksum_echoed, .checksum_bad]' <<<"$st")" "[4,4,0]"
check_eq "validating: the emulated server checked Complete's parts and whole-object CRC" \
    "$(jq -c '[.checksum_complete_checked, .checksum_complete_bad]' <<<"$st")" "[1,0]"
check "validating: objects identical" object_identical m "$D/m"
check "validating: small object identical" object_identical s2 "$D/s2"

# fsync, then write on: the new upload's head is the committed object copied server-side;
# its CRC is the committed one's, and Complete's whole-file CRC combines it with the rest
fp_reset
check "validating: write 6 MiB, fsync, write the rest, close" python3 - "$M/fs" "$D/m" <<'PY'
import os, sys
d = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, d[:6 << 20])
os.fsync(fd)
os.write(fd, d[6 << 20:])
os.close(fd)
PY
check "validating, after fsync: object identical" object_identical fs "$D/m"
check_eq "validating, after fsync: the head was copied server-side (UploadPartCopy)" \
    "$(nreq UploadPartCopy true)" 1
check_eq "validating, after fsync: the last Complete carries the whole file's CRC64NVME" \
    "$(hdr CompleteMultipartUpload x-amz-checksum-crc64nvme)" "$(pycrc crc64nvme "$D/m")"
check_eq "validating, after fsync: no body was bad" "$(fp_stat .checksum_bad)" 0

# The emulation refuses a Complete whose whole-object CRC is wrong (so its acceptance above
# means something): a one-part upload by hand through the proxy, completed with the CRC of
# other bytes (400 BadDigest, nothing published), then with the right one. ("uploads=": curl
# signs a bare "uploads" as no parameter at all.)
pcurl() {
    curl -s --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"
}
EP=$(fp_endpoint)
uid=$(pcurl -X POST -H "x-amz-content-sha256: $IT_EMPTY_SHA256" -H "x-amz-checksum-algorithm: CRC64NVME" \
    -H "x-amz-checksum-type: FULL_OBJECT" "$EP/$B/hand?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
check "emulation: CreateMultipartUpload by hand" test -n "$uid"
pck=$(pycrc crc64nvme "$D/s2")
petag=$(pcurl -D - -o /dev/null -X PUT -H "x-amz-content-sha256: $(file_sha256 "$D/s2")" \
    -H "x-amz-checksum-crc64nvme: $pck" --data-binary @"$D/s2" "$EP/$B/hand?partNumber=1&uploadId=$uid" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "etag" { print $2 }')
printf '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag><ChecksumCRC64NVME>%s</ChecksumCRC64NVME></Part></CompleteMultipartUpload>' \
    "$petag" "$pck" >"$D/complete.xml"
complete_with() {
    pcurl -o "$D/complete.out" -w '%{http_code}' -X POST -H "x-amz-content-sha256: $(file_sha256 "$D/complete.xml")" \
        -H "x-amz-checksum-crc64nvme: $1" -H "x-amz-checksum-type: FULL_OBJECT" \
        --data-binary @"$D/complete.xml" "$EP/$B/hand?uploadId=$uid"
}
check_eq "emulation: a Complete with a wrong whole-object CRC is refused (400)" \
    "$(complete_with "$(pycrc crc64nvme "$D/s1")")" 400
check "emulation: ... with BadDigest" grep -q BadDigest "$D/complete.out"
check_not "emulation: no object after the refused Complete" \
    s3api head-object --bucket "$B" --key hand
check_eq "emulation: the same Complete with the right CRC succeeds" "$(complete_with "$pck")" 200
check "emulation: ... and the object is the part" object_identical hand "$D/s2"

# one flipped PutObject: the emulated server's BadDigest, a retry, an identical object
fp_set '{"rates": {"put": {"flip_req": 1}}, "max_faults": 1}'
fp_reset
check "validating, one PutObject flipped: close succeeds (retried)" cp "$D/s2" "$M/f1"
check "validating, one PutObject flipped: object identical" object_identical f1 "$D/s2"
st=$(fp_stats)
check_eq "validating, one PutObject flipped: caught by the CRC (BadDigest), no MD5 sent" \
    "$(jq -c '[.flipped_req, .checksum_bad]' <<<"$st")/$(nreq PutObject '.headers["content-md5"]')" "[1,1]/0"
# one flipped part
fp_set '{"rates": {"upload_part": {"flip_req": 1}}, "max_faults": 1}'
fp_reset
check "validating, one part flipped: close succeeds (retried)" cp "$D/m" "$M/f2"
check "validating, one part flipped: object identical" object_identical f2 "$D/m"
check_eq "validating, one part flipped: caught by the CRC" \
    "$(jq -c '[.flipped_req, .checksum_bad]' <<<"$(fp_stats)")" "[1,1]"
stop_mount "$M" || fail "unmount (validating)"
check_eq "validating: the decision is logged once" "$(decisions "$M")" 1
check "validating: the decision says the server validates" \
    grep -q 'checksum: the server validates crc64nvme' "$(mount_log "$M")"

# every PutObject / every part flipped: close fails, nothing left, RGW never saw a flip
fp_set '{"rates": {}, "max_faults": -1}'
start_mount "$B" "$M" -o "$MOUNT_OPTS,retries=2"
check "validating: a first file (its PutObject carries MD5 too: not the test)" cp "$D/s1" "$M/warm"
fp_set '{"rates": {"put": {"flip_req": 1}, "upload_part": {"flip_req": 1}}, "max_faults": -1}'
fp_reset
check_not "validating, every PutObject flipped: close fails" cp "$D/s2" "$M/f3"
check "validating, every PutObject flipped: no object" object_absent f3
check_not "validating, every part flipped: close fails" cp "$D/m" "$M/f4"
check "validating, every part flipped: no object, no upload" object_absent f4
st=$(fp_stats)
fl=$(jq -r .flipped_req <<<"$st")
check "validating, every body flipped: each caught by the emulated server (BadDigest), none reached RGW ($fl flipped)" \
    test "$fl" -ge 2 -a "$(jq -r .checksum_bad <<<"$st")" = "$fl" -a "$(jq -r '.status["400"] // 0' <<<"$st")" = "$fl"
check_eq "validating, every body flipped: no Content-MD5 was sent" \
    "$(nreq PutObject '.headers["content-md5"]')/$(nreq UploadPart '.headers["content-md5"]')" 0/0
stop_mount "$M" || fail "unmount (validating, all flipped)"
echo "FIGURES validating: flipped $fl bad_digest $(jq -r .checksum_bad <<<"$st") checked $(jq -r .checksum_checked <<<"$st")"

# ---- 2. plain RGW: no validation, no echo ----------------------------------------------------
fp_set '{"checksum_validate": false, "rates": {}, "max_faults": -1}'
fp_reset
start_mount "$B" "$M" -o "$MOUNT_OPTS"
check "RGW: small file" cp "$D/s1" "$M/r1"
check "RGW: multipart file" cp "$D/m" "$M/r2"
check "RGW: second small file" cp "$D/s2" "$M/r3"
check_eq "RGW: every PutObject and UploadPart carries Content-MD5 and the CRC64NVME" \
    "$(nreq PutObject '.headers["content-md5"] and .headers["x-amz-checksum-crc64nvme"]')/$(nreq UploadPart '.headers["content-md5"] and .headers["x-amz-checksum-crc64nvme"]')" 2/3
check "RGW: objects identical" object_identical r2 "$D/m"
fp_set '{"rates": {"put": {"flip_req": 1}, "upload_part": {"flip_req": 1}}, "max_faults": -1}'
fp_reset
check_not "RGW, every PutObject flipped: close fails" cp "$D/s2" "$M/r4"
check "RGW, every PutObject flipped: no object" object_absent r4
check_not "RGW, every part flipped: close fails" cp "$D/m" "$M/r5"
check "RGW, every part flipped: no object, no upload" object_absent r5
st=$(fp_stats)
fl=$(jq -r .flipped_req <<<"$st")
check "RGW, every body flipped: RGW rejected each (Content-MD5: HTTP 400, $fl flipped)" \
    test "$fl" -ge 2 -a "$(jq -r '.status["400"] // 0' <<<"$st")" = "$fl"
stop_mount "$M" || fail "unmount (RGW)"
check_eq "RGW: the decision is logged once" "$(decisions "$M")" 1
check "RGW: the decision says the server does not echo" \
    grep -q 'checksum: the server does not echo x-amz-checksum-crc64nvme' "$(mount_log "$M")"

# ---- 3. each checksum= sends exactly its headers ---------------------------------------------
fp_set '{"checksum_validate": true, "rates": {}, "max_faults": -1}'
for mode in md5 off crc32c crc64nvme; do
    fp_reset
    start_mount "$B" "$M" -o "$MOUNT_OPTS,checksum=$mode"
    check "checksum=$mode: small file" cp "$D/s1" "$M/k-$mode-s"
    check "checksum=$mode: multipart file" cp "$D/m" "$M/k-$mode-m"
    stop_mount "$M" || fail "unmount (checksum=$mode)"
    any_ck='(.headers | keys | map(select(startswith("x-amz-checksum-"))) | length) > 0'
    bodies="$(nreq PutObject true)/$(nreq UploadPart true)"
    check_eq "checksum=$mode: one PutObject, 3 UploadParts" "$bodies" 1/3
    case $mode in
    md5)
        check_eq "checksum=md5: every body has Content-MD5, none an x-amz-checksum-*" \
            "$(nreq PutObject ".headers[\"content-md5\"] and ($any_ck | not)")/$(nreq UploadPart ".headers[\"content-md5\"] and ($any_ck | not)")" 1/3
        check_eq "checksum=md5: Create and Complete carry no checksum header" \
            "$(nreq CreateMultipartUpload "$any_ck")/$(nreq CompleteMultipartUpload "$any_ck")" 0/0
        ;;
    off)
        check_eq "checksum=off: no body has Content-MD5 or an x-amz-checksum-*, all are hashed (SigV4)" \
            "$(nreq PutObject ".headers[\"content-md5\"] == null and ($any_ck | not) and .headers[\"x-amz-content-sha256\"] != \"UNSIGNED-PAYLOAD\"")/$(nreq UploadPart ".headers[\"content-md5\"] == null and ($any_ck | not) and .headers[\"x-amz-content-sha256\"] != \"UNSIGNED-PAYLOAD\"")" 1/3
        check_eq "checksum=off: Create and Complete carry no checksum header" \
            "$(nreq CreateMultipartUpload "$any_ck")/$(nreq CompleteMultipartUpload "$any_ck")" 0/0
        ;;
    crc32c | crc64nvme)
        up=$(tr a-z A-Z <<<"$mode")
        only="(.headers | keys | map(select(startswith(\"x-amz-checksum-\")))) == [\"x-amz-checksum-$mode\"] and .headers[\"content-md5\"] == null and .headers[\"x-amz-content-sha256\"] == \"UNSIGNED-PAYLOAD\""
        check_eq "checksum=$mode: every body has x-amz-checksum-$mode only, no Content-MD5 (forced: even before an echo)" \
            "$(nreq PutObject "$only")/$(nreq UploadPart "$only")" 1/3
        check_eq "checksum=$mode: Create declares $up FULL_OBJECT" \
            "$(hdr CreateMultipartUpload x-amz-checksum-algorithm) $(hdr CreateMultipartUpload x-amz-checksum-type)" "$up FULL_OBJECT"
        check_eq "checksum=$mode: Complete carries the whole file's $up" \
            "$(hdr CompleteMultipartUpload "x-amz-checksum-$mode")" "$(pycrc "$mode" "$D/m")"
        check_eq "checksum=$mode: the emulated server checked all 4 bodies and the Complete, none bad" \
            "$(jq -c '[.checksum_checked, .checksum_bad, .checksum_complete_checked, .checksum_complete_bad]' <<<"$(fp_stats)")" "[4,0,1,0]"
        check_eq "checksum=$mode: the decision is logged once" "$(decisions "$M")" 1
        ;;
    esac
    check "checksum=$mode: multipart object identical" object_identical "k-$mode-m" "$D/m"
done
