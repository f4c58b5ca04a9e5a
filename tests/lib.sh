# tests/lib.sh: shared by every TAP test script (source it first).
#
#   . "$(dirname "$0")/../lib.sh"
#
# Gives: $ROOT (the repository), $BIN (the tools under test; `make check`
# sets it to the sanitizer build), $T (a private temporary directory removed
# at exit), TAP helpers, and starters for the fakes and redis-server that
# stop everything they started when the script exits.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/build/bin}
PATH=$BIN:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/insight-test.XXXXXX")
_n=0 _fail=0 _pids=
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

_cleanup() {
	for p in $_pids; do kill "$p" 2>/dev/null; done
	for p in $_pids; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

ok() {	# ok CONDITION-STATUS DESCRIPTION  (use: cmd; ok $? "desc")
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"
	else echo "not ok $_n - $2"; _fail=$((_fail + 1)); fi
}
is() {	# is GOT WANT DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"; _fail=$((_fail + 1))
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}
diag() { printf '# %s\n' "$*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$_n"; [ "$_fail" -eq 0 ]; }

# wait_until SECONDS COMMAND...: poll COMMAND every 50 ms; 1 on time-out.
# The limit is a deadline on the clock, not a count of polls: a COMMAND
# that takes long on a loaded machine does not stretch it.
wait_until() {
	_end=$((EPOCHSECONDS + $1)); shift
	while ! "$@" 2>/dev/null; do
		[ "$EPOCHSECONDS" -lt "$_end" ] || return 1
		sleep 0.05
	done
}

# bg COMMAND...: run in the background, killed at exit; pid in $!
bg() { "$@" & _pids="$_pids $!"; }

# fixtures DIR [ARGS]: synthetic universe and killmails (tests/gen/fixtures.py)
fixtures() { _d=$1; shift; python3 "$ROOT/tests/gen/fixtures.py" --out "$_d" "$@"; }

# start_fake NAME ROLE [ARGS]: sets NAME_port, NAME_url, NAME_pid; log in $T/NAME.log
start_fake() {
	_name=$1 _role=$2; shift 2
	rm -f "$T/$_name.port"
	python3 "$ROOT/tests/fake/fake.py" --role "$_role" --port 0 \
		--port-file "$T/$_name.port" --log "$T/$_name.log" "$@" \
		2>>"$T/$_name.err" &
	_pids="$_pids $!"
	eval "${_name}_pid=$!"
	wait_until 20 test -s "$T/$_name.port" || { echo "# fake $_name did not start"; cat "$T/$_name.err" >&2; return 1; }
	eval "${_name}_port=$(cat "$T/$_name.port")"
	eval "${_name}_url=http://127.0.0.1:\$${_name}_port"
}

# fake_ctl URL JSON: change a fake's behaviour (POST /_ctl)
fake_ctl() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$1/_ctl" >/dev/null; }

# start_redis NAME: a private redis-server on a unix socket; sets NAME_url, NAME_pid
start_redis() {
	_name=$1 _sock=$T/$1.sock
	redis-server --port 0 --unixsocket "$_sock" --save '' --appendonly no \
		--dir "$T" --logfile "$T/$_name.redis.log" &
	_pids="$_pids $!"
	eval "${_name}_pid=$!"
	eval "${_name}_url=unix://$_sock"
	wait_until 10 redis-cli -s "$_sock" ping >/dev/null
}

# real_data: the directory of ../shared/data (REAL_DATA= elsewhere), or
# skip the whole script
# The manual pages of the tree (not its builds or debian/) that are not
# in MANDIR/manN/ as NAME.N+SUFFIX: an install check, e.g.
# missing_manpages "$D/usr/share/man" "" (or ".gz" for dpkg's)
missing_manpages() {
	for _m in $(cd "$ROOT" && find . -path ./.git -prune -o -path './build*' -prune -o \
		-path ./debian -prune -o -name '*.[1-8]' -type f -print); do
		_f=${_m##*/}
		[ -f "$1/man${_f##*.}/$_f$2" ] || printf ' %s' "$_f"
	done
}

real_data() {
	REAL_DATA=$(cd "${REAL_DATA:-$ROOT/../shared/data}" 2>/dev/null && pwd) ||
		skip_all "no ../shared/data beside the repository"
	[ -s "$REAL_DATA/killmails.ndjson" ] || skip_all "no ../shared/data/killmails.ndjson"
}

# The posters' tests.  poster_test POSTER: skip the script without jq or
# POSTER in BIN; PAIR is then a rendered pair to copy.
poster_test() {
	command -v jq >/dev/null || skip_all "no jq"
	command -v "$1" >/dev/null || skip_all "no $1 in BIN"
	PAIR=$ROOT/tests/data/render/basic.pair.json
}
# post_pairs FROM TO TARGETS [STREAM]: PAIR for killmails FROM..TO, with no
# zKillboard link, to TARGETS (a JSON array), stream id STREAM (horde-kb)
post_pairs() {
	jq -c --argjson a "$1" --argjson b "$2" --argjson t "$3" --arg s "${4:-horde-kb}" \
		'range($a; $b + 1) as $i | .mail.killmail_id = $i | .mail.url = null
		 | .stream.targets = $t | .stream.id = $s' "$PAIR"
}
# discord_kills URL WEBHOOK: the killmail ids the fake Discord at URL took
# for that webhook, one a line, in order: its embeds' links, or a message's
# content when it has no embed
discord_kills() {
	curl -s "$1/_posts" | jq -r --arg w "$2" 'select(.webhook == $w)
		| if (.body.embeds | length) > 0 then .body.embeds[].url else .body.content end' |
		grep -o '[0-9]*/$' | tr -d /
}
# post_receipts TARGET STATUS FILE [REASON]: how many receipts in FILE are
# of that target and status (and mention REASON)
post_receipts() {
	grep "\"receipt\":{\"target\":\"$1\"" "$3" | grep "\"status\":\"$2\"" | grep -c -- "${4:-.}"
}
# unbundle [FILE...]: each bundle (json/pair.h) as its pair lines, the
# other lines as they are, all in jq's compact form
unbundle() {
	jq -c 'if (.streams | type) == "array" and (.mail | type) == "object"
		then range(.streams | length) as $i
			| {stream: .streams[$i], mail} + (if .matches[$i] then {match: .matches[$i]} else {} end)
		else . end' "$@"
}
# spool_pending SPOOL: posts waiting in a spool (segment lines not marked done)
spool_pending() {
	cat "$1"/*.ndjson "$1"/*.json 2>/dev/null |
		awk '/^\{"done":/ { d++; next } /^\{/ { p++ } END { print p - d }'
}
# kill_in_wait URL HOOK PID: the fake Discord at URL answers webhook HOOK's
# next request with a 429 (retry after 3 s); once it has, kill -9 PID: a
# poster killed while it waits, with no post in flight
kill_in_wait() {
	fake_ctl "$1" "{\"faults\":[{\"match\":\"/webhooks/$2/\",\"status\":429,\"retry_after\":3,\"times\":1}]}"
	wait_until 20 sh -c "curl -s $1/_stats | jq -e '.status[\"429\"] == 1' >/dev/null"
	kill -9 "$3"; wait "$3" 2>/dev/null
}
