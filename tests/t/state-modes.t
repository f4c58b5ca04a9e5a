#!/bin/bash
# Files in $STATE_DIR are the owner's alone whatever the umask: they hold
# mails, pairs with literal webhook URLs (filter2.pending, pending/*) and
# copies of the site's webhook env files.  Every tool creates its state
# directory 0700 and its files 0600, and tightens (with a warning) what an
# older version left open; insight does the same for what it creates.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/pipeline.sh"

umask 022	# the usual umask: what the tools create must not depend on it
mode() { stat -c %a "$1" 2>/dev/null || echo missing; }
export USER_AGENT="insight-test/1 (test@example.invalid)"
HOOK=https://discord.com/api/webhooks/123456/secret-token-abc

fixtures "$T/fx" --mails 20 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
python3 "$ROOT/tests/gen/mails.py" "$T/fx" >"$T/mails" || skip_all "no tests/gen/mails.py"

# 1. redisq-pull: a new state dir 0700, the cursor 0600
start_fake z zkb --data "$T/fx" --seq-start 1000 || exit 1
R2Z2_URL=$z_url STATE_DIR=$T/r/state redisq-pull --once --from 1000 >/dev/null 2>"$T/r.err"
is "$(mode "$T/r/state")" 700 "redisq-pull: a new state dir is 0700"
is "$(mode "$T/r/state/redisq-pull.cursor")" 600 "redisq-pull: the cursor is 0600"
# left open by an older version: tightened, with a warning each
mkdir -p "$T/r2" && chmod 755 "$T/r2" && echo 1005 >"$T/r2/redisq-pull.cursor" && chmod 644 "$T/r2/redisq-pull.cursor"
R2Z2_URL=$z_url STATE_DIR=$T/r2 redisq-pull --once >/dev/null 2>"$T/r2.err"
is "$(mode "$T/r2")$(mode "$T/r2/redisq-pull.cursor")" 750600 \
	"redisq-pull: an open dir loses the access of others, the cursor is 0600"
grep -q "redisq-pull: warning: state dir was open to others, tightened path=$T/r2 mode=0755 now=0750" "$T/r2.err"
ok $? "redisq-pull: a warning names the dir and its old mode"
grep -q "redisq-pull: warning: state file was open to others, tightened path=$T/r2/redisq-pull.cursor mode=0644" "$T/r2.err"
ok $? "redisq-pull: a warning names the cursor"
R2Z2_URL=$z_url STATE_DIR=$T/r2 redisq-pull --once >/dev/null 2>"$T/r3.err"
is "$(grep -c warning "$T/r3.err")" 0 "redisq-pull: no warning once they are private"

# 2. filter2: cooldowns and the waiting pairs (they carry the webhook URL)
start_fake esi esi --data "$T/fx" || exit 1
start_fake down esi --data "$T/fx" --faults '[{"match":"^/universe/","status":503,"times":-1}]' || exit 1
pairs() {
	jq -c --arg h "$HOOK" --argjson s "$1" --argjson m "$2" \
		'{stream:({id:"s",targets:[{discord:$h}]} + $s), mail:., match:$m}' "$T/mails"
}
pairs '{"mentions":[{"content":"@here","cooldown":"1h"}]}' '{"kind":"neutral","attackers":[]}' >"$T/m.in"
ESI_URL=$esi_url STATE_DIR=$T/f filter2 <"$T/m.in" >/dev/null 2>"$T/f1.err"
is "$(mode "$T/f")$(mode "$T/f/filter2.cooldowns")" 700600 "filter2: state dir 0700, cooldowns 0600"
pairs '{"match":{"near":[{"system":30000001,"jumps":3}]}}' '{"kind":"neutral","attackers":[],"pending":true}' |
	head -5 >"$T/p.in"
mkfifo "$T/p.fifo"
ESI_URL=$down_url FILTER2_DRAIN=1 STATE_DIR=$T/f filter2 <"$T/p.fifo" >/dev/null 2>"$T/f2.err" &
pid=$!
exec 3>"$T/p.fifo"
cat "$T/p.in" >&3
asked() { curl -sf "$down_url/_stats" | jq -e '.requests > 0' >/dev/null; }
wait_until 20 asked
kill -TERM $pid; wait $pid
exec 3>&-
grep -q secret-token-abc "$T/f/filter2.pending"
ok $? "filter2: the saved waiting pairs hold the webhook URL"
is "$(mode "$T/f/filter2.pending")" 600 "filter2: so filter2.pending is 0600"
chmod 644 "$T/f/filter2.pending" "$T/f/filter2.cooldowns"
ESI_URL=$esi_url STATE_DIR=$T/f filter2 </dev/null >/dev/null 2>"$T/f3.err"
grep -q "filter2: warning: state file was open to others, tightened path=$T/f/filter2.cooldowns" "$T/f3.err"
ok $? "filter2: open cooldowns tightened, with a warning"
grep -q "filter2: warning: state file was open to others, tightened path=$T/f/filter2.pending" "$T/f3.err"
ok $? "filter2: an open filter2.pending tightened before it is replayed"

# 3. esi-resolve: the mails saved at SIGTERM
jq -c '{killmail_id, hash: .killmail_hash}' "$T/fx/killmails.ndjson" | head -3 >"$T/e.in"
mkfifo "$T/e.fifo"
fake_ctl "$down_url" '{"clear":true,"clear_log":true,"faults":[{"match":"/","status":503,"times":-1}]}'
ESI_URL=$down_url ESI_DRAIN=0.2s STATE_DIR=$T/e/state esi-resolve <"$T/e.fifo" >/dev/null 2>"$T/e1.err" &
pid=$!
exec 3>"$T/e.fifo"
cat "$T/e.in" >&3
killmails() { [ "$(curl -sf "$down_url/_log" | jq -r 'select(.path | startswith("/killmails/")) | .path' | sort -u | wc -l)" -ge 3 ]; }
wait_until 20 killmails
ok $? "esi-resolve: ESI (down) is asked for the three mails"
kill -TERM $pid; wait $pid
exec 3>&-
is "$(wc -l <"$T/e/state/esi-resolve.pending")" 3 "esi-resolve: three mails saved at SIGTERM"
is "$(mode "$T/e/state")$(mode "$T/e/state/esi-resolve.pending")" 700600 \
	"esi-resolve: state dir 0700, esi-resolve.pending 0600"

# 4. the posters: the dedupe keys, like the messages file beside them
post-discord -d "$T/pd" </dev/null 2>"$T/pd1.err"
ok $? "post-discord: starts and ends on no input"
is "$(mode "$T/pd/discord/dedupe")$(mode "$T/pd/discord/messages")" 600600 \
	"post-discord: dedupe and messages are 0600"
chmod 644 "$T/pd/discord/dedupe"
post-discord -d "$T/pd" </dev/null 2>"$T/pd2.err"
is "$(mode "$T/pd/discord/dedupe")" 600 "post-discord: an open dedupe is 0600 once rewritten at start"

# 5. insight: its own files and the stages' under s6
pipeline_need
pipeline_fakes 10
pipeline_setup	# the env files are made under umask 022: open to others
chmod 755 "$STATE_DIR"
insight up -d 2>"$T/up.err"
ok $? "insight up -d"
grep -q "insight: warning: $STATE_DIR was open to others, now drwxr-x---" "$T/up.err"
ok $? "up: an open STATE_DIR is tightened, with a warning"
is "$(mode "$STATE_DIR")" 750 "up: STATE_DIR is 0750 (others shut out; group read is the site's)"
grep -q "insight: warning: $STATE_DIR/env/post-discord/HOOK_ALL may be read by others" "$T/up.err"
ok $? "up: a webhook env file open to others is warned about"
is "$(mode "$RUN/sv/post-discord/env/HOOK_ALL")" 600 "up: the services' copy of a webhook URL is 0600"
is "$(mode "$RUN")$(mode "$RUN/sv/post-discord/env")" 700700 "up: the run dir and env dirs are 0700"
insight splice hold --after filter1 -- sh -c 'until [ -e "$1" ]; do sleep 0.1; done; exec cat' sh "$T/go" 2>/dev/null
ok $? "a stage that does not read, spliced after filter1"
batch 4
filling() { [ "$(bytes "$1")" -gt 0 ]; }
wait_until 20 filling hold
ok $? "its FIFO fills"
is "$(mode "$STATE_DIR/redisq-pull.cursor")" 600 "under s6: the cursor is 0600"
INSIGHT_DRAIN=2 insight down 2>"$T/down.err"
grep -q 'hold: [0-9]* bytes kept in .*/pending/hold' "$T/down.err"
ok $? "down kept the FIFO in pending/hold"
is "$(mode "$STATE_DIR/pending")$(mode "$STATE_DIR/pending/hold")" 700600 \
	"down: pending/ is 0700 and pending/hold 0600"
grep -q 'HOOK\|webhooks' "$STATE_DIR/pending/hold"
ok $? "(pending/hold holds pairs, whose targets name webhooks)"
done_testing
