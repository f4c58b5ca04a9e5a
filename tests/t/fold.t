#!/bin/bash
# Fight folding (insight-streams(5), FOLD): a stream's kills in one system
# close in time are a fight; below "min" they are posted one by one, the
# kill that makes "min" makes one message summing the fight, later kills
# edit it (several waiting kills, one edit), the fight ends when a kill
# starts another fight or "window" passes, and a last edit marks it over.
# Slack cannot edit: one summary when the fight is over.  A kill -9 makes
# no second message and loses or doubles no kill.
. "$(dirname "$0")/../lib.sh"
command -v jq >/dev/null || skip_all "no jq"
command -v post-discord >/dev/null || skip_all "no post-discord in BIN"
PAIR=$ROOT/tests/data/render/basic.pair.json

# mk FROM TO [JQ]: pairs for killmails FROM..TO of a folding stream, in
# system 30002813, a kill every 10 s from 2026-07-04T18:00:00Z, worth
# (id mod 100) million ISK, alternately kills and losses; JQ edits each
mk() {
	jq -c --argjson a "$1" --argjson b "$2" --arg u "$U" \
		'range($a; $b + 1) as $i | .mail.killmail_id = $i | .mail.url = null
		 | .mail.time = ("2026-07-04T18:00:00Z" | fromdate + 10 * ($i % 1000) | todate)
		 | .mail.value.total = ($i % 100) * 1000000
		 | .match = {kind: (if $i % 2 == 0 then "kill" else "loss" end)}
		 | .mail.victim.ship.name = (["Rifter", "Caracal", "Rifter", "Drake"][$i % 4])
		 | .mail.victim.character.name = "Pilot \($i)"
		 | del(.stream.mentions)
		 | .stream.fold = {window: (env.WIN // "1h"), min: 3}
		 | .stream.targets = [{discord: $u}] | '"${3:-.}" "$PAIR"
}
posts() { curl -s "$d_url/_posts"; }
receipts() { grep '"receipt"' "$2" | grep -c "\"status\":\"$1\""; }
dstat() { curl -s "$d_url/_stats" | jq -r "$1"; }
# msgs HOOK: the new messages the webhook made: their first embed's title
msgs() { posts | jq -r --arg w "$1" 'select(.webhook == $w and .edit == null) | .body.embeds[0].title'; }
# fight HOOK: the fight message as the fake shows it now (GET)
fight() {
	id=$(posts | jq -r --arg w "$1" 'select(.webhook == $w and .edit == null
		and (.body.embeds[0].title | startswith("Fight"))) | .id' | tail -1)
	[ -n "$id" ] && curl -s "$d_url/api/webhooks/$1/tok/messages/$id"
}
field() { fight "$1" | jq -r --arg n "$2" '.embeds[0].fields[] | select(.name == $n) | .value'; }
footer() { fight "$1" | jq -r '.embeds[0].footer.text'; }
feed() {	# feed DIR: a poster reading the FIFO $T/DIR.in, its pid in $pp
	mkfifo "$T/$1.in"
	post-discord -s "$T/$1" "${@:2}" <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
	pp=$!; _pids="$_pids $pp"
	exec 7>"$T/$1.in"
}

# --- the stream key: bad fold keys refused with their JSON path
if command -v stream-fanout >/dev/null; then
	mkdir -p "$T/sd"
	printf '%s\n' '{"fold": {"window": "10m", "min": 5}, "targets": [{"stdout": true}]}' >"$T/sd/good.json"
	stream-fanout --check "$T/sd/good.json" >"$T/ck" 2>&1
	is "$?:$(cat "$T/ck")" "0:" "check: a good fold passes"
	printf '%s\n' '{"fold": {"window": "90m", "min": 1, "jumps": 3}, "targets": [{"stdout": true}]}' >"$T/sd/bad.json"
	stream-fanout --check "$T/sd/bad.json" >"$T/ck" 2>&1
	is "$?" 100 "check: a bad fold exits 100"
	is "$(cut -d: -f2 "$T/ck" | tr '\n' ' ')" " \$.fold.jumps  \$.fold.min " \
		"check: each error named by its JSON path"
	printf '%s\n' '{"fold": {"window": "25h"}, "targets": [{"stdout": true}]}' >"$T/sd/bad.json"
	stream-fanout --check "$T/sd/bad.json" 2>&1 | grep -q '\$.fold.window: expected a duration from 1s to 24h'
	ok $? "check: a window over 24h is refused"
	# a running stream-fanout keeps the version it has on a reload
	solo=$(jq -c 'select(.name == "solo") | .mail' "$ROOT/tests/data/match/mails.ndjson")
	mkdir -p "$T/live"
	printf '%s\n' '{"name": "v1", "fold": {"window": "10m"}, "targets": [{"stdout": true}]}' >"$T/live/x.json"
	mkfifo "$T/fan.in"
	stream-fanout -d "$T/live" <"$T/fan.in" >"$T/fan.out" 2>"$T/fan.err" &
	fp=$!; _pids="$_pids $fp"
	exec 6>"$T/fan.in"
	printf '%s\n' "$solo" >&6	# once it has written, it is ready for SIGHUP
	wait_until 10 test -s "$T/fan.out"
	printf '%s\n' '{"name": "v2", "fold": {"window": "10m", "min": 0}, "targets": [{"stdout": true}]}' >"$T/live/x.json"
	kill -HUP $fp
	wait_until 10 grep -q 'info: reloaded' "$T/fan.err"
	printf '%s\n' "$solo" >&6
	wait_until 10 sh -c "[ \$(wc -l <$T/fan.out) -ge 2 ]"
	is "$(tail -1 "$T/fan.out" | jq -r '.stream.name + " " + (.stream.fold | tojson)')" 'v1 {"window":"10m"}' \
		"reload: a bad fold keeps the stream's previous version"
	grep -q '\$.fold.min: expected an integer from 2 to 1000' "$T/fan.err"; ok $? "... and says why"
	exec 6>&-
	wait $fp
fi

start_fake d discord --bucket-limit 50 --bucket-window 1 || skip_all "fake discord did not start"

# --- below min nothing folds; the third kill makes the fight's message
U=$d_url/api/webhooks/f1/tok
mk 1 2 >"$T/i1"
post-discord -s "$T/s1" --batch 1 <"$T/i1" >"$T/o1" 2>"$T/e1"
is "$(receipts posted "$T/o1")" 2 "below min: two kills, two posts"
is "$(msgs f1 | grep -c '^Fight')" 0 "... and no fight message"
mk 3 3 | post-discord -s "$T/s1" >"$T/o2" 2>"$T/e2"
is "$(msgs f1 | grep -c '^Fight in Tama (The Citadel)$')" 1 "min reached: one fight message"
is "$(msgs f1 | wc -l)" 3 "... after the two posts, the third kill not posted alone"
is "$(field f1 Kills) / $(field f1 Losses)" "1 · 2.00m ISK / 2 · 4.00m ISK" \
	"it counts the three kills: kills and losses, with their ISK"
is "$(fight f1 | jq -r .embeds[0].url)" "https://zkillboard.com/related/30002813/202607041800/" \
	"it links zKillboard's related page of the system and hour"
test -s "$T/s1/discord/folds"; ok $? "the fight is kept in the folds file"
is "$(stat -c %a "$T/s1/discord/folds")" 600 "... mode 0600"

# --- later kills edit it
mk 4 5 | post-discord -s "$T/s1" >"$T/o3" 2>"$T/e3"
is "$(receipts folded "$T/o3")" 2 "two more kills: folded receipts"
is "$(receipts posted "$T/o3")" 0 "... not posted"
is "$(msgs f1 | wc -l)" 3 "no new message"
is "$(field f1 Kills) / $(field f1 Losses)" "2 · 6.00m ISK / 3 · 9.00m ISK" "the message counts five"
is "$(field f1 'Biggest kills' | head -1)" "[Caracal](https://zkillboard.com/kill/5/) · Pilot 5 · 5.00m ISK" \
	"the biggest kill first"
is "$(field f1 'Biggest kills' | wc -l)" 3 "three biggest kills"
is "$(field f1 'Ships lost' | tr '\n' ' ')" "2× Caracal 2× Rifter 1× Drake " "ship tallies, most first (a tie: first seen first)"
footer f1 | grep -q '^Horde killboard · 5 kills · 2026-07-04 18:00–18:00 UTC · updating$'
ok $? "the footer: count, times, updating ($(footer f1))"
grep -q '"method": "PATCH"' "$T/d.log"; ok $? "edited with PATCH"

# --- a stream without fold is unchanged
U=$d_url/api/webhooks/plain/tok
mk 1 6 'del(.stream.fold)' | post-discord -s "$T/s2" --batch 1 >"$T/o4" 2>"$T/e4"
is "$(receipts posted "$T/o4") $(msgs plain | grep -c '^Fight')" "6 0" "no fold: six posts, no fight"

# --- coalescing: kills that come while an edit is in flight make one edit
U=$d_url/api/webhooks/f3/tok
feed s3
mk 1 3 >&7
wait_until 20 sh -c "curl -s $d_url/_posts | grep -q '\"webhook\": \"f3\".*Fight in'"
ok $? "the fight message is made"
fake_ctl "$d_url" '{"faults":[{"match":"/f3/tok/messages/","delay":2,"times":1}]}'
mk 4 4 >&7
wait_until 20 grep -q '"method": "PATCH".*f3' "$T/d.log"
ok $? "the first edit is in flight"
mk 5 40 >&7
has40() { [ "$(field f3 Kills | cut -d' ' -f1)" = 20 ] && [ "$(field f3 Losses | cut -d' ' -f1)" = 20 ]; }
wait_until 20 has40
ok $? "the message counts all forty kills"
n=$(posts | jq -r 'select(.webhook == "f3" and .edit) | .edit' | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 5 ]
ok $? "... in a few edits, not thirty-seven ($n)"
wait_until 20 sh -c "[ \$(grep -c '\"status\":\"folded\"' $T/s3.out) -eq 37 ]"
ok $? "37 folded receipts"

# --- another system, or a kill outside the window: another fight; the old one is over
mk 41 41 '.mail.system.id = 30000142 | .mail.system.name = "Jita"' >&7
mk 1500 1500 >&7	# 19:23:20, 76 minutes after the fight's last kill
over() { footer f3 | grep -q 'fight over, lasted 6m$'; }
wait_until 20 over
ok $? "a kill outside the window ends the fight: marked over ($(footer f3))"
wait_until 20 sh -c "[ \$(grep -c '\"status\":\"posted\"' $T/s3.out) -ge 4 ]"
is "$(msgs f3 | grep -c '^Fight')" 1 "... still one fight message"
is "$(posts | jq -r 'select(.webhook == "f3" and .edit == null) | .body.embeds[0].url' | tail -2 | tr '\n' ' ')" \
	"https://zkillboard.com/kill/41/ https://zkillboard.com/kill/1500/ " \
	"the kill in Jita and the late kill are posted alone (fights of one)"
is "$(jq -r '.receipt | select(.killmail_id == 41) | .status' "$T/s3.out")" posted "Jita's kill: posted"
exec 7>&-
wait $pp; ok $? "end of input: exit 0"

# --- final when the window passes on the poster's clock
U=$d_url/api/webhooks/f4/tok
SEC='.mail.time = (.mail.killmail_id as $k | "2026-07-04T18:00:00Z" | fromdate + $k | todate)'
feed s4
WIN=2s mk 1 4 "$SEC" >&7
over4() { footer f4 | grep -q "4 kills .* fight over, lasted 3s$"; }
wait_until 20 over4
ok $? "window passed: the last edit marks it over ($(footer f4))"
posts | jq -r 'select(.webhook == "f4" and .edit == null) | .body.embeds[0].footer.text' |
	grep -q '^Horde killboard · [34] kills · 2026-07-04 18:00–18:00 UTC · updating$'
ok $? "the message said updating until then"
exec 7>&-
wait $pp
WIN=2s mk 5 5 "$SEC" | post-discord -s "$T/s4" >"$T/o5" 2>"$T/e5"
is "$(receipts posted "$T/o5")" 1 "a kill after the fight is over: posted alone"
is "$(msgs f4 | grep -c '^Fight')" 1 "... the fight message is left as it is"

# --- kill -9 mid-fold: no second message, the edit resumes, nothing twice
U=$d_url/api/webhooks/f5/tok
feed s5
mk 1 3 >&7
wait_until 20 sh -c "curl -s $d_url/_posts | grep -q '\"webhook\": \"f5\".*Fight in'"
ok $? "kill -9: the fight message is made"
fake_ctl "$d_url" '{"faults":[{"match":"/f5/tok/messages/","status":429,"retry_after":60,"times":1}]}'
mk 4 4 >&7
wait_until 20 sh -c "curl -s $d_url/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
ok $? "an edit waits: the fake said wait a minute"
mk 5 7 >&7
wait_until 20 sh -c "[ \$(grep -c '\"status\":\"folded\"' $T/s5.out) -eq 4 ]"
ok $? "four kills folded"
kill -9 $pp; wait $pp 2>/dev/null; exec 7>&-
grep -q '"creating"' "$T/s5/discord/folds"; ok $? "the fight's message is in the folds file"
ls "$T/s5/discord/spool/"*.ndjson >/dev/null 2>&1; ok $? "the edit is still in the spool"
mk 6 9 | post-discord -s "$T/s5" >"$T/o6" 2>"$T/e6"
is "$(receipts duplicate "$T/o6") $(receipts folded "$T/o6")" "2 2" \
	"after restart: the kills folded before are duplicates, the new ones folded"
is "$(msgs f5 | grep -c '^Fight')" 1 "no second fight message"
is "$(field f5 Kills | cut -d' ' -f1) $(field f5 Losses | cut -d' ' -f1)" "4 5" \
	"the message counts nine kills, each once"
grep -q 'fights resumed count=1' "$T/e6"; ok $? "the fight is resumed"
ls "$T/s5/discord/spool/"*.ndjson >/dev/null 2>&1; ok $((! $?)) "the spool is empty"

# --- Slack cannot edit: the fight's kills from min on are held, one summary when it is over
if command -v post-slack >/dev/null && start_fake s slack; then
	SU=$s_url/services/T0/B0/fold
	mkfifo "$T/sl.in"
	post-slack -s "$T/sl" -i 0 --batch 1 <"$T/sl.in" >"$T/sl.out" 2>"$T/sl.err" &
	pp=$!; _pids="$_pids $pp"
	exec 7>"$T/sl.in"
	WIN=2s mk 1 6 "$SEC | .stream.targets = [{slack: \"$SU\"}]" >&7
	spost() { curl -s "$s_url/_posts" | jq -r 'select(.body.text | startswith("Fight")) | .body.text'; }
	wait_until 20 sh -c "curl -s $s_url/_posts | grep -q 'Fight in'"
	ok $? "slack: a summary is posted when the fight is over"
	is "$(spost)" "Fight in Tama (The Citadel): 6 kills" "slack: one summary, of the six kills"
	is "$(curl -s "$s_url/_posts" | wc -l)" 3 "slack: the two kills below min, then the summary"
	is "$(receipts folded "$T/sl.out")" 4 "slack: four kills held (folded)"
	is "$(curl -s "$s_url/_posts" | jq -r 'select(.body.text | startswith("Fight")) | .body.attachments[0].blocks[-1].elements[0].text')" \
		"Horde killboard · 6 kills · 2026-07-04 18:00–18:00 UTC · fight over, lasted 5s" "slack: its footer says over"
	exec 7>&-
	wait $pp; ok $? "slack: exit 0"
fi

done_testing
