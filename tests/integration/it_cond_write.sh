#!/bin/bash
# it-timeout: 420
# it_cond_write.sh: conditional commits and append (issue 13), through a real mount on RGW.
# A close never replaces another writer's object: a new file's commit carries
# If-None-Match: *, an O_TRUNC overwrite's If-Match on the ETag seen at open, every later
# commit of the same open file If-Match on the ETag of its last commit. Two writers race
# (the mount writes, `aws s3api put-object` of the same key lands before the mount's
# close): close() fails with EEXIST (new file) or ESTALE (overwrite), the other writer's
# object survives, no multipart upload is left.
# EMULATION: Ceph RGW 16 honours the conditions on PutObject but IGNORES them on
# CompleteMultipartUpload (it completes and replaces the object) and ignores
# x-amz-copy-source-if-match on CopyObject (docs/semantics.md says what was seen). So the
# test runs through the fault proxy with "cond_emulate" on: it checks a conditional
# Complete (a conditional copy's source) against a HEAD of the key and answers S3's 412
# PreconditionFailed without forwarding, as S3 does (faultproxy.py, emulate_cond).
# Single-PUT cases are RGW's own answers.
# A lost 200 (the proxy's "reset" fault forwards the commit, then drops the connection
# before the answer): the client retries, the retry fails its condition because the
# object now exists, and the handle must find that the object is its own (nonce, size,
# ETag) and succeed.
# Append: `echo line >> f` on objects of 0 B, 1 KiB, 6 MiB and 100 MiB gives exactly the
# old bytes plus the line; a `>>` racing another writer fails cleanly (ESTALE);
# `dd conv=notrunc` at offset 0 still fails with EPERM.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_env
. "$(dirname "$0")/../faultproxy/proxy.sh"

B=$(unique_bucket)
make_bucket "$B"
D=$(new_dir data)
M=$(new_dir mnt)
MIB=1048576
fp_start --seed 13
fp_set '{"cond_emulate": true}'
IT_MOUNT_OPTS=$(fp_mount_opts)
start_mount "$B" "$M" -o part_size=5M
LOG=$(mount_log "$M")

sha_key() { obj_sha256 "$B" "$1"; }
uploads() { uploads_count "$B"; }
put_theirs() { s3api put-object --bucket "$B" --key "$1" --body "$2" >/dev/null; }
# the other writer as a command (race_close runs it between the write and the close)
THEIRS=$D/put-theirs
cat >"$THEIRS" <<EOF
#!/bin/bash
AWS_CONFIG_FILE=$IT_TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=/dev/null exec "$IT_AWS" \\
    --endpoint-url "$S3M_ENDPOINT" --region "$AWS_REGION" s3api put-object --bucket "$B" \\
    --key "\$1" --body "\$2" >/dev/null
EOF
chmod +x "$THEIRS"

# race_close MODE PATH SRC [CMD...]: open PATH (new|trunc: O_CREAT|O_TRUNC; append:
# O_APPEND), write SRC's bytes, run CMD (the other writer) before closing, then close;
# prints "close ok" or "close ERRNO".
race_close() {
    python3 - "$@" <<'PY' 2>&1
import errno, os, subprocess, sys
mode, path, src = sys.argv[1:4]
flags = os.O_WRONLY | (os.O_APPEND if mode == "append" else os.O_CREAT | os.O_TRUNC)
fd = os.open(path, flags, 0o644)
os.write(fd, open(src, "rb").read())
if sys.argv[4:]:
    subprocess.run(sys.argv[4:], check=True)
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close " + errno.errorcode[e.errno])
PY
}

head -c 1024 /dev/urandom >"$D/small"
head -c $((6 * MIB)) /dev/urandom >"$D/big" # > part_size: multipart
head -c 2000 /dev/urandom >"$D/theirs"
head -c 1500 /dev/urandom >"$D/old"

# ---- two writers create the same key ---------------------------------------------------
for size in small big; do
    k=new-$size
    fp_reset
    out=$(race_close new "$M/$k" "$D/$size" "$THEIRS" $k "$D/theirs")
    check_eq "create race ($size): close fails with EEXIST" "$out" "close EEXIST"
    check_eq "create race ($size): the other writer's object survives" "$(sha_key $k)" \
        "$(file_sha256 "$D/theirs")"
    check_eq "create race ($size): no multipart upload is left" "$(uploads)" 0
    check "create race ($size): the log line names the key" \
        grep -q "upload of $k not committed: another writer created the key" "$LOG"
    check_eq "create race ($size): exactly one log line names it" "$(grep -c "$k" "$LOG")" 1
done
# (s3mount checks a multipart commit's condition with a HEAD before the Complete, since
# RGW ignores it in the Complete: that HEAD finds the other object first)
check "the multipart race was found by the HEAD before the Complete" \
    grep -q "upload of new-big not committed.*seen by a HEAD before the Complete" "$LOG"

# ---- an O_TRUNC overwrite races another writer -------------------------------------------
for size in small big; do
    k=over-$size
    put_theirs "$k" "$D/old"
    stat "$M/$k" >/dev/null # the version the open will see
    out=$(race_close trunc "$M/$k" "$D/$size" "$THEIRS" $k "$D/theirs")
    check_eq "overwrite race ($size): close fails with ESTALE" "$out" "close ESTALE"
    check_eq "overwrite race ($size): the other writer's object survives" "$(sha_key $k)" \
        "$(file_sha256 "$D/theirs")"
    check_eq "overwrite race ($size): no multipart upload is left" "$(uploads)" 0
    check "overwrite race ($size): the log line names the key" \
        grep -q "upload of $k not committed: another writer replaced" "$LOG"
    check_eq "overwrite race ($size): exactly one log line names it" "$(grep -c "$k" "$LOG")" 1
done
# without a race an overwrite goes through (its If-Match holds)
put_theirs over-ok "$D/old"
check_eq "an O_TRUNC overwrite without a race succeeds" \
    "$(race_close trunc "$M/over-ok" "$D/big")" "close ok"
check_eq "... with the new bytes" "$(sha_key over-ok)" "$(file_sha256 "$D/big")"

# ---- the usual patterns keep working ---------------------------------------------------------
seq 1 20000 >"$D/seq"
check "cmd > newfile" bash -c "seq 1 20000 > '$M/redir'"
check_eq "cmd > newfile: its bytes" "$(sha_key redir)" "$(file_sha256 "$D/seq")"
check "cmd > existing file" bash -c "seq 1 20000 > '$M/over-ok'"
check_eq "cmd > existing file: its bytes" "$(sha_key over-ok)" "$(file_sha256 "$D/seq")"
check "exec 3>f; echo a >&3; echo b >&3; exec 3>&-" \
    bash -c "exec 3>'$M/exec3' && echo a >&3 && echo b >&3 && exec 3>&-"
check_eq "exec 3>f: a then b" "$(s3cli cp --no-progress "s3://$B/exec3" - 2>/dev/null | tr '\n' ,)" "a,b,"
out=$(python3 - "$M/fsync" "$D/big" <<'PY' 2>&1
import os, sys
d = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, d[:1000]); os.fsync(fd)           # a small first commit
os.write(fd, d[1000:5500000]); os.fsync(fd)     # continued (GET), second commit
os.write(fd, d[5500000:])                       # continued (server-side copy)
os.close(fd)
print("ok")
PY
)
check_eq "fsync-then-write: every commit goes through" "$out" ok
check_eq "fsync-then-write: its bytes" "$(sha_key fsync)" "$(file_sha256 "$D/big")"

# ---- a lost 200 answer to a conditional commit is not a conflict ------------------------
fp_reset
fp_set '{"script": {"put": ["reset"]}}'
check_eq "lost PutObject answer (new file): close succeeds" \
    "$(race_close new "$M/lost-put" "$D/small")" "close ok"
check_eq "lost PutObject answer: the retry met the object (412)" "$(fp_stat '.status["412"]')" 1
check_eq "lost PutObject answer: its bytes" "$(sha_key lost-put)" "$(file_sha256 "$D/small")"
fp_reset
fp_set '{"script": {"post_complete": ["reset"]}}'
check_eq "lost Complete answer (new file): close succeeds" \
    "$(race_close new "$M/lost-mpu" "$D/big")" "close ok"
check_eq "lost Complete answer: the retry met the object (emulated 412)" \
    "$(fp_stat .cond_refused)" 1
check_eq "lost Complete answer: its bytes" "$(sha_key lost-mpu)" "$(file_sha256 "$D/big")"
check_eq "lost answers: no multipart upload is left" "$(uploads)" 0
fp_set '{"script": {}}'

# ---- append ---------------------------------------------------------------------------------
for n in 0 1024 $((6 * MIB)) $((100 * MIB)); do
    k=app-$n
    head -c "$n" /dev/urandom >"$D/$k"
    put_file "$D/$k" "$B" "$k" || fail "put $k"
    check "echo line >> f ($n bytes)" bash -c "echo line >> '$M/$k'"
    echo line >>"$D/$k"
    check_eq "append ($n bytes): exactly the old bytes plus the line" "$(sha_key "$k")" \
        "$(file_sha256 "$D/$k")"
    rm -f "$D/$k"
done
put_theirs app-race "$D/old"
stat "$M/app-race" >/dev/null
out=$(race_close append "$M/app-race" "$D/small" "$THEIRS" app-race "$D/theirs")
check_eq ">> racing another writer: close fails with ESTALE" "$out" "close ESTALE"
check_eq ">> racing another writer: that writer's object survives" "$(sha_key app-race)" \
    "$(file_sha256 "$D/theirs")"
check_eq ">> racing another writer: no multipart upload is left" "$(uploads)" 0
put_theirs notrunc "$D/old"
out=$(dd if="$D/small" of="$M/notrunc" conv=notrunc bs=1024 2>&1)
check "dd conv=notrunc at offset 0 fails with EPERM" grep -q "Operation not permitted" <<<"$out"
check_eq "dd conv=notrunc: the object is unchanged" "$(sha_key notrunc)" "$(file_sha256 "$D/old")"
stop_mount "$M"

# ---- a rename copies only the version it saw (x-amz-copy-source-if-match) -----------------
# stat_ttl=30 keeps the version seen at stat while another writer replaces the object.
M2=$(new_dir mnt2)
start_mount "$B" "$M2" -o stat_ttl=30
put_theirs rn-src "$D/old"
stat "$M2/rn-src" >/dev/null
put_theirs rn-src "$D/theirs"
fp_reset
check_not "rename of a source replaced since it was seen fails" mv "$M2/rn-src" "$M2/rn-dst"
# (the kernel tries a rename that gets ESTALE once more, revalidating: 1 or 2 refusals)
check "... refused by the copy's condition (emulated 412)" test "$(fp_stat .cond_refused)" -ge 1
check_eq "... and changes nothing: the source is the other writer's" "$(sha_key rn-src)" \
    "$(file_sha256 "$D/theirs")"
check_not "... and the destination does not exist" s3api head-object --bucket "$B" --key rn-dst
check "a rename of the version seen goes through" mv "$M2/over-ok" "$M2/rn-ok"
check_eq "... with its bytes" "$(sha_key rn-ok)" "$(file_sha256 "$D/seq")"
stop_mount "$M2"
fp_stop
IT_MOUNT_OPTS=

# ---- no_conditional_writes: the last writer wins, as before --------------------------------
M3=$(new_dir mnt3)
start_mount "$B" "$M3" -o no_conditional_writes
out=$(race_close new "$M3/nocond" "$D/small" "$THEIRS" nocond "$D/theirs")
check_eq "no_conditional_writes: close succeeds" "$out" "close ok"
check_eq "no_conditional_writes: the mount's bytes replaced the other writer's" \
    "$(sha_key nocond)" "$(file_sha256 "$D/small")"
stop_mount "$M3"
