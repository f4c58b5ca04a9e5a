#!/bin/bash
# A fleet of two: two pipelines on one machine, each under its own s6 and
# state, stream-fanout --shard 0/2 and --shard 1/2 over one streams.d, one
# Redis.  The union of their posts is what one pipeline posts (every
# expected post, none twice), each posts its own streams only, and the
# second, started after the first, asks ESI almost nothing: the shared cache
# answers (the count is reported).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"
pipeline_need

N=60
pipeline_fakes $N
start_redis r || skip_all "redis-server did not start"
start_fake e2 esi --data "$FX" || exit 1
export STREAMS_DIR=$T/streams REDIS_URL=$r_url INSIGHT_DRAIN=30
unset ESI_URL
pipeline_streams "$STREAMS_DIR"
trap 'for h in a b; do STATE_DIR=$T/$h insight down >/dev/null 2>&1; done; _cleanup' EXIT

# host NAME SHARD ESI: the state and site env files of one pipeline
host() {
	pipeline_env "$T/$1"
	mkdir -p "$T/$1/env/stream-fanout" "$T/$1/env/esi-resolve" "$T/$1/env/filter2"
	echo "--shard $2" >"$T/$1/env/stream-fanout/OPTS"
	echo "$3" >"$T/$1/env/esi-resolve/ESI_URL"
	echo "$3" >"$T/$1/env/filter2/ESI_URL"
}
host a 0/2 "$e_url"
host b 1/2 "$e2_url"
pulled() { [ "$(cat "$T/$1/redisq-pull.cursor" 2>/dev/null)" = $((90000001 + N)) ]; }
# streams HOST: the streams a pipeline posted for, from its sink's receipts
streams() { grep -o ' stream=[^ ]*' "$T/$1/run/log/sink/current" | sort -u | cut -d= -f2 | tr '\n' ' '; }
requests() { cat "$1" 2>/dev/null | wc -l; }

publish $N
STATE_DIR=$T/a insight up -d 2>"$T/a.err"
ok $? "host a up (--shard 0/2)"
wait_until 90 pulled a
ok $? "host a pulled all $N mails"
STATE_DIR=$T/b insight up -d 2>"$T/b.err"
ok $? "host b up (--shard 1/2), after a"
wait_until 90 pulled b
ok $? "host b pulled all $N mails"
wait_until 90 settled 0 $((N - 1))
ok $? "every expected post arrived"
wait_until 30 spools_empty "$T/a" "$T/b"

posts >"$T/posts"
expect 0 $((N - 1)) >"$T/want"
cmp -s "$T/posts" "$T/want"
ok $? "the union of both hosts' posts is what one pipeline posts: $(wc -l <"$T/want") posts, none twice"
is "$(uniq -d "$T/posts" | wc -l)" 0 "no post twice"
sa=$(streams a) sb=$(streams b)
ok "$([ -n "$sa" ] && [ -n "$sb" ]; echo $?)" "both hosts posted (a: $sa; b: $sb)"
is "$(printf '%s\n' $sa $sb | sort | uniq -d | wc -l)" 0 "no stream posted by both hosts"
grep -q 'loaded streams=4 live=[0-9]* .*shard=0/2' "$T/a/run/log/stream-fanout/current" &&
	grep -q 'loaded streams=4 live=[0-9]* .*shard=1/2' "$T/b/run/log/stream-fanout/current"
ok $? "stream-fanout runs with --shard 0/2 and 1/2 (env/OPTS)"

na=$(requests "$T/e.log") nb=$(requests "$T/e2.log")
diag "ESI requests: host a $na, host b $nb (shared Redis cache)"
ok "$([ "$na" -gt 20 ] && [ $((nb * 20)) -le "$na" ]; echo $?)" \
	"host b asked ESI at most a twentieth of what host a asked ($nb vs $na)"

for h in a b; do
	STATE_DIR=$T/$h insight down 2>/dev/null
	ok $? "host $h down"
done
grep -h ': fatal:' "$T"/a/run/log/*/current "$T"/b/run/log/*/current >"$T/fatal"
is "$(wc -l <"$T/fatal")" 0 "no fatal line in any log"
done_testing
