#!/bin/bash
# insight, the operator's command: usage and exit codes; check and reload
# (an invalid stream changes nothing); try (what would be posted, posting
# nothing; packages and "ID HASH" lines); up in the foreground (the sink's
# lines on its output, SIGTERM stops in order); status (states, restarts,
# backlogs, receipts, dead webhooks); logs; splice errors; a stage that
# does not drain at down (its FIFO kept in $STATE_DIR/pending and written
# back by the next up); a stage exiting 100 is not restarted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need

pipeline_fakes 40
export INSIGHT_DRAIN=20
pipeline_setup
running() { s6-svscanctl -z "$RUN/scan" 2>/dev/null; }
filling() { [ "$(bytes "$1")" -gt 0 ]; }

# --- usage and what needs a running pipeline
insight >/dev/null 2>"$T/err"
is $? 100 "no command: exit 100"
grep -q '^usage: insight' "$T/err"
ok $? "no command: usage on stderr"
insight frobnicate 2>/dev/null
is $? 100 "unknown command: exit 100"
insight status >/dev/null 2>"$T/err"
is $? 111 "status, not running: exit 111"
grep -q 'not running' "$T/err"
ok $? "status says it is not running"
insight down 2>/dev/null
is $? 0 "down, not running: exit 0"
insight reload 2>/dev/null
is $? 111 "reload, not running: exit 111"

# --- check: the shipped streams.d, then a broken one
insight check "$ROOT/streams.d" >"$T/out" 2>&1
is $? 0 "check: the shipped streams.d is valid (default and examples)"
mkdir "$T/bad"
echo '{"targets": [{"stdout": true}], "match": {"valeu": {"min": 1}}}' >"$T/bad/typo.json"
insight check "$T/bad" >"$T/out" 2>&1
is $? 100 "check: an invalid stream, exit 100"
grep -q "typo.json: \$.match.valeu: " "$T/out"
ok $? "check: the error names the file and the JSON path ($(head -1 "$T/out"))"

# --- up refuses invalid streams and starts nothing
STREAMS_DIR=$T/bad insight up -d >/dev/null 2>"$T/err"
is $? 100 "up with an invalid stream: exit 100"
running
ok $((! $?)) "nothing started"

# --- try: packages, then "ID HASH" lines; nothing is posted
head -n 20 "$FX/killmails.ndjson" >"$T/kills"
jq -r '"\(.killmail_id) \(.killmail_hash)"' "$T/kills" >"$T/ids"
want=$(jq -s '[.[] | select((.zkb.totalValue // 0) >= 1e8)] | length' "$T/kills")
insight try "$ROOT/streams.d/default.json" "$T/kills" >"$T/try1" 2>"$T/try1.err"
is $? 0 "try default.json: exit 0"
is "$(grep -c '^default -> stdout: ' "$T/try1")" "$want" "try default.json: one line per kill over 100M ISK ($want of 20)"
grep -q 'zkillboard.com/kill/[0-9]*/$' "$T/try1"
ok $? "try: the line ends with the zKillboard URL"
insight try "$STREAMS_DIR/all.json" "$T/ids" >"$T/try2" 2>/dev/null
is "$(grep -o '^all -> discord \$HOOK_ALL: .*kill/[0-9]*/$' "$T/try2" | grep -o '[0-9]*/$' | sort | tr -d / | tr '\n' ' ')" \
	"$(jq -r .killmail_id "$T/kills" | sort | tr '\n' ' ')" \
	"try with ID HASH lines (bodies fetched from ESI): a line for each of the 20"
want=$(jq -s '[.[] | select((.zkb.totalValue // 0) >= 1e10)] | length' "$T/kills")
insight try "$ROOT/streams.d/big-kills.json" "$T/kills" >"$T/try3" 2>/dev/null
is "$(grep -c '^big-kills -> discord \$BIG_KILLS: ' "$T/try3")" "$want" \
	"try a disabled example: it is tried, its webhook shown as \$BIG_KILLS ($want)"
insight try "$STREAMS_DIR" "$T/kills" >"$T/try4" 2>/dev/null
is "$(grep -c '^all -> discord \$HOOK_ALL: ' "$T/try4")" 20 "try a directory: every stream"
is "$(curl -s "$d_url/_stats" | jq .requests)$(curl -s "$s_url/_stats" | jq .requests)" 00 \
	"try posted nothing"

# --- up in the foreground: the sink's lines on its output; SIGTERM stops it
"$ROOT/bin/insight" up >"$T/fg.out" 2>"$T/fg.err" &
fg=$!
wait_until 20 running
ok $? "up (foreground): s6-svscan runs"
batch 12
flowed 60
ok $? "12 mails flow"
want=$(expect_stdout "$FROM" "$TO" | wc -l)
wait_until 20 sh -c '[ "$(grep -c "kill/[0-9]*/$" "$1")" -ge "$2" ]' sh "$T/fg.out" "$want"
ok $? "the matches of the stdout streams are printed on its output ($want lines)"
grep -v '^\[[a-z]*\] .* | https://zkillboard.com/kill/[0-9]*/$' "$T/fg.out" >"$T/fg.other"
is "$(wc -l <"$T/fg.other")" 0 "nothing else is printed there (no log line)"
kill -TERM "$fg"
wait "$fg"
is $? 0 "SIGTERM: insight down, exit 0"
running
ok $((! $?)) "s6-svscan has exited"
grep -q 'insight: info: down' "$T/fg.err"
ok $? "it said so"

# --- status
fake_ctl "$d_url" '{"dead": ["1003"]}'
echo '{"targets": [{"discord": "$HOOK_NOISE"}]}' >"$STREAMS_DIR/gone.json"
insight up -d 2>/dev/null
ok $? "up -d"
batch 4
flowed 60
ok $? "4 more mails"
p=$(pid_of filter1)
kill -9 "$p"
wait_until 20 restarted filter1 "$p"
# the dead webhook's post may still be in flight when the others arrived,
# and status sees its warning once post-discord's metrics file has it
degraded() { insight status >"$T/status" 2>&1; [ $? = 1 ]; }
wait_until 30 degraded
ok $? "status: exit 1, degraded: a warning of the last minutes (the dead webhook)"
grep -q '^health: degraded: .*post-discord warned [0-9]*s ago: ' "$T/status"
ok $? "status: the reason ($(grep '^health' "$T/status"))"
is "$(awk 'NR > 1 && NF >= 5 && !/^FIFO/ { print $1 }' "$T/status" | head -9 | tr '\n' ' ')" \
	"fifo-holder redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack sink " \
	"status: every service, in pipeline order"
is "$(awk '$1 == "fifo-holder" { print $2 }' "$T/status")" ready "status: fifo-holder ready (readiness notification)"
# the first table (services), up to its blank line: the stage table below
# names the same stages
is "$(awk 'NF == 0 { exit } $1 == "esi-resolve" && NF >= 5 { print $2 }' "$T/status")" up "status: esi-resolve up"
is "$(awk 'NF == 0 { exit } $1 == "filter1" && NF >= 5 { print $5, $6, $7 }' "$T/status")" "1 signal SIGKILL" \
	"status: filter1 restarted once, by SIGKILL"
is "$(awk '/^FIFO/ { f = 1; next } f && NF == 2 { print $1 }' "$T/status" | tr '\n' ' ')" \
	"esi-resolve stream-fanout filter1 filter2 post-discord post-slack sink " "status: the backlog of every FIFO"
grep -q '^receipts (last [0-9]*, since .*): discord posted=' "$T/status"
ok $? "status: a summary of the receipts ($(grep '^receipts' "$T/status"))"
grep -q '^dead webhook: discord:…/1003 ' "$T/status"
ok $? "status: the dead webhook, as the poster logs it ($(grep '^dead webhook' "$T/status"))"
grep -q '^dead-lettered discord posts: [1-9]' "$T/status"
ok $? "status: the dead-lettered posts"
grep -q 'tok-noise\|webhooks/1003' "$T/status"
ok $((! $?)) "status: no webhook URL or token"

# --- logs
insight logs sink >"$T/logs" 2>&1
grep -q 'sink: info: receipt target=discord stream=all' "$T/logs"
ok $? "logs sink: the sink's log"
insight logs -n 400 >"$T/logs" 2>&1
n=$(awk '{ print $3 }' "$T/logs" | sort -u | grep -c '^[a-z0-9-]*:$')
ok "$([ "$n" -ge 8 ]; echo $?)" "logs: every service's log, each line with its service's name ($n)"
sort -c -k1,2 "$T/logs"
ok $? "logs: in time order"

# --- reload: an invalid edit changes nothing, a valid one is loaded
reloads() { grep -c 'info: reloaded' "$RUN/log/stream-fanout/current"; }
n=$(reloads)
cp "$STREAMS_DIR/big.json" "$T/big.json"
echo '{"match": {"value": {"min": "lots"}}, "targets": [{"stdout": true}]}' >"$STREAMS_DIR/big.json"
insight reload >"$T/out" 2>&1
is $? 100 "reload with an invalid stream: exit 100"
grep -q 'big.json: \$.match.value' "$T/out"
ok $? "reload prints the error ($(head -1 "$T/out"))"
is "$(reloads)" "$n" "stream-fanout was not signalled"
cp "$T/big.json" "$STREAMS_DIR/big.json"
insight reload 2>/dev/null
is $? 0 "reload after the fix: exit 0"
wait_until 10 sh -c '[ "$(grep -c "info: reloaded" "$1")" -gt "$2" ]' sh "$RUN/log/stream-fanout/current" "$n"
ok $? "stream-fanout reloaded"

# --- stream-fanout writes bundles into filter1, whole pairs into a stage
# spliced after it, and bundles again after unsplice
args() { tr '\0' ' ' <"/proc/$(pid_of "${1:-stream-fanout}")/cmdline"; }
for st in filter1 filter2 post-discord post-slack; do
	case $(args $st) in *--bundle*) r=0 ;; *) r=1 ;; esac
	ok $r "$st writes bundles into the next stage ($(args $st))"
done
case $(args) in *--bundle*) r=0 ;; *) r=1 ;; esac
ok $r "stream-fanout writes bundles into filter1 ($(args))"
insight splice seen --after stream-fanout -- sh -c 'exec tee -a "$1"' sh "$T/seen" 2>/dev/null
ok $? "a stage spliced after stream-fanout"
batch 3
flowed 60
ok $? "3 more mails, all posted"
is "$(jq -c 'select(.mark == null) | [has("stream"), has("mail"), has("streams")]' "$T/seen" | sort -u)" \
	'[true,true,false]' "the spliced stage saw whole pairs, no bundle ($(grep -c . "$T/seen") lines)"
case $(args) in *--bundle*) r=1 ;; *) r=0 ;; esac
ok $r "stream-fanout writes pairs while a stage is spliced after it"
insight unsplice seen 2>/dev/null
ok $? "unsplice seen"
batch 2
flowed 60
ok $? "2 more mails, all posted"
case $(args) in *--bundle*) r=0 ;; *) r=1 ;; esac
ok $r "stream-fanout writes bundles into filter1 again"
insight splice seen2 --after filter2 -- sh -c 'exec tee -a "$1"' sh "$T/seen2" 2>/dev/null
ok $? "a stage spliced after filter2"
batch 3
flowed 60
ok $? "3 more mails, all posted"
is "$(jq -c 'select(.mark == null) | [has("stream"), has("mail"), has("match"), has("streams")]' \
	"$T/seen2" | sort -u)" '[true,true,true,false]' \
	"the stage spliced after filter2 saw whole pairs with their match ($(grep -c . "$T/seen2") lines)"
case $(args filter2) in *--bundle*) r=1 ;; *) r=0 ;; esac
ok $r "filter2 writes pairs while a stage is spliced after it"
insight unsplice seen2 2>/dev/null
ok $? "unsplice seen2"
case $(args filter2) in *--bundle*) r=0 ;; *) r=1 ;; esac
ok $r "filter2 writes bundles again"

# --- splice refuses what it cannot do
insight splice 'Bad!' --after filter1 -- cat 2>/dev/null
is $? 100 "splice: a bad name, exit 100"
insight splice x --after nowhere -- cat 2>/dev/null
is $? 100 "splice: no such stage, exit 100"
insight splice filter2 --after filter1 -- cat 2>/dev/null
is $? 100 "splice: a name in use, exit 100"
insight splice x --after filter1 cat 2>/dev/null
is $? 100 "splice without --: usage, exit 100"
insight unsplice filter2 2>/dev/null
is $? 100 "unsplice of a stage that was not spliced: exit 100"
is "$(cat "$RUN/sv/filter1/env/OUT")" filter2 "the wiring is untouched"

# --- a stage that cannot drain at down: a spliced stage that reads nothing
# until $T/go exists; down keeps its FIFO in $STATE_DIR/pending, the next
# up writes it back before its writer starts
insight splice hold --after filter1 -- sh -c 'until [ -e "$1" ]; do sleep 0.1; done; exec cat' sh "$T/go" 2>"$T/splice.err"
rc=$?
ok $rc "a stage that does not read spliced after filter1"
[ $rc = 0 ] || diag "$(cat "$T/splice.err")"
batch 6
wait_until 20 filling hold
ok $? "its FIFO fills"
INSIGHT_DRAIN=2 insight down 2>"$T/down.err"
is $? 0 "down: exit 0"
grep -q 'hold: [0-9]* bytes kept in .*/pending/hold' "$T/down.err"
ok $? "down kept what it did not read ($(grep -o '[0-9]* bytes kept' "$T/down.err"))"
touch "$T/go"
insight up -d 2>"$T/up.err"
grep -q 'hold: writing back [0-9]* bytes' "$T/up.err"
ok $? "up wrote them back"
ok "$([ ! -e "$STATE_DIR/pending/hold" ]; echo $?)" "the pending file is gone"
flowed 60
ok $? "every post of those mails arrived"
is "$(posts | uniq -d | wc -l)" 0 "none twice"
insight unsplice hold 2>/dev/null
ok $? "unsplice hold"

# --- unsplice of a stage that does not read: what it did not read goes on
insight splice hold2 --after filter1 -- sh -c 'until [ -e "$1" ]; do sleep 0.1; done' sh "$T/never" 2>/dev/null
batch 3
wait_until 20 filling hold2
ok $? "a stage that never reads spliced, its FIFO fills"
INSIGHT_DRAIN=2 insight unsplice hold2 2>"$T/unsplice.err"
is $? 0 "unsplice it: exit 0"
grep -q 'passing on to filter2 [0-9]* bytes kept from hold2' "$T/unsplice.err"
ok $? "what it did not read is passed on to filter2"
flowed 60
ok $? "every post of those mails arrived"
is "$(posts | uniq -d | wc -l)" 0 "none twice"

# --- a stage that exits 100 is not restarted (finish: 125)
insight down 2>/dev/null
mkdir -p "$STATE_DIR/env/stream-fanout"
echo "--no-such-option" >"$STATE_DIR/env/stream-fanout/OPTS"
insight up -d 2>/dev/null
wait_until 20 grep -q 'stream-fanout: fatal: exited 100' "$RUN/log/stream-fanout/current"
ok $? "stream-fanout exits 100: the finish script says so"
wait_until 10 sh -c '[ "$(s6-svstat -o up,wantedup "$1")" = "false false" ]' sh "$RUN/sv/stream-fanout"
ok $? "s6 does not restart it"
is "$(s6-svdt "$RUN/sv/stream-fanout" | wc -l)" 1 "it ran once"
insight status | grep -q '^stream-fanout *stopped .* exitcode 100$'
ok $? "status: stopped, exit code 100"
insight down 2>/dev/null
is $? 0 "down with a stopped stage: exit 0"
done_testing
