#!/bin/bash
# insight check against the fake ESI serving the real universe: the names of
# the shipped streams.d that the universe has pass in silence (their
# alliance is only there if a killmail of the data set names it), and the
# typos of the issue ("Titn", "The Froge", an alliance one letter short)
# are warnings, with a suggestion for the universe names only.
. "$(dirname "$0")/../lib.sh"
real_data

start_fake esi esi --data "$REAL_DATA" || exit 1
export ESI_URL=$esi_url INSIGHT_SERVICES=$ROOT/services
unset REDIS_URL INSIGHT_ENV INSIGHT_RUN
check() { timeout 300 "$ROOT/bin/insight" -s "$T/state" check "$@"; }

check "$ROOT/streams.d" >"$T/out" 2>"$T/err"
is "$?" 0 "streams.d: exit 0"
has_horde=$(awk -F'\t' '$2 == "alliance" && $3 == "Pandemic Horde"' "$REAL_DATA/names.tsv")
grep -v -e 'no poster has' -e '"Pandemic Horde"' "$T/out" >"$T/rest"
is "$(cat "$T/rest" "$T/err")" "" "streams.d: every system and ship group of the examples exists"
[ -n "$has_horde" ] || diag "the data set has no alliance named Pandemic Horde: its warning is expected"

mkdir "$T/typos"
cat >"$T/typos/t.json" <<'JSON'
{"match": {"involved": {"alliance": ["Goonswarm Federatio"]},
           "attacker": {"ship_group": ["Titn"]},
           "region": ["The Froge"],
           "near": [{"system": "Amamak", "jumps": 5}]},
 "targets": [{"stdout": true}]}
JSON
check "$T/typos" >"$T/out" 2>"$T/err"
is "$?" 0 "typos: exit 0"
is "$(cat "$T/out")" \
"$T/typos/t.json: \$.match.involved.alliance[0]: no alliance named \"Goonswarm Federatio\" (ESI resolves exact names only)
$T/typos/t.json: \$.match.attacker.ship_group[0]: no ship group named \"Titn\" (did you mean \"Titan\"?)
$T/typos/t.json: \$.match.region[0]: no region named \"The Froge\" (did you mean \"The Forge\"?)
$T/typos/t.json: \$.match.near[0].system: no system named \"Amamak\" (did you mean \"Amamake\"?)" \
	"typos: each one, with the nearest universe name"
is "$(cat "$T/err")" "" "typos: nothing on stderr"
diag "requests to ESI: $(grep -c '"path"' "$T/esi.log")"
done_testing
