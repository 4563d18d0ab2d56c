#!/bin/bash
# it_demo.sh: the main-job command (demo.sh) on a small data size, under the seed's
# constraint: inside a 2 GiB memory cgroup, writing nothing to local disk.
#
# demo.sh runs against the test RGW (--use-env) with the binaries of this build. Then:
# - the CSV in the bucket, fetched with a direct GET, has exactly the rows that a
#   Python reference (json / ast.literal_eval over the input objects, fetched directly
#   from S3 too) selects, in the same order;
# - the cgroup's peak memory stayed under 2 GiB and nothing in it was OOM-killed;
# - /proc/PID/io write_bytes of s3mount and of filter stayed near zero (< 1 MiB).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
IT_BUCKETS+=("$B")   # demo.sh creates it; lib.sh removes it at exit
ROOT=${S3M_SRC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(new_dir work)
LIMIT=$((2 << 30))

# A memory cgroup with a 2 GiB limit (cgroup v2 or v1, whichever this machine has).
CG=""
if [ -w /sys/fs/cgroup/cgroup.procs ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    base=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
    CG=$base/s3m-it-demo-$$
    mkdir "$CG" && echo "$LIMIT" >"$CG/memory.max" || CG=""
    PEAK_FILE=memory.peak
elif [ -d /sys/fs/cgroup/memory ]; then
    base=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
    CG=$base/s3m-it-demo-$$
    mkdir "$CG" && echo "$LIMIT" >"$CG/memory.limit_in_bytes" || CG=""
    PEAK_FILE=memory.max_usage_in_bytes
fi
[ -n "$CG" ] || fatal "cannot create a memory cgroup (neither cgroup v2 memory.max nor v1 memory.limit_in_bytes is writable)"
trap 'rmdir "$CG" 2>/dev/null; it_exit' EXIT

S3M_DEMO_WORK=$W bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$CG" \
    "$ROOT/demo.sh" --use-env --bucket "$B" --size 12 --files 2 --report-io "$W/io.txt" \
    >"$W/demo.out" 2>&1
rc=$?
check_eq "demo.sh exit status" "$rc" 0 || tail -30 "$W/demo.out" >&2

peak=$(cat "$CG/$PEAK_FILE" 2>/dev/null || echo 0)
echo "cgroup peak memory: $((peak >> 20)) MiB (limit $((LIMIT >> 20)) MiB)"
check "cgroup peak memory below 2 GiB" test "$peak" -gt 0 -a "$peak" -lt "$LIMIT"
if [ -f "$CG/memory.events" ]; then
    check_eq "no OOM kill in the cgroup" "$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events")" 0
elif [ -f "$CG/memory.oom_control" ]; then
    check_eq "no OOM kill in the cgroup" "$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control")" 0
fi

if [ -f "$W/io.txt" ]; then
    cat "$W/io.txt"
    m=$(awk '$1 == "s3mount_write_bytes" { print $2 }' "$W/io.txt")
    f=$(awk '$1 == "filter_write_bytes" { print $2 }' "$W/io.txt")
    check "s3mount wrote < 1 MiB to local disk ($m bytes)" test "${m:-X}" -lt 1048576
    check "filter wrote < 1 MiB to local disk ($f bytes)" test "${f:-X}" -lt 1048576
else
    fail "demo.sh wrote no I/O report"
fi

# The CSV, and the inputs, straight from S3 (not through the mount).
get_file "$B" out/de-large-payments.csv "$W/out.csv" || fail "GET of the CSV from the bucket"
mkdir -p "$W/in"
s3cli cp --no-progress --recursive "s3://$B/events/" "$W/in/" >/dev/null || fail "GET of the inputs"
check "the bucket holds 2 JSON and 2 pydict inputs" \
    test "$(find "$W/in" -name '*.gz' | wc -l)" -eq 4

python3 - "$W/in" "$W/out.csv" >"$W/ref.out" 2>&1 <<'PY'
import ast, csv, gzip, json, os, sys
root, out = sys.argv[1], sys.argv[2]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
want = []
for path in files:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line) if path.endswith(".json.gz") else ast.literal_eval(line)
            u = r.get("user") or {}
            a = r.get("amount")
            if (r.get("event_type") in ("purchase", "refund", "subscription_renew")
                    and u.get("country") == "DE" and isinstance(a, (int, float))
                    and not isinstance(a, bool) and a > 100):
                want.append([r["id"], r["ts"], str(u["id"]), u["name"], a])
with open(out, newline="", encoding="utf-8") as fh:
    rows = list(csv.reader(fh))
assert rows[0] == ["id", "ts", "user.id", "user.name", "amount"], rows[0]
got = rows[1:]
print("rows: csv %d, reference %d" % (len(got), len(want)))
assert len(want) > 50, "too few reference rows to mean anything"
assert len(got) == len(want), "row count differs"
for g, w in zip(got, want):
    assert g[:4] == w[:4] and float(g[4]) == float(w[4]), (g, w)
print("identical")
PY
rc=$?
cat "$W/ref.out"
check_eq "CSV in the bucket == Python reference over the same objects" "$rc" 0
