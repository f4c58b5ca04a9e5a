#!/bin/bash
# filter1: verdicts on pairs, the exact output (the input line plus "match"),
# pending pairs, pass-through, malformed lines, streams that do not validate,
# disabled streams, the stream cache and the same-mail fast path, SIGTERM,
# a full disk.
. "$(dirname "$0")/../lib.sh"

M=$ROOT/tests/data/match/mails.ndjson
mail() { jq -c --arg n "$1" 'select(.name == $n) | .mail' "$M"; }
# pair STREAM-JSON MAIL-NAME: a pair as stream-fanout writes it
pair() { printf '{"stream":%s,"mail":%s}\n' "$1" "$(mail "$2")"; }
S_LOSS='{"name":"victims","match":{"victim":{"alliance":["Victim Alliance"]}},"targets":[{"stdout":true}],"id":"loss"}'
S_KILL='{"match":{"attacker":{"alliance":[99000010]}},"targets":[{"discord":"$X"}],"id":"kill"}'
S_NEAR='{"match":{"near":[{"system":"Jita","jumps":5}],"space":["lowsec","nullsec"]},"targets":[{"slack":"$Y"}],"id":"near"}'
S_JQ='{"match":{"jq":".stream.id == \"jq\" and .mail.killmail_id == 1003"},"targets":[{"stdout":true}],"id":"jq"}'

# One pair of each kind, in the order stream-fanout would write them.
{
	pair "$S_LOSS" solo; pair "$S_KILL" solo; pair "$S_NEAR" solo
	pair "$S_LOSS" gang; pair "$S_KILL" gang; pair "$S_NEAR" gang
	pair "$S_KILL" structure; pair "$S_JQ" structure; pair "$S_JQ" npc
} >"$T/in"
filter1 <"$T/in" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0 at the end of input"
is "$(jq -c '[.stream.id, .mail.killmail_id, .match]' "$T/out")" \
'["loss",1001,{"kind":"loss","attackers":[]}]
["near",1001,{"kind":"neutral","attackers":[],"pending":true}]
["loss",1002,{"kind":"loss","attackers":[]}]
["kill",1002,{"kind":"kill","attackers":[0,1,4]}]
["near",1002,{"kind":"neutral","attackers":[],"pending":true}]
["jq",1003,{"kind":"neutral","attackers":[]}]' "the verdicts; pairs that cannot match are dropped"
grep -q "done pairs=9 kept=6 pending=2 dropped=3 invalid=0" "$T/err"
ok $? "the counts are logged at the end"

# The output line is the input line with ,"match":{..} before its last brace.
in1=$(sed -n 1p "$T/in")
is "$(sed -n 1p "$T/out")" "${in1%\}},\"match\":{\"kind\":\"loss\",\"attackers\":[]}}" \
	"a kept pair is the input line, byte for byte, plus match"
in2=$(printf '{ "mail" : %s , "stream" : %s, "x": [1, {"y": null}] }' "$(mail solo)" "$S_LOSS")
printf '%s\n' "$in2" | filter1 >"$T/out2"
is "$(cat "$T/out2")" "${in2%\}},\"match\":{\"kind\":\"loss\",\"attackers\":[]}}" \
	"any member order and spacing; unknown members kept"

# Lines that are not pairs, and pairs that carry a match, pass unchanged.
{
	echo '{"receipt":{"target":"discord","stream":"x","killmail_id":1,"status":"posted"}}'
	pair "$S_KILL" solo | sed 's/}$/,"match":{"kind":"kill","attackers":[]}}/'
	echo '{"stream":"not an object","mail":{}}'
	echo '{"killmail_id":5}'
} >"$T/pass"
filter1 <"$T/pass" >"$T/out" 2>"$T/err"
cmp -s "$T/pass" "$T/out"
ok $? "receipts, matched pairs and other objects pass through unchanged"

# Malformed lines: one warning each, skipped; the next lines still work.
{
	echo '{"stream":'
	echo '[1,2]'
	echo 'not json'
	printf '{"stream":%s,"mail":{"a":1,}}\n' "$S_LOSS"
	printf '{"stream":%s,"mail":{"a":"\xff\xfe"}}\n' "$S_LOSS"
	pair "$S_LOSS" solo
	printf '{"stream":%s}},"mail":%s}\n' "$S_LOSS" "$(mail solo)"
	printf '{"stream":%s,"mail":%s}\n' "${S_LOSS%\}}" "$(mail solo)"
	pair "$S_LOSS" solo
	printf '{"stream":%s,"mail":%s} x\n' "$S_LOSS" "$(mail solo)"
	printf '{"stream":%s,"mail":%s,}\n' "$S_LOSS" "$(mail solo)"
} >"$T/bad"
filter1 <"$T/bad" >"$T/out" 2>"$T/err"
is "$?" 0 "malformed lines do not stop filter1"
is "$(wc -l <"$T/out")" 2 "only the two good pairs come out"
is "$(grep -c 'warning: malformed' "$T/err")" 9 "one warning per malformed line"
is "$(grep -c 'warning: malformed line skipped line=[0-9]* col=[0-9]* error="..*"$' "$T/err")" 9 \
	"each says where and why"
grep -q 'line=5 col=[0-9]* error="invalid UTF-8 in string"' "$T/err"
ok $? "... the reason is the scanner's"
grep -q "done pairs=2 kept=2 pending=0 dropped=0 invalid=0 malformed=9" "$T/err"
ok $? "malformed lines are counted"

# Mails as jq writes them (a wormhole's 1e19 position as an integer beyond
# 64 bits, \u0000 in a name): the same verdicts, every pair counted.
bigmail() { mail "$1" | jq -c '.system.position = {"x": -12345000000000000000, "y": 9223372036854775808, "z": 4500000000000000000}
	| .victim.character.name += "\u0000"'; }
{
	for n in solo gang; do
		for s in "$S_LOSS" "$S_KILL" "$S_NEAR"; do
			printf '{"stream":%s,"mail":%s}\n' "$s" "$(bigmail $n)"
		done
	done
} >"$T/big"
head -6 "$T/in" | filter1 >"$T/want" 2>/dev/null
filter1 <"$T/big" >"$T/out" 2>"$T/err"
is "$(jq -c '[.stream.id, .mail.killmail_id, .match]' "$T/out")" \
	"$(jq -c '[.stream.id, .mail.killmail_id, .match]' "$T/want")" "integers beyond 64 bits: the same verdicts"
grep -q "done pairs=6 kept=5 pending=2 dropped=1 invalid=0 malformed=0" "$T/err"
ok $? "... every pair counted"
is "$(grep -c warning "$T/err")" 0 "... and no warning"
# a stream as jq writes it: 1e19 as an integer beyond 64 bits
pair '{"match":{"value":{"min":10000000000000000000}},"targets":[{"stdout":true}],"id":"huge"}' solo |
	filter1 >"$T/out" 2>"$T/err"
grep -q "done pairs=1 kept=0 pending=0 dropped=1 invalid=0" "$T/err"
ok $? "a stream with an integer beyond 64 bits validates (a real), the pair is judged"

# Bundles: the same pairs, each mail once, give the same output; a bundle
# element that is not an object is one pair dropped with a warning; pairs
# and bundles may alternate.
bundle() { printf '{"streams":[%s],"mail":%s}\n' "$1" "$(mail "$2")"; }
{
	bundle "$S_LOSS,$S_KILL,$S_NEAR" solo
	bundle "$S_LOSS,$S_KILL,$S_NEAR" gang
	pair "$S_KILL" structure; pair "$S_JQ" structure
	bundle "$S_JQ" npc
} >"$T/bin"
filter1 <"$T/bin" >"$T/bout" 2>"$T/berr"
filter1 <"$T/in" >"$T/out" 2>/dev/null
cmp -s "$T/out" "$T/bout"
ok $? "bundles and pairs: the output of the same pairs as pair lines, byte for byte"
grep -q "done pairs=9 kept=6 pending=2 dropped=3 invalid=0 malformed=0 bundles=3" "$T/berr"
ok $? "... a bundle's streams count as pairs ($(grep done "$T/berr"))"
bundle "$S_LOSS,[1],\"x\",$S_KILL" gang | filter1 >"$T/out" 2>"$T/err"
is "$(jq -r .stream.id "$T/out" | tr '\n' ' ')" "loss kill " "a bundle with elements that are not streams: the others are judged"
is "$(grep -c 'warning: pair dropped: a stream of the bundle is not an object line=1' "$T/err")" 2 \
	"one warning per element that is not an object"
grep -q "done pairs=4 kept=2 pending=0 dropped=0 invalid=2 malformed=0 bundles=1" "$T/err"
ok $? "... counted invalid"
printf '{"streams":[],"mail":%s}\n{"streams":{},"mail":%s}\n' "$(mail solo)" "$(mail solo)" |
	filter1 >"$T/out" 2>"$T/err"
is "$(jq -c 'has("streams")' "$T/out" | tr '\n' ' ')" "true " \
	"an empty bundle writes nothing; \"streams\" not an array: not a bundle, passed on"

# A stream that does not validate (spliced in by hand), or is disabled: dropped.
{
	pair '{"match":{"victim":{"alliace":[1]}},"targets":[{"stdout":true}],"id":"typo"}' solo
	pair '{"match":{},"targets":[{"stdout":true}]}' solo
	pair '{"match":{},"targets":[{"stdout":true}],"id":"Bad Id"}' solo
	pair '{"match":{},"targets":[],"id":"notarget"}' solo
	pair '{"match":{},"targets":[{"stdout":true}],"id":"off","enabled":false}' solo
	pair '{"match":{},"targets":[{"stdout":true}],"id":"on"}' solo
	pair '{"match":{"victim":{"alliace":[1]}},"targets":[{"stdout":true}],"id":"typo"}' gang
} >"$T/inv"
filter1 <"$T/inv" >"$T/out" 2>"$T/err"
is "$(jq -r .stream.id "$T/out")" on "streams that do not validate and disabled streams are dropped"
grep -q 'warning: stream typo (line 1): $.match.victim.alliace: unknown key (did you mean "alliance"?)' "$T/err"
ok $? "the problem of a stream is told, with its path"
is "$(grep -c 'unknown key' "$T/err")" 1 "a bad stream text is explained once"
is "$(grep -c 'pair dropped' "$T/err")" 6 "every dropped pair is warned about"
grep -q 'pair dropped: stream off is disabled' "$T/err"
ok $? "a disabled stream is named"

# The cache: one stream text over many mails, many stream texts over one
# mail, and a stream whose text changes (a new revision) under the same id.
S_V1='{"match":{"victim":{"ship_group":["Carrier"]}},"targets":[{"stdout":true}],"id":"rev"}'
S_V2='{"match":{"victim":{"ship_group":["Frigate"]}},"targets":[{"stdout":true}],"id":"rev"}'
for m in solo gang structure npc bare solo gang; do
	pair "$S_V1" $m; pair "$S_V2" $m
done >"$T/rev"
filter1 <"$T/rev" >"$T/out"
is "$(jq -c '[.mail.killmail_id, .stream.match.victim.ship_group[0]]' "$T/out" | tr -d '\n')" \
	'[1001,"Frigate"][1002,"Carrier"][1005,"Frigate"][1001,"Frigate"][1002,"Carrier"]' \
	"two revisions of one stream are told apart; mails are not mixed up"

# The same-mail fast path: a line whose tail is the previous mail but whose
# stream part is broken is malformed, not a pair.
{
	pair "$S_LOSS" solo
	printf '{"stream":{"id":"x"]},"mail":%s}\n' "$(mail solo)"
	printf '{"stream":{"a":"b"} ,"mail":%s}\n' "$(mail solo)"
	printf '{"stream":{"id":"x","s":"},\\"y\\":{"},"mail":%s}\n' "$(mail solo)"
} >"$T/fast"
filter1 <"$T/fast" >"$T/out" 2>"$T/err"
is "$(wc -l <"$T/out")" 1 "fast path: only the real pair is kept"
is "$(grep -c 'malformed line' "$T/err")" 1 "fast path: a broken stream part is malformed"
is "$(grep -c 'does not validate' "$T/err")" 2 "fast path: odd but valid streams are validated"

# SIGTERM between lines: what was read is finished, exit 0.
mkfifo "$T/fifo"
filter1 <"$T/fifo" >"$T/out" 2>"$T/err" &
pid=$!
exec 3>"$T/fifo"
pair "$S_LOSS" solo >&3
wait_until 10 test -s "$T/out"
ok $? "a pair goes through while the input stays open"
kill -TERM $pid
wait $pid
is "$?" 0 "SIGTERM: exit 0"
exec 3>&-
is "$(wc -l <"$T/out")" 1 "SIGTERM: the output is complete lines"

# Output errors are fatal (111).
filter1 <"$T/in" >/dev/full 2>"$T/err"
is "$?" 111 "a full disk: exit 111"
# Closed output: the reader is gone before the first pair is written.
mkfifo "$T/closed-in" "$T/closed-out"
filter1 <"$T/closed-in" >"$T/closed-out" 2>"$T/err" &
pid=$!
exec 5>"$T/closed-in" 4<"$T/closed-out"
exec 4<&-
sed -n 1p "$T/in" >&5
exec 5>&-
wait $pid
is "$?" 111 "closed output: exit 111"
grep -q "fatal: output closed (EPIPE)" "$T/err"
ok $? "closed output: told as such"
filter1 -x </dev/null 2>/dev/null
is "$?" 100 "usage error: exit 100"
# --bundle: the kept pairs of each line go out as one bundle, the mail once,
# with "matches" beside "streams"; read as pairs, the very pairs of the
# plain output; a line with nothing kept writes nothing.
filter1 --bundle <"$T/bin" >"$T/bbout" 2>/dev/null
filter1 <"$T/in" >"$T/pout" 2>/dev/null
is "$(grep -c . "$T/bbout")" 3 "--bundle: one line per input line with a kept pair (solo, gang, structure)"
m=$(mail gang)
v_loss='{"kind":"loss","attackers":[]}' v_kill='{"kind":"kill","attackers":[0,1,4]}'
v_near='{"kind":"neutral","attackers":[],"pending":true}'
is "$(sed -n 2p "$T/bbout")" \
	"{\"streams\":[$S_LOSS,$S_KILL,$S_NEAR],\"mail\":$m,\"matches\":[$v_loss,$v_kill,$v_near]}" \
	"--bundle: the bundle's streams, its mail as it came, the matches in order, byte for byte"
is "$(unbundle "$T/bbout")" "$(jq -c . "$T/pout")" "--bundle: read as pairs, the plain output"
filter1 --bundle <"$T/in" | unbundle >"$T/bpout"
is "$(cat "$T/bpout")" "$(jq -c . "$T/pout")" "--bundle on pair lines: a bundle of each kept pair"
filter1 --bundle <"$T/bbout" >"$T/again"
cmp -s "$T/bbout" "$T/again"
ok $? "a bundle with matches passes through unchanged"

done_testing
