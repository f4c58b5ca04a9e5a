"""Role esi: CCP's ESI, the routes InsightCore uses, built from the data-set
files (systems, jumps, constellations, regions, types, groups, categories,
names, killmails)."""

import hashlib
import json
import math
import os
import re
import threading
import time
from collections import deque
from datetime import datetime, timezone
from email.utils import formatdate

from common import (Reply, Role, esi_body, json_bytes, json_reply,
                    mail_hash, parse_id_list, read_killmails, read_tsv)

ERROR_420 = ("This software has exceeded the error limit for ESI. If you are a "
             "user, please contact the maintainer of this software. If you are "
             "a developer/maintainer, please make a greater effort in the "
             "future to receive valid responses. For tips on how, come have a "
             "chat with us in #3rd-party-dev-and-esi on the EVE Online Discord. "
             "https://www.eveonline.com/discord")
NAMES_404 = "Ensure all IDs are valid before resolving."
VERSION_RE = re.compile(r"^/(?:latest|dev|legacy|v\d+)(?=/)")
NAME_CATEGORIES = ("alliance", "character", "constellation", "corporation",
                   "inventory_type", "region", "solar_system", "station",
                   "faction")


def num(s):
    """A data-set number: int when it is one, else float."""
    try:
        return int(s)
    except ValueError:
        return float(s)


def h32(*parts):
    """Small deterministic hash (stable across runs, unlike hash())."""
    d = hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(d[:4], "big")


def ticker(name, eid):
    words = re.findall(r"[A-Za-z0-9]+", name)
    t = "".join(w[0] for w in words).upper()
    if len(t) < 3:
        t = "".join(words).upper()[:4] or "X"
    t = t[:5]
    if len(t) < 3:
        t += "%02d" % (eid % 100)
    return t


def fallback_category(i):
    """The category ESI would give an id we have no name for, by range."""
    if 500000 <= i <= 599999:
        return "faction"
    if 1000000 <= i <= 1999999 or 98000000 <= i <= 98999999:
        return "corporation"
    if 99000000 <= i <= 99999999:
        return "alliance"
    if 60000000 <= i <= 63999999:
        return "station"
    if 3000000 <= i <= 3999999 or 90000000 <= i <= 97999999 or \
            100000000 <= i <= 2129999999:
        return "character"
    return None


FALLBACK_NAME = {"faction": "Faction %d", "corporation": "Corporation %d",
                 "alliance": "Alliance %d", "station": "Station %d",
                 "character": "Pilot %d"}


class EsiRole(Role):
    CTL_KEYS = ("bad_ids", "rate", "error_limit", "error_window",
                "reset_errors", "static_ttl", "km_tokens")

    @classmethod
    def add_options(cls, ap):
        g = ap.add_argument_group("role esi (also --rate, see role zkb)")
        g.add_argument("--static-ttl", type=int, default=86400)
        g.add_argument("--entity-ttl", type=int, default=3600)
        g.add_argument("--error-limit", type=int, default=100)
        g.add_argument("--error-window", type=float, default=60)
        g.add_argument("--bad-ids", default="")
        g.add_argument("--km-tokens", type=int, default=3600)
        g.add_argument("--km-window", type=float, default=900)

    def __init__(self, opts):
        super().__init__(opts)
        if not opts.data:
            raise ValueError("role esi needs --data DIR")
        self.lock = threading.Lock()
        self.t0 = time.time()
        self.static_ttl = opts.static_ttl
        self.error_limit = opts.error_limit
        self.error_window = opts.error_window
        self.win_start = self.t0
        self.errors = 0
        self.rate = opts.rate
        self.windows = {}
        self.km_tokens = opts.km_tokens
        self.km_spent = deque()           # (time, cost)
        self.bad = set(parse_id_list(opts.bad_ids))
        self.load(opts.data)

    # ------------------------------------------------------------ loading
    def load(self, d):
        p = lambda n: os.path.join(d, n)   # noqa: E731
        self.regions = {int(r[0]): {"name": r[1], "constellations": []}
                        for r in read_tsv(p("regions.tsv"))}
        self.consts = {}
        for r in read_tsv(p("constellations.tsv")):
            cid, rid = int(r[0]), int(r[2])
            self.consts[cid] = {"name": r[1], "region_id": rid, "systems": []}
            if rid in self.regions:
                self.regions[rid]["constellations"].append(cid)
        self.systems = {}
        for r in read_tsv(p("systems.tsv")):
            sid, cid = int(r[0]), int(r[2])
            self.systems[sid] = {"name": r[1], "constellation_id": cid,
                                 "region_id": int(r[3]),
                                 "security_status": float(r[4]),
                                 "position": {"x": float(r[5]), "y": float(r[6]),
                                              "z": float(r[7])},
                                 "stargates": []}
            if cid in self.consts:
                self.consts[cid]["systems"].append(sid)
        # stargate k (1-based row of jumps.tsv, a->b) sits in a; its
        # destination is the gate of the row b->a
        self.gates = {}
        pair = {}
        for k, r in enumerate(read_tsv(p("jumps.tsv")), 1):
            a, b = int(r[0]), int(r[1])
            gid = 50000000 + k
            self.gates[gid] = (a, b)
            pair[(a, b)] = gid
            if a in self.systems:
                self.systems[a]["stargates"].append(gid)
        self.gate_dest = {gid: pair.get((b, a)) for gid, (a, b) in self.gates.items()}
        self.categories = {int(r[0]): {"name": r[1], "groups": []}
                           for r in read_tsv(p("categories.tsv"))}
        self.groups = {}
        for r in read_tsv(p("groups.tsv")):
            gid, cat = int(r[0]), int(r[2])
            self.groups[gid] = {"name": r[1], "category_id": cat, "types": []}
            if cat in self.categories:
                self.categories[cat]["groups"].append(gid)
        self.types = {}
        for r in read_tsv(p("types.tsv")):
            tid, gid = int(r[0]), int(r[2])
            self.types[tid] = (r[1], gid)
            g = self.groups.get(gid)
            if g is not None:
                g["types"].append(tid)
        self.names = {}
        if os.path.exists(p("names.tsv")):
            for r in read_tsv(p("names.tsv")):
                self.names[int(r[0])] = (r[2], r[1])
        self.killmails = {}
        self.corp_alliance = {}
        self.corp_members = {}
        self.char_aff = {}
        self.seen = {}          # id -> category of the killmail field it was in
        if os.path.exists(p("killmails.ndjson")):
            for m in read_killmails(d):
                self.killmails[m["killmail_id"]] = m
                for party in [m.get("victim", {})] + m.get("attackers", []):
                    self.note_affiliation(party)

    def note_affiliation(self, party):
        for key, cat in (("character_id", "character"),
                         ("corporation_id", "corporation"),
                         ("alliance_id", "alliance"), ("faction_id", "faction")):
            if key in party:
                self.seen[party[key]] = cat
        corp = party.get("corporation_id")
        ch = party.get("character_id")
        if corp:
            if party.get("alliance_id"):
                self.corp_alliance[corp] = party["alliance_id"]
            if ch:
                self.corp_members.setdefault(corp, set()).add(ch)
        if ch:
            self.char_aff[ch] = (corp, party.get("alliance_id"),
                                 party.get("faction_id"))

    # ------------------------------------------------------------ names
    def resolve(self, i):
        """(name, category) or None."""
        if i in self.bad:
            return None
        if i in self.names:
            return self.names[i]
        if i in self.systems:
            return self.systems[i]["name"], "solar_system"
        if i in self.consts:
            return self.consts[i]["name"], "constellation"
        if i in self.regions:
            return self.regions[i]["name"], "region"
        if i in self.types:
            return self.types[i][0], "inventory_type"
        # an id seen on a killmail has the category of its field there (old
        # alliances and corporations live in the 100M..2.1e9 character range)
        cat = self.seen.get(i) or fallback_category(i)
        if cat is None:
            return None
        if cat == "corporation" and i < 2000000:
            return "NPC Corporation %d" % i, cat
        if cat == "character" and i < 4000000:
            return "NPC Pilot %d" % i, cat
        return FALLBACK_NAME[cat] % i, cat

    def entity(self, i, want):
        r = self.resolve(i)
        if r is None or r[1] != want:
            return None
        return r[0]

    # ------------------------------------------------------------ role API
    def route_class(self, req):
        parts = self.split(req)
        if not parts:
            return "other"
        if parts[0] == "universe" and len(parts) >= 2:
            return parts[1]
        return parts[0]

    @staticmethod
    def split(req):
        p = VERSION_RE.sub("", req.bare_path)
        return [x for x in p.split("/") if x]

    def window(self, now):
        """Roll the fixed error window; returns seconds until it resets."""
        w = self.error_window
        if now >= self.win_start + w:
            n = math.floor((now - self.win_start) / w)
            self.win_start += n * w
            self.errors = 0
        return self.win_start + w - now

    def limited(self, now):
        with self.lock:
            self.window(now)
            return self.errors >= self.error_limit

    def is_early(self, req, now):
        return self.limited(now)

    def count(self, status, headers, now):
        with self.lock:
            left = self.window(now)
            if status >= 400 and status not in (420, 429):
                self.errors += 1
            headers["X-ESI-Error-Limit-Remain"] = str(max(0, self.error_limit
                                                          - self.errors))
            headers["X-ESI-Error-Limit-Reset"] = str(max(0, math.ceil(left)))

    def decorate_fault(self, req, reply):
        self.count(reply.status, reply.headers, time.time())

    def over_rate(self, req):
        if not self.rate:
            return None
        sec = int(req.t)
        with self.lock:
            self.windows = {k: v for k, v in self.windows.items() if k >= sec}
            self.windows[sec] = self.windows.get(sec, 0) + 1
            if self.windows[sec] > self.rate:
                return max(1, math.ceil(sec + 1 - req.t))
        return None

    def handle(self, req):
        now = time.time()
        if self.limited(now):
            r = json_reply(420, {"error": ERROR_420})
        else:
            ra = self.over_rate(req)
            if ra is not None:
                r = json_reply(429, {"error": "Too many requests"},
                               {"Retry-After": str(ra)})
            else:
                r = self.route(req, now)
        self.count(r.status, r.headers, time.time())
        return r

    def route(self, req, now):
        parts = self.split(req)
        m = req.method
        if m == "POST" and parts == ["universe", "names"]:
            return self.post_names(req)
        if m == "POST" and parts == ["universe", "ids"]:
            return self.post_ids(req)
        if m not in ("GET", "HEAD"):
            return json_reply(405 if parts else 404,
                              {"error": "Method not allowed"})
        if parts == ["status"]:
            return json_reply(200, {"players": 23456, "server_version": "3000000",
                                    "start_time": "2026-07-04T11:05:00Z"})
        if len(parts) == 3 and parts[0] == "killmails":
            return self.killmail(req, parts[1], parts[2], now)
        if len(parts) == 2 and parts[0] in ("corporations", "alliances",
                                            "characters"):
            return self.owner(req, parts[0], parts[1], now)
        if len(parts) == 3 and parts[0] == "universe":
            return self.universe(req, parts[1], parts[2], now)
        if len(parts) == 2 and parts[0] == "universe":
            return self.universe_list(req, parts[1], now)
        return json_reply(404, {"error": "Not found"})

    # ------------------------------------------------------------ caching
    def cached(self, req, status_body, ttl, now):
        body = json_bytes(status_body)
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:32]
        h = {"Content-Type": "application/json; charset=utf-8",
             "Cache-Control": "public, max-age=%d" % ttl,
             "Expires": formatdate(now + ttl, usegmt=True),
             "Last-Modified": formatdate(self.t0, usegmt=True),
             "ETag": etag}
        if req.headers.get("if-none-match") in (etag, "W/" + etag):
            return Reply(304, b"", h)
        return Reply(200, body, h)

    # ------------------------------------------------------------ routes
    def killmail(self, req, sid, hsh, now):
        try:
            kid = int(sid)
        except ValueError:
            return json_reply(400, {"error": "Invalid killmail_id"})
        r = self.km_bucket_check(now)
        if r is not None:
            return r
        m = self.killmails.get(kid)
        if m is None:
            rep = json_reply(404, {"error": "Killmail not found"})
        elif hsh.lower() != mail_hash(m).lower():
            rep = json_reply(422, {"error": "Invalid killmail_id and/or killmail_hash"})
        else:
            rep = self.cached(req, esi_body(m), 2592000, now)
        self.km_bucket_spend(rep, now)
        return rep

    def km_used(self, now):
        w = self.opts.km_window
        while self.km_spent and self.km_spent[0][0] <= now - w:
            self.km_spent.popleft()
        return sum(c for _, c in self.km_spent)

    def km_headers(self, h, used):
        w = self.opts.km_window
        unit = ("%dh" % (w // 3600)) if w % 3600 == 0 else \
            ("%dm" % (w // 60)) if w % 60 == 0 else "%ds" % w
        h["X-Ratelimit-Group"] = "killmail"
        h["X-Ratelimit-Limit"] = "%d/%s" % (self.km_tokens, unit)
        h["X-Ratelimit-Remaining"] = str(max(0, self.km_tokens - used))
        h["X-Ratelimit-Used"] = str(used)

    def km_bucket_check(self, now):
        with self.lock:
            used = self.km_used(now)
            if used < self.km_tokens:
                return None
            wait = self.km_spent[0][0] + self.opts.km_window - now
        r = json_reply(429, {"error": "Too many requests"},
                       {"Retry-After": str(max(1, math.ceil(wait)))})
        self.km_headers(r.headers, used)
        return r

    def km_bucket_spend(self, rep, now):
        s = rep.status
        cost = 2 if s < 300 else 1 if s < 400 else 5 if s < 500 else 0
        with self.lock:
            if cost:
                self.km_spent.append((now, cost))
            used = self.km_used(now)
        self.km_headers(rep.headers, used)

    def post_names(self, req):
        try:
            ids = json.loads(req.body.decode("utf-8"))
        except ValueError:
            return json_reply(400, {"error": "Invalid body: not JSON"})
        if not isinstance(ids, list) or not ids or len(ids) > 1000 or \
                not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
            return json_reply(400, {"error": "Body must be an array of 1 to 1000 "
                                             "integer IDs"})
        if len(set(ids)) != len(ids):
            return json_reply(400, {"error": "IDs must be unique"})
        out = []
        for i in ids:
            r = self.resolve(i)
            if r is None:
                return json_reply(404, {"error": NAMES_404})
            out.append({"category": r[1], "id": i, "name": r[0]})
        return json_reply(200, out)

    def post_ids(self, req):
        """POST /universe/ids: names (exact, case-insensitive) to ids, by
        category; names that match nothing are left out, as ESI does."""
        try:
            names = json.loads(req.body.decode("utf-8"))
        except ValueError:
            return json_reply(400, {"error": "Invalid body: not JSON"})
        if not isinstance(names, list) or not names or len(names) > 500 or \
                not all(isinstance(x, str) for x in names):
            return json_reply(400, {"error": "Body must be an array of 1 to 500 names"})
        if not hasattr(self, "by_name"):
            idx = {}
            tables = (("systems", self.systems), ("constellations", self.consts),
                      ("regions", self.regions))
            for key, table in tables:
                for i, v in table.items():
                    idx.setdefault(v["name"].lower(), []).append((key, i, v["name"]))
            for i, (name, _) in self.types.items():
                idx.setdefault(name.lower(), []).append(("inventory_types", i, name))
            plural = {"character": "characters", "corporation": "corporations",
                      "alliance": "alliances", "faction": "factions"}
            for i, (name, cat) in self.names.items():
                if cat in plural:
                    idx.setdefault(name.lower(), []).append((plural[cat], i, name))
            self.by_name = idx
        out = {}
        for n in names:
            for key, i, name in self.by_name.get(n.lower(), []):
                out.setdefault(key, []).append({"id": i, "name": name})
        return json_reply(200, out)

    def universe(self, req, kind, sid, now):
        try:
            i = int(sid)
        except ValueError:
            return json_reply(400, {"error": "Invalid ID"})
        body = None
        if kind == "types" and i in self.types and i not in self.bad:
            name, gid = self.types[i]
            body = {"description": "Synthetic description of %s." % name,
                    "group_id": gid, "name": name, "published": True,
                    "type_id": i}
        elif kind == "groups" and i in self.groups:
            g = self.groups[i]
            body = {"category_id": g["category_id"], "group_id": i,
                    "name": g["name"], "published": True,
                    "types": sorted(g["types"])}
        elif kind == "categories" and i in self.categories:
            c = self.categories[i]
            body = {"category_id": i, "groups": sorted(c["groups"]),
                    "name": c["name"], "published": True}
        elif kind == "systems" and i in self.systems:
            body = self.system_body(i)
        elif kind == "constellations" and i in self.consts:
            c = self.consts[i]
            pos = [self.systems[s]["position"] for s in c["systems"]] or \
                [{"x": 0.0, "y": 0.0, "z": 0.0}]
            body = {"constellation_id": i, "name": c["name"],
                    "position": {a: sum(p[a] for p in pos) / len(pos)
                                 for a in ("x", "y", "z")},
                    "region_id": c["region_id"], "systems": sorted(c["systems"])}
        elif kind == "regions" and i in self.regions:
            r = self.regions[i]
            body = {"constellations": sorted(r["constellations"]),
                    "description": "Synthetic region %s." % r["name"],
                    "name": r["name"], "region_id": i}
        elif kind == "stargates" and i in self.gates:
            body = self.gate_body(i)
        elif kind not in ("types", "groups", "categories", "systems",
                          "constellations", "regions", "stargates"):
            return json_reply(404, {"error": "Not found"})
        if body is None:
            return json_reply(404, {"error": "%s not found" % kind[:-1].capitalize()
                                    if kind != "categories" else "Category not found"})
        return self.cached(req, body, self.static_ttl, now)

    # ESI lists every id of a kind; types and groups in pages of 1000 with
    # X-Pages, a page past the last is 404.
    PAGED = ("types", "groups")

    def universe_list(self, req, kind, now):
        tables = {"systems": self.systems, "constellations": self.consts,
                  "regions": self.regions, "categories": self.categories,
                  "types": self.types, "groups": self.groups}
        if kind not in tables:
            return json_reply(404, {"error": "Not found"})
        ids = sorted(tables[kind])
        if kind not in self.PAGED:
            return self.cached(req, ids, self.static_ttl, now)
        try:
            page = int(req.query.get("page", "1"))
        except ValueError:
            return json_reply(400, {"error": "Invalid page"})
        pages = max(1, math.ceil(len(ids) / 1000))
        if page < 1 or page > pages:
            return json_reply(404, {"error": "Requested page does not exist!"})
        r = self.cached(req, ids[(page - 1) * 1000:page * 1000], self.static_ttl, now)
        r.headers["X-Pages"] = str(pages)
        return r

    def system_body(self, i):
        s = self.systems[i]
        b = {"constellation_id": s["constellation_id"], "name": s["name"],
             "position": s["position"],
             "security_status": s["security_status"]}
        if i < 32000000:
            b["star_id"] = 40000000 + h32("star", i) % 9000000
        if s["stargates"]:
            b["stargates"] = list(s["stargates"])
        b["system_id"] = i
        return b

    def gate_body(self, gid):
        a, b = self.gates[gid]
        sa, sb = self.systems.get(a), self.systems.get(b)
        if sa and sb and sa["constellation_id"] == sb["constellation_id"]:
            tid = 16
        elif sa and sb and sa["region_id"] == sb["region_id"]:
            tid = 29627
        else:
            tid = 29629
        hv = h32("gate", gid)
        pos = {"x": float((hv % 2000001) - 1000000) * 1e6,
               "y": float((hv // 7 % 200001) - 100000) * 1e6,
               "z": float((hv // 13 % 2000001) - 1000000) * 1e6}
        return {"destination": {"stargate_id": self.gate_dest.get(gid),
                                "system_id": b},
                "name": "Stargate (%s)" % (sb["name"] if sb else b),
                "position": pos, "stargate_id": gid, "system_id": a,
                "type_id": tid}

    def owner(self, req, kind, sid, now):
        try:
            i = int(sid)
        except ValueError:
            return json_reply(400, {"error": "Invalid ID"})
        want = {"corporations": "corporation", "alliances": "alliance",
                "characters": "character"}[kind]
        name = self.entity(i, want)
        if name is None:
            return json_reply(404, {"error": "%s not found" % want.capitalize()})
        hv = h32(kind, i)
        founded = datetime.fromtimestamp(1104537600 + hv % 600000000,
                                         timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if kind == "corporations":
            members = sorted(self.corp_members.get(i, ()))
            b = {}
            if i in self.corp_alliance:
                b["alliance_id"] = self.corp_alliance[i]
            ceo = members[0] if members else 3000000 + i % 1000
            b.update({"ceo_id": ceo, "creator_id": ceo, "date_founded": founded,
                      "member_count": max(1, len(members)), "name": name,
                      "tax_rate": 0.1, "ticker": ticker(name, i)})
        elif kind == "alliances":
            corps = sorted(c for c, a in self.corp_alliance.items() if a == i)
            corp = corps[0] if corps else 98000000 + i % 1000000
            members = sorted(self.corp_members.get(corp, ()))
            b = {"creator_corporation_id": corp,
                 "creator_id": members[0] if members else 90000000 + i % 1000000,
                 "date_founded": founded, "executor_corporation_id": corp,
                 "name": name, "ticker": ticker(name, i)}
        else:
            corp, al, fac = self.char_aff.get(i, (1000044, None, None))
            b = {}
            if al:
                b["alliance_id"] = al
            b.update({"birthday": founded, "bloodline_id": 1 + hv % 8,
                      "corporation_id": corp or 1000044})
            if fac:
                b["faction_id"] = fac
            b.update({"gender": "female" if hv % 2 else "male", "name": name,
                      "race_id": (1, 2, 4, 8)[hv % 4],
                      "security_status": round((hv % 150) / 10.0 - 10, 1)})
        return self.cached(req, b, self.opts.entity_ttl, now)

    # ------------------------------------------------------------ control
    def control(self, obj):
        with self.lock:
            if "bad_ids" in obj:
                self.bad = set(int(x) for x in obj["bad_ids"])
            if "rate" in obj:
                self.rate = float(obj["rate"] or 0)
            if "error_limit" in obj:
                self.error_limit = int(obj["error_limit"])
            if "error_window" in obj:
                self.error_window = float(obj["error_window"])
            if obj.get("reset_errors"):
                self.win_start = time.time()
                self.errors = 0
            if "static_ttl" in obj:
                self.static_ttl = int(obj["static_ttl"])
            if "km_tokens" in obj:
                self.km_tokens = int(obj["km_tokens"])

    def extra_stats(self):
        now = time.time()
        with self.lock:
            left = self.window(now)
            return {"error_remain": max(0, self.error_limit - self.errors),
                    "error_reset": max(0, math.ceil(left)),
                    "km_used": self.km_used(now),
                    "killmails": len(self.killmails), "types": len(self.types),
                    "systems": len(self.systems), "stargates": len(self.gates)}
