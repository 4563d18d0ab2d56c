#!/bin/bash
# it-timeout: 180
# it_log_keys.sh: object keys holding a newline (S3 allows any byte but NUL in a key) must
# not forge log lines (issue 11). Keys are made directly in S3 so that listing the directory
# makes the daemon log each of them (a key ending in '/' that holds data, a key hidden by
# the directory of the same name, a key with a component too long to list), then one file
# with such a name is read, renamed, written and removed through the mount at
# log_level=debug. Every line of the daemon's stderr must then be one of its own lines
# ("HH:MM:SS.mmm level: ..."), and the forged text must appear only inside such lines.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
echo "some bytes" >"$D/small"
FORGE=$'\n00:00:00.000 error: FORGED'
LONG=$(printf 'x%.0s' $(seq 1 300))
put_key() {
    s3api put-object --bucket "$B" --key "$1" --body "$D/small" >/dev/null 2>"$D/put.err" ||
        fail "put of $(printf '%q' "$1"): $(head -c 200 "$D/put.err")"
}
put_key "lk/slash${FORGE} 1/"        # a key ending in '/' with data: logged as unreachable
put_key "lk/dup${FORGE} 2"           # hidden by the directory lk/dup...2/ (logged)
put_key "lk/dup${FORGE} 2/child"
put_key "lk/long${FORGE} 3${LONG}"   # a component over NAME_MAX: skipped with a log line
put_key "lk/plain${FORGE} 4"         # an ordinary file with a newline in its name

start_mount "$B" "$M" -o log_level=debug
LOG=$(mount_log "$M")
check "ls of the directory holding the keys" ls -la "$M/lk"
check "ls of the directory whose marker holds data" ls -la "$M/lk/slash${FORGE} 1"
check "the newline name is listed" test -e "$M/lk/plain${FORGE} 4"
check "the newline name reads back" cmp -s "$M/lk/plain${FORGE} 4" "$D/small"
check "rename of the newline name" mv "$M/lk/plain${FORGE} 4" "$M/lk/moved${FORGE} 5"
check "write of a new newline name" cp "$D/small" "$M/lk/new${FORGE} 6"
check "read back the new name" cmp -s "$M/lk/new${FORGE} 6" "$D/small"
check "unlink of the new name" rm "$M/lk/new${FORGE} 6"
check "mkdir/rmdir of a newline name" bash -c 'mkdir "$1" && rmdir "$1"' _ "$M/lk/dir${FORGE} 7"
ls -la "$M/lk" >/dev/null
stop_mount "$M" || fail "unmount"

echo "  daemon log: $(wc -l <"$LOG") lines"
nbad=$(grep -cvE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} (error|warn|info|debug): ' "$LOG")
check_eq "every log line is a line of the daemon's own" "$nbad" 0
grep -vE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} (error|warn|info|debug): ' "$LOG" | head -5 | cat -v
check_eq "no line starts with the forged text" "$(grep -c '^00:00:00.000 error: FORGED' "$LOG")" 0
nforged=$(grep -c '?00:00:00.000 error: FORGED' "$LOG")
check "the keys are in the log, sanitised ($nforged lines)" test "$nforged" -ge 3
for k in "slash?#1" "dup?#2" "long?#3" "plain?#4" "moved?#5" "new?#6" "dir?#7"; do
    k="lk/${k/\#/00:00:00.000 error: FORGED }"
    check "a sanitised log line names $k" grep -qF "$k" "$LOG"
done
grep 'FORGED' "$LOG" | head -8 | cut -c1-160 | cat -v
