#!/bin/bash
# post-discord against the fake Discord: pass-through, renderings accepted,
# a 429 storm, two webhooks that do not wait for each other, a global 429,
# dead webhooks, 400s, 5xx storms, kill -9 and SIGTERM mid-queue, dedupe.
. "$(dirname "$0")/../lib.sh"
poster_test post-discord

hook() { printf '[{"discord":"%s/api/webhooks/%s/tok"}]' "$d_url" "$1"; }
# ids HOOKID: killmail ids the fake accepted for that webhook, one a line
ids() { discord_kills "$d_url" "$1"; }
count() { ids "$1" | wc -l; }
has() { [ "$(count "$1")" -ge "$2" ]; }
stat() { curl -s "$d_url/_stats" | jq "$1"; }
receipts() { post_receipts discord "$@"; }

start_fake d discord --bucket-limit 5 --bucket-window 0.25 --dead 404 --bad-token 401 ||
	skip_all "fake discord did not start"

# --- pass-through: exactly the lines a later stage may want go on unchanged
{
	post_pairs 1 1 "$(hook 1)"
	post_pairs 2 2 "[{\"discord\":\"$d_url/api/webhooks/1/tok\"},{\"slack\":\"https://x/services/T/B/C\"}]"
	post_pairs 3 3 '[{"stdout":true}]'
	echo '{"receipt":{"target":"x","status":"posted"}}'
	echo '{"other":1}'
	echo 'not json'
} >"$T/in1"
post-discord -d "$T/s1" <"$T/in1" >"$T/out1" 2>"$T/err1"
is $? 0 "exit 0 at end of input"
is "$(grep -vc '"receipt":{"target":"discord"' "$T/out1")" 4 "four lines passed on"
is "$(sed -n 2p "$T/in1")" "$(grep '"killmail_id":2,' "$T/out1" | grep -v receipt)" \
	"a pair with a Slack target passes unchanged"
grep -qF "$(sed -n 3p "$T/in1")" "$T/out1"; ok $? "a stdout pair passes unchanged"
grep -q '"killmail_id":1,"hash"' "$T/out1"; ok $((! $?)) "an all-Discord pair stops here"
grep -qx '{"other":1}' "$T/out1"; ok $? "unknown objects pass"
grep -q 'malformed line skipped line=6 col=1 error="' "$T/err1"; ok $? "malformed line: one warning, saying why"
grep -q 'info: done .* malformed=1$' "$T/err1"; ok $? "malformed line: counted"
is "$(receipts posted "$T/out1")" 2 "two receipts posted"
is "$(count 1)" 2 "fake received both"
grep -q 'tok\|webhooks' "$T/out1" "$T/err1" | grep -v '"discord":"' >/dev/null
# --- bundles: each pair of one is posted as its pair line would be; the
# pairs later stages want go on as one bundle (--bundle) or as pair lines
bundle_of() {	# the pairs on stdin (one mail) as a bundle
	jq -c -s '{streams: map(.stream), mail: .[0].mail, matches: map(.match)}'
}
{
	{ post_pairs 11 11 "$(hook 2)" a; post_pairs 11 11 '[{"stdout":true}]' b
	  post_pairs 11 11 "$(hook 3)" c; } | bundle_of
	{ post_pairs 12 12 "$(hook 2)" a; post_pairs 12 12 "$(hook 3)" c; } | bundle_of
	{ post_pairs 13 13 '[{"stdout":true}]' b; post_pairs 13 13 '[{"stdout":true}]' d; } | bundle_of
} >"$T/inb"
post-discord -d "$T/sb1" <"$T/inb" >"$T/outb1" 2>"$T/errb1"
is "$(ids 2 | tr '\n' ' ')$(ids 3 | tr '\n' ' ')" "11 12 11 12 " "bundles: each Discord pair of a bundle posted"
is "$(grep -v receipt "$T/outb1" | jq -c '[.stream.id, .mail.killmail_id, .match.kind]' | tr '\n' ' ')" \
	'["b",11,"loss"] ["b",13,"loss"] ["d",13,"loss"] ' \
	"without --bundle: the pairs later stages want go on as pair lines"
m=$(post_pairs 11 11 '[]' | jq -c .mail)
grep -qF "{\"stream\":$(post_pairs 11 11 '[{"stdout":true}]' b | jq -c .stream),\"mail\":$m,\"match\":" "$T/outb1"
ok $? "... each the pair line of its stream, its mail as it came, its match"
post-discord -d "$T/sb2" -w 0 --bundle <"$T/inb" >"$T/outb2" 2>"$T/errb2"
is "$(grep -v receipt "$T/outb2" | jq -c '[.streams[].id, .mail.killmail_id, (.matches | length)]' | tr '\n' ' ')" \
	'["b",11,1] ["b","d",13,2] ' "--bundle: they go on as one bundle a mail"
grep -qxF "$(sed -n 3p "$T/inb")" "$T/outb2"
ok $? "--bundle: a bundle that goes on whole passes unchanged"
is "$(receipts posted "$T/outb2")" 4 "--bundle: four posts, as without"

grep -h receipt "$T/out1" | grep -q 'webhooks'; ok $((! $?)) "receipts hold no URL"
is "$(ls "$T/s1/discord/spool" | wc -l)" 0 "spool empty afterwards"

# --- every golden rendering is accepted by the fake's own validator
n=0 bad=0
for f in "$ROOT"/tests/data/render/*.discord-*.json; do
	n=$((n + 1))
	c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$f" "$d_url/api/webhooks/gold$n/tok?wait=true")
	[ "$c" = 200 ] || { bad=$((bad + 1)); diag "$f: $c"; }
done
is "$bad" 0 "all $n golden Discord bodies accepted (within every limit)"

# --- a 429 storm: 100 posts, 20 answered 429; all delivered, none early
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/storm/","status":429,"retry_after":0.2,"times":20}]}'
post_pairs 1 100 "$(hook storm)" >"$T/in2"
post-discord -d "$T/s2" <"$T/in2" >"$T/out2" 2>"$T/err2"
is "$(count storm)" 100 "429 storm: 100 posts delivered"
is "$(ids storm | sort -u | wc -l)" 100 "each exactly once"
is "$(stat .early)" 0 "no request while the fake said wait"
is "$(stat '.status["429"]')" 20 "the fake answered 20 times 429"
grep -q 'done posted=100 limited=20 ' "$T/err2"; ok $? "the 429 count is reported: limited=20"
is "$(ids storm | tr '\n' ' ')" "$(seq 1 100 | tr '\n' ' ')" "in order"

# --- two webhooks: a limited one does not hold up the other
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/slow/","status":429,"retry_after":2,"times":1}]}'
{ post_pairs 1 1 "$(hook slow)"; post_pairs 1 10 "$(hook fast)"; } >"$T/in3"
post-discord -d "$T/s3" <"$T/in3" >"$T/out3" 2>"$T/err3"
t_slow=$(curl -s "$d_url/_posts" | jq -s '[.[] | select(.webhook == "slow") | .t] | min')
t_fast=$(curl -s "$d_url/_posts" | jq -s '[.[] | select(.webhook == "fast") | .t] | max')
ok "$(jq -n "if $t_fast < $t_slow then 0 else 1 end")" "all 10 fast posts arrived while slow waited"
is "$(count slow)$(count fast)" "110" "both delivered"

# --- a global 429 pauses every webhook, even those that were not refused
fake_ctl "$d_url" '{"clear_log":true,"global_429":1.5}'
mkfifo "$T/in4"
exec 4<>"$T/in4"
# (the fake stands in for Discord's own host: only it may pause all)
POST_PLATFORM_HOSTS=127.0.0.1 post-discord -d "$T/s4" <"$T/in4" >"$T/out4" 2>"$T/err4" &
pid4=$!; _pids="$_pids $pid4"
post_pairs 1 1 "$(hook g1)" >&4
wait_until 20 sh -c "curl -s $d_url/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
{ post_pairs 2 6 "$(hook g1)"; post_pairs 1 6 "$(hook g2)"; } >&4
wait_until 20 has g2 6
is "$(stat .early)" 0 "global 429: no request to any webhook during the pause"
is "$(stat '.status["429"]')" 1 "one global 429"
wait_until 20 has g1 6
is "$(($(count g1) + $(count g2)))" 12 "all delivered after it"
kill -TERM "$pid4"; wait "$pid4"
exec 4>&-

# --- dead webhooks: one loud error, one request, then no more requests
fake_ctl "$d_url" '{"clear_log":true}'
{ post_pairs 1 5 "$(hook 404)"; post_pairs 1 3 "$(hook 401)"; post_pairs 1 2 "$(hook ok)"; } >"$T/in5"
(umask 022; post-discord -d "$T/s5" <"$T/in5" >"$T/out5" 2>"$T/err5")
is "$(curl -s "$d_url/_log" | grep -c '/webhooks/404/')" 1 "404 webhook: one request"
is "$(curl -s "$d_url/_log" | grep -c '/webhooks/401/')" 1 "401 webhook: one request"
is "$(grep -c 'webhook is gone' "$T/err5")" 2 "one warning per dead webhook"
grep 'webhook is gone' "$T/err5" | grep -q 'discord:…/.*Unknown Webhook (10015)'
ok $? "the warning names the webhook (token cut) and Discord's message"
is "$(command stat -c %a "$T/s5/discord/dead-hooks")" 600 "dead-hooks is 0600 under umask 022, as every state file"
grep -q '/tok' "$T/err5"; ok $((! $?)) "no token in the log"
is "$(receipts dead "$T/out5")" 8 "eight dead receipts"
is "$(ls "$T/s5/discord/dead" | wc -l)" 8 "eight dead letters"
jq -e '.status == "dead" and (.reason | test("Unknown Webhook")) and .post.body.embeds' \
	"$(ls -d "$T"/s5/discord/dead/* | head -1)" >/dev/null
ok $? "a dead letter is readable JSON with its reason and the post"
is "$(count ok)" 2 "the good webhook still got its posts"
post_pairs 6 7 "$(hook 404)" | post-discord -d "$T/s5" >"$T/out5b" 2>"$T/err5b"
is "$(curl -s "$d_url/_log" | grep -c '/webhooks/404/')" 1 "after restart: no request to a dead webhook"
is "$(receipts dead "$T/out5b")" 2 "later posts dead-lettered at once"

# --- a 400: logged with Discord's message, dead-lettered, then requeued by
# hand (one post to a message: a refused batch is in post-batch.t)
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/b400/","status":400,"times":1,"body":"{\"message\":\"Invalid Form Body\",\"code\":50035,\"errors\":{\"embeds\":{}}}"}]}'
mkfifo "$T/in6"
exec 3<>"$T/in6"
post-discord --batch 1 -d "$T/s6" <"$T/in6" >"$T/out6" 2>"$T/err6" &
pid6=$!; _pids="$_pids $pid6"
post_pairs 1 3 "$(hook b400)" >&3
wait_until 20 grep -q '"killmail_id":3,"status":"posted"' "$T/out6"
is "$(receipts rejected "$T/out6")" 1 "400: one post rejected"
grep -q 'post rejected .*http=400 reason="Invalid Form Body (50035)' "$T/err6"
ok $? "400 logged with the platform's message"
is "$(count b400)" 2 "the others delivered"
mv "$T"/s6/discord/dead/*.json "$T/s6/discord/spool/"
kill -HUP "$pid6"
wait_until 20 has b400 3; ok $? "moved back to spool/ + SIGHUP: delivered"
kill -TERM "$pid6"; wait "$pid6"
is $? 0 "SIGTERM: exit 0"
exec 3>&-

# --- 5xx storms: retried with back-off and delivered; past the limit, expired
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/5xx/","status":502,"times":8}]}'
post_pairs 1 10 "$(hook 5xx)" | post-discord -d "$T/s7" -b 0.02 -a 10 >"$T/out7" 2>"$T/err7"
is "$(count 5xx)" 10 "502 x8: all 10 delivered"
is "$(stat '.status["502"]')" 8 "the fake answered 502 eight times"
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/down/","status":500,"times":-1}]}'
post_pairs 1 3 "$(hook down)" >"$T/in8"	# a file: one read, one message
post-discord -d "$T/s8" -b 0.02 -a 3 <"$T/in8" >"$T/out8" 2>"$T/err8"
is "$(receipts expired "$T/out8")" 3 "500 forever: three posts expired after 3 attempts"
is "$(stat '.status["500"]')" 3 "three attempts of the one message they share (batching)"
is "$(grep -c '"status":"expired","http":500,"attempts":3,' "$T/out8")" 3 "three attempts each"
# a post that joins a message on its retry gets its own three tries
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/down2/","status":500,"times":-1}]}'
rm -f "$T/in8b"; mkfifo "$T/in8b"; exec 3<>"$T/in8b"
post-discord -d "$T/s8b" -b 0.5 -B 0.5 -a 3 <&3 >"$T/out8b" 2>"$T/err8b" &
pid8=$!; _pids="$_pids $pid8"
post_pairs 1 1 "$(hook down2)" >&3
wait_until 20 sh -c "[ \$(curl -s $d_url/_stats | jq '.status[\"500\"] // 0') -ge 1 ]"
post_pairs 2 2 "$(hook down2)" >&3
wait_until 30 sh -c "[ \$(grep -c '\"status\":\"expired\"' $T/out8b) -ge 2 ]"
kill -TERM "$pid8"; wait "$pid8"
exec 3>&-
is "$(grep -o '"killmail_id":[0-9]*,"status":"expired","http":500,"attempts":[0-9]*' "$T/out8b" | tr '\n' ' ')" \
	'"killmail_id":1,"status":"expired","http":500,"attempts":3 "killmail_id":2,"status":"expired","http":500,"attempts":3 ' \
	"a post that joined a retried message: tried three times too, not expired with the first"
is "$(stat '.status["500"]')" 4 "... the message twice more, then the late post alone once more"
is "$(ls "$T/s8/discord/dead" | wc -l)" 3 "dead-lettered"
fake_ctl "$d_url" '{"clear":true}'

# --- kill -9 mid-queue, then restart: every post delivered exactly once.
# The kill lands while the fake has said "wait" (an injected 429), i.e.
# while no post is in flight: the one window post(1) documents is closed.
# One message a second: posts go ten to a message (batching).
fake_ctl "$d_url" '{"clear_log":true,"bucket_limit":1,"bucket_window":1}'
post_pairs 1 30 "$(hook k9)" >"$T/in9"
post-discord -d "$T/s9" <"$T/in9" >"$T/out9" 2>"$T/err9" &
pid9=$!; _pids="$_pids $pid9"
wait_until 20 has k9 10
kill_in_wait "$d_url" k9 "$pid9"
left=$(spool_pending "$T/s9/discord/spool")
diag "killed with $(count k9) delivered and $left in the spool"
is "$(($(count k9) + left))" 30 "nothing lost at the kill: delivered + spooled = 30"
post-discord -d "$T/s9" </dev/null >"$T/out9b" 2>"$T/err9b"
is "$(count k9)" 30 "after restart: 30 posts"
is "$(ids k9 | sort -u | wc -l)" 30 "each exactly once"
is "$(receipts posted "$T/out9b")" "$left" "the restart posted exactly the spool"

# kill -9 at an arbitrary moment: measure (not assert) the documented window
fake_ctl "$d_url" '{"clear_log":true}'
post_pairs 1 30 "$(hook k9b)" >"$T/in9c"
post-discord -d "$T/s9c" <"$T/in9c" >/dev/null 2>&1 &
pid=$!; _pids="$_pids $pid"
wait_until 20 has k9b 14
kill -9 "$pid"; wait "$pid" 2>/dev/null
post-discord -d "$T/s9c" </dev/null >/dev/null 2>&1
is "$(ids k9b | sort -u | wc -l)" 30 "arbitrary kill -9: nothing lost"
diag "arbitrary kill -9: $(($(count k9b) - 30)) duplicate(s) (at most one message per webhook: a request in flight)"

# --- SIGTERM mid-queue: exit 0 within the grace, the rest stays in the spool
fake_ctl "$d_url" '{"clear_log":true,"bucket_limit":1,"bucket_window":1}'
post_pairs 1 20 "$(hook term)" >"$T/in10"
post-discord -d "$T/s10" -g 2s <"$T/in10" >"$T/out10" 2>"$T/err10" &
pid=$!; _pids="$_pids $pid"
wait_until 20 has term 3
kill -TERM "$pid"; wait "$pid"
is $? 0 "SIGTERM mid-queue: exit 0"
left=$(spool_pending "$T/s10/discord/spool")
ok $((left == 0)) "unsent posts left in the spool ($left)"
fake_ctl "$d_url" '{"bucket_limit":5,"bucket_window":0.25}'
post-discord -d "$T/s10" </dev/null >/dev/null 2>&1
is "$(ids term | sort -u | wc -l) $(count term)" "20 20" "restart delivers the rest, once each"

# --- dedupe: once per webhook across streams, across restarts, within the window
fake_ctl "$d_url" '{"clear_log":true}'
{ post_pairs 1 2 "$(hook dd)" a; post_pairs 1 2 "$(hook dd)" b; post_pairs 1 1 "$(hook dd2)" c; } >"$T/in11"
INSIGHT_NOW=1800000000 post-discord -d "$T/s11" <"$T/in11" >"$T/out11" 2>/dev/null
is "$(count dd)" 2 "two streams, same webhook: one post per killmail"
is "$(receipts duplicate "$T/out11")" 2 "the other stream gets duplicate receipts"
grep -q '"stream":"b","killmail_id":1,"status":"duplicate"' "$T/out11"; ok $? "receipt names the stream"
is "$(count dd2)" 1 "another webhook gets its own post"
post_pairs 2 2 "$(hook dd)" z | INSIGHT_NOW=1800003600 post-discord -d "$T/s11" >"$T/out12" 2>/dev/null
is "$(receipts duplicate "$T/out12")" 1 "after a restart, still a duplicate"
post_pairs 2 2 "$(hook dd)" z | INSIGHT_NOW=1800090000 post-discord -d "$T/s11" >"$T/out13" 2>/dev/null
is "$(receipts posted "$T/out13")" 1 "past the 24 h window it posts again"
post_pairs 3 3 "$(hook dd)" z | INSIGHT_NOW=1800090000 post-discord -d "$T/s11" -w 0 >/dev/null 2>&1
post_pairs 3 3 "$(hook dd)" z | INSIGHT_NOW=1800090000 post-discord -d "$T/s11" -w 0 >"$T/out14" 2>/dev/null
is "$(receipts posted "$T/out14")" 1 "-w 0 turns dedupe off"

# --- "$NAME" targets: read from the environment; missing is one clear error
fake_ctl "$d_url" '{"clear_log":true}'
{ post_pairs 1 3 '[{"discord":"$FEED_OK"}]' envok; post_pairs 1 3 '[{"discord":"$FEED_MISSING"}]' envbad; } >"$T/in15"
FEED_OK="$d_url/api/webhooks/env/tok" post-discord -d "$T/s15" <"$T/in15" >"$T/out15" 2>"$T/err15"
is $? 0 "missing variable: no crash"
is "$(count env)" 3 "\$FEED_OK read from the environment"
is "$(grep -c 'FEED_MISSING' "$T/err15")" 1 "one error naming the missing variable"
is "$(receipts rejected "$T/out15")" 3 "its posts rejected, kept in dead/"
jq -e '.post.target == "$FEED_MISSING"' "$(ls -d "$T"/s15/discord/dead/* | head -1)" >/dev/null
ok $? "the dead letter keeps \$NAME, so it can be requeued once set"

# --- the posts of one read go to one segment, made durable with one fdatasync
fake_ctl "$d_url" '{"clear_log":true,"faults":[{"match":"/webhooks/hold/","status":429,"retry_after":30,"times":1}]}'
post_pairs 1 20 "$(hook hold)" >"$T/in16"	# 40 KB: one read
post-discord -d "$T/s16" <"$T/in16" >"$T/out16" 2>"$T/err16" &
pid=$!; _pids="$_pids $pid"
wait_until 20 sh -c "curl -s $d_url/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
is "$(ls "$T/s16/discord/spool" | grep -c '\.ndjson$')" 1 "20 posts of one read: one segment"
is "$(spool_pending "$T/s16/discord/spool")" 20 "holding the 20 posts"
ls -a "$T/s16/discord/spool" | grep -q '\.tmp$'; ok $((! $?)) "no temporary file left"
kill -TERM "$pid"; wait "$pid"
fake_ctl "$d_url" '{"clear_log":true}'
post_pairs 1 20 "$(hook sync)" >"$T/in17"
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace; strace counts the calls.
	# One post to a message (-m 1): 20 requests, each answer seen.
	ASAN_OPTIONS=detect_leaks=0 strace -o "$T/strace17" -e trace=fdatasync,fsync,sendto \
		post-discord --batch 1 -d "$T/s17" <"$T/in17" >"$T/out17" 2>"$T/err17"
	is "$(receipts posted "$T/out17")" 20 "20 posts of one read delivered"
	# before the first post: the dedupe file and the messages file
	# rewritten at start, the segment, the posts' dedupe keys
	before() { awk -v c="$1" '/^sendto\(.*POST / { exit } index($0, c) == 1 { n++ } END { print n + 0 }' "$T/strace17"; }
	is "$(before 'fdatasync(')" 4 "one fdatasync for the 20 posts (and one for their dedupe keys)"
	is "$(before 'fsync(')" 1 "one fsync of the spool directory"
	# a power cut sends again at most the post in flight: each answer is
	# on disk before the next post to the webhook
	is "$(awk '/^sendto\(.*POST / { if (posts++ && !synced) bad++; synced = 0 }
		/^fdatasync\(/ { synced = 1 } END { print posts + 0, bad + 0 }' "$T/strace17")" "20 0" \
		"every answer synced before the next post"
else
	ok 0 "one fdatasync for the 20 posts # SKIP no strace"
fi

# --- replay: a segment's posts without a done line, each once; a done line
# cut by the kill is dropped
fake_ctl "$d_url" '{"clear_log":true}'
spooled() {	# spooled KILLMAIL HOOK: a post as post(1) writes it to a segment
	printf '{"target":"%s/api/webhooks/%s/tok","stream":"s","killmail_id":%d,"accepted":1,"body":{"content":"https://zkillboard.com/kill/%d/"}}\n' \
		"$d_url" "$2" "$1" "$1"
}
mkdir -p "$T/s18/discord/spool"
{
	spooled 1 seg; spooled 2 seg; echo '{"done":0}'; spooled 3 seg; echo '{"done":2}'
	spooled 4 seg; printf '{"done":'
} >"$T/s18/discord/spool/0000000000000001-00000001-00000000.ndjson"
post-discord -d "$T/s18" </dev/null >"$T/out18" 2>"$T/err18"
is "$(ids seg | tr '\n' ' ')" "2 4 " "a segment with posts 1 and 3 done: 2 and 4 sent"
is "$(ls -A "$T/s18/discord/spool" | wc -l)" 0 "the segment went with its last post"
# A post put back by hand becomes a segment named after it, then the file
# goes; killed between the two, both exist: the post is sent once.
spooled 5 back >"$T/s18/discord/spool/0000000000000002-00000001-00000000.json"
spooled 6 back >"$T/s18/discord/spool/0000000000000003-00000001-00000000.json"
cp "$T/s18/discord/spool/0000000000000003-00000001-00000000.json" \
	"$T/s18/discord/spool/0000000000000003-00000001-00000000.ndjson"
post-discord -d "$T/s18" </dev/null >"$T/out18b" 2>"$T/err18b"
is "$(ids back | tr '\n' ' ')" "5 6 " "posts put back by hand: sent once each"
is "$(ls -A "$T/s18/discord/spool" | wc -l)" 0 "spool empty afterwards"

# --- the pairs of one mail in a row (the mail's text compared, parsed once)
# give the posts its pairs give spelled differently (keys reordered, spaces,
# escapes: each line's mail is parsed anew), and lines for later stages
# pass byte for byte
pairs19() {	# pairs19 PREFIX: three styles for two killmails of each of three
	# mails (two mails of one length in a row), and a pair for Slack
	for f in basic long sparse; do
		for k in 11 12; do
			for s in embed compact link; do
				jq -c --arg u "$d_url/api/webhooks/$1$f-$s-$k/tok" --arg s "$s" \
					--argjson k "$k" '.stream.targets = [{"discord": $u, "style": $s}]
					| .stream.id = $s | .mail.killmail_id = $k | .mail.url = null' \
					"$ROOT/tests/data/render/$f.pair.json"
			done
		done
		jq -c '.stream.targets = [{"slack": "https://x/services/T/B/C"}]' \
			"$ROOT/tests/data/render/$f.pair.json"
	done
}
bodies() {
	curl -s "$d_url/_posts" | jq -c --arg p "$1" \
		'select(.webhook | startswith($p)) | [(.webhook | ltrimstr($p)), .body]' | sort
}
fake_ctl "$d_url" '{"clear_log":true}'
pairs19 a- >"$T/in19a"
# every other line sorted, spaced, \u-escaped; the others with "mail" first
pairs19 b- | python3 -c 'import json, sys
for i, l in enumerate(sys.stdin):
    o = json.loads(l)
    print(json.dumps(o, sort_keys=True) if i % 2 == 0 else json.dumps({k: o[k]
        for k in ("match", "mail", "stream") if k in o}, separators=(",", ":"), ensure_ascii=False))
' >"$T/in19b"
post-discord -d "$T/s19a" <"$T/in19a" >"$T/out19a" 2>/dev/null
post-discord -d "$T/s19b" <"$T/in19b" >"$T/out19b" 2>/dev/null
is "$(bodies a- | wc -l) $(bodies b- | wc -l)" "18 18" "18 posts each way"
is "$(bodies a-)" "$(bodies b-)" "the same posts, whichever way the pairs are spelled"
is "$(grep -v '"receipt"' "$T/out19a")" "$(grep slack "$T/in19a")" "Slack pairs passed byte for byte"
is "$(grep -v '"receipt"' "$T/out19b")" "$(grep slack "$T/in19b")" "and spelled differently too"

# --- usage and unwritable state
post-discord -x </dev/null 2>/dev/null; is $? 100 "bad flag: exit 100"
post_pairs 1 1 "$(hook w)" | post-discord -d /dev/null/x >/dev/null 2>&1; is $? 111 "unwritable state: exit 111"

done_testing
