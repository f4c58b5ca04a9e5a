#!/bin/bash
# bench/streams.sh: stream-fanout | filter1, what it writes and how fast.
#
#	bench/streams.sh [BIN]		(BIN: the tools; default build/bin)
#
# Two mail sets: 300 synthetic mails (tests/gen, always; a universe of ten
# alliances, so streams match ten times as often as on real mails), and the
# real killmails of ../shared/data resolved by tests/gen/mails.py (DATA= to
# override; skipped, saying so, when absent).  Two stream generators:
# bench/streams/gen.py (selective killboards, radars, watches; 100, 1,000
# and 10,000 streams) and bench/streams/mix.py (the mix of issue 18: 70 %
# `involved` entity streams, most of them with a flag, value or category
# beside the entity; value, region and attacker streams; all indexed).
#
# Synthetic mails match so often that 10,000 streams are left out there.
# For each mail set, generator and size it prints: candidates (pairs
# stream-fanout writes) and matches (pairs filter1 keeps) per mail, their
# ratio, the bytes stream-fanout writes per mail as bundles (FANOUT=, the
# flags of the indexed runs, default --bundle as the pipeline runs it;
# FILTER1=, filter1's flags in the timed runs, the same) and
# as pair lines against the mean size of a mail, the bytes filter1 writes
# per mail as bundles (--bundle, as the pipeline runs it) and as pair lines, mails/s of
# stream-fanout | filter1 with the index over every mail
# (the time to load the streams, measured apart, is not counted), and the
# same with --no-index over an even sample (naive pairing costs mails times
# streams) with the index over that sample: their ratio is "x naive" (a
# sample under 500 mails is too short to time: the index over every mail
# stands for it).  For
# the 100-stream set of gen.py on the real mails, the same matching done by one jq program
# (bench/streams/tojq.py) is the baseline.  Every run checks that the index
# and the naive fanout give filter1 the same matches.  It asserts nothing:
# the machine is shared, times vary.  SETS="1000" limits the sizes,
# MAILSETS="real" the mail sets, GENS="mix" the generators; KEEP=1 keeps
# the work directory.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
DATA=${DATA:-$ROOT/../shared/data}
SETS=${SETS:-100 1000 10000}
MAILSETS=${MAILSETS:-synthetic real}
GENS=${GENS:-gen mix}
NAIVE_PAIRS=${NAIVE_PAIRS:-200000}	# the naive runs' sample: mails x streams
FANOUT=${FANOUT---bundle}
FILTER1=${FILTER1---bundle}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-streams.XXXXXX")
trap '[ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"' EXIT
[ -x "$BIN/stream-fanout" ] && [ -x "$BIN/filter1" ] || { echo "no tools in $BIN (make first)" >&2; exit 100; }

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? a / b : 0 }'; }
logged() { sed -n "s/.*done.* $1=\\([0-9]*\\).*/\\1/p" "$2"; }

# timed NAME STREAMS MAILS [FLAGS]: mails/s of stream-fanout | filter1,
# less the time to load the streams ($LOAD); filter1's matches to $W/NAME.out
timed() {
	local n a b
	n=$(wc -l <"$3")
	a=$(now)
	"$BIN/stream-fanout" -q -d "$2" $4 <"$3" 2>"$W/$1.fan" |
		"$BIN/filter1" $FILTER1 >"$W/$1.out" 2>"$W/$1.f1"
	b=$(now)
	b=$(awk -v a="$a" -v b="$b" -v l="$LOAD" 'BEGIN { printf "%.6f", (b - l > a + 0.001) ? b - l : a + 0.001 }')
	rate "$n" "$a" "$b"
}
# load_time STREAMS: seconds to start both stages and load the streams
load_time() {
	local a b
	a=$(now)
	"$BIN/stream-fanout" -q -d "$1" </dev/null 2>/dev/null | "$BIN/filter1" -q >/dev/null
	b=$(now)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }'
}
# pair_bytes STREAMS MAILS: the bytes of the pairs as pair lines,
# {"stream":S,"mail":M}\n, counted from the bundles (writing them would
# take minutes with 10,000 streams); jq's compact text of S and M, which is
# stream-fanout's but for how a few numbers are spelt
pair_bytes() {
	"$BIN/stream-fanout" -q -d "$1" --bundle <"$2" 2>/dev/null |
		jq -n '[inputs | (.mail | tojson | utf8bytelength) as $m
			| .streams[] | tojson | utf8bytelength + $m + 20] | add // 0'
}
# matches FILE: the (mail, stream) pairs filter1 kept, sorted
matches() {
	jq -c 'if .streams then .mail.killmail_id as $k | .streams[] | [$k, .id]
		else [.mail.killmail_id, .stream.id] end' "$1" | sort
}

# the mail sets
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg); tools: $BIN"
for ms in $MAILSETS; do
	case $ms in
	synthetic)
		python3 "$ROOT/tests/gen/fixtures.py" --out "$W/fx" --mails 300 >/dev/null || exit 111
		python3 "$ROOT/tests/gen/mails.py" "$W/fx" >"$W/mails.$ms" || exit 111 ;;
	real)
		if [ ! -s "$DATA/killmails.ndjson" ]; then
			echo "real mails: SKIPPED, no $DATA/killmails.ndjson"
			continue
		fi
		python3 "$ROOT/tests/gen/mails.py" "$DATA" >"$W/mails.$ms" || exit 111 ;;
	esac
	N=$(wc -l <"$W/mails.$ms")
	echo "$ms mails: $N, $(( $(wc -c <"$W/mails.$ms") / N )) bytes each on average"
done
echo
printf '%-9s %-4s %6s %6s %8s %8s %6s %6s %9s %9s %9s %8s %8s %7s %5s %9s %9s\n' mails gen streams mails \
	cand/mail kept/mail c/kept w/kept out-B/mail pair-B/mail mail-B/mail mails/s naive/s xnaive same \
	f1-B/mail f1p-B/mail
for ms in $MAILSETS; do
	M=$W/mails.$ms
	[ -s "$M" ] || continue
	N=$(wc -l <"$M")
	MB=$(( $(wc -c <"$M") / N ))
	for g in $GENS; do
		for s in $SETS; do
			[ "$g" = mix ] && [ "$s" = 100 ] && continue
			# ten alliances: 10,000 synthetic streams pair 1,600 times a mail
			[ "$ms" = synthetic ] && [ "$s" = 10000 ] && continue
			S=$W/$ms.$g.$s
			python3 "$ROOT/bench/streams/$g.py" --mails "$M" --count "$s" --out "$S" --seed 1 || exit 111
			LOAD=$(load_time "$S")
			r=$(timed "i" "$S" "$M" "$FANOUT")
			kept=$(logged kept "$W/i.f1")
			bytes=$("$BIN/stream-fanout" -d "$S" $FANOUT <"$M" 2>"$W/b.fan" | wc -c)
			# candidates: the index's, else (before the check) the pairs
			cand=$(logged candidates "$W/b.fan"); [ -n "$cand" ] || cand=$(logged pairs "$W/i.f1")
			wrote=$(logged pairs "$W/i.f1")	# the pairs filter1 read
			pbytes=$(pair_bytes "$S" "$M")
			# what filter1 writes into filter2: bundles, and pair lines
			f1b=$("$BIN/stream-fanout" -q -d "$S" --bundle <"$M" 2>/dev/null |
				"$BIN/filter1" --bundle 2>/dev/null | wc -c)
			f1p=$("$BIN/stream-fanout" -q -d "$S" --bundle <"$M" 2>/dev/null |
				"$BIN/filter1" 2>/dev/null | wc -c)
			# the naive fanout on an even sample, and the index on it
			k=$(( s * N / NAIVE_PAIRS )); [ "$k" -lt 1 ] && k=1
			awk -v k="$k" 'NR % k == 0' "$M" >"$W/sample"
			rj=$(timed "j" "$S" "$W/sample" "$FANOUT")
			rn=$(timed "n" "$S" "$W/sample" --no-index)
			# a sample under 500 mails is too short to time: the index's rate
			# over every mail stands for it
			[ "$(wc -l <"$W/sample")" -lt 500 ] && rj=$r
			same=no
			cmp -s <(matches "$W/j.out") <(matches "$W/n.out") && same=yes
			printf '%-9s %-4s %6s %6s %8s %8s %6s %6s %9s %9s %9s %8s %8s %7s %5s %9s %9s\n' "$ms" "$g" "$s" "$N" \
				"$(ratio "$cand" "$N")" "$(ratio "$kept" "$N")" "$(ratio "$cand" "$kept")" \
				"$(ratio "$wrote" "$kept")" \
				"$(( bytes / N ))" "$(( pbytes / N ))" "$MB" "$r" "$rn" "$(ratio "$rj" "$rn")" "$same" \
				"$(( f1b / N ))" "$(( f1p / N ))"
			if [ "$ms" = real ] && [ "$g" = gen ] && [ "$s" = 100 ]; then
				python3 "$ROOT/bench/streams/tojq.py" "$S" >"$W/match.jq"
				awk 'NR % 6 == 0' "$M" >"$W/jqsample"	# jq is slow
				a=$(now)
				jq -c -f "$W/match.jq" <"$W/jqsample" >"$W/jq.out"
				b=$(now)
				rq=$(timed "q" "$S" "$W/jqsample" "$FANOUT")
				same=no
				cmp -s <(matches "$W/jq.out") <(matches "$W/q.out") && same=yes
				echo "    (100 streams, 1 mail in 6: jq $(rate "$(wc -l <"$W/jqsample")" "$a" "$b") mails/s," \
					"the index $rq mails/s: $(ratio "$rq" "$(rate "$(wc -l <"$W/jqsample")" "$a" "$b")")x; same matches: $same)"
			fi
			rm -rf "$S"
		done
	done
done
echo
echo "cand/mail: streams the index names; kept/mail: pairs filter1 keeps; c/kept: their ratio;"
echo "  w/kept: pairs stream-fanout writes (after its check) per pair kept"
echo "out-B/mail: bytes stream-fanout writes per mail (flags: ${FANOUT:-none}); pair-B/mail: the"
echo "  same as pair lines; mail-B/mail: bytes of a mail line"
echo "mails/s: stream-fanout | filter1 (flags: ${FILTER1:-none}), index, every mail; naive/s:"
echo "  --no-index on a sample;"
echo "xnaive: the index over the naive on that sample (under 500 mails: the index on every"
echo "  mail); same: both give filter1's same matches"
echo "f1-B/mail: bytes filter1 writes into filter2 per mail as the pipeline runs it (--bundle:"
echo "  a bundle per mail with kept pairs); f1p-B/mail: the same as pair lines"
echo "goals (mix, real mails): w/kept <= 2; out-B/mail <= 3 x mail-B/mail;"
echo "  1,000 streams >= 5,000 mails/s and >= 10x naive; 10,000 streams >= 1,000 mails/s"
