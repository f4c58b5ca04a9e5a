#!/bin/bash
# bench/run.sh: `make bench`, the whole pipeline measured end to end.
#
#	make bench [B=build-x] [QUICK=1] [FULL=1] [RUNS=3] [RUNS_LONG=1] [PARTS=...]
#	BIN=build/bin bench/run.sh
#
# The seven stages run as in production, each reading and writing a FIFO
# (made here with mkfifo; not under s6, which adds nothing to the data path),
# against the fakes of tests/fake: zKillboard R2Z2 with no rate cap, ESI,
# Discord, and a private redis-server on a unix socket as the shared ESI
# cache.  Discord is SINK= (make bench: tests/fake/sink.c, built as
# $B/fake-sink), a lean host in C that answers every post 204 with room in
# its rate-limit bucket, for the throughput runs (day, split, baseline): the
# Python fake spends more CPU than the seven stages and would bound them.
# The latency and reload runs, which read the posts back, and every run
# without SINK use the Python fake with generous buckets (--bucket-limit
# 1000000 a second: no 429 slows a run).  The data is the complete day 2021-11-29 of ../shared/data
# (10,831 killmails, selected at run time into a temporary directory), or
# synthetic fixtures (tests/gen/fixtures.py) when that is absent.  Stream
# sets of 100, 1,000 and 10,000 streams come from bench/streams/gen.py; their
# "$FEED_k" targets are 97 webhooks of the fake Discord.
#
# Each figure is the median of its runs, [min-max] beside it:
#   day      the whole day, 1,000 and 10,000 streams, cold cache (Redis
#            flushed, new processes) and warm (the same set just ran):
#            mails/s, posts/s, ESI requests and Redis commands per mail,
#            each stage's peak RSS and CPU seconds per 1,000 mails (GNU
#            time), the fakes' and Redis's own CPU seconds;
#   latency  300 mails spread over the day served at 20/s, warm, 1,000
#            streams: from the fake R2Z2 serving a mail to the fake Discord
#            receiving each post, p50/p99/max, and each stage's share.  With
#            LOG_LEVEL=debug every stage logs "trace event=E killmail_id=N
#            stream=S t=UNIX" (log_trace, lib/log.h) as it writes a line;
#            bench/pipeline/latency.py joins them with the fakes' logs;
#   reload   SIGHUP to stream-fanout every 2 s at 20 mails/s, 1,000 and
#            10,000 streams: time to its "reloaded" trace, mails held up;
#            and the `stream-fanout --check` that `insight reload` runs first;
#   fanout   bench/streams.sh: stream-fanout | filter1 alone, candidates,
#            matches, bytes per mail and mails/s on two stream mixes
#            (printed, and written to fanout.txt; not in the table);
#   floors   the packages through cat in every FIFO; redisq-pull then cat in
#            every other FIFO (the fake R2Z2's floor); the pipeline without
#            the posters, then the posters alone on what it wrote (the fake
#            Discord's floor);
#   baseline jq matching the 100-stream set (bench/streams/tojq.py) in place
#            of stream-fanout | filter1, beside the pipeline on that set.
# STATE_DIR (cursor, spool, dedupe) is on tmpfs (/dev/shm) for the day runs,
# which then measure the code rather than this machine's fdatasync; one day
# with 1,000 streams and the latency runs keep it on disk, as deployed (and
# a latency run on tmpfs shows the difference).
#
# The commit marks run as deployed (redisq-pull --marks, post-slack -C);
# MARKS= (empty) runs without them, to measure what they cost.
#
# Runs: RUNS (3) of most; RUNS_LONG (1) of the long ones: the 10,000-stream
# day (~460,000 posts, ~4 min a run), the day on disk, the floors of the
# posters, the latency on tmpfs.  The default takes 12-15 min on two cores,
# FULL=1 (RUNS_LONG=RUNS) about 30, QUICK=1 (one run of each on an even
# 1-in-5 sample of the day) about 3.  PARTS selects parts, in this order:
# fanout floors day1k daymix split baseline day10k disk latency
# latency-tmpfs reload metrics marks batch (daymix: the day warm with the
# 1,000 streams of bench/streams/mix.py; metrics: what the metrics files
# cost, in CPU (METRICS_COST: bench/metrics.c, built by make bench);
# marks: the day and the latency with and without the commit marks, runs
# interleaved; batch (bench/post.sh): what one Discord webhook carries
# under 5 requests per 2 s, one kill to a message and batched, about 40
# s).  metrics, marks and fanout print their figures and write them to
# metrics.txt, marks.txt and fanout.txt, not to the table.
#
# Nothing is asserted: the table is printed and written with table.md,
# table.csv and every run as JSON (runs.jsonl) to results/bench-DATE/ (OUT=
# to change).  KEEP=1 keeps the work directory with the logs of every run.
# Exit 0, 100 without the tools, 111 when a fake or Redis does not start.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
DATA=${DATA:-$ROOT/../shared/data}
PY=$ROOT/bench/pipeline
FAKE=$ROOT/tests/fake/fake.py
QUICK=${QUICK:-} FULL=${FULL:-}
MARKS=${MARKS-1}
RUNS=${RUNS:-3} RUNS_LONG=${RUNS_LONG:-1}
LAT_MAILS=${LAT_MAILS:-300} RELOADS=${RELOADS:-5} SAMPLE=1
[ -n "$FULL" ] && RUNS_LONG=$RUNS
[ -n "$QUICK" ] && RUNS=1 RUNS_LONG=1 LAT_MAILS=200 RELOADS=3 SAMPLE=5
TMO=${TMO:-1800}	# seconds any one stage may run before it is stopped
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-$ROOT/results/bench-$STAMP}

for t in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack; do
	[ -x "$BIN/$t" ] || { echo "bench: no $BIN/$t (make first)" >&2; exit 100; }
done
for t in python3 jq redis-server redis-cli curl; do
	command -v "$t" >/dev/null || { echo "bench: needs $t" >&2; exit 100; }
done
TIME=(/usr/bin/time -f '%e %U %S %M' -o)
[ -x /usr/bin/time ] || { TIME=(); echo "bench: no GNU time: no RSS or CPU figures" >&2; }

W=$(mktemp -d "${TMPDIR:-/tmp}/insight-bench.XXXXXX") || exit 111
SHM=$W/shm
[ -d /dev/shm ] && [ -w /dev/shm ] && SHM=$(mktemp -d /dev/shm/insight-bench.XXXXXX)
mkdir -p "$OUT" "$SHM" "$W/run"
PIDS=()		# fakes and redis-server, live; stopped at exit
STAGES=()	# the stages of the run in progress

cleanup() {
	for p in "${STAGES[@]}" "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$SHM"
	[ -n "${KEEP:-}" ] && echo "bench: kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- the fakes and Redis --------------------------------------------------

# fake NAME ROLE ARGS...: start a fake, set NAME_url and NAME_pid
fake() {
	local name=$1 role=$2 i
	shift 2
	rm -f "$W/$name.port"
	python3 "$FAKE" --role "$role" --port 0 --port-file "$W/$name.port" --quiet "$@" \
		2>>"$W/$name.err" &
	eval "${name}_pid=$!"
	PIDS+=($!)
	for i in $(seq 600); do [ -s "$W/$name.port" ] && break; sleep 0.05; done
	[ -s "$W/$name.port" ] || { echo "bench: fake $name did not start" >&2; cat "$W/$name.err" >&2; exit 111; }
	eval "${name}_url=http://127.0.0.1:$(cat "$W/$name.port")"
}

# lean NAME: start the lean Discord sink ($SINK), set NAME_url and NAME_pid
lean() {
	local i
	rm -f "$W/$1.port"
	"$SINK" -f "$W/$1.port" 2>>"$W/$1.err" &
	eval "${1}_pid=$!"
	PIDS+=($!)
	for i in $(seq 200); do [ -s "$W/$1.port" ] && break; sleep 0.05; done
	[ -s "$W/$1.port" ] || { echo "bench: $SINK did not start" >&2; exit 111; }
	eval "${1}_url=http://127.0.0.1:$(cat "$W/$1.port")"
}

# unfake NAME: stop a fake started by fake (its memory goes with it)
unfake() {
	local p
	eval "p=\${${1}_pid:-0}"
	[ "$p" -gt 0 ] || return 0	# never kill 0: that is the whole group
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	PIDS=($(for q in "${PIDS[@]}"; do [ "$q" != "$p" ] && echo "$q"; done))
}

ctl() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$1/_ctl" >/dev/null; }
stats() { curl -sf "$1/_stats"; }
cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rcmds() { redis-cli -s "$W/redis.sock" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'; }

start_redis() {
	redis-server --port 0 --unixsocket "$W/redis.sock" --save '' --appendonly no \
		--dir "$W" --logfile "$W/redis.log" &
	redis_pid=$!
	PIDS+=($!)
	for i in $(seq 200); do redis-cli -s "$W/redis.sock" ping >/dev/null 2>&1 && return; sleep 0.05; done
	echo "bench: redis-server did not start" >&2
	exit 111
}

# ---- the data ---------------------------------------------------------------

# The day's killmails (or synthetic ones), their mail lines, the stream sets.
prepare() {
	local d=$W/data
	mkdir -p "$d"
	if [ -s "$DATA/killmails.ndjson" ]; then
		KIND="the real day 2021-11-29 of ../shared/data"
		UNIVERSE=$(cd "$DATA" && pwd)
		grep '"killmail_time": *"2021-11-29' "$UNIVERSE/killmails.ndjson" |
			awk -v k="$SAMPLE" 'NR % k == 0' >"$d/day.ndjson"
	else
		# Its universe has ten alliances: streams match ten times as often
		# as on the real day, so fewer mails make a run of similar length.
		KIND="synthetic fixtures (no ../shared/data; not comparable with the real day)"
		UNIVERSE=$d/fx
		python3 "$ROOT/tests/gen/fixtures.py" --out "$UNIVERSE" --mails $((400 / SAMPLE)) >/dev/null || exit 111
		cp "$UNIVERSE/killmails.ndjson" "$d/day.ndjson"
	fi
	[ "$SAMPLE" -gt 1 ] && KIND="$KIND, 1 mail in $SAMPLE"
	MAILS=$(wc -l <"$d/day.ndjson")
	DAY=$d/day.ndjson
	# An even sample for the steady-rate runs: LAT_MAILS mails across the day.
	awk -v n="$MAILS" -v k="$LAT_MAILS" 'NR % int(n / k > 1 ? n / k : 1) == 0' "$DAY" |
		head -n "$LAT_MAILS" >"$d/slice.ndjson"
	python3 "$ROOT/tests/gen/mails.py" --killmails "$DAY" "$UNIVERSE" >"$d/mails.ndjson" || exit 111
	for n in 100 1000 10000; do
		python3 "$ROOT/bench/streams/gen.py" --mails "$d/mails.ndjson" --count "$n" \
			--out "$d/s$n" --seed 1 || exit 111
	done
	# the mix of bench/streams/mix.py (entity keys beside flags and values)
	mkdir -p "$d/mix"
	python3 "$ROOT/bench/streams/mix.py" --mails "$d/mails.ndjson" --count 1000 \
		--out "$d/mix/s1000" --seed 1 || exit 111
	python3 "$ROOT/bench/streams/tojq.py" "$d/s100" >"$d/match100.jq" || exit 111
}

# ---- one run of the pipeline ------------------------------------------------

# stage NAME IN OUT COMMAND...: start one stage between two FIFOs (or files)
stage() {
	local name=$1 in=$2 out=$3
	shift 3
	timeout -k 5 "$TMO" ${TIME[@]+"${TIME[@]}" "$R/$name.time"} "$@" \
		<"$in" >"$out" 2>"$R/$name.err" &
	STAGES+=($!)
}

# leaf PID: the process at the bottom of timeout -> time -> the tool
leaf() {
	local p=$1 c
	while c=$(cat "/proc/$p/task/$p/children" 2>/dev/null) && [ -n "$c" ]; do
		p=${c%% *}
	done
	echo "$p"
}

# pipe KIND LABEL STREAMS: one run; KIND is full (the seven stages), nopost
# (up to filter2, into a file), cat (redisq-pull, then cat in every FIFO),
# pipefloor (the packages through cat only), posters (the recorded pairs
# into the posters), or jq (jq in place of stream-fanout | filter1).
# Settings: ZKB (the R2Z2 fake), FROM, RATE, STATE (parent directory),
# LEVEL (LOG_LEVEL of the stages), META (key=value words for the record).
pipe() {
	local kind=$1 label=$2 set=$3 f st t0 t1 r0 r1 c0 c1
	R=$W/run/$label
	mkdir -p "$R/fifo"
	st=$(mktemp -d "$STATE/state.XXXXXX")
	for f in 1 2 3 4 5 6; do mkfifo "$R/fifo/$f"; done
	if [ "$kind" != cat ] && [ "$kind" != pipefloor ] && [ "$kind" != nopost ]; then
		unfake d
		if [ -n "${SINK:-}" ] && [ "${LEAN:-1}" = 1 ]; then
			lean d
		else
			fake d discord --bucket-limit 1000000 --bucket-window 1
		fi
		for f in $(seq 0 96); do export "FEED_$f=$d_url/api/webhooks/$((1000 + f))/tok$f"; done
	fi
	ctl "$ZKB" '{"clear_log":true}'
	ctl "$e_url" '{"clear_log":true}'
	export STATE_DIR=$st LOG_LEVEL=$LEVEL R2Z2_URL=$ZKB R2Z2_RATE=$RATE
	r0=$(rcmds)
	c0="$(cpu "$zkb_pid") $(cpu "$zl_pid") $(cpu "$e_pid") $(cpu "${d_pid:-0}") $(cpu "$redis_pid")"
	STAGES=()
	t0=$(now)
	case $kind in
	pipefloor)
		stage c0 "$W/packages" "$R/fifo/1" cat
		for f in 1 2 3 4 5; do stage c$f "$R/fifo/$f" "$R/fifo/$((f + 1))" cat; done
		stage c6 "$R/fifo/6" /dev/null cat ;;
	posters)
		stage pd "$W/pairs" "$R/fifo/5" "$BIN/post-discord" --bundle
		stage ps "$R/fifo/5" /dev/null "$BIN/post-slack" ${MARKS:+-C} ;;
	*)
		stage pull /dev/null "$R/fifo/1" "$BIN/redisq-pull" ${MARKS:+--marks} --once --from "$FROM" ;;
	esac
	case $kind in
	cat)
		for f in 1 2 3 4 5; do stage c$f "$R/fifo/$f" "$R/fifo/$((f + 1))" cat; done
		stage c6 "$R/fifo/6" "$W/packages" cat ;;
	full | nopost | jq)
		stage esi "$R/fifo/1" "$R/fifo/2" "$BIN/esi-resolve"
		if [ "$kind" = jq ]; then
			stage jq "$R/fifo/2" "$R/fifo/4" jq -c -f "$W/data/match100.jq"
		else
			stage fan "$R/fifo/2" "$R/fifo/3" "$BIN/stream-fanout" --bundle -d "$set"
			stage f1 "$R/fifo/3" "$R/fifo/4" "$BIN/filter1" --bundle
		fi
		if [ "$kind" = nopost ]; then
			stage f2 "$R/fifo/4" "${PAIRS:-$W/pairs}" "$BIN/filter2" --bundle
		else
			stage f2 "$R/fifo/4" "$R/fifo/5" "$BIN/filter2" --bundle
			stage pd "$R/fifo/5" "$R/fifo/6" "$BIN/post-discord" --bundle
			stage ps "$R/fifo/6" /dev/null "$BIN/post-slack" ${MARKS:+-C}
		fi ;;
	esac
	[ -n "${DURING:-}" ] && "$DURING"
	wait "${STAGES[@]}"
	t1=$(now)
	STAGES=()
	r1=$(rcmds)
	c1="$(cpu "$zkb_pid") $(cpu "$zl_pid") $(cpu "$e_pid") $(cpu "${d_pid:-0}") $(cpu "$redis_pid")"
	stats "$ZKB" >"$R/zkb.stats"
	stats "$e_url" >"$R/esi.stats"
	[ -n "${d_url:-}" ] && stats "$d_url" >"$R/dis.stats"
	[ -n "${AFTER:-}" ] && "$AFTER"
	python3 "$PY/collect.py" "$R" kind="$kind" label="$label" streams="${set##*/s}" \
		t0="$t0" t1="$t1" redis0="$r0" redis1="$r1" cpu0="$c0" cpu1="$c1" \
		state="$STATE_KIND" $META >>"$OUT/runs.jsonl" || say "collect failed for $label"
	rm -rf "$st" "$R/fifo"
}

# The throughput settings: the whole day from the R2Z2 fake, no rate cap.
day() { ZKB=$zkb_url FROM=90000001 RATE=0 LEVEL=info; }
tmpfs() { STATE=$SHM STATE_KIND=tmpfs; }
disk() { STATE=$W STATE_KIND=disk; }

# ---- the measurements ---------------------------------------------------------

floors() {
	local i
	day; tmpfs
	for i in $(seq "$RUNS"); do
		say "floor: redisq-pull then cat in every FIFO ($i/$RUNS)"
		META="group=floor mails=$MAILS run=$i" pipe cat "catfloor.$i" none
	done
	for i in $(seq "$RUNS"); do
		say "floor: the packages through cat only ($i/$RUNS)"
		META="group=floor mails=$MAILS run=$i" pipe pipefloor "pipefloor.$i" none
	done
}

throughput() {	# throughput STREAMS RUNS STATE [mix]
	local n=$1 runs=$2 i g=day${4:-} set=$W/data/${4:+$4/}s$1
	day; $3
	[ "$3" = disk ] || [ -n "${4:-}" ] && warm "$n"
	for i in $(seq "$runs"); do
		if [ "$3" = tmpfs ] && [ -z "${4:-}" ]; then
			redis-cli -s "$W/redis.sock" flushall >/dev/null
			say "day, $n streams, cold ($i/$runs)"
			META="group=day cache=cold mails=$MAILS run=$i" pipe full "day$n-cold.$i" "$set"
		fi
		say "day, $n ${4:+$4 }streams, warm, state on $STATE_KIND ($i/$runs)"
		META="group=$g cache=warm mails=$MAILS run=$i" pipe full "$g$n-warm-$STATE_KIND.$i" "$set"
	done
}

# The matching without posting, then the posters alone on what it wrote.
split_runs() {
	local i
	day; tmpfs
	for i in $(seq "$RUNS_LONG"); do
		warm 1000
		say "day, 1000 streams, no posters ($i/$RUNS_LONG)"
		META="group=split cache=warm mails=$MAILS run=$i" pipe nopost "nopost.$i" "$W/data/s1000"
		say "posters alone on those pairs ($i/$RUNS_LONG)"
		META="group=split mails=$MAILS run=$i" pipe posters "posters.$i" none
	done
	rm -f "$W/pairs"
}

# warm STREAMS: when Redis is empty (PARTS left out the cold runs), one
# unmeasured day, so that "warm" means warm
warm() {
	[ "$(redis-cli -s "$W/redis.sock" dbsize)" -gt 0 ] && return
	say "warming the cache: the day once, $1 streams"
	PAIRS=/dev/null META="group=prime mails=$MAILS" pipe nopost "warm$1" "$W/data/s$1"
}

baseline() {
	local i
	day; tmpfs
	warm 100
	for i in $(seq "$RUNS"); do
		say "baseline: jq matching 100 streams ($i/$RUNS)"
		META="group=baseline cache=warm mails=$MAILS run=$i" pipe jq "jq100.$i" "$W/data/s100"
		say "the pipeline on the same 100 streams ($i/$RUNS)"
		META="group=baseline cache=warm mails=$MAILS run=$i" pipe full "ours100.$i" "$W/data/s100"
	done
}

# Steady 20 mails/s from the slice fake, debug traces on, state on disk.
lat_after() {
	curl -sf "$zl_url/_log" >"$R/zkb.log"
	curl -sf "$d_url/_posts" >"$R/posts.ndjson"
	python3 "$PY/latency.py" latency "$R" "$W/data/slice.ndjson" 80000001 "$W/data/s1000" \
		>"$R/latency.json" || say "latency analysis failed"
}
# prime STREAMS: the slice once through the matching, so that Redis holds
# what the walks of this set need whichever parts ran before
prime() {
	ZKB=$zl_url FROM=80000001 RATE=0 LEVEL=info; tmpfs
	PAIRS=/dev/null META="group=prime mails=$LAT_MAILS" pipe nopost "prime$1" "$W/data/s$1"
}
latency() {	# latency STATE RUNS
	local i
	say "latency: priming the cache"
	prime 1000
	ZKB=$zl_url FROM=80000001 RATE=20 LEVEL=debug; $1
	LEAN=0	# the posts are read back
	for i in $(seq "$2"); do
		say "latency: $LAT_MAILS mails at 20/s, 1000 streams, warm, state on $1 ($i/$2)"
		AFTER=lat_after META="group=latency cache=warm mails=$LAT_MAILS run=$i" \
			pipe full "latency-$1.$i" "$W/data/s1000"
	done
}

# SIGHUP to stream-fanout every 2 s while mails flow at 20/s.
hups() {
	local fan k
	sleep 2
	fan=$(leaf "${STAGES[2]}")
	for k in $(seq "$RELOADS"); do
		[ "$(cat "/proc/$fan/comm" 2>/dev/null)" = stream-fanout ] || break
		now >>"$R/hup.sent"
		kill -HUP "$fan"
		sleep 2
	done
}
rel_after() {
	python3 "$PY/latency.py" reload "$R" >"$R/latency.json" || say "reload analysis failed"
}
reload() {
	local n i
	for n in 1000 10000; do
		prime "$n"
		ZKB=$zl_url FROM=80000001 RATE=20 LEVEL=debug; tmpfs
		LEAN=0
		say "reload: $RELOADS SIGHUPs at 20 mails/s, $n streams"
		DURING=hups AFTER=rel_after META="group=reload cache=warm mails=$LAT_MAILS run=1" \
			pipe full "reload$n" "$W/data/s$n"
		for i in $(seq "$RUNS"); do
			t0=$(now)
			"$BIN/stream-fanout" --check "$W/data/s$n" >/dev/null 2>&1
			awk -v n="$n" -v i="$i" -v a="$t0" -v b="$(now)" 'BEGIN {
				printf "{\"group\":\"check\",\"streams\":%d,\"run\":%d,\"wall\":%.4f}\n", n, i, b - a }' \
				>>"$OUT/runs.jsonl"
		done
	done
}

# What RSS counts in every stage before any work: the shared libraries
# (libcurl, OpenSSL, libjq, jansson, hiredis...), mapped by all seven.
idle() {
	local p rss sh
	mkfifo "$W/idle.in"
	"$BIN/post-slack" -q -d "$SHM/idle" <"$W/idle.in" >/dev/null 2>&1 &
	p=$!
	exec 3>"$W/idle.in"
	sleep 0.5
	# clean pages are the libraries' code and data as mapped from disk
	rss=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
	sh=$(awk '/^(Shared|Private)_Clean:/ { n += $2 } END { print n }' "/proc/$p/smaps_rollup" 2>/dev/null)
	exec 3>&-
	wait "$p"
	[ -n "$rss" ] && [ -n "$sh" ] && awk -v r="$rss" -v s="$sh" 'BEGIN {
		printf "idle stage=post-slack waiting on its input: RSS %.1f MiB, of which %.1f MiB clean library pages (shareable)\n", r / 1024, s / 1024 }'
}

# What the metrics files cost.  Their cost is too small to show as a
# difference between two days (the runs differ by more), so it is measured
# in two parts: the warm day, 1,000 streams, as deployed (a file every 5 s;
# each file counts its writes), gives the files written and the seven
# stages' CPU; metrics-cost (bench/metrics.c) gives the CPU of one write of
# a file as large as post-discord's with 97 webhooks, the largest.
cpu_writes() {	# the seven stages' CPU seconds and the metrics files written
	local w
	w=$(cat "$R/metrics.writes" 2>/dev/null || echo 0)
	for t in "$R"/*.time; do tail -1 "$t"; done |
		awk -v w="$w" 'NF >= 4 { n += $2 + $3 } END { printf "%.3f %d\n", n, w }'
}
metrics_after() {
	cat "$st"/metrics/*.prom 2>/dev/null |
		awk '$1 ~ /^insight_metrics_writes_total/ { n += $2 } END { print n + 0 }' >"$R/metrics.writes"
}
metrics_cost() {
	local i d=$SHM/metrics-cost
	[ -x "${METRICS_COST:-}" ] || { say "metrics: no METRICS_COST (make bench builds it)"; return; }
	day; tmpfs
	warm 1000
	: >"$OUT/metrics.tsv"
	for i in $(seq "$RUNS"); do
		say "metrics as deployed: the day, 1000 streams, warm ($i/$RUNS)"
		AFTER=metrics_after META="group=metrics cache=warm mails=$MAILS run=$i" \
			pipe full "metrics.$i" "$W/data/s1000"
		mkdir -p "$d"
		echo "$(cpu_writes) $(METRICS_DIR=$d "$METRICS_COST" 20000 97) $(wall_of)" >>"$OUT/metrics.tsv"
		rm -rf "$d"
	done
	python3 "$PY/cost.py" metrics "$OUT/metrics.tsv" | tee "$OUT/metrics.txt"
}

# What the commit marks cost: the warm day (1,000 streams) and the latency
# at 20 mails/s, with marks (as deployed) and without, runs interleaved.
marks_cost() {
	local i m
	: >"$OUT/marks.tsv"
	say "marks: priming the cache"
	prime 1000
	for i in $(seq "$RUNS"); do
		for m in 1 ''; do
			day; tmpfs
			warm 1000
			say "day, 1000 streams, warm, marks ${m:-off} ($i/$RUNS)"
			MARKS=$m META="group=marks marks=${m:-0} cache=warm mails=$MAILS run=$i" \
				pipe full "marks${m:-0}.$i" "$W/data/s1000"
			echo "day ${m:-0} $i $(wall_of) $(cpu_writes)" >>"$OUT/marks.tsv"
			ZKB=$zl_url FROM=80000001 RATE=20 LEVEL=debug; disk
			say "latency: $LAT_MAILS mails at 20/s, marks ${m:-off} ($i/$RUNS)"
			LEAN=0 MARKS=$m AFTER=lat_after \
				META="group=marks-latency marks=${m:-0} cache=warm mails=$LAT_MAILS run=$i" \
				pipe full "marks-lat${m:-0}.$i" "$W/data/s1000"
			echo "latency ${m:-0} $i $(p99_of) $(cpu_writes)" >>"$OUT/marks.tsv"
		done
	done
	python3 "$PY/cost.py" marks "$OUT/marks.tsv" | tee "$OUT/marks.txt"
}
wall_of() { tail -1 "$OUT/runs.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["wall"])'; }
p99_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99"])' "$R/latency.json" 2>/dev/null || echo nan
}

# ---- main ------------------------------------------------------------------------

T0=$(now)
say "bench: tools $BIN; work $W; results $OUT"
prepare
say "data: $MAILS mails, $KIND"
start_redis
fake zkb zkb --data "$DAY"
fake zl zkb --data "$W/data/slice.ndjson" --seq-start 80000001
fake e esi --data "$UNIVERSE"
d_pid=0 d_url=
export ESI_URL=$e_url REDIS_URL=unix://$W/redis.sock
export USER_AGENT="insight-bench/1 (bench@example.invalid)"
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine=$(nproc) cores, $(uname -m), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "load at start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "data=$MAILS mails, $KIND"
	echo "runs=$RUNS (long runs: $RUNS_LONG)${QUICK:+, QUICK}"
	echo "command=make bench${QUICK:+ QUICK=1}${FULL:+ FULL=1}$([ -n "$MARKS" ] || echo ' MARKS=')"
	echo "discord=${SINK:+the lean sink $SINK for day, split and baseline; }the Python fake${SINK:+ for latency and reload}"
	idle
} >"$OUT/meta"

for p in ${PARTS:-fanout floors day1k daymix split baseline day10k disk latency latency-tmpfs reload metrics marks batch}; do
	LEAN=1
	case $p in
	fanout) SETS=${SETS:-${QUICK:+1000}} DATA=$DATA "$ROOT/bench/streams.sh" "$BIN" |
			tee "$OUT/fanout.txt" ;;
	floors) floors ;;
	day1k) throughput 1000 "$RUNS" tmpfs ;;
	daymix) throughput 1000 "$RUNS" tmpfs mix ;;
	split) split_runs ;;
	baseline) baseline ;;
	day10k) throughput 10000 "$RUNS_LONG" tmpfs ;;
	disk) throughput 1000 "$RUNS_LONG" disk ;;
	latency) latency disk "$RUNS" ;;
	latency-tmpfs) latency tmpfs "$RUNS_LONG" ;;
	reload) reload ;;
	metrics) metrics_cost ;;
	marks) marks_cost ;;
	batch) say "batching: one Discord webhook at 5 requests per 2 s (bench/post.sh)"
		BIN=$BIN PARTS=batch "$ROOT/bench/post.sh" | tee "$OUT/batch.txt" ;;
	*) say "unknown part $p" ;;
	esac
done
{
	echo "load at end=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "elapsed=$(printf '%.0f' "$(echo "$(now) - $T0" | bc)") s"
} >>"$OUT/meta"
python3 "$PY/report.py" "$OUT"
