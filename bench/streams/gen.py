#!/usr/bin/env python3
"""gen.py: write N realistic stream files built from the entities of a mail set.

    gen.py --mails MAILS.ndjson --count N --out DIR [--seed S] [--jq K]

MAILS are mail lines (tests/gen/mails.py or esi-resolve).  The mix follows what
InsightCore served: killboards of the alliances and corporations seen in the
mails (the busy ones more often), losses-only and kills-only boards, region
and system watches, value streams, ship-group radars with a `near` test
(pending until filter2), wormhole/Pochven streams, big-fight streams, a few
combinators and negations, a few disabled streams, and K jq streams (default
1 per 1000, at least 1).  Deterministic for a given seed and mail set.
Every stream has a "$NAME" target, so the files hold no secrets.
"""
import argparse
import collections
import json
import os
import random

CAPITALS = ["Titan", "Supercarrier", "Carrier", "Dreadnought", "Force Auxiliary"]


def harvest(path, limit=20000):
    c = collections.defaultdict(collections.Counter)
    names = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if n >= limit:
                break
            m = json.loads(line)
            parties = [m.get("victim") or {}] + (m.get("attackers") or [])
            for p in parties:
                for k in ("alliance", "corporation", "character"):
                    e = p.get(k)
                    if e:
                        c[k][e["id"]] += 1
                        if e.get("name"):
                            names[(k, e["id"])] = e["name"]
                ship = p.get("ship") or {}
                if ship.get("group"):
                    c["ship_group"][ship["group"]["id"]] += 1
                    names[("ship_group", ship["group"]["id"])] = ship["group"]["name"]
                if ship.get("id"):
                    c["ship"][ship["id"]] += 1
                    names[("ship", ship["id"])] = ship.get("name")
            s = m.get("system") or {}
            for k, e in (("system", s), ("constellation", s.get("constellation")),
                         ("region", s.get("region"))):
                if e and e.get("id"):
                    c[k][e["id"]] += 1
                    if e.get("name"):
                        names[(k, e["id"])] = e["name"]
    return c, names


class Gen:
    def __init__(self, counts, names, rnd):
        self.c, self.names, self.r = counts, names, rnd
        self.pool = {k: list(v.items()) for k, v in counts.items()}

    def pick(self, kind, k=1):
        """k distinct entities of a kind, the frequent ones more likely."""
        pool = self.pool.get(kind) or []
        if not pool:
            return []
        ids = [i for i, _ in pool]
        weights = [w ** 0.5 for _, w in pool]
        out = []
        for _ in range(k * 3):
            i = self.r.choices(ids, weights)[0]
            if i not in out:
                out.append(i)
            if len(out) == k:
                break
        return out

    def ref(self, kind, i):
        """An id, or sometimes its name in another case (names are case-blind)."""
        n = self.names.get((kind, i))
        if n and self.r.random() < 0.3:
            return n.upper() if self.r.random() < 0.3 else n
        return i

    def ents(self, kind, k):
        return [self.ref(kind, i) for i in self.pick(kind, k)]

    def killboard(self):
        kind = self.r.choice(["alliance", "alliance", "corporation"])
        ents = self.ents(kind, self.r.choice([1, 1, 1, 2, 3]))
        side = self.r.choice(["involved", "involved", "victim", "attacker"])
        m = {side: {kind: ents}}
        if self.r.random() < 0.3:
            m["npc"] = False
        if self.r.random() < 0.2:
            m["not"] = {"victim": {"ship_group": ["Capsule"]}}
        return "killboard", m

    def region(self):
        m = {"region": self.ents("region", self.r.choice([1, 1, 2]))}
        if self.r.random() < 0.5:
            m["value"] = {"min": self.r.choice([1e8, 5e8, 1e9])}
        return "region", m

    def value(self):
        m = {"value": {"min": self.r.choice([1e9, 5e9, 1e10, 2e10])}}
        if self.r.random() < 0.3:
            m["space"] = [self.r.choice(["highsec", "lowsec", "nullsec", "wormhole"])]
        return "value", m

    def radar(self):
        groups = self.r.sample(CAPITALS, self.r.choice([1, 2, 5]))
        m = {"attacker": {"ship_group": groups}}
        ref = self.pick("system")
        if ref and self.r.random() < 0.7:
            m["near"] = [{"system": self.ref("system", ref[0]),
                          self.r.choice(["jumps", "lightyears"]): self.r.choice([3, 5, 7, 10])}]
        return "radar", m

    def watch(self):
        kind = self.r.choice(["system", "system", "constellation"])
        m = {kind: self.ents(kind, self.r.choice([1, 2, 4]))}
        if self.r.random() < 0.3:
            m["victim"] = {"ship_category": ["Ship"]}
        return "watch", m

    def space(self):
        m = {"space": [self.r.choice(["wormhole", "pochven", "abyssal"])]}
        if self.r.random() < 0.5:
            m["victim"] = {"ship_group": self.ents("ship_group", 2)}
        return "space", m

    def fight(self):
        n = self.r.choice([50, 100, 200])
        m = {"attacker_count": {"min": n}}
        if self.r.random() < 0.5:
            m["any"] = [{"victim": {"ship_group": ["Titan", "Supercarrier", "Fortizar", "Keepstar"]}},
                        {"value": {"min": 1e10}}]
        return "fight", m

    def fleet(self):
        al = self.ents("alliance", 1)
        m = {"attacker": {"alliance": al, "count": {"min": self.r.choice([5, 10])}}}
        if self.r.random() < 0.5:
            m = {"attacker": {"alliance": al, "share": {"min": 0.5}}}
        return "fleet", m

    def jq(self):
        m = {"region": self.ents("region", 1),
             "jq": "[.mail.attackers[] | select(.final_blow)] | length == 1"}
        return "jq", m

    def stream(self, n, jq):
        kinds = [(self.killboard, 40), (self.region, 12), (self.value, 6), (self.radar, 14),
                 (self.watch, 12), (self.space, 5), (self.fight, 4), (self.fleet, 7)]
        fn = self.jq if jq else self.r.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        kind, m = fn()
        s = {"name": "%s %d" % (kind, n), "match": m,
             "targets": [{"discord": "$FEED_%d" % (n % 97)}]}
        if self.r.random() < 0.02:
            s["enabled"] = False
        if self.r.random() < 0.1:
            s["mentions"] = [{"when": {"value": {"min": 5e9}}, "content": "@here", "cooldown": "15m"}]
        return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mails", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jq", type=int)
    a = ap.parse_args()
    counts, names = harvest(a.mails)
    g = Gen(counts, names, random.Random(a.seed))
    njq = a.jq if a.jq is not None else max(1, a.count // 1000)
    os.makedirs(a.out, exist_ok=True)
    for n in range(a.count):
        s = g.stream(n, n < njq)
        path = os.path.join(a.out, "s%05d.json" % n)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(s, f, ensure_ascii=False)
            f.write("\n")
        os.chmod(path, 0o640)


if __name__ == "__main__":
    main()
