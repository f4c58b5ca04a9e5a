#!/bin/bash
# A `jq -c .` spliced between every two stages changes nothing: the same
# posts, to the same webhooks, with the same bodies, as without it.  jq
# writes a wormhole's 19-digit coordinates as integer literals, some beyond
# 64 bits; every stage reads them (as reals) and loses no line.  Synthetic
# fixtures, whose wormhole systems lie far off as in EVE.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/jq-splice.sh"
splice_need

FX=$T/fx
fixtures "$FX" --mails 200 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
UNIVERSE=$FX
splice_fakes "$FX"

S=$T/streams
mkdir -p "$S"
cat >"$S/all.json" <<'EOF'
{"name": "Everything", "targets": [{"discord": "$HOOK_ALL"}]}
EOF
cat >"$S/wh.json" <<'EOF'
{"match": {"space": ["wormhole"]}, "targets": [{"discord": "$HOOK_WH"}, {"slack": "$SLACK_WH"}]}
EOF
cat >"$S/near.json" <<'EOF'
{"match": {"near": [{"system": 31000001, "lightyears": 30}]}, "targets": [{"discord": "$HOOK_NEAR"}]}
EOF
cat >"$S/sec.json" <<'EOF'
{"match": {"space": ["highsec"]}, "targets": [{"slack": "$SLACK_SEC", "style": "compact"}]}
EOF
cat >"$S/big.json" <<'EOF'
{"match": {"value": {"min": 1e9}}, "targets": [{"discord": "$HOOK_BIG"}]}
EOF
cat >"$S/tail.json" <<'EOF'
{"match": {"space": ["nullsec"]}, "targets": [{"discord": "$HOOK_TAIL"}, {"stdout": true}]}
EOF

splice_run plain
splice_run jq jq
splice_run bundle bundle
splice_posts plain >"$T/plain.posts"
splice_posts jq >"$T/jq.posts"
splice_posts bundle >"$T/bundle.posts"

n=$(wc -l <"$FX/killmails.ndjson")
is "$(splice_done plain esi-resolve mails)" "$n" "without jq: every killmail resolved"
is "$(grep -c '^"d1001 ' "$T/plain.posts")" "$n" "without jq: every mail posted to the catch-all stream"
ok "$([ "$(grep -c '^"d1003 ' "$T/plain.posts")" -gt 0 ]; echo $?)" \
	"without jq: the wormhole near-stream posts ($(grep -c '^"d1003 ' "$T/plain.posts"))"

# jq wrote what the stages used to lose
big=$(grep -cE '"[xyz]":-?[0-9]{19,}[,}]' "$T/jq/mails")
beyond=$(grep -oE '"[xyz]":-?[0-9]{19,}[,}]' "$T/jq/mails" |
	awk -F: '{ v = $2; sub(/[,}]$/, "", v); sub(/^-/, "", v) } length(v) > 19 || v > "9223372036854775807"' | wc -l)
ok "$([ "$big" -gt 0 ] && [ "$beyond" -gt 0 ]; echo $?)" \
	"jq wrote wormhole coordinates as 19-digit integers in $big mails ($beyond beyond 64 bits)"

cmp -s "$T/plain.posts" "$T/jq.posts"
ok $? "jq between every two stages: exactly the same posts ($(wc -l <"$T/jq.posts"))"
[ -s "$T/jq.posts" ] || diag "no posts at all"
diff "$T/plain.posts" "$T/jq.posts" | head -5 | while read -r l; do diag "${l:0:200}"; done

for st in stream-fanout filter1 filter2 post-discord post-slack; do
	is "$(splice_done jq "$st" malformed)" 0 "with jq: $st read every line"
done

# Every stage writing bundles (as the pipeline runs them): the same posts,
# and the same lines at the end once the bundles are read as pairs
cmp -s "$T/plain.posts" "$T/bundle.posts"
ok $? "bundles from stream-fanout to post-slack: exactly the same posts ($(wc -l <"$T/bundle.posts"))"
b=$(grep -c '^{"streams":\[' "$T/bundle/pairs") p=$(unbundle "$T/bundle/pairs" | grep -c '^{"stream":')
d=$(grep '^{"streams":\[' "$T/bundle/pairs" | jq -r .mail.killmail_id | sort -u | wc -l)
ok "$([ "$b" -gt 0 ] && [ "$b" = "$d" ]; echo $?)" \
	"filter2 wrote each mail once, in one bundle ($b bundles, $d mails, $p pairs)"
is "$p" "$(($(splice_done plain filter2 passed) + $(splice_done plain filter2 matched)))" \
	"... its pairs (and the pairs that waited for ESI) as many as without bundles"
n=$(grep -c '^{"stream' "$T/plain/out")
ok "$([ "$n" -gt 0 ]; echo $?)" "without bundles: pairs for the sink reach the end ($n)"
is "$(unbundle "$T/bundle/out" | jq -c 'del(.receipt.ms)' | sort | md5sum)" \
	"$(unbundle "$T/plain/out" | jq -c 'del(.receipt.ms)' | sort | md5sum)" \
	"post-slack's output (receipts, pairs for the sink), bundles read as pairs: the same lines"
is "$(splice_done bundle filter2 bundles)" "$(splice_done bundle filter1 bundles)" \
	"filter2 read as many bundles as it was written ... (filter1 read $(splice_done bundle filter1 bundles))"
is "$(splice_done jq filter1 kept)" "$(splice_done plain filter1 kept)" "filter1 keeps as many pairs"
is "$(splice_done jq filter1 invalid)" 0 "filter1: no pair invalid"
is "$(splice_done jq filter2 matched)" "$(splice_done plain filter2 matched)" "filter2 matches as many"
is "$(cat "$T"/jq/*.err "$T"/plain/*.err "$T"/bundle/*.err | grep -c 'warning\|fatal\|ERROR')" 0 \
	"no warning, fatal or sanitizer line in either pass"

done_testing
