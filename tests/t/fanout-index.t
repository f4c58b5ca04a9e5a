#!/bin/bash
# The index never loses a match: stream-fanout | filter1 gives, byte for
# byte, what stream-fanout --no-index | filter1 gives, on the synthetic
# fixtures (two seeds) and on the evaluator's base mails, over generated
# realistic streams plus streams written to trip an index (names in other
# cases, counts that zero satisfies, negations, unguarded branches, ranges,
# labels, hours, war, locations, age).  Also: the index does pair fewer,
# and on streams mixed like real feeds (bench/streams/mix.py: entity keys
# beside flags, values, categories) stream-fanout writes the pairs filter1
# keeps and no others: it checks what the mail alone decides.
. "$(dirname "$0")/../lib.sh"

S=$T/streams
fixtures "$T/fx1" --mails 200 --seed 1 >/dev/null || skip_all "no fixtures (tests/gen/fixtures.py)"
fixtures "$T/fx2" --mails 120 --seed 7 --start-id 2000000 >/dev/null
python3 "$ROOT/tests/gen/mails.py" "$T/fx1" >"$T/m1" || exit 1
python3 "$ROOT/tests/gen/mails.py" "$T/fx2" >"$T/m2"
jq -c .mail "$ROOT/tests/data/match/mails.ndjson" >"$T/m3"
cat "$T/m1" "$T/m2" >"$T/all"
python3 "$ROOT/bench/streams/gen.py" --mails "$T/all" --count 150 --out "$S" --jq 2 || exit 1

# Streams written against the index's shortcuts (fixture entities).
w() { printf '%s\n' "$2" >"$S/$1.json"; }
t='"targets":[{"stdout":true}]'
w x-names  '{"match":{"involved":{"corporation":["SOCIÉTÉ GÉNÉRALE DE MINAGE","société générale de minage"]}},'"$t"'}'
w x-upper  '{"match":{"victim":{"alliance":["ΩMEGA ΣYNTHETIC ALLIANCE","Ωmega Σynthetic Alliance"]}},'"$t"'}'
w x-ship   '{"match":{"victim":{"ship":["rifter","CAPSULE"]}},'"$t"'}'
w x-count0 '{"match":{"attacker":{"alliance":[99000001],"count":{"max":0}}},'"$t"'}'
w x-share0 '{"match":{"attacker":{"faction":[500001],"share":{"max":0.2}}},'"$t"'}'
w x-share1 '{"match":{"attacker":{"ship_group":["Titan"],"share":{"min":0.01}}},'"$t"'}'
w x-not    '{"match":{"not":{"victim":{"ship_group":["Capsule"]}},"space":["lowsec"]},'"$t"'}'
w x-any    '{"match":{"any":[{"system":["Irmak"]},{"not":{"space":["highsec","lowsec","nullsec"]}}]},'"$t"'}'
w x-all    '{"match":{"all":[{"region":["Deepvoid"]},{"attacker":{"ship_group":["Dreadnought"]}}]},'"$t"'}'
w x-final  '{"match":{"final_blow":{"corporation":[98000005,98000012]}},'"$t"'}'
w x-value  '{"match":{"value":{"min":1e8,"max":5e9}},'"$t"'}'
w x-drop   '{"match":{"dropped_value":{"max":1e6}},'"$t"'}'
w x-points '{"match":{"points":{"min":5}},'"$t"'}'
w x-count  '{"match":{"attacker_count":{"min":100}},'"$t"'}'
w x-sec    '{"match":{"security":{"min":0.449,"max":0.45}},'"$t"'}'
w x-labels '{"match":{"labels":{"all":["pvp","loc:lowsec"],"none":["awox"]}},'"$t"'}'
w x-lbany  '{"match":{"labels":["npc","awox"]},'"$t"'}'
w x-hour   '{"match":{"hour":{"from":22,"to":3}},'"$t"'}'
w x-war    '{"match":{"war":true,"victim":{"npc":false}},'"$t"'}'
w x-nowar  '{"match":{"war":false,"solo":true},'"$t"'}'
w x-loc    '{"match":{"location":[50000001,50000002,50000003]},'"$t"'}'
w x-npc    '{"match":{"attacker":{"npc":true},"space":["pochven","abyssal"]},'"$t"'}'
w x-near   '{"match":{"near":[{"system":"Arvoda","jumps":3}],"victim":{"ship_category":["Ship"]}},'"$t"'}'
w x-nnear  '{"match":{"not":{"near":[{"system":"Arvoda","jumps":3}]}},'"$t"'}'
w x-unres  '{"match":{"involved":{"character":[90000901,90000902,90000903,90000904,90000905]}},'"$t"'}'
w x-jq     '{"match":{"jq":".mail.attacker_count > 300"},'"$t"'}'
w x-age    '{"match":{"age":{"min":"1h"},"victim":{"ship_category":["Ship"]}},'"$t"'}'
w x-young  '{"match":{"not":{"age":{"min":"1h"}},"space":["highsec"]},'"$t"'}'
w x-empty  '{'"$t"'}'
w x-off    '{"enabled":false,'"$t"'}'

stream-fanout --check "$S" >"$T/check"
is "$?:$(cat "$T/check")" "0:" "every stream is valid"

for m in m1 m2 m3; do
	stream-fanout -d "$S" <"$T/$m" 2>"$T/err.i" | filter1 >"$T/$m.i" 2>/dev/null
	stream-fanout -d "$S" --no-index <"$T/$m" 2>"$T/err.n" | filter1 >"$T/$m.n" 2>/dev/null
	cmp -s "$T/$m.i" "$T/$m.n"
	ok $? "$m: after filter1 the index gives exactly what --no-index gives"
	stream-fanout -d "$S" --bundle <"$T/$m" 2>/dev/null >"$T/$m.b"
	filter1 <"$T/$m.b" >"$T/$m.bi" 2>/dev/null
	cmp -s "$T/$m.i" "$T/$m.bi"
	ok $? "$m: bundles give filter1's same output, byte for byte"
	is "$(wc -l <"$T/$m.b")" "$(jq -r .killmail_id "$T/$m" | sort -u | wc -l)" \
		"$m: one bundle per mail (every mail meets the catch-all stream)"
	kept=$(wc -l <"$T/$m.i")
	[ "$kept" -gt 0 ]
	ok $? "$m: and that is not nothing ($kept pairs kept)"
	pi=$(sed -n 's/.*done mails=[0-9]* pairs=\([0-9]*\).*/\1/p' "$T/err.i")
	pn=$(sed -n 's/.*done mails=[0-9]* pairs=\([0-9]*\).*/\1/p' "$T/err.n")
	[ "${pi:-0}" -lt "${pn:-0}" ]
	ok $? "$m: the index pairs fewer ($pi pairs, naive $pn)"
done

# Every handcrafted stream matters: each one keeps at least one pair
# somewhere, except the disabled one.
for f in "$S"/x-*.json; do
	id=$(basename "$f" .json)
	case $id in x-off | x-young) continue ;; esac	# x-young: mails are older
	cat "$T/m1.i" "$T/m2.i" "$T/m3.i" | grep -q "\"id\":\"$id\"}"
	ok $? "stream $id matched something (the comparison is not vacuous)"
done
# The mix: every pair written is kept; the naive run keeps the same.
python3 "$ROOT/bench/streams/mix.py" --mails "$T/all" --count 300 --out "$T/mix" || exit 1
stream-fanout -d "$T/mix" <"$T/all" 2>"$T/err.x" >"$T/x.pairs"
filter1 <"$T/x.pairs" >"$T/x.i" 2>"$T/err.x1"
stream-fanout -d "$T/mix" --no-index <"$T/all" 2>/dev/null | filter1 >"$T/x.n" 2>/dev/null
cmp -s "$T/x.i" "$T/x.n"
ok $? "mix: the index and its check give filter1 what --no-index gives"
grep -q 'loaded streams=300 live=300 unindexed=0 ' "$T/err.x"
ok $? "mix: every stream is indexed"
kept=$(wc -l <"$T/x.i")
is "$(wc -l <"$T/x.pairs")" "$kept" "mix: stream-fanout writes only the pairs filter1 keeps ($kept)"
c=$(sed -n 's/.*done mails=.* candidates=\([0-9]*\).*/\1/p' "$T/err.x")
[ "${c:-0}" -gt "$kept" ]
ok $? "mix: the index named more candidates ($c) than the check let through"
grep -q "done pairs=$kept kept=$kept pending=0 dropped=0 " "$T/err.x1"
ok $? "mix: filter1 drops none of them"
done_testing
