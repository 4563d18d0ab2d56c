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
                        "status": {http status of S3's forwarded answers: n}}
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
    POST /reset        zero the counters
Command line: faultproxy.py --upstream http://127.0.0.1:7480 [--port 0] [--control-port 0]
    [--seed N] [--rate CLASS:KIND=R ...] [--stall S] [--max-faults N] [--port-file FILE]
    When listening, it writes {"port": P, "control_port": C, "pid": PID} to --port-file
    (atomically) and prints the same line on stdout. SIGTERM/SIGINT: clean exit.
Determinism: one random.Random(seed) draws every decision under a lock, so the sequence
of decisions is fixed by the seed; which request gets which decision depends on the order
requests arrive in, which parallel clients do not make deterministic.
"""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

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
                "status": {str(k): v for k, v in sorted(self.status.items())},
            }

    def config(self):
        with self.lock:
            return {"seed": self.seed, "rates": self.rates, "stall_s": self.stall_s,
                    "delay_s": self.delay_s, "script": self.script,
                    "max_faults": self.max_faults, "down": self.down,
                    "part_number_size": self.part_number_size}

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
        for cls, kinds in (cfg.get("script") or {}).items():
            if cls not in CLASSES or not isinstance(kinds, list):
                raise ValueError("script[%r] must name a class and list kinds" % cls)
            for kind in kinds:
                if kind is not None and kind not in KINDS:
                    raise ValueError("unknown fault kind %r" % kind)
        with self.lock:
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


def error_response(status, code, message, resource, keep_alive):
    reason = {404: "Not Found", 500: "Internal Server Error", 503: "Slow Down"}[status]
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
        try:
            while not self.stopping:
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
                has_body = reqb.mode == "length" and reqb.length > 0
                kind, frac = self.state.decide(cls, has_body)

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
                usock.sendall(raw)
                flip_req = None
                if kind == "flip_req":
                    flip_req = int(frac * reqb.length)
                copy_body(crd, usock, reqb, self.state, "bytes_up", flip_at=flip_req)

                rhead = urd.head()
                while rhead.startswith(b"HTTP/1.1 100") or rhead.startswith(b"HTTP/1.0 100"):
                    csock.sendall(rhead)
                    rhead = urd.head()
                rhead = emulate_part_head(method, target, rhead, self.state.part_number_size)
                rfirst, rh = parse_head(rhead)
                status = int(rfirst.split(" ")[1])
                respb = response_body(method, status, rh)
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
            else:
                self.reply(404, {"error": "GET /stats or /config"})

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
