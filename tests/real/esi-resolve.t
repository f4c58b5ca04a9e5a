#!/bin/bash
# esi-resolve over all the real killmails of ../shared/data, through the
# fake ESI serving the real universe: every mail once, and every ship,
# weapon, group, category, system, constellation and region name (and the
# system's security, space class and position) right per the TSV files.
. "$(dirname "$0")/../lib.sh"
real_data

start_fake esi esi --data "$REAL_DATA" || exit 1
export ESI_URL=$esi_url STATE_DIR=$T/s USER_AGENT="insight-test/1 (test@example.invalid)"
n=$(wc -l <"$REAL_DATA/killmails.ndjson")
esi-resolve <"$REAL_DATA/killmails.ndjson" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0 at the end of input"
is "$(wc -l <"$T/out" | tr -d ' ')" "$n" "one mail per killmail"
diag "$(grep 'info: done' "$T/err" | cut -d' ' -f4-)"

python3 - "$REAL_DATA" "$T/out" >"$T/check" <<'PY'
import json, os, sys
d, out = sys.argv[1:]
def tsv(name):
    with open(os.path.join(d, name), encoding="utf-8") as f:
        next(f)
        return [l.rstrip("\n").split("\t") for l in f if l.strip()]
systems = {int(r[0]): r for r in tsv("systems.tsv")}
consts = {int(r[0]): r[1] for r in tsv("constellations.tsv")}
regions = {int(r[0]): r[1] for r in tsv("regions.tsv")}
types = {int(r[0]): (r[1], int(r[2])) for r in tsv("types.tsv")}
groups = {int(r[0]): (r[1], int(r[2])) for r in tsv("groups.tsv")}
cats = {int(r[0]): r[1] for r in tsv("categories.tsv")}
names = {int(r[0]): r[2] for r in tsv("names.tsv")}
kms = {}
with open(os.path.join(d, "killmails.ndjson"), encoding="utf-8") as f:
    for l in f:
        k = json.loads(l)
        kms[k["killmail_id"]] = k
bad = {k: 0 for k in ("ids", "system", "constellation", "region", "security", "space",
                      "position", "ship", "group", "category", "names", "zkb", "counts")}
checked = {"ships": 0, "names": 0}

def space(sid, rid, sec):
    if sid // 1000000 == 31: return "wormhole"
    if sid // 1000000 == 32: return "abyssal"
    if rid == 10000070: return "pochven"
    return "highsec" if sec >= 0.45 else "lowsec" if sec > 0 else "nullsec"

def ship(got, tid):
    if tid is None:
        if got is not None: bad["ship"] += 1
        return
    checked["ships"] += 1
    name, gid = types[tid]
    gname, cid = groups[gid]
    if got["id"] != tid or got["name"] != name: bad["ship"] += 1
    if got["group"] != {"id": gid, "name": gname}: bad["group"] += 1
    if got["category"] != {"id": cid, "name": cats[cid]}: bad["category"] += 1

def who(got, p):
    for k in ("character", "corporation", "alliance", "faction"):
        i = p.get(k + "_id")
        e = got[k]
        if i is None:
            if e is not None: bad["names"] += 1
        elif e["id"] != i or (i in names and e["name"] != names[i]):
            bad["names"] += 1
        elif i in names:
            checked["names"] += 1

seen = set()
with open(out, encoding="utf-8") as f:
    for l in f:
        m = json.loads(l)
        k = kms.get(m["killmail_id"])
        if k is None or m["killmail_id"] in seen:
            bad["ids"] += 1
            continue
        seen.add(m["killmail_id"])
        sid = k["solar_system_id"]
        r = systems[sid]
        s = m["system"]
        cid, rid, sec = int(r[2]), int(r[3]), float(r[4])
        bad["system"] += s["id"] != sid or s["name"] != r[1]
        bad["constellation"] += s["constellation"] != {"id": cid, "name": consts[cid]}
        bad["region"] += s["region"] != {"id": rid, "name": regions[rid]}
        bad["security"] += s["security"] != sec
        bad["space"] += s["space"] != space(sid, rid, sec)
        bad["position"] += s["position"] != {"x": float(r[5]), "y": float(r[6]), "z": float(r[7])}
        ship(m["victim"]["ship"], k["victim"]["ship_type_id"])
        who(m["victim"], k["victim"])
        if len(m["attackers"]) != len(k["attackers"]) or m["attacker_count"] != len(k["attackers"]):
            bad["counts"] += 1
            continue
        for a, ka in zip(m["attackers"], k["attackers"]):
            ship(a["ship"], ka.get("ship_type_id"))
            ship(a["weapon"], ka.get("weapon_type_id"))
            who(a, ka)
        z = k.get("zkb") or {}
        if (m["value"]["total"] != z.get("totalValue") or m["points"] != z.get("points")
                or m["location_id"] != z.get("locationID") or m["solo"] != z.get("solo")):
            bad["zkb"] += 1
bad["ids"] += len(set(kms) - seen)
for k, v in bad.items():
    print("%s %d" % (k, v))
print("checked_ships %d" % checked["ships"])
print("checked_names %d" % checked["names"])
PY
for k in ids system constellation region security space position ship group category names zkb counts; do
	is "$(awk -v k=$k '$1 == k { print $2 }' "$T/check")" 0 "$k: no mail wrong"
done
diag "$(awk '/^checked/ { printf "%s=%s ", $1, $2 }' "$T/check")"
is "$(grep -c 'warning: not a package\|warning: malformed' "$T/err")" 0 "no line refused"

done_testing
