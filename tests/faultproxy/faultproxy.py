#!/usr/bin/python3
"""faultproxy.py: a fault-injecting HTTP/1.1 proxy on loopback, for s3mount's fault tests.

    s3mount -o endpoint=http://127.0.0.1:<proxy port>  --->  faultproxy  --->  RGW

It forwards every request to the upstream S3 endpoint (keep-alive on both sides, bodies
streamed both ways, never buffered whole) and injects faults per request class at chosen
rates. Python standard library only; one thread per client connection.

Host header and SigV4: the client signs the Host it connects to (the proxy's
127.0.0.1:PORT). The proxy forwards the request head byte for byte, Host included, so
RGW verifies the signature over the same Host the client signed. This works because
RGW with path-style requests does not compare Host with its own address (it only uses
Host to spot virtual-hosted bucket names, and "127.0.0.1:PORT" is not one). With a
server that does check Host, this proxy would have to rewrite it and the signature
would fail: then point the client at the proxy only with an unsigned/anonymous test.

Request classes (how a request is classified):
    get        GET of an object without Range        get_range  GET of an object with Range
    list       GET of a bucket (ListObjectsV2, ListMultipartUploads, ...)
    head       HEAD (object or bucket)               put        PUT of an object (PutObject, CopyObject)
    upload_part  PUT ?partNumber&uploadId            post_create  POST ?uploads
    post_complete POST ?uploadId (Complete)          delete     DELETE (object or abort)
    post       other POST (DeleteObjects)            other      anything else
Fault kinds (at most one per request, drawn in this order, each with its own rate):
    500        answer 500 InternalError (real S3 XML body); the request never reaches S3
    503        answer 503 SlowDown (real S3 XML body); the request never reaches S3
    reset      forward, then reset the connection (RST) in the middle of the response
               body (or before the response when it has no body)
    truncate   forward, send the response head and part of the body, then close (FIN)
    stall      forward, send the response head and part of the body (or nothing), then
               send nothing for `stall_s` seconds (default 45: past the client's 30 s
               low-speed timeout) and close
    flip_req   flip one byte of the request body on its way to S3 (only requests with a
               body; Content-MD5 should make S3 reject it with BadDigest)
    flip_resp  flip one byte of the response body on its way to the client (only
               responses with a body)
    delay      hold the request `delay_s` seconds (default 3), then forward it as usual:
               no error, only time, to keep a request in flight while the client does
               something else (e.g. an UploadPartCopy during a rename)
    nosuchupload  answer 404 NoSuchUpload (real S3 XML body) without asking S3: what S3
               answers a retried Complete whose first try went through, or an upload that
               was aborted; only sensible in a script (below)
A fault that cannot apply to a request (flip_req without a body) is not drawn for it.

Control (HTTP on a second loopback port; curl-friendly JSON):
    GET  /stats        {"requests": {class: n}, "faults": {kind: n},
                        "faults_by_class": {class: {kind: n}}, "bytes_up": n,
                        "bytes_down": n, "upstream_connect_errors": n, "connections": n,
                        "handler_errors": n, "flipped_req": n, "flipped_resp": n,
                        "status": {http status of S3's forwarded answers: n},
                        "inflight": n, "inflight_max": n (requests whose answer is
                        not finished, now and at most), "per_second": [[second since
                        the last reset, requests that arrived, most in flight], ...],
                        "checksum_heads": HEAD answers given a CRC64NVME (checksum_head),
                        "cond_refused": n (412s answered by cond_emulate)}
    GET  /config       the current configuration
    POST /config       merge a JSON object: {"rates": {class|"*": {kind: rate}},
                       "seed": n, "stall_s": s, "delay_s": s, "max_faults": n,
                       "down": bool, "script": {class: [kind|null, ...]}}
                       a script forces the next requests of a class, in order, before
                       any rate is drawn (null: no fault); it is used up as it goes
                       (a rate for "*" applies to every class; a class entry wins;
                       "rates" given replaces the whole table; max_faults (-1 = no limit)
                       caps the total faults injected from now on; down=true closes
                       every new request's connection without answering: a dead server)
                       "part_number_size": P (0 = off) emulates HEAD ?partNumber=K for
                       a server that ignores it (RGW 16): see emulate_part_head; P is a
                       part size (parts of P bytes, the last shorter) or a list of the
                       object's part sizes
                       "sse_emulate": MODE|null answers as S3 does for objects under that
                       encryption (aws:kms, aws:kms:dsse, sse-c; AES256 as a control):
                       its headers on every object answer, and each ETag RGW gives
                       (headers, ListObjectsV2, CopyObject, Complete) replaced by another
                       of the same shape, mapped back when a request names it (If-Match,
                       x-amz-copy-source-if-match). See SSE_MODES.
                       "checksum_validate": bool emulates a server that validates
                       upload checksums (S3 since 2022; RGW 16 ignores them): a PutObject
                       or UploadPart declaring x-amz-checksum-crc32c or -crc64nvme has its
                       body read whole (after any flip_req), its CRC computed here by
                       plain-Python code of this file (never the project's), and is
                       answered 400 BadDigest without reaching RGW on a mismatch, or
                       forwarded and its 2xx answer given the header back (the echo S3
                       sends). A CompleteMultipartUpload declaring the whole object's CRC
                       (FULL_OBJECT) is checked as S3 does: each listed part's checksum
                       against the one its UploadPart was validated with (400 InvalidPart),
                       and the parts' CRCs combined in order against the header (400
                       BadDigest); left unchecked when a part was not seen (UploadPartCopy).
                       /stats: checksum_checked, checksum_bad, checksum_echoed,
                       checksum_complete_checked, checksum_complete_bad,
                       checksum_complete_unknown
                       "checksum_head": bool answers HEAD of an object, when the request
                       has x-amz-checksum-mode: ENABLED, as S3 does for an object with a
                       full-object CRC64NVME: x-amz-checksum-crc64nvme and
                       x-amz-checksum-type: FULL_OBJECT, computed here (crc64nvme below:
                       plain Python, never the project's C code) over the object's bytes
                       fetched from RGW once per ETag (a re-signed GET). Plain Python does
                       about 10 MB/s: a test HEADs big objects once before timing anything.
                       See emulate_checksum_head.
                       "flip_once": [KEY, ...] flips one byte of the first GET response body
                       (ranged or not) of each of these object keys, then never again for
                       that key: the first download of an object is corrupted, a second
                       download or a re-read is clean. See flip_once_due.
                       "record": bool keeps every request's headers (GET /requests)
                       "strip_headers": [NAME, "PREFIX*", ...] request headers dropped
                       before RGW sees them (what it cannot take over plain HTTP, e.g.
                       the SSE ones); recorded first
                       "cond_emulate": bool emulates the conditions Ceph RGW 16 ignores
                       and S3 honours: If-None-Match: * and If-Match on
                       CompleteMultipartUpload, x-amz-copy-source-if-match on CopyObject:
                       see emulate_cond
    GET  /requests     the recorded requests: [{"op": S3 operation (op_of), "method",
                       "target", "headers": {lower-case name: value}}, ...] (no
                       Authorization or session token)
    POST /reset        zero the counters and drop the recorded requests
Re-signing: a request whose head the proxy changed (a mapped ETag, a stripped header) is
signed again with SigV4 from $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY (the test's own
credentials), over the headers the client signed minus the dropped ones. Before that it
checks that it reproduces the client's signature; "resign_errors" in /stats counts the
requests where it could not (a test asserts it is 0).
Command line: faultproxy.py --upstream http://127.0.0.1:7480 [--port 0] [--control-port 0]
    [--seed N] [--rate CLASS:KIND=R ...] [--stall S] [--max-faults N] [--port-file FILE]
    When listening, it writes {"port": P, "control_port": C, "pid": PID} to --port-file
    (atomically) and prints the same line on stdout. SIGTERM/SIGINT: clean exit.
Determinism: one random.Random(seed) draws every decision under a lock, so the sequence
of decisions is fixed by the seed; which request gets which decision depends on the order
requests arrive in, which parallel clients do not make deterministic.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

CLASSES = ("get", "get_range", "list", "head", "put", "upload_part", "post_create",
           "post_complete", "delete", "post", "other")
# "delay" last: a kind with no rate draws no random number, so adding it at the end
# leaves the decisions of every existing seed as they were.
KINDS = ("500", "503", "reset", "truncate", "stall", "flip_req", "flip_resp", "delay",
         "nosuchupload")
HEAD_MAX = 64 * 1024          # cap of a request or response head
CHUNK = 256 * 1024            # copy unit of bodies
IO_TIMEOUT = 600              # seconds a socket may stay silent (stalls are shorter)


class State:
    """Configuration and counters, shared by all connection threads (one lock)."""

    def __init__(self, seed, rates, stall_s, max_faults):
        self.part_number_size = 0
        self.checksum_validate = False  # emulate S3's upload checksum validation
        self.part_crcs = {}       # (uploadId, partNumber) -> (alg, b64, crc, len) validated
        self.checksum_head = False  # emulate_checksum_head
        self.crc_cache = {}         # (path, ETag) -> CRC64NVME of the object
        self.flip_once = set()      # object keys whose first GET body gets a flipped byte
        self.sse_emulate = None   # None or a key of SSE_MODES: answer as S3 does for it
        self.record = False       # keep the headers of every request (GET /requests)
        self.strip_headers = []   # request headers dropped before S3 sees them (re-signed)
        self.recorded = []
        self.cond_emulate = False  # answer failed conditions RGW ignores as S3 does
        self.etag_map = {}        # fake ETag (no quotes) -> RGW's, for requests naming it
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.seed = seed
        self.rates = rates
        self.stall_s = stall_s
        self.delay_s = 3.0
        self.script = {}          # class -> list of kinds (or None) still to force
        self.max_faults = max_faults
        self.down = False
        self.reset_counters()

    def reset_counters(self):
        self.requests = {c: 0 for c in CLASSES}
        self.faults = {k: 0 for k in KINDS}
        self.faults_by_class = {c: {k: 0 for k in KINDS} for c in CLASSES}
        self.bytes_up = 0
        self.bytes_down = 0
        self.upstream_connect_errors = 0
        self.connections = 0
        self.handler_errors = 0
        self.flipped_req = 0
        self.flipped_resp = 0
        self.refused_down = 0
        self.status = {}          # S3's answers forwarded, by HTTP status
        # requests whose answer is not finished yet: survives a reset (they
        # are still in flight), unlike the rest
        self.inflight = getattr(self, "inflight", 0)
        self.inflight_max = self.inflight
        self.t0 = time.monotonic()
        self.per_second = {}      # second since reset -> [requests, most in flight]
        self.resigned = 0         # requests changed and signed again
        self.resign_errors = 0    # could not re-sign (or reproduce the client's signature)
        self.checksum_checked = 0  # bodies whose declared CRC was recomputed here
        self.checksum_bad = 0      # ... and did not match: 400 BadDigest, not forwarded
        self.checksum_echoed = 0   # 2xx answers given the checksum header back
        self.checksum_complete_checked = 0  # Completes whose whole-object CRC was checked
        self.checksum_complete_bad = 0      # ... refused (BadDigest or InvalidPart)
        self.checksum_complete_unknown = 0  # ... left unchecked: a part not seen here
        self.checksum_heads = 0   # HEAD answers given a CRC64NVME (emulate_checksum_head)
        self.cond_refused = 0     # requests answered 412 by emulate_cond
        self.recorded = []

    def rate(self, cls, kind):
        r = self.rates.get(cls, {}).get(kind)
        if r is None:
            r = self.rates.get("*", {}).get(kind, 0.0)
        return r

    def decide(self, cls, has_body):
        """Count the request; return the fault kind to inject, or None, and a random
        fraction used to place a mid-body fault."""
        with self.lock:
            self.requests[cls] += 1
            frac = self.rng.random()
            if self.script.get(cls):
                kind = self.script[cls].pop(0)
                if kind is not None:
                    self.faults[kind] += 1
                    self.faults_by_class[cls][kind] += 1
                return kind, frac
            if self.max_faults == 0:
                return None, frac
            for kind in KINDS:
                r = self.rate(cls, kind)
                if r <= 0 or (kind == "flip_req" and not has_body):
                    continue
                if self.rng.random() < r:
                    self.faults[kind] += 1
                    self.faults_by_class[cls][kind] += 1
                    if self.max_faults > 0:
                        self.max_faults -= 1
                    return kind, frac
            return None, frac

    def begin_request(self):
        """A request head arrived: count it in flight, and into its second."""
        with self.lock:
            self.inflight += 1
            self.inflight_max = max(self.inflight_max, self.inflight)
            sec = int(time.monotonic() - self.t0)
            cell = self.per_second.setdefault(sec, [0, 0])
            cell[0] += 1
            cell[1] = max(cell[1], self.inflight)

    def end_request(self):
        with self.lock:
            self.inflight -= 1

    def add(self, name, n=1):
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def stats(self):
        with self.lock:
            return {
                "requests": dict(self.requests),
                "requests_total": sum(self.requests.values()),
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "faults_by_class": {c: {k: v for k, v in d.items() if v}
                                    for c, d in self.faults_by_class.items()
                                    if any(d.values())},
                "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down,
                "upstream_connect_errors": self.upstream_connect_errors,
                "connections": self.connections,
                "handler_errors": self.handler_errors,
                "flipped_req": self.flipped_req,
                "flipped_resp": self.flipped_resp,
                "refused_down": self.refused_down,
                "resigned": self.resigned,
                "resign_errors": self.resign_errors,
                "checksum_checked": self.checksum_checked,
                "checksum_bad": self.checksum_bad,
                "checksum_echoed": self.checksum_echoed,
                "checksum_complete_checked": self.checksum_complete_checked,
                "checksum_complete_bad": self.checksum_complete_bad,
                "checksum_complete_unknown": self.checksum_complete_unknown,
                "checksum_heads": self.checksum_heads,
                "cond_refused": self.cond_refused,
                "status": {str(k): v for k, v in sorted(self.status.items())},
                "inflight": self.inflight,
                "inflight_max": self.inflight_max,
                "per_second": [[k, v[0], v[1]] for k, v in sorted(self.per_second.items())],
            }

    def config(self):
        with self.lock:
            return {"seed": self.seed, "rates": self.rates, "stall_s": self.stall_s,
                    "delay_s": self.delay_s, "script": self.script,
                    "max_faults": self.max_faults, "down": self.down,
                    "part_number_size": self.part_number_size,
                    "checksum_head": self.checksum_head,
                    "flip_once": sorted(self.flip_once),
                    "sse_emulate": self.sse_emulate, "record": self.record,
                    "checksum_validate": self.checksum_validate,
                    "strip_headers": self.strip_headers,
                    "cond_emulate": self.cond_emulate}

    def update(self, cfg):
        rates = cfg.get("rates")
        if rates is not None:
            if not isinstance(rates, dict):
                raise ValueError("rates must be an object")
            for cls, d in rates.items():
                if cls != "*" and cls not in CLASSES:
                    raise ValueError("unknown class %r" % cls)
                if not isinstance(d, dict):
                    raise ValueError("rates[%s] must be an object" % cls)
                for kind, r in d.items():
                    if kind not in KINDS:
                        raise ValueError("unknown fault kind %r" % kind)
                    if not isinstance(r, (int, float)) or not 0 <= r <= 1:
                        raise ValueError("rate %r must be in [0, 1]" % (r,))
        sse = cfg.get("sse_emulate", self.sse_emulate)
        if sse is not None and sse not in SSE_MODES:
            raise ValueError("sse_emulate must be null or one of %s" % ", ".join(SSE_MODES))
        strip = cfg.get("strip_headers", self.strip_headers)
        if not isinstance(strip, list) or not all(isinstance(h, str) for h in strip):
            raise ValueError("strip_headers must be a list of header names")
        for cls, kinds in (cfg.get("script") or {}).items():
            if cls not in CLASSES or not isinstance(kinds, list):
                raise ValueError("script[%r] must name a class and list kinds" % cls)
            for kind in kinds:
                if kind is not None and kind not in KINDS:
                    raise ValueError("unknown fault kind %r" % kind)
        flip_once = cfg.get("flip_once")
        if flip_once is not None and (not isinstance(flip_once, list)
                                      or not all(isinstance(k, str) for k in flip_once)):
            raise ValueError("flip_once must be a list of object keys")
        with self.lock:
            if "checksum_head" in cfg:
                self.checksum_head = bool(cfg["checksum_head"])
            if flip_once is not None:
                self.flip_once = set(flip_once)
            self.sse_emulate = sse
            self.strip_headers = [h.lower() for h in strip]
            if "record" in cfg:
                self.record = bool(cfg["record"])
            if "checksum_validate" in cfg:
                self.checksum_validate = bool(cfg["checksum_validate"])
            if "cond_emulate" in cfg:
                self.cond_emulate = bool(cfg["cond_emulate"])
            if rates is not None:
                self.rates = {c: {k: float(r) for k, r in d.items()} for c, d in rates.items()}
            if "seed" in cfg:
                self.seed = int(cfg["seed"])
                self.rng = random.Random(self.seed)
            if "stall_s" in cfg:
                self.stall_s = float(cfg["stall_s"])
            if "delay_s" in cfg:
                self.delay_s = float(cfg["delay_s"])
            if "script" in cfg:
                self.script = {c: list(k) for c, k in cfg["script"].items()}
            if "max_faults" in cfg:
                self.max_faults = int(cfg["max_faults"])
            if "down" in cfg:
                self.down = bool(cfg["down"])
            if "part_number_size" in cfg:
                v = cfg["part_number_size"]
                self.part_number_size = [int(x) for x in v] if isinstance(v, list) else int(v)


class Closed(Exception):
    """The peer closed its side (or a head was malformed): end this connection."""


class Reader:
    """Buffered reads from a socket: heads by line, bodies by size."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(CHUNK)
        if not data:
            raise Closed("eof")
        self.buf += data

    def head(self, allow_eof=False):
        """Read up to the blank line; return the raw head bytes (None at a clean EOF
        before any byte when allow_eof)."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                h = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return h
            if len(self.buf) > HEAD_MAX:
                raise Closed("head too large")
            try:
                self._fill()
            except Closed:
                if allow_eof and not self.buf:
                    return None
                raise

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return ln
            if len(self.buf) > HEAD_MAX:
                raise Closed("line too large")
            self._fill()

    def some(self, n):
        """Up to n bytes (at least 1): the buffer first, then one recv."""
        if not self.buf:
            self._fill()
        take = min(n, len(self.buf))
        out = bytes(self.buf[:take])
        del self.buf[:take]
        return out


def parse_head(raw):
    lines = raw.split(b"\r\n")
    first = lines[0].decode("latin-1")
    headers = {}
    for ln in lines[1:]:
        if not ln:
            continue
        k, sep, v = ln.partition(b":")
        if not sep:
            raise Closed("bad header line")
        headers[k.strip().decode("latin-1").lower()] = v.strip().decode("latin-1")
    return first, headers


def classify(method, target, headers):
    u = urlsplit(target)
    q = parse_qs(u.query, keep_blank_values=True)
    path = u.path.lstrip("/")
    parts = path.split("/", 1)
    is_object = len(parts) == 2 and parts[1] != ""
    if method == "HEAD":
        return "head"
    if method == "GET":
        if not is_object:
            return "list"
        return "get_range" if "range" in headers else "get"
    if method == "PUT":
        if "partNumber" in q and "uploadId" in q:
            return "upload_part"
        return "put"
    if method == "POST":
        if "uploads" in q:
            return "post_create"
        if "uploadId" in q:
            return "post_complete"
        return "post"
    if method == "DELETE":
        return "delete"
    return "other"


def op_of(method, target, headers):
    """The S3 operation a request is (finer than classify: the header tests need it)."""
    u = urlsplit(target)
    q = parse_qs(u.query, keep_blank_values=True)
    parts = u.path.lstrip("/").split("/", 1)
    if len(parts) < 2 or parts[1] == "":
        if method == "GET":
            return "ListMultipartUploads" if "uploads" in q else "ListObjectsV2"
        return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket",
                "POST": "DeleteObjects"}.get(method, method)
    copy = "x-amz-copy-source" in headers
    if method == "PUT" and "partNumber" in q:
        return "UploadPartCopy" if copy else "UploadPart"
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in q else "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, method)


# sse_emulate modes: the response headers S3 adds to an object's answers under that
# encryption. Under all but AES256 S3's ETag is no MD5; the proxy shows that by replacing
# each ETag RGW gives (headers and XML) with another of the same shape, and maps it back
# when a request names it (If-Match, x-amz-copy-source-if-match). AES256 does the same
# although S3 does not (its SSE-S3 ETags are MD5s): it shows that a client still checks
# such objects.
SSE_MODES = {
    "aws:kms": [("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id",
                 "arn:aws:kms:us-east-1:111122223333:key/faultproxy")],
    "aws:kms:dsse": [("x-amz-server-side-encryption", "aws:kms:dsse")],
    "sse-c": [("x-amz-server-side-encryption-customer-algorithm", "AES256"),
              ("x-amz-server-side-encryption-customer-key-MD5", "ZmF1bHRwcm94eSBrZXkgbWQ1")],
    "AES256": [("x-amz-server-side-encryption", "AES256")],
}
SSE_OPS = ("GetObject", "HeadObject", "PutObject", "CopyObject", "CreateMultipartUpload",
           "UploadPart", "UploadPartCopy", "CompleteMultipartUpload")
ETAG_RE = re.compile(r"^([0-9a-fA-F]{32})(-[0-9]+)?$")
XML_ETAG_RE = re.compile(rb"(<ETag>(?:&quot;|&#34;|\")?)([0-9a-fA-F]{32})((?:-[0-9]+)?"
                         rb"(?:&quot;|&#34;|\")?</ETag>)")
RECORD_MAX = 20000           # requests kept by "record"
PART_CRCS_MAX = 100000       # validated parts remembered for their Complete
REWRITE_BODY_MAX = 16 << 20  # XML bodies rewritten whole (ListObjectsV2 pages are ~300 KB)


# ---- CRCs of S3's upload checksums, in plain Python ------------------------------------
# Independent of the project's C code (shared/crc.c) on purpose: the emulated server must
# not share a bug with the client it checks. Reflected CRCs with initial value and final
# xor all ones (S3's CRC32C and CRC64NVME); a byte table built from the polynomial, checked
# at import against a bit-at-a-time loop and the published check values of "123456789".
CRC_PARAMS = {  # header suffix: (width, reflected polynomial, check value)
    "crc32c": (32, 0x82F63B78, 0xE3069283),                 # 0x1EDC6F41 reflected
    "crc64nvme": (64, 0x9A6C9329AC4BC9B5, 0xAE8B14860A799888),  # 0xAD93D23594C93659
}


def _crc_table(poly):
    t = []
    for b in range(256):
        r = b
        for _ in range(8):
            r = (r >> 1) ^ poly if r & 1 else r >> 1
        t.append(r)
    return t


CRC_TABLES = {name: _crc_table(p[1]) for name, p in CRC_PARAMS.items()}


def crc_bitwise(name, data):
    width, poly, _ = CRC_PARAMS[name]
    mask = (1 << width) - 1
    r = mask
    for byte in data:
        r ^= byte
        for _ in range(8):
            r = (r >> 1) ^ poly if r & 1 else r >> 1
    return r ^ mask


def crc_of(name, data):
    """S3's CRC of data (bytes) by the byte table."""
    mask = (1 << CRC_PARAMS[name][0]) - 1
    t = CRC_TABLES[name]
    r = mask
    for byte in data:
        r = t[(r ^ byte) & 0xFF] ^ (r >> 8)
    return r ^ mask


def _gf2_mulmod(name, a, b):
    """a * b mod P for two reflected polynomials (bit width-1 is x^0)."""
    width, poly, _ = CRC_PARAMS[name]
    p, m = 0, 1 << (width - 1)
    while m:
        if a & m:
            p ^= b
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1
    return p


def crc_combine(name, crc_a, crc_b, len_b):
    """CRC(A||B) from CRC(A), CRC(B) and len(B): CRC(A) * x^(8 len_b) mod P ^ CRC(B)."""
    width = CRC_PARAMS[name][0]
    xp = 1 << (width - 1)            # x^0
    sq = 1 << (width - 2)            # x^1, squared up to x^8 below
    for _ in range(3):
        sq = _gf2_mulmod(name, sq, sq)
    n = len_b
    while n:
        if n & 1:
            xp = _gf2_mulmod(name, sq, xp)
        sq = _gf2_mulmod(name, sq, sq)
        n >>= 1
    return _gf2_mulmod(name, xp, crc_a) ^ crc_b


def crc_b64(name, value):
    """The header value: base64 of the big-endian digest."""
    return base64.b64encode(value.to_bytes(CRC_PARAMS[name][0] // 8, "big")).decode()


for _name, (_w, _p, _check) in CRC_PARAMS.items():
    for _s in (b"123456789", bytes(range(256)) * 3, b""):
        if crc_of(_name, _s) != crc_bitwise(_name, _s):
            raise SystemExit("faultproxy: %s table disagrees with the bitwise CRC" % _name)
    if crc_of(_name, b"123456789") != _check:
        raise SystemExit("faultproxy: %s check value wrong" % _name)
    for _k in range(10):
        if crc_combine(_name, crc_of(_name, b"123456789"[:_k]),
                       crc_of(_name, b"123456789"[_k:]), 9 - _k) != _check:
            raise SystemExit("faultproxy: %s combine wrong" % _name)


def declared_checksum(headers):
    """(name, value) of the x-amz-checksum-crc32c / -crc64nvme a request declares."""
    for name in CRC_PARAMS:
        v = headers.get("x-amz-checksum-" + name)
        if v is not None:
            return name, v
    return None


def fake_etag(state, real):
    """Another ETag of the same shape (32 hex digits, the "-N" kept): S3's ETag of an
    SSE-KMS object is not the MD5 RGW computes. Remembered, so a request naming it can be
    mapped back."""
    m = ETAG_RE.match(real)
    if not m:
        return real
    fake = hashlib.md5(b"faultproxy-sse:" + real.encode()).hexdigest() + (m.group(2) or "")
    with state.lock:
        state.etag_map[fake] = real
    return fake


def real_etag(state, value):
    """value (an ETag, quoted or not) as RGW knows it."""
    q = value.startswith('"') and value.endswith('"') and len(value) >= 2
    bare = value[1:-1] if q else value
    with state.lock:
        real = state.etag_map.get(bare)
    if real is None:
        return value
    return '"%s"' % real if q else real


def head_lines(raw):
    """A message head as [first line, (name, value), ...] with names as sent."""
    lines = raw.split(b"\r\n")
    out = [lines[0].decode("latin-1")]
    for ln in lines[1:]:
        if ln:
            k, _, v = ln.partition(b":")
            out.append((k.strip().decode("latin-1"), v.strip().decode("latin-1")))
    return out


def head_bytes(hl):
    return ("\r\n".join([hl[0]] + ["%s: %s" % kv for kv in hl[1:]]) + "\r\n\r\n").encode(
        "latin-1")


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


AUTH_RE = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/([0-9]{8})/([^/]+)/([^/]+)/"
                     r"aws4_request, ?SignedHeaders=([^, ]+), ?Signature=([0-9a-f]{64})$")


def sigv4(method, target, headers, signed, scope, amz_date, secret):
    """The SigV4 signature of an S3 request (path as sent, no double encoding), over the
    headers named in signed (lower-case) taken from headers (a dict, lower-case names)."""
    u = urlsplit(target)
    pairs = []
    for p in u.query.split("&") if u.query else []:
        n, _, v = p.partition("=")
        pairs.append((n, v))
    cq = "&".join("%s=%s" % nv for nv in sorted(pairs))
    ch = "".join("%s:%s\n" % (h, " ".join(headers[h].split())) for h in signed)
    creq = "\n".join([method, u.path, cq, ch, ";".join(signed),
                      headers.get("x-amz-content-sha256", "UNSIGNED-PAYLOAD")])
    date, region, service = scope
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date,
                     "%s/%s/%s/aws4_request" % (date, region, service),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(_hmac(_hmac(k, region), service), "aws4_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def edit_request(state, method, target, raw, op):
    """Records the request (when asked), maps fake ETags back and drops the headers
    strip_headers names; signs it again with the test's credentials ($AWS_ACCESS_KEY_ID,
    $AWS_SECRET_ACCESS_KEY) when anything changed. Returns the head to send."""
    hl = head_lines(raw)
    if state.record:
        rec = {"op": op, "method": method, "target": target,
               "headers": {k.lower(): v for k, v in hl[1:]
                           if k.lower() not in ("authorization", "x-amz-security-token")}}
        with state.lock:
            if len(state.recorded) < RECORD_MAX:
                state.recorded.append(rec)
    strip = state.strip_headers
    out, changed = [hl[0]], False
    for k, v in hl[1:]:
        lk = k.lower()
        if any(lk == h or (h.endswith("*") and lk.startswith(h[:-1])) for h in strip):
            changed = True
            continue
        if lk in ("if-match", "x-amz-copy-source-if-match"):
            nv = real_etag(state, v)
            changed = changed or nv != v
            v = nv
        out.append((k, v))
    if not changed:
        return raw
    old = {k.lower(): v for k, v in hl[1:]}
    new = {k.lower(): v for k, v in out[1:]}
    m = AUTH_RE.match(old.get("authorization", ""))
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not m or not secret:
        state.add("resign_errors")
        return head_bytes(out)
    signed = m.group(5).split(";")
    scope = (m.group(2), m.group(3), m.group(4))
    amz_date = old.get("x-amz-date", "")
    if sigv4(method, target, old, signed, scope, amz_date, secret) != m.group(6):
        state.add("resign_errors")   # we would not sign as the client did: say so
    signed = [h for h in signed if h in new]
    sig = sigv4(method, target, new, signed, scope, amz_date, secret)
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, " \
           "Signature=%s" % (m.group(1), scope[0], scope[1], scope[2], ";".join(signed), sig)
    out = [(k, auth if k.lower() == "authorization" else v) for k, v in out[1:]]
    state.add("resigned")
    return head_bytes([hl[0]] + out)


def head_upstream(up_addr, path, hdrs):
    """(status, etag) of a HEAD of the object at path (URL-encoded, as sent) that the
    proxy sends itself, signed with the test's credentials in the client's scope (region,
    date) and Host. etag: the ETag header, quoted as sent, or None."""
    m = AUTH_RE.match(hdrs.get("authorization", ""))
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not m or not secret:
        raise ValueError("cannot sign a HEAD: no SigV4 Authorization or no secret")
    amz_date = hdrs.get("x-amz-date", "")
    h = {"host": hdrs.get("host", ""), "x-amz-date": amz_date,
         "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()}
    if "x-amz-security-token" in hdrs:
        h["x-amz-security-token"] = hdrs["x-amz-security-token"]
    signed = sorted(h)
    scope = (m.group(2), m.group(3), m.group(4))
    sig = sigv4("HEAD", path, h, signed, scope, amz_date, secret)
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                          "SignedHeaders=%s, Signature=%s"
                          % (m.group(1), scope[0], scope[1], scope[2], ";".join(signed), sig))
    s = socket.create_connection(up_addr, timeout=30)
    try:
        s.sendall(("HEAD %s HTTP/1.1\r\n" % path).encode("latin-1") + "".join(
            "%s: %s\r\n" % kv for kv in h.items()).encode("latin-1") +
            b"Connection: close\r\n\r\n")
        first, rh = parse_head(Reader(s).head())
    finally:
        soft_close(s)
    return int(first.split(" ")[1]), rh.get("etag")


def emulate_cond(state, up_addr, op, target, hdrs):
    """S3 checks If-None-Match: * and If-Match on CompleteMultipartUpload (since 2024) and
    x-amz-copy-source-if-match on CopyObject; Ceph RGW 16 ignores all three (checked by
    hand: Complete answers 200 and replaces the object, CopyObject copies another version).
    With cond_emulate on, such a request is checked here first, against a HEAD of the key
    (of the copy's source), and answered 412 PreconditionFailed (S3's XML error) without
    reaching RGW when the condition fails; a multipart upload stays open, as on S3. ETags
    compare without their quotes. Returns the answer to send, or None to forward. (A
    check and a write that are not atomic: fine for a test that orders its writers.)"""
    if not state.cond_emulate:
        return None
    if op == "CompleteMultipartUpload":
        inm, im = hdrs.get("if-none-match"), hdrs.get("if-match")
        path = urlsplit(target).path
    elif op == "CopyObject" and "x-amz-copy-source-if-match" in hdrs:
        inm, im = None, hdrs["x-amz-copy-source-if-match"]
        path = "/" + hdrs["x-amz-copy-source"].split("?", 1)[0].lstrip("/")
    else:
        return None
    if inm is None and im is None:
        return None
    status, etag = head_upstream(up_addr, path, hdrs)
    exists = status == 200
    bare = lambda v: (v or "").strip().strip('"')
    ok = True
    if inm is not None and inm.strip() == "*" and exists:
        ok = False
    if im is not None and (not exists or (im.strip() != "*" and bare(im) != bare(etag))):
        ok = False
    if ok:
        return None
    state.add("cond_refused")
    return error_response(412, "PreconditionFailed",
                          "At least one of the pre-conditions you specified did not hold",
                          target, hdrs.get("connection", "").lower() != "close")


def emulate_sse_head(state, op, rhead):
    """The response head as S3 would send it for an object under state.sse_emulate: its
    encryption headers added, the ETag of an object replaced (fake_etag)."""
    mode = state.sse_emulate
    if not mode or op not in SSE_OPS:
        return rhead
    hl = head_lines(rhead)
    parts = hl[0].split(" ")
    if len(parts) < 2 or not parts[1].startswith("2"):
        return rhead
    out = [hl[0]]
    for k, v in hl[1:]:
        if k.lower() == "etag" and op in ("GetObject", "HeadObject", "PutObject"):
            q = v.startswith('"')
            v = fake_etag(state, v.strip('"'))
            v = '"%s"' % v if q else v
        out.append((k, v))
    out += SSE_MODES[mode]
    return head_bytes(out)


def echo_checksum(state, rhead, declared, op, target):
    """A 2xx answer to a validated upload gets x-amz-checksum-<alg> back, as S3's does;
    a part's CRC and length are kept for its CompleteMultipartUpload (check_complete)."""
    hl = head_lines(rhead)
    parts = hl[0].split(" ")
    if len(parts) < 2 or not parts[1].startswith("2"):
        return rhead
    state.add("checksum_echoed")
    if op == "UploadPart":
        q = parse_qs(urlsplit(target).query)
        key = (q.get("uploadId", [""])[0], int(q.get("partNumber", ["0"])[0]))
        with state.lock:
            if len(state.part_crcs) < PART_CRCS_MAX:
                state.part_crcs[key] = declared
    return head_bytes(hl + [("x-amz-checksum-" + declared[0], declared[1])])


COMPLETE_PART_RE = re.compile(rb"<Part>(.*?)</Part>", re.S)


def check_complete(state, target, body, declared):
    """S3's checks of a CompleteMultipartUpload whose header declares the whole object's
    CRC (FULL_OBJECT): each listed part's checksum must be the one its UploadPart was
    validated with (else InvalidPart), and the CRCs of the parts, combined in the listed
    order, must equal the header (else BadDigest). A part this proxy did not see validated
    (an UploadPartCopy: S3 computes its CRC from the source) leaves the whole unchecked
    (checksum_complete_unknown). Returns None (forward it) or (code, message)."""
    name, value = declared
    upload_id = parse_qs(urlsplit(target).query).get("uploadId", [""])[0]
    elem = ("Checksum" + name.upper()).encode()
    total = None
    with state.lock:
        known = dict(state.part_crcs)
    for m in COMPLETE_PART_RE.finditer(body):
        num = re.search(rb"<PartNumber>([0-9]+)</PartNumber>", m.group(1))
        ck = re.search(rb"<" + elem + rb">([^<]*)</" + elem + rb">", m.group(1))
        rec = known.get((upload_id, int(num.group(1)) if num else 0))
        if rec is None or rec[0] != name:
            state.add("checksum_complete_unknown")
            return None
        if ck is None or ck.group(1).decode() != rec[1]:
            state.add("checksum_complete_bad")
            return ("InvalidPart", "One or more of the specified parts could not be found. "
                    "The part may not have been uploaded, or the specified entity tag may "
                    "not have matched the part's entity tag.")
        total = rec[2] if total is None else crc_combine(name, total, rec[2], rec[3])
    if total is None:
        return None
    state.add("checksum_complete_checked")
    if crc_b64(name, total) != value:
        state.add("checksum_complete_bad")
        return ("BadDigest", "The %s you specified did not match the calculated "
                "checksum." % name.upper())
    return None


def read_whole(rd, body):
    """The whole body of a response with a length or chunked framing (for a rewrite)."""
    if body.mode == "length":
        data = bytearray()
        while len(data) < body.length:
            data += rd.some(body.length - len(data))
        return bytes(data)
    data = bytearray()
    while True:
        n = int(rd.line().split(b";")[0].strip() or b"0", 16)
        if n == 0:
            while rd.line() != b"\r\n":
                pass
            return bytes(data)
        if len(data) + n > REWRITE_BODY_MAX:
            raise Closed("body too large to rewrite")
        chunk = bytearray()
        while len(chunk) < n + 2:
            chunk += rd.some(n + 2 - len(chunk))
        data += chunk[:n]


def rewrite_xml_etags(state, rhead, data):
    """ETags in an XML answer (ListObjectsV2, CopyObject, Complete) replaced as in
    emulate_sse_head; the head gets a Content-Length (a chunked answer is sent whole)."""
    data = XML_ETAG_RE.sub(lambda m: m.group(1) + fake_etag(state, (
        m.group(2) + re.match(rb"(-[0-9]+)?", m.group(3)).group(0)).decode()).encode()[:32]
        + m.group(3), data)
    hl = head_lines(rhead)
    out = [hl[0]] + [(k, v) for k, v in hl[1:]
                     if k.lower() not in ("content-length", "transfer-encoding")]
    out.append(("Content-Length", str(len(data))))
    return head_bytes(out), data


def emulate_part_head(method, target, rhead, part_size):
    """S3 answers HEAD ?partNumber=K of a multipart object with 206, the part's
    Content-Length and Content-Range, and x-amz-mp-parts-count. RGW 16 ignores
    partNumber and answers the whole object; with part_size set this rewrites
    such an answer (a HEAD has no body, so only its head changes) as S3 would
    for an object cut in parts of part_size bytes (or, given a list, in parts
    of those sizes: the truth about an object uploaded with uneven parts). The
    request went to RGW unchanged, so its signature was checked as usual."""
    if method != "HEAD" or not part_size:
        return rhead
    q = parse_qs(urlsplit(target).query)
    first, h = parse_head(rhead)
    if "partNumber" not in q or not first.split(" ")[1] == "200":
        return rhead
    k = int(q["partNumber"][0])
    size = int(h.get("content-length", "0"))
    etag = h.get("etag", "").strip('"')
    nparts = int(etag.rsplit("-", 1)[1]) if "-" in etag else 1
    if isinstance(part_size, list):  # the object's own part sizes
        if len(part_size) != nparts or sum(part_size) != size or not 1 <= k <= nparts:
            return rhead
        off, ln = sum(part_size[:k - 1]), part_size[k - 1]
    else:
        off = (k - 1) * part_size
        if k < 1 or k > nparts or off >= size:
            return rhead
        ln = min(part_size, size - off)
    out = [b"HTTP/1.1 206 Partial Content"]
    for line in rhead.split(b"\r\n")[1:]:
        if not line or line.lower().startswith(b"content-length:"):
            continue
        out.append(line)
    out.append(b"Content-Length: %d" % ln)
    out.append(b"Content-Range: bytes %d-%d/%d" % (off, off + ln - 1, size))
    out.append(b"x-amz-mp-parts-count: %d" % nparts)
    return b"\r\n".join(out) + b"\r\n\r\n"


# ---- checksums S3 keeps (issue 13): a whole object's CRC64NVME, fast enough ----------------
# The byte table above (CRC_TABLES, plain Python, checked against the bitwise CRC and the check
# values) extended to slicing by 8: about 10 MB/s instead of 6, for the whole objects HEAD
# answers carry a CRC of (emulate_checksum_head). Streaming, checked at import below.
def _slice8_tables(t0):
    tables = [t0]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ t0[prev[i] & 0xFF] for i in range(256)])
    return tables


CRC64NVME_T = _slice8_tables(CRC_TABLES["crc64nvme"])
CRC64_MASK = (1 << 64) - 1


def crc64nvme(data, crc=0):
    """Streaming like zlib.crc32: crc64nvme(b, crc64nvme(a)) == crc64nvme(a + b)."""
    t0, t1, t2, t3, t4, t5, t6, t7 = CRC64NVME_T
    crc ^= CRC64_MASK
    mv = memoryview(data)
    n = len(mv) // 8 * 8
    for (w,) in struct.iter_unpack("<Q", mv[:n]):
        c = crc ^ w
        crc = (t7[c & 0xFF] ^ t6[(c >> 8) & 0xFF] ^ t5[(c >> 16) & 0xFF] ^ t4[(c >> 24) & 0xFF]
               ^ t3[(c >> 32) & 0xFF] ^ t2[(c >> 40) & 0xFF] ^ t1[(c >> 48) & 0xFF]
               ^ t0[c >> 56])
    for b in mv[n:]:
        crc = t0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ CRC64_MASK


_s = bytes(range(256)) * 3 + b"123"
if crc64nvme(b"123456789") != CRC_PARAMS["crc64nvme"][2] or \
        crc64nvme(b"56789", crc64nvme(b"1234")) != CRC_PARAMS["crc64nvme"][2] or \
        crc64nvme(_s) != crc_bitwise("crc64nvme", _s):
    raise SystemExit("faultproxy: sliced CRC64NVME self-check failed")


def object_crc64nvme(state, up_addr, target, raw):
    """CRC64NVME of the object a HEAD request (raw head, signed by the client) names,
    cached per (path, ETag): the same request as a GET, signed again with the test's
    credentials, on a connection of its own. None when it cannot be fetched."""
    hl = head_lines(raw)
    old = {k.lower(): v for k, v in hl[1:]}
    m = AUTH_RE.match(old.get("authorization", ""))
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not m or not secret:
        state.add("resign_errors")
        return None
    signed = m.group(5).split(";")
    scope = (m.group(2), m.group(3), m.group(4))
    amz_date = old.get("x-amz-date", "")
    sig = sigv4("GET", target, old, signed, scope, amz_date, secret)
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, " \
           "Signature=%s" % (m.group(1), scope[0], scope[1], scope[2], ";".join(signed), sig)
    out = ["GET %s HTTP/1.1" % target]
    out += [(k, auth if k.lower() == "authorization" else v) for k, v in hl[1:]
            if k.lower() != "connection"]
    out.append(("Connection", "close"))
    s = socket.create_connection(up_addr, timeout=10)
    s.settimeout(IO_TIMEOUT)
    try:
        s.sendall(head_bytes(out))
        rd = Reader(s)
        first, h = parse_head(rd.head())
        if first.split(" ")[1] != "200" or "content-length" not in h:
            return None
        left, crc = int(h["content-length"]), 0
        while left > 0:
            data = rd.some(min(CHUNK, left))
            crc = crc64nvme(data, crc)
            left -= len(data)
        return crc
    finally:
        soft_close(s)


def emulate_checksum_head(state, up_addr, method, target, raw, hdrs, rhead):
    """S3 answers HEAD of an object asked with x-amz-checksum-mode: ENABLED with the
    checksum it stores; for an object uploaded with (or, since 2025, without) a CRC that is
    x-amz-checksum-crc64nvme: BASE64(big-endian CRC) and x-amz-checksum-type: FULL_OBJECT.
    RGW 16 keeps none: with checksum_head set this adds them to a 200 answer, the CRC
    computed here (object_crc64nvme), once per ETag."""
    if (not state.checksum_head or method != "HEAD"
            or hdrs.get("x-amz-checksum-mode", "").upper() != "ENABLED"):
        return rhead
    u = urlsplit(target)
    parts = u.path.lstrip("/").split("/", 1)
    first, h = parse_head(rhead)
    if len(parts) < 2 or not parts[1] or "partNumber" in u.query or \
            first.split(" ")[1] != "200":
        return rhead
    etag = h.get("etag", "").strip('"')
    ck = (u.path, etag)
    with state.lock:
        crc = state.crc_cache.get(ck)
    if crc is None:
        crc = object_crc64nvme(state, up_addr, target, raw)
        if crc is None:
            return rhead
        with state.lock:
            state.crc_cache[ck] = crc
    val = base64.b64encode(crc.to_bytes(8, "big")).decode()
    hl = head_lines(rhead)
    hl += [("x-amz-checksum-crc64nvme", val), ("x-amz-checksum-type", "FULL_OBJECT")]
    state.add("checksum_heads")
    return head_bytes(hl)


def flip_once_due(state, method, target, status, blen):
    """True for the first GET answer with a body of an object named in flip_once (the
    key is then dropped): its body gets one flipped byte; later GETs of it are clean."""
    if method != "GET" or not blen or not 200 <= status < 300 or not state.flip_once:
        return False
    parts = unquote(urlsplit(target).path).lstrip("/").split("/", 1)
    if len(parts) < 2:
        return False
    with state.lock:
        if parts[1] not in state.flip_once:
            return False
        state.flip_once.discard(parts[1])
        state.faults["flip_resp"] += 1
    return True


def error_response(status, code, message, resource, keep_alive):
    reason = {400: "Bad Request", 404: "Not Found", 412: "Precondition Failed",
              500: "Internal Server Error",
              503: "Slow Down"}[status]
    rid = "tx-faultproxy-%016x" % random.getrandbits(64)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message><Resource>%s</Resource><RequestId>%s</RequestId>'
            '<HostId>faultproxy</HostId></Error>' % (code, message, xml_escape(resource), rid)
            ).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "x-amz-request-id: %s\r\nConnection: %s\r\n\r\n"
            % (status, reason, len(body), rid, "keep-alive" if keep_alive else "close"))
    return head.encode() + body


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hard_close(sock):
    """Close with RST (SO_LINGER 0): the peer sees 'connection reset'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def soft_close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Body:
    """Framing of a message body: ('none'|'length'|'chunked'|'eof', length)."""

    def __init__(self, mode, length=0):
        self.mode = mode
        self.length = length


def request_body(method, headers):
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Body("chunked")
    n = int(headers.get("content-length", "0") or "0")
    if n < 0:
        raise Closed("negative content-length")
    return Body("length", n) if n else Body("none")


def response_body(method, status, headers):
    if method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return Body("none")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Body("chunked")
    if "content-length" in headers:
        n = int(headers["content-length"])
        return Body("length", n) if n else Body("none")
    return Body("eof")


def copy_body(src, dst, body, state, counter, flip_at=None, limit=None):
    """Stream a body from Reader src to socket dst. flip_at: index of a byte to flip
    (bodies with a length only). limit: stop after this many body bytes (for mid-body
    faults); returns the number of body bytes sent."""
    sent = 0
    if body.mode == "none":
        return 0
    if body.mode in ("length", "eof"):
        left = body.length if body.mode == "length" else None
        while left is None or left > 0:
            want = CHUNK if left is None else min(CHUNK, left)
            if limit is not None:
                want = min(want, limit - sent)
                if want <= 0:
                    break
            try:
                data = src.some(want)
            except Closed:
                if left is None:
                    break
                raise
            if flip_at is not None and sent <= flip_at < sent + len(data):
                b = bytearray(data)
                b[flip_at - sent] ^= 0x20
                data = bytes(b)
                state.add("flipped_req" if counter == "bytes_up" else "flipped_resp")
            dst.sendall(data)
            sent += len(data)
            state.add(counter, len(data))
            if left is not None:
                left -= len(data)
        return sent
    # chunked: forward the framing as it comes (no flips, no limits inside chunks).
    while True:
        size_line = src.line()
        dst.sendall(size_line)
        n = int(size_line.split(b";")[0].strip() or b"0", 16)
        if n == 0:
            while True:        # trailers up to the blank line
                ln = src.line()
                dst.sendall(ln)
                if ln == b"\r\n":
                    return sent
        left = n + 2           # data + CRLF
        while left > 0:
            data = src.some(min(CHUNK, left))
            dst.sendall(data)
            left -= len(data)
        sent += n
        state.add(counter, n)
        if limit is not None and sent >= limit:
            return sent


class Proxy:
    def __init__(self, state, upstream_host, upstream_port):
        self.state = state
        self.up_addr = (upstream_host, upstream_port)
        self.threads = set()
        self.tlock = threading.Lock()
        self.stopping = False

    def connect_upstream(self):
        s = socket.create_connection(self.up_addr, timeout=10)
        s.settimeout(IO_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def serve_client(self, csock):
        self.state.add("connections")
        csock.settimeout(IO_TIMEOUT)
        csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        crd = Reader(csock)
        usock = None
        urd = None
        busy = False                  # this connection's request is in flight
        try:
            while not self.stopping:
                if busy:
                    self.state.end_request()
                    busy = False
                raw = crd.head(allow_eof=True)
                if raw is None:
                    break
                first, hdrs = parse_head(raw)
                parts = first.split(" ")
                if len(parts) != 3:
                    raise Closed("bad request line")
                method, target, version = parts
                client_close = (hdrs.get("connection", "").lower() == "close"
                                or version == "HTTP/1.0")
                reqb = request_body(method, hdrs)
                if self.state.down:
                    self.state.add("refused_down")
                    hard_close(csock)
                    return
                cls = classify(method, target, hdrs)
                op = op_of(method, target, hdrs)
                has_body = reqb.mode == "length" and reqb.length > 0
                kind, frac = self.state.decide(cls, has_body)
                self.state.begin_request()
                busy = True

                if kind in ("500", "503", "nosuchupload"):
                    # drain the request body, answer without asking S3
                    copy_body(crd, _Null(), reqb, self.state, "bytes_up")
                    if kind == "nosuchupload":
                        resp = error_response(404, "NoSuchUpload",
                                              "The specified upload does not exist.",
                                              target, not client_close)
                    elif kind == "500":
                        resp = error_response(500, "InternalError",
                                              "We encountered an internal error. Please try again.",
                                              target, not client_close)
                    else:
                        resp = error_response(503, "SlowDown",
                                              "Please reduce your request rate.",
                                              target, not client_close)
                    csock.sendall(resp)
                    if client_close:
                        break
                    continue

                cond = emulate_cond(self.state, self.up_addr, op, target, hdrs)
                if cond is not None:
                    copy_body(crd, _Null(), reqb, self.state, "bytes_up")
                    with self.state.lock:
                        self.state.status[412] = self.state.status.get(412, 0) + 1
                    csock.sendall(cond)
                    if client_close:
                        break
                    continue

                if kind == "delay":
                    time.sleep(self.state.delay_s)
                # a reused upstream connection that the server closed meanwhile is
                # readable (EOF): replace it before sending anything
                if usock is not None:
                    r, _, _ = select.select([usock], [], [], 0)
                    if r:
                        soft_close(usock)
                        usock = None
                if usock is None:
                    try:
                        usock = self.connect_upstream()
                    except OSError:
                        self.state.add("upstream_connect_errors")
                        hard_close(csock)   # the client sees what a dead server gives
                        return
                    urd = Reader(usock)
                flip_req = None
                if kind == "flip_req":
                    flip_req = int(frac * reqb.length)
                declared = None
                if (self.state.checksum_validate and op in ("PutObject", "UploadPart",
                                                            "CompleteMultipartUpload")
                        and reqb.mode in ("length", "none")):
                    declared = declared_checksum(hdrs)
                if declared is not None and op == "CompleteMultipartUpload":
                    body = read_whole(crd, reqb) if reqb.mode == "length" else b""
                    self.state.add("bytes_up", len(body))
                    err = check_complete(self.state, target, body, declared)
                    if err is not None:
                        with self.state.lock:
                            self.state.status[400] = self.state.status.get(400, 0) + 1
                        csock.sendall(error_response(400, err[0], err[1], target,
                                                     not client_close))
                        if client_close:
                            break
                        continue
                    usock.sendall(edit_request(self.state, method, target, raw, op))
                    usock.sendall(body)
                    declared = None   # S3 answers Complete's checksum in its XML: no echo
                elif declared is not None:
                    # S3 reads the body and checks it before storing anything
                    body = bytearray(read_whole(crd, reqb)) if reqb.mode == "length" else b""
                    self.state.add("bytes_up", len(body))
                    if flip_req is not None and flip_req < len(body):
                        body[flip_req] ^= 0x20
                        self.state.add("flipped_req")
                    self.state.add("checksum_checked")
                    if crc_b64(declared[0], crc_of(declared[0], body)) != declared[1]:
                        self.state.add("checksum_bad")
                        with self.state.lock:
                            self.state.status[400] = self.state.status.get(400, 0) + 1
                        csock.sendall(error_response(
                            400, "BadDigest", "The %s you specified did not match the "
                            "calculated checksum." % declared[0].upper(), target,
                            not client_close))
                        if client_close:
                            break
                        continue
                    usock.sendall(edit_request(self.state, method, target, raw, op))
                    usock.sendall(bytes(body))
                    declared = declared + (crc_of(declared[0], body), len(body))
                else:
                    usock.sendall(edit_request(self.state, method, target, raw, op))
                    copy_body(crd, usock, reqb, self.state, "bytes_up", flip_at=flip_req)

                rhead = urd.head()
                while rhead.startswith(b"HTTP/1.1 100") or rhead.startswith(b"HTTP/1.0 100"):
                    csock.sendall(rhead)
                    rhead = urd.head()
                if declared is not None:
                    rhead = echo_checksum(self.state, rhead, declared, op, target)
                rhead = emulate_part_head(method, target, rhead, self.state.part_number_size)
                rhead = emulate_checksum_head(self.state, self.up_addr, method, target, raw,
                                              hdrs, rhead)
                rhead = emulate_sse_head(self.state, op, rhead)
                rfirst, rh = parse_head(rhead)
                status = int(rfirst.split(" ")[1])
                respb = response_body(method, status, rh)
                if (self.state.sse_emulate and kind is None and 200 <= status < 300
                        and op in ("ListObjectsV2", "CopyObject", "CompleteMultipartUpload")
                        and (respb.mode == "chunked" or (respb.mode == "length"
                                                         and respb.length <= REWRITE_BODY_MAX))):
                    rhead, data = rewrite_xml_etags(self.state, rhead,
                                                    read_whole(urd, respb))
                    csock.sendall(rhead + data)
                    self.state.add("bytes_down", len(data))
                    with self.state.lock:
                        self.state.status[status] = self.state.status.get(status, 0) + 1
                    if rh.get("connection", "").lower() == "close":
                        soft_close(usock)
                        usock = None
                        break
                    if client_close:
                        break
                    continue
                with self.state.lock:
                    self.state.status[status] = self.state.status.get(status, 0) + 1
                server_close = rh.get("connection", "").lower() == "close" or respb.mode == "eof"
                blen = respb.length if respb.mode == "length" else None

                if kind in ("reset", "truncate", "stall"):
                    if respb.mode == "none" or (blen is not None and blen < 2):
                        if kind == "stall":
                            time.sleep(self.state.stall_s)
                        hard_close(csock) if kind == "reset" else soft_close(csock)
                        return
                    csock.sendall(rhead)
                    cut = int(frac * blen) if blen else int(frac * CHUNK)
                    copy_body(urd, csock, respb, self.state, "bytes_down", limit=cut)
                    if kind == "stall":
                        time.sleep(self.state.stall_s)
                    hard_close(csock) if kind == "reset" else soft_close(csock)
                    return

                csock.sendall(rhead)
                flip_resp = None
                if kind == "flip_resp" and blen:
                    flip_resp = int(frac * blen)
                elif kind is None and flip_once_due(self.state, method, target, status, blen):
                    flip_resp = int(frac * blen)
                copy_body(urd, csock, respb, self.state, "bytes_down", flip_at=flip_resp)
                if server_close:
                    soft_close(usock)
                    usock = None
                if client_close or server_close:
                    break
        except (Closed, OSError, ValueError):
            pass                      # a peer went away or spoke nonsense: drop both sides
        except Exception:             # never let a bug kill the proxy: count it, drop the conn
            self.state.add("handler_errors")
            traceback.print_exc(file=sys.stderr)
        finally:
            if busy:
                self.state.end_request()
            soft_close(csock)
            if usock is not None:
                soft_close(usock)
            with self.tlock:
                self.threads.discard(threading.current_thread())

    def serve(self, lsock):
        while not self.stopping:
            try:
                csock, _ = lsock.accept()
            except OSError:
                if self.stopping:
                    return
                time.sleep(0.01)
                continue
            t = threading.Thread(target=self.serve_client, args=(csock,), daemon=True)
            with self.tlock:
                self.threads.add(t)
            t.start()


class _Null:
    def sendall(self, data):
        pass


def control_handler(state):
    class H(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def reply(self, code, obj):
            body = (json.dumps(obj, sort_keys=True) + "\n").encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/stats":
                self.reply(200, state.stats())
            elif self.path == "/config":
                self.reply(200, state.config())
            elif self.path == "/requests":
                with state.lock:
                    recs = list(state.recorded)
                self.reply(200, recs)
            else:
                self.reply(404, {"error": "GET /stats, /config or /requests"})

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0") or "0")
            data = self.rfile.read(n) if 0 < n <= 1 << 20 else b""
            try:
                if self.path == "/config":
                    state.update(json.loads(data or b"{}"))
                    self.reply(200, state.config())
                elif self.path == "/reset":
                    with state.lock:
                        state.reset_counters()
                    self.reply(200, state.stats())
                else:
                    self.reply(404, {"error": "POST /config or /reset"})
            except (ValueError, TypeError) as e:
                self.reply(400, {"error": str(e)})

        do_PUT = do_POST
    return H


def parse_rate(spec):
    cls_kind, _, r = spec.partition("=")
    cls, _, kind = cls_kind.partition(":")
    if not r or not kind:
        raise argparse.ArgumentTypeError("--rate CLASS:KIND=RATE, e.g. get_range:reset=0.05")
    return cls, kind, float(r)


def main():
    ap = argparse.ArgumentParser(description="fault-injecting HTTP proxy for S3 tests "
                                 "(see the module docstring)")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 server")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=parse_rate, action="append", default=[])
    ap.add_argument("--stall", type=float, default=45.0)
    ap.add_argument("--max-faults", type=int, default=-1)
    ap.add_argument("--port-file")
    a = ap.parse_args()

    up = urlsplit(a.upstream)
    if up.scheme != "http" or not up.hostname:
        ap.error("--upstream must be http://HOST:PORT")
    if not a.listen.startswith("127."):
        ap.error("--listen must be a loopback address")
    rates = {}
    for cls, kind, r in a.rate:
        rates.setdefault(cls, {})[kind] = r
    state = State(a.seed, {}, a.stall, a.max_faults)
    state.update({"rates": rates})

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((a.listen, a.port))
    lsock.listen(256)
    ctl = ThreadingHTTPServer((a.listen, a.control_port), control_handler(state))
    ctl.daemon_threads = True

    proxy = Proxy(state, up.hostname, up.port or 80)
    info = {"port": lsock.getsockname()[1], "control_port": ctl.server_address[1],
            "pid": os.getpid()}

    done = threading.Event()

    def stop(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    threading.Thread(target=proxy.serve, args=(lsock,), daemon=True).start()
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, a.port_file)
    print(json.dumps(info), flush=True)
    while not done.wait(1):
        pass
    proxy.stopping = True
    lsock.close()
    ctl.shutdown()
    print(json.dumps(state.stats(), sort_keys=True), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
