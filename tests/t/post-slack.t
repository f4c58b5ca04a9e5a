#!/bin/bash
# post-slack against the fake Slack: pass-through after post-discord,
# renderings accepted, ~1 message/s per webhook, a 429 storm, two webhooks,
# dead webhooks by Slack's error strings, 5xx, kill -9 mid-queue, dedupe.
. "$(dirname "$0")/../lib.sh"
poster_test post-slack

hook() { printf '[{"slack":"%s/services/T0/%s/secret"}]' "$s_url" "$1"; }
ids() {
	curl -s "$s_url/_posts" | jq -r --arg w "T0/$1/secret" 'select(.webhook == $w)
		| .body.text' | grep -o 'kill/[0-9]*/' | tr -dc '0-9\n'
}
count() { ids "$1" | wc -l; }
has() { [ "$(count "$1")" -ge "$2" ]; }
stat() { curl -s "$s_url/_stats" | jq "$1"; }
receipts() { post_receipts slack "$@"; }

# Slack's pace scaled down 10x (burst 3, a token each 0.1 s) to keep this short.
start_fake s slack --burst 3 --interval 0.1 || skip_all "fake slack did not start"
I="-i 0.1"

# --- pass-through: post-discord came before, so only later targets go on
{
	post_pairs 1 1 "$(hook 1)"
	post_pairs 2 2 "[{\"slack\":\"$s_url/services/T0/1/secret\"},{\"discord\":\"https://x/api/webhooks/1/t\"}]"
	post_pairs 3 3 "[{\"slack\":\"$s_url/services/T0/1/secret\"},{\"stdout\":true}]"
	echo '{"receipt":{"target":"discord","status":"posted"}}'
} >"$T/in1"
post-slack -d "$T/st1" $I <"$T/in1" >"$T/out1" 2>"$T/err1"
is $? 0 "exit 0 at end of input"
is "$(grep -vc '"receipt":{"target":"slack"' "$T/out1")" 2 "two lines passed on"
grep -qF "$(sed -n 3p "$T/in1")" "$T/out1"; ok $? "a pair with a stdout target goes on unchanged"
grep -q '"killmail_id":2,"hash"' "$T/out1"; ok $((! $?)) "a Slack+Discord pair stops here"
is "$(receipts posted "$T/out1")" 3 "three posted"
is "$(count 1)" 3 "the fake received them"

# --- golden Slack bodies pass the fake's validator
n=0 bad=0
for f in "$ROOT"/tests/data/render/*.slack-*.json; do
	n=$((n + 1))
	c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$f" "$s_url/services/T0/gold$n/secret")
	[ "$c" = 200 ] || { bad=$((bad + 1)); diag "$f: $c"; }
done
is "$bad" 0 "all $n golden Slack bodies accepted"

# --- pacing: 20 posts to one webhook at our interval never trip the fake's bucket
fake_ctl "$s_url" '{"clear_log":true}'
post_pairs 1 20 "$(hook pace)" | post-slack -d "$T/st2" $I >"$T/out2" 2>/dev/null
is "$(count pace)" 20 "20 delivered"
is "$(stat '.status["429"] // 0')" 0 "kept within one message per interval: no 429"

# --- a 429 storm: Retry-After honoured, everything delivered, count reported
fake_ctl "$s_url" '{"clear_log":true,"faults":[{"match":"/storm/","status":429,"retry_after":0.2,"times":15}]}'
post_pairs 1 30 "$(hook storm)" | post-slack -d "$T/st3" $I >"$T/out3" 2>"$T/err3"
is "$(ids storm | sort -u | wc -l) $(count storm)" "30 30" "429 storm: 30 delivered once each"
is "$(stat .early)" 0 "no request while told to wait"
grep -q 'done posted=30 limited=15 ' "$T/err3"; ok $? "the 429 count is reported: limited=15"

# --- two webhooks: a limited one does not hold up the other
fake_ctl "$s_url" '{"clear_log":true,"faults":[{"match":"/slow/","status":429,"retry_after":2,"times":1}]}'
{ post_pairs 1 1 "$(hook slow)"; post_pairs 1 8 "$(hook fast)"; } | post-slack -d "$T/st4" $I >/dev/null 2>&1
t_slow=$(curl -s "$s_url/_posts" | jq -s '[.[] | select(.webhook | test("/slow/")) | .t] | min')
t_fast=$(curl -s "$s_url/_posts" | jq -s '[.[] | select(.webhook | test("/fast/")) | .t] | max')
ok "$(jq -n "if $t_fast < $t_slow then 0 else 1 end")" "all fast posts arrived while slow waited"

# --- dead webhooks: Slack's strings; one request, then dead letters only
fake_ctl "$s_url" '{"clear_log":true,"errors":{"T0/gone/secret":"no_service","T0/arch/secret":"channel_is_archived","T0/bad/secret":"invalid_blocks"}}'
{ post_pairs 1 4 "$(hook gone)"; post_pairs 1 2 "$(hook arch)"; post_pairs 1 2 "$(hook bad)"; post_pairs 1 2 "$(hook fine)"; } |
	post-slack -d "$T/st5" $I >"$T/out5" 2>"$T/err5"
is "$(curl -s "$s_url/_log" | grep -c '/gone/')" 1 "no_service: one request"
is "$(curl -s "$s_url/_log" | grep -c '/arch/')" 1 "channel_is_archived: one request"
is "$(receipts dead "$T/out5")" 6 "six dead receipts"
is "$(receipts rejected "$T/out5")" 2 "invalid_blocks: rejected, not dead"
is "$(grep -c 'webhook is gone' "$T/err5")" 2 "one warning per dead webhook"
grep -q 'secret' "$T/err5" "$T/out5"; ok $((! $?)) "the URL secret is never shown"
is "$(count fine)" 2 "the good webhook got its posts"
is "$(ls "$T/st5/slack/dead" | wc -l)" 8 "eight dead letters"

# --- 5xx: retried, delivered
fake_ctl "$s_url" '{"clear_log":true,"clear_errors":true,"faults":[{"match":"/err/","status":500,"body":"rollup_error","times":5}]}'
post_pairs 1 5 "$(hook err)" | post-slack -d "$T/st6" $I -b 0.02 >/dev/null 2>&1
is "$(count err)" 5 "rollup_error x5: all delivered"

# --- kill -9 while told to wait, restart: exactly once (a message a second,
# ten posts to a message: batching)
fake_ctl "$s_url" '{"clear_log":true}'
post_pairs 1 60 "$(hook k9)" >"$T/in7"
post-slack -d "$T/st7" -i 1 <"$T/in7" >/dev/null 2>&1 &
pid=$!; _pids="$_pids $pid"
wait_until 20 has k9 6
fake_ctl "$s_url" '{"faults":[{"match":"/k9/","status":429,"retry_after":3,"times":1}]}'
wait_until 20 sh -c "curl -s $s_url/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
kill -9 "$pid"; wait "$pid" 2>/dev/null
left=$(spool_pending "$T/st7/slack/spool")
is "$(($(count k9) + left))" 60 "nothing lost at the kill"
post-slack -d "$T/st7" $I </dev/null >/dev/null 2>&1
is "$(ids k9 | sort -u | wc -l) $(count k9)" "60 60" "after restart: 60 posts, once each"

# --- dedupe across streams
fake_ctl "$s_url" '{"clear_log":true}'
{ post_pairs 1 3 "$(hook dd)" a; post_pairs 1 3 "$(hook dd)" b; } | post-slack -d "$T/st8" $I >"$T/out8" 2>/dev/null
is "$(count dd)" 3 "two streams, one webhook: one post per killmail"
is "$(receipts duplicate "$T/out8")" 3 "three duplicate receipts"

done_testing
