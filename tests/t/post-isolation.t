#!/bin/bash
# post-discord (and post-slack, 5.): one webhook cannot hold up the others.  A "global" 429 is
# global only from the platform's own hosts, and every wait a rate limit
# asks for is capped; each webhook has its own queue bound; a webhook that
# never answers is dead-lettered after a few time-outs while the healthy
# one gets all its posts.
. "$(dirname "$0")/../lib.sh"
poster_test post-discord

# mk FROM TO URL: pairs for killmails FROM..TO to one Discord webhook
mk() { post_pairs "$1" "$2" "$(jq -nc --arg u "$3" '[{discord: $u}]')" s; }
ids() { discord_kills "$d_url" "$1"; }
count() { ids "$1" | wc -l; }
has() { [ "$(count "$1")" -ge "$2" ]; }
n429() { curl -s "$d_url/_stats" | jq '.status["429"] // 0'; }
# receipts STATUS FILE [REASON]: receipts of that status (and reason)
receipts() { post_receipts discord "$@"; }
# fifo NAME: a pipe held open on fd 3 for a poster's stdin
fifo() { rm -f "$T/$1"; mkfifo "$T/$1"; exec 3<>"$T/$1"; }

start_fake d discord --bucket-limit 5 --bucket-window 0.25 || skip_all "fake discord did not start"
# Two names for the one fake: 127.0.0.1 plays Discord's own host, localhost
# any other host a stream author may name.
plat=$d_url/api/webhooks
other=http://localhost:$d_port/api/webhooks
GLOBAL='{"message":"You are being rate limited.","retry_after":100000,"global":true}'
GHDRS='{"X-RateLimit-Global":"true","X-RateLimit-Scope":"global"}'

# --- 1. a "global" 429 from another host stops that webhook alone, and its
# wait is capped (-W)
fake_ctl "$d_url" "{\"clear_log\":true,\"faults\":[{\"match\":\"/webhooks/evil/\",\"status\":429,
	\"retry_after\":100000,\"times\":-1,\"body\":$(jq -n --arg b "$GLOBAL" '$b'),\"headers\":$GHDRS}]}"
fifo in1
POST_PLATFORM_HOSTS=127.0.0.1 post-discord -d "$T/s1" -W 1 <&3 >"$T/out1" 2>"$T/err1" &
pid=$!; _pids="$_pids $pid"
mk 1 1 "$other/evil/tok" >&3
wait_until 20 sh -c "[ \$(curl -s $d_url/_stats | jq '.status[\"429\"] // 0') -ge 1 ]"
mk 1 10 "$plat/good/tok" >&3
wait_until 30 has good 10; ok $? "a global 429 from another host: the other webhook gets its 10 posts"
grep -q 'not the platform.s host' "$T/err1"; ok $? "the poster says the 429 was taken as the webhook's own"
wait_until 30 sh -c "[ \$(curl -s $d_url/_stats | jq '.status[\"429\"] // 0') -ge 3 ]"
ok $? "the limited webhook asked again: its wait of 100000 s was cut to -W 1"
grep -q 'rate limited url=.*seconds=1.000 asked=100000' "$T/err1"; ok $? "the cut is logged"
is "$(count evil)" 0 "nothing reached the limited webhook"
kill -TERM "$pid"; wait "$pid"; is $? 0 "SIGTERM: exit 0"
exec 3>&-

# --- 2. a global 429 from the platform's host pauses every webhook, for at
# most -G seconds
fake_ctl "$d_url" "{\"clear\":true,\"clear_log\":true,\"faults\":[{\"match\":\"/webhooks/g1/\",\"status\":429,
	\"retry_after\":100000,\"times\":1,\"body\":$(jq -n --arg b "$GLOBAL" '$b'),\"headers\":$GHDRS}]}"
fifo in2
POST_PLATFORM_HOSTS='discord.example, 127.0.0.1' post-discord -d "$T/s2" -G 1 <&3 >"$T/out2" 2>"$T/err2" &
pid=$!; _pids="$_pids $pid"
mk 1 1 "$plat/g1/tok" >&3
wait_until 20 sh -c "[ \$(curl -s $d_url/_stats | jq '.status[\"429\"] // 0') -ge 1 ]"
{ mk 2 5 "$plat/g1/tok"; mk 1 5 "$plat/g2/tok"; } >&3
both() { has g1 5 && has g2 5; }
wait_until 30 both
is "$(count g1) $(count g2)" "5 5" "after the capped pause both webhooks got their posts"
grep -q 'global rate limit seconds=1.000 asked=100000' "$T/err2"
ok $? "a global 429 from the platform's host is global, its wait cut to -G 1"
is "$(n429)" 1 "one 429 in all"
kill -TERM "$pid"; wait "$pid"
exec 3>&-

# --- 3. each webhook has its own queue bound (-Q): a webhook that hangs
# fills its own queue, the rest of its posts go to dead/, and reading goes
# on.  Its 300 posts are more than one turn of the loop reads (256 lines).
fake_ctl "$d_url" '{"clear":true,"clear_log":true,"faults":[{"match":"/webhooks/hung/","delay":20,"times":-1}]}'
fifo in3
post-discord -d "$T/s3" -Q 25 -t 60 <&3 >"$T/out3" 2>"$T/err3" &
pid=$!; _pids="$_pids $pid"
# written in the background: a poster that stops reading must fail this
# test, not hang it on a full pipe
{ mk 1 300 "$plat/hung/tok"; mk 1 20 "$plat/good/tok"; } >&3 &
_pids="$_pids $!"
wait_until 30 has good 20; ok $? "-Q 25 and a webhook that hangs: the healthy one gets all 20 posts"
wait_until 10 sh -c "[ \$(grep -c '\"status\":\"expired\"' $T/out3) -ge 275 ]"
is "$(receipts expired "$T/out3" 'queue full')" 275 "the hung webhook's 275 posts past its bound expired: queue full"
is "$(ls "$T/s3/discord/dead" | wc -l)" 275 "and kept in dead/"
kill -TERM "$pid"; wait "$pid"
exec 3>&-

# --- 4. a webhook that never answers is dead-lettered after -u time-outs in
# a row (default 3), while the healthy one gets its posts
fake_ctl "$d_url" '{"clear":true,"clear_log":true,"faults":[{"match":"/webhooks/hung/","delay":20,"times":-1}]}'
{ mk 1 10 "$plat/hung/tok"; mk 1 10 "$plat/good/tok"; } >"$T/in4"
post-discord -d "$T/s4" -t 1 -b 0.05 <"$T/in4" >"$T/out4" 2>"$T/err4" &
pid=$!; _pids="$_pids $pid"
wait_until 60 sh -c "[ \$(grep -c '\"status\":\"expired\"' $T/out4) -ge 10 ]"
is "$(receipts expired "$T/out4" 'unreachable')" 10 "10 posts of the silent webhook expired as unreachable"
grep -q 'webhook unreachable, .* requests=3 ' "$T/err4"; ok $? "after 3 requests in all, each timed out"
is "$(grep '"status":"expired"' "$T/out4" | jq -s 'map(.receipt.attempts) | unique | join(" ")' -r)" 3 \
	"the 10 posts went in those 3 requests (one message)"
is "$(grep -c 'webhook unreachable' "$T/err4")" 1 "one warning"
wait_until 20 has good 10; ok $? "the healthy webhook got its 10 posts"
wait "$pid"; is $? 0 "exit 0 at end of input"
jq -e '.status == "expired" and (.reason | test("unreachable"))' \
	"$(ls -d "$T"/s4/discord/dead/* | head -1)" >/dev/null
ok $? "the dead letter says why"

# --- 5. post-slack, the same machinery: a Slack webhook that hangs fills its
# own queue (-Q) and is then unreachable; the healthy one gets its posts
if command -v post-slack >/dev/null && start_fake sl slack --burst 100000 --interval 0.001; then
	sk() { post_pairs "$1" "$2" "$(jq -nc --arg u "$sl_url/services/T0/$3/X" '[{slack: $u}]')" s; }
	fake_ctl "$sl_url" '{"clear":true,"clear_log":true,"faults":[{"match":"/services/T0/hung/","delay":20,"times":-1}]}'
	{ sk 1 40 hung; sk 1 10 good; } >"$T/in5"
	post-slack -d "$T/s5" -i 0.01 -Q 25 -t 1 -b 0.05 --batch 1 <"$T/in5" >"$T/out5" 2>"$T/err5" &
	pid=$!; _pids="$_pids $pid"
	wait_until 60 sh -c "[ \$(grep -c '\"status\":\"expired\"' $T/out5) -ge 40 ]"
	is "$(post_receipts slack expired "$T/out5" 'queue full')" 15 "slack: the hung webhook's 15 posts past -Q 25 expired: queue full"
	is "$(post_receipts slack expired "$T/out5" 'unreachable')" 25 "slack: its 25 queued posts expired as unreachable"
	good() { [ "$(post_receipts slack posted "$T/out5")" -ge 10 ]; }
	wait_until 30 good; ok $? "slack: the healthy webhook got its 10 posts ($(post_receipts slack posted "$T/out5"))"
	wait "$pid"; is $? 0 "slack: exit 0 at end of input"
else
	ok 0 "# SKIP no post-slack or fake slack"
fi

done_testing
