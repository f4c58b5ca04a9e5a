#!/bin/bash
# bench/streams.sh: throughput of stream-fanout | filter1 on the real mails.
#
#	bench/streams.sh [BIN]		(BIN: the tools; default build/bin)
#
# The real killmails of ../shared/data (DATA= to override) are resolved once
# into mail lines by tests/gen/mails.py; bench/streams/gen.py writes sets of
# 100, 1,000 and 10,000 realistic streams from the entities of those mails.
# For each set it runs stream-fanout | filter1 with the index over every
# mail, and with --no-index over an even sample (naive pairing costs mails
# times streams), and for the 100-stream set the same matching done by one
# jq program (bench/streams/tojq.py) as the baseline, checking that jq keeps
# the same pairs.  It prints figures and asserts nothing: the machine is
# shared, times vary.  SETS="100 1000" limits the sets; KEEP=1 keeps the
# work directory.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
DATA=${DATA:-$ROOT/../shared/data}
SETS=${SETS:-100 1000 10000}
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-streams.XXXXXX")
trap '[ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"' EXIT
[ -x "$BIN/stream-fanout" ] && [ -x "$BIN/filter1" ] || { echo "no tools in $BIN (make first)" >&2; exit 100; }
[ -s "$DATA/killmails.ndjson" ] || { echo "no $DATA/killmails.ndjson" >&2; exit 100; }

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
logged() { sed -n "s/.*done.* $1=\\([0-9]*\\).*/\\1/p" "$2"; }

t0=$(now)
python3 "$ROOT/tests/gen/mails.py" "$DATA" >"$W/mails" || exit 111
t1=$(now)
N=$(wc -l <"$W/mails")
echo "mails: $N resolved once in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s" \
	"($(du -m "$W/mails" | cut -f1) MiB of mail lines, mean $(( $(wc -c <"$W/mails") / N )) bytes)"
echo "machine: $(nproc) cores, $(uname -m); tools: $BIN"
echo

# run NAME STREAMS MAILS [FLAGS]: prints "mails/s pairs/mail kept/mail";
# the time to load the streams ($LOAD seconds) is not counted.
run() {
	local n a b
	n=$(wc -l <"$3")
	a=$(now)
	"$BIN/stream-fanout" -q -d "$2" $4 <"$3" 2>"$W/$1.fan" |
		"$BIN/filter1" >/dev/null 2>"$W/$1.f1"
	b=$(now)
	b=$(awk -v a="$a" -v b="$b" -v l="$LOAD" 'BEGIN { printf "%.6f", (b - l > a + 0.001) ? b - l : a + 0.001 }')
	echo "$(rate "$n" "$a" "$b") $(ratio "$(logged pairs "$W/$1.f1")" "$n") $(ratio "$(logged kept "$W/$1.f1")" "$n")"
}
# load_time STREAMS: seconds to start both stages and load the streams
load_time() {
	local a b
	a=$(now)
	"$BIN/stream-fanout" -q -d "$1" </dev/null 2>/dev/null | "$BIN/filter1" -q >/dev/null
	b=$(now)
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }'
}

for s in $SETS; do
	python3 "$ROOT/bench/streams/gen.py" --mails "$W/mails" --count "$s" --out "$W/s$s" --seed 1
	LOAD=$(load_time "$W/s$s")
	echo "$s streams: loaded in $LOAD s (not counted below)"
	# Naive pairing costs mails x streams: an even sample worth 1.5e6 pairs.
	k=$(( s * N / 1500000 )); [ "$k" -lt 1 ] && k=1
	awk -v k="$k" 'NR % k == 0' "$W/mails" >"$W/sample$s"
	ns=$(wc -l <"$W/sample$s")
	printf '%-8s %-22s %8s %10s %10s %10s\n' streams run mails mails/s pairs/mail kept/mail
	read -r ri pi ki <<<"$(run "i$s" "$W/s$s" "$W/mails" "")"
	read -r rj pj kj <<<"$(run "j$s" "$W/s$s" "$W/sample$s" "")"
	read -r rn pn kn <<<"$(run "n$s" "$W/s$s" "$W/sample$s" --no-index)"
	printf '%-8s %-22s %8s %10s %10s %10s\n' "$s" "index, all mails" "$N" "$ri" "$pi" "$ki"
	printf '%-8s %-22s %8s %10s %10s %10s\n' "$s" "index, sample" "$ns" "$rj" "$pj" "$kj"
	printf '%-8s %-22s %8s %10s %10s %10s\n' "$s" "--no-index, sample" "$ns" "$rn" "$pn" "$kn"
	eval "r_index_$s=$ri r_sample_$s=$rj r_naive_$s=$rn"
	if [ "$s" = 100 ]; then
		python3 "$ROOT/bench/streams/tojq.py" "$W/s$s" >"$W/match.jq"
		awk 'NR % 6 == 0' "$W/mails" >"$W/jqsample"	# jq is slow
		ns=$(wc -l <"$W/jqsample")
		a=$(now)
		jq -c -f "$W/match.jq" <"$W/jqsample" >"$W/jq.out"
		b=$(now)
		"$BIN/stream-fanout" -q -d "$W/s$s" <"$W/jqsample" 2>/dev/null | "$BIN/filter1" -q >"$W/f1.out"
		same=no
		cmp -s <(jq -c '[.mail.killmail_id, .stream.id]' "$W/jq.out") \
			<(jq -c '[.mail.killmail_id, .stream.id]' "$W/f1.out") && same=yes
		printf '%-8s %-22s %8s %10s %10s %10s\n' "$s" "jq baseline, 1 in 6" "$ns" \
			"$(rate "$ns" "$a" "$b")" - "$(ratio "$(wc -l <"$W/jq.out")" "$ns")"
		r_jq=$(rate "$ns" "$a" "$b")
		read -r r_jqi _ _ <<<"$(run "q$s" "$W/s$s" "$W/jqsample" "")"
		printf '%-8s %-22s %8s %10s\n' "$s" "index, 1 in 6" "$ns" "$r_jqi"
		echo "         (jq keeps the same (mail, stream) pairs as filter1: $same)"
	fi
done
echo
for s in $SETS; do
	eval "ri=\$r_index_$s rj=\$r_sample_$s rn=\$r_naive_$s"
	echo "$s streams: $ri mails/s with the index (all mails); on the sample $(ratio "$rj" "$rn")x the naive fanout"
done
[ -n "${r_jq:-}" ] && echo "100 streams: on the same mails the index is $(ratio "$r_jqi" "$r_jq")x the jq baseline"
echo "goals: 1,000 streams >= 1,000 mails/s and >= 10x naive; 10,000 streams >= 200 mails/s"
