#!/bin/bash
# esi-resolve and SIGTERM: stop reading, give lookups a short deadline,
# save the mails still waiting to $STATE_DIR, exit 0; at the next start
# replay them first.  Nothing is lost, nothing is written twice.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 30 >/dev/null || { echo "1..0 # SKIP no fixtures"; exit 0; }
export USER_AGENT="insight-test/1 (test@example.invalid)" STATE_DIR=$T/state
export ESI_BACKOFF_MIN=0.05 ESI_BACKOFF_MAX=0.2 ESI_DRAIN=0.5s
# backfill lines: short, and each needs ESI for its body
jq -c '{killmail_id, hash: .killmail_hash}' "$T/fx/killmails.ndjson" >"$T/in"
PENDING=$T/state/esi-resolve.pending
ids() { jq -r .killmail_id "$@" | sort -n; }
lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

start_fake esi esi --data "$T/fx" || exit 1
export ESI_URL=$esi_url
down() { fake_ctl "$esi_url" '{"clear":true,"faults":[{"match":"/","status":503,"times":-1}]}'; }
up() { fake_ctl "$esi_url" '{"clear":true}'; }

distinct() { curl -sf "$esi_url/_log" | jq -r 'select(.path | startswith("/killmails/")) | .path' | sort -u | wc -l; }
asked() { [ "$(distinct)" -ge "$1" ]; }
# rest FIFO: after the process is gone, what it never read from the FIFO
rest() { exec 4<"$1"; exec 3>&-; cat <&4 >"$2"; exec 4<&-; }

# 1. ESI down, two mails taken (--max-mails 2), eight more read but not
#    taken: SIGTERM saves all ten, exit 0
down
mkfifo "$T/f1"
esi-resolve -m 2 <"$T/f1" >"$T/o1" 2>"$T/e1" &
pid=$!
exec 3>"$T/f1"
head -10 "$T/in" >&3
wait_until 20 asked 2
ok $? "ESI is being asked"
kill -TERM $pid
wait $pid
is "$?" 0 "SIGTERM: exit 0"
rest "$T/f1" "$T/r1"
is "$(wc -l <"$T/o1")" 0 "nothing written while ESI is down"
is "$(ids "$PENDING" "$T/r1" | tr '\n' ' ')" "$(ids <(head -10 "$T/in") | tr '\n' ' ')" \
	"the ten lines saved (or left unread in the pipe), none twice"
is "$(ids "$PENDING" | wc -l)" 10 "all ten were read: taken or buffered, saved"
grep -q 'mails saved for the next start n=10' "$T/e1"
ok $? "a log line says how many"

# 2. restart with ESI still down, then SIGTERM again: all saved again
fake_ctl "$esi_url" '{"clear_log":true}'
mkfifo "$T/f2"
esi-resolve <"$T/f2" >"$T/o2" 2>"$T/e2" &
pid=$!
exec 3>"$T/f2"
sed -n 11,12p "$T/in" >&3
wait_until 20 grep -q 'replaying saved mails n=10' "$T/e2"
ok $? "at start, the saved mails are replayed"
wait_until 20 asked 12
ok $? "replayed and new mails ask ESI"
kill -TERM $pid
wait $pid
is "$?" 0 "second SIGTERM: exit 0"
rest "$T/f2" "$T/r2"
is "$(ids "$PENDING" "$T/r2" | tr '\n' ' ')" "$(ids <(head -12 "$T/in") | tr '\n' ' ')" \
	"saved again: the ten replayed and the two new"

# 3. a stop in the middle of a line: read on to its end, save it whole
fake_ctl "$esi_url" '{"clear_log":true}'
mkfifo "$T/f3"
ESI_DRAIN=5s esi-resolve <"$T/f3" >"$T/o3" 2>"$T/e3" &
pid=$!
exec 3>"$T/f3"
line13=$(sed -n 13p "$T/in")
printf '%s' "${line13:0:20}" >&3
wait_until 20 asked 12
kill -TERM $pid
wait_until 10 grep -q 'stopping' "$T/e3"
printf '%s\n' "${line13:20}" >&3
wait $pid
is "$?" 0 "stop mid-line: exit 0"
rest "$T/f3" "$T/r3"
is "$(ids "$PENDING" "$T/r3" | tr '\n' ' ')" "$(ids <(head -13 "$T/in") | tr '\n' ' ')" \
	"the line cut in two was read to its end and saved"
is "$(wc -c <"$T/r3")" 0 "nothing of it left in the pipe"

# 4. ESI back: the next start replays everything first, writes each mail
#    once, and removes the file
up
sed -n '14,$p' "$T/in" | esi-resolve >"$T/o4" 2>"$T/e4"
is "$?" 0 "replay run: exit 0"
is "$(ids "$T/o1" "$T/o2" "$T/o3" "$T/o4" | tr '\n' ' ')" "$(ids "$T/in" | tr '\n' ' ')" \
	"every mail written once over all the runs"
ok "$([ ! -e "$PENDING" ]; echo $?)" "the saved file is gone once replayed"
jq -e 'select(.system.name == null or .victim.ship.name == null)' "$T/o4" >/dev/null
ok "$([ $? -ne 0 ]; echo $?)" "replayed mails are fully resolved"

# 5. SIGTERM with nothing waiting leaves no file
mkfifo "$T/f5"
esi-resolve <"$T/f5" >"$T/o5" 2>"$T/e5" &
pid=$!
exec 3>"$T/f5"
head -5 "$T/in" >&3
done5() { lines "$T/o5" 5; }
wait_until 20 done5
kill -TERM $pid
wait $pid
is "$?" 0 "idle SIGTERM: exit 0"
exec 3>&-
ok "$([ ! -e "$PENDING" ]; echo $?)" "no file when nothing waits"

# 6. back-pressure: with --max-mails waiting, stdin is left unread, so the
#    writer blocks on a full pipe (the puller stops advancing).  fd 5 holds
#    the FIFO open as fifo-holder does in services, so what is unread stays.
down
seq 9000001 9040000 | sed 's/.*/{"killmail_id":&,"hash":"abcdef"}/' >"$T/many"
mkfifo "$T/f6"
exec 5<>"$T/f6"
esi-resolve -m 5 <"$T/f6" >"$T/o6" 2>"$T/e6" 5>&- &
pid=$!
cat "$T/many" >"$T/f6" 5>&- &
writer=$!
fake_ctl "$esi_url" '{"clear_log":true}'
wait_until 20 asked 5
ok $? "the first mails ask ESI"
kill -0 $writer 2>/dev/null
ok $? "the writer is blocked: esi-resolve does not drain stdin while mails wait"
kill -TERM $pid
wait $pid
is "$?" 0 "exit 0"
saved=$(wc -l <"$PENDING")
ok "$([ "$saved" -lt 40000 ] && [ "$saved" -ge 5 ]; echo $?)" "it read only part of the input ($saved of 40000 lines, all saved)"
cat "$T/f6" >"$T/r6" 5>&- &
reader=$!
wait $writer
exec 5>&-
wait $reader
is "$(cat "$PENDING" "$T/r6" | wc -l) $(sort -u "$PENDING" "$T/r6" | comm -3 - <(sort "$T/many") | wc -l)" "40000 0" \
	"the rest is still in the pipe: nothing lost, nothing cut, nothing twice"
rm -f "$PENDING"

done_testing
