#!/bin/bash
# filter2 distances against the fake ESI on the synthetic map: jumps, light
# years, both, several references, unreachable systems and wormholes, the
# reference itself at 0 jumps, the requests a lazy walk makes (counted),
# names, pass-through with no network work, ESI failures, closed output.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 200 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
python3 "$ROOT/tests/gen/mails.py" "$T/fx" >"$T/mails" || skip_all "no tests/gen/mails.py"
export USER_AGENT="insight-test/1 (test@example.invalid)" INSIGHT_NOW=1783130400
start_fake esi esi --data "$T/fx" || exit 1
export ESI_URL=$esi_url STATE_DIR=$T/state

# pairs NEAR [MATCH]: every mail paired with a stream of that near list,
# marked pending by filter1 (or with the given match object)
pairs() {
	_m=${2:-'{"kind":"neutral","attackers":[],"pending":true}'}
	jq -c --argjson n "$1" --argjson m "$_m" \
		'{stream:{id:"s",match:{near:$n},targets:[{discord:"$X"}]}, mail:., match:$m}' "$T/mails"
}
requests() { curl -sf "$esi_url/_log" | jq -r '"\(.method) \(.path)"'; }
clear_log() { fake_ctl "$esi_url" '{"clear_log":true,"clear":true}'; }
# The answer of a plain BFS over jumps.tsv and positions of systems.tsv,
# for the near list $1, as "killmail_id ref jumps ly" lines (ly to 1e-6);
# with "got" it formats filter2's output the same way.
expect_py=$(cat <<'EOF'
import collections, json, math, sys
d, near, mode = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
def rows(f):
    with open(d + "/" + f) as fh:
        next(fh)
        return [l.rstrip("\n").split("\t") for l in fh if l.strip()]
def line(k, r, j, ly):
    return "%d %d %s %.6f" % (k, r, "null" if j is None else j, ly)
if mode == "got":
    for l in sys.stdin:
        p = json.loads(l); n = p["match"]["near"]
        print(line(p["mail"]["killmail_id"], n["system"]["id"], n["jumps"], n["lightyears"]))
    sys.exit(0)
pos = {int(r[0]): [float(x) for x in r[5:8]] for r in rows("systems.tsv")}
adj = collections.defaultdict(list)
for a, b in rows("jumps.tsv"):
    adj[int(a)].append(int(b))
def bfs(r):
    dist, q = {r: 0}, collections.deque([r])
    while q:
        u = q.popleft()
        for v in adj[u]:
            if v not in dist:
                dist[v] = dist[u] + 1; q.append(v)
    return dist
walks = {}
with open(d + "/../mails") as fh:
    for l in fh:
        m = json.loads(l); s = m["system"]["id"]; best = None
        for e in near:
            r = e["system"]
            walks.setdefault(r, bfs(r) if r in adj else {r: 0})
            j = walks[r].get(s)
            a, b = pos[r], pos[s]
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
            print(line(m["killmail_id"], best[1], best[2], best[3]))
EOF
)
expect() { python3 -c "$expect_py" "$T/fx" "$1" "${2:-}"; }
# case NAME NEAR: run the pending pairs of NEAR through filter2
case_run() {
	pairs "$2" >"$T/$1.in"
	filter2 <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err"
	is "$?" 0 "$1: exit 0"
	is "$(expect "$2" got <"$T/$1.out" | sort)" "$(expect "$2" | sort)" "$1: as a plain BFS says"
}
near_of() { jq -r --arg n "$2" 'select(.mail.system.name == $n) | .match.near.jumps' "$1" | sort -u | tr '\n' ' '; }
systems_of() { jq -r .mail.system.name "$1" | sort -u | tr '\n' ' '; }

# 1. jumps, and the requests of the lazy walk
clear_log
case_run jumps3 '[{"system":30000001,"jumps":3}]'
is "$(systems_of "$T/jumps3.out")" "Arvoda Bexlin Corvath Dunmere Elsbor Fjarn Gavrin " \
	"jumps3: the seven systems within 3 jumps of Arvoda"
is "$(near_of "$T/jumps3.out" Arvoda)" "0 " "jumps3: the reference itself is 0 jumps"
is "$(near_of "$T/jumps3.out" Elsbor)" "3 " "jumps3: Elsbor is 3 jumps (by Fjarn, not 4 by Dunmere)"
is "$(requests | sort | tr '\n' ' ')" "$(printf '%s\n' \
	'GET /universe/systems/30000001' 'GET /universe/systems/30000002' \
	'GET /universe/systems/30000003' 'GET /universe/systems/30000006' \
	'GET /universe/stargates/50000001' 'GET /universe/stargates/50000003' \
	'GET /universe/stargates/50000004' 'GET /universe/stargates/50000006' \
	'GET /universe/stargates/50000012' 'GET /universe/stargates/50000013' | sort | tr '\n' ' ')" \
	"jumps3: the walk asks for the systems of levels 0-2 and their gates but the ways back, once each"
jq -e 'has("pending") | not' "$T/jumps3.out" >/dev/null
ok $? "jumps3: no pair written is still pending"
grep -q 'matched=43 dropped=157' "$T/jumps3.err"
ok $? "jumps3: the others are dropped (and counted)"

# 2. unreachable systems and wormholes
case_run far '[{"system":30000001,"jumps":99}]'
is "$(jq -r 'select(.mail.system.id > 31000000 or (.mail.system.name | test("^Isle|Lonestar"))) | .mail.system.name' "$T/far.out")" "" \
	"far: no wormhole, abyssal, island or gateless system is reachable"
is "$(near_of "$T/far.out" Tarvo)" "18 " "far: Pochven by its one gate (18 jumps)"
case_run wh '[{"system":31000001,"jumps":5}]'
is "$(systems_of "$T/wh.out")" "J100001 " "wh: within jumps of a wormhole: itself only"
is "$(near_of "$T/wh.out" J100001)" "0 " "wh: at 0 jumps"

# 3. light years (wormholes have them), both limits, several references
case_run ly '[{"system":31000001,"lightyears":3}]'
is "$(systems_of "$T/ly.out")" "J100001 J100002 " "ly: a wormhole within 3 ly of another"
is "$(jq -r '.match.near.jumps' "$T/ly.out" | sort -u | tr '\n' ' ')" "0 null " \
	"ly: no jumps reported for a light-year entry (0 for the system itself)"
case_run both '[{"system":30000001,"jumps":3,"lightyears":2.5}]'
is "$(systems_of "$T/both.out")" "Arvoda Bexlin Corvath " "both: both limits must hold (Fjarn is 2 jumps but 2.8 ly)"
case_run several '[{"system":30000001,"jumps":5},{"system":30000003,"jumps":5},{"system":31000004,"lightyears":6}]'
is "$(jq -r 'select(.mail.system.name == "Dunmere") | .match.near.system.name' "$T/several.out" | sort -u)" \
	"Corvath" "several: the closest reference that held (Corvath, 1 jump)"
is "$(jq -r 'select(.mail.system.name == "J100004") | "\(.match.near.system.name) \(.match.near.jumps)"' "$T/several.out" | sort -u)" \
	"J100004 0" "several: a light-year reference holds where the gates do not reach"

# 4. pass-through: no network work, the very bytes
clear_log
{ pairs '[{"system":30000001,"jumps":3}]' '{"kind":"kill","attackers":[0]}' | head -50
  echo '{"receipt":{"target":"discord","stream":"s","killmail_id":1,"status":"posted"}}'
  echo '{"stream":{"id":"s"},"mail":"not an object"}'; } >"$T/pass.in"
{ cat "$T/pass.in"; echo '{"broken":'; } | filter2 >"$T/pass.out" 2>"$T/pass.err"
is "$?" 0 "pass: exit 0"
cmp -s "$T/pass.in" "$T/pass.out"
ok $? "pass: pairs without pending, receipts and unknown objects pass unchanged, in order"
is "$(requests | wc -l)" 0 "pass: no request to ESI"
is "$(grep -c 'warning: malformed line' "$T/pass.err")" 1 "pass: one warning for the malformed line"
grep -q 'warning: malformed line skipped line=53 col=11 error="value expected"' "$T/pass.err"
ok $? "pass: ... saying where and why"
grep -q 'info: done pairs=52 .* malformed=1$' "$T/pass.err"
ok $? "pass: ... and counted"

# 4b. bytes: a pair written is its line as it came with only the value of
# "match" replaced (or "match" added before the closing brace), whatever the
# layout; pairs of one mail after another pass byte for byte
bytes_py=$(cat <<'EOF'
import json, sys
def members(l):
    """The top-level members of an object line: {key: (start, end)} of each
    value, and the offset of the closing brace."""
    d, i, out = json.JSONDecoder(), l.index("{") + 1, {}
    ws = lambda i: len(l) - len(l[i:].lstrip(" \t\r\n"))
    while True:
        i = ws(i)
        if l[i] == "}":
            return out, i
        k, i = d.raw_decode(l, i)
        i = ws(ws(i) + 1)
        _, e = d.raw_decode(l, i)
        out[k] = (i, e)
        i = ws(e)
        i += l[i] == ","
ins, outs = open(sys.argv[1]).read().splitlines(), open(sys.argv[2]).read().splitlines()
key = lambda l: (json.loads(l)["stream"]["id"], json.loads(l)["mail"]["killmail_id"])
byk = {key(l): l for l in ins}
bad = 0
for o in outs:
    i = byk[key(o)]
    mi, ci = members(i)
    mo, _ = members(o)
    new = o[mo["match"][0]:mo["match"][1]]
    if "match" in mi:
        want = i[:mi["match"][0]] + new + i[mi["match"][1]:]
    else:
        want = i[:ci] + ',"match":' + new + i[ci:]
    if o != want or json.loads(new) == json.loads(i).get("match"):
        bad += 1
print(len(outs), bad)
EOF
)
# the pending pairs of jumps3, compact, and again in another layout (spaced,
# "match" first); a stream with mention rules whose pairs have no "match"
python3 - "$T/jumps3.in" >"$T/bytes.in" <<'EOF'
import json, sys
for n, l in enumerate(open(sys.argv[1])):
    p = json.loads(l); s = p["stream"]
    mail = l[l.index(',"mail":') + 8:l.rindex(',"match":')]    # its very text
    st = json.dumps(dict(s, id="spaced"), separators=(", ", " : "))
    print('{ "match" : {"kind":"neutral", "attackers":[], "pending":true} ,\t"mail":%s , "stream":%s }  ' % (mail, st))
    if n % 4 == 0:
        men = json.dumps({"id": "men", "mentions": [{"content": "hi"}], "targets": s["targets"]},
                         separators=(",", ":"))
        print('{"stream":%s,"mail":%s}' % (men, mail))
EOF
cat "$T/jumps3.in" >>"$T/bytes.in"
filter2 <"$T/bytes.in" >"$T/bytes.out" 2>"$T/bytes.err"
is "$?" 0 "bytes: exit 0"
is "$(python3 -c "$bytes_py" "$T/bytes.in" "$T/bytes.out")" "$((2 * 43 + 50)) 0" \
	"bytes: each pair written is its line with only \"match\" changed, byte for byte (compact, spaced, reordered, added)"
is "$(jq -r 'select(.stream.id == "men") | .match.mention' "$T/bytes.out" | sort | uniq -c | tr -s ' ')" " 50 hi" \
	"bytes: the mention added where there was no \"match\""
# pairs of one mail after another (the fast path), and some in another
# layout in between, not pending: the very bytes
jq -c '{stream:{id:"a",targets:[{discord:"$X"}]}, mail:., match:{kind:"kill",attackers:[0]}},
	{stream:{id:"b",match:{},targets:[{discord:"$X"}]}, mail:., match:{kind:"loss",attackers:[]}},
	{mail:., stream:{id:"c",targets:[{discord:"$X"}]}},
	{stream:{id:"d",targets:[{discord:"$X"}]}, mail:.}' "$T/mails" |
	sed '7~7s/,"mail":/ , "mail" : /' >"$T/same.in"
clear_log
filter2 <"$T/same.in" >"$T/same.out" 2>"$T/same.err"
cmp -s "$T/same.in" "$T/same.out"
ok $? "bytes: $(wc -l <"$T/same.in") pairs not pending, four per mail, pass byte for byte"
is "$(requests | wc -l)" 0 "bytes: ... with no request to ESI"
is "$(grep -c warning "$T/same.err")" 0 "bytes: ... and no warning"

# 5. references by name: POST /universe/ids (the fake does not serve it:
# a fault stands in), once per stream revision; a name that does not resolve
clear_log
fake_ctl "$esi_url" '{"faults":[{"match":"^/universe/ids","method":"POST","status":200,"times":-1,
	"body":"{\"systems\":[{\"id\":30000001,\"name\":\"Arvoda\"}]}"}]}'
case_run_names() {
	pairs '[{"system":"arvoda","jumps":1},{"system":"Nowhere","jumps":9}]' >"$T/names.in"
	filter2 <"$T/names.in" >"$T/names.out" 2>"$T/names.err"
}
case_run_names
is "$?" 0 "names: exit 0"
is "$(systems_of "$T/names.out")" "Arvoda Bexlin " "names: a name resolved (case-insensitively) holds"
is "$(jq -r .match.near.system.name "$T/names.out" | sort -u)" "Arvoda" "names: reported as ESI spells it"
is "$(requests | grep -c '^POST /universe/ids')" 2 "names: one question per name per revision, not per pair"
grep -q 'warning: reference system does not resolve.*name="Nowhere"' "$T/names.err"
ok $? "names: a name that does not resolve is a warning"

# 6. ESI failing for a while: the same answers, later
clear_log
fake_ctl "$esi_url" '{"faults":[{"match":"^/universe/s","status":503,"times":2}]}'
case_run flaky '[{"system":30000001,"jumps":3}]'
is "$(requests | grep -c .)" 12 "flaky: the two failures were retried (10 + 2 requests)"

# 7. in the pipeline: stream-fanout | filter1 | filter2
if command -v stream-fanout >/dev/null && command -v filter1 >/dev/null; then
	mkdir -p "$T/sd"
	echo '{"match":{"near":[{"system":30000016,"jumps":2}]},"targets":[{"discord":"$X"}]}' >"$T/sd/d0b2.json"
	STREAMS_DIR=$T/sd stream-fanout <"$T/mails" 2>"$T/pipe.err" | filter1 2>>"$T/pipe.err" |
		filter2 >"$T/pipe.out" 2>>"$T/pipe.err"
	is "$(expect '[{"system":30000016,"jumps":2}]' got <"$T/pipe.out" | sort)" \
		"$(expect '[{"system":30000016,"jumps":2}]' | sort)" "pipeline: filter1 marks, filter2 decides, as a plain BFS says"
	# bundles: the same pairs, whatever form goes in or out
	echo '{"mentions":[{"content":"hi"}],"targets":[{"discord":"$X"}]}' >"$T/sd/men.json"
	echo '{"targets":[{"discord":"$X"}]}' >"$T/sd/all.json"
	STREAMS_DIR=$T/sd stream-fanout <"$T/mails" 2>/dev/null | filter1 2>/dev/null |
		filter2 2>/dev/null | jq -c . | sort >"$T/plain.pairs"
	STREAMS_DIR=$T/sd stream-fanout --bundle <"$T/mails" 2>/dev/null | filter1 --bundle 2>/dev/null |
		filter2 2>"$T/b1.err" | jq -c . | sort >"$T/b1.pairs"
	ok "$([ "$(grep -c . "$T/plain.pairs")" -gt 400 ] && cmp -s "$T/plain.pairs" "$T/b1.pairs"; echo $?)" \
		"bundles in, pair lines out: the same pairs ($(grep -c . "$T/plain.pairs"))"
	n=$(STREAMS_DIR=$T/sd stream-fanout <"$T/mails" 2>/dev/null | filter1 2>/dev/null | grep -c .)
	grep -q "done pairs=$n bundles=200 " "$T/b1.err"
	ok $? "... one bundle a mail, each of its $n pairs counted ($(grep -o 'done pairs=[0-9]* bundles=[0-9]*' "$T/b1.err"))"
	STREAMS_DIR=$T/sd stream-fanout --bundle <"$T/mails" 2>/dev/null | filter1 --bundle 2>/dev/null |
		filter2 --bundle 2>/dev/null >"$T/b2.out"
	is "$(unbundle "$T/b2.out" | sort | md5sum)" "$(md5sum <"$T/plain.pairs")" \
		"bundles in, bundles out (--bundle): the same pairs"
	b=$(grep -c '^{"streams":' "$T/b2.out")
	is "$(grep '^{"streams":' "$T/b2.out" | jq .mail.killmail_id | sort -u | wc -l)" "$b" \
		"--bundle: no mail in two bundles ($b bundles)"
	# (how many waited depends on when ESI answered: the mark test below
	# makes one wait)
	w=$(grep '^{"stream":' "$T/b2.out" | jq -c 'select(.stream.match.near == null)' | grep -c .)
	is "$w" 0 "--bundle: only pairs that waited for ESI go out alone ($(grep -c '^{"stream":' "$T/b2.out") near pairs)"
	is "$(jq -r 'select(.streams) | .matches[] | .mention // empty' "$T/b2.out" | sort | uniq -c | tr -s ' ')" \
		"$(jq -r '.match.mention // empty' "$T/plain.pairs" | sort | uniq -c | tr -s ' ')" \
		"--bundle: the mentions are in the bundles' matches"
	# a commit mark after a bundle whose near pair waits for ESI goes out
	# only after that pair (a fresh process: nothing is known)
	k=$(jq -r 'select(.stream.match.near and .mail.system.id != 30000016) | .mail.killmail_id' "$T/plain.pairs" | head -1)
	k2=$(jq -r 'select(.stream.match.near) | .mail.killmail_id' "$T/plain.pairs" | sed -n 2p)
	{
		jq -c "select(.killmail_id == $k)" "$T/mails"
		echo '{"mark":{"seq":77,"epoch":1}}'
		jq -c "select(.killmail_id == $k2)" "$T/mails"
	} | STREAMS_DIR=$T/sd stream-fanout --bundle 2>/dev/null | filter1 --bundle 2>/dev/null |
		filter2 --bundle >"$T/mk.out" 2>/dev/null
	near=$(grep -n "^{\"stream\":.*\"near\".*\"killmail_id\":$k," "$T/mk.out" | cut -d: -f1)
	mark=$(grep -n '^{"mark":{"seq":77,"epoch":1}}$' "$T/mk.out" | cut -d: -f1)
	ok "$([ -n "$near" ] && [ -n "$mark" ] && [ "$mark" -gt "$near" ]; echo $?)" \
		"--bundle: a near pair that waits goes out alone, and the mark after its bundle waits for it (pair at line ${near:-?}, mark at ${mark:-?})"
else
	ok 0 "# SKIP no stream-fanout or filter1"
fi

# 8. a closed output: one fatal line, exit 111
pairs '[{"system":30000001,"jumps":0}]' >"$T/full.in"
filter2 <"$T/full.in" >/dev/full 2>"$T/full.err"
is "$?" 111 "/dev/full: exit 111"
grep -q 'fatal: write to stdout failed' "$T/full.err"
ok $? "/dev/full: says so"

# 9. usage
filter2 --bogus 2>/dev/null
is "$?" 100 "unknown option: exit 100"
done_testing
