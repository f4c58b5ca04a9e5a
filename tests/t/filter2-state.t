#!/bin/bash
# filter2 over time: mention rules and cooldowns (INSIGHT_NOW pins the
# clock; cooldowns survive a restart), a mention waiting for a distance,
# pending pairs that wait without holding up the others, SIGTERM saving the
# waiting pairs and a restart replaying them, the bound on waiting pairs
# (input paused, nothing lost).
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 200 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
python3 "$ROOT/tests/gen/mails.py" "$T/fx" >"$T/mails" || skip_all "no tests/gen/mails.py"
export USER_AGENT="insight-test/1 (test@example.invalid)" FILTER2_DRAIN=5
start_fake esi esi --data "$T/fx" || exit 1
# a fake ESI that fails every universe request (503), for pairs that wait
start_fake down esi --data "$T/fx" --faults '[{"match":"^/universe/","status":503,"times":-1}]' || exit 1
export ESI_URL=$esi_url

PENDING='{"kind":"neutral","attackers":[],"pending":true}'
DONE='{"kind":"neutral","attackers":[]}'
# pairs ID STREAM-BODY MATCH: every mail with the stream {"id":ID, ...BODY}
pairs() {
	jq -c --arg id "$1" --argjson s "$2" --argjson m "$3" \
		'{stream:({id:$id,targets:[{discord:"$X"}]} + $s), mail:., match:$m}' "$T/mails"
}
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
mentions() { jq -r "select(.match.mention == \"$2\") | .mail.killmail_id" "$1" | tr '\n' ' '; }

# 1. mention rules and cooldowns
RULES='{"mentions":[{"when":{"victim":{"ship_group":["Capsule"]}},"content":"pod"},
	{"when":{"value":{"min":1e9}},"content":"big","cooldown":"1h"},
	{"content":"@here","max_age":"10m","cooldown":"30m"}]}'
pairs m "$RULES" "$DONE" >"$T/m.in"
last=$(jq -r .time "$T/mails" | sort | tail -1)
NOW=$(date -u -d "$last" +%s)
NOW=$((NOW + 60))
# the expectations, from the mails: pods; the first big non-pod; the first
# fresh non-pod other than that one
pods=$(jq -r 'select(.victim.ship.group.name == "Capsule") | .killmail_id' "$T/mails" | tr '\n' ' ')
big=$(jq -r 'select(.victim.ship.group.name != "Capsule" and .value.total >= 1e9) | .killmail_id' "$T/mails" | head -1)
here=$(jq -r --argjson now $NOW --arg big "$big" 'select(.victim.ship.group.name != "Capsule" and
	(.killmail_id | tostring) != $big and ($now - (.time | fromdateiso8601)) <= 600) | .killmail_id' "$T/mails" | head -1)
diag "pods: $(echo $pods | wc -w), big: $big, here: $here"
INSIGHT_NOW=$NOW STATE_DIR=$T/ms filter2 <"$T/m.in" >"$T/m1.out" 2>"$T/m1.err"
is "$?" 0 "mentions: exit 0"
is "$(lines "$T/m1.out")" 200 "mentions: pairs that are not pending all pass"
is "$(mentions "$T/m1.out" pod)" "$pods" "mentions: every pod loss gets the first rule (no cooldown)"
is "$(mentions "$T/m1.out" big)" "$big " "mentions: the value rule once (1h cooldown)"
is "$(mentions "$T/m1.out" @here)" "$here " "mentions: @here once, on the first fresh mail the rules above left"
is "$(jq -r 'select(.match.mention == null) | .match | del(.mention) | tojson' "$T/m1.out" | sort -u)" \
	"$DONE" "mentions: the rest unchanged"
grep -q "^m	1	$NOW" "$T/ms/filter2.cooldowns" && grep -q "^m	2	$NOW" "$T/ms/filter2.cooldowns"
ok $? "mentions: cooldowns saved per (stream, rule)"
INSIGHT_NOW=$((NOW + 1799)) STATE_DIR=$T/ms filter2 <"$T/m.in" >"$T/m2.out" 2>"$T/m2.err"
is "$(mentions "$T/m2.out" big)$(mentions "$T/m2.out" @here)" "" \
	"mentions: after a restart, 1799 s later, both rules are still cooling down"
is "$(mentions "$T/m2.out" pod)" "$pods" "mentions: ... and the pods still get theirs"
INSIGHT_NOW=$((NOW + 3600)) STATE_DIR=$T/ms filter2 <"$T/m.in" >"$T/m3.out" 2>"$T/m3.err"
is "$(mentions "$T/m3.out" big)" "$big " "mentions: an hour later, the value rule again"
is "$(mentions "$T/m3.out" @here)" "" "mentions: no @here: every mail is older than max_age"
INSIGHT_NOW=$NOW STATE_DIR=$T/ms2 filter2 <"$T/m.in" >"$T/m4.out" 2>/dev/null
is "$(mentions "$T/m4.out" big)" "$big " "mentions: cooldowns are per state directory (a fresh one)"

# 2. a mention whose `when` needs a distance waits for it
fake_ctl "$esi_url" '{"clear_log":true}'
pairs w '{"mentions":[{"when":{"near":[{"system":30000001,"jumps":1}]},"content":"close"},{"content":"far"}]}' \
	"$DONE" >"$T/w.in"
INSIGHT_NOW=$NOW STATE_DIR=$T/ws filter2 <"$T/w.in" >"$T/w.out" 2>"$T/w.err"
is "$(jq -r 'select(.match.mention == "close") | .mail.system.name' "$T/w.out" | sort -u | tr '\n' ' ')" \
	"Arvoda Bexlin " "near in a mention: close for the systems within 1 jump"
is "$(jq -r 'select(.match.mention == "far") | .mail.killmail_id' "$T/w.out" | wc -l)" \
	"$(jq -r 'select(.system.name != "Arvoda" and .system.name != "Bexlin") | .killmail_id' "$T/mails" | wc -l)" \
	"near in a mention: far for every other"

# 3. pending pairs wait (ESI down) without holding up the others; SIGTERM
# saves them; a restart replays them
pairs p '{"match":{"near":[{"system":30000001,"jumps":3}]}}' "$PENDING" | head -20 >"$T/p.pending"
pairs p '{"match":{"near":[{"system":30000001,"jumps":3}]}}' "$DONE" | head -5 >"$T/p.done"
mkfifo "$T/p.fifo"
ESI_URL=$down_url STATE_DIR=$T/ps filter2 <"$T/p.fifo" >"$T/p1.out" 2>"$T/p1.err" &
pid=$!
exec 3>"$T/p.fifo"
cat "$T/p.pending" "$T/p.done" >&3
wait_until 20 has_lines "$T/p1.out" 5
ok $? "waiting: the five pairs behind twenty waiting ones are written"
cmp -s "$T/p1.out" "$T/p.done"
ok $? "waiting: ... unchanged, and only them"
kill -TERM $pid
wait $pid
is "$?" 0 "SIGTERM: exit 0"
exec 3>&-
is "$(lines "$T/ps/filter2.pending")" 20 "SIGTERM: the twenty waiting pairs are saved"
summary() { jq -c '[.stream.id, .mail.killmail_id, .match]' "$1"; }
is "$(summary "$T/ps/filter2.pending")" "$(summary "$T/p.pending")" "SIGTERM: saved as they came, in order"
STATE_DIR=$T/ps filter2 </dev/null >"$T/p2.out" 2>"$T/p2.err"
is "$?" 0 "replay: exit 0"
STATE_DIR=$T/pz filter2 <"$T/p.pending" >"$T/p.want" 2>/dev/null
cmp -s "$T/p2.out" "$T/p.want"
ok $? "replay: the saved pairs decided as if never interrupted"
test ! -e "$T/ps/filter2.pending"
ok $? "replay: the file is gone once they are decided"
grep -q 'info: waiting pairs replayed pairs=20' "$T/p2.err"
ok $? "replay: says so"

# 4. the bound: at --max-waiting pairs stdin is not read; SIGTERM saves what
# was read; a restart reads on; nothing is lost
{ pairs b1 '{"match":{"near":[{"system":30000001,"jumps":3}]}}' "$PENDING"
  pairs b2 '{"match":{"near":[{"system":30000001,"jumps":3}]}}' "$PENDING"; } >"$T/b.in"
mkfifo "$T/b.fifo"
exec 3<>"$T/b.fifo"	# held open, as fifo-holder does
# (filter2 must not inherit fd 3: it would hold its own input open)
ESI_URL=$down_url STATE_DIR=$T/bs filter2 --max-waiting 3 <"$T/b.fifo" >"$T/b1.out" 2>"$T/b1.err" 3>&- &
pid=$!
cat "$T/b.in" >&3 &
writer=$!
wait_until 20 grep -q 'warning: waiting pairs at the bound, input paused waiting=3' "$T/b1.err"
ok $? "bound: input paused at 3 waiting pairs"
kill -0 $writer 2>/dev/null
ok $? "bound: the writer is held up (the pipe is full)"
kill -TERM $pid
wait $pid
is "$?" 0 "bound: SIGTERM, exit 0"
saved=$(lines "$T/bs/filter2.pending")
ok $(( saved > 3 && saved < 400 ? 0 : 1 )) "bound: saved what was read, not everything ($saved)"
STATE_DIR=$T/bs filter2 <"$T/b.fifo" >"$T/b2.out" 2>"$T/b2.err" 3>&- &
pid=$!
wait $writer
exec 3>&-
wait $pid
is "$?" 0 "bound: the restart ends with its input"
STATE_DIR=$T/bz filter2 <"$T/b.in" >"$T/b.want" 2>/dev/null
is "$(jq -r '"\(.stream.id) \(.mail.killmail_id)"' "$T/b1.out" "$T/b2.out" | sort)" \
	"$(jq -r '"\(.stream.id) \(.mail.killmail_id)"' "$T/b.want" | sort)" \
	"bound: every pair decided once, none lost across the SIGTERM"
grep -q 'warning: malformed' "$T/b2.err"
is "$?" 1 "bound: no line was cut in two"
grep -q 'info: done .* malformed=0$' "$T/b2.err"
ok $? "bound: ... none counted as malformed"
done_testing
