#!/bin/bash
# insight status and the metrics files, through the real pipeline under s6
# with the fakes: every stage writes $STATE_DIR/metrics/STAGE.prom; status
# shows the lag behind a backlog at zKillboard, says why it is unhealthy
# (zKillboard unreachable, a crash loop) with its exit code; --json has
# the same figures; up in the foreground prints a summary line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need

pipeline_fakes 40
# a zKillboard with a backlog: all 40 published, sequence.json at the head,
# and a cursor at the first: the puller is 39 numbers behind, walking at
# a request a second
start_fake z2 zkb --data "$FX" || exit 1
export R2Z2_URL=$z2_url R2Z2_RATE=1 R2Z2_BACKOFF=0.2
export METRICS_INTERVAL=0.5 INSIGHT_SUMMARY_INTERVAL=1 INSIGHT_DRAIN=20
pipeline_setup
mkdir -p "$STATE_DIR"
(umask 077; echo 90000001 >"$STATE_DIR/redisq-pull.cursor")	# as the puller writes it: 0600
M=$STATE_DIR/metrics
running() { s6-svscanctl -z "$RUN/scan" 2>/dev/null; }
js() { insight status --json 2>/dev/null; }
lagging() { [ "$(js | jq '.lag.sequences')" -gt 0 ]; }
caught_up() { [ "$(js | jq '[.lag.sequences, .totals.mails] | @text')" = '"[0,40]"' ]; }

"$ROOT/bin/insight" up >"$T/fg.out" 2>"$T/fg.err" &
fg=$!
wait_until 20 running
ok $? "up (foreground)"
wait_until 20 lagging
ok $? "status --json: redisq-pull is behind the head ($(js | jq -c .lag))"
insight status >"$T/st1" 2>&1
grep -q '^lag: [1-9][0-9]* numbers, [0-9]*s behind the head' "$T/st1"
ok $? "status shows the lag ($(grep '^lag' "$T/st1"))"

wait_until 120 caught_up
ok $? "caught up: lag 0, 40 mails through esi-resolve"
wait_until 30 sh -c '[ "$(cat "$1"/post-discord.prom | grep -c "^insight_kill_to_post_seconds_count.* [1-9]")" = 1 ]' sh "$M"
ok $? "post-discord counted the time from kill to post"
for s in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack; do
	grep -q "^insight_up{stage=\"$s\"} 1\$" "$M/$s.prom"
	ok $? "$s.prom: insight_up 1"
done
series() { grep -c "^insight_$2{stage=\"$1\"" "$M/$1.prom"; }
is "$(series redisq-pull lines_out_total) $(series redisq-pull lag_seconds) $(series redisq-pull lag_sequences)" \
	"1 1 1" "redisq-pull: lines out, lag in seconds and numbers"
grep -q '^insight_lines_out_total{stage="redisq-pull"} 40$' "$M/redisq-pull.prom"
ok $? "redisq-pull wrote 40 packages"
is "$(series esi-resolve esi_requests_total) $(series esi-resolve esi_cache_hits_total) $(series esi-resolve waiting)" \
	"1 1 1" "esi-resolve: ESI requests, cache hits, waiting mails"
# its metrics file is written every few seconds: the last mails may come after
wait_until 20 grep -q '^insight_lines_in_total{stage="stream-fanout"} 40$' "$M/stream-fanout.prom"
ok $? "stream-fanout read 40 mails ($(grep '^insight_lines_in_total' "$M/stream-fanout.prom"))"
is "$(series filter1 lines_out_total) $(series filter1 dropped_total) $(series filter2 waiting)" \
	"1 1 1" "filter1 kept and dropped, filter2 waiting"
grep -q '^insight_queue{stage="post-discord",webhook="discord:…/1001"} 0$' "$M/post-discord.prom"
ok $? "post-discord: the queue of a webhook, named without its token"
grep -q 'tok-' "$M"/*.prom
ok $((! $?)) "no webhook token in any metrics file"
grep -q '^insight_lines_in_rate1m{stage="esi-resolve"} [0-9.e+-]*$' "$M/esi-resolve.prom"
ok $? "a rate over the last minute per counter"

j=$(js)
code=$?
is "$code" 0 "status --json: healthy, exit 0 ($(printf '%s' "$j" | jq -c .reasons))"
printf '%s' "$j" | jq -e '.stages | length == 9' >/dev/null
ok $? "--json parses, with every service"
insight status >"$T/st2" 2>&1
is $? 0 "status: exit 0"
is "$(grep '^totals:' "$T/st2")" \
	"$(printf '%s' "$j" | jq -r '"totals: mails \(.totals.mails), matches \(.totals.matches), posts \(.totals.posts), warnings \(.totals.warnings)"')" \
	"status and --json give the same figures"
grep -q '^health: ok$' "$T/st2"
ok $? "health: ok"
wait_until 20 grep -q 'insight: info: mails 40, matches [0-9]*, posts [1-9][0-9]*, lag 0 (0s), warnings' "$T/fg.err"
ok $? "up (foreground) prints a summary line ($(grep 'info: mails' "$T/fg.err" | tail -1))"

# --- zKillboard unreachable
kill "$z2_pid"
unhealthy() { insight status >"$T/st3" 2>&1; [ $? = "$1" ] && grep -q "$2" "$T/st3"; }
wait_until 30 unhealthy 1 "^health: degraded: .*cannot reach 127.0.0.1:$z2_port for "
ok $? "zKillboard stopped: status exits 1 and says so ($(grep '^health' "$T/st3"))"
grep -q "redisq-pull: warning: cannot reach 127.0.0.1:$z2_port, retrying" "$RUN/log/redisq-pull/current"
ok $? "redisq-pull's warning names the host"
wait_until 20 grep -q "insight: warning: cannot reach 127.0.0.1:$z2_port for [0-9]*\(s\| min\): " "$T/fg.err"
ok $? "up (foreground) says it cannot reach zKillboard ($(grep 'warning: cannot reach' "$T/fg.err" | tail -1))"
kill -TERM "$fg"
wait "$fg"
is $? 0 "SIGTERM: down"
grep -q '^insight_up{stage="filter1"} 0$' "$M/filter1.prom"
ok $? "a stage that exited says up 0"

# --- a crash loop: post-slack cannot create its spool (a file stands where
# its state directory should be), so it exits 111 at start, again and again
start_fake z3 zkb --data "$FX" || exit 1
rm -rf "$STATE_DIR/slack"
echo 'not a directory' >"$STATE_DIR/slack"
R2Z2_URL=$z3_url insight up -d 2>/dev/null
ok $? "up -d"
wait_until 30 unhealthy 2 '^health: down: .*post-slack is crash-looping: [0-9]* failed exits in the last minute, the last: exitcode 111'
ok $? "status exits 2 and names the crash loop ($(grep '^health' "$T/st3"))"
# each of post-slack's ends restarts redisq-pull (exit 0): not a crash
grep -q 'redisq-pull is crash-looping' "$T/st3"
ok $((! $?)) "redisq-pull, restarted cleanly, is not called crash-looping"
insight status --json >"$T/st4.json" 2>/dev/null
is "$? $(jq -r '.stages[] | select(.name == "post-slack") | .crash_looping' "$T/st4.json")" "2 true" \
	"--json: exit 2, post-slack crash_looping"
done_testing
