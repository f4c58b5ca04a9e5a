#!/bin/bash
# redisq-pull over every real killmail of ../shared/data, served by the
# fake zKillboard with no waits: every one once, in order, equal in content.
. "$(dirname "$0")/../lib.sh"
real_data

start_fake z zkb --data "$REAL_DATA" --seq-start 1
export R2Z2_URL=$z_url STATE_DIR=$T/s R2Z2_RATE=0 USER_AGENT="insight-test/1 (test@example.invalid)"
n=$(wc -l <"$REAL_DATA/killmails.ndjson")
if [ -x /usr/bin/time ]; then
	/usr/bin/time -v redisq-pull --once --from 1 >"$T/out" 2>"$T/err"
else
	redisq-pull --once --from 1 >"$T/out" 2>"$T/err"
fi
is "$?" 0 "exit 0 at the head"
is "$(wc -l <"$T/out" | tr -d ' ')" "$n" "one line per killmail served"
python3 - "$REAL_DATA/killmails.ndjson" "$T/out" <<'PY'
import json, sys
ESI = ("attackers", "killmail_id", "killmail_time", "moon_id", "solar_system_id", "victim", "war_id")
bad = 0
with open(sys.argv[1]) as src, open(sys.argv[2]) as out:
    for seq, (a, b) in enumerate(zip(src, out), 1):
        m, p = json.loads(a), json.loads(b)
        want = {k: m[k] for k in ESI if k in m}
        h = m.get("killmail_hash") or (m.get("zkb") or {}).get("hash")
        if (p["esi"] != want or p["killmail_id"] != m["killmail_id"] or p["sequence_id"] != seq
                or p.get("zkb") != m.get("zkb") or (h and p["hash"] != h)):
            bad += 1
print("ok - every package equal in content to the killmail served" if bad == 0 else
      "not ok - %d packages differ from what was served" % bad)
PY
_n=$((_n + 1))
grep -E 'Elapsed|Maximum resident' "$T/err" | sed 's/^\s*/# /'
done_testing
