#!/bin/bash
# it_systemd_unit.sh: systemd/s3mount@.service is valid and its commands really mount.
# it-timeout: 300
# it-labels: systemd
#
# 1. `systemd-analyze verify` of an instance of the template, with ExecStart pointing at the
#    built s3mount (verify insists that the binary exists): no output, exit 0 (an unknown
#    key is only a warning there, so any output is a failure).
# 2. `systemd-analyze security --offline` exposure level, printed as a figure, must stay
#    below 5.0 (the hardening options must not silently disappear).
# 3. No systemd runs here (CI has no PID-1 systemd), so the unit's own command lines are
#    taken from the file, expanded the way systemd does (${VAR} one word, $VAR split on
#    spaces, $$ a literal $), and run against RGW: ExecStartPre, ExecStart (in the
#    background, like Type=exec), ExecStartPost (the readiness wait), a write and a read
#    through the mount, then ExecStop; the daemon must exit 0 without sanitizer reports.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

UNIT_SRC=$S3M_SRC_ROOT/systemd/s3mount@.service
BIN=$S3M_BUILD_DIR/s3mount/s3mount
[ -f "$UNIT_SRC" ] || fatal "missing $UNIT_SRC"
[ -x "$BIN" ] || fatal "s3mount is not built: $BIN"
command -v systemd-analyze >/dev/null || fatal "systemd-analyze missing (apt-get install systemd)"

# ---- 1. verify ------------------------------------------------------------------------
U=$(new_dir unit)
INSTANCE=it-systemd
sed "s|/usr/local/bin/s3mount|$BIN|g" "$UNIT_SRC" >"$U/s3mount@.service"
cp "$U/s3mount@.service" "$U/s3mount@$INSTANCE.service"
check_eq "unit ExecStart names the installed path" \
    "$(grep -c '^ExecStart=/usr/local/bin/s3mount ' "$UNIT_SRC")" 1
# --man=no: the man page exists only after `cmake --install`.
out=$(cd "$U" && systemd-analyze verify --man=no "s3mount@$INSTANCE.service" 2>&1)
rc=$?
check_eq "systemd-analyze verify exit status" "$rc" 0
check_eq "systemd-analyze verify prints nothing" "$out" ""

# ---- 2. hardening figure ---------------------------------------------------------------
sec=$(cd "$U" && systemd-analyze security --offline=true --no-pager "s3mount@$INSTANCE.service" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "figure: systemd exposure level ${sec:-?} (0 = locked down, 10 = unprotected)"
check "exposure level below 5.0" awk -v s="${sec:-99}" 'BEGIN { exit !(s + 0 < 5.0) }'

# ---- 3. the unit's commands, run by hand ------------------------------------------------
B=$(unique_bucket)
make_bucket "$B"
M=$(new_dir mnt)/s3
# The env file a user would write to /etc/s3mount/<instance>.env.
cat >"$U/$INSTANCE.env" <<EOF
S3M_BUCKET=$B
S3M_MOUNTPOINT=$M
S3M_ARGS=-o endpoint=$S3M_ENDPOINT,path_style,region=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
EOF

S3M_PYTHON3=python3
[ -x /usr/bin/python3 ] && S3M_PYTHON3=/usr/bin/python3
# unit_cmd KEY: print the expanded argv of the unit's KEY= line, NUL-separated.
unit_cmd() {
    "$S3M_PYTHON3" - "$U/s3mount@$INSTANCE.service" "$1" "$U/$INSTANCE.env" <<'PY'
import re, shlex, sys
unit, key, envfile = sys.argv[1:4]
env = {}
lines = open(unit).read().splitlines()
for ln in lines:                       # Environment= first, then the EnvironmentFile
    if ln.startswith("Environment="):
        k, _, v = ln[len("Environment="):].partition("=")
        env[k] = v
for ln in open(envfile).read().splitlines():
    if ln and not ln.startswith("#"):
        k, _, v = ln.partition("=")
        env[k] = v
cmd = [ln[len(key) + 1:] for ln in lines if ln.startswith(key + "=")]
if len(cmd) != 1:
    sys.exit("expected one %s= line, found %d" % (key, len(cmd)))
cmd = cmd[0].lstrip("-@:+!")
out = []
for w in shlex.split(cmd):
    m = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", w)
    if m:                              # $VAR: split on whitespace, empty -> no word
        out.extend(env.get(m.group(1), "").split())
        continue
    # $$ is a literal $ (left for the shell), ${VAR} the variable's value as is.
    out.append(re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                      lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), ""), w))
sys.stdout.write("\0".join(out) + "\0")
PY
}
mapfile -d '' PRE < <(unit_cmd ExecStartPre)
mapfile -d '' START < <(unit_cmd ExecStart)
mapfile -d '' POST < <(unit_cmd ExecStartPost)
mapfile -d '' STOP < <(unit_cmd ExecStop)
check_eq "ExecStart expands to the built binary" "${START[0]:-}" "$BIN"
check_eq "ExecStart ends with bucket and mountpoint" "${START[*]: -2}" "$B $M"

check "ExecStartPre creates the mountpoint" "${PRE[@]}"
# Type=exec: the service is the foreground daemon; ExecStartPost decides readiness.
set -a
. "$U/$INSTANCE.env"
set +a
log=$IT_TMP/unit-daemon.log
"${START[@]}" </dev/null 2>"$log" >&2 &
IT_MOUNT_PID[$M]=$!
IT_MOUNT_LOG[$M]=$log
if timeout 60 env S3M_MOUNTPOINT="$M" "${POST[@]}"; then
    ok "ExecStartPost returns once mounted"
else
    tail -n 20 "$log" >&2
    fatal "ExecStartPost did not see the mount within 60 s"
fi
check "mountpoint is a mount" is_mounted "$M"

W=$(new_dir work)
head -c 3000000 /dev/urandom >"$W/data.bin"
check "write a file through the unit's mount" cp "$W/data.bin" "$M/data.bin"
check_file_eq "read it back through the mount" "$M/data.bin" "$W/data.bin"
check "object is in the bucket" get_file "$B" data.bin "$W/back.bin"
check_file_eq "object bytes match" "$W/back.bin" "$W/data.bin"

check "ExecStop unmounts" "${STOP[@]}"
check_not "mountpoint no longer a mount" is_mounted "$M"
check "daemon exits cleanly after ExecStop" stop_mount "$M"
