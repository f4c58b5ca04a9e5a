#!/usr/bin/env python3
"""tojq.py: the matching of a streams directory as one jq program (the baseline).

    tojq.py STREAMS_DIR > match.jq;  jq -c -f match.jq < mails.ndjson

For each mail, the program writes {"stream":..,"mail":..} for every enabled
stream whose condition may hold, as stream-fanout | filter1 keeps them: a
`near` test counts as true (filter1 leaves it pending).  It follows
insight-streams(5) closely enough for the benchmark's streams and for most others;
it is a yardstick, not a second implementation to maintain.
"""
import json
import os
import sys

PARTY_ENT = {"character": ".character", "corporation": ".corporation",
             "alliance": ".alliance", "faction": ".faction", "ship": ".ship",
             "ship_group": ".ship.group", "ship_category": ".ship.category",
             "weapon": ".weapon", "weapon_group": ".weapon.group",
             "weapon_category": ".weapon.category"}
PLACE = {"system": "$m.system", "constellation": "$m.system.constellation",
         "region": "$m.system.region"}
MEASURE = {"value": "$m.value.total", "fitted_value": "$m.value.fitted",
           "dropped_value": "$m.value.dropped", "destroyed_value": "$m.value.destroyed",
           "points": "$m.points", "attacker_count": "($m.attackers | length)",
           "security": "$m.system.security"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

PRELUDE = """
def ent($ids; $names): . != null and .id != null and
  ((.id as $i | any($ids[]; . == $i)) or
   (.name != null and ((.name | ascii_downcase) as $n | any($names[]; . == $n))));
def inr($lo; $hi): . != null and . >= $lo and . <= $hi;
def npcparty: ((.character.id // 0) as $c | ($c == 0 or ($c >= 3000000 and $c < 4000000))) and
  ((.corporation.id // 0) as $c | ($c == 0 or ($c >= 1000000 and $c < 2000000))) and
  (.alliance == null);
"""


def dur(v):
    if isinstance(v, str):
        return float(v[:-1]) * UNITS[v[-1]]
    return v


def rng(r, f=lambda v: v):
    lo = json.dumps(f(r["min"])) if "min" in r else "-1e308"
    hi = json.dumps(f(r["max"])) if "max" in r else "1e308"
    return "inr(%s; %s)" % (lo, hi)


def ents(lst):
    ids = [x for x in lst if not isinstance(x, str)]
    names = [x.lower() for x in lst if isinstance(x, str)]
    return "ent(%s; %s)" % (json.dumps(ids), json.dumps(names, ensure_ascii=False))


def party(c, victim):
    parts = []
    for k, v in c.items():
        if k.startswith("_") or k in ("share", "count"):
            continue
        if k in PARTY_ENT:
            parts.append("(%s | %s)" % (PARTY_ENT[k], ents(v)))
        elif k == "all":
            parts.append("(%s)" % " and ".join(party(x, victim) for x in v))
        elif k == "any":
            parts.append("(%s)" % " or ".join(party(x, victim) for x in v))
        elif k == "not":
            parts.append("(%s | not)" % party(v, victim))
        elif k == "damage":
            parts.append("(%s | %s)" % (".damage_taken" if victim else ".damage_done", rng(v)))
        elif k == "security_status":
            parts.append("(.security_status | %s)" % rng(v))
        elif k == "npc":
            parts.append("(npcparty == %s)" % json.dumps(v))
    return "(%s)" % (" and ".join(parts) or "true")


def attacker(c):
    p = party(c, False)
    if "count" not in c and "share" not in c:
        return "any($m.attackers[]; %s)" % p
    tests = []
    if "count" in c:
        tests.append("($c | %s)" % rng(c["count"]))
    if "share" in c:
        tests.append("($n > 0 and ($c / $n | %s))" % rng(c["share"]))
    return ("(([$m.attackers[] | select(%s)] | length) as $c | ($m.attackers | length) as $n | %s)"
            % (p, " and ".join(tests)))


def labels(v):
    if isinstance(v, list):
        v = {"any": v}
    t = ["($m.labels != null)"]
    if "any" in v:
        t.append("any($m.labels[]; . as $l | %s | index([$l]) != null)" % json.dumps(v["any"]))
    for l in v.get("all", []):
        t.append("($m.labels | index([%s]) != null)" % json.dumps(l))
    for l in v.get("none", []):
        t.append("($m.labels | index([%s]) == null)" % json.dumps(l))
    return "(%s)" % " and ".join(t)


def cond(c, stream):
    parts = []
    for k, v in c.items():
        if k.startswith("_"):
            continue
        if k == "all":
            parts.append("(%s)" % " and ".join(cond(x, stream) for x in v))
        elif k == "any":
            parts.append("(%s)" % " or ".join(cond(x, stream) for x in v))
        elif k == "not":
            parts.append("(%s | not)" % cond(v, stream))
        elif k == "victim":
            parts.append("($m.victim | %s)" % party(v, True))
        elif k == "attacker":
            parts.append(attacker(v))
        elif k == "final_blow":
            parts.append("($m.final_blow as $f | $f != null and ($m.attackers[$f] | %s))" % party(v, False))
        elif k == "involved":
            parts.append("(($m.victim | %s) or any($m.attackers[]; %s))" % (party(v, True), party(v, False)))
        elif k in PLACE:
            parts.append("(%s | %s)" % (PLACE[k], ents(v)))
        elif k in MEASURE:
            parts.append("(%s | %s)" % (MEASURE[k], rng(v)))
        elif k == "space":
            parts.append("(%s | index([$m.system.space]) != null)" % json.dumps(v))
        elif k == "location":
            parts.append("($m.location_id != null and (%s | index([$m.location_id]) != null))" % json.dumps(v))
        elif k == "near":
            parts.append("($m.system != null)")
        elif k in ("npc", "solo", "awox"):
            parts.append("($m.%s == %s)" % (k, json.dumps(v)))
        elif k == "war":
            parts.append("(($m.war_id != null) == %s)" % json.dumps(v))
        elif k == "labels":
            parts.append(labels(v))
        elif k == "age":
            parts.append("((now - ($m.time | fromdateiso8601)) | %s)" % rng(v, dur))
        elif k == "hour":
            h, f, t = "($m.time | fromdateiso8601 | gmtime | .[3])", v["from"], v["to"]
            parts.append("(%s as $h | %s)" % (h, "($h >= %d and $h <= %d)" % (f, t) if f <= t
                                              else "($h >= %d or $h <= %d)" % (f, t)))
        elif k == "jq":
            parts.append("(try ([limit(1; {stream: %s, mail: $m} | %s)] == [true]) catch false)"
                         % (json.dumps(stream, ensure_ascii=False), v))
    return "(%s)" % (" and ".join(parts) or "true")


def main():
    d = sys.argv[1]
    out = [PRELUDE, ". as $m | ("]
    branches = []
    for f in sorted(os.listdir(d)):
        if not f.endswith(".json") or f.startswith("."):
            continue
        s = json.load(open(os.path.join(d, f), encoding="utf-8"))
        if s.get("enabled", True) is False:
            continue
        s["id"] = f[:-5]
        branches.append("  (if %s then {stream: %s, mail: $m} else empty end)"
                        % (cond(s.get("match", {}), s), json.dumps(s, ensure_ascii=False)))
    out.append(",\n".join(branches) or "  empty")
    out.append(")")
    print("\n".join(out))


if __name__ == "__main__":
    main()
