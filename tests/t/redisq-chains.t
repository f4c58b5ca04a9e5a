#!/bin/bash
# redisq-pull and sequence_updated: a file of the forward walk that names
# an older number makes it fetch that number once more; what a file fetched
# again names is not followed.  So a chain N -> N-1 -> ... costs one extra
# request per file, and two files naming each other are not fetched
# forever: the feed advances.
. "$(dirname "$0")/../lib.sh"

fixtures "$T/fx" --mails 40 --seed 3 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
export USER_AGENT="insight-test/1 (test@example.invalid)" R2Z2_HEAD_WAIT=0.2 R2Z2_BACKOFF=0.1 R2Z2_RATE=0
want_ids=$(jq -r .killmail_id "$T/fx/killmails.ndjson")
ids() { jq -r .killmail_id "$1"; }
# GET /ephemeral/N.json requests the fake saw, all numbers together
ephemeral() { jq -r 'select(.path | test("^/ephemeral/[0-9]+\\.json$")) | .path' "$1" | wc -l | tr -d ' '; }
asked() { jq -r --arg p "/ephemeral/$2.json" 'select(.path == $p) | .path' "$1" | wc -l | tr -d ' '; }

# 1. a chain: every file 1001..1039 names the one before it
chain=$(seq 1001 1039 | awk '{ print $1 ":" $1 - 1 }' | paste -sd, -)
start_fake c zkb --data "$T/fx" --seq-start 1000 --updated "$chain" || exit 1
R2Z2_URL=$c_url STATE_DIR=$T/c timeout 120 redisq-pull --once --from 1000 >"$T/c.out" 2>"$T/c.err"
is "$?" 0 "chain: --once reaches the head, exit 0"
is "$(ids "$T/c.out")" "$want_ids" "chain: every killmail once, in order"
# 40 forward files, one refetch for each of the 39 that names another,
# and the 404 at the head (sequence.json once at the head too)
is "$(ephemeral "$T/c.log")" 80 "chain: 40 files, 39 fetched again, the head once: linear"
is "$(asked "$T/c.log" 1000)" 2 "chain: the first file fetched twice, not 40 times"
is "$(asked "$T/c.log" 1020)" 2 "chain: one in the middle fetched twice"

# 2. a cycle: 1010 names 1011 and 1011 names 1010
start_fake y zkb --data "$T/fx" --seq-start 1000 --updated 1010:1011,1011:1010 || exit 1
R2Z2_URL=$y_url STATE_DIR=$T/y timeout 60 redisq-pull --once --from 1000 >"$T/y.out" 2>"$T/y.err"
is "$?" 0 "cycle: --once reaches the head, exit 0 (not fetched forever)"
is "$(ids "$T/y.out")" "$want_ids" "cycle: the feed advances past it, every killmail once"
is "$(asked "$T/y.log" 1010)$(asked "$T/y.log" 1011)" 21 "cycle: 1010 fetched again once, 1011 once"

# 3. a file that names itself, or a number not below it, changes nothing
start_fake s zkb --data "$T/fx" --seq-start 1000 --updated 1005:1005,1006:1039 || exit 1
R2Z2_URL=$s_url STATE_DIR=$T/s timeout 60 redisq-pull --once --from 1000 >"$T/s.out" 2>"$T/s.err"
is "$?$(ids "$T/s.out" | wc -l | tr -d ' ')" 040 "self and forward references: exit 0, all 40"
is "$(ephemeral "$T/s.log")" 41 "self and forward references: no extra request"
done_testing
