#!/bin/bash
# rgw-ctl.sh: outage control of an RGW instance started by tests/s3/rgw-up.sh, for fault
# tests ("the server goes away for 20 s during a read").
#
# Usage: rgw-ctl.sh COMMAND [DIR]      (DIR defaults to $S3M_RGW_DIR)
#   pause       SIGSTOP radosgw: connections hang (a stalled server; timeouts fire)
#   resume      SIGCONT radosgw
#   stop        stop radosgw only (TERM, KILL after 15 s): connections are refused
#   start       start radosgw again with the same config and wait until S3 answers
#   status      print "running", "paused" or "stopped"; exit 0 only when running
# Use it only on an instance your test started itself (S3M_RGW_PORT=auto S3M_RGW_DIR=...
# tests/s3/rgw-up.sh), never on the shared development instance or on run-tests.sh's
# instance while other tests run.
set -uo pipefail

CMD=${1:-}
D=${2:-${S3M_RGW_DIR:-}}
die() {
    echo "rgw-ctl: $*" >&2
    exit 1
}
[ -n "$CMD" ] || die "usage: rgw-ctl.sh pause|resume|stop|start|status [DIR]"
[ -n "$D" ] && [ -f "$D/.s3m-rgw" ] || die "no rgw-up.sh instance in '${D}' (argument or S3M_RGW_DIR)"
PIDFILE=$D/run/client.rgw.a.pid
PORT=$(cat "$D/rgw.port")

rgw_pid() {
    local p
    [ -s "$PIDFILE" ] || return 1
    p=$(cat "$PIDFILE")
    [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && echo "$p"
}

case "$CMD" in
pause)
    p=$(rgw_pid) || die "radosgw is not running"
    kill -STOP "$p"
    ;;
resume)
    p=$(rgw_pid) || die "radosgw is not running"
    kill -CONT "$p"
    ;;
stop)
    p=$(rgw_pid) || exit 0
    kill -CONT "$p" 2>/dev/null
    kill -TERM "$p"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    rm -f "$PIDFILE"
    ;;
start)
    rgw_pid >/dev/null && die "radosgw is already running"
    radosgw -c "$D/ceph.conf" -n client.rgw.a </dev/null >>"$D/log/daemons.out" 2>&1 ||
        die "radosgw did not start; see $D/log/client.rgw.a.log"
    for ((i = 0; i < 240; i++)); do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
            exit 0
        fi
        sleep 0.25
    done
    tail -n 20 "$D/log/client.rgw.a.log" >&2
    die "radosgw does not answer on port $PORT after 60 s"
    ;;
status)
    p=$(rgw_pid) || { echo stopped; exit 1; }
    if [ "$(ps -o stat= -p "$p" | cut -c1)" = T ]; then
        echo paused
        exit 1
    fi
    echo running
    ;;
*) die "unknown command '$CMD'" ;;
esac
