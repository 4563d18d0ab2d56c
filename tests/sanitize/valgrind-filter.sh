#!/bin/bash
# valgrind-filter.sh: memcheck (leaks + invalid accesses) of the filter over the shared
# datasets, with and without a predicate, with ISA-L and zlib, plus error paths (a
# truncated gzip, a bad expression, a too-long line). Not part of ctest (valgrind makes
# the filter 20-50x slower).
#
# Usage: tests/sanitize/valgrind-filter.sh [-b BUILD_DIR] [-j JOBS]
#   -b DIR   build directory (default /tmp/build-valgrind; a plain RelWithDebInfo build:
#            valgrind cannot run ASan binaries)
# Data: ../shared/datasets (S3M_SHARED_DIR overrides). Exit 0 only when every run is
# clean: no definite/indirect leak, no memcheck error, and the filter's own exit status is
# the expected one.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${S3M_SHARED_DIR:-$ROOT/../shared}
BUILD=/tmp/build-valgrind
JOBS=2
while getopts "b:j:h" opt; do
    case $opt in
    b) BUILD=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    h) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 2; }
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 &&
    cmake --build "$BUILD" --target filter -j "$JOBS" >"$BUILD/vg-build.log" 2>&1 ||
    { tail -20 "$BUILD/vg-build.log" 2>/dev/null; echo "build failed" >&2; exit 2; }
F=$BUILD/filter/filter
DS=$SHARED/datasets
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vg-filter.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
pass=0
failn=0

# vg NAME WANT_STATUS FILTER_ARGS...: one memcheck run.
vg() {
    local name=$1 want=$2 st
    shift 2
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no \
        --log-file="$TMP/$name.vg" "$F" -q "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    st=$?
    local errs leak
    errs=$(grep -o 'ERROR SUMMARY: [0-9]*' "$TMP/$name.vg" | tail -1 | grep -o '[0-9]*$')
    leak=$(grep -E 'definitely lost|indirectly lost' "$TMP/$name.vg" | tr -s ' ' | cut -d' ' -f2- | paste -sd';')
    if [ "$st" = "$want" ] && [ "${errs:-1}" = 0 ]; then
        pass=$((pass + 1))
        echo "ok   - $name: exit $st, 0 memcheck errors, $(wc -l <"$TMP/$name.out") output lines ${leak:+($leak)}"
    else
        failn=$((failn + 1))
        echo "FAIL - $name: exit $st (want $want), memcheck errors ${errs:-?} ${leak:+($leak)}"
        grep -E -A12 'Invalid|uninitialised|definitely lost|indirectly lost' "$TMP/$name.vg" | head -40
        head -5 "$TMP/$name.err"
    fi
}

# the amazon-mcauley files are cut samples (truncated gzip streams: exit 3 with a report);
# derived/ holds the same data cut at complete lines
vg music-meta 3 -c asin,title,price,salesRank.Music "$DS/amazon-mcauley/meta_Digital_Music.json.gz"
vg music-reviews-where 3 -c reviewerID,asin,overall -w 'overall >= 4 and reviewText contains "love"' \
    "$DS/amazon-mcauley/reviews_Digital_Music_5.json.gz"
vg qa-zlib 0 --zlib -c asin,question,answer "$DS/amazon-mcauley/qa_Appliances.json.gz"
vg gharchive-j2 0 -j 2 -c id,type,actor.login,repo.name,payload.size -w 'type in ["PushEvent","ForkEvent"]' \
    "$DS/gharchive"
vg humaneval-jsonl 0 -f jsonl -c task_id,entry_point "$DS/humaneval/HumanEval.jsonl.gz"
vg derived-tsv 0 -f tsv -c asin,title "$DS/derived/meta_Digital_Music.complete-lines.json.gz"
vg derived-reviews-where 0 -c reviewerID,asin,overall -w 'overall >= 4 and reviewText contains "love"' \
    "$DS/derived/reviews_Digital_Music_5.complete-lines.json.gz"
# error paths
sz=$(stat -c %s "$DS/gharchive/2015-01-01-0.json.gz")
head -c $((sz / 2)) "$DS/gharchive/2015-01-01-0.json.gz" >"$TMP/trunc.json.gz"
vg truncated-gzip 3 -c id "$TMP/trunc.json.gz"
vg bad-expression 2 -c id -w 'type in [' "$DS/humaneval/HumanEval.jsonl.gz"
vg max-line 3 --max-line 4K -c id "$DS/gharchive/2015-01-01-1.json.gz"
printf '{"id": 1, "x": 2}\n{"id": 2, "x": [[[\n{"id": 3, "x": 5}\n' >"$TMP/bad.jsonl"
vg bad-record 1 -c id,x -w 'x > 1' "$TMP/bad.jsonl"
vg strict-bad-record 1 --strict -c id,x "$TMP/bad.jsonl"
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
