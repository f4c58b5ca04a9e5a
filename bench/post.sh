#!/bin/bash
# bench/post.sh: the posters against the fakes.  Prints figures; asserts nothing.
#
#   make B=build && BIN=build/bin bench/post.sh [POSTS] [HOOKS]
#
# 1. Throughput: POSTS posts (1000) spread over HOOKS webhooks (50) against
#    fakes with realistic limits (Discord 5 per 2 s per webhook, the community
#    figure; Slack a burst of 3 then 1 per second), from the first line read to
#    the last post received.  The ceiling is HOOKS x 2.5/s for Discord and
#    HOOKS x 1/s for Slack; the figure says how close the poster gets.
#    PARTS=batch: what one Discord webhook carries under 5 requests per
#    2 s, one post to a message (--batch 1: 2.5 kills/s at most, 50 kills) and
#    batched (--batch 10, 500 kills); make bench runs it.
# 2. Latency, nothing throttling: pairs written one at a time (every 10 ms)
#    over HOOKS webhooks; latency = the fake's arrival time minus the time the
#    line was written to the poster's stdin; p50 and p99.
# 3. The day (needs ../shared/data, stream-fanout, filter1 and filter2 in
#    BIN, GNU time): the killmails of 2021-11-29 through stream-fanout |
#    filter1 | filter2 with STREAMS (1000) streams of bench/streams/gen.py
#    into a file (or PAIRS=FILE, such pairs made before), then post-discord |
#    post-slack on it against a fake Discord that never limits (97 webhooks,
#    as make bench), RUNS (3) times with STATE_DIR on tmpfs and on disk:
#    wall seconds, posts/s, post-discord's CPU seconds, peak RSS and longest
#    queue (medians [min-max]), then fdatasync and fsync calls per post
#    (strace, one run on disk).  The fake Discord is Python and takes about
#    as much CPU as post-discord: on two cores the wall time is theirs.
# PARTS selects parts (default "1 2"; "3" is the day, "batch" the above).
. "$(dirname "$0")/../tests/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)	# lib.sh assumes tests/t/
PATH=$BIN:$PATH
POSTS=${1:-1000} HOOKS=${2:-50}
PAIR=$ROOT/tests/data/render/basic.pair.json
command -v post-discord >/dev/null || { echo "no post-discord in BIN=$BIN"; exit 1; }

# pairs PLATFORM URL-PREFIX N: killmail i goes to webhook i % HOOKS
pairs() {
	jq -c --arg p "$1" --arg u "$2" --argjson n "$3" --argjson h "$HOOKS" \
		'range(1; $n + 1) as $i | .mail.killmail_id = $i | .mail.url = null
		 | .stream.targets = [{($p): ($u + "\($i % $h)/tok")}]' "$PAIR"
}
count() { curl -s "$1/_stats" | jq .posts; }

throughput() {	# throughput NAME PLATFORM PREFIX FAKE-URL
	pairs "$2" "$3" "$POSTS" >"$T/$1.in"
	t0=$(date +%s.%N)
	"post-$2" -d "$T/$1" <"$T/$1.in" >/dev/null 2>"$T/$1.err"
	t1=$(date +%s.%N)
	n=$(count "$4")
	n=${n:-0}
	printf '%s: %d posts over %d webhooks in %.2f s = %.1f posts/s (%s)\n' "$1" "$n" \
		"$HOOKS" "$(echo "$t1 - $t0" | bc)" "$(echo "$n / ($t1 - $t0)" | bc -l)" \
		"$(grep -o 'limited=[0-9]*' "$T/$1.err")"
}

part1() {
	start_fake d discord --bucket-limit 5 --bucket-window 2
	start_fake s slack --burst 3 --interval 1
	throughput discord discord "$d_url/api/webhooks/" "$d_url"
	throughput slack slack "$s_url/services/T0/" "$s_url"
}

# What one Discord webhook carries under 5 requests per 2 s.
partbatch() {
	start_fake d discord --bucket-limit 5 --bucket-window 2 --quiet
	one_hook 50 1
	one_hook 500 10
}

# one_hook POSTS BATCH: what ONE Discord webhook carries under 5 requests
# per 2 s, with at most BATCH posts to a message (post-discord -m).
one_hook() {
	local t0 t1 n m
	fake_ctl "$d_url" '{"clear_log":true}'
	jq -c --arg u "$d_url/api/webhooks/one$2/tok" --argjson n "$1" \
		'range(1; $n + 1) as $i | .mail.killmail_id = $i | .mail.url = null
		 | .stream.targets = [{discord: $u}]' "$PAIR" >"$T/one$2.in"
	t0=$(date +%s.%N)
	post-discord --batch "$2" -d "$T/one$2" <"$T/one$2.in" >/dev/null 2>"$T/one$2.err"
	t1=$(date +%s.%N)
	n=$(curl -s "$d_url/_posts" | jq -s 'map(.body.embeds | length) | add')
	m=$(count "$d_url")
	printf 'discord, one webhook, --batch %d: %d kills in %d messages in %.2f s = %.1f kills/s\n' \
		"$2" "$n" "$m" "$(echo "$t1 - $t0" | bc)" "$(echo "$n / ($t1 - $t0)" | bc -l)"
}

# Latency: a writer that stamps each line, an unthrottled fake.
part2() {
	start_fake dl discord --bucket-limit 1000000 --bucket-window 1
	N=$((POSTS < 500 ? POSTS : 500))
	pairs discord "$dl_url/api/webhooks/" "$N" >"$T/lat.in"
	python3 - "$T/lat.in" "$T/lat.sent" <<-'EOF' | post-discord -d "$T/lat" >/dev/null 2>"$T/lat.err"
	import sys, time, json
	out = open(sys.argv[2], "w")
	for line in open(sys.argv[1]):
	    k = json.loads(line)["mail"]["killmail_id"]
	    sys.stdout.write(line)
	    sys.stdout.flush()
	    out.write("%d %.6f\n" % (k, time.time()))
	    time.sleep(0.01)
	EOF
	curl -s "$dl_url/_posts" | jq -r '.t as $t | .body.embeds[] | "\(.url | capture("kill/(?<k>[0-9]+)/").k) \($t)"' >"$T/lat.got"
	python3 - "$T/lat.sent" "$T/lat.got" <<-'EOF'
	import sys
	sent = dict(l.split() for l in open(sys.argv[1]))
	lat = sorted((float(t) - float(sent[k])) * 1000 for k, t in (l.split() for l in open(sys.argv[2])))
	p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
	print("latency (read to fake, unthrottled, %d posts): p50 %.1f ms, p99 %.1f ms, max %.1f ms"
	      % (len(lat), p(0.50), p(0.99), lat[-1]))
	EOF
}

# The day's pairs: the real killmails through the matching stages.
day_pairs() {
	local data
	data=$(cd "$ROOT/../shared/data" 2>/dev/null && pwd) || return 1
	for t in stream-fanout filter1 filter2; do command -v $t >/dev/null || return 1; done
	grep '"killmail_time": *"2021-11-29' "$data/killmails.ndjson" >"$T/day.km"
	python3 "$ROOT/tests/gen/mails.py" --killmails "$T/day.km" "$data" >"$T/day.mails"
	python3 "$ROOT/bench/streams/gen.py" --mails "$T/day.mails" --count "${STREAMS:-1000}" \
		--out "$T/sd" --seed 1 >/dev/null
	start_fake esi esi --data "$data" --quiet || return 1
	stream-fanout -d "$T/sd" <"$T/day.mails" 2>/dev/null | filter1 2>/dev/null |
		ESI_URL=$esi_url filter2 >"$T/day.pairs" 2>/dev/null
	PAIRS=$T/day.pairs
}

# posters STATE-PARENT [strace]: one run; "wall posts cpu rss-MiB queued-max posts/s"
posters() {
	local st t0 t1
	fake_ctl "$dd_url" '{"clear_log":true}'
	st=$(mktemp -d "$1/post-bench.XXXXXX")
	t0=$(date +%s.%N)
	STATE_DIR=$st ${2:+strace -f -c -o "$T/strace" -e trace=fdatasync,fsync} \
		/usr/bin/time -f '%U %S %M' -o "$T/pd.time" post-discord <"$PAIRS" 2>"$T/pd.err" |
		post-slack -d "$st" >/dev/null 2>&1
	t1=$(date +%s.%N)
	rm -rf "$st"
	read -r u s m <"$T/pd.time"
	awk -v w="$(echo "$t1 - $t0" | bc)" -v n="$(count "$dd_url")" -v c="$(echo "$u + $s" | bc)" \
		-v m="$m" -v q="$(grep -o 'queued_max=[0-9]*' "$T/pd.err" | cut -d= -f2)" \
		'BEGIN { printf "%.2f %d %.2f %.1f %s %.0f\n", w, n, c, m / 1024, q == "" ? "-" : q, n / w }'
}
med() {	# med FILE COLUMN: median [min-max]
	sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
		printf "%s [%s-%s]", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

part3() {
	echo "3. the posters on the day's pairs (post-discord | post-slack, 97 webhooks, no limits)"
	if ! [ -x /usr/bin/time ] || { [ -z "${PAIRS:-}" ] && ! day_pairs; }; then
		echo "  skipped: needs GNU time, and ../shared/data with stream-fanout, filter1, filter2 in BIN (or PAIRS=FILE)"
		return
	fi
	printf '  %d pair lines, %d MB\n' "$(wc -l <"$PAIRS")" "$(($(wc -c <"$PAIRS") >> 20))"
	start_fake dd discord --bucket-limit 1000000 --bucket-window 1 --quiet || return
	for f in $(seq 0 96); do export "FEED_$f=$dd_url/api/webhooks/$((1000 + f))/tok$f"; done
	shm=$T
	[ -d /dev/shm ] && [ -w /dev/shm ] && shm=/dev/shm
	mkdir -p "$T/disk"
	for where in tmpfs disk; do
		: >"$T/runs"
		for i in $(seq "${RUNS:-3}"); do
			posters "$([ $where = tmpfs ] && echo "$shm" || echo "$T/disk")" >>"$T/runs"
		done
		printf '  state on %-5s: %s s, %s posts, %s posts/s; post-discord %s CPU s, peak RSS %s MiB, longest queue %s\n' \
			"$where" "$(med "$T/runs" 1)" "$(cut -d' ' -f2 "$T/runs" | sort -u | tr '\n' ' ' | sed 's/ $//')" \
			"$(med "$T/runs" 6)" "$(med "$T/runs" 3)" "$(med "$T/runs" 4)" "$(med "$T/runs" 5)"
	done
	if command -v strace >/dev/null; then
		set -- $(posters "$T/disk" strace)
		printf '  syscalls on disk: %s fdatasync, %s fsync for %s posts\n' \
			"$(awk '$NF == "fdatasync" { print $4 }' "$T/strace")" \
			"$(awk '$NF == "fsync" { print $4 }' "$T/strace")" "$2"
	fi
	echo "  load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

for p in ${PARTS:-1 2}; do "part$p"; done
