#!/bin/bash
# run-fuzzers.sh: build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and fuzz
# each for a set time. Not part of ctest (ctest only replays the committed corpus).
#
# Usage: tests/fuzz/run-fuzzers.sh [-t SECONDS] [-b BUILD_DIR] [-o NEW_CORPUS_DIR] [-j JOBS]
#                                  [TARGET...]
#   -t SECONDS   fuzzing time per target (default 60)
#   -b DIR       build directory (default /tmp/build-fuzz); configured with
#                CC=clang -DS3M_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   -o DIR       where new corpus entries go, one subdirectory per target (default
#                DIR_OF_BUILD/new-corpus). The committed corpus (tests/fuzz/corpus/<name>) is
#                read as a seed, never written: review new entries and copy the useful ones
#                in by hand.
#   -j JOBS      build parallelism (default 2)
#   TARGET       names (e.g. s3xml scan); default every fuzz_*.c
# A crash, leak, timeout or sanitizer report fails the run: the script prints the target,
# the reproducer path (libFuzzer's crash-/leak-/timeout- file, kept in DIR/artifacts/<name>/)
# and the command that replays it, and exits 1 after trying the other targets.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=60
BUILD=/tmp/build-fuzz
NEW=""
JOBS=2
while getopts "t:b:o:j:h" opt; do
    case $opt in
    t) SECS=$OPTARG ;;
    b) BUILD=$OPTARG ;;
    o) NEW=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    h) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
NEW=${NEW:-$BUILD/new-corpus}
[[ "$SECS" =~ ^[0-9]+$ ]] || { echo "run-fuzzers: -t wants seconds" >&2; exit 2; }
CC_BIN=$(command -v clang || command -v clang-14) || { echo "run-fuzzers: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=()
    for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        TARGETS+=("${n#fuzz_}")
    done
fi

echo "== configure $BUILD (clang, S3M_FUZZ=ON)"
CC=$CC_BIN cmake -S "$ROOT" -B "$BUILD" -DS3M_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >"$BUILD.configure.log" 2>&1 || { tail -20 "$BUILD.configure.log"; echo "run-fuzzers: configure failed" >&2; exit 2; }
bt=()
for t in "${TARGETS[@]}"; do bt+=(--target "fuzz_$t"); done
echo "== build ${TARGETS[*]}"
cmake --build "$BUILD" "${bt[@]}" -j "$JOBS" >"$BUILD/fuzz-build.log" 2>&1 ||
    { tail -30 "$BUILD/fuzz-build.log"; echo "run-fuzzers: build failed" >&2; exit 2; }

failed=()
for t in "${TARGETS[@]}"; do
    exe=$(find "$BUILD" -type f -name "fuzz_$t" -perm -u+x | head -1)
    [ -n "$exe" ] || { echo "FAIL $t: no executable fuzz_$t in $BUILD"; failed+=("$t"); continue; }
    seed=$ROOT/tests/fuzz/corpus/$t
    out=$NEW/$t
    art=$BUILD/artifacts/$t
    mkdir -p "$out" "$art"
    before=$(find "$out" -type f | wc -l)
    echo "== fuzz $t for ${SECS}s (seed $seed, new entries -> $out)"
    # new entries go to the first corpus dir ($out); the committed seeds are read only
    "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$art/" "$out" "$seed" >"$art/fuzz.log" 2>&1
    rc=$?
    after=$(find "$out" -type f | wc -l)
    stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$art/fuzz.log" |
        sed 's/stat:://' | tr -s ' \n' ' ')
    if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$art/fuzz.log"; then
        repro=$(ls -t "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* 2>/dev/null | head -1)
        echo "FAIL $t (exit $rc): $(grep -m1 -E 'ERROR|runtime error' "$art/fuzz.log")"
        echo "     reproducer: ${repro:-none written}; replay: $exe ${repro:-}"
        echo "     log: $art/fuzz.log"
        failed+=("$t")
    else
        echo "ok   $t: $stats new corpus entries $((after - before))"
    fi
done
echo "${#TARGETS[@]} targets, ${#failed[@]} failed${failed:+: ${failed[*]}}"
[ "${#failed[@]}" = 0 ]
