# lib.sh: helpers for s3mount's integration test scripts (tests/integration/it_*.sh).
#
# Usage, at the top of a test script:
#     #!/bin/bash
#     set -uo pipefail                      # not -e: a failed check must not end the test
#     . "$(dirname "$0")/lib.sh"
#     require_env                           # or: require_env --no-fuse
#     B=$(unique_bucket); make_bucket "$B"
#     M=$(new_dir mnt); start_mount "$B" "$M"
#     check "ls works" ls "$M"
#     check_eq "size" "$(stat -c %s "$M/f")" 1000
#     stop_mount "$M"
#     # nothing else: the EXIT trap unmounts, removes the buckets made with make_bucket,
#     # deletes the temp dir and prints the closing "N passed, N failed" line.
#
# Contract: the environment comes from tests/run-tests.sh (or `source /tmp/s3m-dev-rgw.env`
# by hand): S3M_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and
# S3M_BUILD_DIR (ctest sets it). Missing environment is a FAILURE, never a skip.
# The exit status is 0 only when at least one check ran and none failed.
#
# Mounts: start_mount runs `$S3M_BUILD_DIR/s3mount/s3mount -f` in the background with its
# stderr in a file, and waits until the mountpoint is a mount. stop_mount unmounts
# (fusermount3 -u, then -z), waits for the daemon, kills it by PID as a last resort, and
# fails the test when the daemon exited non-zero or its stderr holds a sanitizer report.

IT_NAME=$(basename "${0%.*}")
IT_PASS=0
IT_FAIL=0
IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/${IT_NAME}.XXXXXX")
IT_BUCKETS=()
declare -A IT_MOUNT_PID=()   # mountpoint -> daemon PID
declare -A IT_MOUNT_LOG=()   # mountpoint -> daemon stderr file
IT_MOUNT_WRAP=()
IT_MOUNT_TIMEOUT=${IT_MOUNT_TIMEOUT:-30}   # seconds to wait for a mount to appear
IT_UMOUNT_TIMEOUT=${IT_UMOUNT_TIMEOUT:-30} # seconds to wait for the daemon to exit
IT_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# Sanitizer reports in a daemon's stderr that fail a test (ASan, LSan, UBSan, TSan).
IT_SANITIZER_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer|ERROR: ThreadSanitizer'

# ---- results --------------------------------------------------------------------------
ok() {
    IT_PASS=$((IT_PASS + 1))
    echo "ok   - $*"
}
fail() {
    IT_FAIL=$((IT_FAIL + 1))
    echo "FAIL - $*"
}
# fatal MSG: a failure after which the test cannot go on (the EXIT trap still cleans up).
fatal() {
    fail "$*"
    exit 1
}
# check DESC CMD...: run CMD; pass when it exits 0. Its output goes to the test log.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else fail "$desc (exit $?: $*)"; fi
}
# check_not DESC CMD...: pass when CMD fails.
check_not() {
    local desc=$1
    shift
    if "$@"; then fail "$desc (unexpectedly succeeded: $*)"; else ok "$desc"; fi
}
# check_eq DESC GOT WANT
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got [$2], want [$3]"; fi
}
# check_file_eq DESC FILE_GOT FILE_WANT: byte-identical files.
check_file_eq() {
    if cmp -s -- "$2" "$3"; then ok "$1"; else fail "$1: $2 differs from $3 ($(cmp -- "$2" "$3" 2>&1 | head -1))"; fi
}

# ---- environment ----------------------------------------------------------------------
# require_env [--no-fuse]: fail (not skip) when the RGW environment, the build dir or FUSE
# is missing.
require_env() {
    local v missing=""
    for v in S3M_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION S3M_BUILD_DIR; do
        [ -n "${!v:-}" ] || missing="$missing $v"
    done
    [ -z "$missing" ] || fatal "environment missing:$missing (run via tests/run-tests.sh, or source /tmp/s3m-dev-rgw.env and set S3M_BUILD_DIR)"
    # Never ask a cloud metadata service for credentials (gotcha 10).
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-$AWS_REGION}
    if [ "${1:-}" != --no-fuse ]; then
        [ -c /dev/fuse ] || fatal "/dev/fuse is missing"
        command -v fusermount3 >/dev/null || fatal "fusermount3 is missing (apt-get install fuse3)"
        command -v mountpoint >/dev/null || fatal "mountpoint is missing (util-linux)"
    fi
    local code
    code=$(s3curl -o /dev/null -w '%{http_code}' "$S3M_ENDPOINT/") || true
    [ "$code" = 200 ] || fatal "S3 at $S3M_ENDPOINT does not answer a signed ListBuckets (HTTP $code)"
}

# new_dir NAME: a fresh directory under the test's temp dir; prints its path.
new_dir() {
    local d=$IT_TMP/$1
    mkdir -p "$d" && echo "$d"
}

# ---- S3 clients -----------------------------------------------------------------------
# awscli pinned to Debian's (gotcha 11) when installed; path-style addressing, no user
# config or credential files, so a developer's ~/.aws cannot change what a test does.
if [ -x /usr/bin/aws ]; then IT_AWS=/usr/bin/aws; else IT_AWS=aws; fi
cat >"$IT_TMP/aws-config" <<'EOF'
[default]
s3 =
    addressing_style = path
EOF
# s3api ARGS...: `aws s3api ARGS` against the test endpoint.
s3api() {
    AWS_CONFIG_FILE=$IT_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        "$IT_AWS" --endpoint-url "$S3M_ENDPOINT" --region "$AWS_REGION" s3api "$@"
}
# s3cli ARGS...: `aws s3 ARGS` (high-level commands: cp, ls, rb ...).
s3cli() {
    AWS_CONFIG_FILE=$IT_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null \
        "$IT_AWS" --endpoint-url "$S3M_ENDPOINT" --region "$AWS_REGION" s3 "$@"
}
# s3curl CURLARGS... URL: a SigV4-signed curl request with the test credentials. curl does
# not send x-amz-content-sha256 itself and RGW then fails the signature (gotcha 8), so the
# empty-body hash is added; pass your own -H "x-amz-content-sha256: ..." for a body.
s3curl() {
    local h="x-amz-content-sha256: $IT_EMPTY_SHA256" a
    for a in "$@"; do
        case "$a" in [Xx]-[Aa]mz-[Cc]ontent-[Ss]ha256:*) h="" ;; esac
    done
    curl -s --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        ${h:+-H "$h"} "$@"
}

# unique_bucket [SUFFIX]: a valid, unique bucket name it-<test>-<pid>[-suffix].
unique_bucket() {
    local n
    n=$(printf 'it-%s-%s%s' "${IT_NAME#it_}" "$$" "${1:+-$1}" | tr 'A-Z_.' 'a-z--' | tr -cd 'a-z0-9-')
    n=${n:0:63}
    echo "${n%-}"
}

# make_bucket NAME: create it and remove it (with its objects and uploads) at exit.
make_bucket() {
    if s3api create-bucket --bucket "$1" >"$IT_TMP/mb.out" 2>&1; then
        IT_BUCKETS+=("$1")
    else
        fatal "create bucket $1: $(cat "$IT_TMP/mb.out")"
    fi
}

# remove_bucket NAME: abort its multipart uploads, delete its objects, delete it.
remove_bucket() {
    local b=$1 key id
    s3api list-multipart-uploads --bucket "$b" --output text \
        --query 'Uploads[].[Key,UploadId]' 2>/dev/null |
        while IFS=$'\t' read -r key id; do
            [ -n "$id" ] && [ "$key" != None ] || continue
            s3api abort-multipart-upload --bucket "$b" --key "$key" --upload-id "$id" >/dev/null 2>&1
        done
    if s3cli rb --force "s3://$b" >"$IT_TMP/rb.out" 2>&1; then
        return 0
    fi
    echo "warning: could not remove bucket $b: $(tail -2 "$IT_TMP/rb.out")" >&2
    return 1
}

# put_file FILE BUCKET KEY: upload with awscli (multipart above 8 MiB).
put_file() {
    s3cli cp --no-progress "$1" "s3://$2/$3" >/dev/null
}
# get_file BUCKET KEY FILE: download with awscli.
get_file() {
    s3cli cp --no-progress "s3://$1/$2" "$3" >/dev/null
}

# ---- deployments ----------------------------------------------------------------------
# unit_caps [DROP...]: the capabilities the systemd unit keeps (systemd/s3mount@.service,
# CapabilityBoundingSet), less DROP, as setpriv's list: "+sys_admin,+sys_ptrace".
unit_caps() {
    local unit=${S3M_SRC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/systemd/s3mount@.service
    local c d out= caps
    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
    [ -n "$caps" ] || fatal "no CapabilityBoundingSet in $unit"
    for c in $caps; do
        for d in "$@"; do [ "$c" = "$d" ] && continue 2; done
        c=${c#CAP_}
        out+=",+${c,,}"
    done
    echo "${out#,}"
}
# caps_wrap LIST: a command prefix (words on stdout) that runs a command with exactly the
# capabilities in LIST (from unit_caps) as a root service would have them.
caps_wrap() { echo setpriv "--inh-caps=-all,$1" "--ambient-caps=-all,$1" "--bounding-set=-all,$1"; }
# AS_OTHER: a prefix that runs a command as uid/gid 65534 (a user other than the daemon's).
AS_OTHER=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# obj_sha256 BUCKET KEY: the SHA-256 of an object's bytes (downloaded with awscli).
obj_sha256() { s3cli cp --no-progress "s3://$1/$2" - 2>/dev/null | sha256sum | cut -c1-64; }
# file_sha256 FILE: the SHA-256 of a local file.
file_sha256() { sha256sum <"$1" | cut -c1-64; }
# uploads_count BUCKET: how many multipart uploads are listed in BUCKET.
uploads_count() {
    s3api list-multipart-uploads --bucket "$1" --query 'Uploads[].Key' --output text 2>/dev/null |
        tr '\t' '\n' | grep -v '^None$' | grep -c .
}
# write_close PATH SRC: write SRC's bytes to PATH (created or truncated) in one write(),
# then close(); prints "close ok" or "close ERRNO" (e.g. "close EIO").
write_close() {
    python3 - "$1" "$2" <<'PY' 2>&1
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open(sys.argv[2], "rb").read())
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
PY
}

# ---- mounts ---------------------------------------------------------------------------
# The daemon's default options for the test server; a test adds its own after the
# mountpoint (for example: start_mount "$B" "$M" -o cache_mb=64). IT_MOUNT_OPTS overrides.
IT_S3MOUNT=${IT_S3MOUNT:-${S3M_BUILD_DIR:-}/s3mount/s3mount}
it_default_mount_opts() {
    echo "${IT_MOUNT_OPTS:-endpoint=$S3M_ENDPOINT,path_style,region=$AWS_REGION}"
}

# is_mounted DIR: DIR is a mountpoint (mountpoint(1); stat st_dev change as a fallback).
is_mounted() {
    mountpoint -q -- "$1" 2>/dev/null && return 0
    [ "$(stat -c %d -- "$1" 2>/dev/null)" != "$(stat -c %d -- "$1/.." 2>/dev/null)" ]
}

# start_mount SPEC MNT [ARGS...]: mount BUCKET[:/PREFIX] on MNT with s3mount -f in the
# background; wait until mounted. IT_MOUNT_WRAP (an array, default empty) is a command
# prefix for the daemon, e.g. (setpriv --bounding-set=...) or (unshare --pid --fork). Fails the test (fatal) when the daemon exits or the mount
# does not appear within IT_MOUNT_TIMEOUT seconds. The daemon's stderr: mount_log MNT.
start_mount() {
    local spec=$1 mnt=$2 log pid i
    shift 2
    [ -x "$IT_S3MOUNT" ] || fatal "s3mount binary missing: $IT_S3MOUNT"
    mkdir -p "$mnt"
    is_mounted "$mnt" && fatal "$mnt is already a mountpoint"
    log=$IT_TMP/s3mount.$(basename "$mnt").$RANDOM.log
    "${IT_MOUNT_WRAP[@]}" "$IT_S3MOUNT" -f -o "$(it_default_mount_opts)" "$@" "$spec" "$mnt" \
        </dev/null 2>"$log" >&2 &
    pid=$!
    IT_MOUNT_PID[$mnt]=$pid
    IT_MOUNT_LOG[$mnt]=$log
    for ((i = 0; i < IT_MOUNT_TIMEOUT * 10; i++)); do
        is_mounted "$mnt" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            local rc=$?
            unset "IT_MOUNT_PID[$mnt]"
            echo "---- s3mount stderr ($log) ----" >&2
            tail -n 30 "$log" >&2
            fatal "s3mount exited with status $rc before mounting $spec on $mnt"
        fi
        sleep 0.1
    done
    fatal "mount of $spec on $mnt did not appear within ${IT_MOUNT_TIMEOUT}s"
}

# mount_pid MNT / mount_log MNT: the daemon's PID and stderr file.
mount_pid() { echo "${IT_MOUNT_PID[$1]:-}"; }
mount_log() { echo "${IT_MOUNT_LOG[$1]:-}"; }

# stop_mount MNT: unmount and wait for the daemon. Counts a failure when the unmount needed
# the lazy fallback or a kill, when the daemon exited non-zero, or when its stderr shows a
# sanitizer report. Returns 0 only when everything was clean.
stop_mount() {
    local mnt=$1 pid=${IT_MOUNT_PID[$1]:-} log=${IT_MOUNT_LOG[$1]:-} i rc=0 st
    if is_mounted "$mnt"; then
        if ! fusermount3 -u -- "$mnt" 2>"$IT_TMP/umount.err"; then
            fail "fusermount3 -u $mnt: $(cat "$IT_TMP/umount.err"); lazy unmount"
            fusermount3 -u -z -- "$mnt" 2>/dev/null || umount -l -- "$mnt" 2>/dev/null
            rc=1
        fi
    fi
    if [ -n "$pid" ]; then
        for ((i = 0; i < IT_UMOUNT_TIMEOUT * 10; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            fail "s3mount ($pid) still running ${IT_UMOUNT_TIMEOUT}s after unmounting $mnt; killing it"
            kill -TERM "$pid" 2>/dev/null
            sleep 2
            kill -KILL "$pid" 2>/dev/null
            rc=1
        fi
        wait "$pid" 2>/dev/null
        st=$?
        if [ "$rc" = 0 ] && [ "$st" != 0 ]; then
            fail "s3mount for $mnt exited with status $st"
            rc=1
        fi
        unset "IT_MOUNT_PID[$mnt]"
    fi
    if [ -n "$log" ] && [ -s "$log" ] && grep -Eq "$IT_SANITIZER_RE" "$log"; then
        fail "sanitizer report in s3mount's stderr for $mnt:"
        grep -E -A 30 "$IT_SANITIZER_RE" "$log" | head -n 60 >&2
        rc=1
    fi
    return "$rc"
}

# ---- exit -----------------------------------------------------------------------------
it_exit() {
    local rc=$? m b
    trap - EXIT
    for m in "${!IT_MOUNT_PID[@]}"; do
        stop_mount "$m"
    done
    for b in "${IT_BUCKETS[@]}"; do
        remove_bucket "$b"
    done
    rm -rf "$IT_TMP"
    if [ "$IT_PASS" -eq 0 ] && [ "$IT_FAIL" -eq 0 ]; then
        fail "no check ran"
    elif [ "$rc" != 0 ] && [ "$IT_FAIL" -eq 0 ]; then
        fail "script exited with status $rc"
    fi
    echo "$IT_PASS passed, $IT_FAIL failed"
    [ "$IT_FAIL" -eq 0 ] || exit 1
    exit 0
}
trap it_exit EXIT
trap 'exit 130' INT TERM
