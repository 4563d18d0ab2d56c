#!/bin/bash
# it_fstab_mount.sh: what `cmake --install` puts in place, and a mount made by mount(8)
# from an fstab line through the installed helper (mount.fuse.s3mount -> mount.fuse3 ->
# s3mount, daemonized), read and written through, then unmounted with umount(8).
#
# mount(8) looks for helpers only in /sbin, so the test puts its helper there for the
# duration (pointing at this build's s3mount) and removes it at exit; an existing helper
# (a real install) is left alone and used as it is only if it points at this build.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env

[ "$(id -u)" = 0 ] || fatal "needs root (mount(8) with a helper in /sbin)"
T=$(new_dir t)

# 1. The install layout, into a DESTDIR.
DESTDIR=$T/root cmake --install "$S3M_BUILD_DIR" >"$T/install.log" 2>&1 || fatal "cmake --install failed: $(tail -3 "$T/install.log")"
prefix=$(awk -F': ' '/Installing: .*\/bin\/s3mount$/ { print $2 }' "$T/install.log" | sed "s|^$T/root||; s|/bin/s3mount$||")
check "install: s3mount and filter binaries" test -x "$T/root$prefix/bin/s3mount" -a -x "$T/root$prefix/bin/filter"
check "install: man pages s3mount.1 and filter.1" test -s "$T/root$prefix/share/man/man1/s3mount.1" -a -s "$T/root$prefix/share/man/man1/filter.1"
check "install: systemd unit" test -s "$T/root$prefix/lib/systemd/system/s3mount@.service"
check "install: mount helper in /sbin" test -x "$T/root/sbin/mount.fuse.s3mount"
check "install: the man page documents every option of --help" \
    grep -q 'max_rename_objects' "$T/root$prefix/share/man/man1/s3mount.1"
check "installed unit runs the installed binary" grep -q "ExecStart=$prefix/bin/s3mount " "$T/root$prefix/lib/systemd/system/s3mount@.service"

# 2. The helper, pointing at this build's s3mount.
HELPER=/sbin/mount.fuse.s3mount
OURS=0
if [ ! -e "$HELPER" ]; then
    sed "s|$prefix/bin/s3mount#|$S3M_BUILD_DIR/s3mount/s3mount#|" "$T/root/sbin/mount.fuse.s3mount" >"$HELPER" &&
        chmod 755 "$HELPER" && OURS=1
    trap '[ "$OURS" = 1 ] && rm -f "$HELPER"; it_exit' EXIT
fi
grep -q "$S3M_BUILD_DIR/s3mount/s3mount#" "$HELPER" || fatal "$HELPER exists and does not run this build's s3mount"

# 3. An fstab line with mount(8)'s own options mixed in, mounted by mountpoint.
B=$(unique_bucket)
make_bucket "$B"
printf 'hello from fstab\n' >"$T/hello.txt"
put_file "$T/hello.txt" "$B" "data/hello.txt" || fail "upload hello.txt"
M=$(new_dir mnt)
cat >"$T/fstab" <<FSTAB
# a comment line, as in a real fstab
$B:/data $M fuse.s3mount _netdev,noauto,nofail,x-systemd.automount,endpoint=$S3M_ENDPOINT,path_style,region=$AWS_REGION,memory_budget=64M 0 0
FSTAB
check "mount --fstab FILE MOUNTPOINT" mount --fstab "$T/fstab" "$M"
check "the mount shows as fuse.s3mount in /proc/mounts" grep -q " $M fuse.s3mount " /proc/mounts
PID=$(pgrep -f "s3mount $B:/data $M" | head -1)
check "s3mount daemonized (a PID runs it)" test -n "$PID"
check_eq "read through the fstab mount" "$(cat "$M/hello.txt" 2>&1)" "hello from fstab"
head -c 3000000 /dev/urandom >"$T/w.bin"
check "write through the fstab mount" cp "$T/w.bin" "$M/w.bin"
get_file "$B" data/w.bin "$T/w.back" && check_file_eq "object written through the mount == source" "$T/w.back" "$T/w.bin"
check "umount" umount "$M"
for _ in $(seq 100); do [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
check "the daemon exited after umount" test -z "$PID" -o ! -d "/proc/$PID"
