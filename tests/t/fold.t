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

start_fake d discord --bucket-limit 50 --bucket-window 1 || skip_all "fake discord did not start"

# --- below min nothing folds; the third kill makes the fight's message
U=$d_url/api/webhooks/f1/tok
mk 1 2 >"$T/i1"
post-discord -s "$T/s1" -m 1 <"$T/i1" >"$T/o1" 2>"$T/e1"
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
mk 1 6 'del(.stream.fold)' | post-discord -s "$T/s2" -m 1 >"$T/o4" 2>"$T/e4"
is "$(receipts posted "$T/o4") $(msgs plain | grep -c '^Fight')" "6 0" "no fold: six posts, no fight"

done_testing
