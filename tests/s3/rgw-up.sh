#!/bin/bash
# rgw-up.sh: start a single-host Ceph RADOS Gateway on 127.0.0.1 for s3mount's tests.
#
# One mon, one OSD (bluestore on a sparse file), no mgr, radosgw with the beast frontend.
# Everything (config, keyrings, data, logs, pid files) lives in one directory. On success
# stdout carries only `export NAME=value` lines (endpoint, keys, region, PIDs) so that a
# caller can `eval "$(tests/s3/rgw-up.sh)"` or redirect it into an env file; progress and
# errors go to stderr. Stop it with tests/s3/rgw-down.sh (by PID).
#
# Environment (all optional):
#   S3M_RGW_DIR       data directory (default: a new mktemp -d under ${TMPDIR:-/tmp}).
#                     If daemons already run from it and S3 answers, they are reused.
#   S3M_RGW_PORT      S3 port on 127.0.0.1 (default 7480; "0" or "auto" = pick a free one)
#   S3M_MON_PORT      mon msgr2 port (default 3300, or the next free one when taken)
#   S3M_MON_PORT_V1   mon msgr1 port (default 6789, or the next free one when taken)
#   S3M_RGW_BLOCK_GB  size of the sparse bluestore file in GiB (default 20)
#   S3M_RGW_TIMEOUT   seconds to wait for each daemon (default 120)
#
# Why these choices (see ../shared/notes/s3-test-servers.md §3 and §4.2):
# - bluestore on a sparse file, not memstore: memstore keeps every object in OSD RAM.
# - `bluestore block path` stays unset: pointing it inside osd data gives ELOOP.
# - `mon data avail warn/crit = 1`: otherwise the mon warns or stops on a fuller host disk.
# - no mgr: S3 does not need it (the cluster just reports HEALTH_WARN), and it costs 300 MB.
# - RGW garbage collection after 60 s instead of 2 h, or deleted data fills the OSD.
set -euo pipefail

ACCESS_KEY=TESTACCESSKEY
SECRET_KEY=TESTSECRETKEY0123456789
REGION=us-east-1
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
TIMEOUT=${S3M_RGW_TIMEOUT:-120}
T0=$(date +%s%N)

say() { printf '[rgw-up %5ss] %s\n' "$(elapsed)" "$*" >&2; }
elapsed() { local n; n=$(( ($(date +%s%N) - T0) / 100000000 )); printf '%d.%d' $((n / 10)) $((n % 10)); }
die() {
    say "ERROR: $*"
    exit 1
}

for tool in ceph ceph-mon ceph-osd ceph-authtool monmaptool radosgw radosgw-admin uuidgen curl ss; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' not found; install: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd uuid-runtime curl iproute2"
done

# port_busy PORT: true when something listens on TCP PORT in this network namespace.
port_busy() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

# free_port FIRST LAST: the first port in [FIRST, LAST] nobody listens on.
free_port() {
    local p
    for ((p = $1; p <= $2; p++)); do
        port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# pid_alive FILE: true when FILE holds the PID of a live process.
# port_is_ours PORT PIDFILE: true when the TCP listener on 127.0.0.1:PORT belongs to the
# process whose pid is in PIDFILE (ss -p names the owning pid).
port_is_ours() {
    local p
    [ -s "$2" ] || return 1
    p=$(cat "$2")
    ss -Htlnp "sport = :$1" 2>/dev/null | grep -q "pid=$p,"
}

pid_alive() {
    local p
    [ -s "$1" ] || return 1
    p=$(cat "$1")
    [[ "$p" =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null
}

# s3_status URL: HTTP status of a SigV4-signed GET (curl does not add the payload hash
# header itself, and RGW fails the signature without it: gotcha 8).
s3_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "$1" || true
}

print_env() {
    local pids="" n
    for n in mon.a osd.0 client.rgw.a; do
        pids="$pids${pids:+ }$(cat "$D/run/$n.pid")"
    done
    cat <<EOF
export S3M_ENDPOINT=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_EC2_METADATA_DISABLED=true
export S3M_RGW_DIR=$D
export S3M_RGW_PIDS="$pids"
EOF
}

# ---- the data directory: reuse a running instance, refuse a foreign directory --------
if [ -n "${S3M_RGW_DIR:-}" ]; then
    D=$S3M_RGW_DIR
    mkdir -p "$D"
else
    D=$(mktemp -d "${TMPDIR:-/tmp}/s3m-rgw.XXXXXX")
fi
D=$(cd "$D" && pwd -P)
# Unix socket paths (admin sockets) are limited to 107 bytes.
[ ${#D} -le 60 ] || die "data directory path too long for ceph admin sockets (max 60): $D"

if [ -f "$D/.s3m-rgw" ]; then
    alive=0
    for n in mon.a osd.0 client.rgw.a; do
        pid_alive "$D/run/$n.pid" && alive=$((alive + 1))
    done
    if [ "$alive" -eq 3 ]; then
        RGW_PORT=$(cat "$D/rgw.port")
        if [ "$(s3_status "http://127.0.0.1:$RGW_PORT/")" = 200 ]; then
            say "reusing the instance already running in $D (port $RGW_PORT)"
            print_env
            exit 0
        fi
        die "daemons run in $D but S3 on port $RGW_PORT does not answer; stop them with tests/s3/rgw-down.sh"
    elif [ "$alive" -gt 0 ]; then
        die "a partial instance runs in $D ($alive of 3 daemons alive); stop it with tests/s3/rgw-down.sh first"
    fi
    say "removing the stale instance in $D"
    find "$D" -mindepth 1 -delete
elif [ -n "$(ls -A "$D")" ]; then
    die "$D is not empty and is not an s3mount RGW directory; refusing to touch it"
fi

# ---- ports -----------------------------------------------------------------------------
case "${S3M_RGW_PORT:-7480}" in
0 | auto) RGW_PORT=$(free_port 7480 7999) || die "no free port in 7480-7999 for RGW" ;;
*)
    RGW_PORT=${S3M_RGW_PORT:-7480}
    port_busy "$RGW_PORT" && die "port $RGW_PORT is already in use (set S3M_RGW_PORT=auto for a free one)"
    ;;
esac
if [ -n "${S3M_MON_PORT:-}" ]; then
    MON_PORT=$S3M_MON_PORT
    port_busy "$MON_PORT" && die "mon port $MON_PORT is already in use"
else
    MON_PORT=$(free_port 3300 3399) || die "no free mon port in 3300-3399"
fi
# msgr1 stays below the OSD's own range (6800-7300).
if [ -n "${S3M_MON_PORT_V1:-}" ]; then
    MON_PORT_V1=$S3M_MON_PORT_V1
    port_busy "$MON_PORT_V1" && die "mon v1 port $MON_PORT_V1 is already in use"
else
    MON_PORT_V1=$(free_port 6789 6799) || MON_PORT_V1=$(free_port 6700 6788) ||
        die "no free mon v1 port in 6700-6799"
fi
MON_ADDR="[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]"

mkdir -p "$D"/{mon,osd,rgw,log,run}
touch "$D/.s3m-rgw"
echo "$RGW_PORT" >"$D/rgw.port"
STARTED=()

# On any failure: say which daemon's log to read, show its tail, stop what we started.
on_exit() {
    local rc=$? n p
    [ "$rc" -eq 0 ] && return 0
    say "FAILED (exit $rc) in $D"
    for n in client.rgw.a osd.0 mon.a; do
        [ -s "$D/log/$n.log" ] || continue
        printf -- '---- tail of %s ----\n' "$D/log/$n.log" >&2
        tail -n 25 "$D/log/$n.log" >&2
    done
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        p=${STARTED[$i]}
        kill "$p" 2>/dev/null || true
    done
    exit "$rc"
}
trap on_exit EXIT

FSID=$(uuidgen)
BLOCK_BYTES=$(( ${S3M_RGW_BLOCK_GB:-20} * 1024 * 1024 * 1024 ))
cat >"$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = $MON_ADDR
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/\$cluster.\$name.keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 1
ms bind ipv6 = false
[mon]
mon data = $D/mon
[osd]
osd data = $D/osd
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $BLOCK_BYTES
bluestore fsck on mount = false
osd memory target = 939524096
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $D/rgw
rgw dns name = localhost
# Deleted and overwritten data waits for RGW's garbage collector, by default 2 hours. Tests
# that write and delete gigabytes filled a 20 GiB OSD in 25 minutes that way (OSD full:
# every request hangs). Collect after a minute instead.
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw gc processor max time = 60
EOF
export CEPH_CONF=$D/ceph.conf
CEPH=(ceph -c "$D/ceph.conf" --connect-timeout 30)

# wait_pidfile NAME: the daemon forked and wrote its pid file; remember the PID.
wait_pidfile() {
    local i
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if pid_alive "$D/run/$1.pid"; then
            STARTED+=("$(cat "$D/run/$1.pid")")
            return 0
        fi
        sleep 0.1
    done
    die "$1 did not start (no live pid in $D/run/$1.pid)"
}

# ---- mon -------------------------------------------------------------------------------
say "mon: ports $MON_PORT/$MON_PORT_V1, data dir $D"
ceph-authtool --create-keyring "$D/ceph.mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$D/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$D/ceph.mon.a.keyring" --import-keyring "$D/ceph.client.admin.keyring" >/dev/null
monmaptool --create --addv a "$MON_ADDR" --fsid "$FSID" "$D/monmap" >/dev/null
ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" --keyring "$D/ceph.mon.a.keyring" \
    >"$D/log/mon.a.mkfs.log" 2>&1 || die "ceph-mon --mkfs failed: $(tail -5 "$D/log/mon.a.mkfs.log")"
ceph-mon -c "$D/ceph.conf" -i a </dev/null >>"$D/log/daemons.out" 2>&1 || die "ceph-mon did not start"
wait_pidfile mon.a
timeout "$TIMEOUT" "${CEPH[@]}" -s >/dev/null || die "mon does not answer"
say "mon answering"

# ---- osd -------------------------------------------------------------------------------
OSD_UUID=$(uuidgen)
OSD_SECRET=$(ceph-authtool --gen-print-key)
OSD_ID=$(printf '{"cephx_secret": "%s"}' "$OSD_SECRET" | "${CEPH[@]}" osd new "$OSD_UUID" -i -)
[ "$OSD_ID" = 0 ] || die "expected osd id 0, got '$OSD_ID'"
ceph-authtool --create-keyring "$D/ceph.osd.0.keyring" --name osd.0 --add-key "$OSD_SECRET" >/dev/null
cp "$D/ceph.osd.0.keyring" "$D/osd/keyring"
ceph-osd -c "$D/ceph.conf" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$D/log/osd.0.mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs failed: $(tail -5 "$D/log/osd.0.mkfs.log")"
say "osd: bluestore on a ${S3M_RGW_BLOCK_GB:-20} GiB sparse file"
ceph-osd -c "$D/ceph.conf" -i 0 </dev/null >>"$D/log/daemons.out" 2>&1 || die "ceph-osd did not start"
wait_pidfile osd.0
up=0
for ((i = 0; i < TIMEOUT * 2; i++)); do
    if "${CEPH[@]}" osd stat 2>/dev/null | grep -q '1 up'; then
        up=1
        break
    fi
    pid_alive "$D/run/osd.0.pid" || die "ceph-osd exited"
    sleep 0.5
done
[ "$up" = 1 ] || die "osd not up after ${TIMEOUT}s"
say "osd up"

# ---- radosgw ---------------------------------------------------------------------------
"${CEPH[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' \
    >"$D/ceph.client.rgw.a.keyring"
radosgw -c "$D/ceph.conf" -n client.rgw.a </dev/null >>"$D/log/daemons.out" 2>&1 || die "radosgw did not start"
wait_pidfile client.rgw.a
ok=0
for ((i = 0; i < TIMEOUT * 4; i++)); do
    # The port must be held by OUR radosgw: with S3M_RGW_PORT=auto two instances started
    # at once can pick the same free port; the loser fails to bind while the winner
    # answers curl, and a plain curl check would report the other instance as ready.
    if port_is_ours "$RGW_PORT" "$D/run/client.rgw.a.pid" &&
        curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"; then
        ok=1
        break
    fi
    pid_alive "$D/run/client.rgw.a.pid" || die "radosgw exited (port $RGW_PORT taken by another process? see $D/log)"
    sleep 0.25
done
[ "$ok" = 1 ] || die "radosgw does not answer on 127.0.0.1:$RGW_PORT after ${TIMEOUT}s"
say "radosgw answering on 127.0.0.1:$RGW_PORT"

radosgw-admin -c "$D/ceph.conf" user create --uid=s3mtest --display-name="s3mount tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$D/log/user-create.log" 2>&1 ||
    die "radosgw-admin user create failed: $(tail -5 "$D/log/user-create.log")"

# Ready means a signed request by the test user succeeds, not just an open port.
code=000
for ((i = 0; i < TIMEOUT * 4; i++)); do
    code=$(s3_status "http://127.0.0.1:$RGW_PORT/")
    [ "$code" = 200 ] && break
    sleep 0.25
done
[ "$code" = 200 ] || die "signed ListBuckets as $ACCESS_KEY answers HTTP $code, not 200"
say "READY: S3 on http://127.0.0.1:$RGW_PORT ($ACCESS_KEY), pids ${STARTED[*]}"
print_env | tee "$D/env"
