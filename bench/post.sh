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
# 2. Latency, nothing throttling: pairs written one at a time (every 10 ms)
#    over HOOKS webhooks; latency = the fake's arrival time minus the time the
#    line was written to the poster's stdin; p50 and p99.
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

start_fake d discord --bucket-limit 5 --bucket-window 2
start_fake s slack --burst 3 --interval 1
throughput discord discord "$d_url/api/webhooks/" "$d_url"
throughput slack slack "$s_url/services/T0/" "$s_url"

# Latency: a writer that stamps each line, an unthrottled fake.
start_fake dl discord --bucket-limit 1000000 --bucket-window 1
N=$((POSTS < 500 ? POSTS : 500))
pairs discord "$dl_url/api/webhooks/" "$N" >"$T/lat.in"
python3 - "$T/lat.in" "$T/lat.sent" <<'EOF' | post-discord -d "$T/lat" >/dev/null 2>"$T/lat.err"
import sys, time, json
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    k = json.loads(line)["mail"]["killmail_id"]
    sys.stdout.write(line)
    sys.stdout.flush()
    out.write("%d %.6f\n" % (k, time.time()))
    time.sleep(0.01)
EOF
curl -s "$dl_url/_posts" | jq -r '"\(.body.embeds[0].url | capture("kill/(?<k>[0-9]+)/").k) \(.t)"' >"$T/lat.got"
python3 - "$T/lat.sent" "$T/lat.got" <<'EOF'
import sys
sent = dict(l.split() for l in open(sys.argv[1]))
lat = sorted((float(t) - float(sent[k])) * 1000 for k, t in (l.split() for l in open(sys.argv[2])))
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("latency (read to fake, unthrottled, %d posts): p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (len(lat), p(0.50), p(0.99), lat[-1]))
EOF
