#!/bin/bash
# Exactly once under fire, on real killmails: the first 1,500 of
# ../shared/data through the whole pipeline under s6 while random stages
# are killed and the fakes fail now and then (tests/t/pipeline-soak.sh).
# Two streams take every mail, one to Discord and one to Slack: every
# killmail must be posted once to each.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../t/pipeline.sh"
. "$(dirname "$0")/../t/pipeline-soak.sh"
real_data
pipeline_need

N=1500
start_fake z zkb --data "$REAL_DATA" --published 0 --sequence-lag 1000000 || exit 1
start_fake e esi --data "$REAL_DATA" || exit 1
start_fake d discord --bucket-limit 1000 --bucket-window 1 || exit 1
start_fake s slack --burst 1000 --interval 0.01 || exit 1
export R2Z2_URL=$z_url ESI_URL=$e_url USER_AGENT="insight-test/1 (test@example.invalid)"
export R2Z2_HEAD_WAIT=0.2 ESI_BACKOFF_MIN=0.05 ESI_BACKOFF_MAX=0.5
NPUB=0
start_redis r || skip_all "redis-server did not start"
export INSIGHT_DRAIN=30 REDIS_URL=$r_url
pipeline_setup
# Faults set one after another can fail a webhook more than 8 times in a
# row, which the posters answer as documented (the post goes to dead/ as
# expired); this soak is about kills, so the posters try longer here.
for pf in post-discord post-slack; do
	echo "$(cat "$STATE_DIR/env/$pf/OPTS") --attempts 40" >"$STATE_DIR/env/$pf/OPTS"
done
rm -f "$STREAMS_DIR"/*.json
echo '{"name": "All", "targets": [{"discord": "$HOOK_ALL"}]}' >"$STREAMS_DIR/all.json"
echo '{"name": "All", "targets": [{"slack": "$SLACK_HS"}]}' >"$STREAMS_DIR/all-slack.json"
head -n $N "$REAL_DATA/killmails.ndjson" | jq -r .killmail_id | sort -u |
	awk '{ print "d1001", $1; print "sT1/B1/X1", $1 }' | sort >"$T/expected"
settled_all() { posts >"$T/posts.now" && [ -z "$(comm -23 "$T/expected" "$T/posts.now")" ]; }

insight up -d 2>"$T/up.err"
ok $? "insight up -d"
soak $N 40
ok $? "published $N real mails; $KILLS stages killed, $FAULTS faults set"
fake_ctl "$e_url" '{"clear": true, "reset_errors": true}'
fake_ctl "$z_url" '{"clear": true}'
fake_ctl "$d_url" '{"clear": true}'
wait_until 600 settled_all
ok $? "every post arrived"
is "$(find "$STATE_DIR"/*/dead -type f | wc -l)" 0 "nothing dead-lettered"
posts >"$T/posts.all"
is "$(sort -u "$T/posts.all" | comm -13 - "$T/expected" | wc -l)" 0 \
	"lost: 0 of $(wc -l <"$T/expected") posts"
is "$(uniq -d "$T/posts.all" | wc -l)" 0 "doubled: 0"
insight down 2>/dev/null
done_testing
