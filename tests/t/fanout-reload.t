#!/bin/bash
# stream-fanout and SIGHUP: mails read before a reload go to the old streams,
# after it to the new; a broken or half-written file keeps its previous
# version; a removed file removes its stream; a new file adds one.  Then a
# storm of SIGHUPs and file rewrites while thousands of mails flow: no mail
# lost or doubled, no stream twice on a mail, never a broken version.
. "$(dirname "$0")/../lib.sh"

S=$T/streams
mkdir -p "$S"
solo=$(jq -c 'select(.name == "solo") | .mail' "$ROOT/tests/data/match/mails.ndjson")
mail() { printf '%s\n' "$solo" | jq -c --argjson id "$1" '.killmail_id = $id'; }
stream() { printf '{"name":"%s","targets":[{"stdout":true}]}\n' "$2" >"$S/$1.json"; }
reloads() { grep -c 'info: reloaded' "$T/err"; }
reloaded() { [ "$(reloads)" -ge "$1" ]; }
# pairs_of ID: "stream-id/name ..." of the pairs of mail ID, in order
pairs_of() { jq -r --argjson id "$1" 'select(.mail.killmail_id == $id) | "\(.stream.id)/\(.stream.name)"' "$T/out" | tr '\n' ' '; }
lines() { [ "$(wc -l <"$T/out")" -ge "$1" ]; }

stream all all
stream x v1
mkfifo "$T/in"
stream-fanout -d "$S" <"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
exec 3>"$T/in"

mail 1 >&3
wait_until 10 lines 2
is "$(pairs_of 1)" "all/all x/v1 " "before the reload: the first version"

stream x v2
kill -HUP $pid
wait_until 10 reloaded 1
mail 2 >&3
wait_until 10 lines 4
is "$(pairs_of 2)" "all/all x/v2 " "after the reload: the new version"
is "$(pairs_of 1)" "all/all x/v1 " "the mail read before the reload kept the old version"

printf '%s' '{"name":"v3","targets":[{"std' >"$S/x.json"
kill -HUP $pid
wait_until 10 reloaded 2
mail 3 >&3
wait_until 10 lines 6
is "$(pairs_of 3)" "all/all x/v2 " "a half-written file keeps its previous version"
grep -q "warning: $S/x.json: \$: invalid JSON" "$T/err"
ok $? "a half-written file is warned about"

printf '%s\n' '{"name":"v4","match":{"victim":{"alliace":[1]}},"targets":[{"stdout":true}]}' >"$S/x.json"
kill -HUP $pid
wait_until 10 reloaded 3
mail 4 >&3
wait_until 10 lines 8
is "$(pairs_of 4)" "all/all x/v2 " "an invalid file keeps its previous version"

rm "$S/x.json"
stream y new
printf '%s\n' '{"enabled":false,"targets":[{"stdout":true}]}' >"$S/z.json"
kill -HUP $pid
wait_until 10 reloaded 4
mail 5 >&3
wait_until 10 lines 10
is "$(pairs_of 5)" "all/all y/new " "a removed file removes its stream; a new file adds one; disabled gets nothing"

printf '%s\n' '{"name":"z on","enabled":true,"targets":[{"stdout":true}]}' >"$S/z.json"
kill -HUP $pid
wait_until 10 reloaded 5
mail 6 >&3
wait_until 10 lines 13
is "$(pairs_of 6)" "all/all y/new z/z on " "enabling a stream takes a reload"
exec 3>&-
wait $pid
is "$?" 0 "end of input: exit 0"

# The storm.  "all" never changes; "flip" alternates between two valid
# versions; "flaky" between valid and half-written; "blink" comes and goes.
rm -f "$S"/*.json
stream all all
stream flip A
stream flaky ok
stream blink on
N=3000
python3 -c '
import json, sys
m = json.loads(sys.argv[1])
for i in range(1, int(sys.argv[2]) + 1):
    m["killmail_id"] = i
    sys.stdout.write(json.dumps(m, separators=(",", ":")) + "\n")' "$solo" $N >"$T/storm-mails"
# One write per line, so that mails and signals interleave.  Half-way the
# feeder waits (up to a minute) for ten reloads, so that the storm overlaps
# the flow even on a loaded machine.
feed() { python3 -c '
import os, sys, time
lines = open(sys.argv[1], "rb").readlines()
for i, line in enumerate(lines):
    if i == len(lines) // 2:
        end = time.time() + 60
        while time.time() < end:
            with open(sys.argv[2], "rb") as e:
                if e.read().count(b"info: reloaded") >= 10:
                    break
            time.sleep(0.05)
    os.write(1, line)' "$T/storm-mails" "$T/err"; }
rm -f "$T/out" "$T/err"
stream-fanout -d "$S" <"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
feed >"$T/in" &
feeder=$!
# A SIGHUP before the streams are loaded would find no handler yet.
wait_until 30 grep -q 'info: loaded' "$T/err"
ok $? "storm: the fanout started"
wait_until 30 test -s "$T/out"
ok $? "storm: mails flow before the storm begins"
hups=0
# Bounded: a fanout that died must not leave the feeder blocked for ever.
while kill -0 $feeder 2>/dev/null && kill -0 $pid 2>/dev/null && [ $hups -lt 100000 ]; do
	case $((hups % 4)) in
	0) stream flip B; printf '%s' '{"name":"broken","targets":[' >"$S/flaky.json"; rm -f "$S/blink.json" ;;
	1) stream flip A; stream flaky ok ;;
	2) printf '%s' '{"name":"C","tar' >"$S/flip.json"; stream blink on ;;
	3) stream flip B; printf '' >"$S/flaky.json" ;;
	esac
	kill -HUP $pid 2>/dev/null
	hups=$((hups + 1))
done
# If the fanout died, unblock the feeder (a read-write open never waits).
kill -0 $pid 2>/dev/null || { exec 9<>"$T/in"; kill $feeder; exec 9<&-; }
wait $feeder
wait $pid
is "$?" 0 "storm: fanout exits 0 at the end of input"
diag "$hups SIGHUPs sent, $(reloads) reloads done, $(wc -l <"$T/out") pairs"
[ "$(reloads)" -ge 10 ]
ok $? "storm: many reloads happened"
jq -c . "$T/out" >/dev/null 2>&1
ok $? "storm: every output line is whole JSON"
jq -r 'select(.stream.id == "all") | .mail.killmail_id' "$T/out" | cmp -s - <(seq 1 $N)
ok $? "storm: every mail exactly once, in order (no loss, no double)"
is "$(jq -r 'select(.stream.id == "flaky") | .mail.killmail_id' "$T/out" | wc -l)" $N \
	"storm: a stream whose file is often half-written never drops out"
is "$(jq -r '"\(.mail.killmail_id) \(.stream.id)"' "$T/out" | sort | uniq -d | wc -l)" 0 \
	"storm: no stream twice on one mail"
is "$(jq -r 'select(.stream.id == "flip" or .stream.id == "flaky") | .stream.name' "$T/out" |
	grep -cvx 'A\|B\|ok')" 0 "storm: only valid versions ever run"
changes=$(jq -r 'select(.stream.id == "flip") | .stream.name' "$T/out" | uniq | wc -l)
[ "$changes" -gt 1 ]
ok $? "storm: reloads took effect while mails flowed ($((changes - 1)) version changes)"
b=$(jq -r 'select(.stream.id == "blink") | .mail.killmail_id' "$T/out" | wc -l)
[ "$b" -gt 0 ] && [ "$b" -lt $N ]
ok $? "storm: a file that comes and goes is paired sometimes ($b of $N mails)"
done_testing
