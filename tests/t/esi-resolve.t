#!/bin/bash
# esi-resolve against the fake ESI: golden mails from the synthetic fixtures
# (every field), all input shapes, backfill lines, --ordered, batching and
# sharing of requests, isolating ids that cannot be resolved, bad input.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 200 >/dev/null || { echo "1..0 # SKIP no fixtures"; exit 0; }
export USER_AGENT="insight-test/1 (test@example.invalid)" STATE_DIR=$T/state
# ids on the killmails that names.tsv lacks: the fake will refuse them
BAD=$(jq -r '(.victim, .attackers[]) | (.character_id, .corporation_id, .alliance_id, .faction_id) // empty' \
	"$T/fx/killmails.ndjson" | sort -u | comm -23 - <(tail -n +2 "$T/fx/names.tsv" | cut -f1 | sort -u) |
	sort -n | tr '\n' ',')
BAD=${BAD%,}
ok "$([ -n "$BAD" ]; echo $?)" "the fixtures have ids without a name ($BAD)"
start_fake esi esi --data "$T/fx" --bad-ids "$BAD" || exit 1
export ESI_URL=$esi_url

# The input: every 4th line an R2Z2 package, a bare ESI line (as EVE Ref
# and the fixtures write them), a backfill line, a raw RedisQ package.
# expect.in is the same killmail as tests/gen/mails.py reads it.
python3 - "$T/fx/killmails.ndjson" "$T/in" "$T/expect.in" <<'EOF'
import json, sys
esi_keys = ("attackers", "killmail_id", "killmail_time", "moon_id",
            "solar_system_id", "victim", "war_id")
src, out, exp = sys.argv[1:]
with open(src) as f, open(out, "w") as o, open(exp, "w") as e:
    for i, line in enumerate(f):
        k = json.loads(line)
        body = {x: k[x] for x in esi_keys if x in k}
        h, zkb, kid = k["killmail_hash"], k.get("zkb"), k["killmail_id"]
        shape = i % 4
        if shape == 0:
            p = {"killmail_id": kid, "hash": h, "esi": body, "sequence_id": 5000 + i,
                 "uploaded_at": 1783200000 + i}
            if zkb: p["zkb"] = zkb
            x = dict(p)
        elif shape == 1:
            p = x = k
        elif shape == 2:
            p = {"killmail_id": kid, "hash": h}
            x = {"hash": h, "esi": body}
        else:
            p = {"package": {"killID": kid, "killmail": body, "zkb": zkb or {"hash": h}}}
            x = {"hash": h, "esi": body, "zkb": zkb} if zkb else {"hash": h, "esi": body, "zkb": {"hash": h}}
        o.write(json.dumps(p, separators=(",", ":")) + "\n")
        e.write(json.dumps(x, separators=(",", ":")) + "\n")
EOF
python3 "$ROOT/tests/gen/mails.py" --killmails "$T/expect.in" "$T/fx" >"$T/expect"

# compare GOT EXPECT: same mails by killmail_id, same keys in the same
# order, same values (tickers checked on their own: mails.py has none).
cat >"$T/compare.py" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[3])
from roles_esi import ticker
got = [json.loads(l) for l in open(sys.argv[1])]
exp = {m["killmail_id"]: m for m in map(json.loads, open(sys.argv[2]))}
bad, tick = [], 0
def walk(a, b, path):
    if isinstance(b, dict):
        if not isinstance(a, dict):
            return bad.append("%s: %r" % (path, a))
        t = a.get("ticker", "none")
        if t != "none":
            global tick
            want = ticker(a["name"], a["id"]) if a["name"] is not None else None
            if t != want: bad.append("%s.ticker: %r want %r" % (path, t, want))
            tick += 1
            a = {k: v for k, v in a.items() if k != "ticker"}
        if list(a) != list(b):
            return bad.append("%s: keys %s want %s" % (path, list(a), list(b)))
        for k in b: walk(a[k], b[k], path + "." + k)
    elif isinstance(b, list):
        if not isinstance(a, list) or len(a) != len(b):
            return bad.append("%s: list %r" % (path, a))
        for i, (x, y) in enumerate(zip(a, b)): walk(x, y, "%s[%d]" % (path, i))
    elif a != b or (a is None) != (b is None) or type(a) is bool and type(b) is not bool:
        bad.append("%s: %r want %r" % (path, a, b))
ids = [m["killmail_id"] for m in got]
if sorted(ids) != sorted(exp) or len(set(ids)) != len(ids):
    bad.append("killmail ids differ")
for m in got:
    if m["killmail_id"] in exp: walk(m, exp[m["killmail_id"]], str(m["killmail_id"]))
for b in bad[:15]: print("# " + b)
print("mismatches=%d tickers=%d" % (len(bad), tick))
EOF
compare() { python3 "$T/compare.py" "$1" "$2" "$ROOT/tests/fake" | tee "$T/cmp.out" | tail -1; grep '^#' "$T/cmp.out"; }

# 1. golden: every field of every mail
esi-resolve <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0 at end of input"
is "$(wc -l <"$T/out")" 200 "one mail per package"
res=$(compare "$T/out" "$T/expect")
case $res in mismatches=0\ tickers=[1-9]*) ok 0 "golden mails: every field as tests/gen/mails.py computes it; tickers right";;
	*) ok 1 "golden mails"; diag "$res";; esac
is "$(grep -c 'warning' "$T/err")" 0 "no warnings on good input"
is "$(jq -c 'select(.killmail_id == 1000003) | [.attacker_count, (.attackers|length)]' "$T/out")" "[$(jq -c 'select(.killmail_id == 1000003) | .attackers | length' "$T/fx/killmails.ndjson"),$(jq -c 'select(.killmail_id == 1000003) | .attackers | length' "$T/fx/killmails.ndjson")]" \
	"a 500-attacker fight: attacker_count is the list's length"

# 2. the requests: no GET twice, each name asked in one successful batch,
#    few batches for ~700 ids, bad ids alone in a 404, backfill bodies fetched
jq -r 'select(.method == "GET") | .path' "$T/esi.log" | sort | uniq -d >"$T/dups"
is "$(wc -l <"$T/dups")" 0 "no GET sent twice (shared in flight, then cached)"
jq -r 'select(.path == "/universe/names" and .status == 200) | .body | fromjson | .[]' "$T/esi.log" | sort | uniq -d >"$T/ndups"
is "$(wc -l <"$T/ndups")" 0 "no id in two successful name batches"
n_ids=$(jq -r 'select(.path == "/universe/names" and .status == 200) | .body | fromjson | .[]' "$T/esi.log" | wc -l)
n_ok=$(jq -r 'select(.path == "/universe/names" and .status == 200) | .path' "$T/esi.log" | wc -l)
ok "$([ "$n_ids" -gt 600 ] && [ $((n_ok * 20)) -le "$n_ids" ]; echo $?)" "names batched: $n_ids ids in $n_ok successful requests"
alone=$(jq -r 'select(.path == "/universe/names" and .status == 404) | .body | fromjson | select(length == 1) | .[0]' "$T/esi.log" | sort -n | tr '\n' ',')
is "$alone" "$BAD," "each unresolvable id isolated alone, once (then remembered)"
n404=$(jq -r 'select(.path == "/universe/names" and .status == 404) | .path' "$T/esi.log" | wc -l)
nbad=$(echo "$BAD" | tr ',' '\n' | wc -l)
ok "$([ "$n404" -le $((nbad * 24)) ]; echo $?)" "isolation costs few errors ($n404 name 404s for $nbad bad ids)"
is "$(jq -r 'select(.path | startswith("/killmails/")) | .path' "$T/esi.log" | wc -l)" 50 \
	"killmail bodies fetched for the 50 backfill lines only"
is "$(jq -r 'select(.path | startswith("/killmails/")) | .headers["x-compatibility-date"]' "$T/esi.log" | sort -u)" "2026-08-18" \
	"X-Compatibility-Date sent"
is "$(jq -r '.headers["user-agent"]' "$T/esi.log" | sort -u)" "$USER_AGENT" "User-Agent sent on every request"
reqs=$(wc -l <"$T/esi.log")
diag "cold cache: $reqs ESI requests for 200 mails"

# 3. --ordered keeps input order; default may not (documented)
esi-resolve --ordered --no-tickers <"$T/in" >"$T/out2" 2>/dev/null
is "$(jq -r .killmail_id "$T/out2" | tr '\n' ' ')" "$(jq -r .killmail_id "$T/fx/killmails.ndjson" | tr '\n' ' ')" \
	"--ordered: mails in input order"
is "$(jq -c '[.. | objects | select(has("ticker"))] | length' "$T/out2" | sort -u)" 0 "--no-tickers: no tickers"

# 4. bad input: warnings and skips, never a crash; other lines pass through
{
	echo 'not json'
	echo '[1,2]'
	echo '{"hash":"abc"}'
	echo '{"killmail_id":5,"hash":"../../etc"}'
	echo '{"killmail_id":1000000,"hash":"0000000000000000000000000000000000000000"}'
	echo '{"killmail_id":999,"hash":"abcdef"}'
	echo '{"killmail_id":7,"esi":{"victim":1}}'
	echo '{"package":null}'
	echo '{"receipt":{"target":"discord","stream":"s","killmail_id":1,"status":"posted"}}'
	echo '{"stream":{"id":"x"},"mail":{"killmail_id":1}}'
	head -1 "$T/in"
} >"$T/bad.in"
esi-resolve <"$T/bad.in" >"$T/bad.out" 2>"$T/bad.err"
is "$?" 0 "bad input: exit 0"
is "$(grep -c warning "$T/bad.err")" 7 "one warning per bad line"
grep -q 'info: done lines=11 .* malformed=2$' "$T/bad.err"
ok $? "the two lines that are no JSON object are counted as malformed"
is "$(jq -c 'if .receipt then "receipt" elif .stream then "pair" else .killmail_id end' "$T/bad.out" | tr '\n' ' ')" \
	'"receipt" "pair" 1000000 ' "pairs and receipts pass through unchanged, the good package resolves"
grep -q 'skipped killmail_id=1000000' "$T/bad.err"
ok $? "a killmail ESI refuses (wrong hash, 422) is a warning, not a mail"

# 5. usage
esi-resolve --bogus </dev/null 2>/dev/null
is "$?" 100 "unknown option: exit 100"
ESI_TTL_MIN=soon esi-resolve </dev/null 2>/dev/null
is "$?" 100 "malformed duration: exit 100"

done_testing
