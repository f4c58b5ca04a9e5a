#!/bin/bash
# esi-resolve with the shared Redis cache: a second process makes no ESI
# call for what the first resolved; keys under the prefix, with TTLs;
# redis-server killed and restarted mid-run; Redis absent from the start.
. "$(dirname "$0")/../lib.sh"

command -v redis-server >/dev/null || skip_all "no redis-server"
fixtures "$T/fx" --mails 80 >/dev/null || { echo "1..0 # SKIP no fixtures"; exit 0; }
export USER_AGENT="insight-test/1 (test@example.invalid)" STATE_DIR=$T/state
export ESI_BACKOFF_MIN=0.05 ESI_BACKOFF_MAX=0.5
jq -c 'if .killmail_id % 4 == 0 then {killmail_id, hash: .killmail_hash} else . end' \
	"$T/fx/killmails.ndjson" >"$T/in"
norm() { jq -cS . "$1" | sort; }
reqs() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
rcli() { redis-cli -s "$T/r.sock" "$@"; }

start_redis r || { echo "1..0 # SKIP redis-server did not start"; exit 0; }
start_fake a esi --data "$T/fx" --bad-ids 98000099 || exit 1
start_fake b esi --data "$T/fx" --bad-ids 98000099 || exit 1

# 1. the first process fills Redis; the second asks ESI nothing
ESI_URL=$a_url REDIS_URL=$r_url esi-resolve <"$T/in" >"$T/o1" 2>"$T/e1"
is "$?" 0 "first process: exit 0"
ok "$([ "$(reqs "$T/a.log")" -gt 50 ]; echo $?)" "first process: asked ESI ($(reqs "$T/a.log") requests)"
grep -q 'redis: up' "$T/e1"
ok $? "first process: Redis up, one line"
ESI_URL=$b_url REDIS_URL=$r_url esi-resolve <"$T/in" >"$T/o2" 2>"$T/e2"
is "$?" 0 "second process: exit 0"
is "$(reqs "$T/b.log")" 0 "second process: no ESI request at all (killmails, universe, names, tickers, the unresolvable id)"
norm "$T/o1" >"$T/o1.n"
norm "$T/o2" | cmp -s - "$T/o1.n"
ok $? "second process: the same mails"

# 2. keys: under the prefix, compact, with a TTL
nkeys=$(rcli --scan --pattern 'insight:esi:*' | wc -l)
ok "$([ "$nkeys" -gt 100 ]; echo $?)" "keys under the default prefix insight:esi: ($nkeys)"
is "$(rcli --scan --pattern '*' | grep -vc '^insight:esi:')" 0 "no key outside the prefix"
ttl=$(rcli ttl 'insight:esi:/universe/types/587')
ok "$([ "$ttl" -gt 86400 ]; echo $?)" "a type is kept (fresh + stale) with a TTL ($ttl s)"
ttl=$(rcli ttl 'insight:esi:names/98000099')
ok "$([ "$ttl" -gt 0 ] && [ "$ttl" -le 3600 ]; echo $?)" "an unresolvable id is remembered for ESI_NEGATIVE_TTL ($ttl s)"
is "$(rcli get 'insight:esi:names/98000099' | cut -d' ' -f3)" null "stored as null"
v=$(rcli get 'insight:esi:/universe/types/587')
case $v in *description*) ok 1 "values are compact (no description)";; *'"name":"Rifter"'*) ok 0 "values are compact (no description)";; *) ok 1 "type value: $v";; esac
ESI_CACHE_PREFIX=t2: ESI_URL=$a_url REDIS_URL=$r_url esi-resolve <<<"$(head -3 "$T/in")" >/dev/null 2>&1
ok "$([ "$(rcli --scan --pattern 't2:*' | wc -l)" -gt 0 ]; echo $?)" "ESI_CACHE_PREFIX moves the keys"

# 3. redis-server killed and restarted while esi-resolve runs
rcli flushall >/dev/null
mkfifo "$T/fifo"
ESI_URL=$a_url REDIS_URL=$r_url esi-resolve <"$T/fifo" >"$T/o3" 2>"$T/e3" &
pid=$!
exec 3>"$T/fifo"
lines() { [ "$(wc -l <"$T/o3")" -ge "$1" ]; }
head -20 "$T/in" >&3
wait_until 20 lines 20
ok $? "before: 20 mails"
kill "$r_pid"; wait "$r_pid" 2>/dev/null
sed -n 21,40p "$T/in" >&3
wait_until 20 lines 40
ok $? "Redis killed: resolving goes on from the in-process cache and ESI"
wait_until 10 grep -q 'redis: down' "$T/e3"
ok $? "Redis killed: one warning"
start_redis r 3>&- || exit 1
up_again() { grep -A100 'redis: down' "$T/e3" | grep -q 'redis: up'; }
wait_until 20 up_again
ok $? "Redis restarted: reconnected (with back-off)"
sed -n 41,80p "$T/in" >&3
wait_until 20 lines 80
ok $? "after: every mail"
exec 3>&-
wait "$pid"
is "$?" 0 "exit 0"
is "$(grep -c 'redis: down' "$T/e3")" 1 "one line per change of state: down once"
is "$(grep -c 'redis: up' "$T/e3")" 2 "one line per change of state: up at start and after the restart"
ok "$([ "$(rcli --scan --pattern 'insight:esi:*' | wc -l)" -gt 0 ]; echo $?)" "writes reach the restarted Redis"
norm "$T/o3" | cmp -s - "$T/o1.n"
ok $? "the same mails as without trouble"

# 4. Redis absent from the start: in-process cache only, one warning
ESI_URL=$a_url REDIS_URL=unix://$T/none.sock esi-resolve <"$T/in" >"$T/o4" 2>"$T/e4"
is "$?" 0 "no Redis: exit 0"
is "$(grep -c 'redis: down' "$T/e4")" 1 "no Redis: one warning"
norm "$T/o4" | cmp -s - "$T/o1.n"
ok $? "no Redis: the same mails"
REDIS_URL=http://x esi-resolve </dev/null 2>/dev/null
is "$?" 100 "a malformed REDIS_URL: exit 100"

# 5. ESI down two days later: static universe data is served stale
#    (names were cached for longer than that: ESI_TTL_DEFAULT)
rcli flushall >/dev/null
export ESI_TTL_DEFAULT=30d
grep -v '"killmail_id":[0-9]*,"hash"' "$T/in" | head -20 >"$T/in5"
INSIGHT_NOW=1800000000 ESI_URL=$a_url REDIS_URL=$r_url esi-resolve -T <"$T/in5" >"$T/o5a" 2>/dev/null
start_fake dn esi --data "$T/fx" --faults '[{"match":"/","status":503,"times":-1}]' || exit 1
INSIGHT_NOW=$((1800000000 + 2 * 86400)) ESI_URL=$dn_url REDIS_URL=$r_url \
	esi-resolve -T <"$T/in5" >"$T/o5b" 2>"$T/e5b"
is "$?" 0 "ESI down, universe stale: exit 0"
norm "$T/o5b" | cmp -s - <(norm "$T/o5a")
ok $? "ESI down, universe stale: the same mails from stale data"
served=$(grep -o 'stale_served=[0-9]*' "$T/e5b" | cut -d= -f2)
ok "$([ "${served:-0}" -gt 0 ]; echo $?)" "stale answers were served ($served)"
ok "$([ "$(reqs "$T/dn.log")" -gt 0 ]; echo $?)" "ESI was asked first ($(reqs "$T/dn.log") requests, all 503)"
INSIGHT_NOW=$((1800000000 + 8 * 86400)) ESI_URL=$dn_url REDIS_URL=$r_url ESI_DRAIN=0.2 \
	timeout -s TERM 3 esi-resolve -T <"$T/in5" >"$T/o5c" 2>/dev/null
is "$(wc -l <"$T/o5c")" 0 "past ESI_STALE_MAX nothing stale is served: mails wait"

done_testing
