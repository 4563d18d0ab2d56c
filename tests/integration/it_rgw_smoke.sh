#!/bin/bash
# it_rgw_smoke.sh: the test server is a real S3 (not a lenient fake), and the harness works.
# it-timeout: 120
#
# Checks that RGW verifies SigV4 (wrong secret -> 403 SignatureDoesNotMatch, anonymous ->
# 403, a signed payload hash that does not match the body -> 400) and serves correct
# bytes for ranges a fake gets wrong (suffix `bytes=-N`, `bytes=0-0`), using curl's own
# signer so that no project code is involved. Also exercises lib.sh's bucket helpers.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env --no-fuse

B=$(unique_bucket)
make_bucket "$B"
W=$(new_dir work)
head -c 1000 /dev/urandom >"$W/obj.bin"
check "put 1000-byte object" put_file "$W/obj.bin" "$B" obj.bin
URL=$S3M_ENDPOINT/$B/obj.bin

code=$(s3curl -o "$W/full" -w '%{http_code}' "$URL")
check_eq "signed GET with the right secret" "$code" 200
check_file_eq "GET returns the object's bytes" "$W/full" "$W/obj.bin"

code=$(curl -s -o "$W/err.xml" -w '%{http_code}' --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:not-the-secret" -H "x-amz-content-sha256: $IT_EMPTY_SHA256" "$URL")
check_eq "wrong secret -> 403" "$code" 403
check "wrong secret -> SignatureDoesNotMatch" grep -q '<Code>SignatureDoesNotMatch</Code>' "$W/err.xml"

code=$(curl -s -o /dev/null -w '%{http_code}' "$URL")
check_eq "anonymous GET -> 403" "$code" 403

code=$(s3curl -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $IT_EMPTY_SHA256" \
    --data-binary @"$W/obj.bin" "$S3M_ENDPOINT/$B/bad-hash.bin")
check_eq "signed payload hash != body -> 400" "$code" 400

code=$(s3curl -D "$W/h" -o "$W/suffix" -w '%{http_code}' -H 'Range: bytes=-100' "$URL")
tail -c 100 "$W/obj.bin" >"$W/want-suffix"
check_eq "suffix range bytes=-100 -> 206" "$code" 206
check_file_eq "suffix range returns the last 100 bytes" "$W/suffix" "$W/want-suffix"
check_eq "suffix range Content-Range" \
    "$(grep -i '^content-range:' "$W/h" | tr -d '\r' | cut -d' ' -f2-)" "bytes 900-999/1000"

code=$(s3curl -o "$W/first" -w '%{http_code}' -H 'Range: bytes=0-0' "$URL")
check_eq "range bytes=0-0 -> 206" "$code" 206
check_file_eq "range bytes=0-0 returns 1 byte" "$W/first" <(head -c 1 "$W/obj.bin")

code=$(s3curl -o /dev/null -w '%{http_code}' -H 'Range: bytes=5000-6000' "$URL")
check_eq "unsatisfiable range -> 416" "$code" 416

check_eq "bucket listed" "$(s3api list-objects-v2 --bucket "$B" --query 'Contents[].Key' --output text)" \
    "obj.bin"
