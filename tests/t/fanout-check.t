#!/bin/bash
# stream-fanout --check: the catalogue of broken files in tests/data/streams-bad
# (each with its expected messages), good files, directories, the exit codes,
# the warning for a world-readable file holding a webhook token, and what the
# running fanout does with files that do not load.
. "$(dirname "$0")/../lib.sh"

bad=$ROOT/tests/data/streams-bad
for f in "$bad"/*.json; do
	name=$(basename "$f" .json)
	got=$(cd "$bad" && stream-fanout --check "$name.json" 2>"$T/err")
	rc=$?
	is "$got" "$(cat "$bad/$name.err")" "catalogue: $name: the expected messages"
	is "$rc" 100 "catalogue: $name: exit 100"
done

# Examples of insight-streams(5) and the stdout target are valid.
mkdir -p "$T/good"
cat >"$T/good/horde.json" <<'EOF'
{"name": "Horde killboard",
 "match": {"involved": {"alliance": ["Pandemic Horde"]}, "npc": false},
 "targets": [{"discord": "$HORDE_FEED"}]}
EOF
cat >"$T/good/capitals.json" <<'EOF'
{"match": {"attacker": {"ship_group": ["Titan", "Supercarrier", "Carrier",
                                      "Dreadnought", "Force Auxiliary"]},
           "near": [{"system": "1DQ1-A", "lightyears": 7}],
           "age": {"max": "20m"}},
 "mentions": [{"content": "@here", "cooldown": "10m"}],
 "targets": [{"discord": "$RADAR"}, {"slack": "$RADAR_SLACK"}]}
EOF
cat >"$T/good/amamake.json" <<'EOF'
{"match": {"near": [{"system": "Amamake", "jumps": 5}],
           "not": {"any": [{"victim": {"ship_group": ["Capsule"]}},
                           {"attacker": {"alliance": [99005338, 99003581]}}]}},
 "targets": [{"slack": "$INTEL"}]}
EOF
cat >"$T/good/everything.json" <<'EOF'
{"_comment": "every key once", "name": "All keys", "enabled": false,
 "description": "free text",
 "match": {"all": [{"victim": {"character": [1], "corporation": ["C"], "alliance": [2],
                               "faction": [3], "ship": [4], "ship_group": ["G"],
                               "ship_category": [6], "damage": {"min": 1}, "npc": false}}],
           "any": [{"attacker": {"weapon": [1], "weapon_group": ["W"], "weapon_category": [7],
                                 "security_status": {"max": 0}, "share": {"min": 0.5},
                                 "count": {"min": 2}}},
                   {"final_blow": {"alliance": [2]}}, {"involved": {"corporation": [5]}}],
           "not": {"system": [30000142], "constellation": ["K"], "region": [10000002]},
           "security": {"min": -1, "max": 0.45}, "space": ["highsec", "pochven"],
           "location": [40009082], "value": {"min": 1e9}, "fitted_value": {"max": 1e12},
           "dropped_value": {}, "destroyed_value": {"min": 0}, "points": {"min": 1},
           "attacker_count": {"max": 10}, "npc": false, "solo": true, "awox": false,
           "war": false, "labels": {"any": ["pvp"], "all": ["tz:eu"], "none": ["npc"]},
           "age": {"min": "-1m", "max": "7d"}, "hour": {"from": 18, "to": 2},
           "jq": ".mail.killmail_id > 0"},
 "mentions": [{"when": {"value": {"min": 5e9}}, "content": "<@&1>", "cooldown": "15m"},
              {"content": "@here", "max_age": "10m", "cooldown": 1800}],
 "display": {"color": {"kill": "#00ff00"}, "show": {"fleet": false}},
 "targets": [{"discord": "https://discord.com/api/webhooks/1/t", "style": "compact",
              "username": "Insight", "avatar_url": "https://example.com/a.png"},
             {"slack": "http://127.0.0.1:9/hook", "style": "link"},
             {"stdout": true, "style": "compact"}]}
EOF
chmod 600 "$T/good/everything.json"
out=$(stream-fanout --check "$T/good" 2>"$T/err")
is "$?" 0 "good directory: exit 0"
is "$out" "" "good directory: no output"
is "$(cat "$T/err")" "" "good directory: nothing on stderr (the file with URLs is private)"
STREAMS_DIR=$T/good stream-fanout --check >/dev/null
is "$?" 0 "--check without arguments checks STREAMS_DIR"

# Several arguments: every error of every file and directory, exit 100.
mkdir -p "$T/mixed"
cp "$T/good/horde.json" "$bad/unknown-key.json" "$bad/types.json" "$T/mixed/"
out=$(stream-fanout --check "$T/mixed" "$T/good/capitals.json" "$bad/jq.json" 2>/dev/null)
is "$?" 100 "mixed arguments: exit 100"
is "$(echo "$out" | wc -l)" 5 "mixed arguments: every error listed (1 + 3 + 1)"
echo "$out" | grep -q "^$T/mixed/unknown-key.json: \$.match.victim.alliace: unknown key"
ok $? "mixed arguments: errors name the file by its path"
stream-fanout --check "$T/nonexistent" >"$T/out" 2>/dev/null
is "$?" 100 "a missing file is an error"
grep -q "^$T/nonexistent: \\$: cannot read: No such file or directory" "$T/out"
ok $? "a missing file: cannot read"
stream-fanout --check "$T/good/.hidden.json" "$T/good/x.txt" >/dev/null 2>&1
is "$?" 100 "files named on the command line are checked whatever their names"

# Dot files (editors' swap and lock files) and other extensions are skipped.
printf 'garbage' >"$T/good/.horde.json.swp"
printf 'garbage' >"$T/good/.#horde.json"
printf 'garbage' >"$T/good/notes.txt"
stream-fanout --check "$T/good" >/dev/null
is "$?" 0 "a directory's dot files and non-.json files are not streams"

# A world-readable file that holds a webhook URL gets a warning, not an error.
mkdir -p "$T/open"
printf '%s\n' '{"targets": [{"stdout": true}, {"discord": "https://discord.com/api/webhooks/123/SECRETTOKEN"}]}' >"$T/open/leaky.json"
chmod 644 "$T/open/leaky.json"
out=$(stream-fanout --check "$T/open" 2>"$T/err")
is "$?" 0 "world-readable token: still valid (exit 0)"
grep -q "warning: $T/open/leaky.json: \$.targets\[1\]: world-readable file holds a webhook token" "$T/err"
ok $? "world-readable token: warned"
grep -q SECRETTOKEN "$T/err"
ok $((! $?)) "world-readable token: the warning does not show the token"
chmod 640 "$T/open/leaky.json"
stream-fanout --check "$T/open" 2>"$T/err"
is "$(cat "$T/err")" "" "a file others cannot read: no warning"
printf '%s\n' '{"targets": [{"discord": "$HOOK"}]}' >"$T/open/leaky.json"
chmod 644 "$T/open/leaky.json"
stream-fanout --check "$T/open" 2>"$T/err"
is "$(cat "$T/err")" "" "\$NAME in a world-readable file: no warning"

# The running fanout: broken files are warned about and left out, the rest run.
mkdir -p "$T/run"
cp "$T/good/horde.json" "$bad/half-written.json" "$T/run/"
echo '{"killmail_id":1,"victim":{},"attackers":[]}' |
	stream-fanout -d "$T/run" --no-index >"$T/out" 2>"$T/err"
is "$?" 0 "fanout with a broken file: runs"
grep -q "warning: $T/run/half-written.json: \$: invalid JSON" "$T/err"
ok $? "fanout with a broken file: warned at load"
is "$(jq -r .stream.id "$T/out")" horde "fanout with a broken file: the good stream still gets mails"
stream-fanout -d "$T/nonexistent" </dev/null 2>/dev/null
is "$?" 100 "fanout: an unreadable streams directory exits 100"
stream-fanout --shard 3/3 -d "$T/run" </dev/null 2>/dev/null
is "$?" 100 "fanout: --shard K/N needs K < N"
stream-fanout --bogus </dev/null 2>/dev/null
is "$?" 100 "fanout: an unknown option exits 100"
done_testing
