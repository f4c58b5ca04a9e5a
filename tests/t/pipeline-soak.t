#!/bin/bash
# Exactly once under fire: 1,200 synthetic mails through the whole
# pipeline under s6 while random stages are killed every one to three
# seconds and the fake ESI, zKillboard and Discord fail now and then
# (tests/t/pipeline-soak.sh).  Every post the mails must give arrives, and
# none arrives twice.  The same on real killmails: tests/real/pipeline-soak.t.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
. "$(dirname "$0")/pipeline-soak.sh"
pipeline_need

N=1200
pipeline_fakes $N
start_redis r || skip_all "redis-server did not start"
export INSIGHT_DRAIN=30 REDIS_URL=$r_url
pipeline_setup
# Faults set one after another can fail a webhook more than 8 times in a
# row, which the posters answer as documented (the post goes to dead/ as
# expired); this soak is about kills, so the posters try longer here.
for pf in post-discord post-slack; do
	echo "$(cat "$STATE_DIR/env/$pf/OPTS") --attempts 40" >"$STATE_DIR/env/$pf/OPTS"
done

insight up -d 2>"$T/up.err"
ok $? "insight up -d"
soak $N 25
ok $? "published $N mails; $KILLS stages killed, $FAULTS faults set"
fake_ctl "$e_url" '{"clear": true, "reset_errors": true}'
fake_ctl "$z_url" '{"clear": true}'
fake_ctl "$d_url" '{"clear": true}'
wait_until 300 settled "$FROM" "$TO"
ok $? "every post arrived"
is "$(find "$STATE_DIR"/*/dead -type f | wc -l)" 0 "nothing dead-lettered"
posts >"$T/posts.all"
expect "$FROM" "$TO" >"$T/expected"
is "$(sort -u "$T/posts.all" | comm -13 - "$T/expected" | wc -l)" 0 \
	"lost: 0 of $(wc -l <"$T/expected") posts"
is "$(uniq -d "$T/posts.all" | wc -l)" 0 "doubled: 0"
is "$(comm -23 "$T/posts.all" "$T/expected" | wc -l)" 0 "no post that was not expected"
grep -h 'starting at the committed position' "$RUN"/log/redisq-pull/current* |
	sed -n 's/.*again=\([0-9]*\).*/\1/p' | awk '{ n++; s += $1 } END { printf "%d %d\n", n, s }' >"$T/again"
read -r starts again <"$T/again"
diag "redisq-pull started $starts times from the committed position, reading $again packages again"
ok "$([ "$starts" -gt 1 ]; echo $?)" "redisq-pull started from the committed position after kills"
grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$RUN"/log/*/current >"$T/san"
is "$(wc -l <"$T/san")" 0 "no sanitizer report in any log"
insight down 2>/dev/null
done_testing
