#!/bin/bash
# The real day 2021-11-29 of ../shared/data (every killmail of it, chosen
# here at run time) through the seven stages against the fakes, plain and
# with `jq -c .` between every two stages: exactly the same posts.  jq
# writes the coordinates of wormhole systems (about 1e19 metres) as 19- and
# 20-digit integer literals; every stage reads them.  A third pass has
# every stage write bundles, as the services run them: the same posts
# again.  Streams: 100 from
# bench/streams/gen.py over the day's mails, a catch-all, a wormhole board
# and a light-year radar around a wormhole.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/t/jq-splice.sh"
real_data
splice_need
UNIVERSE=$REAL_DATA

grep '"killmail_time": *"2021-11-29' "$REAL_DATA/killmails.ndjson" >"$T/day"
n=$(wc -l <"$T/day")
[ "$n" -gt 1000 ] || skip_all "the day 2021-11-29 is not in ../shared/data ($n killmails)"
python3 "$ROOT/tests/gen/mails.py" --killmails "$T/day" "$REAL_DATA" >"$T/mails" || exit 1
S=$T/streams
python3 "$ROOT/bench/streams/gen.py" --mails "$T/mails" --count 100 --out "$S" --seed 1 >/dev/null || exit 1
wh=$(jq -r 'select(.system.space == "wormhole") | .system.id' "$T/mails" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
cat >"$S/zz-all.json" <<'EOF'
{"name": "Everything", "targets": [{"discord": "$HOOK_ALL"}]}
EOF
cat >"$S/zz-wh.json" <<'EOF'
{"match": {"space": ["wormhole"]}, "targets": [{"discord": "$HOOK_WH"}, {"slack": "$SLACK_WH"}]}
EOF
printf '{"match": {"near": [{"system": %s, "lightyears": 20}]}, "targets": [{"discord": "$HOOK_NEAR"}]}\n' \
	"${wh:-31000005}" >"$S/zz-near.json"

splice_fakes "$T/day"
for f in $(seq 0 96); do export "FEED_$f=$d_url/api/webhooks/$((2000 + f))/tok$f"; done
diag "$n killmails, $(jq -r 'select(.system.space == "wormhole") | 1' "$T/mails" | wc -l) in wormholes;" \
	"$(ls "$S" | wc -l) streams; radar around system $wh"

splice_run plain
splice_run jq jq
splice_run bundle bundle
splice_posts plain >"$T/plain.posts"
splice_posts jq >"$T/jq.posts"
splice_posts bundle >"$T/bundle.posts"

is "$(splice_done plain esi-resolve mails)" "$n" "without jq: every killmail resolved"
ok "$([ "$(grep -c '^"d1003 ' "$T/plain.posts")" -gt 0 ]; echo $?)" \
	"without jq: the wormhole radar posts ($(grep -c '^"d1003 ' "$T/plain.posts"))"
big=$(grep -cE '"[xyz]":-?[0-9]{19,}[,}]' "$T/jq/mails")
ok "$([ "$big" -gt 0 ]; echo $?)" "jq wrote coordinates as 19-digit integers in $big mails"

cmp -s "$T/plain.posts" "$T/jq.posts"
ok $? "jq between every two stages: exactly the same posts ($(wc -l <"$T/jq.posts"))"
diff "$T/plain.posts" "$T/jq.posts" | head -5 | while read -r l; do diag "${l:0:200}"; done
for st in stream-fanout filter1 filter2 post-discord post-slack; do
	is "$(splice_done jq "$st" malformed)" 0 "with jq: $st read every line"
done
for k in pairs kept invalid; do
	is "$(splice_done jq filter1 $k)" "$(splice_done plain filter1 $k)" "filter1 $k: the same"
done
is "$(splice_done jq filter2 matched)" "$(splice_done plain filter2 matched)" "filter2 matched: the same"
cmp -s "$T/plain.posts" "$T/bundle.posts"
ok $? "bundles from stream-fanout to post-slack: exactly the same posts ($(wc -l <"$T/bundle.posts"))"
is "$(splice_done bundle filter2 bundles)" "$(splice_done bundle filter1 bundles)" \
	"filter2 read a bundle for every bundle filter1 read ($(splice_done bundle filter1 bundles))"
b=$(wc -c <"$T/bundle/pairs")
p=$(unbundle "$T/bundle/pairs" | grep -c '^{"stream":')
is "$p" "$(($(splice_done plain filter2 passed) + $(splice_done plain filter2 matched)))" \
	"filter2 wrote as many pairs in bundles as without ($p, in $b bytes)"
is "$(cat "$T"/jq/*.err "$T"/plain/*.err "$T"/bundle/*.err | grep -c 'warning\|fatal')" 0 \
	"no warning or fatal line in any pass"

done_testing
