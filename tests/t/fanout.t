#!/bin/bash
# stream-fanout: pair lines carry the stream object as the file has it plus
# "id"; candidates in id order; disabled streams get nothing; other lines
# pass through; malformed lines are skipped; --no-index pairs every enabled
# stream; SIGTERM and closed output.
. "$(dirname "$0")/../lib.sh"

M=$ROOT/tests/data/match/mails.ndjson
jq -c .mail "$M" >"$T/mails"	# solo gang structure npc bare
S=$T/streams
mkdir -p "$S"
cat >"$S/victims.json" <<'EOF'
{"name": "Victim Alliance board", "_note": "comments stay in the object",
 "match": {"involved": {"alliance": ["victim alliance"]}},
 "targets": [{"stdout": true}], "display": {"color": {"loss": "#ff0000"}}}
EOF
printf '%s\n' '{"match": {"region": [10000002]}, "targets": [{"discord": "$A"}]}' >"$S/b-region.json"
printf '%s\n' '{"match": {"space": ["wormhole"]}, "targets": [{"slack": "$B"}]}' >"$S/a-wormholes.json"
printf '%s\n' '{"enabled": false, "targets": [{"stdout": true}]}' >"$S/off.json"
printf '%s\n' '{"enabled": true, "match": {"value": {"min": 5e9}}, "targets": [{"stdout": true}]}' >"$S/rich.json"

stream-fanout -d "$S" <"$T/mails" >"$T/out" 2>"$T/err"
is "$?" 0 "exit 0 at the end of input"
is "$(jq -c '[.mail.killmail_id, .stream.id]' "$T/out" | tr -d '\n')" \
	'[1001,"victims"][1002,"b-region"][1002,"victims"][1003,"rich"][1004,"a-wormholes"]' \
	"each mail with its candidates, in id order"
grep -q "info: loaded streams=5 live=4" "$T/err"
ok $? "the load is logged (the disabled stream is loaded, not live)"
grep -q "done mails=5 pairs=5 other=0 malformed=0 candidates=5" "$T/err"
ok $? "the counts are logged at the end (every mail read, even one without a pair)"

# The stream object: the file's, key order kept, plus "id" at the end.
line=$(grep '"id":"victims"' "$T/out" | head -1)
is "$(printf '%s' "$line" | jq -c '.stream | keys_unsorted')" \
	'["name","_note","match","targets","display","id"]' "the stream keeps the file's keys in order, then id"
is "$(printf '%s' "$line" | jq -S -c .stream)" "$(jq -S -c '. + {id: "victims"}' "$S/victims.json")" \
	"the stream is the file's object plus its id"
is "$(printf '%s' "$line" | jq -S -c .mail)" "$(sed -n 1p "$T/mails" | jq -S -c .)" "the mail is carried whole"
case $line in '{"stream":{'*) r=0 ;; *) r=1 ;; esac
ok $r "a pair line is compact and begins with the stream"

# --no-index: every enabled stream for every mail.
stream-fanout --no-index -d "$S" <"$T/mails" >"$T/naive" 2>/dev/null
is "$(wc -l <"$T/naive")" 20 "--no-index: 5 mails x 4 enabled streams"
grep -q '"id":"off"' "$T/naive"
ok $((! $?)) "--no-index: the disabled stream still gets nothing"
filter1 <"$T/out" >"$T/f1" 2>/dev/null
filter1 <"$T/naive" >"$T/f2" 2>/dev/null
cmp -s "$T/f1" "$T/f2"
ok $? "after filter1, the index gives what --no-index gives"
is "$(wc -l <"$T/f1")" 5 "... and that is not nothing"

# Other lines pass through unchanged, malformed lines are skipped.
{
	echo '{"receipt":{"target":"discord","stream":"x","killmail_id":1,"status":"posted"}}'
	echo '{"stream":{"id":"x"},"mail":{"killmail_id":1,"victim":{}}}'
	echo '{"killmail_id":7}'
	echo 'garbage'
	echo '{"killmail_id":'
	sed -n 2p "$T/mails"
} >"$T/mixed"
stream-fanout -d "$S" <"$T/mixed" >"$T/out" 2>"$T/err"
is "$(head -3 "$T/out")" "$(head -3 "$T/mixed")" "receipts, pairs and unknown objects pass through unchanged"
is "$(tail -n +4 "$T/out" | jq -r .stream.id | tr '\n' ' ')" "b-region victims " "the mail after them is paired"
is "$(grep -c 'warning: malformed line skipped' "$T/err")" 2 "one warning per malformed line"
is "$(grep -c 'warning: malformed line skipped line=[45] col=[0-9]* error="..*"$' "$T/err")" 2 \
	"each says where and why"
grep -q "done mails=1 pairs=2 other=3 malformed=2" "$T/err"
ok $? "malformed lines are counted, and the lines passed through"

# Mails as jq writes them: big reals as integers beyond 64 bits (a
# wormhole's 1e19), spaced or compact, and \u0000 in a name, are the same
# mails: the same pairs, none lost.
jq -c '.system.position = {"x": -12345000000000000000, "y": 9223372036854775808, "z": 4500000000000000000}
	| .victim.character.name |= (if . then . + "\u0000" else . end)' "$T/mails" >"$T/big"
head -2 "$T/big" | python3 -c 'import json, sys
for l in sys.stdin: print(json.dumps(json.loads(l)))' >>"$T/big"	# spaced: stream-fanout compacts them
stream-fanout -d "$S" <"$T/big" >"$T/out" 2>"$T/err"
is "$?" 0 "mails with integers beyond 64 bits: exit 0"
is "$(jq -c '[.mail.killmail_id, .stream.id]' "$T/out" | tr -d '\n')" \
	'[1001,"victims"][1002,"b-region"][1002,"victims"][1003,"rich"][1004,"a-wormholes"][1001,"victims"][1002,"b-region"][1002,"victims"]' \
	"... the same pairs as without them"
is "$(grep -c warning "$T/err")" 0 "... and no warning"
is "$(sed -n 6p "$T/out" | jq -S -c .mail)" "$(sed -n 1p "$T/out" | jq -S -c .mail)" \
	"a spaced mail carries the same values as its compact twin"
is "$(sed -n 6p "$T/out" | grep -c ', \|": ')" 0 "... compacted"

# A last line without a newline is still a mail.
sed -n 4p "$T/mails" | tr -d '\n' | stream-fanout -d "$S" >"$T/out" 2>/dev/null
is "$(jq -r .stream.id "$T/out")" a-wormholes "a last line without newline is read"

# An empty streams directory pairs nothing.
mkdir -p "$T/empty"
stream-fanout -d "$T/empty" <"$T/mails" >"$T/out" 2>/dev/null
is "$?:$(wc -c <"$T/out")" "0:0" "no streams: nothing out"
STREAMS_DIR=$S stream-fanout <"$T/mails" >"$T/out" 2>/dev/null
is "$(wc -l <"$T/out")" 5 "STREAMS_DIR names the directory"

# SIGTERM with input still open: the lines read are finished, exit 0.
mkfifo "$T/fifo"
stream-fanout -d "$S" <"$T/fifo" >"$T/out" 2>"$T/err" &
pid=$!
exec 3>"$T/fifo"
sed -n 2p "$T/mails" >&3
wait_until 10 test -s "$T/out"
ok $? "pairs are written while the input stays open (flushed)"
kill -TERM $pid
wait $pid
is "$?" 0 "SIGTERM: exit 0"
exec 3>&-
is "$(wc -l <"$T/out")" 2 "SIGTERM: complete pairs only"

stream-fanout -d "$S" <"$T/mails" >/dev/full 2>/dev/null
is "$?" 111 "a full disk: exit 111"
# Closed output: the reader is gone before the first pair is written.
mkfifo "$T/closed-in" "$T/closed-out"
stream-fanout -d "$S" <"$T/closed-in" >"$T/closed-out" 2>"$T/err" &
pid=$!
exec 5>"$T/closed-in" 4<"$T/closed-out"
exec 4<&-
sed -n 2p "$T/mails" >&5
exec 5>&-
wait $pid
is "$?" 111 "closed output: exit 111"
grep -q "fatal: output closed (EPIPE)" "$T/err"
ok $? "closed output: told as such"
done_testing
