#!/usr/bin/env python3
"""fake_imds.py: a fake EC2 instance metadata service (IMDSv1/v2) and ECS/EKS
container credentials endpoint on 127.0.0.1, for test_creds_chain.c.

Usage: fake_imds.py PORTFILE
Binds 127.0.0.1 on a free port, writes the port to PORTFILE, serves until
killed or until its parent process goes away (so a crashed test leaves no
stray server).

Control (test only):
  POST /_ctl/config  JSON body, replaces the behaviour and clears the log:
    {"mode": "replay", "file": ".../http-traffic.json"}
        replays a smithy-rs recorded exchange in order (cyclic); a request
        that does not match the next recorded one gets 599 and is flagged.
    {"mode": "dynamic", ...} serves IMDS under /latest/ and the container
        endpoint elsewhere, with these knobs:
        require_token (true)      tokenless IMDS GETs get 401 (IMDSv2 only)
        token_put_status (200)    status of PUT /latest/api/token ...
        token_put_fail_count (-1) ... for this many PUTs (-1: always)
        token_valid_s (null)      server-side token lifetime (else the TTL asked)
        role ("test-role")        null: the role listing answers 404
        expires_in (21600)        Expiration = now + expires_in
        code ("Success")          IMDS document Code
        fail_next ([])            statuses for the next credential-document GETs
        ecs_path ("/ecs/creds")   container endpoint path
        ecs_auth (null)           required Authorization value (else 401)
        ecs_status (200)          status of the container endpoint
        down (false)              answer nothing: every request but /_ctl/ has
                                  its connection closed unanswered (a service
                                  that stopped answering)
        keys (null)               {"AccessKeyId": .., "SecretAccessKey": ..}
                                  served in every document instead of the
                                  numbered sets, with no Token (so a mount can
                                  sign for a real S3 server's static user)
    Credentials are numbered: AccessKeyId ASIAFAKE0001, secret secret0001,
    token token0001, then 0002 on the next document, so a test can tell sets
    apart and check that a set is never torn.
  GET /_ctl/log  JSON list of {method, path, token, ttl, auth, status, mismatch}
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"config": {"mode": "dynamic"}, "log": [], "n": 0, "tokens": {},
         "script": [], "pos": 0, "puts": 0, "fail_next": []}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def load_script(path):
    """(method, path, status, body) per recorded exchange, in order."""
    with open(path) as f:
        events = json.load(f)["events"]
    conns = {}
    order = []
    for e in events:
        cid = e["connection_id"]
        a = e["action"]
        if cid not in conns:
            conns[cid] = {"body": ""}
            order.append(cid)
        c = conns[cid]
        if "Request" in a:
            r = a["Request"]["request"]
            uri = r["uri"]
            path = "/" + uri.split("://", 1)[1].split("/", 1)[1] if "://" in uri else uri
            c["method"] = r["method"]
            c["path"] = path
            c["headers"] = {k: v[0] for k, v in r["headers"].items()}
        elif "Response" in a:
            c["status"] = a["Response"]["response"]["Ok"]["status"]
        elif "Data" in a and a["Data"]["direction"] == "Response":
            c["body"] += a["Data"]["data"].get("Utf8", "")
    return [conns[c] for c in order]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body="", ctype="text/plain", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, status, mismatch=False):
        STATE["log"].append({
            "method": self.command, "path": self.path,
            "token": self.headers.get("X-aws-ec2-metadata-token"),
            "ttl": self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"),
            "auth": self.headers.get("Authorization"),
            "accept": self.headers.get("Accept"),
            "status": status, "mismatch": mismatch, "t": time.time()})

    def handle_any(self):
        body = self.read_body()
        if self.path == "/_ctl/config" and self.command == "POST":
            cfg = json.loads(body or b"{}")
            with LOCK:
                STATE.update(config=cfg, log=[], n=0, tokens={}, pos=0, puts=0,
                             fail_next=list(cfg.get("fail_next", [])))
                STATE["script"] = load_script(cfg["file"]) if cfg.get("mode") == "replay" else []
            return self.reply(200, "ok")
        if self.path == "/_ctl/log":
            with LOCK:
                data = json.dumps(STATE["log"])
            return self.reply(200, data, "application/json")
        with LOCK:
            down = STATE["config"].get("down", False)
            if down:
                self.record(0)
        if down:
            self.close_connection = True
            return
        with LOCK:
            if STATE["config"].get("mode") == "replay":
                status, text, hdrs = self.replay()
            else:
                status, text, hdrs = self.dynamic()
        self.reply(status, text, "application/json" if text.startswith("{") else "text/plain",
                   hdrs)

    def replay(self):
        script = STATE["script"]
        if not script:
            self.record(599, True)
            return 599, "no script", {}
        ex = script[STATE["pos"] % len(script)]
        STATE["pos"] += 1
        ok = ex["method"] == self.command and ex["path"] == self.path
        want_tok = ex["headers"].get("x-aws-ec2-metadata-token")
        if want_tok is not None and self.headers.get("X-aws-ec2-metadata-token") != want_tok:
            ok = False
        if "x-aws-ec2-metadata-token-ttl-seconds" in ex["headers"] and \
                not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            ok = False
        if not ok:
            self.record(599, True)
            return 599, "unexpected request", {}
        self.record(ex["status"])
        return ex["status"], ex["body"], {}

    def creds_doc(self, cfg, code=None):
        STATE["n"] += 1
        n = STATE["n"]
        doc = {"AccessKeyId": "ASIAFAKE%04d" % n, "SecretAccessKey": "secret%04d" % n,
               "Token": "token%04d" % n,
               "Expiration": iso(time.time() + cfg.get("expires_in", 21600))}
        if cfg.get("keys"):
            doc.update(cfg["keys"])
            del doc["Token"]
        if code is not None:
            doc = dict(Code=code, LastUpdated=iso(time.time()), Type="AWS-HMAC", **doc)
        return json.dumps(doc)

    def dynamic(self):
        cfg = STATE["config"]
        if self.path.startswith("/latest/"):
            return self.imds(cfg)
        if self.path != cfg.get("ecs_path", "/ecs/creds") or self.command != "GET":
            self.record(404)
            return 404, "not found", {}
        want = cfg.get("ecs_auth")
        if want is not None and self.headers.get("Authorization") != want:
            self.record(401)
            return 401, json.dumps({"code": "Unauthorized", "message": "bad token"}), {}
        st = cfg.get("ecs_status", 200)
        if st != 200:
            self.record(st)
            return st, json.dumps({"code": "AccessDenied", "message": "no"}), {}
        self.record(200)
        return 200, self.creds_doc(cfg), {}

    def imds(self, cfg):
        if self.path == "/latest/api/token":
            if self.command != "PUT":
                self.record(405)
                return 405, "", {}
            STATE["puts"] += 1
            fails = cfg.get("token_put_fail_count", -1)
            st = cfg.get("token_put_status", 200)
            if st != 200 and (fails < 0 or STATE["puts"] <= fails):
                self.record(st)
                return st, "", {}
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                self.record(400)
                return 400, "", {}
            valid = cfg.get("token_valid_s") or int(ttl)
            tok = "AQAE-fake-token-%d==" % STATE["puts"]
            STATE["tokens"][tok] = time.time() + valid
            self.record(200)
            return 200, tok, {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
        tok = self.headers.get("X-aws-ec2-metadata-token")
        if tok is None:
            if cfg.get("require_token", True):
                self.record(401)
                return 401, "", {}
        elif STATE["tokens"].get(tok, 0) < time.time():
            self.record(401)
            return 401, "", {}
        base = "/latest/meta-data/iam/security-credentials/"
        role = cfg.get("role", "test-role")
        if self.path == base:
            if role is None:
                self.record(404)
                return 404, "<html>404 - Not Found</html>", {}
            self.record(200)
            return 200, role, {}
        if role is not None and self.path == base + role:
            if STATE["fail_next"]:
                st = STATE["fail_next"].pop(0)
                self.record(st)
                return st, "", {}
            self.record(200)
            return 200, self.creds_doc(cfg, cfg.get("code", "Success")), {}
        self.record(404)
        return 404, "<html>404 - Not Found</html>", {}

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


def main():
    portfile = sys.argv[1]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, portfile)
    parent = os.getppid()

    def watchdog():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
