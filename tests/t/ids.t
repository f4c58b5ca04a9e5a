#!/bin/bash
# Lines the next stages could not use are refused where they are read, each
# with one warning that says why, and the stage goes on: a package line
# over the 16 MiB line limit (redisq-pull), a killmail_id that is not a
# positive integer ("x", null, 1.5, [], -1, 0, "7": redisq-pull,
# esi-resolve, stream-fanout, filter1; such a mail is never posted), and a
# value with a newline in a log line (a stream file's name) stays on its line.
. "$(dirname "$0")/../lib.sh"

command -v jq >/dev/null || skip_all "no jq"
fixtures "$T/fx" --mails 6 --seed 5 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
python3 "$ROOT/tests/gen/mails.py" "$T/fx" >"$T/mails" || skip_all "no tests/gen/mails.py"
export USER_AGENT="insight-test/1 (test@example.invalid)" R2Z2_HEAD_WAIT=0.2 R2Z2_BACKOFF=0.1 R2Z2_RATE=0
BAD='"x" null 1.5 [] -1 0 "7"'
ids() { jq -r .killmail_id "$1" | tr '\n' ' '; }

# 1. a package whose line would be over 16 MiB: skipped with a warning that
#    names its sequence number; the cursor goes past it; the rest is written
mkdir -p "$T/big"
python3 - "$T/fx/killmails.ndjson" >"$T/big/killmails.ndjson" <<'PY'
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    m = json.loads(l)
    if i == 2:
        m.setdefault("zkb", {})["padding"] = "p" * (20 << 20)
    print(json.dumps(m))
PY
start_fake z zkb --data "$T/big" --seq-start 500 || exit 1
R2Z2_URL=$z_url STATE_DIR=$T/zs redisq-pull --once --from 500 >"$T/big.out" 2>"$T/big.err"
is "$?" 0 "big package: exit 0"
is "$(wc -l <"$T/big.out" | tr -d ' ')" 5 "big package: the five others are written"
is "$(awk 'length > 16777216' "$T/big.out" | wc -l | tr -d ' ')" 0 "no line over 16 MiB"
want=$(jq -r .killmail_id "$T/fx/killmails.ndjson" | sed 3d | tr '\n' ' ')
is "$(ids "$T/big.out")" "$want" "big package: the others in order"
is "$(grep -c 'redisq-pull: warning: package skipped: its line is over the limit .*sequence=502 .*max=16777216' "$T/big.err")" 1 \
	"big package: one warning naming sequence 502 and the limit"
is "$(cat "$T/zs/redisq-pull.cursor")" 506 "big package: the cursor went past it"

# 2. redisq-pull: packages whose killmail_id is not a positive integer
{
	n=0
	for v in $BAD; do
		sed -n "$((n % 6 + 1))p" "$T/fx/killmails.ndjson" | jq -c ".killmail_id = $v"
		n=$((n + 1))
	done
	cat "$T/fx/killmails.ndjson"
} >"$T/ids.ndjson"
mkdir -p "$T/idfx" && cp "$T/ids.ndjson" "$T/idfx/killmails.ndjson"
start_fake zi zkb --data "$T/idfx" --seq-start 700 || exit 1
R2Z2_URL=$zi_url STATE_DIR=$T/zi redisq-pull --once --from 700 >"$T/zi.out" 2>"$T/zi.err"
is "$?" 0 "bad ids: redisq-pull exit 0"
is "$(ids "$T/zi.out")" "$(jq -r .killmail_id "$T/fx/killmails.ndjson" | tr '\n' ' ')" \
	"bad ids: redisq-pull writes only the six good packages"
is "$(grep -c 'redisq-pull: warning: package skipped: killmail_id is not a positive integer sequence=70[0-6]$' "$T/zi.err")" 7 \
	"bad ids: one warning each, saying why and naming the sequence"

# 3. esi-resolve: packages and (resolved) mails with such ids
for v in $BAD; do jq -c ".killmail_id = $v" <(sed -n 1p "$T/mails"); done >"$T/badmails"
for v in $BAD; do jq -c ".killmail_id = $v | del(.esi.killmail_id)" <(sed -n 1p "$T/fx/killmails.ndjson"); done >"$T/badpkgs"
cat "$T/badmails" "$T/badpkgs" "$T/mails" >"$T/e.in"
ESI_URL=http://127.0.0.1:9 STATE_DIR=$T/es esi-resolve <"$T/e.in" >"$T/e.out" 2>"$T/e.err"
is "$?" 0 "bad ids: esi-resolve exit 0"
is "$(ids "$T/e.out")" "$(ids "$T/mails")" "bad ids: esi-resolve passes only the good mails"
is "$(grep -c 'esi-resolve: warning: mail skipped: killmail_id is not a positive integer line=[1-7]$' "$T/e.err")" 7 \
	"bad ids: one warning per mail, saying why"
is "$(grep -c 'esi-resolve: warning: package skipped: killmail_id is not a positive integer line=\([89]\|1[0-4]\)$' "$T/e.err")" 7 \
	"bad ids: one warning per package, saying why"

# 4. stream-fanout, filter1, filter2 and the poster: such a mail is never posted
start_fake d discord --bucket-limit 1000 --bucket-window 1 || exit 1
mkdir -p "$T/streams"
printf '{"targets": [{"discord": "%s/api/webhooks/77/tok"}]}\n' "$d_url" >"$T/streams/all.json"
cat "$T/badmails" "$T/mails" >"$T/f.in"
stream-fanout -d "$T/streams" <"$T/f.in" >"$T/f.pairs" 2>"$T/f.err"
is "$?" 0 "bad ids: stream-fanout exit 0"
is "$(jq -r .mail.killmail_id "$T/f.pairs" | tr '\n' ' ')" "$(ids "$T/mails")" "bad ids: stream-fanout pairs only the good mails"
is "$(grep -c 'stream-fanout: warning: mail skipped: killmail_id is not a positive integer line=[1-7]$' "$T/f.err")" 7 \
	"bad ids: stream-fanout, one warning each"
grep -q 'done mails=6 pairs=6 other=0 malformed=7' "$T/f.err"
ok $? "bad ids: stream-fanout counts them as malformed"
# pairs made by hand (as a spliced stage could write them)
for v in $BAD; do sed -n 1p "$T/f.pairs" | jq -c ".mail.killmail_id = $v"; done >"$T/badpairs"
cat "$T/badpairs" "$T/f.pairs" | filter1 >"$T/f1.out" 2>"$T/f1.err"
is "$(jq -r .mail.killmail_id "$T/f1.out" | tr '\n' ' ')" "$(ids "$T/mails")" "bad ids: filter1 keeps only the good pairs"
is "$(grep -c 'filter1: warning: pair dropped: killmail_id is not a positive integer line=[1-7]$' "$T/f1.err")" 7 \
	"bad ids: filter1, one warning each"
grep -q 'invalid=7' "$T/f1.err"
ok $? "bad ids: filter1 counts them as invalid"
cat "$T/badmails" "$T/mails" | stream-fanout -d "$T/streams" 2>/dev/null | filter1 2>/dev/null |
	STATE_DIR=$T/f2 ESI_URL=http://127.0.0.1:9 filter2 2>/dev/null |
	post-discord -d "$T/pd" >"$T/pd.out" 2>"$T/pd.err"
posted() { curl -s "$d_url/_posts" | jq -r 'if (.body.embeds | length) > 0 then .body.embeds[].url else .body.content end' | grep -o '[0-9-]*/$' | tr -d / | sort -n | tr '\n' ' '; }
wait_until 20 sh -c '[ "$(grep -c "\"receipt\"" "$1")" -ge 6 ]' sh "$T/pd.out"
is "$(posted)" "$(jq -r .killmail_id "$T/mails" | sort -n | tr '\n' ' ')" "the poster posted the six good mails and nothing else"

# 5. a stream file whose name holds a newline: its log lines stay whole
mkdir -p "$T/nl"
echo '{"targets": [' >"$T/nl/bad
stream-fanout: fatal: forged.json"
stream-fanout -d "$T/nl" </dev/null >/dev/null 2>"$T/nl.err"
is "$(grep -c 'invalid JSON' "$T/nl.err")" 1 "the broken stream file is warned about"
is "$(grep -c '' "$T/nl.err")" 3 "three log lines: the warning, loaded, done"
grep -q 'bad\\nstream-fanout: fatal: forged.json' "$T/nl.err"
ok $? "the newline is shown escaped, as \\n"
is "$(grep -c '^stream-fanout: fatal' "$T/nl.err")" 0 "no forged fatal line"
done_testing
