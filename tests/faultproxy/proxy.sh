# proxy.sh: shell helpers around faultproxy.py for the fault tests (tests/integration/it_fault_*.sh).
# Source it after tests/integration/lib.sh:
#     . "$(dirname "$0")/../faultproxy/proxy.sh"
#     fp_start [faultproxy args...]      # proxy in front of $S3M_ENDPOINT; sets FP_PORT, FP_CTL
#     IT_MOUNT_OPTS=$(fp_mount_opts)      # s3mount talks to the proxy
#     fp_set '{"rates": {"get_range": {"reset": 0.05}}}'
#     fp_stat .faults_total               # a jq filter over GET /stats
#     fp_stop                             # also done at exit (the trap below chains lib.sh's)
# The proxy's stderr is in $IT_TMP/faultproxy.err; it must not hold a Python traceback
# (fp_stop fails the test when it does: the proxy must not be what breaks).

FP_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/faultproxy.py
FP_PID=""
FP_PORT=""
FP_CTL=""

fp_start() {
    local pf=$IT_TMP/faultproxy.json i
    rm -f "$pf"
    /usr/bin/python3 "$FP_PY" --upstream "$S3M_ENDPOINT" --port-file "$pf" "$@" \
        >"$IT_TMP/faultproxy.out" 2>"$IT_TMP/faultproxy.err" &
    FP_PID=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$pf" ] && break
        kill -0 "$FP_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$pf" ] || { cat "$IT_TMP/faultproxy.err" >&2; fatal "faultproxy did not start"; }
    FP_PORT=$(jq -r .port "$pf")
    FP_CTL=$(jq -r .control_port "$pf")
}

fp_endpoint() { echo "http://127.0.0.1:$FP_PORT"; }
fp_mount_opts() { echo "endpoint=$(fp_endpoint),path_style,region=$AWS_REGION"; }

# fp_set JSON: merge into the proxy's configuration (fatal when refused).
fp_set() {
    local out
    out=$(curl -s -f -X POST --data-binary "$1" "http://127.0.0.1:$FP_CTL/config") ||
        fatal "faultproxy refused config $1"
}
fp_reset() { curl -s -f -X POST "http://127.0.0.1:$FP_CTL/reset" >/dev/null; }
fp_stats() { curl -s -f "http://127.0.0.1:$FP_CTL/stats"; }
# fp_stat FILTER: one value of the stats (jq filter, e.g. .faults_total or .faults.reset).
fp_stat() { fp_stats | jq -r "$1"; }

fp_stop() {
    [ -n "$FP_PID" ] || return 0
    kill -TERM "$FP_PID" 2>/dev/null
    # a proxy busy in a long request (a CRC over a whole object) may take a while: give it
    # 10 s, then KILL it: the test must never leave it running (run-tests.sh counts that)
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$FP_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$FP_PID" 2>/dev/null && { echo "faultproxy $FP_PID: no exit 10 s after SIGTERM; killed" >&2; kill -KILL "$FP_PID" 2>/dev/null; }
    wait "$FP_PID" 2>/dev/null
    FP_PID=""
    if grep -q Traceback "$IT_TMP/faultproxy.err" 2>/dev/null; then
        fail "faultproxy raised an exception:"
        sed -n '/Traceback/,$p' "$IT_TMP/faultproxy.err" | head -30 >&2
    fi
}

trap 'fp_rc=$?; fp_stop; (exit $fp_rc); it_exit' EXIT
