#!/bin/bash
# On the real killmails of ../shared/data: stream-fanout | filter1 gives,
# byte for byte, what stream-fanout --no-index | filter1 gives, for 100
# generated streams over every mail and for 1,000 over a sample of 1,000.
. "$(dirname "$0")/../lib.sh"
real_data

python3 "$ROOT/tests/gen/mails.py" "$REAL_DATA" >"$T/mails" || exit 1
is "$(wc -l <"$T/mails")" "$(wc -l <"$REAL_DATA/killmails.ndjson")" "every killmail became a mail"
awk 'NR % 13 == 0' "$T/mails" | head -1000 >"$T/sample"

compare() {	# compare NAME STREAMS MAILS
	stream-fanout -d "$2" <"$3" 2>"$T/err.i" | filter1 >"$T/$1.i" 2>/dev/null
	stream-fanout -d "$2" --no-index <"$3" 2>"$T/err.n" | filter1 >"$T/$1.n" 2>/dev/null
	cmp -s "$T/$1.i" "$T/$1.n"
	ok $? "$1: the index gives exactly what --no-index gives"
	pi=$(sed -n 's/.*done mails=[0-9]* pairs=\([0-9]*\).*/\1/p' "$T/err.i")
	pn=$(sed -n 's/.*done mails=[0-9]* pairs=\([0-9]*\).*/\1/p' "$T/err.n")
	diag "$1: $(wc -l <"$T/$1.i") pairs kept; $pi pairs with the index, $pn without"
	[ "$(wc -l <"$T/$1.i")" -gt 100 ] && [ "${pi:-0}" -lt "${pn:-0}" ]
	ok $? "$1: many matches, fewer pairs than naive"
}
python3 "$ROOT/bench/streams/gen.py" --mails "$T/mails" --count 100 --seed 3 --out "$T/s100"
compare "100 streams, all mails" "$T/s100" "$T/mails"
python3 "$ROOT/bench/streams/gen.py" --mails "$T/mails" --count 1000 --seed 4 --out "$T/s1000"
compare "1000 streams, 1000 mails" "$T/s1000" "$T/sample"
done_testing
