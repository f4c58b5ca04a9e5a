#!/bin/bash
# esi-resolve when ESI misbehaves: 5xx storms, time-outs, resets, answers
# that are not JSON, 429 (rate limit) and 420 (error limit).  Every run must
# end with the same mails as a run against a healthy ESI, and never send a
# request while told to wait.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 60 >/dev/null || { echo "1..0 # SKIP no fixtures"; exit 0; }
export USER_AGENT="insight-test/1 (test@example.invalid)" STATE_DIR=$T/state
export ESI_BACKOFF_MIN=0.05 ESI_BACKOFF_MAX=0.5 ESI_TIMEOUT=1s
# backfill lines for a third of the mails, so killmail fetches are hit too
jq -c 'if .killmail_id % 3 == 0 then {killmail_id, hash: .killmail_hash} else . end' \
	"$T/fx/killmails.ndjson" >"$T/in"
norm() { jq -cS . "$1" | sort; }
stat() { curl -sf "$1/_stats" | jq -r ".$2"; }

start_fake ok esi --data "$T/fx" || exit 1
ESI_URL=$ok_url esi-resolve <"$T/in" >"$T/ref" 2>/dev/null
is "$(wc -l <"$T/ref")" 60 "reference run: every mail"
norm "$T/ref" >"$T/ref.n"

# run NAME [ARGS]: esi-resolve against fake NAME, output NAME.out, NAME.err
run() { _f=$1; shift; eval "ESI_URL=\$${_f}_url" esi-resolve "$@" <"$T/in" >"$T/$_f.out" 2>"$T/$_f.err"; }
same() { norm "$T/$1.out" | cmp -s - "$T/ref.n"; }

# 1. a 5xx storm: retried with back-off, one probe at a time, then on
start_fake s5 esi --data "$T/fx" --faults '[{"match":"/","status":503,"times":17}]' || exit 1
run s5
is "$?" 0 "5xx storm: exit 0"
same s5
ok $? "5xx storm: the same mails as against a healthy ESI"
is "$(stat "$s5_url" faults)" 17 "5xx storm: every failure was met and retried"
is "$(grep -c 'esi: failing' "$T/s5.err")" 1 "5xx storm: one warning when ESI starts failing"
is "$(grep -c 'esi: answering again' "$T/s5.err")" 1 "5xx storm: one line when it answers again"

# 2. time-outs, resets and answers that are not JSON
start_fake to esi --data "$T/fx" --faults '[{"match":"/universe/regions/","delay":2,"times":2},
	{"match":"/universe/types/","reset":true,"times":3},
	{"match":"/universe/groups/","status":200,"body":"<html>busy</html>","times":2}]' || exit 1
run to
is "$?" 0 "time-outs, resets, garbage: exit 0"
same to
ok $? "time-outs, resets, garbage: the same mails"
is "$(grep -c 'not JSON, retrying' "$T/to.err")" 2 "an answer that is not JSON: a warning and a retry, each time"

# 3. 429 from the fake's rate limit: honour Retry-After (one request at a
#    time so that "early" is exact: the fake counts requests it told to wait)
start_fake rl esi --data "$T/fx" --rate 40 || exit 1
run rl -c 1
is "$?" 0 "429 storm: exit 0"
same rl
ok $? "429 storm: the same mails"
ok "$([ "$(stat "$rl_url" 'status["429"] // 0')" -gt 0 ]; echo $?)" "429 storm: the fake did rate-limit ($(stat "$rl_url" 'status["429"]') times)"
is "$(stat "$rl_url" early)" 0 "429 storm: no request before Retry-After"

# 4. killmail bucket (X-Ratelimit-*): paced before it runs dry, 429 honoured
start_fake km esi --data "$T/fx" --km-tokens 24 --km-window 3 || exit 1
run km -c 1
is "$?" 0 "killmail bucket: exit 0"
same km
ok $? "killmail bucket: the same mails"
is "$(stat "$km_url" early)" 0 "killmail bucket: no request before Retry-After"

# 5. the error limit: stop before it is spent, so no 420 ever comes
start_fake el esi --data "$T/fx" --error-limit 10 --error-window 2 \
	--faults '[{"match":"/universe/","status":500,"times":20}]' || exit 1
run el -c 1
is "$?" 0 "error limit: exit 0"
same el
ok $? "error limit: the same mails"
is "$(stat "$el_url" 'status["420"] // 0')" 0 "error limit: never spent (no 420)"
grep -q 'pausing requests.*error limit running low' "$T/el.err"
ok $? "error limit: paused while low"

# 6. a 420 out of the blue: everything waits for the window to reset
start_fake e4 esi --data "$T/fx" --error-window 2 \
	--faults '[{"match":"/universe/systems/","status":420,"times":1}]' || exit 1
run e4 -c 1
is "$?" 0 "420: exit 0"
same e4
ok $? "420: the same mails"
gap=$(jq -s '(map(.status) | index(420)) as $i | .[$i + 1].t - .[$i].t' "$T/e4.log")
ok "$(awk -v g="$gap" 'BEGIN { exit !(g >= 1.0) }'; echo $?)" "420: nothing sent until X-ESI-Error-Limit-Reset (gap ${gap}s)"
grep -q 'pausing requests.*420' "$T/e4.err"
ok $? "420: one warning"

done_testing
