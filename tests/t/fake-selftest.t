#!/bin/bash
# Self-test of the fake peers (tests/fake/fake.py) and the fixture generator
# (tests/gen/fixtures.py): starts every role on port 0 over synthetic
# fixtures and checks its behaviour with curl(1).  TAP on stdout.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FAKE="$ROOT/tests/fake/fake.py"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fake-selftest.XXXXXX")
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
failed=0
ok() {	# ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}
check() {	# check DESCRIPTION COMMAND...
	local d=$1
	shift
	"$@"
	ok $? "$d"
}
is() {	# is DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		echo "#   got:  '$2'"
		echo "#   want: '$3'"
	fi
}
# jtrue EXPR: stdin is JSON bound to d; succeed when the Python EXPR is true
jtrue() {
	python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if eval("(" + sys.argv[1] + ")") else 1)' "$1"
}
# start NAME ARGS...: run a fake, wait for its port file, set PORT_NAME
start() {
	local name=$1 i
	shift
	python3 "$FAKE" --quiet --port 0 --port-file "$TMP/$name.port" \
		--log "$TMP/$name.log" "$@" 2>"$TMP/$name.err" &
	PIDS+=($!)
	eval "PID_$name=$!"
	for i in $(seq 1 200); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.05
	done
	eval "PORT_$name=\$(cat \"\$TMP/\$name.port\" 2>/dev/null || echo 0)"
}
# code URL [CURL ARGS...]: print the HTTP status
code() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' "$@" "$url"
}
# hdr NAME FILE: value of a response header in a curl -D dump
hdr() {
	grep -i "^$1:" "$2" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

UA="fake-selftest/1 (test@example.invalid)"

# --------------------------------------------------------------- fixtures
python3 "$ROOT/tests/gen/fixtures.py" --out "$TMP/fx" --mails 60 --seed 7
ok $? "fixtures.py writes a fixture set"
for f in systems jumps constellations regions types groups categories names; do
	[ -s "$TMP/fx/$f.tsv" ] || break
done
ok $? "every .tsv file is present"
is "systems.tsv header" "$(head -1 "$TMP/fx/systems.tsv")" \
	"$(printf 'system_id\tname\tconstellation_id\tregion_id\tsecurity_status\tx\ty\tz')"
is "60 killmails" "$(wc -l <"$TMP/fx/killmails.ndjson" | tr -d ' ')" 60
python3 "$ROOT/tests/gen/fixtures.py" --out "$TMP/fx2" --mails 60 --seed 7
cmp -s "$TMP/fx/killmails.ndjson" "$TMP/fx2/killmails.ndjson"
ok $? "fixtures are deterministic for a seed"
python3 - "$TMP/fx" <<'EOF'
import json, sys
d = sys.argv[1]
seen = set()
for line in open(d + "/killmails.ndjson"):
    m = json.loads(line)
    a = m["attackers"]
    assert sum(x["final_blow"] for x in a) == 1
    assert sum(x["damage_done"] for x in a) == m["victim"]["damage_taken"]
    assert len(m["killmail_hash"]) == 40
    if "zkb" in m:
        assert m["zkb"]["hash"] == m["killmail_hash"]
        if "attackerCount" in m["zkb"]:
            assert m["zkb"]["attackerCount"] == len(a)
    seen.add(len(a) >= 500)
assert True in seen, "no 500+ attacker mail"
EOF
ok $? "killmails are self-consistent (final blow, damage, hash, 500+ attackers)"

# --------------------------------------------------------------- zkb
start zkb --role zkb --data "$TMP/fx" --published 5 --missing 90000003 \
	--duplicate 90000004:90000002 --updated 90000005:90000001
Z="http://127.0.0.1:$PORT_zkb"
curl -s -A "$UA" "$Z/ephemeral/sequence.json" | jtrue 'd == {"sequence": 90000005}'
ok $? "zkb: sequence.json reports the published head"
curl -s -A "$UA" "$Z/ephemeral/90000001.json" >"$TMP/p1"
jtrue 'd["sequence_id"] == 90000001 and d["killmail_id"] == 1000000 and
	d["esi"]["killmail_id"] == 1000000 and len(d["hash"]) == 40 and
	"killmail_hash" not in d["esi"] and "zkb" in d and
	isinstance(d["uploaded_at"], int)' <"$TMP/p1"
ok $? "zkb: package has killmail_id, hash, esi, zkb, uploaded_at, sequence_id"
is "zkb: 404 above the head" "$(code "$Z/ephemeral/90000006.json" -A "$UA")" 404
is "zkb: head retried too soon counts in head_early" \
	"$(code "$Z/ephemeral/90000006.json" -A "$UA")$(curl -s "$Z/_stats" | jtrue 'd["head_early"] == 1' && echo y)" 404y
is "zkb: --missing answers 404" "$(code "$Z/ephemeral/90000003.json" -A "$UA")" 404
curl -s -A "$UA" "$Z/ephemeral/90000004.json" | jtrue 'd["killmail_id"] == 1000001 and d["sequence_id"] == 90000004'
ok $? "zkb: --duplicate serves the other killmail"
curl -s -A "$UA" "$Z/ephemeral/90000005.json" | jtrue 'd["sequence_updated"] == 90000001'
ok $? "zkb: --updated adds sequence_updated"
is "zkb: empty User-Agent is 403" "$(code "$Z/ephemeral/90000001.json" -H 'User-Agent:')" 403
curl -s -d '{"publish": 2}' "$Z/_ctl" | jtrue 'd == {"ok": True}'
ok $? "zkb: _ctl publish answers ok"
curl -s -A "$UA" "$Z/ephemeral/sequence.json" | jtrue 'd["sequence"] == 90000007'
ok $? "zkb: sequence advances after publish"
is "zkb: newly published package" "$(code "$Z/ephemeral/90000007.json" -A "$UA")" 200
curl -s -D "$TMP/h" -o "$TMP/gz" -A "$UA" -H 'Accept-Encoding: gzip' "$Z/ephemeral/90000002.json"
is "zkb: gzip when asked" "$(hdr Content-Encoding "$TMP/h")" gzip
gunzip -c <"$TMP/gz" | jtrue 'd["sequence_id"] == 90000002'
ok $? "zkb: gzip body decodes"
curl -s -D "$TMP/h" -o /dev/null -A "$UA" "$Z/listen.php?queueID=q1&ttw=1"
is "redisq: listen answers 302" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 302
case "$(hdr Location "$TMP/h")" in
*/object.php\?objectID=*) ok 0 "redisq: redirect to object.php" ;;
*) ok 1 "redisq: redirect to object.php" ;;
esac
curl -s -L -A "$UA" "$Z/listen.php?queueID=q1&ttw=1" |
	jtrue 'd["package"]["killID"] == 1000001 and d["package"]["killmail"]["killmail_id"] == 1000001 and "zkb" in d["package"]'
ok $? "redisq: second listen gives the next killmail"
is "redisq: no queueID is 429" "$(code "$Z/listen.php?ttw=1" -A "$UA")" 429
curl -s "$Z/_stats" | jtrue 'd["routes"]["ephemeral"] >= 6 and d["status"]["403"] == 1'
ok $? "zkb: _stats counts routes and statuses"
grep -q '"path": "/ephemeral/90000001.json"' "$TMP/zkb.log" &&
	grep -q '"user-agent": "fake-selftest/1' "$TMP/zkb.log" &&
	! grep -q '"/_ctl' "$TMP/zkb.log"
ok $? "zkb: --log records requests (not control routes)"
curl -s "$Z/_log" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert all(set(e) >= {"t", "method", "path", "headers", "body", "status"} for e in lines)
assert lines[0]["path"] == "/ephemeral/sequence.json" and lines[0]["status"] == 200
'
ok $? "zkb: GET /_log returns the same records"

start zkb2 --role zkb --data "$TMP/fx" --published 0 --ttw-max 0.2 --rate 2
Z2="http://127.0.0.1:$PORT_zkb2"
curl -s -A "$UA" "$Z2/ephemeral/sequence.json" | jtrue 'd["sequence"] == 90000001'
ok $? "zkb: nothing published: sequence.json is the first number"
curl -s -A "$UA" "$Z2/listen.php?queueID=q&ttw=5" | jtrue 'd == {"package": None}'
ok $? "redisq: null package when nothing comes (ttw capped by --ttw-max)"
# 5 requests within less than 2 s: some 1-second window gets 3 > --rate 2
: >"$TMP/h"
for i in 1 2 3 4 5; do
	curl -s -D - -o /dev/null -A "$UA" "$Z2/ephemeral/$i.json" >>"$TMP/h"
done
grep -q '^HTTP/1.1 429' "$TMP/h" && [ -n "$(hdr Retry-After "$TMP/h")" ]
ok $? "zkb: --rate answers 429 with Retry-After"
curl -s "$Z2/_stats" | jtrue 'd["status"].get("429", 0) >= 1 and d["early"] >= 0'
ok $? "zkb: 429 counted in _stats"

# --------------------------------------------------------------- esi
start esi --role esi --data "$TMP/fx" --bad-ids 90000002
E="http://127.0.0.1:$PORT_esi"
curl -s -d '[90000001, 98000001, 99000001, 30000001, 587, 20000001, 10000001, 500001]' \
	"$E/universe/names/" | jtrue '[x["category"] for x in d] == ["character",
	"corporation", "alliance", "solar_system", "inventory_type", "constellation",
	"region", "faction"] and d[3]["name"] == "Arvoda" and d[4]["name"] == "Rifter"'
ok $? "esi: names batch resolves every category"
curl -s -d '[90000901]' "$E/universe/names" | jtrue 'd[0]["name"] == "Pilot 90000901" and d[0]["category"] == "character"'
ok $? "esi: id missing from names.tsv gets a made-up name"
curl -s -D "$TMP/h" -o "$TMP/b" -d '[90000001, 90000002]' "$E/universe/names"
is "esi: one bad id fails the whole batch with 404" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 404
jtrue 'd == {"error": "Ensure all IDs are valid before resolving."}' <"$TMP/b"
ok $? "esi: names 404 body"
curl -s -d '["arvoda", "Rifter", "No Such Place"]' "$E/universe/ids" |
	jtrue 'd == {"systems": [{"id": 30000001, "name": "Arvoda"}], "inventory_types": [{"id": 587, "name": "Rifter"}]}'
ok $? "esi: /universe/ids resolves names case-insensitively, leaves out the unknown"
is "esi: duplicate ids are 400" "$(code "$E/universe/names" -d '[1,1]')" 400
curl -s -D "$TMP/h" -o "$TMP/b" "$E/latest/universe/systems/30000002/"
jtrue 'd["stargates"] == [50000002, 50000003, 50000004] and d["constellation_id"] == 20000001 and d["security_status"] == 0.945913' <"$TMP/b"
ok $? "esi: system with stargates (versioned path, trailing slash)"
case "$(hdr Cache-Control "$TMP/h")" in
"public, max-age=86400") [ -n "$(hdr Expires "$TMP/h")" ] ;;
*) false ;;
esac
ok $? "esi: universe routes send Cache-Control and Expires"
curl -s "$E/universe/stargates/50000001" | jtrue 'd["system_id"] == 30000001 and
	d["destination"] == {"stargate_id": 50000002, "system_id": 30000002}'
ok $? "esi: stargate destination"
curl -s "$E/universe/stargates/50000002" | jtrue 'd["destination"]["stargate_id"] == 50000001'
ok $? "esi: destination gate leads back"
curl -s "$E/universe/systems/31000001" | jtrue '"stargates" not in d'
ok $? "esi: wormhole system has no stargates key"
curl -s "$E/universe/types/670" | jtrue 'd["group_id"] == 29 and d["name"] == "Capsule"'
ok $? "esi: type"
curl -s "$E/universe/groups/30" | jtrue 'd["category_id"] == 6 and 11567 in d["types"]'
ok $? "esi: group lists its types"
curl -s "$E/corporations/98000001" | jtrue 'd["alliance_id"] == 99000001 and 2 <= len(d["ticker"]) <= 5'
ok $? "esi: corporation with alliance and ticker"
curl -s "$E/corporations/98000099" | jtrue 'd["name"] == "Corporation 98000099"'
ok $? "esi: unnamed corporation gets a made-up name"
is "esi: --bad-ids character is 404" "$(code "$E/characters/90000002")" 404
read -r KID KHASH < <(head -1 "$TMP/fx/killmails.ndjson" | python3 -c \
	'import json,sys; d=json.load(sys.stdin); print(d["killmail_id"], d["killmail_hash"])')
curl -s -D "$TMP/h" -o "$TMP/b" -H 'Accept-Encoding: gzip' --compressed "$E/killmails/$KID/$KHASH/"
jtrue "d['killmail_id'] == $KID and 'zkb' not in d and 'killmail_hash' not in d" <"$TMP/b"
ok $? "esi: killmail by id and hash (gzip)"
is "esi: killmail rate-limit group header" "$(hdr X-Ratelimit-Group "$TMP/h")" killmail
is "esi: killmail cache header" "$(hdr Cache-Control "$TMP/h")" "public, max-age=2592000"
is "esi: wrong hash is 422" "$(code "$E/killmails/$KID/0000000000000000000000000000000000000000/")" 422
is "esi: unknown killmail is 404" "$(code "$E/killmails/1/0000000000000000000000000000000000000000/")" 404

curl -s -D "$TMP/h" -o /dev/null -H 'If-None-Match: "nope"' "$E/universe/types/587"
etag=$(hdr ETag "$TMP/h")
is "esi: If-None-Match with the ETag gives 304" "$(code "$E/universe/types/587" -H "If-None-Match: $etag")" 304

start esi2 --role esi --data "$TMP/fx" --error-limit 3 --error-window 60 --km-tokens 4
E2="http://127.0.0.1:$PORT_esi2"
codes=""
for i in 1 2 3 4; do
	codes="$codes $(code "$E2/universe/types/999999999")"
done
is "esi: 420 after --error-limit errors" "$codes" " 404 404 404 420"
curl -s -D "$TMP/h" -o "$TMP/b" "$E2/universe/types/587"
is "esi: 420 on every route while limited" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 420
is "esi: X-ESI-Error-Limit-Remain is 0" "$(hdr X-ESI-Error-Limit-Remain "$TMP/h")" 0
reset=$(hdr X-ESI-Error-Limit-Reset "$TMP/h")
[ "$reset" -ge 1 ] && [ "$reset" -le 60 ]
ok $? "esi: X-ESI-Error-Limit-Reset in 1..60"
curl -s "$E2/_stats" | jtrue 'd["early"] == 2 and d["status"]["420"] == 2'
ok $? "esi: requests while limited count as early"
curl -s -d '{"reset_errors": true}' "$E2/_ctl" >/dev/null
codes=""
for i in 1 2 3; do
	codes="$codes $(code "$E2/killmails/$KID/$KHASH")"
done
is "esi: killmail bucket (--km-tokens 4) answers 429 when spent" "$codes" " 200 200 429"

# --------------------------------------------------------------- discord
start dsc --role discord --bucket-limit 5 --bucket-window 30 --ctl '{"dead": ["666"]}'
D="http://127.0.0.1:$PORT_dsc"
J='Content-Type: application/json'
is "discord: post answers 204" "$(code "$D/api/webhooks/1/tok" -H "$J" -d '{"content":"hello"}')" 204
long=$(printf 'x%.0s' $(seq 257))
curl -s -D "$TMP/h" -o "$TMP/b" -H "$J" -d "{\"embeds\":[{\"title\":\"$long\"}]}" "$D/api/v10/webhooks/2/tok"
is "discord: 257-char title is 400" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 400
jtrue 'd["code"] == 50035 and "title" in d["errors"]["embeds"]["0"]' <"$TMP/b"
ok $? "discord: 400 body names the field (code 50035)"
is "discord: empty message is 50006" "$(curl -s -H "$J" -d '{}' "$D/api/webhooks/2/tok" | jtrue 'd["code"] == 50006' && echo y)" y
for i in 1 2 3 4; do
	code "$D/api/webhooks/1/tok" -H "$J" -d '{"content":"x"}' >/dev/null
done
curl -s -D "$TMP/h" -o "$TMP/b" -H "$J" -d '{"content":"x"}' "$D/api/webhooks/1/tok"
is "discord: 429 after the bucket is spent" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 429
[ -n "$(hdr Retry-After "$TMP/h")" ] && [ "$(hdr X-RateLimit-Remaining "$TMP/h")" = 0 ] &&
	[ "$(hdr X-RateLimit-Limit "$TMP/h")" = 5 ] && [ -n "$(hdr X-RateLimit-Reset-After "$TMP/h")" ] &&
	[ -n "$(hdr X-RateLimit-Bucket "$TMP/h")" ]
ok $? "discord: 429 carries Retry-After and X-RateLimit-* headers"
jtrue 'd["global"] is False and d["retry_after"] > 0' <"$TMP/b"
ok $? "discord: 429 body"
curl -s -o "$TMP/b" -H "$J" -d '{"content":"x"}' "$D/api/webhooks/666/tok"
jtrue 'd == {"message": "Unknown Webhook", "code": 10015}' <"$TMP/b"
ok $? "discord: dead webhook is 404 code 10015"
curl -s -d '{"bad_token": ["7"]}' "$D/_ctl" >/dev/null
curl -s -H "$J" -d '{"content":"w"}' "$D/api/webhooks/8/tok?wait=true" | jtrue 'd["content"] == "w" and d["webhook_id"] == "8"'
ok $? "discord: ?wait=true answers the message object"
is "discord: bad token is 401" "$(code "$D/api/webhooks/7/tok" -H "$J" -d '{"content":"x"}')" 401
mid=$(curl -s -H "$J" -d '{"content":"v"}' "$D/api/webhooks/8/tok?wait=true" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s "$D/_posts" | grep -q "\"id\": \"$mid\""
ok $? "discord: /_posts names the id of a message posted with ?wait=true"
is "discord: an edit over a limit is 400, as a post is" \
	"$(code "$D/api/webhooks/8/tok/messages/$mid" -X PATCH -H "$J" -d "{\"embeds\":[{\"title\":\"$long\"}]}")" 400
curl -s -d '{"global_429": 30}' "$D/_ctl" >/dev/null
curl -s -D "$TMP/h" -o "$TMP/b" -H "$J" -d '{"content":"x"}' "$D/api/webhooks/9/tok"
[ "$(hdr X-RateLimit-Global "$TMP/h")" = true ] && jtrue 'd["global"] is True' <"$TMP/b"
ok $? "discord: _ctl global_429"
curl -s "$D/_stats" | jtrue 'd["early"] == 1 and d["posts"] == 7'
ok $? "discord: _stats counts early requests and posts"
curl -s "$D/_posts" | python3 -c '
import json, sys
p = [json.loads(l) for l in sys.stdin]
assert len(p) == 7 and p[0]["webhook"] == "1" and p[0]["body"] == {"content": "hello"}
'
ok $? "discord: /_posts lists accepted posts"

# --------------------------------------------------------------- slack
start slk --role slack --burst 2 --interval 30
S="http://127.0.0.1:$PORT_slk"
curl -s -D "$TMP/h" -o "$TMP/b" -H "$J" -d '{"text":"hello"}' "$S/services/T1/B1/X1"
is "slack: post answers 200 ok" "$(head -1 "$TMP/h" | cut -d' ' -f2) $(cat "$TMP/b")" "200 ok"
code "$S/services/T1/B1/X1" -H "$J" -d '{"text":"two"}' >/dev/null
curl -s -D "$TMP/h" -o /dev/null -H "$J" -d '{"text":"three"}' "$S/services/T1/B1/X1"
is "slack: 429 over the rate" "$(head -1 "$TMP/h" | cut -d' ' -f2)" 429
[ "$(hdr Retry-After "$TMP/h")" -ge 1 ]
ok $? "slack: 429 carries Retry-After"
is "slack: other webhook has its own bucket" "$(code "$S/services/T1/B1/X2" -H "$J" -d '{"text":"a"}')" 200
is "slack: no text is 400 no_text" "$(curl -s -w ' %{http_code}' -H "$J" -d '{"x":1}' "$S/services/T1/B1/X2")" "no_text 400"
curl -s -d '{"errors": {"X3": "no_service"}}' "$S/_ctl" >/dev/null
is "slack: _ctl errors gives no_service 404" \
	"$(curl -s -w ' %{http_code}' -H "$J" -d '{"text":"a"}' "$S/services/T1/B1/X3")" "no_service 404"
curl -s -d '{"clear":true,"faults":[{"match":"X4","status":500,"body":"rollup_error"}]}' "$S/_ctl" >/dev/null
is "faults: injected status once" "$(code "$S/services/T1/B1/X4" -H "$J" -d '{"text":"a"}') $(code "$S/services/T1/B1/X4" -H "$J" -d '{"text":"a"}')" "500 200"
curl -s -d '{"faults":[{"match":"X5","reset":true}]}' "$S/_ctl" >/dev/null
curl -s -o /dev/null -H "$J" -d '{"text":"a"}' "$S/services/T1/B1/X5"
rc=$?
[ $rc -eq 52 ] || [ $rc -eq 56 ]
ok $? "faults: reset closes the connection without an answer (curl rc $rc)"
curl -s -d '{"faults":[{"match":"X6","delay":0.4}]}' "$S/_ctl" >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$J" -d '{"text":"slow"}' "$S/services/T1/B1/X6")
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.4 else 1)' "$t"
ok $? "faults: delay-only fault delays, then the role answers ($t s)"
curl -s "$S/_posts" | python3 -c '
import json, sys
p = [json.loads(l) for l in sys.stdin]
assert [x["body"]["text"] for x in p] == ["hello", "two", "a", "a", "slow"], p
assert p[0]["webhook"] == "T1/B1/X1"
'
ok $? "slack: /_posts lists accepted posts"
is "ctl: unknown key is refused" "$(code "$S/_ctl" -d '{"no_such_key": 1}')" 400

# --------------------------------------------------------------- shutdown
kill -TERM "$PID_slk"
wait "$PID_slk"
is "SIGTERM exits 0" $? 0

echo "1..$n"
[ "$failed" -eq 0 ]
