#!/bin/bash
# bench_checksum.sh: what upload checksums cost the daemon (issue 13), side by side in ONE run:
# dd bs=1M of a BIG MiB local file (page cache warm) into a fresh s3mount with each
# checksum= mode, and `aws s3 cp` of the same file as the throughput reference. Reports MB/s
# (time includes close, i.e. the commit) and the daemon's CPU-seconds per GB (utime+stime
# from /proc/PID/stat, 1 GB = 1e9 bytes), median of RUNS rounds; the modes are interleaved
# within each round so that other load on a shared machine hits them alike.
#   md5        Content-MD5 only (s3mount before issue 13)
#   crc32c     forced CRC32C, no MD5 (RGW never echoes, so this is how "a server that
#              validates" costs the client; on RGW nothing checks the CRC)
#   crc64nvme  forced CRC64NVME, no MD5
#   auto       the default: CRC64NVME and, as RGW never echoes, Content-MD5 as well
#   base       --baseline DIR: another build's s3mount with its defaults (before/after)
# Not a test: never in ctest. Uses the S3 server of the environment (S3M_ENDPOINT and the
# AWS_* credentials, e.g. `source /tmp/s3m-dev-rgw.env`), in a bucket of its own that it
# removes at the end.
# Usage: tests/bench/bench_checksum.sh [--big MiB] [--runs N] [--build DIR] [--baseline DIR]
#                                      [--modes "md5 crc32c crc64nvme auto"]
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
BUILD=${S3M_BUILD_DIR:-$ROOT/build}
BIG_MIB=1024
RUNS=3
BASE=""
MODES="md5 crc32c crc64nvme auto"
while [ $# -gt 0 ]; do
	case "$1" in
	--big) BIG_MIB=${2:?}; shift ;;
	--runs) RUNS=${2:?}; shift ;;
	--build) BUILD=${2:?}; shift ;;
	--baseline) BASE=${2:?}; shift ;;
	--modes) MODES=${2:?}; shift ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "bench_checksum: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
: "${S3M_ENDPOINT:?set S3M_ENDPOINT and the AWS_* credentials (source /tmp/s3m-dev-rgw.env)}"
S3M=$BUILD/s3mount/s3mount
[ -x "$S3M" ] || { echo "bench_checksum: no $S3M (build first)" >&2; exit 2; }
[ -z "$BASE" ] || [ -x "$BASE/s3mount/s3mount" ] || { echo "bench_checksum: no $BASE/s3mount/s3mount" >&2; exit 2; }
[ -z "$BASE" ] || MODES="$MODES base"
AWS=/usr/bin/aws
[ -x "$AWS" ] || AWS=aws
CLK=$(getconf CLK_TCK)
W=$(mktemp -d /tmp/bench-checksum.XXXXXX)
BUCKET=bench-checksum-$$
BIGF=$W/big.bin
BYTES=$((BIG_MIB * 1048576))
MNT=$W/mnt
MPID=""
export AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
awscli() { AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "$AWS" --endpoint-url "$S3M_ENDPOINT" "$@"; }

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$MPID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null
		wait "$MPID" 2>/dev/null
	fi
	awscli s3 rb --force "s3://$BUCKET" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
cpu_s() { awk -v c="$CLK" '{ printf "%.2f", ($14 + $15) / c }' "/proc/$1/stat" 2>/dev/null || echo 0; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

awscli s3api create-bucket --bucket "$BUCKET" >/dev/null || { echo "bench_checksum: cannot create $BUCKET" >&2; exit 1; }
head -c "$BYTES" /dev/urandom >"$BIGF"
cat "$BIGF" >/dev/null # page cache warm: dd reads memory
mkdir -p "$MNT"

declare -A MBS CPU
for r in $(seq 1 "$RUNS"); do
	t0=$(now)
	awscli s3 cp --no-progress "$BIGF" "s3://$BUCKET/aws.bin" >/dev/null 2>"$W/err" || echo "aws s3 cp failed: $(head -c 200 "$W/err")" >&2
	t1=$(now)
	MBS[aws]+=" $(awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.0f", b / (z - a) / 1e6 }')"
	for m in $MODES; do
		bin=$S3M opt=",checksum=$m"
		[ "$m" = base ] && bin=$BASE/s3mount/s3mount opt=""
		"$bin" -f -o "endpoint=$S3M_ENDPOINT,path_style,region=$AWS_DEFAULT_REGION$opt" "$BUCKET" "$MNT" 2>>"$W/s3mount-$m.log" &
		MPID=$!
		for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.1; done
		mountpoint -q "$MNT" || { echo "mount ($m) failed: $(tail -3 "$W/s3mount-$m.log")" >&2; exit 1; }
		c0=$(cpu_s "$MPID")
		t0=$(now)
		dd if="$BIGF" of="$MNT/w-$m.bin" bs=1M 2>"$W/err" || echo "dd ($m) failed: $(tail -c 200 "$W/err")" >&2
		t1=$(now)
		c1=$(cpu_s "$MPID")
		fusermount3 -u "$MNT"
		wait "$MPID"
		MPID=""
		MBS[$m]+=" $(awk -v b="$BYTES" -v a="$t0" -v z="$t1" 'BEGIN { printf "%.0f", b / (z - a) / 1e6 }')"
		CPU[$m]+=" $(awk -v b="$BYTES" -v a="$c0" -v z="$c1" 'BEGIN { printf "%.2f", (z - a) / (b / 1e9) }')"
		sz=$(awscli s3api head-object --bucket "$BUCKET" --key "w-$m.bin" --query ContentLength --output text 2>/dev/null)
		[ "$sz" = "$BYTES" ] || echo "WRONG SIZE for $m: ${sz:-missing}" >&2
	done
	echo "round $r: aws${MBS[aws]##* } MB/s;$(for m in $MODES; do printf ' %s %s MB/s %s s/GB;' "$m" "${MBS[$m]##* }" "${CPU[$m]##* }"; done)" >&2
done

echo "bench_checksum: dd of $BIG_MIB MiB into s3mount at $S3M_ENDPOINT, median of $RUNS rounds ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '| %-26s | %6s | %16s | %s\n' writer "MB/s" "daemon CPU s/GB" "all rounds (MB/s; CPU s/GB)"
printf '| %-26s | %6s | %16s | %s\n' "aws s3 cp" "$(echo "${MBS[aws]}" | median)" "-" "${MBS[aws]# }"
for m in $MODES; do
	name="s3mount checksum=$m"
	[ "$m" = base ] && name="baseline s3mount"
	printf '| %-26s | %6s | %16s | %s\n' "$name" "$(echo "${MBS[$m]}" | median)" "$(echo "${CPU[$m]}" | median)" "${MBS[$m]# }; ${CPU[$m]# }"
done
grep -h 'checksum:' "$W"/s3mount-*.log | sed 's/^[0-9:.]* //' | sort | uniq -c | sed 's/^/log: /'
