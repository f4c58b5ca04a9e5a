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

done_testing
