#!/bin/bash
# bench_filter.sh: the filter against its peers in ONE run, one table (not a test; never in
# ctest). Data: ~1 GB-uncompressed JSON-lines gz and the same records as Python dict lines,
# made by ../shared/peers/gen_records.py (1,700,000 records, seed 42: the files of
# ../shared/notes/filter-peers.md) and kept in a cache dir. Predicate and columns are those
# of filter-peers.md; every tool's row count is checked against the filter's.
#
# usage: tests/bench/bench_filter.sh [FILTER_BINARY]
#   FILTER_BINARY  default $S3M_BUILD_DIR/filter/filter, else build/filter/filter
#   BENCH_CACHE    cache dir for data, DuckDB's npm module, outputs (default /tmp/s3m-bench-filter)
#   RUNS           runs per fast command, median reported (default 3; slow peers run once)
#   SKIP_SLOW=1    leave out jq, Miller and the Python peers
#   MANY_ONLY=1    only the many-files / one-file table (filter vs the igzip floor, with and
#                  without the raw prefilter; issue 14)
#   MANY_FORMATS   formats of that table (default "json pydict")
# Needs: python3, /usr/bin/time (Debian `time`), igzip (Debian `isal`); optional peers:
# python3-ujson, jq, miller (Debian), node + npm (DuckDB's @duckdb/node-api is npm-installed
# into the cache dir on first use). A missing peer is listed as such, never silently dropped.
# The machine is shared: figures are wall-clock; CPU% shows when a run did not get its cores.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=$(cd "$ROOT/../shared/peers" && pwd)
FILTER=${1:-${S3M_BUILD_DIR:+$S3M_BUILD_DIR/filter/filter}}
FILTER=${FILTER:-$ROOT/build/filter/filter}
CACHE=${BENCH_CACHE:-/tmp/s3m-bench-filter}
RUNS=${RUNS:-3}
PY=/usr/bin/python3 # Debian's python: the one that sees python3-ujson
[ -x "$FILTER" ] || { echo "no filter binary at $FILTER (pass it as \$1)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
mkdir -p "$CACHE/out"
OUT=$CACHE/out
J=$CACHE/events.json.gz
P=$CACHE/events.pydict.gz
SUBP=$CACHE/sub100.pydict.gz
SUBJ=$CACHE/sub100.json.gz

gen() { # format file
	[ -s "$2" ] && return
	echo "generating $2 (gen_records.py, 1,700,000 records, seed 42) ..." >&2
	$PY "$PEERS/gen_records.py" --records 1700000 --seed 42 --format "$1" --out "$2.tmp" &&
		mv "$2.tmp" "$2"
}
MANY_FORMATS=${MANY_FORMATS:-json pydict}
usize() { # cached uncompressed size
	[ -s "$1.usize" ] || zcat "$1" | wc -c > "$1.usize"
	cat "$1.usize"
}
gen json "$J"
UJ=$(usize "$J") UP=0
if [ "${MANY_ONLY:-0}" != 1 ] || [[ "$MANY_FORMATS" == *pydict* ]]; then
	gen pydict "$P"
	UP=$(usize "$P")
fi
if [ "${MANY_ONLY:-0}" != 1 ]; then
	[ -s "$SUBJ" ] || zcat "$J" | head -n 166000 | gzip -6 -n > "$SUBJ"
	[ -s "$SUBP" ] || zcat "$P" | head -n 166000 | gzip -6 -n > "$SUBP"
	USJ=$(usize "$SUBJ"); USP=$(usize "$SUBP")
fi

WHERE="event_type in ['purchase', 'refund', 'subscription_renew'] and user.country == 'DE' and amount > 100"
COLS=id,ts,user.id,user.name,amount

# DuckDB via npm, into the cache dir (once)
DUCK=$CACHE/duckdb
if command -v node >/dev/null && [ ! -d "$DUCK/node_modules/@duckdb/node-api" ] &&
	command -v npm >/dev/null; then
	mkdir -p "$DUCK" && (cd "$DUCK" && npm init -y >/dev/null 2>&1 &&
		npm install @duckdb/node-api >/dev/null 2>&1) ||
		echo "DuckDB: npm install @duckdb/node-api failed" >&2
fi
HAVE_DUCK=0
[ -d "$DUCK/node_modules/@duckdb/node-api" ] && HAVE_DUCK=1
UJSON=json
$PY -c 'import ujson' 2>/dev/null && UJSON=ujson

cat "$J" "$P" "$SUBJ" "$SUBP" > /dev/null 2>&1 # page cache

ROWS=()
NOTES=()
# bench NAME UBYTES RUNS CSV|- COMMAND...   (COMMAND run by bash -c)
bench() {
	local name=$1 ubytes=$2 runs=$3 csv=$4
	shift 4
	local walls=() rss=0 cpu=() cpus=() rc=0 i t m c u y
	for ((i = 0; i < runs; i++)); do
		/usr/bin/time -f "%e %M %P %U %S" -o "$OUT/time.txt" bash -c "$*" 2> "$OUT/stderr.txt"
		rc=$?
		read -r t m c u y < <(tail -1 "$OUT/time.txt")
		walls+=("$t")
		cpu+=("${c%\%}")
		cpus+=("$(awk -v u="$u" -v s="$y" 'BEGIN { print u + s }')")
		((m > rss)) && rss=$m
		if ((rc != 0)); then
			NOTES+=("$name: exit $rc: $(tail -c 300 "$OUT/stderr.txt" | tr '\n' ' ')")
			break
		fi
	done
	local med
	med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	local medcpu
	medcpu=$(printf '%s\n' "${cpu[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	local medcpus
	medcpus=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	local rows=-
	if [ "$csv" != - ]; then
		rows=$($PY -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="", encoding="utf-8"))) - 1)' "$csv" 2>/dev/null || echo "?")
	fi
	local mbps
	mbps=$(awk -v b="$ubytes" -v t="$med" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else print "-" }')
	local mbpc
	mbpc=$(awk -v b="$ubytes" -v t="$medcpus" 'BEGIN { if (t > 0) printf "%.0f", b / 1e6 / t; else print "-" }')
	ROWS+=("$(printf '| %-56s | %6s | %7s | %5s%% | %7s | %7s | %7.1f | %6s | %s |' "$name" "$mbps" "$med" "$medcpu" "$medcpus" "$mbpc" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$rows" "$runs")")
	echo "${ROWS[-1]}" >&2
	LAST_MBPS=$mbps LAST_CPUS=$medcpus LAST_RSS=$rss LAST_ROWS=$rows
}

# many NAME UBYTES FLOOR_MBPS CSV|- COMMAND...: a row of the many-files table (issue 14):
# MB/s, the ratio to the floor measured in the same run, CPU-s per GB, RSS.
MANY=()
many() {
	local name=$1 ubytes=$2 floor=$3
	shift 3
	bench "$name" "$ubytes" "$RUNS" "$@"
	MANY+=("$(printf '| %-62s | %6s | %5s | %6s | %7.1f | %7s |' "$name" "$LAST_MBPS" \
		"$(awk -v a="$LAST_MBPS" -v b="$floor" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')" \
		"$(awk -v c="$LAST_CPUS" -v b="$ubytes" 'BEGIN { printf "%.2f", c / (b / 1e9) }')" \
		"$(awk -v k="$LAST_RSS" 'BEGIN{print k/1024}')" "$LAST_ROWS")")
}

F="$FILTER --no-progress -q"
NP=$(nproc)
# ---- many files (issue 14): 4 copies of each file, -j $(nproc) against $(nproc) parallel
# igzip -dc over the same files, with and without the raw prefilter, on the standard
# predicate and on `amount > 100` alone (no literal: nothing to prefilter); and one file
# against one igzip. The copies are symlinks (same page cache, separate streams).
for k in 1 2 3 4; do ln -sf "$J" "$CACHE/many$k.json.gz"; ln -sf "$P" "$CACHE/many$k.pydict.gz"; done
MJ="$CACHE/many1.json.gz $CACHE/many2.json.gz $CACHE/many3.json.gz $CACHE/many4.json.gz"
MP="$CACHE/many1.pydict.gz $CACHE/many2.pydict.gz $CACHE/many3.pydict.gz $CACHE/many4.pydict.gz"
for fmt in $MANY_FORMATS; do
	if [ $fmt = json ]; then files=$MJ one=$J ub=$UJ; else files=$MP one=$P ub=$UP; fi
	bench "floor: $NP x igzip -dc, 4 $fmt files" "$((4 * ub))" "$RUNS" - \
		"printf '%s\\n' $files | xargs -P $NP -n 1 sh -c 'igzip -dc \"\$0\" > /dev/null'"
	fl=$LAST_MBPS
	MANY+=("$(printf '| %-62s | %6s | %5s | %6s | %7s | %7s |' "floor: $NP x igzip -dc, 4 $fmt files" "$fl" "1.00x" "$(awk -v c="$LAST_CPUS" -v b="$((4 * ub))" 'BEGIN { printf "%.2f", c / (b / 1e9) }')" "-" "-")")
	many "filter -j $NP, 4 $fmt files, standard predicate" "$((4 * ub))" "$fl" "$OUT/m_$fmt.csv" \
		"$F -j $NP -w \"$WHERE\" -c $COLS -o '$OUT/m_$fmt.csv' $files"
	many "filter -j $NP, 4 $fmt files, standard, --no-prefilter" "$((4 * ub))" "$fl" "$OUT/m_${fmt}_np.csv" \
		"$F -j $NP --no-prefilter -w \"$WHERE\" -c $COLS -o '$OUT/m_${fmt}_np.csv' $files"
	many "filter -j $NP, 4 $fmt files, amount > 100" "$((4 * ub))" "$fl" - \
		"$F -j $NP -w 'amount > 100' -c $COLS -o /dev/null $files"
	bench "floor: igzip -dc, 1 $fmt file" "$ub" "$RUNS" - "igzip -dc '$one' > /dev/null"
	fl=$LAST_MBPS
	MANY+=("$(printf '| %-62s | %6s | %5s | %6s | %7s | %7s |' "floor: igzip -dc, 1 $fmt file" "$fl" "1.00x" "$(awk -v c="$LAST_CPUS" -v b="$ub" 'BEGIN { printf "%.2f", c / (b / 1e9) }')" "-" "-")")
	many "filter, 1 $fmt file, standard predicate" "$ub" "$fl" "$OUT/o_$fmt.csv" \
		"$F -w \"$WHERE\" -c $COLS -o '$OUT/o_$fmt.csv' '$one'"
	many "filter, 1 $fmt file, standard, --no-prefilter" "$ub" "$fl" "$OUT/o_${fmt}_np.csv" \
		"$F --no-prefilter -w \"$WHERE\" -c $COLS -o '$OUT/o_${fmt}_np.csv' '$one'"
	many "filter, 1 $fmt file, amount > 100" "$ub" "$fl" - \
		"$F -w 'amount > 100' -c $COLS -o /dev/null '$one'"
	for x in m o; do
		cmp -s "$OUT/${x}_$fmt.csv" "$OUT/${x}_${fmt}_np.csv" ||
			NOTES+=("$x $fmt: the outputs with and without the prefilter DIFFER")
	done
done
print_many() {
	echo
	echo "many files / one file (issue 14): ratio = MB/s over the igzip floor of the same run;"
	echo "CPU-s/GB = user+sys CPU seconds per GB of records (all threads)"
	printf '| %-62s | %6s | %5s | %6s | %7s | %7s |\n' "command" "MB/s" "ratio" "CPU-s/GB" "RSS MiB" "rows"
	printf '|%s|--------|-------|--------|---------|---------|\n' "$(printf -- '-%.0s' {1..64})"
	printf '%s\n' "${MANY[@]}"
}
if [ "${MANY_ONLY:-0}" = 1 ]; then
	print_many
	for n in "${NOTES[@]}"; do echo "note: $n"; done
	exit 0
fi
bench "floor: zcat > /dev/null (zlib)" "$UJ" "$RUNS" - "zcat '$J' > /dev/null"
bench "floor: igzip -dc > /dev/null (ISA-L)" "$UJ" "$RUNS" - "igzip -dc '$J' > /dev/null"
bench "filter, JSON (ISA-L)" "$UJ" "$RUNS" "$OUT/f_json.csv" \
	"$F -w \"$WHERE\" -c $COLS -o '$OUT/f_json.csv' '$J'"
bench "filter, JSON, --zlib" "$UJ" "$RUNS" "$OUT/f_json_zlib.csv" \
	"$F --zlib -w \"$WHERE\" -c $COLS -o '$OUT/f_json_zlib.csv' '$J'"
bench "filter, JSON x2 files, -j 1" "$((2 * UJ))" "$RUNS" "$OUT/f_json2_j1.csv" \
	"$F -j 1 -w \"$WHERE\" -c $COLS -o '$OUT/f_json2_j1.csv' '$J' '$J'"
bench "filter, JSON x2 files, -j 2" "$((2 * UJ))" "$RUNS" "$OUT/f_json2_j2.csv" \
	"$F -j 2 -w \"$WHERE\" -c $COLS -o '$OUT/f_json2_j2.csv' '$J' '$J'"
bench "filter, pydict (ISA-L)" "$UP" "$RUNS" "$OUT/f_pydict.csv" \
	"$F -w \"$WHERE\" -c $COLS -o '$OUT/f_pydict.csv' '$P'"
bench "filter, pydict, --zlib" "$UP" "$RUNS" "$OUT/f_pydict_zlib.csv" \
	"$F --zlib -w \"$WHERE\" -c $COLS -o '$OUT/f_pydict_zlib.csv' '$P'"
bench "filter, pydict 100 MB subset" "$USP" "$RUNS" "$OUT/f_sub_pydict.csv" \
	"$F -w \"$WHERE\" -c $COLS -o '$OUT/f_sub_pydict.csv' '$SUBP'"
if ((HAVE_DUCK)); then
	for th in 1 2; do
		bench "DuckDB $(cd "$DUCK" && node -p 'require("@duckdb/node-api/package.json").version' 2>/dev/null), threads=$th" \
			"$UJ" "$RUNS" "$OUT/duck_t$th.csv" \
			"NODE_PATH='$DUCK/node_modules' node '$PEERS/duck_filter.js' '$J' '$OUT/duck_t$th.csv' $th"
	done
else
	NOTES+=("DuckDB: not run (node/npm or @duckdb/node-api unavailable)")
fi
if [ "${SKIP_SLOW:-0}" != 1 ]; then
	bench "Python + $UJSON + csv (seed method), 1 run" "$UJ" 1 "$OUT/py_$UJSON.csv" \
		"$PY '$PEERS/py_filter.py' $UJSON '$J' '$OUT/py_$UJSON.csv'"
	bench "Python + ast.literal_eval, pydict 100 MB subset, 1 run" "$USP" 1 "$OUT/py_lit_sub.csv" \
		"$PY '$PEERS/py_filter.py' literal_eval '$SUBP' '$OUT/py_lit_sub.csv'"
	if command -v jq >/dev/null; then
		bench "zcat + jq $(jq --version 2>/dev/null), 1 run" "$UJ" 1 "$OUT/jq.csv" \
			"'$PEERS/jq_filter.sh' '$J' '$OUT/jq.csv'"
	else
		NOTES+=("jq: not installed")
	fi
	if command -v mlr >/dev/null; then
		bench "Miller $(mlr --version 2>/dev/null | awk '{print $2}') --gzin, 1 run" "$UJ" 1 "$OUT/mlr.csv" \
			"mlr --ijsonl --ocsv --gzin filter 'm = {\"purchase\":1, \"refund\":1, \"subscription_renew\":1}; haskey(m, \$event_type) && is_map(\$user) && haskey(\$user, \"country\") && \$user[\"country\"] == \"DE\" && is_numeric(\$amount) && \$amount > 100' then flatten then cut -o -f $COLS '$J' > '$OUT/mlr.csv'"
	else
		NOTES+=("Miller: not installed (apt-get install miller)")
	fi
fi

echo
echo "filter benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "JSON file: $((UJ / 1000000)) MB uncompressed, $(($(stat -c %s "$J") / 1000000)) MB gzip; pydict file: $((UP / 1000000)) MB; subset: $((USP / 1000000)) MB"
echo "MB/s = MB (10^6 B) of uncompressed input per second of wall time (median of the runs);"
echo "CPU s = user+sys seconds (median), MB/CPU-s = MB per CPU-second: comparable on a busy machine."
echo
printf '| %-56s | %6s | %7s | %6s | %7s | %7s | %7s | %6s | %s |\n' "command" "MB/s" "wall s" "CPU" "CPU s" "MB/CPUs" "RSS MiB" "rows" "runs"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..58})" "--------" "---------" "--------" "---------" "---------" "---------" "--------" "------"
printf '%s\n' "${ROWS[@]}"
echo
# rows: every tool on the full JSON/pydict file must agree with the filter's JSON run
REF=$($PY -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="")))-1)' "$OUT/f_json.csv")
echo "reference rows (filter, JSON): $REF (filter-peers.md: 6,272)"
for f in f_json_zlib f_pydict f_pydict_zlib duck_t1 duck_t2 "py_$UJSON" jq mlr; do
	[ -f "$OUT/$f.csv" ] || continue
	n=$($PY -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="")))-1)' "$OUT/$f.csv")
	[ "$n" = "$REF" ] && s=same || s="DIFFERENT"
	echo "  $f: $n rows ($s)"
done
for f in f_json2_j1 f_json2_j2; do
	n=$($PY -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline="")))-1)' "$OUT/$f.csv")
	[ "$n" = "$((2 * REF))" ] && s=same || s="DIFFERENT"
	echo "  $f: $n rows (2 x reference: $s)"
done
cmp -s "$OUT/f_json.csv" "$OUT/f_pydict.csv" && echo "  filter JSON and pydict outputs are byte-identical" ||
	echo "  filter JSON and pydict outputs DIFFER"
[ -f "$OUT/f_sub_pydict.csv" ] && [ -f "$OUT/py_lit_sub.csv" ] && $PY "$PEERS/compare.py" "$OUT/py_lit_sub.csv" "$OUT/f_sub_pydict.csv"
[ -f "$OUT/py_$UJSON.csv" ] && $PY "$PEERS/compare.py" "$OUT/py_$UJSON.csv" "$OUT/f_json.csv"
print_many
for n in "${NOTES[@]}"; do echo "note: $n"; done
