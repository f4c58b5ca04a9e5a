#!/usr/bin/env python3
"""mails.py: turn killmails into mail lines, the output of esi-resolve.

    mails.py [--killmails FILE] DIR > mails.ndjson

DIR holds the universe as TSV files with one header line (the layout of
../shared/data and of what tests/gen/fixtures.py writes): systems.tsv,
constellations.tsv, regions.tsv, types.tsv, groups.tsv, categories.tsv and,
optionally, names.tsv (id, category, name).  Killmails are read from
DIR/killmails.ndjson unless --killmails is given ("-" is stdin); each line is
an ESI killmail body, optionally with killmail_hash, zkb, sequence_id, or an
R2Z2 package ({"killmail_id","hash","esi","zkb",...}).

The mail is esi-resolve's (README "Wire formats"): names beside ids, an entity is {"id","name"} or
null, a name is null when the universe files do not know it, values absent
from the package (no zkb) are null, never invented.  Victim items are
dropped.  This stands in for esi-resolve in tests and benchmarks; it must not
drift from it.
"""
import argparse
import json
import os
import sys


def tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        next(f, None)
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


class Universe:
    def __init__(self, d):
        self.systems = {int(r[0]): r for r in tsv(os.path.join(d, "systems.tsv"))}
        self.consts = {int(r[0]): r[1] for r in tsv(os.path.join(d, "constellations.tsv"))}
        self.regions = {int(r[0]): r[1] for r in tsv(os.path.join(d, "regions.tsv"))}
        self.types = {int(r[0]): (r[1], int(r[2])) for r in tsv(os.path.join(d, "types.tsv"))}
        self.groups = {int(r[0]): (r[1], int(r[2])) for r in tsv(os.path.join(d, "groups.tsv"))}
        self.cats = {int(r[0]): r[1] for r in tsv(os.path.join(d, "categories.tsv"))}
        self.names = {int(r[0]): r[2] for r in tsv(os.path.join(d, "names.tsv"))}

    def entity(self, i, table=None):
        if i is None:
            return None
        return {"id": i, "name": (self.names if table is None else table).get(i)}

    def ship(self, t):
        if t is None:
            return None
        name, gid = self.types.get(t, (None, None))
        group = cat = None
        if gid is not None:
            gname, cid = self.groups.get(gid, (None, None))
            group = {"id": gid, "name": gname}
            if cid is not None:
                cat = {"id": cid, "name": self.cats.get(cid)}
        return {"id": t, "name": name, "group": group, "category": cat}

    def system(self, sid):
        r = self.systems.get(sid)
        if r is None:
            return {"id": sid, "name": None, "security": None, "space": space(sid, None, None),
                    "constellation": None, "region": None, "position": None}
        cid, rid, sec = int(r[2]), int(r[3]), float(r[4])
        return {"id": sid, "name": r[1], "security": sec, "space": space(sid, rid, sec),
                "constellation": {"id": cid, "name": self.consts.get(cid)},
                "region": {"id": rid, "name": self.regions.get(rid)},
                "position": {"x": float(r[5]), "y": float(r[6]), "z": float(r[7])}}


def space(sid, rid, sec):
    if 31000000 <= sid < 32000000:
        return "wormhole"
    if 32000000 <= sid < 33000000:
        return "abyssal"
    if rid == 10000070:
        return "pochven"
    if sec is None:
        return None
    return "highsec" if sec >= 0.45 else "lowsec" if sec > 0 else "nullsec"


def party(u, p):
    return {"character": u.entity(p.get("character_id")),
            "corporation": u.entity(p.get("corporation_id")),
            "alliance": u.entity(p.get("alliance_id")),
            "faction": u.entity(p.get("faction_id"))}


def mail(u, k):
    esi = k.get("esi", k)
    zkb = k.get("zkb")
    kid = esi["killmail_id"]
    victim = party(u, esi["victim"])
    victim["ship"] = u.ship(esi["victim"].get("ship_type_id"))
    victim["damage_taken"] = esi["victim"].get("damage_taken")
    attackers, fb = [], None
    for i, a in enumerate(esi.get("attackers", [])):
        p = party(u, a)
        p["ship"] = u.ship(a.get("ship_type_id"))
        p["weapon"] = u.ship(a.get("weapon_type_id"))
        p["damage_done"] = a.get("damage_done")
        p["final_blow"] = bool(a.get("final_blow"))
        p["security_status"] = a.get("security_status")
        if p["final_blow"] and fb is None:
            fb = i
        attackers.append(p)
    z = zkb or {}
    return {"killmail_id": kid,
            "hash": k.get("hash") or k.get("killmail_hash") or z.get("hash"),
            "time": esi["killmail_time"],
            "url": "https://zkillboard.com/kill/%d/" % kid,
            "system": u.system(esi["solar_system_id"]),
            "location_id": z.get("locationID"),
            "victim": victim,
            "attackers": attackers,
            "attacker_count": len(attackers),
            "final_blow": fb,
            "value": {"total": z.get("totalValue"), "fitted": z.get("fittedValue"),
                      "dropped": z.get("droppedValue"), "destroyed": z.get("destroyedValue")},
            "points": z.get("points"), "npc": z.get("npc"), "solo": z.get("solo"),
            "awox": z.get("awox"), "labels": z.get("labels"),
            "war_id": esi.get("war_id"), "moon_id": esi.get("moon_id"),
            "sequence_id": k.get("sequence_id")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--killmails")
    a = ap.parse_args()
    u = Universe(a.dir)
    path = a.killmails or os.path.join(a.dir, "killmails.ndjson")
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    out = sys.stdout
    for line in f:
        if line.strip():
            out.write(json.dumps(mail(u, json.loads(line)), separators=(",", ":"),
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
