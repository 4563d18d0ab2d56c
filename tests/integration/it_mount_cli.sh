#!/bin/bash
# it_mount_cli.sh: s3mount's command line against a real server: every failure that can be
# known before mounting (bad option, absent bucket, unreachable endpoint, no credentials,
# bad mountpoint) exits non-zero with a message naming it and leaves nothing mounted;
# --help/--version; the mount.fuse3 form with fstab noise (what `mount -t fuse.s3mount` and
# fstab run) mounts BUCKET:/PREFIX and the daemon goes to the background.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

B=$(unique_bucket)
make_bucket "$B"
M=$(new_dir mnt)
D=$(new_dir data)
echo in-prefix >"$D/f"
put_file "$D/f" "$B" "pre fix/f" || fatal "upload"
BIN=$IT_S3MOUNT
EP="endpoint=$S3M_ENDPOINT,path_style"

# expect_fail DESC NEEDLE CMD...: CMD exits non-zero, its stderr holds NEEDLE, nothing mounted
expect_fail() {
    local desc=$1 needle=$2 out rc
    shift 2
    out=$("$@" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" -ne 0 ] && [[ "$out" == *"$needle"* ]] && ! is_mounted "$M"; then
        ok "$desc (exit $rc)"
    else
        fail "$desc: exit $rc, output [$out]"
        is_mounted "$M" && fusermount3 -u -z "$M"
    fi
}

expect_fail "unknown option" "frobnicate" "$BIN" -f -o "$EP,frobnicate" "$B" "$M"
expect_fail "bad size" "memory_budget" "$BIN" -f -o "$EP,memory_budget=lots" "$B" "$M"
expect_fail "part size below 5M" "part_size" "$BIN" -f -o "$EP,part_size=1M" "$B" "$M"
expect_fail "missing mountpoint" "MOUNTPOINT" "$BIN" -f -o "$EP" "$B"
expect_fail "mountpoint not a directory" "not a directory" "$BIN" -f -o "$EP" "$B" "$D/f"
expect_fail "absent bucket" "does not exist" "$BIN" -f -o "$EP" "$B-absent" "$M"
expect_fail "unreachable endpoint" "cannot be reached" "$BIN" -f -o "endpoint=http://127.0.0.1:1,path_style" "$B" "$M"
expect_fail "no credentials" "no credentials" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    -u AWS_SESSION_TOKEN -u AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
    AWS_CONFIG_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true HOME=/nonexistent \
    "$BIN" -f -o "$EP" "$B" "$M"
expect_fail "wrong secret" "access denied" env AWS_SECRET_ACCESS_KEY=wrong "$BIN" -f -o "$EP" "$B" "$M"

help=$("$BIN" --help)
check_eq "--help exits 0" "$?" 0
missing=""
for o in endpoint= region= profile= path_style ro uid= gid= file_mode= dir_mode= allow_other \
    log_level= memory_budget= stat_ttl= negative_ttl= part_size= abort_stale_uploads= \
    max_rename_objects= ca_bundle= anonymous insecure _netdev noauto nofail; do
    [[ "$help" == *"$o"* ]] || missing="$missing $o"
done
check_eq "--help lists every option" "$missing" ""
check "--version" "$BIN" --version

# the mount.fuse3 form, as fstab `B:/pre\040fix /mnt fuse.s3mount _netdev,... 0 0` runs it
PATH=$(dirname "$BIN"):$PATH /sbin/mount.fuse3 "$B:/pre fix" "$M" -t s3mount \
    -o "$EP,_netdev,nofail,noauto,user,users,auto,defaults,rw,x-systemd.automount,comment=x" \
    >"$IT_TMP/mf.out" 2>&1
check_eq "mount.fuse3 with fstab noise exits 0" "$?" 0
if is_mounted "$M"; then
    ok "mounted by mount.fuse3"
    check_eq "prefix is the root" "$(cat "$M/f")" "in-prefix"
    pid=$(pgrep -f -n "s3mount $B:/pre fix") || pid=""
    fusermount3 -u "$M" && ok "unmounted" || fail "fusermount3 -u"
    for _ in $(seq 1 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        fail "background daemon still running after unmount"
        kill "$pid"
    else
        ok "background daemon exited"
    fi
else
    fail "mount.fuse3 did not mount: $(cat "$IT_TMP/mf.out")"
fi
