#!/bin/bash
# checksrc.sh: the style rules that tools can hold (issue 15), run by ctest (unit.checksrc).
#   1. banned functions: sprintf, vsprintf, strcpy, strcat, strncpy, strncat, strtok, atoi,
#      atol, atoll, gets, tmpnam, mktemp (unbounded, silently truncating, stateful or
#      error-blind: use snprintf, memcpy with a checked length, strtok_r, strtol/strtoul);
#   2. clang-format --dry-run --Werror over every C file (the root .clang-format);
#   3. product files (shared/, s3mount/, filter/): none over 1,000 lines, and one over 800
#      only with a line "stays whole: WHY" in its first 40 lines;
#   4. cppcheck (--enable=warning,portability: real bugs and non-portable code, not style
#      opinions) over the product code, with the judged false positives of
#      scripts/cppcheck.supp.
# Usage: scripts/checksrc.sh [ROOT]   exit 0 when clean; each finding names file and line.
set -uo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2
fails=0
say() { printf '%s\n' "$*"; }
bad() {
    say "checksrc: $*"
    fails=$((fails + 1))
}

mapfile -t product < <(git ls-files 'shared/*.[ch]' 's3mount/*.[ch]' 'filter/*.[ch]' 2>/dev/null ||
    find shared s3mount filter -name '*.[ch]')
mapfile -t allc < <(git ls-files '*.[ch]' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
[ "${#product[@]}" -gt 0 ] || { bad "no product files found under $ROOT"; exit 1; }

# 1. banned functions (comments and strings are not parsed: a mention in a comment must be
#    phrased without the call syntax)
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|gets|tmpnam|mktemp)[[:space:]]*\('
while IFS= read -r hit; do
    bad "banned function: $hit"
done < <(grep -nE "$banned" "${allc[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')

# 2. clang-format
if command -v clang-format >/dev/null; then
    while IFS= read -r line; do
        bad "clang-format: $line"
    done < <(clang-format --dry-run --Werror "${allc[@]}" 2>&1 | grep -E '^[^ ]+:[0-9]+:[0-9]+: error' |
        cut -d: -f1,2 | sort -u)
else
    bad "clang-format not installed"
fi

# 3. file sizes
for f in "${product[@]}"; do
    n=$(wc -l <"$f")
    if [ "$n" -gt 1000 ]; then
        bad "$f: $n lines (over 1,000: split it)"
    elif [ "$n" -gt 800 ] && ! head -40 "$f" | grep -q 'stays whole:'; then
        bad "$f: $n lines (over 800 without a 'stays whole: WHY' line near its top)"
    fi
done

# 4. cppcheck
if command -v cppcheck >/dev/null; then
    out=$(cppcheck --quiet --std=c11 --enable=warning,portability --inline-suppr \
        --suppress=missingIncludeSystem --suppressions-list=scripts/cppcheck.supp \
        -I shared -I s3mount -I filter --template='{file}:{line}: {severity}: {message} [{id}]' \
        "${product[@]}" 2>&1)
    while IFS= read -r line; do
        [ -n "$line" ] && bad "cppcheck: $line"
    done <<<"$(grep -E '^[^ ]+:[0-9]+: ' <<<"$out")"
else
    bad "cppcheck not installed"
fi

say "checksrc: ${#allc[@]} C files, ${#product[@]} product files; $fails finding(s)"
[ "$fails" -eq 0 ]
