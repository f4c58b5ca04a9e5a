"""Role zkb: zKillboard R2Z2 (/ephemeral/...) and legacy RedisQ
(/listen.php, /object.php), plus the small history and killID routes."""

import math
import threading
import time

from common import (BadCtl, Role, esi_body, json_bytes, json_reply, mail_hash,
                    parse_id_list, parse_pairs, read_killmails, text_reply,
                    Reply)


class ZkbRole(Role):
    CTL_KEYS = ("publish", "publish_all", "rate", "sequence_lag", "missing",
                "add", "ttw_max", "republish")

    @classmethod
    def add_options(cls, ap):
        g = ap.add_argument_group("role zkb")
        g.add_argument("--seq-start", type=int, default=90000001)
        g.add_argument("--published", type=int, default=None,
                       help="packages published at start (default all)")
        g.add_argument("--sequence-lag", type=int, default=0)
        g.add_argument("--missing", default="", help="SEQ,SEQ answering 404")
        g.add_argument("--duplicate", default="", help="SEQ:OTHERSEQ,...")
        g.add_argument("--updated", default="", help="SEQ:OLDSEQ,...")
        g.add_argument("--rate", type=float, default=0,
                       help="max requests per second per client (0 = no limit); "
                            "also the ESI global bucket")
        g.add_argument("--ttw-max", type=float, default=10.0)
        g.add_argument("--head-wait", type=float, default=6.0,
                       help="a retry of a head 404 sooner than this counts "
                            "in _stats head_early")
        g.add_argument("--redisq-no-killmail", action="store_true",
                       help="RedisQ packages without the killmail (post-2025-12)")

    def __init__(self, opts):
        super().__init__(opts)
        # no --data: an empty feed that _ctl {"add": [...]} fills
        self.mails = read_killmails(opts.data) if opts.data else []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.start = opts.seq_start
        n = len(self.mails)
        # one entry per sequence number, in file order
        self.entries = [{"mail": i, "updated": None, "uploaded_at": None}
                        for i in range(n)]
        for s, o in parse_pairs(opts.duplicate):
            self.entry(s)["mail"] = self.entry(o)["mail"]
        for s, o in parse_pairs(opts.updated):
            self.entry(s)["updated"] = o
        self.missing = set(parse_id_list(opts.missing))
        self.lag = opts.sequence_lag
        self.rate = opts.rate
        self.ttw_max = opts.ttw_max
        self.published = 0
        self.cache = {}
        self.publish(n if opts.published is None else opts.published)
        self.windows = {}            # (client, second) -> count
        self.queues = {}             # RedisQ queueID -> {"pos", "busy"}
        self.objects = {}            # objectID -> sequence number
        self.nobj = 0
        self.head_404 = {}           # (client, seq) -> time of the 404
        self.head_early = 0

    def entry(self, seq):
        k = seq - self.start
        if not 0 <= k < len(self.entries):
            raise ValueError("sequence %d is outside %d..%d"
                             % (seq, self.start, self.start + len(self.entries) - 1))
        return self.entries[k]

    # -- publishing
    def publish(self, k):
        now = int(time.time())
        with self.cond:
            top = min(len(self.entries), self.published + max(0, int(k)))
            for e in self.entries[self.published:top]:
                e["uploaded_at"] = now
            self.published = top
            self.cond.notify_all()

    def head(self):
        return self.start + self.published - 1

    def reported_sequence(self):
        return max(self.start, self.head() - self.lag)

    def package(self, seq):
        if seq in self.cache:
            return self.cache[seq]
        e = self.entry(seq)
        m = self.mails[e["mail"]]
        pkg = {"killmail_id": m["killmail_id"], "hash": mail_hash(m),
               "esi": esi_body(m)}
        if "zkb" in m or e.get("zkb"):
            pkg["zkb"] = dict(m.get("zkb") or {}, **(e.get("zkb") or {}))
        pkg["uploaded_at"] = e["uploaded_at"]
        pkg["sequence_id"] = seq
        if e["updated"] is not None:
            pkg["sequence_updated"] = e["updated"]
        b = json_bytes(pkg)
        self.cache[seq] = b
        return b

    # -- role interface
    def route_class(self, req):
        p = req.bare_path
        if p == "/ephemeral/sequence.json":
            return "sequence"
        if p.startswith("/ephemeral/"):
            return "ephemeral"
        if p.startswith("/listen.php"):
            return "listen"
        if p.startswith("/object.php"):
            return "object"
        if p.startswith("/history/") or p.startswith("/api/history/"):
            return "history"
        if p.startswith("/api/killID/"):
            return "killid"
        return "other"

    def bucket_key(self, req):
        return "client:" + req.client

    def over_rate(self, req):
        if not self.rate:
            return None
        sec = int(req.t)
        key = (req.client, sec)
        with self.lock:
            if len(self.windows) > 1000:
                self.windows = {k: v for k, v in self.windows.items()
                                if k[1] >= sec - 1}
            self.windows[key] = self.windows.get(key, 0) + 1
            if self.windows[key] > self.rate:
                return max(1, math.ceil(sec + 1 - req.t))
        return None

    def handle(self, req):
        if not req.headers.get("user-agent", "").strip():
            return text_reply(403, "error code: 1010")
        ra = self.over_rate(req)
        if ra is not None:
            return json_reply(429, {"error": "rate limited"},
                              {"Retry-After": str(ra)})
        if req.method not in ("GET", "HEAD"):
            return json_reply(405, {"error": "method not allowed"})
        route = req.route
        if route == "sequence":
            with self.lock:
                seq = self.reported_sequence()
            return json_reply(200, {"sequence": seq},
                              {"Cache-Control": "public, max-age=0"})
        if route == "ephemeral":
            return self.ephemeral(req)
        if route == "listen":
            return self.listen(req)
        if route == "object":
            return self.object(req)
        if route == "history":
            return self.history(req)
        if route == "killid":
            return self.killid(req)
        return json_reply(404, {"error": "not found"})

    def ephemeral(self, req):
        name = req.bare_path[len("/ephemeral/"):]
        if not name.endswith(".json") or not name[:-5].isdigit():
            return json_reply(404, {"error": "not found"})
        seq = int(name[:-5])
        with self.lock:
            ok = self.start <= seq <= self.head() and seq not in self.missing
            if seq > self.head():
                # zKillboard asks for >= 6 s before retrying the head
                k = (req.client, seq)
                last = self.head_404.get(k)
                if last is not None and req.t - last < self.opts.head_wait:
                    self.head_early += 1
                self.head_404[k] = req.t
        if not ok:
            return json_reply(404, {"error": "not found"})
        return Reply(200, self.package(seq),
                     {"Content-Type": "application/json"})

    # -- RedisQ
    def listen(self, req):
        qid = req.query.get("queueID", "").strip()
        if not qid:
            return json_reply(429, {"error": "queueID is required"})
        try:
            ttw = int(req.query.get("ttw", "10") or 10)
        except ValueError:
            ttw = 10
        ttw = min(max(1, min(10, ttw)), self.ttw_max)
        with self.cond:
            q = self.queues.setdefault(qid, {"pos": 0, "busy": False})
            if q["busy"]:
                return json_reply(429, {"error": "one request per queueID"})
            q["busy"] = True
            try:
                deadline = time.time() + ttw
                while q["pos"] >= self.published:
                    left = deadline - time.time()
                    if left <= 0:
                        break
                    self.cond.wait(left)
                seq = None
                if q["pos"] < self.published:
                    seq = self.start + q["pos"]
                    q["pos"] += 1
                    self.nobj += 1
                    oid = "%d-%d" % (seq, self.nobj)
                    self.objects[oid] = seq
            finally:
                q["busy"] = False
        if seq is None:
            return json_reply(200, {"package": None})
        host = req.headers.get("host") or "127.0.0.1:%d" % self.server_port
        return Reply(302, b"", {"Location": "http://%s/object.php?objectID=%s"
                                % (host, oid)})

    def object(self, req):
        oid = req.query.get("objectID", "").strip()
        with self.lock:
            seq = self.objects.get(oid)
        if seq is None:
            return json_reply(404, {"error": "not found"})
        m = self.mails[self.entry(seq)["mail"]]
        pkg = {"killID": m["killmail_id"]}
        if not self.opts.redisq_no_killmail:
            pkg["killmail"] = esi_body(m)
        if "zkb" in m:
            pkg["zkb"] = m["zkb"]
        elif self.opts.redisq_no_killmail:
            h = mail_hash(m)
            pkg["zkb"] = {"hash": h, "href": "https://esi.evetech.net/killmails/"
                          "%d/%s/" % (m["killmail_id"], h)}
        return json_reply(200, {"package": pkg})

    # -- history and killID
    def history(self, req):
        p = req.bare_path
        if p.startswith("/api"):
            p = p[4:]
        days = {}
        for m in self.mails:
            d = m.get("killmail_time", "")[:10].replace("-", "")
            days.setdefault(d, []).append(m)
        if p == "/history/totals.json":
            return json_reply(200, {d: len(v) for d, v in sorted(days.items())})
        raw = p.startswith("/history/raw/")
        day = p.rsplit("/", 1)[-1].replace(".json", "")
        if day not in days:
            return json_reply(404, {"error": "not found"})
        if raw:
            return json_reply(200, {str(m["killmail_id"]): esi_body(m)
                                    for m in days[day]})
        return json_reply(200, {str(m["killmail_id"]): mail_hash(m)
                                for m in days[day]})

    def killid(self, req):
        part = req.bare_path.strip("/").split("/")
        try:
            kid = int(part[2])
        except (IndexError, ValueError):
            return json_reply(404, {"error": "not found"})
        out = [{"killmail_id": m["killmail_id"], "zkb": m.get("zkb") or
                {"hash": mail_hash(m)}} for m in self.mails if m["killmail_id"] == kid]
        return json_reply(200, out[:1])

    # -- control
    def control(self, obj):
        if "add" in obj:
            add = obj["add"]
            if not isinstance(add, list) or not all(
                    isinstance(m, dict) and "killmail_id" in m for m in add):
                raise BadCtl("add wants a list of killmail objects")
            with self.cond:
                for m in add:
                    self.mails.append(m)
                    self.entries.append({"mail": len(self.mails) - 1,
                                         "updated": m.get("sequence_updated"),
                                         "uploaded_at": None})
        if "republish" in obj:
            self.republish(obj["republish"])
        if "publish" in obj:
            self.publish(int(obj["publish"]))
        if obj.get("publish_all"):
            self.publish(len(self.entries))
        with self.lock:
            if "rate" in obj:
                self.rate = float(obj["rate"] or 0)
            if "sequence_lag" in obj:
                self.lag = int(obj["sequence_lag"])
            if "missing" in obj:
                self.missing = set(int(x) for x in obj["missing"])
            if "ttw_max" in obj:
                self.ttw_max = float(obj["ttw_max"])

    def republish(self, r):
        """zKillboard revises a killmail it published (a new value, a new
        label): the sequence file that had it is rewritten with the new
        zkb, and a new file at the head carries it again with
        sequence_updated naming the rewritten one.  r: {"killmail_id": N,
        "zkb": {keys to change}}; the new file is published at once (with
        any published before it)."""
        if not (isinstance(r, dict) and isinstance(r.get("zkb"), dict)):
            raise BadCtl("republish wants {\"killmail_id\": N, \"zkb\": {...}}")
        with self.cond:
            seqs = [k for k, e in enumerate(self.entries[:self.published])
                    if self.mails[e["mail"]].get("killmail_id") == r.get("killmail_id")]
            if not seqs:
                raise BadCtl("republish: killmail %s is not published" % r.get("killmail_id"))
            old = self.entries[seqs[-1]]
            old["zkb"] = dict(old.get("zkb") or {}, **r["zkb"])
            self.cache.pop(self.start + seqs[-1], None)
            self.entries.append({"mail": old["mail"], "zkb": old["zkb"],
                                 "updated": self.start + seqs[-1],
                                 "uploaded_at": None})
        self.publish(len(self.entries))

    def extra_stats(self):
        with self.lock:
            return {"published": self.published, "total": len(self.entries),
                    "head": self.head(), "sequence": self.reported_sequence(),
                    "first": self.start, "head_early": self.head_early}
