#!/bin/bash
# bench/filter2.sh: filter2 on the real data set against the fake ESI
# serving the real map.  Prints figures; asserts nothing.
#
#   make B=build && BIN=build/bin bench/filter2.sh
#
# 1. ESI requests a walk needs: for 5-jump and 10-jump streams around the
#    three busiest systems of ../shared/data (M-OEE8, Jita, Tama), each in a
#    fresh process (empty cache) over every killmail, so the walk covers the
#    whole radius; with the systems the radius holds (from jumps.tsv).
# 2. Pending pairs per second, cache warm: every killmail against the six
#    streams of 1; (a) steady state in one process (the time of the pairs
#    fed twice minus once), (b) a new process whose ESI cache (Redis) is
#    warm, (c) the same pairs not pending (pass-through), for scale.
# 3. The day as the pipeline gives it to filter2: the killmails of
#    2021-11-29, STREAMS (1000) streams of bench/streams/gen.py, through
#    stream-fanout | filter1 into a file (needs both in BIN); filter2 on it
#    cold (Redis flushed) and warm (a new process), RUNS (3) times each:
#    CPU seconds per 1,000 mails, peak RSS (GNU time), ESI requests and
#    Redis commands per mail; medians [min-max].
# PARTS selects parts (default "1 2 3").
. "$(dirname "$0")/../tests/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)	# lib.sh assumes tests/t/
PATH=$BIN:$PATH
DATA=$(cd "${DATA:-$ROOT/../shared/data}" 2>/dev/null && pwd) || { echo "no ../shared/data (DATA= elsewhere)"; exit 1; }
command -v filter2 >/dev/null || { echo "no filter2 in BIN=$BIN"; exit 1; }
export USER_AGENT="insight-bench/1 (bench@example.invalid)" STATE_DIR=$T/state

python3 "$ROOT/tests/gen/mails.py" "$DATA" >"$T/mails"
start_fake esi esi --data "$DATA" --quiet || exit 1
export ESI_URL=$esi_url
SYSTEMS="30000848:M-OEE8 30000142:Jita 30002813:Tama"

# pairs PENDING STREAM...: every mail with each stream "id:system:jumps"
# (the mail's own text: jq would write big reals as integers)
pairs() {
	python3 -c '
import json, sys
pend, ss = sys.argv[1] == "1", sys.argv[3:]
pre = []
for s in ss:
    i, r, j = s.split(":")
    pre.append(json.dumps({"id": i, "match": {"near": [{"system": int(r), "jumps": int(j)}]},
                           "targets": [{"discord": "$X"}]}, separators=(",", ":")))
m = "{\"kind\":\"neutral\",\"attackers\":[]%s}" % (",\"pending\":true" if pend else "")
for l in open(sys.argv[2]):
    for p in pre:
        sys.stdout.write("{\"stream\":%s,\"mail\":%s,\"match\":%s}\n" % (p, l.rstrip("\n"), m))
' "$1" "$T/mails" "${@:2}"
}
within() {	# systems within $2 jumps of $1 by jumps.tsv
	python3 -c '
import collections, sys
adj = collections.defaultdict(list)
with open(sys.argv[1]) as f:
    next(f)
    for l in f:
        a, b = l.split(); adj[int(a)].append(int(b))
r, n = int(sys.argv[2]), int(sys.argv[3]); d = {r: 0}; q = collections.deque([r])
while q:
    u = q.popleft()
    if d[u] < n:
        for v in adj[u]:
            if v not in d:
                d[v] = d[u] + 1; q.append(v)
inner = sum(1 for v in d.values() if v < n)
print("%d systems within %d jumps, %d of them expanded (%d gates)" % (len(d), n, inner,
      sum(len(adj[u]) for u, v in d.items() if v < n)))
' "$DATA/jumps.tsv" "$1" "$2"
}
stat() { grep -o "$1=[0-9]*" "$2" | tail -1 | cut -d= -f2; }

part1() {
	echo "1. ESI requests of one walk (fresh process, every killmail of the data set)"
	for s in $SYSTEMS; do
		id=${s%%:*} name=${s#*:}
		for n in 5 10; do
			pairs 1 "b:$id:$n" >"$T/walk.in"
			fake_ctl "$esi_url" '{"clear_log":true}'
			filter2 <"$T/walk.in" >/dev/null 2>"$T/walk.err"
			printf '  %-7s %2d jumps: %4d requests (%d systems + %d stargates; %d gates known from their other end); %s\n' \
				"$name" "$n" "$(curl -s "$esi_url/_stats" | jq .requests)" \
				"$(stat systems_asked "$T/walk.err")" "$(stat gates_asked "$T/walk.err")" \
				"$(stat gates_inferred "$T/walk.err")" "$(within "$id" "$n")"
		done
	done
}

part2() {
	echo "2. pending pairs per second, cache warm"
	set -- $(for s in $SYSTEMS; do echo "${s#*:}-5:${s%%:*}:5 ${s#*:}-10:${s%%:*}:10"; done | tr A-Z a-z)
	pairs 1 "$@" >"$T/p1"
	cat "$T/p1" "$T/p1" >"$T/p2"
	N=$(wc -l <"$T/p1")
	run() {	# run FILE [env...]: seconds
		_f=$1; shift
		_t0=$(date +%s.%N)
		env "$@" filter2 <"$_f" >/dev/null 2>"$T/run.err"
		_t1=$(date +%s.%N)
		echo "$_t1 - $_t0" | bc -l
	}
	once=$(run "$T/p1")
	twice=$(run "$T/p2")
	printf '  (a) steady state, one process: %.0f pairs/s (%d pairs: %.2f s once, %.2f s twice; first pass %.0f pairs/s; %s matched)\n' \
		"$(echo "$N / ($twice - $once)" | bc -l)" "$N" "$once" "$twice" "$(echo "$N / $once" | bc -l)" \
		"$(stat matched "$T/run.err")"
	if command -v redis-server >/dev/null && start_redis r; then
		run "$T/p1" REDIS_URL="$r_url" >/dev/null
		fake_ctl "$esi_url" '{"clear_log":true}'
		t=$(run "$T/p1" REDIS_URL="$r_url")
		printf '  (b) new process, Redis warm: %.0f pairs/s (%.2f s; %s ESI requests, %s answers from the cache)\n' \
			"$(echo "$N / $t" | bc -l)" "$t" "$(curl -s "$esi_url/_stats" | jq .requests)" \
			"$(stat esi_cached "$T/run.err")"
	else
		echo "  (b) skipped: no redis-server"
	fi
	pairs 0 "$@" >"$T/p0"
	t=$(run "$T/p0")
	printf '  (c) the same pairs not pending (pass-through): %.0f pairs/s\n' "$(echo "$N / $t" | bc -l)"
	printf '  pair lines average %d bytes\n' "$(( $(wc -c <"$T/p1") / N ))"
}

part3() {
	echo "3. the day with ${STREAMS:=1000} streams, as filter1 gives it (cold, then warm)"
	if ! command -v stream-fanout >/dev/null || ! command -v filter1 >/dev/null ||
		! [ -x /usr/bin/time ] || ! command -v redis-server >/dev/null; then
		echo "  skipped: needs stream-fanout and filter1 in BIN, GNU time and redis-server"
		return
	fi
	[ -n "${r_url:-}" ] || start_redis r || return
	grep '"killmail_time": *"2021-11-29' "$DATA/killmails.ndjson" >"$T/day.km"
	python3 "$ROOT/tests/gen/mails.py" --killmails "$T/day.km" "$DATA" >"$T/day.mails"
	python3 "$ROOT/bench/streams/gen.py" --mails "$T/day.mails" --count "$STREAMS" --out "$T/sd" --seed 1 >/dev/null
	stream-fanout -d "$T/sd" <"$T/day.mails" 2>/dev/null | filter1 >"$T/day.pairs" 2>/dev/null
	M=$(wc -l <"$T/day.mails")
	printf '  %d mails, %d pairs (%d pending), %d MB\n' "$M" "$(wc -l <"$T/day.pairs")" \
		"$(grep -c '"pending":true' "$T/day.pairs")" "$(( $(wc -c <"$T/day.pairs") >> 20 ))"
	rcmds() { redis-cli -s "$T/r.sock" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }
	day() {	# day cold|warm: "cpu-per-1000 rss-MiB esi-per-mail redis-per-mail"
		[ "$1" = cold ] && redis-cli -s "$T/r.sock" flushall >/dev/null
		fake_ctl "$esi_url" '{"clear_log":true}'
		_r0=$(rcmds)
		/usr/bin/time -f '%U %S %M' -o "$T/day.time" env REDIS_URL="$r_url" filter2 \
			<"$T/day.pairs" >/dev/null 2>"$T/day.err"
		_r1=$(rcmds)
		read -r _u _s _m <"$T/day.time"
		echo "$_u $_s $_m $(curl -s "$esi_url/_stats" | jq .requests) $((_r1 - _r0))" |
			awk -v m="$M" '{ printf "%.3f %.1f %.4f %.2f\n", ($1 + $2) * 1000 / m, $3 / 1024, $4 / m, $5 / m }'
	}
	for i in $(seq "${RUNS:-3}"); do
		day cold >>"$T/cold"
		day warm >>"$T/warm"
	done
	med() {	# med FILE COLUMN: median [min-max]
		cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END {
			printf "%s [%s-%s]", v[int((NR + 1) / 2)], v[1], v[NR] }'
	}
	for c in cold warm; do
		printf '  %s: CPU %s s per 1,000 mails, peak RSS %s MiB, ESI %s requests per mail, Redis %s commands per mail\n' \
			"$c" "$(med "$T/$c" 1)" "$(med "$T/$c" 2)" "$(med "$T/$c" 3)" "$(med "$T/$c" 4)"
	done
}

for p in ${PARTS:-1 2 3}; do part$p; done
