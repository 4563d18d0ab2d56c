#!/bin/bash
# run-tests.sh: the project's one test command (README.md names it; .ci/run calls it).
#
#   1. installs the Debian packages it needs when one is missing (apt-get, as root);
#   2. configures and builds build/ (normal) and build-asan/ (ASan+UBSan, -DS3M_SANITIZE=ON);
#   3. inside a private network namespace with only loopback (unshare --net; not
#      `ip netns exec`, which would hide FUSE mounts from the tests), starts a Ceph RGW with
#      tests/s3/rgw-up.sh in a temp dir, runs ctest on both builds, stops RGW by PID on
#      every exit path, and prints a summary. Exit status 0 only when everything passed.
#
# Usage: tests/run-tests.sh [options]
#   --quick             normal build only (no ASan build or ASan tests)
#   -R REGEX / -E REGEX / -L LABEL
#                       passed to every ctest run (only matching tests run; RGW is started
#                       only when an integration test matches)
#   --no-asan-integration
#                       run only unit and fuzz-replay tests on the ASan build
#   --tsan              also build build-tsan/ (-DS3M_TSAN=ON) and run every test on it
#   --no-install        never call apt-get (fail later if something is missing)
#   -j N                build and unit-test parallelism (default 2: the machines have 2 cores)
#   -h, --help
# Environment: CI=true makes every missing prerequisite (/dev/fuse, unshare, RGW) a failure;
# without it, a developer machine without unshare runs on the host network with free ports.
# S3M_IT_JOBS (default 1): ctest parallelism of the integration phases.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT" || exit 1
CI=${CI:-}
[ "$CI" = true ] || [ "$CI" = 1 ] && STRICT=1 || STRICT=0

# Debian packages needed to build, test and serve S3 (all with --no-install-recommends).
PKGS=(
    gcc make cmake pkg-config
    libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev zlib1g-dev libcjson-dev libexpat1-dev
    libisal-dev isal
    clang-14 libclang-rt-14-dev
    radosgw ceph-mon ceph-osd uuid-runtime
    curl awscli jq xxd bc python3 python3-yaml iproute2 util-linux procps openssl
    s3fs rclone systemd libdeflate-tools pigz
    clang-format cppcheck git
)

QUICK=0
INSTALL=1
ASAN_IT=1
TSAN=${S3M_RT_TSAN:-0}
JOBS=2
FILTER=()
INNER=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --no-install) INSTALL=0 ;;
    --no-asan-integration) ASAN_IT=0 ;;
    --tsan) TSAN=1 ;;
    -R | -E | -L)
        [ $# -ge 2 ] || { echo "run-tests: $1 needs an argument" >&2; exit 2; }
        FILTER+=("$1" "$2")
        shift
        ;;
    -j)
        JOBS=${2:?-j needs a number}
        shift
        ;;
    --inner) INNER=1 ;;
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        exit 0
        ;;
    *)
        echo "run-tests: unknown option '$1' (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '\n==== [run-tests %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# record NAME STATUS SECONDS PASSED FAILED: one line per phase for the final summary.
record() {
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" >>"$RESULTS"
}

# run_ctest NAME BUILD_DIR [ctest args...]: run ctest, keep its output, record its counts.
run_ctest() {
    local name=$1 dir=$2 t0 rc out passed failed total line
    shift 2
    out=$RUN_TMP/ctest.${name// /_}.log
    log "ctest $name: ctest --test-dir $dir $*"
    t0=$(now)
    ctest --test-dir "$dir" --output-on-failure "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -1)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
        total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
        passed=$((total - failed))
    else
        passed=0
        failed=0
        # No test matched: an error only when ctest said so (--no-tests=error).
    fi
    if [ "$rc" = 0 ]; then
        record "ctest $name" ok "$(secs "$t0")" "$passed" "$failed"
    else
        [ "$failed" = 0 ] && failed=1
        record "ctest $name" FAILED "$(secs "$t0")" "$passed" "$failed"
    fi
    return "$rc"
}

# ======================================================================================
# Inner part: runs inside the private network namespace (or on the host without unshare).
# ======================================================================================
if [ "$INNER" = 1 ]; then
    : "${RUN_TMP:?}" "${RESULTS:?}"
    RGW_DIR=$RUN_TMP/rgw
    RGW_PIDS=""
    # Everything the tests create in /tmp goes under RUN_TMP, so leftovers can be found.
    # It is world-writable and sticky like /tmp: some tests drop privileges (uid nobody).
    export TMPDIR=$RUN_TMP/tmp
    mkdir -p "$TMPDIR"
    chmod 1777 "$TMPDIR"

    cleanup_inner() {
        local rc=$? m p
        trap - EXIT INT TERM
        # Mounts a test left behind under this run's temp dir: a failure, unmounted lazily.
        while read -r m; do
            [ -n "$m" ] || continue
            echo "run-tests: a test left a mount at $m; unmounting" >&2
            fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
            record "leftover mount $m" FAILED 0 0 1
        done < <(awk -v r="$RUN_TMP/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo)
        if [ -n "$RGW_PIDS" ] || [ -f "$RGW_DIR/.s3m-rgw" ]; then
            log "stopping RGW ($RGW_PIDS)"
            "$ROOT/tests/s3/rgw-down.sh" "$RGW_DIR" || record "rgw stop" FAILED 0 0 1
        fi
        # Daemons a test left running: their command lines name this run's temp dir.
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            [ "$p" = $$ ] && continue
            if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$RUN_TMP/"; then
                echo "run-tests: killing leftover process $p: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
                kill -KILL "$p" 2>/dev/null && record "leftover process $p" FAILED 0 0 1
            fi
        done
        exit "$rc"
    }
    trap cleanup_inner EXIT
    trap 'exit 130' INT TERM

    if [ -n "${S3M_RT_NETNS:-}" ]; then
        echo "network namespace: $(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')"
    fi

    # Do integration tests match the filter at all? Only then is RGW needed.
    need_rgw=0
    for b in $S3M_RT_BUILDS; do
        n=$(ctest --test-dir "$b" -N -L integration "${FILTER[@]}" 2>/dev/null | grep -cE '^ *Test +#')
        [ "$n" -gt 0 ] && need_rgw=1
    done

    rgw_ok=0
    if [ "$need_rgw" = 1 ]; then
        # RGW starts (about 16 s) while the first unit tests run.
        log "starting RGW in $RGW_DIR (background)"
        rgw_t0=$(now)
        S3M_RGW_DIR=$RGW_DIR S3M_RGW_PORT=${S3M_RT_RGW_PORT:-7480} \
            "$ROOT/tests/s3/rgw-up.sh" >"$RUN_TMP/rgw.env" 2>"$RUN_TMP/rgw-up.log" &
        rgw_job=$!
    fi

    any_fail=0
    unit_args=(-LE integration -j "$JOBS")
    [ ${#FILTER[@]} -eq 0 ] && unit_args+=(--no-tests=error)
    it_args=(-L integration -j "${S3M_IT_JOBS:-1}")

    first=1
    for b in $S3M_RT_BUILDS; do
        kind=normal
        [ "$b" = build-asan ] && kind=asan
        [ "$b" = build-tsan ] && kind=tsan
        unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
        if [ "$kind" = tsan ]; then
            export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:print_summary=1
        fi
        if [ "$kind" = asan ]; then
            # halt_on_error: the first report fails the test. Leak checking stays on, for the
            # FUSE daemon too (stop_mount in lib.sh fails a test on any sanitizer report).
            export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:print_summary=1
            export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:print_summary=1
        fi
        run_ctest "$kind unit+fuzz" "$b" "${unit_args[@]}" "${FILTER[@]}" || any_fail=1

        if [ "$first" = 1 ] && [ "$need_rgw" = 1 ]; then
            first=0
            # rgw-up.sh's own clock (its READY line), not the wait that overlapped the tests.
            if wait "$rgw_job"; then
                rgw_ok=1
                t=$(sed -n 's/^\[rgw-up *\([0-9.]*\)s\] READY.*/\1/p' "$RUN_TMP/rgw-up.log")
                record "rgw start" ok "${t:-$(secs "$rgw_t0")}"
            else
                record "rgw start" FAILED "$(secs "$rgw_t0")" 0 1
                any_fail=1
            fi
            cat "$RUN_TMP/rgw-up.log"
            if [ "$rgw_ok" = 1 ]; then
                # shellcheck disable=SC1091
                . "$RUN_TMP/rgw.env"
                RGW_PIDS=$S3M_RGW_PIDS
                echo "S3 endpoint $S3M_ENDPOINT, RGW pids $RGW_PIDS"
            fi
        fi
        [ "$kind" = asan ] && [ "$ASAN_IT" = 0 ] && continue
        # scenarios that only wait (long outages, storms: label normal-only) run in the
        # normal build; the sanitizers see the same code paths in the shorter tests
        kind_args=()
        [ "$kind" != normal ] && kind_args=(-LE normal-only)
        n=$(ctest --test-dir "$b" -N -L integration "${kind_args[@]}" "${FILTER[@]}" 2>/dev/null |
            grep -cE '^ *Test +#')
        [ "$n" -gt 0 ] || continue
        if [ "$rgw_ok" = 1 ]; then
            run_ctest "$kind integration" "$b" "${it_args[@]}" "${kind_args[@]}" "${FILTER[@]}" ||
                any_fail=1
        else
            record "ctest $kind integration" "NOT RUN (no RGW)" 0 0 "$n"
            any_fail=1
        fi
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
    exit "$any_fail"
fi

# ======================================================================================
# Outer part.
# ======================================================================================
T_START=$(now)
RUN_TMP=$(mktemp -d /tmp/s3m-run.XXXXXX)
chmod 755 "$RUN_TMP"
RESULTS=$RUN_TMP/results.tsv
: >"$RESULTS"
export RUN_TMP RESULTS
trap 'rm -rf "$RUN_TMP"' EXIT
trap 'exit 130' INT TERM
FAILED=0

print_summary() {
    local p=0 f=0 name st s np nf
    printf '\n==== summary (%s s in all)\n' "$(secs "$T_START")"
    printf '%-28s %-18s %8s %7s %7s\n' phase status seconds passed failed
    while IFS=$'\t' read -r name st s np nf; do
        printf '%-28s %-18s %8s %7s %7s\n' "$name" "$st" "$s" "$np" "$nf"
        [ "$np" != - ] && p=$((p + np))
        [ "$nf" != - ] && f=$((f + nf))
    done <"$RESULTS"
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "run-tests: no test ran"
        f=1
    fi
    [ "$FAILED" != 0 ] && [ "$f" -eq 0 ] && f=1
    echo
    echo "summary: $p passed, $f failed"
    [ "$f" -eq 0 ]
}

# ---- 1. packages ---------------------------------------------------------------------
t0=$(now)
missing=()
while read -r pkg st; do
    [ "$st" = installed ] || missing+=("$pkg")
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null)
# dpkg-query prints nothing for a package it has never heard of.
for pkg in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -q '^installed$' ||
        [[ " ${missing[*]:-} " == *" $pkg "* ]] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    record "packages" ok "$(secs "$t0")"
elif [ "$INSTALL" = 0 ]; then
    echo "run-tests: missing packages (--no-install): ${missing[*]}" >&2
    record "packages" "MISSING" "$(secs "$t0")" 0 1
    FAILED=1
else
    log "installing ${#missing[@]} Debian packages: ${missing[*]}"
    SUDO=()
    [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    if "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q &&
        "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"; then
        record "packages (${#missing[@]} installed)" ok "$(secs "$t0")"
    else
        record "packages" FAILED "$(secs "$t0")" 0 1
        print_summary
        exit 1
    fi
fi

# RGW's sparse block file grows up to 20 GiB and builds need about 2 GiB: say so early
# rather than fail later with ENOSPC somewhere deep in a test.
avail_kb=$(df -Pk /tmp | awk 'NR == 2 { print $4 }')
if [ "${avail_kb:-0}" -lt $((10 * 1024 * 1024)) ]; then
    echo "run-tests: WARNING: only $((avail_kb / 1024)) MiB free in /tmp; tests writing" \
        "gigabytes through RGW may fail with ENOSPC" >&2
fi

log "versions"
{
    gcc --version | head -1
    cmake --version | head -1
    ceph --version 2>/dev/null
    /usr/bin/aws --version 2>&1
    uname -r
} | sed 's/^/  /'

# ---- 2. builds -----------------------------------------------------------------------
build() {
    local dir=$1 t0
    shift
    log "build $dir"
    t0=$(now)
    local cc=()
    [ -f "$dir/CMakeCache.txt" ] || cc=(-DCMAKE_C_COMPILER="${CC:-gcc}")
    if cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cc[@]}" "$@" &&
        cmake --build "$dir" -j "$JOBS"; then
        record "build $dir" ok "$(secs "$t0")"
        return 0
    fi
    record "build $dir" FAILED "$(secs "$t0")" 0 1
    return 1
}
BUILDS=""
build build && BUILDS=build || FAILED=1
if [ "$QUICK" = 0 ]; then
    build build-asan -DS3M_SANITIZE=ON && BUILDS="$BUILDS build-asan" || FAILED=1
fi
if [ "$TSAN" = 1 ]; then
    build build-tsan -DS3M_TSAN=ON && BUILDS="$BUILDS build-tsan" || FAILED=1
fi

# ---- 3. tests in a private network namespace ------------------------------------------
export S3M_RT_BUILDS=$BUILDS
args=(--inner -j "$JOBS")
[ "$ASAN_IT" = 0 ] && args+=(--no-asan-integration)
args+=("${FILTER[@]}")
if [ -z "$BUILDS" ]; then
    echo "run-tests: nothing built; no tests run" >&2
elif [ ! -c /dev/fuse ] && [ "$STRICT" = 1 ]; then
    echo "run-tests: /dev/fuse is missing; FUSE tests cannot run (CI: a failure)" >&2
    record "/dev/fuse" MISSING 0 0 1
    FAILED=1
else
    [ -c /dev/fuse ] || echo "run-tests: WARNING: /dev/fuse is missing; mount tests will fail" >&2
    if unshare --net -- true 2>/dev/null; then
        export S3M_RT_NETNS=1
        # The namespace only has lo, down until we raise it. Mounts stay visible outside.
        unshare --net -- bash -c 'ip link set lo up && exec bash "$0" "$@"' \
            "$ROOT/tests/run-tests.sh" "${args[@]}" </dev/null || FAILED=1
    elif [ "$STRICT" = 1 ]; then
        echo "run-tests: 'unshare --net' does not work here (needs root/CAP_SYS_ADMIN); CI: a failure" >&2
        record "unshare --net" FAILED 0 0 1
        FAILED=1
    else
        echo "run-tests: WARNING: 'unshare --net' unavailable; running on the host network, free ports" >&2
        S3M_RT_RGW_PORT=auto bash "$ROOT/tests/run-tests.sh" "${args[@]}" </dev/null || FAILED=1
    fi
fi

print_summary
rc=$?
[ "$FAILED" = 0 ] && [ "$rc" = 0 ] && exit 0
exit 1
