#!/bin/bash
# Batching: when a webhook's queue holds several posts they go as one
# message (Discord: up to 10 embeds within 6,000 characters; Slack:
# several attachments), each post still gets its own receipt, a batch the
# platform refuses is sent again one post at a time, and a kill -9 loses
# and doubles nothing.
. "$(dirname "$0")/../lib.sh"
poster_test post-discord

dhook() { printf '[{"discord":"%s/api/webhooks/%s/tok"}]' "$d_url" "$1"; }
# kills HOOKID: killmail ids of every embed the fake accepted, in order
kills() { discord_kills "$d_url" "$1"; }
has() { [ "$(kills "$1" | wc -l)" -ge "$2" ]; }
# messages HOOKID: messages accepted, one line each: how many embeds
messages() { curl -s "$d_url/_posts" | jq -r --arg w "$1" 'select(.webhook == $w) | .body.embeds | length'; }
receipts() { post_receipts "$@"; }
stat() { curl -s "$1/_stats" | jq "$2"; }

start_fake d discord --bucket-limit 5 --bucket-window 2 || skip_all "fake discord did not start"

# --- the fake refuses what Discord refuses: 11 embeds, 6,001 characters
e=$(jq -c '.embeds[0]' "$ROOT/tests/data/render/basic.discord-embed.json" 2>/dev/null ||
	echo '{"title":"t","description":"d"}')
send() { curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "$1" "$d_url/api/webhooks/limits/tok?wait=true"; }
fake_ctl "$d_url" '{"bucket_limit":100}'
is "$(send "$(jq -nc --argjson e '{"title":"x"}' '{embeds: [range(10) | $e]}')")" 200 \
	"fake: 10 embeds are taken"
is "$(send "$(jq -nc --argjson e '{"title":"x"}' '{embeds: [range(11) | $e]}')")" 400 \
	"fake: 11 embeds are refused"
is "$(send "$(jq -nc '{embeds: [{description: ("a" * 4000)}, {description: ("b" * 2000)}]}')")" 200 \
	"fake: 6,000 characters over two embeds are taken"
is "$(send "$(jq -nc '{embeds: [{description: ("a" * 4000)}, {description: ("b" * 2001)}]}')")" 400 \
	"fake: 6,001 characters over two embeds are refused"
fake_ctl "$d_url" '{"bucket_limit":5,"clear_log":true}'

# --- 40 posts for one webhook: few messages, each post once, in order
post_pairs 1 40 "$(dhook one)" >"$T/in1"
post-discord -d "$T/s1" <"$T/in1" >"$T/out1" 2>"$T/err1"
is $? 0 "exit 0"
is "$(kills one | tr '\n' ' ')" "$(seq 1 40 | tr '\n' ' ')" "40 kills posted, each once, in order"
m=$(messages one | wc -l)
ok $((m < 40 ? 0 : 1)) "fewer messages than posts ($m for 40)"
is "$(messages one | awk '$1 > 10' | wc -l)" 0 "no message holds more than 10 embeds"
ok $((m >= 4 ? 0 : 1)) "at least 4 messages for 40 posts"
is "$(receipts discord posted "$T/out1")" 40 "a receipt for every post"
is "$(grep '"receipt"' "$T/out1" | jq -r .receipt.killmail_id | sort -n | uniq | wc -l)" 40 \
	"one receipt per killmail"
is "$(stat "$d_url" '.status["400"] // 0')" 0 "the fake refused no message"
is "$(stat "$d_url" .early)" 0 "no request while the fake said wait"
grep -q 'done posted=40 ' "$T/err1"; ok $? "posted=40 in the last log line"

# --- --batch 1: one post per message, as before
fake_ctl "$d_url" '{"clear_log":true,"bucket_limit":100}'
post_pairs 1 12 "$(dhook solo)" | post-discord --batch 1 -d "$T/s1b" >/dev/null 2>&1
is "$(messages solo | sort -u | tr '\n' ' ')" "1 " "--batch 1: one embed per message"
is "$(messages solo | wc -l)" 12 "--batch 1: 12 messages"

# --- large posts: the 6,000-character total is kept whatever the count
long=$(printf 'L%.0s' $(seq 250))
jq -c --arg l "$long" '.stream.name = $l | .mail.victim.character.name = $l | .mail.victim.ship.name = $l' \
	"$PAIR" >"$T/big.pair"
jq -c --argjson t "$(dhook big)" 'range(1; 31) as $i | .mail.killmail_id = $i | .mail.url = null
	| .stream.targets = $t' "$T/big.pair" >"$T/in2"
post-discord -d "$T/s2" <"$T/in2" >"$T/out2" 2>"$T/err2"
is "$(kills big | wc -l)" 30 "large posts: all 30 posted"
is "$(stat "$d_url" '.status["400"] // 0')" 0 "large posts: no message over a limit"
most=$(messages big | sort -n | tail -1)
ok $((most < 10 ? 0 : 1)) "large posts: fewer to a message ($most at most)"

# --- a batch refused with 400: its posts go one by one, none is lost
fake_ctl "$d_url" '{"clear_log":true,"bucket_limit":100,"faults":[{"match":"/webhooks/rej/","status":400,"times":1,"body":"{\"message\":\"Invalid Form Body\",\"code\":50035}"}]}'
post_pairs 1 8 "$(dhook rej)" >"$T/in3"
post-discord -d "$T/s3" <"$T/in3" >"$T/out3" 2>"$T/err3"
is "$(kills rej | sort -n | tr '\n' ' ')" "$(seq 1 8 | tr '\n' ' ')" "refused batch: all 8 posted after all"
is "$(receipts discord posted "$T/out3")" 8 "refused batch: 8 receipts posted"
grep -q 'warning: batch rejected, its posts go one by one .*posts=8 http=400' "$T/err3"
ok $? "refused batch: said once, with the count"
is "$(ls "$T/s3/discord/dead" | wc -l)" 0 "refused batch: nothing in dead/"

# --- ... and the one post the platform refuses alone is the only one lost
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/rej2/","status":400,"times":2,"body":"{\"message\":\"Invalid Form Body\",\"code\":50035}"}]}'
post_pairs 1 6 "$(dhook rej2)" >"$T/in4"
post-discord -d "$T/s4" <"$T/in4" >"$T/out4" 2>"$T/err4"
is "$(kills rej2 | sort -n | tr '\n' ' ')" "2 3 4 5 6 " "bad post alone: the others posted"
is "$(receipts discord rejected "$T/out4")" 1 "bad post alone: one rejected receipt"
is "$(ls "$T/s4/discord/dead" | wc -l)" 1 "bad post alone: one dead letter"
is "$(jq -r .post.killmail_id "$T"/s4/discord/dead/*.json)" 1 "bad post alone: the dead letter is killmail 1"

# --- kill -9 between batches (the fake has said wait: nothing in flight)
fake_ctl "$d_url" '{"clear_log":true,"clear":true,"bucket_limit":1,"bucket_window":1}'
post_pairs 1 60 "$(dhook k9)" >"$T/in5"
post-discord -d "$T/s5" <"$T/in5" >"$T/out5" 2>"$T/err5" &
pid=$!; _pids="$_pids $pid"
wait_until 20 has k9 10
kill_in_wait "$d_url" k9 $pid
got=$(kills k9 | wc -l)
ok $((got < 60 ? 0 : 1)) "kill -9 came before the end ($got of 60 posted)"
post-discord -d "$T/s5" </dev/null >"$T/out5b" 2>"$T/err5b"
is "$(kills k9 | sort -n | uniq | tr '\n' ' ')" "$(seq 1 60 | tr '\n' ' ')" "after restart: every kill posted"
is "$(kills k9 | sort -n | uniq -d | wc -l)" 0 "after restart: none twice"
is "$(receipts discord posted "$T/out5b")" $((60 - got)) "the restart posted exactly the rest"

# kill -9 at any moment: nothing lost; what a message in flight held may
# be posted again (measured, not asserted: the window of one request)
fake_ctl "$d_url" '{"clear_log":true}'
post_pairs 1 60 "$(dhook k9b)" >"$T/in5c"
post-discord -d "$T/s5c" <"$T/in5c" >/dev/null 2>&1 &
pid=$!; _pids="$_pids $pid"
wait_until 20 has k9b 10
kill -9 $pid; wait $pid 2>/dev/null
post-discord -d "$T/s5c" </dev/null >/dev/null 2>&1
is "$(kills k9b | sort -un | wc -l)" 60 "arbitrary kill -9: nothing lost"
diag "arbitrary kill -9: $(($(kills k9b | wc -l) - 60)) post(s) twice (at most one message per webhook: the request in flight)"

# --- Slack: several attachments per message, each post once
if command -v post-slack >/dev/null && start_fake s slack --burst 1 --interval 1; then
	shook() { printf '[{"slack":"%s/services/T0/B0/%s"}]' "$s_url" "$1"; }
	post_pairs 1 12 "$(shook x)" | post-slack -d "$T/s6" >"$T/out6" 2>"$T/err6"
	curl -s "$s_url/_posts" >"$T/sp"
	is "$(jq -r '.body.attachments[].blocks[0].text.text' "$T/sp" | grep -o 'kill/[0-9]*/' |
		tr -dc '0-9\n' | tr '\n' ' ')" "$(seq 1 12 | tr '\n' ' ')" "slack: 12 kills posted, once each, in order"
	n=$(wc -l <"$T/sp")
	ok $((n < 12 ? 0 : 1)) "slack: fewer messages than posts ($n)"
	is "$(receipts slack posted "$T/out6")" 12 "slack: a receipt for every post"
	is "$(jq -r '.body.text | split("\n") | length' "$T/sp" | paste -sd+ | bc)" 12 \
		"slack: one text line per post"
fi
done_testing
