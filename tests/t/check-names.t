#!/bin/bash
# insight check asks ESI (the fake) whether the names of the streams exist:
# a misspelt alliance, ship group, region, system or type is a warning with
# the file and JSON path, with a suggestion for universe names; a "$NAME"
# target that no poster has is flagged; the names are resolved through the
# shared cache (Redis) too; ESI that cannot be reached is one warning and
# the exit code is the same with and without it.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/data" >/dev/null || { echo "1..0 # SKIP fixtures failed"; exit 0; }
start_fake esi esi --data "$T/data" || exit 1
export INSIGHT_SERVICES=$ROOT/services
unset ESI_URL REDIS_URL INSIGHT_ENV INSIGHT_RUN
S=$T/state
mkdir -p "$S/env/post-discord" "$S/env/post-slack"
echo "$esi_url/hook/1/t" >"$S/env/post-discord/HORDE_FEED"
: >"$S/env/post-slack/EMPTY"
check() { timeout 120 "$ROOT/bin/insight" -s "$S" check "$@"; }
requests() { grep -c "\"path\": \"$1" "$T/esi.log"; }

# Names from the synthetic universe (tests/gen/fixtures.py): the alliance
# "Goonish Logistics Alliance", the group "Titan", the region "Deepvoid",
# the system "Arvoda", the type "Avatar".
mkdir "$T/typos" "$T/good"
cat >"$T/typos/horde.json" <<'EOF'
{"match": {"involved": {"alliance": ["Goonish Logistcs Alliance"]},
           "attacker": {"ship_group": ["Titn", "Dreadnought"]},
           "region": ["Deepviod"],
           "near": [{"system": "Arvod", "jumps": 5}]},
 "mentions": [{"when": {"victim": {"ship": ["Avatr"]}}, "content": "@here"}],
 "targets": [{"discord": "$HORDE_FEED"}, {"slack": "$NOBODY"}, {"slack": "$EMPTY"}]}
EOF
cat >"$T/typos/paused.json" <<'EOF'
{"enabled": false, "match": {"system": ["Jitta"]}, "targets": [{"discord": "$PAUSED"}]}
EOF
cat >"$T/good/exact.json" <<'EOF'
{"match": {"involved": {"alliance": ["goonish logistics alliance", 99000001]},
           "region": ["DEEPVOID"], "near": [{"system": "Arvoda", "lightyears": 5}],
           "victim": {"ship": ["Avatar"]}},
 "targets": [{"discord": "$HORDE_FEED"}, {"stdout": true}]}
EOF

# --- stream-fanout --names: what is written, where, as written
out=$(stream-fanout --names "$T/typos/horde.json")
is "$?" 0 "--names: exit 0"
is "$(echo "$out" | jq -r 'select(.kind == "ship_group") | "\(.path) \(.name)"' | sort)" \
	"\$.match.attacker.ship_group[0] Titn
\$.match.attacker.ship_group[1] Dreadnought" "--names: ship groups with their JSON paths, spelt as written"
is "$(echo "$out" | jq -r 'select(.kind == "system") | .path')" '$.match.near[0].system' \
	"--names: a near reference is a system"
is "$(echo "$out" | jq -r 'select(.kind == "ship") | .path')" '$.mentions[0].when.victim.ship[0]' \
	"--names: names of the mention rules too"
is "$(echo "$out" | jq -r 'select(.env) | "\(.target) \(.env)"' | tr '\n' ' ')" \
	"discord HORDE_FEED slack NOBODY slack EMPTY " "--names: the \"\$NAME\" targets"
out=$(stream-fanout --names "$T/typos/paused.json")
is "$(echo "$out" | jq -r '.kind // .env')" "system" "--names: a disabled stream's names, not its targets"
echo '{"match": {"valeu": 1}, "targets": [{"stdout": true}]}' >"$T/bad.json"
out=$(stream-fanout --names "$T/bad.json" 2>&1)
is "$?:$out" "100:" "--names: a file that does not load: exit 100, nothing written"

# --- insight check with ESI: every misspelt name, where it is written
ESI_URL=$esi_url check "$T/typos" >"$T/out" 2>"$T/err"
is "$?" 0 "typos: exit 0 (warnings do not change it)"
is "$(grep -v 'no poster has' "$T/out")" \
"$T/typos/horde.json: \$.match.involved.alliance[0]: no alliance named \"Goonish Logistcs Alliance\" (ESI resolves exact names only)
$T/typos/horde.json: \$.match.attacker.ship_group[0]: no ship group named \"Titn\" (did you mean \"Titan\"?)
$T/typos/horde.json: \$.match.region[0]: no region named \"Deepviod\" (did you mean \"Deepvoid\"?)
$T/typos/horde.json: \$.match.near[0].system: no system named \"Arvod\" (did you mean \"Arvoda\"?)
$T/typos/horde.json: \$.mentions[0].when.victim.ship[0]: no ship type named \"Avatr\" (did you mean \"Avatar\"?)
$T/typos/paused.json: \$.match.system[0]: no system named \"Jitta\"" \
	"typos: one warning per misspelt name, with a suggestion for universe names"
is "$(grep 'no poster has' "$T/out")" \
"$T/typos/horde.json: \$.targets[1].slack: no poster has \$NOBODY: put its webhook URL in $S/env/post-slack/NOBODY
$T/typos/horde.json: \$.targets[2].slack: no poster has \$EMPTY: put its webhook URL in $S/env/post-slack/EMPTY" \
	"typos: a \"\$NAME\" target without a poster's env file, or with an empty one, is flagged"
is "$(cat "$T/err")" "" "typos: nothing on stderr"
grep -q '"Dreadnought"' "$T/out"
ok $((!$?)) "typos: a group that exists is not flagged"
online=$(cat "$T/out")

: >"$T/esi.log"
ESI_URL=$esi_url check "$T/good" >"$T/out" 2>"$T/err"
is "$?:$(cat "$T/out" "$T/err")" "0:" "exact names, any case, ids: exit 0, nothing said"
is "$(requests /universe/ids)" 1 "exact names: one POST /universe/ids"
is "$(grep -c '"path"' "$T/esi.log")" 1 "exact names: no other request"

# The settings of the pipeline: ESI_URL from the site's env file.
mkdir -p "$S/env/esi-resolve"
echo "$esi_url" >"$S/env/esi-resolve/ESI_URL"
check "$T/typos" >"$T/out" 2>/dev/null
is "$(cat "$T/out")" "$online" "ESI_URL from \$STATE_DIR/env/esi-resolve: the same warnings"
rm "$S/env/esi-resolve/ESI_URL"

# An invalid file among valid ones: its errors, and the others' names.
cp "$T/bad.json" "$T/typos/"
ESI_URL=$esi_url check "$T/typos" >"$T/out" 2>/dev/null
is "$?" 100 "an invalid file: exit 100"
grep -q "bad.json: \$.match.valeu: unknown key" "$T/out"
ok $? "an invalid file: its error is shown"
grep -q 'no ship group named "Titn"' "$T/out"
ok $? "an invalid file: the names of the other files are checked all the same"

# --- through the shared cache: a second check asks ESI nothing
start_redis cache || exit 1
rm "$T/typos/bad.json"
REDIS_URL=$cache_url ESI_URL=$esi_url check "$T/typos" >"$T/out1" 2>/dev/null
kill "$esi_pid"
wait "$esi_pid" 2>/dev/null
REDIS_URL=$cache_url ESI_URL=$esi_url check "$T/typos" >"$T/out2" 2>"$T/err"
is "$?" 0 "cached: exit 0"
is "$(cat "$T/out2")" "$(cat "$T/out1")" "cached: the same warnings with ESI gone, from Redis"
is "$(cat "$T/err")" "" "cached: ESI was not needed"
is "$(cat "$T/out1")" "$online" "cached: the same warnings as without Redis"

# --- ESI that cannot be reached: said once, the rest checked, same exit
ESI_URL=$esi_url check "$T/typos" >"$T/out" 2>"$T/err"
is "$?" 0 "offline: exit 0, as online"
is "$(wc -l <"$T/err")" 1 "offline: one line on stderr"
grep -q "^esi-resolve: warning: names not checked: ESI cannot be reached host=127.0.0.1:$esi_port " "$T/err"
ok $? "offline: it says ESI cannot be reached, and where ($(cat "$T/err"))"
is "$(cat "$T/out")" "$(echo "$online" | grep 'no poster has')" \
	"offline: the targets are checked all the same"
cp "$T/bad.json" "$T/typos/"
ESI_URL=$esi_url check "$T/typos" >/dev/null 2>&1
is "$?" 100 "offline: an invalid file is exit 100, as online"
ESI_URL=$esi_url check "$ROOT/streams.d" >/dev/null 2>&1
is "$?" 0 "the shipped streams.d: exit 0 whatever the network"
done_testing
