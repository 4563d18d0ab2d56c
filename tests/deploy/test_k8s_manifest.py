#!/usr/bin/env python3
"""test_k8s_manifest.py: deploy/kubernetes/filter-job.yaml keeps the fields the killed-writer
rule needs (docs/deployment.md) and its commands work with the real CLIs.

Kubernetes cannot run here, so this checks what can be checked without it:
  - an Indexed Job whose completions equal the N of `filter --shard K/N`;
  - the mount runs as a native sidecar (an init container with restartPolicy: Always), is
    privileged, reaches /dev/fuse through a CharDevice hostPath, mounts with Bidirectional
    propagation into a volume the filter container sees with HostToContainer; a startupProbe
    waits for the mountpoint and preStop unmounts it;
  - shareProcessNamespace: true (without it the filter is pid 0 to the daemon and a killed
    filter's partial CSV would be published);
  - the s3mount command line parses: run with a mountpoint that does not exist, the real
    s3mount must get past its options and fail on the mountpoint (exit 1), not on usage (2);
  - the filter command, run by /bin/sh as the container would, with the mount replaced by a
    local folder holding one gzip file and JOB_COMPLETION_INDEX set to each K in 0..N-1:
    exit 0 every time, and the matching record lands in exactly one shard's CSV.
Usage: test_k8s_manifest.py MANIFEST S3MOUNT FILTER
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

FAILS = []
PASSES = 0


def check(desc, cond, detail=""):
    global PASSES
    if cond:
        PASSES += 1
        print("ok   - " + desc)
    else:
        FAILS.append(desc)
        print("FAIL - %s %s" % (desc, detail))


def main():
    manifest, s3mount, filt = sys.argv[1:4]
    with open(manifest) as f:
        job = yaml.safe_load(f)
    check("kind Job, batch/v1", job.get("kind") == "Job" and job.get("apiVersion") == "batch/v1")
    spec = job["spec"]
    check("completionMode Indexed", spec.get("completionMode") == "Indexed")
    pod = spec["template"]["spec"]
    check("shareProcessNamespace: true", pod.get("shareProcessNamespace") is True)
    check("the pod does not restart in place (restartPolicy Never)", pod.get("restartPolicy") == "Never")
    vols = {v["name"]: v for v in pod.get("volumes", [])}

    sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
    check("one native sidecar (init container, restartPolicy: Always)", len(sidecars) == 1)
    side = sidecars[0]
    cmd = side["command"]
    check("the sidecar runs s3mount in the foreground", os.path.basename(cmd[0]) == "s3mount" and "-f" in cmd)
    mnt = cmd[-1]
    check("the sidecar is privileged", side.get("securityContext", {}).get("privileged") is True)
    vm = {m["mountPath"]: m for m in side.get("volumeMounts", [])}
    check("the sidecar mounts %s with Bidirectional propagation" % mnt,
          vm.get(mnt, {}).get("mountPropagation") == "Bidirectional")
    fuse = vm.get("/dev/fuse")
    check("/dev/fuse from a CharDevice hostPath",
          fuse is not None and vols.get(fuse["name"], {}).get("hostPath", {}).get("type") == "CharDevice"
          and vols[fuse["name"]]["hostPath"]["path"] == "/dev/fuse")
    probe = side.get("startupProbe", {}).get("exec", {}).get("command", [])
    check("startupProbe waits for the mountpoint", probe[-1:] == [mnt] and "mountpoint" in probe[0])
    stop = side.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    check("preStop unmounts", stop[:1] and "fusermount3" in stop[0] and stop[-1] == mnt and "-u" in stop)

    mains = pod.get("containers", [])
    check("one main container", len(mains) == 1)
    main_c = mains[0]
    mvm = {m["mountPath"]: m for m in main_c.get("volumeMounts", [])}
    check("the filter sees %s with HostToContainer propagation" % mnt,
          mvm.get(mnt, {}).get("mountPropagation") == "HostToContainer"
          and mvm[mnt]["name"] == vm[mnt]["name"])
    check("the shared volume is an emptyDir", "emptyDir" in vols.get(vm[mnt]["name"], {}))

    # s3mount's command line: options parse; only the missing mountpoint stops it
    with tempfile.TemporaryDirectory() as tmp:
        argv = [s3mount] + cmd[1:-1] + [os.path.join(tmp, "no-such-dir")]
        env = {"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"}
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        check("s3mount accepts the sidecar's options (fails on the mountpoint, exit 1)",
              r.returncode == 1 and "mountpoint" in r.stderr, "exit %d: %s" % (r.returncode, r.stderr.strip()))

    # the filter command, run as the container runs it
    script = main_c["command"] + main_c["args"]
    check("the filter runs through /bin/sh -c", script[:2] == ["/bin/sh", "-c"] and len(script) == 3)
    body = script[2]
    m = re.search(r'--shard\s+"?\$JOB_COMPLETION_INDEX/(\d+)"?', body)
    check("filter takes --shard $JOB_COMPLETION_INDEX/N", m is not None)
    n = int(m.group(1)) if m else 0
    check("completions (%s) equal the shard count N (%d)" % (spec.get("completions"), n),
          spec.get("completions") == n and n > 0)
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "s3")
        os.makedirs(os.path.join(local, "in"))
        recs = [
            {"id": 1, "event_type": "purchase", "user": {"country": "DE"}, "amount": 120.5},
            {"id": 2, "event_type": "view", "user": {"country": "DE"}, "amount": 3},
            {"id": 3, "event_type": "refund", "user": {"country": "FR"}, "amount": 40},
        ]
        with gzip.open(os.path.join(local, "in", "day-1.jsonl.gz"), "wt") as f:
            for r_ in recs:
                f.write(json.dumps(r_) + "\n")
        local_body = body.replace("/usr/local/bin/filter", filt).replace(mnt, local)
        rows_per_shard = []
        for k in range(n):
            env = {"PATH": "/usr/bin:/bin", "JOB_COMPLETION_INDEX": str(k)}
            r = subprocess.run(["/bin/sh", "-c", local_body], env=env, capture_output=True, text=True, timeout=60)
            out = os.path.join(local, "out", "part-%d.csv" % k)
            if r.returncode != 0 or not os.path.exists(out):
                check("filter shard %d ran" % k, False, "exit %d: %s" % (r.returncode, r.stderr.strip()))
                continue
            with open(out, newline="") as f:
                lines = f.read().split("\r\n")
            rows_per_shard.append([ln for ln in lines[1:] if ln])
        check("every shard ran (exit 0, a CSV each)", len(rows_per_shard) == n)
        allrows = [row for rows in rows_per_shard for row in rows]
        check("the one matching record is in exactly one shard", allrows == ["1,purchase,DE,120.5"], repr(allrows))

    print("%d passed, %d failed" % (PASSES, len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
