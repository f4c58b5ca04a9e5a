#!/usr/bin/env python3
"""Fake remote peers for the InsightCore tests: zKillboard (R2Z2 + RedisQ),
ESI, Discord webhooks, Slack webhooks.

    python3 tests/fake/fake.py --role zkb|esi|discord|slack [--port 0]
        [--port-file F] [--log F] [--data DIR] [options]

Every request is recorded (--log, GET /_log), behaviour changes at run time
through POST /_ctl, and GET /_stats counts requests, statuses and "early"
requests (those that arrived while the fake had told the client to wait).
The full reference is tests/fake/README.md.  Python 3 standard library only.
"""

import argparse
import gzip
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree

from roles_zkb import ZkbRole          # noqa: E402
from roles_esi import EsiRole          # noqa: E402
from roles_hooks import DiscordRole, SlackRole   # noqa: E402
from common import Reply, Request, json_reply, BadCtl   # noqa: E402

ROLES = {"zkb": ZkbRole, "esi": EsiRole, "discord": DiscordRole,
         "slack": SlackRole}
GZIP_ROLES = ("zkb", "esi")
CONTROL_PREFIXES = ("/_ctl", "/_log", "/_stats", "/_posts")


class Fault:
    """One injected fault from --faults or _ctl {"faults": [...]}."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise BadCtl("a fault must be an object")
        unknown = set(spec) - {"match", "status", "times", "retry_after",
                               "body", "headers", "delay", "reset", "method"}
        if unknown:
            raise BadCtl("unknown fault key(s): %s" % ", ".join(sorted(unknown)))
        try:
            self.match = re.compile(spec.get("match", ""))
        except re.error as e:
            raise BadCtl("bad fault regex: %s" % e)
        self.method = spec.get("method")
        self.status = spec.get("status")
        self.times = int(spec.get("times", 1))
        self.retry_after = spec.get("retry_after")
        self.body = spec.get("body")
        self.headers = spec.get("headers") or {}
        self.delay = float(spec.get("delay", 0) or 0)
        self.reset = bool(spec.get("reset", False))
        if self.status is None and not self.reset and not self.delay:
            self.status = 500
        self.spec = spec

    def matches(self, req):
        if self.method and self.method.upper() != req.method:
            return False
        return self.match.search(req.path) is not None


class State:
    """Everything shared by the handler threads; one lock guards it all."""

    def __init__(self, opts, role):
        self.lock = threading.RLock()
        self.opts = opts
        self.role = role
        self.faults = []
        self.delay = float(opts.delay or 0)
        self.log_lines = []
        self.log_file = open(opts.log, "a", encoding="utf-8") if opts.log else None
        self.told_until = {}     # bucket key -> time until which we said "wait"
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"requests": 0, "routes": {}, "status": {}, "early": 0,
                      "faults": 0}

    # -- faults
    def add_faults(self, specs):
        if not isinstance(specs, list):
            raise BadCtl("faults must be a list")
        new = [Fault(s) for s in specs]
        with self.lock:
            self.faults.extend(new)

    def take_fault(self, req):
        with self.lock:
            for f in self.faults:
                if f.times != 0 and f.matches(req):
                    if f.times > 0:
                        f.times -= 1
                    if f.times == 0:
                        self.faults.remove(f)
                    self.stats["faults"] += 1
                    return f
        return None

    # -- recording
    def record(self, req, status, early):
        entry = {"t": req.t, "method": req.method, "path": req.path,
                 "headers": req.headers, "body": req.text(), "status": status,
                 "early": early}
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.log_lines.append(line)
            st = self.stats
            st["requests"] += 1
            st["routes"][req.route] = st["routes"].get(req.route, 0) + 1
            k = str(status)
            st["status"][k] = st["status"].get(k, 0) + 1
            if early:
                st["early"] += 1
            if self.log_file:
                self.log_file.write(line + "\n")
                self.log_file.flush()

    def note_retry_after(self, key, reply, now):
        ra = reply.headers.get("Retry-After")
        if ra is None:
            return
        try:
            secs = float(ra)
        except ValueError:
            return
        with self.lock:
            self.told_until[key] = max(self.told_until.get(key, 0), now + secs)

    def was_told_to_wait(self, key, now):
        with self.lock:
            return now < self.told_until.get(key, 0)

    # -- _ctl
    def control(self, obj):
        if not isinstance(obj, dict):
            raise BadCtl("_ctl wants a JSON object")
        common = {"faults", "clear", "delay", "clear_log"}
        role_keys = set(obj) - common
        unknown = role_keys - set(self.role.CTL_KEYS)
        if unknown:
            raise BadCtl("unknown _ctl key(s): %s" % ", ".join(sorted(unknown)))
        with self.lock:
            if obj.get("clear"):
                self.faults = []
            if "delay" in obj:
                self.delay = float(obj["delay"] or 0)
            if obj.get("clear_log"):
                self.log_lines = []
                self.reset_stats()
                self.role.clear_log()
        if "faults" in obj:
            self.add_faults(obj["faults"])
        sub = {k: obj[k] for k in role_keys}
        if sub:
            self.role.control(sub)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "InsightFake/1"
    sys_version = ""
    # headers and body leave in one write; otherwise Nagle plus the
    # client's delayed ACK costs 40 ms per keep-alive request
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):   # quiet: the fake has its own log
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self):
        st = self.server.state
        now = time.time()
        body = self.read_body()
        hdrs = {}
        for k, v in self.headers.items():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        req = Request(self.command, self.path, hdrs, body, now,
                      self.client_address[0])
        if req.bare_path.startswith(CONTROL_PREFIXES):
            self.send(req, self.control(req))
            return
        role = st.role
        req.route = role.route_class(req)
        key = role.bucket_key(req)
        early = st.was_told_to_wait(key, now) or role.is_early(req, now)
        fault = st.take_fault(req)
        delay = st.delay
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                st.record(req, 0, early)
                self.reset_connection()
                return
        if fault is not None and fault.status is not None:
            reply = self.fault_reply(fault)
            role.decorate_fault(req, reply)
        else:
            try:
                reply = role.handle(req)
            except Exception as e:        # a bug in the fake: say so loudly
                import traceback
                traceback.print_exc()
                reply = json_reply(500, {"error": "fake internal error: %s" % e})
        if delay:
            time.sleep(delay)
        st.note_retry_after(key, reply, time.time())
        st.record(req, reply.status, early)
        self.send(req, reply, gzip_ok=st.opts.role in GZIP_ROLES)

    @staticmethod
    def fault_reply(f):
        body = f.body
        if body is None:
            body = "" if f.status in (204, 304) else \
                json.dumps({"error": "injected fault %d" % f.status})
        r = Reply(f.status, body.encode("utf-8"),
                  {"Content-Type": "application/json; charset=UTF-8"})
        if f.retry_after is not None:
            r.headers["Retry-After"] = fmt_num(f.retry_after)
        for k, v in f.headers.items():
            r.headers[k] = str(v)
        return r

    def control(self, req):
        st = self.server.state
        p = req.bare_path
        if p.startswith("/_ctl"):
            if req.method != "POST":
                return json_reply(405, {"ok": False, "error": "POST a JSON object"})
            try:
                obj = json.loads(req.body.decode("utf-8") or "{}")
                st.control(obj)
            except Exception as e:        # bad JSON, key or value
                return json_reply(400, {"ok": False, "error": "%s: %s"
                                        % (type(e).__name__, e)})
            return json_reply(200, {"ok": True})
        if p.startswith("/_log"):
            with st.lock:
                data = "".join(l + "\n" for l in st.log_lines)
            return Reply(200, data.encode("utf-8"),
                         {"Content-Type": "application/x-ndjson"})
        if p.startswith("/_stats"):
            with st.lock:
                s = json.loads(json.dumps(st.stats))
                s.update(st.role.extra_stats())
            return json_reply(200, s)
        if p.startswith("/_posts"):
            data = st.role.posts_ndjson()
            if data is None:
                return json_reply(404, {"error": "no /_posts for this role"})
            return Reply(200, data.encode("utf-8"),
                         {"Content-Type": "application/x-ndjson"})
        return json_reply(404, {"error": "unknown control route"})

    def reset_connection(self):
        """Close without answering; linger 0 makes it a TCP RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def send(self, req, reply, gzip_ok=False):
        body = reply.body
        headers = dict(reply.headers)
        no_body = reply.status in (204, 304) or req.method == "HEAD"
        if body and not no_body and gzip_ok and accepts_gzip(req):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        try:
            self.send_response(reply.status, reply.reason)
            for k, v in headers.items():
                self.send_header(k, v)
            if reply.status not in (204, 304):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not no_body and body:
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


def accepts_gzip(req):
    ae = req.headers.get("accept-encoding", "")
    for part in ae.split(","):
        bits = part.strip().split(";")
        if bits[0].strip().lower() in ("gzip", "*"):
            q = [b for b in bits[1:] if b.strip().startswith("q=")]
            if q and float(q[0].strip()[2:] or 0) == 0:
                return False
            return True
    return False


def fmt_num(x):
    x = float(x)
    return str(int(x)) if x == int(x) else ("%.3f" % x)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def build_parser():
    ap = argparse.ArgumentParser(
        description="Fake zKillboard/ESI/Discord/Slack peer for tests "
                    "(see tests/fake/README.md)")
    ap.add_argument("--role", required=True, choices=sorted(ROLES))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--data")
    ap.add_argument("--faults", help="JSON list of faults")
    ap.add_argument("--ctl", action="append", default=[],
                    help="JSON object applied as POST /_ctl at start")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--quiet", action="store_true")
    for cls in (ZkbRole, EsiRole, DiscordRole, SlackRole):
        cls.add_options(ap)
    return ap


def main(argv=None):
    ap = build_parser()
    opts = ap.parse_args(argv)
    t0 = time.time()
    try:
        role = ROLES[opts.role](opts)
    except (OSError, ValueError, IndexError, KeyError) as e:
        print("fake: fatal: cannot load data: %r" % e, file=sys.stderr)
        return 100
    state = State(opts, role)
    try:
        if opts.faults:
            state.add_faults(json.loads(opts.faults))
        for c in opts.ctl:
            state.control(json.loads(c))
    except (ValueError, BadCtl) as e:
        print("fake: fatal: bad --faults/--ctl: %s" % e, file=sys.stderr)
        return 100
    load_s = time.time() - t0
    try:
        srv = Server((opts.bind, opts.port), Handler)
    except OSError as e:
        print("fake: fatal: bind: %s" % e, file=sys.stderr)
        return 111
    srv.state = state
    role.server_port = srv.server_address[1]

    def on_term(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    port = srv.server_address[1]
    if opts.port_file:
        write_port_file(opts.port_file, port)
    if not opts.quiet:
        print("fake: info: role=%s listening on %s:%d (loaded in %.2fs)"
              % (opts.role, opts.bind, port, load_s), file=sys.stderr, flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
        role.close()
        if state.log_file:
            state.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
