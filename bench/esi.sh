#!/bin/bash
# bench/esi.sh: esi-resolve over the real killmails of ../shared/data,
# through the fake ESI, with a private redis-server.  Prints ESI requests per
# mail with a cold and a warm cache, mails per second with a warm cache, and
# peak RSS.  Figures only: nothing here passes or fails.
#
#   bench/esi.sh [esi-resolve options, e.g. -T]
#
# BIN: where esi-resolve is (default build/bin); DATA: the data set
# (default ../shared/data); N: only the first N killmails.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
DATA=${DATA:-$ROOT/../shared/data}
T=$(mktemp -d "${TMPDIR:-/tmp}/esi-bench.XXXXXX")
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
[ -x "$BIN/esi-resolve" ] || { echo "no $BIN/esi-resolve: make first" >&2; exit 100; }
[ -s "$DATA/killmails.ndjson" ] || { echo "no $DATA/killmails.ndjson" >&2; exit 100; }

if [ -n "${N:-}" ]; then head -n "$N" "$DATA/killmails.ndjson"; else cat "$DATA/killmails.ndjson"; fi >"$T/in"
mails=$(wc -l <"$T/in")

python3 "$ROOT/tests/fake/fake.py" --role esi --data "$DATA" --port 0 \
	--port-file "$T/esi.port" --quiet 2>"$T/fake.err" &
pids="$pids $!"
redis-server --port 0 --unixsocket "$T/r.sock" --save '' --appendonly no \
	--dir "$T" --logfile "$T/redis.log" &
pids="$pids $!"
for _ in $(seq 200); do [ -s "$T/esi.port" ] && [ -S "$T/r.sock" ] && break; sleep 0.1; done
export ESI_URL=http://127.0.0.1:$(cat "$T/esi.port") STATE_DIR=$T/state
export USER_AGENT="insight-bench/1 (bench@example.invalid)"
requests() { curl -sf "$ESI_URL/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

# run LABEL ENV...: one esi-resolve over the input; prints a figure line
run() {
	label=$1; shift
	r0=$(requests)
	s0=$(date +%s.%N)
	env "$@" /usr/bin/time -f '%M' -o "$T/rss" "$BIN/esi-resolve" "${OPTS[@]}" \
		<"$T/in" >"$T/out" 2>"$T/err"
	s1=$(date +%s.%N)
	r1=$(requests)
	out=$(wc -l <"$T/out")
	secs=$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')
	awk -v l="$label" -v m="$mails" -v o="$out" -v r="$((r1 - r0))" -v t0="$s0" -v t1="$s1" \
		-v rss="$(cat "$T/rss")" 'BEGIN {
		printf "%-34s mails=%d out=%d esi_requests=%d per_mail=%.3f seconds=%.2f mails_per_s=%.0f peak_rss_mb=%.1f\n",
		    l, m, o, r, r / m, t1 - t0, m / (t1 - t0), rss / 1024 }'
	grep -E 'warning' "$T/err" | sort | uniq -c | sed 's/^/    /' | head -5
}
OPTS=("$@")
echo "esi-resolve ${OPTS[*]:-} over $mails killmails, fake ESI, redis-server on a unix socket"
run "cold (empty Redis, empty LRU)" REDIS_URL=unix://$T/r.sock
run "warm Redis (another process)" REDIS_URL=unix://$T/r.sock
run "cold, no Redis" REDIS_URL=
cold=$secs
# warm LRU: one process reads the file twice; the second pass finds
# everything in its own LRU.  Its cost is the run minus a cold run.
cp "$T/in" "$T/once"; cat "$T/once" "$T/once" >"$T/in"; mails=$((mails * 2))
run "cold + warm LRU (file twice)" REDIS_URL=
awk -v m="$((mails / 2))" -v a="$cold" -v b="$secs" 'BEGIN {
	printf "%-34s mails=%d seconds=%.2f mails_per_s=%.0f (the second pass alone)\n",
	    "warm LRU (derived)", m, b - a, m / (b - a) }'
