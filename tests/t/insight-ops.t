#!/bin/bash
# insight's operator commands on a pipeline under s6 against the fakes:
# reload gives the posters new webhooks (a site env file, or a variable of
# reload's environment as systemd passes the secrets file); splice starts
# the new stage and refuses one that exits at once; try fails fast when ESI
# cannot be reached, says when nothing matched and renders posts
# (--render); test-post sends a sample post to a stream's webhooks.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need

pipeline_fakes 60
export INSIGHT_DRAIN=20
pipeline_setup

# ids FROM TO: the killmail ids of fixture lines FROM..TO (0-based)
ids() { jq -r .killmail_id "$FX/killmails.ndjson" | sed -n "$(($1 + 1)),$(($2 + 1))p" | sort; }
# got WEBHOOK: the killmails posted to Discord webhook WEBHOOK
got() { posts | awk -v w="d$1" '$1 == w { print $2 }' | sort -u; }
has() { [ "$(got "$1")" = "$(ids "$FROM" "$TO")" ] || [ -z "$(ids "$FROM" "$TO" | comm -23 - <(got "$1"))" ]; }
dead_for() { grep -l "$1" "$STATE_DIR"/discord/dead/* 2>/dev/null | wc -l; }

insight up -d 2>/dev/null
ok $? "up -d"
batch 2
flowed 60
ok $? "2 mails flow"

# --- reload: a webhook added as a site env file
echo '{"targets": [{"discord": "$HOOK_FRESH"}]}' >"$STREAMS_DIR/fresh.json"
echo "$d_url/api/webhooks/1009/tok-fresh" >"$STATE_DIR/env/post-discord/HOOK_FRESH"
pd=$(pid_of post-discord) ps=$(pid_of post-slack)
insight reload 2>"$T/reload.err"
is $? 0 "reload with a new stream and its webhook in env/post-discord: exit 0"
grep -q 'post-discord restarted' "$T/reload.err"
ok $? "it says post-discord was restarted ($(grep restarted "$T/reload.err"))"
restarted post-discord "$pd"
ok $? "post-discord runs again, as a new process"
is "$(pid_of post-slack)" "$ps" "post-slack, whose environment is the same, was not restarted"
batch 3
wait_until 60 has 1009
ok $? "the new stream's posts reach the new webhook ($(got 1009 | wc -l) of 3)"
is "$(dead_for HOOK_FRESH)" 0 "no post dead-lettered for want of \$HOOK_FRESH"

# --- reload: a secret from reload's environment, as systemd's ExecReload
# passes the secrets file (read anew for each command)
echo '{"targets": [{"discord": "$HOOK_SECRET"}]}' >"$STREAMS_DIR/secret.json"
pd=$(pid_of post-discord)
HOOK_SECRET=$d_url/api/webhooks/1010/tok-secret insight reload 2>"$T/reload.err"
is $? 0 "reload with HOOK_SECRET in its environment: exit 0"
restarted post-discord "$pd"
ok $? "post-discord restarted"
grep -q 'tok-secret' "$T/reload.err"
ok $((! $?)) "the webhook's URL is not printed"
batch 2
wait_until 60 has 1010
ok $? "the stream's posts reach the webhook named in reload's environment"
is "$(dead_for HOOK_SECRET)" 0 "none dead-lettered"
flowed 60
ok $? "and every other post of those mails arrived"

# --- reload with nothing new restarts no poster
pd=$(pid_of post-discord)
insight reload 2>"$T/reload.err"
is $? 0 "reload again: exit 0"
is "$(pid_of post-discord) $(pid_of post-slack)" "$pd $ps" "no poster restarted"
grep -q restarted "$T/reload.err"
ok $((! $?)) "and none said to be"

# --- splice: a command that exits at once is refused, nothing changes
epoch=$(cat "$STATE_DIR/pipeline.epoch")
p1=$(pid_of filter1) pr=$(pid_of redisq-pull)
insight splice broken --after filter1 -- jq --unbuffered -c 'select(.mark or' 2>"$T/splice.err"
is $? 100 "splice of a jq with a syntax error: exit 100"
grep -q 'splice: broken said: jq: error: syntax error' "$T/splice.err"
ok $? "it shows jq's error ($(grep -m1 'said' "$T/splice.err"))"
grep -q 'exited at once (exit 3); nothing spliced' "$T/splice.err"
ok $? "and says it exited at once, nothing spliced ($(tail -n 1 "$T/splice.err"))"
is "$(cat "$RUN/sv/filter1/env/OUT")" filter2 "filter1 still writes to filter2"
ok "$([ ! -e "$RUN/sv/broken" ] && [ ! -e "$RUN/scan/broken" ] && [ ! -e "$RUN/fifo/broken" ]; echo $?)" \
	"no service, link or FIFO left of it"
is "$(pid_of filter1) $(pid_of redisq-pull)" "$p1 $pr" "filter1 and redisq-pull were not restarted"
is "$(cat "$STATE_DIR/pipeline.epoch")" "$epoch" "the epoch did not move"
insight splice quick --after filter1 -- true 2>"$T/splice.err"
is $? 100 "splice of a command that ends at once with exit 0: refused too"
batch 3
flowed 60
ok $? "posts flow as before"

# --- splice: a command that runs is spliced and carries the lines
insight splice pass --after filter2 -- jq --unbuffered -c . 2>"$T/splice.err"
is $? 0 "splice of jq -c .: exit 0"
is "$(cat "$RUN/sv/filter2/env/OUT")" pass "filter2 writes to it"
grep -q warning "$T/splice.err"
ok $((! $?)) "no warning: it passes the marks ($(cat "$T/splice.err"))"
batch 3
flowed 60
ok $? "posts flow through it"
insight unsplice pass 2>/dev/null
is $? 0 "unsplice it"

# --- unsplice of a stage that keeps exiting does not wait for it to drain
insight splice onetime --after filter1 -- sh -c 'read -r l; exit 3' 2>/dev/null
is $? 0 "a stage that exits after its first line is spliced (it runs until then)"
batch 3
wait_until 30 sh -c '[ "$(s6-svdt "$1" | wc -l)" -ge 2 ]' sh "$RUN/sv/onetime"
ok $? "it exits as lines come"
insight unsplice onetime 2>"$T/unsplice.err"
is $? 0 "unsplice it: exit 0"
grep -q 'onetime is not running steadily ([0-9]* exits): not waiting' "$T/unsplice.err"
ok $? "it says it does not wait for it ($(grep steadily "$T/unsplice.err"))"
is "$(cat "$RUN/sv/filter1/env/OUT")" filter2 "filter1 writes to filter2 again"
flowed 60
ok $? "every post of those mails arrived"

# --- try: ESI cannot be reached; nothing matched; --render
head -n 5 "$FX/killmails.ndjson" >"$T/kills"
jq -r '"\(.killmail_id) \(.killmail_hash)"' "$T/kills" >"$T/ids"
ESI_URL=http://127.0.0.1:1 insight try "$STREAMS_DIR/all.json" "$T/ids" >"$T/try.out" 2>"$T/try.err"
is $? 111 "try with ESI unreachable: exit 111"
grep -q '^insight: fatal: try: ESI cannot be reached (http://127.0.0.1:1; ' "$T/try.err"
ok $? "it says so ($(tail -n 1 "$T/try.err"))"
grep -q '^esi-resolve: fatal: ESI failing for [0-9]*s, giving up' "$T/try.err"
ok $? "esi-resolve gave up ($(grep 'giving up' "$T/try.err"))"
is "$(wc -c <"$T/try.out")" 0 "nothing printed as a match"
echo '{"match": {"value": {"min": 1e15}}, "targets": [{"stdout": true}]}' >"$T/never.json"
insight try "$T/never.json" "$T/kills" >"$T/try.out" 2>"$T/try.err"
is $? 0 "try, nothing matches: exit 0"
grep -q '^insight: info: try: nothing matched: 5 killmails read, 5 resolved' "$T/try.err"
ok $? "it says nothing matched ($(grep 'try:' "$T/try.err"))"
is "$(wc -c <"$T/try.out")" 0 "and prints no match"
nd=$(curl -s "$d_url/_stats" | jq .requests) ns=$(curl -s "$s_url/_stats" | jq .requests)
insight try --render "$STREAMS_DIR" "$T/kills" >"$T/render" 2>"$T/render.err"
is $? 0 "try --render of the streams: exit 0"
is "$(grep -c '^all -> discord \$HOOK_ALL (killmail [0-9]*):$' "$T/render")" 5 "a Discord post of all.json for each killmail"
grep -v ' -> ' "$T/render" | jq -s -c '[.[] | select(.embeds) | .embeds[0].url | capture("kill/(?<k>[0-9]+)/").k | tonumber] | unique' >"$T/urls" 2>&1
is "$(cat "$T/urls")" "$(jq -s -c '[.[].killmail_id] | unique' "$T/kills")" \
	"each is the Discord body: an embed linking to its killmail"
n=$(awk '/^highsec-slack -> slack \$SLACK_HS /' "$T/render" | wc -l)
is "$(grep -v ' -> ' "$T/render" | jq -s '[.[] | select(.text and (.embeds | not))] | length')" "$n" \
	"the Slack posts are Slack bodies ($n)"
want=$(jq -s '[.[] | select((.zkb.totalValue // 0) >= 1e9)] | length' "$T/kills")
is "$(grep -c '^big -> stdout: .* | https://zkillboard.com/kill/[0-9]*/$' "$T/render")" "$want" \
	"a {\"stdout\": true} target keeps its line ($want)"
is "$(curl -s "$d_url/_stats" | jq .requests) $(curl -s "$s_url/_stats" | jq .requests)" "$nd $ns" "try --render posted nothing"

# --- test-post: a sample post to each webhook of a stream
dposts() { curl -s "$d_url/_posts" | jq -s --arg w "$1" '[.[] | select(.webhook == $w)] | length'; }
n1=$(dposts 1001)
deadn="$(ls "$STATE_DIR"/discord/dead | wc -l) $(cat "$STATE_DIR"/discord/dead-hooks 2>/dev/null | wc -l)"
insight test-post all 2>"$T/tp.err"
is $? 0 "test-post all: exit 0"
grep -q '^insight: info: test-post: all -> discord \$HOOK_ALL: posted (HTTP 2[0-9][0-9], after 1 try)$' "$T/tp.err"
ok $? "it says the post was delivered ($(cat "$T/tp.err"))"
is "$(dposts 1001)" "$((n1 + 1))" "webhook 1001 received one more post"
curl -s "$d_url/_posts" | jq -s -e --arg w 1001 '[.[] | select(.webhook == $w)] | last | .body
	| (.content | test("^Test post from insight for the stream all: not a real kill[.]$"))
	  and (.embeds[0].title | test("Capsule destroyed in Jita"))' >/dev/null
ok $? "the post says it is a test, rendered as the stream's posts are"
ok "$(grep -q tok-all "$T/tp.err"; echo $((! $?)))" "no webhook token printed"
insight test-post secret 2>"$T/tp.err"
is $? 0 "test-post of a stream whose webhook came from reload's environment: exit 0 ($(cat "$T/tp.err"))"
ns=$(curl -s "$s_url/_posts" | jq -s length)
insight test-post highsec-slack 2>"$T/tp.err"
is $? 0 "test-post to Slack: exit 0"
curl -s "$s_url/_posts" | jq -s -e --argjson n "$ns" '.[$n:] | length == 1 and (.[0].body | tostring | test("Test post from insight"))' >/dev/null
ok $? "Slack received the test post, which says it is one"
fake_ctl "$d_url" '{"dead": ["1003"]}'
echo '{"targets": [{"discord": "$HOOK_NOISE"}, {"discord": "$HOOK_NOWHERE"}, {"stdout": true}]}' >"$STREAMS_DIR/gone.json"
insight test-post gone 2>"$T/tp.err"
is $? 100 "test-post to a webhook that is gone and a variable set nowhere: exit 100"
grep -q 'test-post: gone -> discord \$HOOK_NOISE: dead (HTTP 404' "$T/tp.err"
ok $? "it says the webhook is gone ($(grep NOISE "$T/tp.err" | tail -n 1))"
grep -q 'test-post: gone -> discord \$HOOK_NOWHERE: HOOK_NOWHERE is not set for post-discord' "$T/tp.err"
ok $? "it says the variable is not set ($(grep NOWHERE "$T/tp.err"))"
echo '{"targets": [{"stdout": true}]}' >"$T/term.json"
insight test-post "$T/term.json" 2>"$T/tp.err"
is $? 100 "test-post of a stream without a webhook: exit 100 ($(cat "$T/tp.err"))"
insight test-post nosuch 2>/dev/null
is $? 100 "test-post of no such stream: exit 100"
is "$(ls "$STATE_DIR"/discord/dead | wc -l) $(cat "$STATE_DIR"/discord/dead-hooks 2>/dev/null | wc -l)" "$deadn" \
	"the pipeline's dead letters and dead webhooks are untouched"

# --- the posters' --dry-run: rendered, not sent, no token shown
mkdir "$T/dry"
nd=$(curl -s "$d_url/_stats" | jq .requests)
jq -c --arg u "$d_url/api/webhooks/1001/tok-all" '{stream: {id: "dry", targets: [{discord: $u}, {stdout: true}]},
	mail: {killmail_id: 42, time: "2026-01-01T00:00:00Z", victim: {ship: {id: 587, name: "Rifter"}}}}' -n |
	post-discord -n -s "$T/dry" >"$T/dry.out" 2>"$T/dry.err"
is $? 0 "post-discord --dry-run: exit 0"
is "$(jq -r 'select(.render) | .render | "\(.target) \(.stream) \(.killmail_id) \(.webhook) \(.body.embeds[0].title)"' "$T/dry.out")" \
	"discord dry 42 discord:…/1001 Rifter destroyed in #0" "one render line: the webhook as the logs name it, the body"
is "$(jq -c 'select(.stream) | .stream.id' "$T/dry.out")" '"dry"' "the pair passes on for its stdout target"
ok "$(grep '"render"' "$T/dry.out" | cat - "$T/dry.err" | grep -q tok-all; echo $((! $?)))" \
	"no token in the render line or the log (the pair passes on unchanged, for later stages)"
is "$(curl -s "$d_url/_stats" | jq .requests)" "$nd" "nothing sent"
is "$(find "$T/dry" -type f -path '*spool*' | wc -l)" 0 "nothing spooled"

done_testing
