#!/bin/bash
# Revised killmails: zKillboard republishes a killmail with a new zkb (its
# value, a label); redisq-pull passes the revision on instead of dropping it
# as a duplicate, and post-discord edits the message of the post it made
# (PATCH .../messages/<id>) rather than post again; copies stay duplicates.
. "$(dirname "$0")/../lib.sh"
command -v jq >/dev/null || skip_all "no jq"
command -v post-discord >/dev/null || skip_all "no post-discord in BIN"
PAIR=$ROOT/tests/data/render/basic.pair.json

# --- redisq-pull: a republished killmail goes on once, a copy does not
fixtures "$T/fx" --mails 12 --seed 3 >/dev/null || skip_all "no fixtures"
export USER_AGENT="insight-test/1 (test@example.invalid)" R2Z2_HEAD_WAIT=0.2 R2Z2_BACKOFF=0.1
start_fake z zkb --data "$T/fx" --seq-start 500 || skip_all "fake zkb did not start"
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
k5=$(sed -n 5p "$T/fx/killmails.ndjson" | jq .killmail_id)
R2Z2_URL=$z_url STATE_DIR=$T/rq redisq-pull --from 500 >"$T/pk" 2>"$T/pk.err" &
pid=$!; _pids="$_pids $pid"
wait_until 20 has_lines "$T/pk" 12
ok $? "twelve packages"
fake_ctl "$z_url" "{\"republish\":{\"killmail_id\":$k5,\"zkb\":{\"totalValue\":123456789.5,\"labels\":[\"revised\"]}}}"
wait_until 20 has_lines "$T/pk" 13
ok $? "the republished killmail is written again"
# the rewritten older file, fetched again for sequence_updated, is a copy
refetched() { grep -q '"/ephemeral/504.json"' "$T/z.log" && [ "$(grep -c '"/ephemeral/504.json"' "$T/z.log")" -ge 2 ]; }
wait_until 20 refetched
ok $? "the rewritten file is fetched again (sequence_updated)"
wait_until 20 grep -q 'duplicate killmail dropped killmail_id='"$k5"' sequence=504' "$T/pk.err"
ok $? "... and dropped as a copy of the revision"
is "$(jq -c 'select(.killmail_id == '"$k5"') | [.zkb.totalValue, .sequence_id]' "$T/pk" | tr '\n' ' ')" \
	"[$(sed -n 5p "$T/fx/killmails.ndjson" | jq .zkb.totalValue),504] [123456789.5,512] " \
	"killmail $k5 twice: first as published, then revised"
grep -q "info: revised killmail passed on killmail_id=$k5 sequence=512" "$T/pk.err"
ok $? "the revision is logged"
fake_ctl "$z_url" "{\"republish\":{\"killmail_id\":$k5,\"zkb\":{\"totalValue\":123456789.5}}}"
wait_until 20 grep -q "sequence=513" "$T/pk.err"
ok $? "a republish with the same zkb is seen"
is "$(jq -r .killmail_id "$T/pk" | grep -cx "$k5")" 2 "... and dropped: nothing changed"
kill -TERM $pid; wait $pid

# --- post-discord: the message of a post is edited for its revision
start_fake d discord --bucket-limit 5 --bucket-window 2 || skip_all "fake discord did not start"
U=$d_url/api/webhooks/rev/tok
# mk FROM TO VALUE: pairs for killmails FROM..TO worth VALUE
mk() {
	jq -c --argjson a "$1" --argjson b "$2" --argjson v "$3" --arg u "${4:-$U}" \
		'range($a; $b + 1) as $i | .mail.killmail_id = $i | .mail.url = null
		 | .mail.value.total = $v | .stream.targets = [{discord: $u}]' "$PAIR"
}
posts() { curl -s "$d_url/_posts"; }
receipts() { grep '"receipt"' "$2" | grep -c "\"status\":\"$1\""; }
# shown KILL: the value field of KILL's embed as the fake's message shows it now
shown() {
	posts | jq -rs --arg k "kill/$1/" 'map(select(.body.embeds)) | map(.body.embeds[]
		| select(.url // "" | endswith($k)) | .fields[] | select(.name == "Value") | .value) | last'
}

mk 1 3 1000000 >"$T/i1"	# a file: one read, one turn, one message
post-discord -d "$T/s1" <"$T/i1" >"$T/o1" 2>"$T/e1"
is "$(posts | jq -s 'map(select(.edit == null)) | length')" 1 "three posts, one message"
is "$(shown 2)" "1.00m ISK" "kill 2 shows 1.00m"
test -s "$T/s1/discord/messages"; ok $? "its message id is kept in messages"

mk 2 2 5000000000 | post-discord -d "$T/s1" >"$T/o2" 2>"$T/e2"
is "$(receipts edited "$T/o2")" 1 "a revised kill: an edited receipt"
is "$(receipts posted "$T/o2")" 0 "... not posted again"
is "$(curl -s "$d_url/_stats" | jq '[.posts, .edits] | join(" ")' -r)" "1 1" "the fake: still one message, edited once"
is "$(posts | jq -r 'select(.edit) | .edit')" "$(jq -r .id "$T/s1/discord/messages" | sort -u)" \
	"the edit is of the message posted, the one message kept"
is "$(shown 2)" "5.00b ISK" "kill 2 shows the revised value"
is "$(shown 1) $(shown 3)" "1.00m ISK 1.00m ISK" "the other posts of the message are unchanged"
grep -q "PATCH" "$T/d.log"; ok $? "sent as PATCH"
is "$(grep -c '"method": "PATCH"' "$T/d.log")" 1 "one PATCH"

mk 2 2 5000000000 | post-discord -d "$T/s1" >"$T/o3" 2>"$T/e3"
is "$(receipts duplicate "$T/o3")" 1 "the same revision again: a duplicate"
mk 1 1 1000000 | post-discord -d "$T/s1" >"$T/o3b" 2>"$T/e3b"
is "$(receipts duplicate "$T/o3b")" 1 "an unchanged kill again: a duplicate"
is "$(curl -s "$d_url/_stats" | jq .edits)" 1 "no more edits"

# a second revision, after a restart, builds on the first
mk 3 3 7000000 | post-discord -d "$T/s1" >"$T/o4" 2>"$T/e4"
is "$(shown 3) $(shown 2)" "7.00m ISK 5.00b ISK" "a second revision: kill 3 edited, kill 2 keeps its revision"

# --- kill -9 while the edit waits (the fake said wait): the edit resumes once
fake_ctl "$d_url" '{"faults":[{"match":"/messages/","status":429,"retry_after":3,"times":1}]}'
mk 1 1 9000000 | post-discord -d "$T/s1" >"$T/o5" 2>"$T/e5" &
pid=$!; _pids="$_pids $pid"
wait_until 20 sh -c "curl -s $d_url/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
kill -9 $pid; wait $pid 2>/dev/null
is "$(shown 1)" "1.00m ISK" "killed before the edit went"
post-discord -d "$T/s1" </dev/null >"$T/o5b" 2>"$T/e5b"
is "$(receipts edited "$T/o5b")" 1 "after restart: the spooled edit is sent"
is "$(shown 1)" "9.00m ISK" "... and shows"
is "$(curl -s "$d_url/_stats" | jq -r '[.posts, .edits] | join(" ")')" "1 3" "still one message, no second post"

# --- a message deleted in Discord: the edit is refused alone, the webhook lives
fake_ctl "$d_url" '{"faults":[{"match":"/messages/","status":404,"body":"{\"message\":\"Unknown Message\",\"code\":10008}"}]}'
{ mk 2 2 11000000; mk 4 4 1000000; } | post-discord -d "$T/s1" >"$T/o6" 2>"$T/e6"
is "$(receipts rejected "$T/o6")" 1 "Unknown Message: the edit rejected"
is "$(receipts posted "$T/o6")" 1 "the webhook still posts"
test -s "$T/s1/discord/dead-hooks"; ok $((! $?)) "and is not marked dead"
fake_ctl "$d_url" '{"clear":true}'

# --- no message known (here: the file lost): a revision is not posted twice
mk 1 1 1000000 "$d_url/api/webhooks/lost/tok" | post-discord -d "$T/s7" >/dev/null 2>&1
rm "$T/s7/discord/messages"
mk 1 1 2000000 "$d_url/api/webhooks/lost/tok" | post-discord -d "$T/s7" >"$T/o7" 2>"$T/e7"
is "$(receipts duplicate "$T/o7")" 1 "unknown message: the revision is a duplicate"
grep -q 'revised killmail not posted again: no message of it to edit' "$T/e7"; ok $? "... saying why"
is "$(posts | jq -s 'map(select(.webhook == "lost")) | length')" 1 "one post, never two"

# --- two streams post to one webhook: the second stream's match of a kill
# already posted is a duplicate, never an edit of the first one's message,
# even when it renders otherwise (a stream's name is in its embed)
W2=$d_url/api/webhooks/two/tok
mk 1 1 1000000 "$W2" | jq -c '.stream.id = "first" | .stream.name = "First"' |
	post-discord -d "$T/s9" >"$T/o9" 2>"$T/e9"
mk 1 1 1000000 "$W2" | jq -c '.stream.id = "second" | .stream.name = "Second" | .stream.color = "#ff0000"' |
	post-discord -d "$T/s9" >"$T/o9b" 2>"$T/e9b"
is "$(receipts posted "$T/o9") $(receipts duplicate "$T/o9b") $(receipts edited "$T/o9b")" "1 1 0" \
	"another stream's match of a kill posted: a duplicate, not an edit"
is "$(posts | jq -s 'map(select(.webhook == "two")) | [length, map(select(.edit)) | length] | join(" ")' -r)" "1 0" \
	"... one message, never edited"
mk 1 1 3000000 "$W2" | jq -c '.stream.id = "second" | .stream.name = "Second"' |
	post-discord -d "$T/s9" >"$T/o9c" 2>"$T/e9c"
is "$(receipts edited "$T/o9c")" 1 "a revision of that kill, matched by the other stream: the message is edited"

# --- Slack cannot edit: a revision is a duplicate there, never a second post
if command -v post-slack >/dev/null && start_fake s slack; then
	SU=$s_url/services/T0/B0/rev
	mks() { mk "$1" "$1" "$2" | jq -c --arg u "$SU" '.stream.targets = [{slack: $u}]'; }
	mks 1 1000000 | post-slack -d "$T/s8" >"$T/o8" 2>"$T/e8"
	mks 1 2000000 | post-slack -d "$T/s8" >"$T/o8b" 2>"$T/e8b"
	is "$(receipts posted "$T/o8") $(receipts duplicate "$T/o8b")" "1 1" "slack: posted, then the revision a duplicate"
	is "$(curl -s "$s_url/_stats" | jq .posts)" 1 "slack: one post"
	grep -q 'revised killmail not posted again' "$T/e8b"; ok $? "slack: saying why"
fi

# --- the fake refuses an edit over Discord's limits, as Discord does
mid=$(curl -s -H 'Content-Type: application/json' -d '{"embeds":[{"title":"t"}]}' "$d_url/api/webhooks/lim/tok?wait=true" | jq -r .id)
code() { curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' -d "$1" "$d_url/api/webhooks/lim/tok/messages/$mid"; }
is "$(code "$(jq -nc '{embeds: [{description: ("a" * 4000)}, {description: ("b" * 2000)}]}')")" 200 "fake: an edit of 6,000 characters is taken"
is "$(code "$(jq -nc '{embeds: [{description: ("a" * 4000)}, {description: ("b" * 2001)}]}')")" 400 "fake: an edit of 6,001 is refused"
is "$(code "$(jq -nc --argjson e '{"title":"x"}' '{embeds: [range(11) | $e]}')")" 400 "fake: an edit of 11 embeds is refused"
is "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' -d '{"content":"x"}' "$d_url/api/webhooks/other/tok/messages/$mid")" 404 \
	"fake: another webhook's message is unknown"
# --- the whole pipeline: the revision of a posted kill edits its message
if command -v esi-resolve >/dev/null && command -v stream-fanout >/dev/null &&
	start_fake e esi --data "$T/fx" && start_fake z2 zkb --data "$T/fx" --seq-start 700; then
	mkdir -p "$T/sd"
	echo '{"name": "Everything", "targets": [{"discord": "$HOOK"}]}' >"$T/sd/all.json"
	export HOOK=$d_url/api/webhooks/pipe/tok ESI_URL=$e_url R2Z2_URL=$z2_url
	run() {
		STATE_DIR=$T/p redisq-pull --once "$@" 2>>"$T/p.err" | STATE_DIR=$T/p esi-resolve 2>>"$T/p.err" |
			stream-fanout -S "$T/sd" 2>>"$T/p.err" | filter1 2>>"$T/p.err" |
			STATE_DIR=$T/p filter2 2>>"$T/p.err" | post-discord -s "$T/p" 2>>"$T/p.err"
	}
	run --from 700 >"$T/p1"
	is "$(receipts posted "$T/p1")" 12 "pipeline: 12 kills posted"
	k7=$(sed -n 7p "$T/fx/killmails.ndjson" | jq .killmail_id)
	fake_ctl "$z2_url" "{\"republish\":{\"killmail_id\":$k7,\"zkb\":{\"totalValue\":987654321}}}"
	run >"$T/p2"
	is "$(grep '"receipt"' "$T/p2" | jq -c '[.receipt.killmail_id, .receipt.status]')" "[$k7,\"edited\"]" \
		"pipeline: the republished kill edits its message, nothing else moves"
	is "$(posts | jq -rs --arg k "kill/$k7/" 'map(select(.webhook == "pipe" and .edit)) | length')" 1 \
		"pipeline: one edit"
	is "$(shown "$k7")" "988m ISK" "pipeline: the message shows the new value"
fi
done_testing
