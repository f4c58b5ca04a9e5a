#!/bin/bash
# The whole pipeline under real s6 (insight up), from the fake zKillboard to
# the fake Discord and Slack, while faults hit it: kill -9 of every stage in
# turn, redis-server restarted, a Discord 429 storm, an ESI 5xx burst,
# SIGHUP storms with stream edits, a jq stage spliced in and out, insight
# down and up.  Afterwards every expected post has arrived exactly once,
# no FIFO, spool or pending file holds anything and no log has a fatal or
# sanitizer line.  What kill -9 of a stage loses (what it held in memory)
# is measured per stage and reported, not hidden.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need

pipeline_fakes 90
start_redis r || skip_all "redis-server did not start"
export INSIGHT_DRAIN=30 REDIS_URL=$r_url
pipeline_setup
KILLED=	# the mails of the kill -9 batches, FROM:TO

insight up -d 2>"$T/up.err"
ok $? "insight up -d"
is "$(ls "$RUN/scan" | tr '\n' ' ')" "esi-resolve fifo-holder filter1 filter2 post-discord post-slack redisq-pull sink stream-fanout " \
	"nine services under s6-svscan"
is "$(cat "$RUN/sv/esi-resolve/env/REDIS_URL")" "$r_url" "REDIS_URL set by the operator reaches esi-resolve"
is "$(cat "$RUN/sv/redisq-pull/env/R2Z2_URL")" "$z_url" "R2Z2_URL reaches redisq-pull"

# --- mails flow from zKillboard to Discord and Slack
batch 10
flowed 60
ok $? "10 mails: every expected post arrived"
is "$(posts | uniq -d | wc -l)" 0 "none twice"
expect_stdout 0 9 | sort -u >"$T/so.want"
grep -o '\[[a-z]*\] .*kill/[0-9]*' "$RUN/log/sink/current" | sed 's/^\[\([a-z]*\)\].*kill\//\1 /' | sort -u >"$T/so.got"
cmp -s "$T/so.want" "$T/so.got"
ok $? "the sink printed exactly the stdout matches ($(wc -l <"$T/so.want"))"
grep -q 'sink: info: receipt target=discord stream=all killmail_id=1000000 status=posted' "$RUN/log/sink/current"
ok $? "the sink logs the receipts"

# --- kill -9 of each stage in turn, while a batch flows.  The posters'
# spools are empty first, so a request in flight at the kill (which the
# poster sends again: at most one duplicate, see post-discord(1)) belongs
# to this batch.  pipeline-kill.t measures the window with work held.
for s in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack sink fifo-holder; do
	wait_until 30 spools_empty
	batch 3
	kill9 "$s"
	ok $? "kill -9 $s: s6 restarted it"
	KILLED="$KILLED $FROM:$TO"
	flowed 20
	diag "kill -9 $s: $(missing "$FROM" "$TO") of $(expect "$FROM" "$TO" | wc -l) posts lost," \
		"$(posts | uniq -d | grep -cxFf <(expect "$FROM" "$TO")) doubled"
done

# --- redis-server killed while mails flow, then back
kill "$r_pid"
wait "$r_pid" 2>/dev/null
batch 4
flowed 60
ok $? "Redis down: mails still flow (in-process cache)"
start_redis r
ok $? "redis-server restarted on the same socket"
batch 4
flowed 60
ok $? "Redis back: mails flow"

# --- a Discord 429 storm: a global limit, then per-webhook 429s
fake_ctl "$d_url" '{"global_429": 2, "faults": [{"match": "/webhooks/", "status": 429, "retry_after": 1, "times": 15}]}'
batch 6
flowed 90
ok $? "Discord 429 storm: every post arrived"

# --- an ESI 5xx burst (names and universe lookups of new mails)
fake_ctl "$e_url" '{"faults": [{"match": "/", "status": 503, "times": 30}]}'
batch 6
flowed 90
ok $? "ESI 5xx burst: every post arrived"
is "$(curl -s "$e_url/_stats" | jq '.status["503"] // 0')" 30 "the burst was met (30 answers 503)"

# --- SIGHUP storms with stream edits while mails flow; the edits change
# names and add or remove a stream that matches nothing, so the expected
# posts stay the same
batch 8
fan=$(pid_of stream-fanout) bad=0
for i in $(seq 1 20); do
	jq -c --arg n "Everything $i" '.name = $n' "$STREAMS_DIR/all.json" >"$T/all.json" &&
		mv "$T/all.json" "$STREAMS_DIR/all.json"
	if [ $((i % 2)) = 1 ]; then
		echo '{"match": {"system": [1]}, "targets": [{"discord": "$HOOK_NOISE"}]}' >"$STREAMS_DIR/noise.json"
	else
		rm -f "$STREAMS_DIR/noise.json"
	fi
	insight reload 2>/dev/null || bad=$((bad + 1))
	s6-svc -h "$RUN/sv/stream-fanout"
done
is "$bad" 0 "20 reloads accepted"
flowed 60
ok $? "SIGHUP storm: every post arrived"
is "$(pid_of stream-fanout)" "$fan" "stream-fanout reloaded without a restart"

# --- a jq stage spliced in after filter2, then taken out, mails flowing
insight splice tagger --after filter2 -- \
	jq --unbuffered -c 'if .stream then .stream.name += " via jq" else . end' 2>"$T/splice.err"
ok $? "insight splice tagger --after filter2"
is "$(cat "$RUN/sv/filter2/env/OUT") $(cat "$RUN/sv/tagger/env/OUT")" "tagger post-discord" \
	"rewired: filter2 -> tagger -> post-discord"
batch 5
flowed 60
ok $? "spliced: every post arrived"
curl -s "$d_url/_posts" | grep -q 'via jq'
ok $? "the posts went through the jq stage"
insight unsplice tagger 2>"$T/unsplice.err"
ok $? "insight unsplice tagger"
is "$(cat "$RUN/sv/filter2/env/OUT")" post-discord "rewired: filter2 -> post-discord"
ok "$([ ! -e "$RUN/sv/tagger" ] && [ ! -e "$RUN/fifo/tagger" ]; echo $?)" "tagger's service and FIFO are gone"
tagged=$(curl -s "$d_url/_posts" | grep -c 'via jq')
batch 5
flowed 60
ok $? "unspliced: every post arrived"
is "$(curl -s "$d_url/_posts" | grep -c 'via jq')" "$tagged" "no post goes through jq any more"

# --- insight down while a batch flows, and up again
batch 6
insight down 2>"$T/down.err"
ok $? "insight down"
! s6-svscanctl -z "$RUN/scan" 2>/dev/null
ok $? "s6-svscan has exited"
grep -q 'warning' "$T/down.err"
ok $((! $?)) "down drained every stage in time (no SIGTERM fallback)"
ok "$([ -z "$(ls "$STATE_DIR/pending" 2>/dev/null)" ]; echo $?)" "down left nothing pending"
insight up -d 2>>"$T/up.err"
ok $? "insight up -d again"
flowed 60
ok $? "down and up: every post arrived"
batch $((90 - NPUB))
flowed 90
ok $? "the last mails: every post arrived"

# --- the reckoning: every expected post exactly once, but for the kill -9
# batches, whose losses and duplicates are reported above
posts >"$T/posts"
expect 0 $((NPUB - 1)) >"$T/want"
for r in $KILLED; do expect "${r%:*}" "${r#*:}"; done | sort >"$T/killed"
comm -23 "$T/posts" "$T/killed" >"$T/posts.x"
comm -23 "$T/want" "$T/killed" >"$T/want.x"
is "$(uniq -d "$T/posts.x" | wc -l)" 0 "no post arrived twice ($(wc -l <"$T/posts") posts in all)"
is "$(comm -23 "$T/want.x" "$T/posts.x" | wc -l)" 0 \
	"every post arrived ($(wc -l <"$T/want.x") outside the kill -9 batches)"
is "$(comm -13 "$T/want" "$T/posts" | wc -l)" 0 "no post that was not expected"
diag "kill -9 batches: $(comm -23 "$T/killed" "$T/posts" | wc -l) of $(wc -l <"$T/killed") posts lost," \
	"$(uniq -d "$T/posts" | comm -12 - "$T/killed" | wc -l) doubled"

wait_until 30 spools_empty
ok $? "the spools are empty"
insight status >"$T/status"
is "$(awk '/^FIFO/ { f = 1; next } f && NF == 2 { s += $2 } END { print s + 0 }' "$T/status")" 0 \
	"no byte left in any FIFO"
is "$(find "$STATE_DIR/pending" "$STATE_DIR"/*.pending -type f -size +0 2>/dev/null | wc -l)" 0 \
	"no pending file (insight's, esi-resolve's, filter2's)"
grep -h ': fatal:' "$RUN"/log/*/current >"$T/fatal"
is "$(wc -l <"$T/fatal")" 0 "no fatal line in any log"
[ -s "$T/fatal" ] && diag "$(head -5 "$T/fatal")"
grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$RUN"/log/*/current >"$T/san"
is "$(wc -l <"$T/san")" 0 "no sanitizer report in any log"
insight down 2>/dev/null
done_testing
