#!/bin/bash
# redisq-pull against the fake zKillboard: order, restart, head waits,
# 429, missing files, sequence_updated, duplicates, SIGTERM, EPIPE, RedisQ.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 30 --seed 7 >/dev/null || { echo "1..0 # SKIP no fixtures"; exit 1; }
export STATE_DIR USER_AGENT="insight-test/1 (test@example.invalid)" R2Z2_URL
export R2Z2_HEAD_WAIT=0.3 R2Z2_BACKOFF=0.1 R2Z2_RATE=200
want_ids=$(jq -r .killmail_id "$T/fx/killmails.ndjson")

ids() { jq -r .killmail_id "$1"; }
seqs() { jq -r .sequence_id "$1"; }
# requests the fake saw for one path, as "time" lines
req_times() { jq -r --arg p "$2" 'select(.path == $p) | .t' "$1"; }
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# 1. everything once, in order
start_fake z1 zkb --data "$T/fx" --seq-start 1000
R2Z2_URL=$z1_url STATE_DIR=$T/s1
redisq-pull --once --from 1000 >"$T/o1" 2>"$T/e1"
is "$?" 0 "--once exits 0 at the head"
is "$(ids "$T/o1")" "$want_ids" "every killmail once, in file order"
is "$(seqs "$T/o1" | tr '\n' ' ')" "$(seq 1000 1029 | tr '\n' ' ')" "sequence ids in order"
is "$(cat "$T/s1/redisq-pull.cursor")" 1030 "cursor is the next number"
is "$(jq -s 'all(has("esi") and has("hash") and has("uploaded_at"))' "$T/o1")" true \
	"packages carry esi, hash, uploaded_at"
is "$(jq -c 'select(.zkb) | .killmail_id' "$T/o1")" "$(jq -c 'select(.zkb) | .killmail_id' "$T/fx/killmails.ndjson")" \
	"zkb blocks carried where zKillboard has them"
grep -q '"user-agent": *"insight-test/1' "$T/z1.log"
ok $? "User-Agent sent"

# 2. no cursor: start at sequence.json; corrupt cursor: warning, same
STATE_DIR=$T/s2
redisq-pull --once >"$T/o2" 2>"$T/e2"
is "$(seqs "$T/o2")" 1029 "without a cursor, start at sequence.json"
echo garbage >"$T/s2/redisq-pull.cursor"
redisq-pull --once >"$T/o2b" 2>"$T/e2b"
grep -q 'warning: corrupt cursor' "$T/e2b"
ok $? "corrupt cursor: a warning"
is "$(seqs "$T/o2b")" 1029 "corrupt cursor: start at sequence.json"

# 3. head 404: wait, same number, continue; SIGTERM; restart resumes
start_fake z3 zkb --data "$T/fx" --seq-start 1000 --published 10
R2Z2_URL=$z3_url STATE_DIR=$T/s3
redisq-pull --from 1000 >"$T/o3" 2>"$T/e3" &
pid=$!
wait_until 20 has_lines "$T/o3" 10
ok $? "first ten lines before the head"
asked_twice() { [ "$(req_times "$T/z3.log" /ephemeral/1010.json | wc -l)" -ge 2 ]; }
wait_until 20 asked_twice
ok $? "the head number is asked for again"
fake_ctl "$z3_url" '{"publish": 5}'
wait_until 20 has_lines "$T/o3" 15
ok $? "continues when the head moves"
short=$(req_times "$T/z3.log" /ephemeral/1010.json | awk 'NR > 1 && $1 - prev < 0.3 { n++ } { prev = $1 } END { print n + 0 }')
is "$short" 0 "no retry of the head sooner than R2Z2_HEAD_WAIT"
kill -TERM $pid; wait $pid
is "$?" 0 "SIGTERM: exit 0"
is "$(tail -c 1 "$T/o3" | od -An -c | tr -d ' ')" '\n' "SIGTERM: the last line is complete"
fake_ctl "$z3_url" '{"publish_all": true}'
redisq-pull --once >>"$T/o3" 2>>"$T/e3"
is "$(ids "$T/o3")" "$want_ids" "restart resumes: nothing lost, nothing repeated"

# 4. SIGTERM while requests are slow and in flight
start_fake z4 zkb --data "$T/fx" --seq-start 1000 --faults '[{"match":"/ephemeral/10","delay":0.05,"times":-1}]'
R2Z2_URL=$z4_url STATE_DIR=$T/s4
redisq-pull --from 1000 >"$T/o4" 2>"$T/e4" &
pid=$!
wait_until 20 has_lines "$T/o4" 7
kill -TERM $pid; wait $pid
is "$?" 0 "SIGTERM mid-transfer: exit 0"
jq -e . "$T/o4" >/dev/null
ok $? "SIGTERM mid-transfer: every line is whole JSON"
redisq-pull --once >>"$T/o4" 2>>"$T/e4"
is "$(ids "$T/o4")" "$want_ids" "SIGTERM mid-transfer then restart: nothing lost or repeated"

# 5. 429 honoured
start_fake z5 zkb --data "$T/fx" --seq-start 1000 --faults '[{"match":"/ephemeral/1003.json","status":429,"retry_after":1,"times":2}]'
R2Z2_URL=$z5_url STATE_DIR=$T/s5
redisq-pull --once --from 1000 >"$T/o5" 2>"$T/e5"
is "$(ids "$T/o5")" "$want_ids" "429: everything still pulled"
early=$(jq -r 'select(.path == "/ephemeral/1003.json") | "\(.t) \(.status)"' "$T/z5.log" |
	awk '$2 == 429 { until = $1 + 1; next } until && $1 < until { n++ } END { print n + 0 }')
is "$early" 0 "no request before Retry-After ran out"
is "$(jq -r 'select(.path == "/ephemeral/1003.json") | .status' "$T/z5.log" | tr '\n' ' ')" "429 429 200 " "the same number asked for again"

# 6. a file missing below the head is skipped with a warning
start_fake z6 zkb --data "$T/fx" --seq-start 1000 --missing 1005
R2Z2_URL=$z6_url STATE_DIR=$T/s6 R2Z2_MISSING_TRIES=2
R2Z2_MISSING_TRIES=2 redisq-pull --once --from 1000 >"$T/o6" 2>"$T/e6"
is "$(lines "$T/o6")" 29 "missing file: the others are all there"
jq -e 'select(.sequence_id == 1005)' "$T/o6" >/dev/null
ok $((! $?)) "missing file: nothing invented for it"
grep -q 'warning: missing file below the head skipped sequence=1005' "$T/e6"
ok $? "missing file: a warning naming the sequence"

# 7. a long run of holes: re-read sequence.json and jump forward
start_fake z7 zkb --data "$T/fx" --seq-start 1000 --missing 1003,1004,1005,1006,1007
R2Z2_URL=$z7_url STATE_DIR=$T/s7
R2Z2_MISSING_TRIES=1 R2Z2_RESYNC_AFTER=2 redisq-pull --once --from 1000 >"$T/o7" 2>"$T/e7"
is "$(seqs "$T/o7" | tr '\n' ' ')" "1000 1001 1002 1029 " "after a run of holes, jump to sequence.json"
grep -q 'resync: jumping forward from=1005 to=1029 skipped=24' "$T/e7"
ok $? "the jump is logged with what it skipped"

# 8. sequence_updated refetched; 9. duplicates dropped
start_fake z8 zkb --data "$T/fx" --seq-start 1000 --updated 1010:1004 --duplicate 1012:1003
R2Z2_URL=$z8_url STATE_DIR=$T/s8
redisq-pull --once --from 1000 >"$T/o8" 2>"$T/e8"
is "$(req_times "$T/z8.log" /ephemeral/1004.json | wc -l | tr -d ' ')" 2 "sequence_updated: the older number fetched again"
is "$(ids "$T/o8" | sort | uniq -d | wc -l | tr -d ' ')" 0 "no killmail written twice"
is "$(lines "$T/o8")" 29 "the duplicate package dropped, the rest kept"
grep -q 'duplicate killmail dropped' "$T/e8"
ok $? "duplicates are logged"

# 10. request rate never above R2Z2_RATE
R2Z2_URL=$z1_url STATE_DIR=$T/s10
: >"$T/z1.log.mark"; before=$(wc -l <"$T/z1.log")
R2Z2_RATE=20 redisq-pull --once --from 1000 >/dev/null 2>&1
# at most 20 requests in any one-second window (one more for arrival jitter)
fast=$(tail -n +$((before + 1)) "$T/z1.log" | jq -r .t | sort -n |
	awk '{ t[NR] = $1 } END { for (i = 1; i <= NR; i++) { n = 0
		for (j = i; j <= NR && t[j] - t[i] < 1; j++) n++
		if (n > 21) bad++ } print bad + 0 }')
is "$fast" 0 "never faster than R2Z2_RATE"

# 11. 5xx: back-off, then everything
start_fake z11 zkb --data "$T/fx" --seq-start 1000 --faults '[{"match":"/ephemeral/1002.json","status":503,"times":3}]'
R2Z2_URL=$z11_url STATE_DIR=$T/s11
redisq-pull --once --from 1000 >"$T/o11" 2>"$T/e11"
is "$(ids "$T/o11")" "$want_ids" "5xx: retried until it answers"
is "$(grep -Ec 'warning: request failed at 127.0.0.1:[0-9]*, retrying status=503' "$T/e11")" 3 "5xx: one warning per failure"

# 12. EPIPE and a full disk: one fatal line, exit 111
R2Z2_URL=$z1_url STATE_DIR=$T/s12
redisq-pull --once --from 1000 2>"$T/e12" | head -n 1 >/dev/null
is "${PIPESTATUS[0]}" 111 "EPIPE: exit 111"
is "$(grep -c 'fatal: output closed' "$T/e12")" 1 "EPIPE: one fatal line"
redisq-pull --once --from 1000 >/dev/full 2>"$T/e12b"
is "$?" 111 "/dev/full: exit 111"

# 13. usage
redisq-pull --bogus >/dev/null 2>&1
is "$?" 100 "unknown option: exit 100"

# 14. RedisQ
start_fake q zkb --data "$T/fx" --ttw-max 1
STATE_DIR=$T/s14
REDISQ_URL=$q_url/listen.php REDISQ_TTW=1 redisq-pull --once >"$T/o14" 2>"$T/e14"
is "$?" 0 "RedisQ: --once exits 0 at the first null package"
is "$(ids "$T/o14")" "$want_ids" "RedisQ: every killmail once, in order"
is "$(jq -s 'all(has("esi") and .sequence_id == null) and all(.[] | select(.zkb); .hash == .zkb.hash and (.hash | length == 40))' "$T/o14")" true \
	"RedisQ packages normalised to the R2Z2 shape"
is "$(jq -c '.zkb' "$T/o14")" "$(jq -c '.zkb' "$T/o1")" "RedisQ: zkb blocks kept"
grep -q 'queueID=insightcore-c' "$T/q.log"
ok $? "RedisQ: queueID sent"

done_testing
