#!/bin/bash
# it-timeout: 400
# it_security.sh: security properties of s3mount.
#   1. Secrets and session tokens never reach the daemon's log, even at log_level=debug,
#      through a read/write/list/rename/delete workload and through a failing mount with a
#      (fake) session token.
#   2. A credentials file readable by group/others is warned about.
#   3. Hostile object keys created directly in S3 ("..", ".", "a//b", control characters,
#      a newline, a 1,024-byte key, a key ending in "/" holding data) cannot escape or crash
#      the mount: ls/find work, the sane names are listed, the others are skipped with a
#      log line, nothing appears outside the mountpoint.
#   4. allow_other implies default_permissions unless no_default_permissions (/proc/mounts).
#   5. TLS is verified by default: an https endpoint on loopback with a self-signed
#      certificate is refused with a clear error (and no fallback to http); ca_bundle=CERT
#      makes the same endpoint work. (The refusal used to say only "Protocol error ... the
#      endpoint cannot be reached"; since ce75ef5 curl's certificate text is logged.)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
SECRET=$AWS_SECRET_ACCESS_KEY
head -c 3000000 /dev/urandom >"$D/a" && put_file "$D/a" "$B" dir/a.bin || fatal "setup"

# no_secret LOG WHAT: LOG holds none of the secret, the token, a SigV4 signature or the
# Authorization header.
no_secret() {
    local log=$1 what=$2
    check_not "$what: secret key not in the log" grep -qF -- "$SECRET" "$log"
    check_not "$what: no Authorization header / signature in the log" \
        grep -qiE 'Authorization:|Signature=[0-9a-f]{16}|X-Amz-Signature' "$log"
    if [ -n "${3:-}" ]; then
        check_not "$what: session token not in the log" grep -qF -- "$3" "$log"
    fi
}

# ---- 1. debug log of a workload -------------------------------------------------------------------
start_mount "$B" "$M" -o log_level=debug
check "read" cmp -s "$M/dir/a.bin" "$D/a"
check "write" cp "$D/a" "$M/dir/b.bin"
check "list" ls -lR "$M"
check "rename" mv "$M/dir/b.bin" "$M/dir/c.bin"
check "mkdir" mkdir "$M/newdir"
check "delete" rm "$M/dir/c.bin"
check_not "a missing key is an error (logged)" cat "$M/nope"
kill -USR1 "$(mount_pid "$M")"
sleep 0.5
stop_mount "$M" || fail "unmount after the workload"
LOG=$(mount_log "$M")
check "the debug log is not empty ($(wc -l <"$LOG") lines)" test "$(wc -l <"$LOG")" -gt 20
no_secret "$LOG" "debug workload"

# a session token that RGW does not know: the mount is refused; the log must not show it
TOKEN="FQoGZXIvYXdzEFAKESESSIONTOKEN$RANDOM$RANDOM${RANDOM}xyz"
AWS_SESSION_TOKEN=$TOKEN "$IT_S3MOUNT" -f -o "$(it_default_mount_opts),log_level=debug" \
    "$B" "$M" >"$D/tok.out" 2>"$D/tok.log" &
tp=$!
for ((i = 0; i < 100; i++)); do kill -0 $tp 2>/dev/null || break; is_mounted "$M" && break; sleep 0.1; done
if is_mounted "$M"; then
    fusermount3 -u "$M"
fi
wait $tp
echo "  mount with an unknown session token: exit $?; $(head -c 200 "$D/tok.log" | tr '\n' '|')"
cat "$D/tok.out" >>"$D/tok.log"
no_secret "$D/tok.log" "session token mount" "$TOKEN"

# ---- 2. credentials file readable by others ---------------------------------------------------------
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$AWS_ACCESS_KEY_ID" "$SECRET" >"$D/credentials"
chmod 644 "$D/credentials"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    AWS_SHARED_CREDENTIALS_FILE="$D/credentials" AWS_CONFIG_FILE=/dev/null \
    "$IT_S3MOUNT" -f -o "$(it_default_mount_opts),log_level=debug" "$B" "$M" 2>"$D/cred.log" &
cp_=$!
for ((i = 0; i < 100; i++)); do is_mounted "$M" && break; kill -0 $cp_ 2>/dev/null || break; sleep 0.1; done
check "mount with a credentials file" is_mounted "$M"
check "the mount reads with file credentials" cmp -s "$M/dir/a.bin" "$D/a"
fusermount3 -u "$M" 2>/dev/null
wait $cp_
check "a group/other-readable credentials file is warned about" grep -q 'readable by' "$D/cred.log"
grep -m1 'readable by' "$D/cred.log"
no_secret "$D/cred.log" "credentials-file mount"

# ---- 3. hostile keys -----------------------------------------------------------------------------------
LONG=$(printf 'k%.0s' $(seq 1 1024))
put_key() { s3api put-object --bucket "$B" --key "$1" --body "$D/small" >/dev/null 2>"$D/put.err"; }
echo hostile >"$D/small"
n_created=0
for k in ".." "." "h/../escape" "h/./dot" "h//double" "../up" "h/.." $'h/ctl\x01\x1b[31mred' \
    $'h/new\nline' $'h/tab\tname' "$LONG" "h/$(printf 'x%.0s' $(seq 1 300))" "h/marker-with-data/" \
    "h/ok-1" "h/sub/ok-2" "h/ spaces and ünïcödé "; do
    if put_key "$k"; then
        n_created=$((n_created + 1))
    else
        echo "  RGW refused key $(printf '%q' "$k" | head -c 60): $(head -c 150 "$D/put.err")"
    fi
done
echo "  created $n_created hostile/normal keys"
start_mount "$B" "$M" -o log_level=info
check "ls -la of the root" ls -la "$M"
check "ls -la of h/" ls -la "$M/h"
check "find works" find "$M" -print
find "$M" | sed 's/^/    /' | cat -v | head -30
check "normal key h/ok-1 listed and readable" cmp -s "$M/h/ok-1" "$D/small"
check "normal key h/sub/ok-2 readable" cmp -s "$M/h/sub/ok-2" "$D/small"
check "unicode/space name readable" cmp -s "$M/h/ spaces and ünïcödé " "$D/small"
check "control-character name listed" test -e "$M/h/"$'ctl\x01\x1b[31mred'
check "newline name listed" test -e "$M/h/"$'new\nline'
check_not "nothing named 'escape' appears anywhere under or next to the mount" \
    test -e "$M/../escape" -o -e "$M/escape"
check_not "no 'up' file outside the mount" test -e "$(dirname "$M")/up"
check "the 300-byte component is not listed" test "$(find "$M" -name 'xxxxxxxxxx*' | wc -l)" = 0
check "the daemon is alive after all that" kill -0 "$(mount_pid "$M")"
ls "$M" >/dev/null
stop_mount "$M" || fail "unmount after hostile keys"
LOG=$(mount_log "$M")
nskip=$(grep -ci 'skip' "$LOG")
check "skipped keys are logged ($nskip lines)" test "$nskip" -ge 3
grep -i 'skip' "$LOG" | head -5 | cut -c1-160 | cat -v

# ---- 4. allow_other and default_permissions ---------------------------------------------------------------
mount_opts_of() { awk -v m="$1" '$2 == m { print $4 }' /proc/mounts | tail -1; }
start_mount "$B" "$M" -o allow_other
o=$(mount_opts_of "$M")
echo "  allow_other: $o"
check "allow_other: allow_other in /proc/mounts" grep -q allow_other <<<"$o"
check "allow_other implies default_permissions" grep -q default_permissions <<<"$o"
stop_mount "$M" || fail "unmount allow_other"
start_mount "$B" "$M" -o allow_other,no_default_permissions
o=$(mount_opts_of "$M")
echo "  allow_other,no_default_permissions: $o"
check "no_default_permissions: allow_other kept" grep -q allow_other <<<"$o"
check_not "no_default_permissions: no default_permissions" grep -q default_permissions <<<"$o"
stop_mount "$M" || fail "unmount no_default_permissions"
start_mount "$B" "$M"
o=$(mount_opts_of "$M")
check_not "plain mount: no allow_other" grep -q allow_other <<<"$o"
stop_mount "$M" || fail "unmount plain"

# ---- 5. TLS verification ----------------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$D/key.pem" -out "$D/cert.pem" 2>/dev/null ||
    fatal "openssl req failed"
# A TLS terminator on loopback in front of RGW (python ssl): bytes pumped both ways.
/usr/bin/python3 - "$D/cert.pem" "$D/key.pem" "$S3M_ENDPOINT" "$D/tls.port" <<'EOF' 2>"$D/tls.err" &
import socket, ssl, sys, threading
from urllib.parse import urlsplit
cert, key, up, portfile = sys.argv[1:5]
u = urlsplit(up)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(64)
open(portfile + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.replace(portfile + ".tmp", portfile)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError):
        c.close(); return
    r = socket.create_connection((u.hostname, u.port))
    threading.Thread(target=pump, args=(t, r), daemon=True).start()
    pump(r, t)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
tlspid=$!
for ((i = 0; i < 50; i++)); do [ -s "$D/tls.port" ] && break; sleep 0.1; done
TLS_EP="https://127.0.0.1:$(cat "$D/tls.port")"
"$IT_S3MOUNT" -f -o "endpoint=$TLS_EP,path_style,region=$AWS_REGION" "$B" "$M" >"$D/tls1.log" 2>&1 &
t1=$!
for ((i = 0; i < 300; i++)); do kill -0 $t1 2>/dev/null || break; is_mounted "$M" && break; sleep 0.1; done
if is_mounted "$M"; then
    fail "self-signed https endpoint was accepted without ca_bundle"
    fusermount3 -u "$M"
fi
wait $t1
rc=$?
echo "  self-signed without ca_bundle: exit $rc: $(tr '\n' '|' <"$D/tls1.log" | head -c 300)"
check_not "self-signed certificate refused by default (non-zero exit)" test "$rc" = 0
check "the error names the certificate problem" grep -qiE 'certificate|SSL|TLS' "$D/tls1.log"
start_mount "$B" "$M" -o "endpoint=$TLS_EP,ca_bundle=$D/cert.pem"
check "with ca_bundle=CERT the https mount reads" cmp -s "$M/dir/a.bin" "$D/a"
stop_mount "$M" || fail "unmount https"
kill "$tlspid" 2>/dev/null
wait "$tlspid" 2>/dev/null || true   # killed by us: 143 is expected
