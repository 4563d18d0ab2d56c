#!/bin/bash
# bench_scan.sh: the filter core (scan + predicate + CSV, bench_scan.c) of this tree against a
# baseline build of another commit, side by side in ONE run (not a test; never in ctest).
# Runs alternate baseline/new so load from the neighbours hits both alike; each figure is the
# median over RUNS of bench_scan's best-of-ROUNDS thread CPU time, as CPU-s per GB of
# uncompressed records. Rows: `amount > 100` alone (no literal: every line is scanned) and
# the standard predicate of ../shared/notes/filter-peers.md without and with the raw
# prefilter, for JSON and Python-dict lines of ../shared/peers/gen_records.py.
#
# usage: tests/bench/bench_scan.sh [--baseline REF] [NEW_BENCH_SCAN]
#   --baseline REF  commit to compare with (default main); built once into the cache dir
#   NEW_BENCH_SCAN  default $S3M_BUILD_DIR/tests/bench/bench_scan, else build/tests/bench/...
#   BENCH_CACHE     cache dir (default /tmp/s3m-bench-scan); RECORDS (default 200000),
#   RUNS (default 5), ROUNDS (default 3)
#   CALLGRIND=1     also print valgrind callgrind instruction counts (repeatable on a busy
#                   machine; on a 20,000-record sample)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=$(cd "$ROOT/../shared/peers" && pwd)
REF=main
if [ "${1:-}" = --baseline ]; then
	REF=$2
	shift 2
fi
NEW=${1:-${S3M_BUILD_DIR:+$S3M_BUILD_DIR/tests/bench/bench_scan}}
NEW=${NEW:-$ROOT/build/tests/bench/bench_scan}
CACHE=${BENCH_CACHE:-/tmp/s3m-bench-scan}
RECORDS=${RECORDS:-200000}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-3}
[ -x "$NEW" ] || { echo "no bench_scan at $NEW (cmake --build build --target bench_scan)" >&2; exit 2; }
mkdir -p "$CACHE"

# Baseline: REF's tree exported and built once per commit id.
rev=$(git -C "$ROOT" rev-parse --verify "$REF^{commit}") || exit 2
BASE_SRC=$CACHE/base-$rev
BASE=$BASE_SRC/build/tests/bench/bench_scan
if [ ! -x "$BASE" ]; then
	echo "building baseline $REF ($rev) in $BASE_SRC ..." >&2
	rm -rf "$BASE_SRC" && mkdir -p "$BASE_SRC" &&
		git -C "$ROOT" archive "$rev" | tar -x -C "$BASE_SRC" &&
		cmake -S "$BASE_SRC" -B "$BASE_SRC/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BASE_SRC/build" -j2 --target bench_scan >/dev/null ||
		{ echo "baseline build failed" >&2; exit 2; }
fi

for fmt in json pydict; do
	f=$CACHE/ev$RECORDS.$fmt
	if [ ! -s "$f" ]; then
		echo "generating $f ..." >&2
		python3 "$PEERS/gen_records.py" --records "$RECORDS" --seed 42 --format $fmt --out - |
			gzip -dc > "$f.tmp" && mv "$f.tmp" "$f"
	fi
done

STD="event_type in ['purchase', 'refund', 'subscription_renew'] and user.country == 'DE' and amount > 100"
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
run() { # binary file fmt prefilter expr -> CPU-s/GB and the CSV byte count
	BENCH_PREFILTER=$4 "$1" "$2" "$3" "$ROUNDS" "$5" |
		sed -n 's/.*= \([0-9.]*\) CPU-s\/GB.* \([0-9]*\) CSV bytes.*/\1 \2/p'
}

echo "bench_scan: baseline $REF (${rev:0:12}) vs $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- filter || echo '+dirty'), $RECORDS records, median of $RUNS runs"
echo "CPU-s/GB = thread CPU seconds of scan + predicate + CSV per GB of uncompressed records"
printf '| %-6s | %-32s | %9s | %9s | %7s |\n' format predicate baseline new change
printf '|%s|%s|%s|%s|%s|\n' -------- ---------------------------------- ----------- ----------- ---------
for fmt in json pydict; do
	f=$CACHE/ev$RECORDS.$fmt
	for row in "0|amount > 100|amount > 100" "0|standard, no prefilter|$STD" "1|standard, prefilter|$STD"; do
		pf=${row%%|*}
		rest=${row#*|}
		name=${rest%%|*}
		expr=${rest#*|}
		b=() n=()
		for ((i = 0; i < RUNS; i++)); do
			rb=$(run "$BASE" "$f" $fmt $pf "$expr")
			rn=$(run "$NEW" "$f" $fmt $pf "$expr")
			if [ "${rb#* }" != "${rn#* }" ]; then
				echo "output size differs: baseline ${rb#* } new ${rn#* } bytes ($fmt, $name)" >&2
				exit 1
			fi
			b+=("${rb% *}")
			n+=("${rn% *}")
		done
		mb=$(printf '%s\n' "${b[@]}" | median)
		mn=$(printf '%s\n' "${n[@]}" | median)
		printf '| %-6s | %-32s | %9s | %9s | %6.1f%% |\n' $fmt "$name" "$mb" "$mn" \
			"$(awk -v a="$mb" -v b="$mn" 'BEGIN {print (b - a) / a * 100}')"
	done
done

if [ "${CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
	echo
	echo "callgrind instructions (whole process, first 20,000 records):"
	printf '| %-6s | %-32s | %12s | %12s | %7s |\n' format predicate baseline new change
	printf '|%s|%s|%s|%s|%s|\n' -------- ---------------------------------- -------------- -------------- ---------
	for fmt in json pydict; do
		s=$CACHE/ev20000.$fmt
		[ -s "$s" ] || head -n 20000 "$CACHE/ev$RECORDS.$fmt" > "$s"
		for row in "amount > 100|amount > 100" "standard, no prefilter|$STD"; do
			name=${row%%|*}
			expr=${row#*|}
			ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$s" $fmt 1 \
				"$expr" 2>&1 | awk '/Collected/ {print $4}'; }
			ib=$(ir "$BASE")
			in=$(ir "$NEW")
			printf '| %-6s | %-32s | %12s | %12s | %6.1f%% |\n' $fmt "$name" "$ib" "$in" \
				"$(awk -v a="$ib" -v b="$in" 'BEGIN {print (b - a) / a * 100}')"
		done
	done
fi
