"""Shared pieces of the fakes: request/reply objects, the role base class,
data-file readers."""

import json
import os
from urllib.parse import parse_qs, unquote, urlsplit

ESI_KEYS = ("attackers", "killmail_id", "killmail_time", "moon_id",
            "solar_system_id", "victim", "war_id")


class BadCtl(Exception):
    """A _ctl object (or --faults/--ctl) that the fake refuses."""


class Request:
    def __init__(self, method, path, headers, body, t, client):
        self.method = method
        self.path = path                  # as sent, with the query
        sp = urlsplit(path)
        self.bare_path = unquote(sp.path)
        self.query = {k: v[0] for k, v in parse_qs(sp.query,
                                                   keep_blank_values=True).items()}
        self.headers = headers            # lower-case names
        self.body = body
        self.t = t
        self.client = client
        self.route = "other"

    def text(self):
        return self.body.decode("utf-8", errors="replace")


class Reply:
    REASONS = {420: "Enhance Your Calm", 429: "Too Many Requests"}

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = headers or {}
        self.reason = self.REASONS.get(status)


def json_bytes(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(status, obj, headers=None):
    h = {"Content-Type": "application/json; charset=UTF-8"}
    if headers:
        h.update(headers)
    return Reply(status, json_bytes(obj), h)


def text_reply(status, text, headers=None):
    h = {"Content-Type": "text/plain; charset=utf-8"}
    if headers:
        h.update(headers)
    return Reply(status, text.encode("utf-8"), h)


def parse_id_list(s):
    """'1,2, 3' -> [1, 2, 3]; None or '' -> []."""
    if not s:
        return []
    return [int(x) for x in str(s).replace(" ", "").split(",") if x]


def parse_pairs(s):
    """'A:B,C:D' -> [(A, B), (C, D)] as ints."""
    out = []
    for part in (s or "").replace(" ", "").split(","):
        if part:
            a, b = part.split(":")
            out.append((int(a), int(b)))
    return out


def read_tsv(path):
    """Rows of a data-set .tsv file, header skipped, fields as strings."""
    with open(path, encoding="utf-8") as f:
        f.readline()
        for line in f:
            line = line.rstrip("\n")
            if line:
                yield line.split("\t")


def read_killmails(data_dir):
    """Every line of DIR/killmails.ndjson (or of the file DIR itself) as a
    dict, in file order."""
    path = data_dir if os.path.isfile(data_dir) else \
        os.path.join(data_dir, "killmails.ndjson")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise ValueError("%s:%d: %s" % (path, n, e))
    return out


def esi_body(mail):
    """The ESI part of a data-set line (drops killmail_hash and zkb)."""
    return {k: mail[k] for k in ESI_KEYS if k in mail}


def mail_hash(mail):
    import hashlib
    h = mail.get("killmail_hash") or (mail.get("zkb") or {}).get("hash")
    if not h:
        h = hashlib.sha1(str(mail["killmail_id"]).encode()).hexdigest()
    return h


class Role:
    """Base class; each role overrides what it needs."""
    CTL_KEYS = ()

    def __init__(self, opts):
        self.opts = opts
        self.server_port = 0

    @classmethod
    def add_options(cls, ap):
        pass

    def route_class(self, req):
        return "other"

    def bucket_key(self, req):
        """Who a Retry-After applies to (for counting early requests)."""
        return "global"

    def is_early(self, req, now):
        return False

    def handle(self, req):
        raise NotImplementedError

    def decorate_fault(self, req, reply):
        pass

    def control(self, obj):
        pass

    def extra_stats(self):
        return {}

    def posts_ndjson(self):
        return None

    def clear_log(self):
        pass

    def close(self):
        pass
