#!/bin/bash
# stream-fanout --shard K/N: the shards partition the streams exactly (each
# live stream in one shard, the one FNV-1a-64(id) % N names), and together
# they pair exactly what one unsharded fanout pairs.
. "$(dirname "$0")/../lib.sh"

S=$T/streams
jq -c .mail "$ROOT/tests/data/match/mails.ndjson" >"$T/mails"
python3 "$ROOT/bench/streams/gen.py" --mails "$T/mails" --count 80 --out "$S" --jq 0 || exit 1
printf '%s\n' '{"targets":[{"stdout":true}]}' >"$S/catch-all.json"
stream-fanout -d "$S" <"$T/mails" 2>/dev/null | sort >"$T/whole"
stream-fanout -d "$S" --no-index <"$T/mails" 2>/dev/null >"$T/naive"
jq -r .stream.id "$T/naive" | sort -u >"$T/ids"
[ "$(wc -l <"$T/ids")" -gt 50 ]
ok $? "the streams are many ($(wc -l <"$T/ids") live)"

# The documented hash, computed independently.
fnv_shard() {
	python3 -c '
import sys
n = int(sys.argv[1])
for line in sys.stdin:
    h = 0xcbf29ce484222325
    for b in line.rstrip("\n").encode():
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    print(line.rstrip("\n"), h % n)' "$1"
}

for n in 1 2 3 5; do
	: >"$T/union"
	: >"$T/shard-ids"
	for k in $(seq 0 $((n - 1))); do
		stream-fanout -d "$S" --shard "$k/$n" <"$T/mails" 2>/dev/null >"$T/part"
		cat "$T/part" >>"$T/union"
		stream-fanout -d "$S" --shard "$k/$n" --no-index <"$T/mails" 2>/dev/null |
			jq -r --arg k "$k" '"\(.stream.id) \($k)"' | sort -u >>"$T/shard-ids"
	done
	sort "$T/union" | cmp -s - "$T/whole"
	ok $? "N=$n: the shards together pair exactly what one fanout pairs"
	is "$(cut -d' ' -f1 "$T/shard-ids" | sort | uniq -d | wc -l)" 0 "N=$n: no stream is in two shards"
	is "$(cut -d' ' -f1 "$T/shard-ids" | sort)" "$(cat "$T/ids")" "N=$n: every live stream is in a shard"
	is "$(sort "$T/shard-ids")" "$(fnv_shard "$n" <"$T/ids" | sort)" \
		"N=$n: each stream is in shard FNV-1a-64(id) % N"
done
stream-fanout -d "$S" --shard 2/2 </dev/null 2>/dev/null
is "$?" 100 "--shard 2/2: K must be below N"
stream-fanout -d "$S" --shard 1 </dev/null 2>/dev/null
is "$?" 100 "--shard 1: K/N is required"
stream-fanout -d "$S" --shard 0/0 </dev/null 2>/dev/null
is "$?" 100 "--shard 0/0: N must be at least 1"
done_testing
