#!/bin/bash
# filter2 on every killmail of ../shared/data against near-streams around
# real systems, with the fake ESI serving the real map: the result equals a
# breadth-first search over jumps.tsv and distances over the positions of
# systems.tsv.
. "$(dirname "$0")/../lib.sh"

real_data
export USER_AGENT="insight-test/1 (test@example.invalid)"
python3 "$ROOT/tests/gen/mails.py" "$REAL_DATA" >"$T/mails" || skip_all "no tests/gen/mails.py"
start_fake esi esi --data "$REAL_DATA" || exit 1
export ESI_URL=$esi_url STATE_DIR=$T/state

# The three busiest systems of the data with gates (M-OEE8, Jita, Tama), a
# wormhole (J150859), and streams of one near entry each.
STREAMS='[
 {"id":"m-oee8-5","near":[{"system":30000848,"jumps":5}]},
 {"id":"m-oee8-10","near":[{"system":30000848,"jumps":10}]},
 {"id":"jita-10","near":[{"system":30000142,"jumps":10}]},
 {"id":"tama-10","near":[{"system":30002813,"jumps":10}]},
 {"id":"jita-ly","near":[{"system":30000142,"lightyears":8}]},
 {"id":"tama-both","near":[{"system":30002813,"jumps":6,"lightyears":5}]},
 {"id":"wh-ly","near":[{"system":31000520,"lightyears":40}]},
 {"id":"two","near":[{"system":30000848,"jumps":4},{"system":30002813,"jumps":4}]}]'
# (the mail's own text, as esi-resolve wrote it; jq would rewrite its numbers)
python3 -c '
import json, sys
ss = json.loads(sys.argv[1])
pre = [json.dumps({"id": s["id"], "match": {"near": s["near"]}, "targets": [{"discord": "$X"}]},
                  separators=(",", ":")) for s in ss]
for m in open(sys.argv[2]):
    for p in pre:
        sys.stdout.write("{\"stream\":%s,\"mail\":%s,\"match\":{\"kind\":\"neutral\",\"attackers\":[],\"pending\":true}}\n" % (p, m.rstrip("\n")))
' "$STREAMS" "$T/mails" >"$T/pairs"
filter2 <"$T/pairs" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0"
is "$(grep -c warning "$T/err")" 0 "no warning"
diag "$(grep 'info: done' "$T/err")"

python3 - "$REAL_DATA" "$STREAMS" "$T/mails" "$T/out" >"$T/cmp" <<'EOF'
import collections, json, math, sys
d, streams, mails, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
def rows(f):
    with open(d + "/" + f) as fh:
        next(fh)
        return [l.rstrip("\n").split("\t") for l in fh if l.strip()]
pos = {int(r[0]): [float(x) for x in r[5:8]] for r in rows("systems.tsv")}
adj = collections.defaultdict(list)
for a, b in rows("jumps.tsv"):
    adj[int(a)].append(int(b))
walks = {}
def bfs(r):
    if r not in walks:
        dist, q = {r: 0}, collections.deque([r])
        while q:
            u = q.popleft()
            for v in adj[u]:
                if v not in dist:
                    dist[v] = dist[u] + 1; q.append(v)
        walks[r] = dist
    return walks[r]
def fmt(k, sid, r, j, ly):
    return "%s %d %d %s %.6f" % (sid, k, r, "null" if j is None else j, ly)
want = []
with open(mails) as fh:
    for l in fh:
        m = json.loads(l); s = m["system"]["id"]
        for st in streams:
            best = None
            for e in st["near"]:
                r = e["system"]; a, b = pos[r], pos[s]
                j = bfs(r).get(s)
                ly = math.sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2])) / 9.46e15
                if "jumps" in e:
                    if j is None or j > e["jumps"]:
                        continue
                else:
                    j = 0 if r == s else None
                if "lightyears" in e and ly > e["lightyears"]:
                    continue
                key = (math.inf if j is None else j, ly)
                if best is None or key < best[0]:
                    best = (key, r, j, ly)
            if best:
                want.append(fmt(m["killmail_id"], st["id"], best[1], best[2], best[3]))
got = []
with open(out) as fh:
    for l in fh:
        p = json.loads(l); n = p["match"]["near"]
        got.append(fmt(p["mail"]["killmail_id"], p["stream"]["id"], n["system"]["id"], n["jumps"], n["lightyears"]))
want.sort(); got.sort()
print("want %d got %d" % (len(want), len(got)))
for w in sorted(set(want) - set(got))[:5]:
    print("missing: " + w)
for g in sorted(set(got) - set(want))[:5]:
    print("extra: " + g)
print("per stream: " + " ".join("%s=%d" % (s["id"], sum(1 for w in want if w.startswith(s["id"] + " "))) for s in streams))
EOF
diag "$(cat "$T/cmp")"
grep -q -e '^missing' -e '^extra' "$T/cmp"
is "$?" 1 "every pair of every killmail as a plain BFS over jumps.tsv and positions of systems.tsv say"
head -1 "$T/cmp" | awk '{ exit !($2 > 0 && $2 == $4) }'
ok $? "the same number of matches, and some"
for s in m-oee8-5 m-oee8-10 jita-10 tama-10 jita-ly tama-both wh-ly two; do
	n=$(grep -o "$s=[0-9]*" "$T/cmp" | cut -d= -f2)
	[ "${n:-0}" -gt 0 ]
	ok $? "stream $s matches some killmails ($n)"
done
is "$(jq -r 'select(.match.near.jumps == 0) | (.mail.system.id == .match.near.system.id)' "$T/out" | sort -u)" \
	"true" "0 jumps only in the reference system itself"
done_testing
