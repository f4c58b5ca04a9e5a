"""Roles discord and slack: incoming webhooks with validation, per-webhook
rate limits, dead webhooks, and a record of accepted posts (GET /_posts)."""

import hashlib
import json
import math
import re
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs

from common import BadCtl, Role, json_reply, text_reply, Reply

DISCORD_RE = re.compile(r"^/api(?:/v\d+)?/webhooks/([^/]+)/([^/]+)(?:/messages/([^/]+))?/?$")
SLACK_RE = re.compile(r"^/services/([^/]+)/([^/]+)/([^/]+)/?$")
DISCORD_EPOCH_MS = 1420070400000


def fmt3(x):
    return "%.3f" % x


class Posts:
    """Accepted posts, for GET /_posts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lines = []

    def add(self, t, webhook, body, edit=None, mid=None):
        rec = {"t": t, "webhook": webhook, "body": body}
        if edit is not None:
            rec["edit"] = edit
        if mid is not None:
            rec["id"] = mid
        line = json.dumps(rec, ensure_ascii=False)
        with self.lock:
            self.lines.append(line)

    def ndjson(self):
        with self.lock:
            return "".join(l + "\n" for l in self.lines)

    def clear(self):
        with self.lock:
            self.lines = []

    def count(self):
        with self.lock:
            return len(self.lines)


# ====================================================================== Discord

def derr(code, message):
    return {"_errors": [{"code": code, "message": message}]}


def put(errors, path, err):
    d = errors
    for k in path[:-1]:
        d = d.setdefault(str(k), {})
    d[str(path[-1])] = err


def slen(v):
    """Discord trims leading/trailing whitespace before counting."""
    return len(v.strip()) if isinstance(v, str) else 0


def check_str(errors, path, v, limit, required=False):
    if v is None:
        if required:
            put(errors, path, derr("BASE_TYPE_REQUIRED", "This field is required"))
        return 0
    if not isinstance(v, str):
        put(errors, path, derr("STRING_TYPE_CONVERT", "Could not interpret "
                               "\"%s\" as string." % (v,)))
        return 0
    n = slen(v)
    if required and n == 0:
        put(errors, path, derr("BASE_TYPE_REQUIRED", "This field is required"))
    elif n > limit:
        put(errors, path, derr("BASE_TYPE_MAX_LENGTH",
                               "Must be %d or fewer in length." % limit))
    return n


def check_url(errors, path, v, schemes=("http", "https")):
    if v is None:
        return
    if not isinstance(v, str) or "://" not in v:
        put(errors, path, derr("URL_TYPE_INVALID_URL", "Not a well formed URL."))
        return
    scheme = v.split("://", 1)[0].lower()
    if scheme not in schemes:
        put(errors, path, derr("URL_TYPE_INVALID_SCHEME",
                               "Scheme \"%s\" is not supported. Scheme must be "
                               "one of %s." % (scheme, ", ".join(schemes))))


def validate_embed(errors, e, k):
    """Returns the embed's share of the 6000-character total."""
    p = ["embeds", k]
    if not isinstance(e, dict):
        put(errors, p, derr("MODEL_TYPE_CONVERT", "Only dictionaries may be "
                            "used in a ModelType"))
        return 0
    total = check_str(errors, p + ["title"], e.get("title"), 256)
    total += check_str(errors, p + ["description"], e.get("description"), 4096)
    check_url(errors, p + ["url"], e.get("url"))
    c = e.get("color")
    if c is not None and (not isinstance(c, int) or isinstance(c, bool)
                          or not 0 <= c <= 0xFFFFFF):
        put(errors, p + ["color"], derr("NUMBER_TYPE_MAX", "int value should be "
                                        "less than or equal to 16777215."))
    ts = e.get("timestamp")
    if ts is not None:
        try:
            datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        except ValueError:
            put(errors, p + ["timestamp"], derr("DATE_TIME_TYPE_PARSE",
                "Could not parse %s. Should be ISO8601." % ts))
    for sub in ("thumbnail", "image"):
        if e.get(sub) is not None:
            if not isinstance(e[sub], dict):
                put(errors, p + [sub], derr("MODEL_TYPE_CONVERT", "Only "
                    "dictionaries may be used in a ModelType"))
            else:
                check_url(errors, p + [sub, "url"], e[sub].get("url"),
                          ("http", "https", "attachment"))
    f = e.get("footer")
    if f is not None:
        if isinstance(f, dict):
            total += check_str(errors, p + ["footer", "text"], f.get("text"),
                               2048, required=True)
            check_url(errors, p + ["footer", "icon_url"], f.get("icon_url"),
                      ("http", "https", "attachment"))
    a = e.get("author")
    if a is not None and isinstance(a, dict):
        total += check_str(errors, p + ["author", "name"], a.get("name"), 256,
                           required=True)
        check_url(errors, p + ["author", "url"], a.get("url"))
        check_url(errors, p + ["author", "icon_url"], a.get("icon_url"),
                  ("http", "https", "attachment"))
    fields = e.get("fields")
    if fields is not None:
        if not isinstance(fields, list):
            put(errors, p + ["fields"], derr("LIST_TYPE_CONVERT",
                                             "Only iterables may be used in a ListType"))
        elif len(fields) > 25:
            put(errors, p + ["fields"], derr("BASE_TYPE_MAX_LENGTH",
                                             "Must be 25 or fewer in length."))
        else:
            for j, fl in enumerate(fields):
                if not isinstance(fl, dict):
                    put(errors, p + ["fields", j], derr("MODEL_TYPE_CONVERT",
                        "Only dictionaries may be used in a ModelType"))
                    continue
                total += check_str(errors, p + ["fields", j, "name"],
                                   fl.get("name"), 256, required=True)
                total += check_str(errors, p + ["fields", j, "value"],
                                   fl.get("value"), 1024, required=True)
    return total


def validate_discord(body):
    """None when Discord would accept body, else (code, error object)."""
    if not isinstance(body, dict):
        return 50035, {"code": 50035, "errors": derr(
            "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
            "message": "Invalid Form Body"}
    errors = {}
    content = body.get("content")
    check_str(errors, ["content"], content, 2000)
    u = body.get("username")
    if u is not None:
        if not isinstance(u, str) or not 1 <= slen(u) <= 80:
            put(errors, ["username"], derr("BASE_TYPE_BAD_LENGTH",
                                           "Must be between 1 and 80 in length."))
        else:
            for bad in ("clyde", "discord"):
                if bad in u.lower():
                    put(errors, ["username"], derr(
                        "USERNAME_INVALID_CONTAINS",
                        "Username cannot contain \"%s\"" % bad))
    check_url(errors, ["avatar_url"], body.get("avatar_url"))
    embeds = body.get("embeds")
    has_embeds = False
    if embeds is not None:
        if not isinstance(embeds, list):
            put(errors, ["embeds"], derr("LIST_TYPE_CONVERT",
                                         "Only iterables may be used in a ListType"))
        elif len(embeds) > 10:
            put(errors, ["embeds"], derr("BASE_TYPE_MAX_LENGTH",
                                         "Must be 10 or fewer in length."))
        else:
            has_embeds = len(embeds) > 0
            total = sum(validate_embed(errors, e, k) for k, e in enumerate(embeds))
            if total > 6000 and "embeds" not in errors:
                put(errors, ["embeds"], derr("MAX_EMBED_SIZE_EXCEEDED",
                                             "Embed size exceeds maximum size of 6000"))
    am = body.get("allowed_mentions")
    if am is not None:
        if not isinstance(am, dict):
            put(errors, ["allowed_mentions"], derr("MODEL_TYPE_CONVERT",
                "Only dictionaries may be used in a ModelType"))
        else:
            for k, v in enumerate(am.get("parse") or []):
                if v not in ("users", "roles", "everyone"):
                    put(errors, ["allowed_mentions", "parse", k],
                        derr("ENUM_TYPE_COERCE",
                             "Value \"%s\" is not a valid enum value." % v))
            for key in ("roles", "users"):
                if len(am.get(key) or []) > 100:
                    put(errors, ["allowed_mentions", key], derr(
                        "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."))
    if errors:
        return 50035, {"code": 50035, "errors": errors,
                       "message": "Invalid Form Body"}
    has_content = isinstance(content, str) and content.strip() != ""
    if not (has_content or has_embeds or body.get("components")
            or body.get("poll") or body.get("attachments")):
        return 50006, {"message": "Cannot send an empty message", "code": 50006}
    return None


class DiscordRole(Role):
    CTL_KEYS = ("global_429", "dead", "bad_token", "bucket_limit",
                "bucket_window", "clear_posts")

    @classmethod
    def add_options(cls, ap):
        g = ap.add_argument_group("role discord")
        g.add_argument("--bucket-limit", type=int, default=5)
        g.add_argument("--bucket-window", type=float, default=2.0)
        g.add_argument("--dead", default="", help="webhook ids answering 404")
        g.add_argument("--bad-token", default="",
                       help="webhook ids answering 401")

    def __init__(self, opts):
        super().__init__(opts)
        self.lock = threading.Lock()
        self.limit = opts.bucket_limit
        self.win = opts.bucket_window
        self.buckets = {}                 # id/token -> [reset_at, remaining]
        self.dead = set(x for x in opts.dead.split(",") if x)
        self.bad_token = set(x for x in opts.bad_token.split(",") if x)
        self.global_next = None           # seconds for the next request
        self.global_until = 0.0
        self.posts = Posts()
        self.invalid = 0                  # 401/403/429 (Cloudflare's count)
        self.seq = 0
        self.messages = {}                # message id -> [webhook id, body]
        self.edits = 0

    def route_class(self, req):
        return "webhook" if DISCORD_RE.match(req.bare_path) else "other"

    def bucket_key(self, req):
        m = DISCORD_RE.match(req.bare_path)
        return "hook:%s/%s" % m.group(1, 2) if m else "global"

    def is_early(self, req, now):
        m = DISCORD_RE.match(req.bare_path)
        with self.lock:
            if now < self.global_until:
                return True
            if not m:
                return False
            b = self.buckets.get("%s/%s" % m.group(1, 2))
            return bool(b and now < b[0] and b[1] <= 0)

    def rl_headers(self, key, now):
        b = self.buckets[key]
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, b[1])),
                "X-RateLimit-Reset": fmt3(b[0]),
                "X-RateLimit-Reset-After": fmt3(max(0.0, b[0] - now)),
                "X-RateLimit-Bucket": hashlib.sha1(key.encode()).hexdigest()[:32]}

    def handle(self, req):
        m = DISCORD_RE.match(req.bare_path)
        if not m:
            return json_reply(404, {"message": "404: Not Found", "code": 0})
        wid, token, mid = m.groups()
        key = "%s/%s" % (wid, token)
        now = time.time()
        with self.lock:
            # global limit first: it is not tied to any bucket
            if self.global_next is not None:
                self.global_until = now + self.global_next
                self.global_next = None
            if now < self.global_until:
                self.invalid += 1
                ra = self.global_until - now
                return json_reply(429, {"message": "You are being rate limited.",
                                        "retry_after": round(ra, 3), "global": True},
                                  {"Retry-After": str(max(1, math.ceil(ra))),
                                   "X-RateLimit-Global": "true",
                                   "X-RateLimit-Scope": "global"})
            b = self.buckets.get(key)
            if b is None or now >= b[0]:
                b = self.buckets[key] = [now + self.win, self.limit]
            if b[1] <= 0:
                self.invalid += 1
                ra = b[0] - now
                h = self.rl_headers(key, now)
                h.update({"Retry-After": str(max(1, math.ceil(ra))),
                          "X-RateLimit-Scope": "user"})
                return json_reply(429, {"message": "You are being rate limited.",
                                        "retry_after": round(ra, 3),
                                        "global": False}, h)
            b[1] -= 1
            h = self.rl_headers(key, now)
            if wid in self.dead:
                return json_reply(404, {"message": "Unknown Webhook",
                                        "code": 10015}, h)
            if wid in self.bad_token:
                self.invalid += 1
                return json_reply(401, {"message": "Invalid Webhook Token",
                                        "code": 50027}, h)
        if mid is not None:
            return self.message_route(req, wid, mid, h, now)
        if req.method == "GET":
            return json_reply(200, {"application_id": None, "avatar": None,
                                    "channel_id": "1100000000000000001",
                                    "guild_id": "1200000000000000001",
                                    "id": wid, "name": "Fake Webhook",
                                    "token": token, "type": 1}, h)
        if req.method != "POST":
            return json_reply(405, {"message": "405: Method Not Allowed",
                                    "code": 0}, h)
        return self.post(req, wid, h, now)

    def post(self, req, wid, h, now):
        raw = req.body.decode("utf-8", errors="replace")
        if raw.strip() == "":
            return json_reply(400, {"message": "Cannot send an empty message",
                                    "code": 50006}, h)
        try:
            body = json.loads(raw)
        except ValueError:
            return json_reply(400, {"message": "The request body contains "
                                    "invalid JSON.", "code": 50109}, h)
        bad = validate_discord(body)
        if bad is not None:
            return json_reply(400, bad[1], h)
        if req.query.get("wait", "").lower() in ("true", "1"):
            msg = self.message(wid, body, now)
            with self.lock:
                self.messages[msg["id"]] = [wid, body]
            self.posts.add(now, wid, body, mid=msg["id"])
            return json_reply(200, msg, h)
        self.posts.add(now, wid, body)
        return Reply(204, b"", h)

    def message_route(self, req, wid, mid, h, now):
        """GET or PATCH /webhooks/{id}/{token}/messages/{message_id}: a
        message this webhook sent with wait=true; PATCH replaces the keys
        it names and is checked as a new message is."""
        with self.lock:
            m = self.messages.get(mid)
        if m is None or m[0] != wid:
            return json_reply(404, {"message": "Unknown Message", "code": 10008}, h)
        if req.method == "GET":
            return json_reply(200, self.message(wid, m[1], now, mid), h)
        if req.method != "PATCH":
            return json_reply(405, {"message": "405: Method Not Allowed",
                                    "code": 0}, h)
        try:
            patch = json.loads(req.body.decode("utf-8", errors="replace"))
        except ValueError:
            return json_reply(400, {"message": "The request body contains "
                                    "invalid JSON.", "code": 50109}, h)
        if not isinstance(patch, dict):
            patch = None
        body = dict(m[1], **patch) if patch is not None else patch
        bad = validate_discord(body)
        if bad is not None:
            return json_reply(400, bad[1], h)
        with self.lock:
            m[1] = body
            self.edits += 1
        self.posts.add(now, wid, body, edit=mid)
        msg = self.message(wid, body, now, mid)
        msg["edited_timestamp"] = datetime.fromtimestamp(now, timezone.utc).isoformat()
        return json_reply(200, msg, h)

    def message(self, wid, body, now, mid=None):
        if mid is None:
            with self.lock:
                self.seq += 1
                mid = ((int(now * 1000) - DISCORD_EPOCH_MS) << 22) | (self.seq & 0xFFF)
        content = body.get("content") or ""
        return {"id": str(mid), "type": 0, "content": content,
                "channel_id": "1100000000000000001",
                "author": {"bot": True, "id": wid,
                           "username": body.get("username") or "Fake Webhook",
                           "avatar": None, "discriminator": "0000"},
                "attachments": [], "embeds": body.get("embeds") or [],
                "mentions": [], "mention_roles": [], "pinned": False,
                "mention_everyone": "@everyone" in content or "@here" in content,
                "tts": bool(body.get("tts")),
                "timestamp": datetime.fromtimestamp(now, timezone.utc).isoformat(),
                "edited_timestamp": None, "flags": 0, "components": [],
                "webhook_id": wid}

    def control(self, obj):
        with self.lock:
            if "global_429" in obj:
                self.global_next = float(obj["global_429"])
            if "dead" in obj:
                self.dead = set(str(x) for x in obj["dead"])
            if "bad_token" in obj:
                self.bad_token = set(str(x) for x in obj["bad_token"])
            if "bucket_limit" in obj:
                self.limit = int(obj["bucket_limit"])
                self.buckets = {}
            if "bucket_window" in obj:
                self.win = float(obj["bucket_window"])
                self.buckets = {}
        if obj.get("clear_posts"):
            self.posts.clear()
            self.edits = 0

    def clear_log(self):
        self.posts.clear()
        self.edits = 0

    def posts_ndjson(self):
        return self.posts.ndjson()

    def extra_stats(self):
        with self.lock:
            return {"posts": self.posts.count() - self.edits,
                    "invalid": self.invalid, "edits": self.edits}


# ====================================================================== Slack

SLACK_STATUS = {
    "invalid_payload": 400, "no_text": 400, "user_not_found": 400,
    "too_many_attachments": 400, "invalid_blocks": 400,
    "invalid_blocks_format": 400, "posting_to_general_channel_denied": 400,
    "action_prohibited": 403, "invalid_token": 403, "team_disabled": 403,
    "channel_not_found": 404, "no_service": 404, "no_service_id": 404,
    "no_team": 404, "channel_is_archived": 410, "no_active_hooks": 410,
    "rollup_error": 500,
}


def text_of(obj):
    t = obj.get("text") if isinstance(obj, dict) else None
    if isinstance(t, dict):
        t = t.get("text")
    return t if isinstance(t, str) else ""


def validate_slack(body):
    """None when Slack would accept body, else the error string."""
    if not isinstance(body, dict):
        return "invalid_payload"
    text = body.get("text")
    blocks = body.get("blocks")
    atts = body.get("attachments")
    if blocks is not None:
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        if len(blocks) > 50:
            return "invalid_blocks"
        for b in blocks:
            if not isinstance(b, dict) or not isinstance(b.get("type"), str):
                return "invalid_blocks_format"
            if "block_id" in b and len(str(b["block_id"])) > 255:
                return "invalid_blocks"
            if b["type"] == "section":
                if len(text_of(b)) > 3000:
                    return "invalid_blocks"
                fields = b.get("fields") or []
                if len(fields) > 10 or any(len(text_of({"text": f})) > 2000
                                           for f in fields):
                    return "invalid_blocks"
                if "text" not in b and not fields:
                    return "invalid_blocks"
            elif b["type"] == "header":
                if not 0 < len(text_of(b)) <= 150:
                    return "invalid_blocks"
            elif b["type"] == "context":
                if len(b.get("elements") or []) > 10:
                    return "invalid_blocks"
    if atts is not None:
        if not isinstance(atts, list):
            return "invalid_payload"
        if len(atts) > 100:
            return "too_many_attachments"
    if not ((isinstance(text, str) and text.strip()) or blocks or atts):
        return "no_text"
    return None


class SlackRole(Role):
    CTL_KEYS = ("errors", "clear_errors", "burst", "interval", "clear_posts")

    @classmethod
    def add_options(cls, ap):
        g = ap.add_argument_group("role slack")
        g.add_argument("--burst", type=int, default=3)
        g.add_argument("--interval", type=float, default=1.0)

    def __init__(self, opts):
        super().__init__(opts)
        self.lock = threading.Lock()
        self.burst = opts.burst
        self.interval = opts.interval
        self.buckets = {}            # T/B/X -> [tokens, last refill time]
        self.errors = {}             # key -> error string
        self.posts = Posts()

    def route_class(self, req):
        return "webhook" if SLACK_RE.match(req.bare_path) else "other"

    def bucket_key(self, req):
        m = SLACK_RE.match(req.bare_path)
        return "hook:%s/%s/%s" % m.groups() if m else "global"

    def injected(self, t, b, x):
        for k in (x, "%s/%s/%s" % (t, b, x), "/services/%s/%s/%s" % (t, b, x)):
            if k in self.errors:
                return self.errors[k]
        return None

    def take_token(self, key, now):
        """Token bucket: --burst tokens, one more every --interval s."""
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [float(self.burst), now]
        b[0] = min(float(self.burst), b[0] + (now - b[1]) / self.interval)
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return None
        return (1.0 - b[0]) * self.interval

    def handle(self, req):
        m = SLACK_RE.match(req.bare_path)
        if not m:
            return text_reply(404, "no_service")
        t, b, x = m.groups()
        key = "%s/%s/%s" % (t, b, x)
        now = time.time()
        with self.lock:
            err = self.injected(t, b, x)
            if err is not None:
                return text_reply(SLACK_STATUS.get(err, 400), err)
            if req.method != "POST":
                return text_reply(405, "invalid_method")
            wait = self.take_token(key, now)
        if wait is not None:
            ra = max(1, math.ceil(wait))
            return json_reply(429, {"ok": False, "error": "rate_limited",
                                    "retry_after": ra}, {"Retry-After": str(ra)})
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = req.body.decode("utf-8", errors="replace")
        try:
            if ctype == "application/json":
                body = json.loads(raw)
            elif ctype == "application/x-www-form-urlencoded":
                body = json.loads(parse_qs(raw).get("payload", [""])[0])
            else:
                return text_reply(400, "invalid_payload")
        except ValueError:
            return text_reply(400, "invalid_payload")
        err = validate_slack(body)
        if err is not None:
            return text_reply(SLACK_STATUS[err], err)
        self.posts.add(now, key, body)
        return text_reply(200, "ok")

    def control(self, obj):
        with self.lock:
            if "errors" in obj:
                e = obj["errors"]
                if not isinstance(e, dict):
                    raise BadCtl("errors wants an object {webhook: error}")
                for k, v in e.items():
                    if v is None:
                        self.errors.pop(k, None)
                    else:
                        self.errors[k] = str(v)
            if obj.get("clear_errors"):
                self.errors = {}
            if "burst" in obj:
                self.burst = int(obj["burst"])
                self.buckets = {}
            if "interval" in obj:
                self.interval = float(obj["interval"])
                self.buckets = {}
        if obj.get("clear_posts"):
            self.posts.clear()

    def clear_log(self):
        self.posts.clear()

    def posts_ndjson(self):
        return self.posts.ndjson()

    def extra_stats(self):
        return {"posts": self.posts.count()}
