#!/usr/bin/python3
"""Peak RSS of `filter -j 2` stays <= 64 MiB whatever the input size and the number of
matches: two multi-member gzip files of ~700 MB decompressed each (the real GH Archive hours
concatenated 40 times: ~200 MB on disk), every record matching, wide columns (nested payload
as JSON), output through -o /dev/null (the same writer path as a file, without putting
~1.4 GB of CSV on the test machine's disk). Peak RSS from wait4()'s rusage of the filter.

usage: rss_filter.py FILTER_BINARY SHARED_DIR      prints "N passed, N failed"
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FILTER, SHARED = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
GH = [os.path.join(SHARED, "datasets/gharchive/2015-01-01-%d.json.gz" % i) for i in (0, 1)]
LINES = (7702, 7427)
REPEAT = 40
LIMIT_KB = 64 * 1024


def sanitized():
    """True for an ASan/TSan build (S3M_SANITIZE): its shadow memory and quarantine add
    tens of MiB, so the bound checked there is looser (still a bound: no growth with size)."""
    try:
        out = subprocess.run(["ldd", FILTER], capture_output=True, text=True).stdout
    except OSError:
        return False
    return "libasan" in out or "libtsan" in out


def peak_rss(args):
    """Runs the filter; returns (exit status, peak RSS in KiB, stderr)."""
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([FILTER, "--no-progress"] + args, stdout=subprocess.DEVNULL,
                         stderr=err)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    return p.returncode, ru.ru_maxrss, err.read().decode("utf-8", "replace")


def main():
    tmp = tempfile.mkdtemp(prefix="rss_filter.")
    passed = failed = 0
    try:
        files = []
        for i, src in enumerate(GH):
            data = open(src, "rb").read()
            path = os.path.join(tmp, "big%d.json.gz" % i)
            with open(path, "wb") as f:
                for _ in range(REPEAT):
                    f.write(data)
            files.append(path)
        want_rows = REPEAT * sum(LINES)
        limit_kb = LIMIT_KB
        if sanitized():
            limit_kb = 3 * LIMIT_KB
            print("sanitizer build: RSS limit 192 MiB instead of 64 MiB", flush=True)
        cases = [
            ("all rows, wide columns, -j 2",
             ["-j", "2", "-w", "true", "-c", "id,type,actor,repo,payload,created_at",
              "-o", os.devnull] + files, want_rows),
            ("all rows, --zlib, -j 2",
             ["-j", "2", "--zlib", "-w", "true", "-c", "id,payload",
              "-o", os.devnull] + files, want_rows),
            ("one file (two scanner threads), all rows, wide columns",
             ["-j", "2", "-w", "true", "-c", "id,type,actor,repo,payload,created_at",
              "-o", os.devnull, files[0]], REPEAT * LINES[0]),
            ("selective, -j 2, jsonl",
             ["-j", "2", "-f", "jsonl", "-w", "type == 'PushEvent' and payload.size >= 3",
              "-c", "id,payload.commits", "-o", os.devnull] + files,
             REPEAT * (439 + 399)),
        ]
        for name, args, want in cases:
            rc, rss, err = peak_rss(args)
            m = re.search(r"([\d,]+) rows", err)
            rows = int(m.group(1).replace(",", "")) if m else -1
            ok = rc == 0 and rss <= limit_kb and rows == want
            print("%s %s: exit %d, peak RSS %.1f MiB (limit %d), %d rows (want %d)"
                  % ("ok  " if ok else "FAIL", name, rc, rss / 1024, limit_kb // 1024, rows,
                     want), flush=True)
            if not ok:
                print(err[-2000:])
            passed += ok
            failed += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
