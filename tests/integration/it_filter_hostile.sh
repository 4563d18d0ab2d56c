#!/bin/bash
# it-timeout: 300
# it_filter_hostile.sh: the filter on broken and hostile input: a truncated gzip, a corrupt
# gzip, and lines built to hurt a parser (100,000 nesting levels, huge numbers, invalid
# UTF-8, NUL bytes, a 100 MB line, Python-dict oddities). Each must give a clear report
# (exit 1 or 3 with the file named on stderr) and no crash, and the good records around
# the bad ones must still come out. Needs no S3 server (only S3M_BUILD_DIR).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -n "${S3M_BUILD_DIR:-}" ] || fatal "S3M_BUILD_DIR is not set"
F=$S3M_BUILD_DIR/filter/filter
[ -x "$F" ] || fatal "filter binary missing: $F"
D=$(new_dir data)

# run_filter NAME ARGS...: run the filter (60 s cap), output in $D/NAME.out/.err, status in RC.
run_filter() {
    local n=$1
    shift
    timeout 60 "$F" "$@" >"$D/$n.out" 2>"$D/$n.err"
    RC=$?
    echo "  [$n] exit $RC; stderr: $(head -c 300 "$D/$n.err" | tr '\n' '|')"
}
# expect NAME WANT_RC_REGEX: no crash/timeout, exit status as wanted, a report on stderr
# when the status is not 0.
expect() {
    local n=$1 want=$2
    if [ "$RC" -ge 124 ]; then
        fail "$n: crashed or hung (exit $RC)"
        return
    fi
    [[ "$RC" =~ ^($want)$ ]] && ok "$n: exit $RC" || fail "$n: exit $RC, want $want"
    if [ "$RC" != 0 ]; then
        [ -s "$D/$n.err" ] && ok "$n: reported on stderr" || fail "$n: exit $RC with nothing on stderr"
    fi
}
# has_ids NAME ID...: the CSV output holds these ids (good records survive).
has_ids() {
    local n=$1 id miss=""
    shift
    for id in "$@"; do grep -qx "$id" <(cut -d, -f1 "$D/$n.out" | tr -d '\r') || miss="$miss $id"; done
    [ -z "$miss" ] && ok "$n: good records kept ($*)" || fail "$n: good records missing:$miss"
}

# ---- gzip: truncated and corrupt ------------------------------------------------------------------
seq 1 200000 | awk '{ printf "{\"id\": %d, \"name\": \"user-%d\", \"v\": %d.5}\n", $1, $1, $1 % 97 }' >"$D/good.jsonl"
gzip -c "$D/good.jsonl" >"$D/good.gz"
sz=$(stat -c %s "$D/good.gz")
head -c $((sz / 2)) "$D/good.gz" >"$D/trunc.gz"
run_filter trunc -c id "$D/trunc.gz"
expect trunc 3
check "truncated gzip: the report names the file" grep -q trunc.gz "$D/trunc.err"
rows=$(($(wc -l <"$D/trunc.out") - 1))
check "truncated gzip: the records before the cut came out ($rows rows)" test "$rows" -gt 1000 -a "$rows" -lt 200000
cp "$D/good.gz" "$D/corrupt.gz"
printf '\x55\xaa\x55\xaa\x55\xaa\x55\xaa' | dd of="$D/corrupt.gz" bs=1 seek=$((sz / 3)) conv=notrunc status=none
run_filter corrupt -c id "$D/corrupt.gz"
expect corrupt 3
check "corrupt gzip: the report names the file" grep -q corrupt.gz "$D/corrupt.err"
# Streaming: rows decoded from the damaged stream come out before the gzip CRC at the end
# can show the damage; the CRC mismatch and exit 3 are what tell the user.
check "corrupt gzip: the CRC mismatch is reported" grep -q 'CRC mismatch' "$D/corrupt.err"
head -c 100 "$D/good.gz" >"$D/tiny.gz"
run_filter tiny -c id "$D/tiny.gz"
expect tiny 3
printf 'not gzip at all\n' | gzip -c | head -c 10 >"$D/header-only.gz"
run_filter header-only -c id "$D/header-only.gz"
expect header-only 3
# a corrupt file among good ones: the others are processed
run_filter mixed -c id "$D/corrupt.gz" "$D/good.jsonl"
expect mixed 3
check "corrupt gzip among good files: the good file is complete" \
    test "$(grep -c . "$D/mixed.out")" -gt 200000

# ---- hostile lines ----------------------------------------------------------------------------------
python3 - "$D" <<'EOF'
import sys
d = sys.argv[1]
good = lambda i: b'{"id": %d, "name": "ok"}\n' % i
with open(d + "/hostile.jsonl", "wb") as f:
    f.write(good(1))
    f.write(b'{"id": 2, "deep": ' + b"[" * 100000 + b"]" * 100000 + b"}\n")   # 100k levels
    f.write(good(3))
    f.write(b'{"id": 4, "deep": ' + b'{"a":' * 100000 + b"1" + b"}" * 100000 + b"}\n")
    f.write(good(5))
    f.write(b'{"id": 6, "deep": ' + b"[" * 100000 + b"\n")                  # never closed
    f.write(good(7))
    f.write(b'{"id": 8, "n": ' + b"9" * 100000 + b"}\n")                     # 100k digits
    f.write(b'{"id": 9, "n": 1e999999, "m": -1e-999999}\n')
    f.write(b'{"id": 10, "n": 123456789012345678901234567890.5e+400}\n')
    f.write(good(11))
    f.write(b'{"id": 12, "name": "\xff\xfe\xc0\xaf\xed\xa0\x80 bad utf8"}\n')
    f.write(b'{"id": 13, "name": "\\ud800 lone surrogate \\udfff"}\n')
    f.write(b'{"id": 14, "na\x00me": "nul\x00inside"}\n')
    f.write(b'\x00\x00\x00\x00\n')
    f.write(good(15))
    f.write(b'{"id": 16, "name": "' + b"x" * (100 << 20) + b'"}\n')          # a 100 MB line
    f.write(good(17))
    f.write(b'{"id": 18, "name": "unterminated\n')
    f.write(b'{"id": 19' + b', "k": 1' * 200000 + b"}\n")                    # 200k keys
    f.write(good(20))
with open(d + "/hostile.py", "wb") as f:
    f.write(b"{'id': 1, 'name': 'ok'}\n")
    f.write(b"{'id': 2, 'deep': " + b"(" * 100000 + b")" * 100000 + b"}\n")
    f.write(b"{'id': 3, 'name': 'ok'}\n")
    f.write(b"{'id': 4, 'b': b'\\xff\\x00', 'u': '\\U0010ffff\\U00110000'}\n")
    f.write(b"{'id': 5, 'n': " + b"9" * 100000 + b", 'z': 1e999999}\n")
    f.write(b"{'id': 6, 's': '\x00\xff'}\n")
    f.write(b"{'id': 7, 'x': {1: 2, (1, 2): 3, None: True}}\n")
    f.write(b"{'id': 8, 'name': 'ok'}\n")
EOF
run_filter hostile -c id,name,n -w 'id > 0' "$D/hostile.jsonl"
expect hostile '1|3'
has_ids hostile 1 3 5 7 11 15 17 20
check "100 MB line: reported as too long, with file:line" grep -q 'hostile.jsonl:' "$D/hostile.err"
run_filter hostile-strict --strict -c id "$D/hostile.jsonl"
expect hostile-strict '1|3'
run_filter hostile-numbers -c id -w 'n > 5' "$D/hostile.jsonl"
expect hostile-numbers '0|1|3'
run_filter hostile-bigline --max-line 200M -c id,name "$D/hostile.jsonl"
expect hostile-bigline '0|1|3'
has_ids hostile-bigline 1 15 17 20
run_filter hostile-py --input-format pydict -c id,name "$D/hostile.py"
expect hostile-py '0|1|3'
has_ids hostile-py 1 3 8
run_filter hostile-auto -c id,name -f jsonl "$D/hostile.py" "$D/hostile.jsonl"
expect hostile-auto '0|1|3'
gzip -c "$D/hostile.jsonl" >"$D/hostile.jsonl.gz"
run_filter hostile-gz -c id "$D/hostile.jsonl.gz"
expect hostile-gz '1|3'
has_ids hostile-gz 1 3 5 7 11 15 17 20
# ---- the raw prefilter and --validate (issue 14) -----------------------------------------------
# With a string literal in -w, lines that cannot hold it are skipped unparsed: a malformed
# line among them is not reported (the summary counts the skipped lines); --validate, and
# --strict, parse every line. Over-long lines are reported either way.
python3 - "$D" <<'EOF'
import sys
d = sys.argv[1]
with open(d + "/pf.jsonl", "wb") as f:
    f.write(b'{"id": 1, "name": "ok"}\n')
    f.write(b'{"id": 2, "name": "ok"\n')                   # bad, holds "ok": parsed, reported
    f.write(b'{"id": 3, "deep": ' + b"[" * 100000 + b"\n")  # bad, no "ok": skipped by default
    f.write(b'{"id": 4, "name": "ok"}\n')
    f.write(b"\x00\x00\x00\n")                              # bad, skipped by default
    f.write(b'{"id": 6, "name": "o\\u006b"}\n')             # escaped "ok": parsed, a row
    f.write(b'{"id": 7, "name": "no"}\n')
with open(d + "/pf-quiet.jsonl", "wb") as f:
    f.write(b'{"id": 1, "name": "ok"}\n{"id": 2, oops}\n{"id": 3, "name": "ok"}\n')
EOF
run_filter pf -w "name == 'ok'" -c id "$D/pf.jsonl"
expect pf 1
has_ids pf 1 4 6
check "prefilter: 3 rows" test "$(grep -c . "$D/pf.out")" = 4
check "prefilter: the parsed bad line 2 is reported" grep -q 'pf.jsonl:2: bad record' "$D/pf.err"
check "prefilter: the skipped bad lines 3 and 5 are not" \
    bash -c "! grep -qE 'pf.jsonl:(3|5):' '$D/pf.err'"
check "prefilter: the summary counts 3 skipped lines" grep -q '3 lines skipped unvalidated' "$D/pf.err"
run_filter pf-validate --validate -w "name == 'ok'" -c id "$D/pf.jsonl"
expect pf-validate 1
check "--validate: the same rows" cmp -s "$D/pf.out" "$D/pf-validate.out"
for l in 2 3 5; do
    check "--validate: line $l reported" grep -q "pf.jsonl:$l: bad record" "$D/pf-validate.err"
done
check "--validate: nothing skipped" bash -c "! grep -q skipped '$D/pf-validate.err'"
run_filter pf-quiet -w "name == 'ok'" -c id "$D/pf-quiet.jsonl"
expect pf-quiet 0
check "prefilter: a skipped bad line leaves exit 0, counted as skipped" \
    grep -q '1 lines skipped unvalidated' "$D/pf-quiet.err"
run_filter pf-quiet-validate --validate -w "name == 'ok'" -c id "$D/pf-quiet.jsonl"
expect pf-quiet-validate 1
check "--validate: the bad line 2 is reported" grep -q 'pf-quiet.jsonl:2: bad record' "$D/pf-quiet-validate.err"
run_filter pf-quiet-strict --strict -w "name == 'ok'" -c id "$D/pf-quiet.jsonl"
expect pf-quiet-strict 1
check "--strict implies --validate: stops at the bad line 2" grep -q 'pf-quiet.jsonl:2: bad record' "$D/pf-quiet-strict.err"
check "--strict: only the row before it" test "$(grep -c . "$D/pf-quiet-strict.out")" = 2
run_filter hostile-pf -w "name == 'ok'" -c id "$D/hostile.jsonl"
expect hostile-pf '1|3'
has_ids hostile-pf 1 3 5 7 11 15 17 20
check "prefilter: the 100 MB line is still reported as too long" grep -q 'longer than --max-line' "$D/hostile-pf.err"

for n in trunc corrupt hostile hostile-py hostile-gz; do
    sed 's/^/    /' "$D/$n.err" | head -c 600
done
