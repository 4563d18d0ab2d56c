#!/bin/bash
# tsan.sh: ThreadSanitizer build of s3mount and the filter, then the mount integration
# tests run against it. Not part of ctest (slow: TSan costs 5-15x).
#
# Usage: tests/sanitize/tsan.sh [-b BUILD_DIR] [-j JOBS] [TEST_REGEX]
#   -b DIR        build directory (default /tmp/build-tsan-faults); -DS3M_TSAN=ON, gcc
#   -j JOBS       build parallelism (default 2)
#   TEST_REGEX    ctest -R pattern of the tests to run (default: the mount tests,
#                 'integration\.(it_mount_|it_fault_|it_security)')
# Environment: an RGW as for the integration tests (source /tmp/s3m-dev-rgw.env, or
# tests/run-tests.sh's); S3M_FAULT_BYTES defaults to 64 MiB here (TSan is slow).
# The integration harness (tests/integration/lib.sh) fails a test whose daemon stderr holds
# "WARNING: ThreadSanitizer"; this script also collects every TSan report of the run into
# DIR/tsan-reports.txt (TSAN_OPTIONS log_path) and prints a summary: reports by first
# frame. Exit status: 0 only when every test passed and no report was written.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=/tmp/build-tsan-faults
JOBS=2
while getopts "b:j:h" opt; do
    case $opt in
    b) BUILD=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    h) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RE=${1:-'integration\.(it_mount_|it_fault_|it_security)'}
for v in S3M_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION; do
    [ -n "${!v:-}" ] || { echo "tsan.sh: $v is not set (source the RGW env file)" >&2; exit 2; }
done

echo "== configure + build $BUILD (S3M_TSAN=ON)"
cmake -S "$ROOT" -B "$BUILD" -DS3M_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 ||
    { tail -20 "$BUILD.configure.log"; exit 2; }
cmake --build "$BUILD" --target s3mount filter -j "$JOBS" >"$BUILD/tsan-build.log" 2>&1 ||
    { tail -30 "$BUILD/tsan-build.log"; echo "tsan.sh: build failed" >&2; exit 2; }
# the C integration tests (it_*.c) too with S3M_TSAN_ALL=1 (a full build: slow on 2 cores)
if [ "${S3M_TSAN_ALL:-0}" = 1 ]; then
    cmake --build "$BUILD" -j "$JOBS" >>"$BUILD/tsan-build.log" 2>&1 ||
        echo "tsan.sh: note: the full build failed; running the script tests only"
fi

REP=$BUILD/tsan-reports
rm -rf "$REP"
mkdir -p "$REP"
# second_deadlock_stack for lock-order reports; halt_on_error=0 so a run shows them all;
# log_path: one file per process, so reports of daemons are kept even when a test passes.
export TSAN_OPTIONS="second_deadlock_stack=1 halt_on_error=0 log_path=$REP/tsan"
export S3M_FAULT_BYTES=${S3M_FAULT_BYTES:-67108864}
echo "== ctest -R '$RE' on the TSan build"
ctest --test-dir "$BUILD" -R "$RE" --output-on-failure --timeout 1500 >"$BUILD/tsan-ctest.log" 2>&1
crc=$?
grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|tests failed' "$BUILD/tsan-ctest.log"
cat "$REP"/tsan* >"$BUILD/tsan-reports.txt" 2>/dev/null
nrep=$(grep -c 'WARNING: ThreadSanitizer' "$BUILD/tsan-reports.txt" 2>/dev/null)
echo "== TSan reports: ${nrep:-0} (all in $BUILD/tsan-reports.txt)"
if [ "${nrep:-0}" -gt 0 ]; then
    # summary lines say the kind and the first frame
    grep -h 'SUMMARY: ThreadSanitizer' "$BUILD/tsan-reports.txt" | sort | uniq -c | sort -rn | head -20
fi
[ "$crc" = 0 ] && [ "${nrep:-0}" = 0 ]
