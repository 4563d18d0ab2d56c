#!/bin/bash
# rgw-down.sh: stop the Ceph RGW instance that tests/s3/rgw-up.sh started in a directory.
#
# Usage: rgw-down.sh [DIR]   (default: $S3M_RGW_DIR). Add --purge to delete DIR afterwards.
# Stops by the PIDs in DIR/run/*.pid only (never by process name, so other instances and
# other people's daemons are untouched), newest first: radosgw, osd, mon. Each gets TERM,
# then KILL after S3M_RGW_STOP_TIMEOUT seconds (default 15). Exit 0 when nothing of this
# instance is left running, 1 otherwise.
set -uo pipefail

PURGE=0
DIR=""
for a in "$@"; do
    case "$a" in
    --purge) PURGE=1 ;;
    -h | --help)
        sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) DIR=$a ;;
    esac
done
D=${DIR:-${S3M_RGW_DIR:-}}
[ -n "$D" ] || { echo "rgw-down: no directory (argument or S3M_RGW_DIR)" >&2; exit 2; }
[ -d "$D" ] || { echo "rgw-down: $D does not exist; nothing to stop" >&2; exit 0; }
[ -f "$D/.s3m-rgw" ] || { echo "rgw-down: $D is not an s3mount RGW directory" >&2; exit 2; }
TIMEOUT=${S3M_RGW_STOP_TIMEOUT:-15}
rc=0

for n in client.rgw.a osd.0 mon.a; do
    f=$D/run/$n.pid
    [ -s "$f" ] || continue
    p=$(cat "$f")
    [[ "$p" =~ ^[0-9]+$ ]] || continue
    if ! kill -0 "$p" 2>/dev/null; then
        rm -f "$f"
        continue
    fi
    # A recycled PID must not be killed: check it is a ceph daemon using this directory.
    if ! tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q -e "$D/ceph.conf" -e "ceph-\|radosgw"; then
        echo "rgw-down: pid $p in $f is not a ceph daemon any more; left alone" >&2
        rm -f "$f"
        continue
    fi
    kill -TERM "$p" 2>/dev/null
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        echo "rgw-down: $n ($p) ignored TERM for ${TIMEOUT}s; sending KILL" >&2
        kill -KILL "$p" 2>/dev/null
        sleep 0.2
    fi
    if kill -0 "$p" 2>/dev/null; then
        echo "rgw-down: $n ($p) is still alive" >&2
        rc=1
    else
        echo "rgw-down: stopped $n ($p)" >&2
        rm -f "$f"
    fi
done

if [ "$PURGE" = 1 ] && [ "$rc" = 0 ]; then
    rm -rf "$D"
fi
exit "$rc"
