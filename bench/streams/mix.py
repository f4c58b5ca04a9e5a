#!/usr/bin/env python3
"""mix.py: write N stream files mixed like real feeds, all of them indexed.

    mix.py --mails MAILS.ndjson --count N --out DIR [--seed S]

The mix of issue 18, which gen.py's selective streams do not show: 70 % are
entity streams (`involved` alliances, corporations or characters), a third
of those also asking `npc`, a fifth a minimum value or a victim ship
category; the rest are value streams (with a space or `solo`), region
watches (with a value or `npc`) and attacker conditions (ship groups,
alliances with a count).  Every stream has a guard the index can use (no jq,
no stream of flags alone): stream-fanout reports unindexed=0.  Most pairs
the entity keys let through are then decided by the condition beside them,
which is what makes candidates and matches differ.  Deterministic for a
given seed and mail set; "$FEED_k" targets, no secrets.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import harvest, Gen, CAPITALS  # noqa: E402


class Mix(Gen):
    def entity(self):
        kind = self.r.choices(["alliance", "corporation", "character"], [4, 4, 2])[0]
        m = {"involved": {kind: self.ents(kind, self.r.choice([1, 1, 2, 3]))}}
        x = self.r.random()
        if x < 0.4:
            m["npc"] = True
        elif x < 0.6:
            m["value"] = {"min": self.r.choice([1e9, 5e9, 2e10])}
        elif x < 0.75:
            m["victim"] = {"ship_category": ["Structure"]}
        elif x < 0.9:
            m["solo"] = True
        return "entity", m

    def value(self):
        m = {"value": {"min": self.r.choice([1e8, 5e8, 1e9, 1e10])}}
        if self.r.random() < 0.4:
            m["space"] = [self.r.choice(["highsec", "lowsec", "nullsec", "wormhole"])]
        elif self.r.random() < 0.3:
            m["solo"] = True
        return "value", m

    def region(self):
        m = {"region": self.ents("region", self.r.choice([1, 1, 2]))}
        x = self.r.random()
        if x < 0.4:
            m["value"] = {"min": self.r.choice([1e8, 5e8, 1e9])}
        elif x < 0.7:
            m["npc"] = False
        return "region", m

    def attacker(self):
        if self.r.random() < 0.5:
            groups = self.r.sample(CAPITALS, self.r.choice([1, 2, 5]))
            m = {"attacker": {"ship_group": groups}}
            if self.r.random() < 0.5:
                m["space"] = [self.r.choice(["lowsec", "nullsec"])]
        else:
            m = {"attacker": {"alliance": self.ents("alliance", 1),
                              "count": {"min": self.r.choice([5, 10, 20])}}}
        return "attacker", m

    def stream(self, n, jq=False):
        kinds = [(self.entity, 70), (self.value, 10), (self.region, 10), (self.attacker, 10)]
        fn = self.r.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        kind, m = fn()
        return {"name": "%s %d" % (kind, n), "match": m,
                "targets": [{"discord": "$FEED_%d" % (n % 97)}]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mails", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    counts, names = harvest(a.mails)
    g = Mix(counts, names, random.Random(a.seed))
    os.makedirs(a.out, exist_ok=True)
    for n in range(a.count):
        path = os.path.join(a.out, "m%05d.json" % n)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(g.stream(n), f, ensure_ascii=False)
            f.write("\n")
        os.chmod(path, 0o640)


if __name__ == "__main__":
    main()
