#!/bin/bash
# jq tests and stream files cannot hurt the stages.  include/import (which
# abort libjq 1.6) refused at check, in filter1 and on a reload of a
# running stream-fanout; programs that never end or grow: one warning, the
# test does not hold, the next pairs go on, SIGTERM works, --check refuses
# them; the environment, stderr and jq's input refused where they are
# called, and allowed where they are only data; jq error messages as one
# log line; a FIFO named x.json skipped with a warning by --check, insight
# check, a starting and a reloading stream-fanout.
. "$(dirname "$0")/../lib.sh"
trap '' PIPE	# a stage that dies fails its tests; it does not end the script

export JQ_TIME_MS=200 JQ_MEMORY_MB=256
solo=$(jq -c 'select(.name == "solo") | .mail' "$ROOT/tests/data/match/mails.ndjson")
# jqfile FILE PROGRAM: a stream whose match is that jq program
jqfile() { jq -n --arg q "$2" '{match: {jq: $q}, targets: [{stdout: true}]}' >"$1"; }
# whenfile FILE PROGRAM: a stream whose mention rule's "when" is that program
whenfile() { jq -n --arg q "$2" '{mentions: [{when: {jq: $q}, content: "hi"}], targets: [{stdout: true}]}' >"$1"; }
# pair ID PROGRAM: a pair of the solo mail and a stream matching by PROGRAM
pair() { jq -cn --arg id "$1" --arg q "$2" --argjson m "$solo" \
	'{stream: {id: $id, match: {jq: $q}, targets: [{stdout: true}]}, mail: $m}'; }
GOOD='.mail.killmail_id == 1001'
ids() { jq -r .stream.id "$1" | tr '\n' ' '; }
insight() { "$ROOT/bin/insight" "$@"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
mkdir -p "$T/c"

# --- 1. include and import: refused before jq compiles them ------------
for kw in include import; do
	[ $kw = include ] && prog='include "x"; true' || prog='import "x" as x; true'
	jqfile "$T/c/$kw.json" "$prog"
	out=$(timeout 60 stream-fanout --check "$T/c/$kw.json" 2>"$T/err")
	is "$?" 100 "$kw in match.jq: --check exits 100"
	is "$out" "$T/c/$kw.json: \$.match.jq: jq: \"$kw\" is not allowed: it loads a jq module from a file" \
		"$kw in match.jq: one error with the JSON path"
	whenfile "$T/c/$kw-when.json" "$prog"
	out=$(timeout 60 stream-fanout --check "$T/c/$kw-when.json" 2>/dev/null)
	is "$?" 100 "$kw in mentions[].when.jq: --check exits 100"
	echo "$out" | grep -q "^$T/c/$kw-when.json: \$.mentions\[0\].when.jq: jq: \"$kw\" is not allowed"
	ok $? "$kw in mentions[].when.jq: the error names the path ($out)"
	{ pair "$kw" "$prog"; pair good "$GOOD"; } | timeout 60 filter1 >"$T/out" 2>"$T/err"
	is "$?" 0 "$kw: filter1 goes on (exit 0)"
	is "$(ids "$T/out")" "good " "$kw: filter1 drops that pair and keeps the next"
	grep -q "stream $kw (line 1): \$.match.jq: jq: \"$kw\" is not allowed" "$T/err"
	ok $? "$kw: filter1 says why"
done
timeout 60 "$ROOT/bin/insight" check "$T/c" >"$T/out" 2>&1
is "$?" 100 "insight check: exit 100 for a stream with include"
grep -q 'include.json: $.match.jq: jq: "include" is not allowed' "$T/out"
ok $? "insight check: the error is shown"

# A running stream-fanout: a reload to a file with import keeps the old version.
mkdir -p "$T/s1"
jq -n '{name: "v1", targets: [{stdout: true}]}' >"$T/s1/x.json"
mkfifo "$T/in1"
stream-fanout -d "$T/s1" <"$T/in1" >"$T/out1" 2>"$T/err1" &
fan=$! _pids="$_pids $!"
exec 3>"$T/in1"
printf '%s\n' "$solo" >&3
wait_until 20 test -s "$T/out1"
jq -n '{name: "v2", match: {jq: "import \"x\" as x; true"}, targets: [{stdout: true}]}' >"$T/s1/x.json"
kill -HUP $fan
wait_until 20 grep -q 'reloaded' "$T/err1"
printf '%s\n' "$solo" >&3
wait_until 20 eval '[ "$(wc -l <"$T/out1")" -ge 2 ]'
kill -0 $fan 2>/dev/null
ok $? "stream-fanout survives a reload to a stream with import"
is "$(jq -r .stream.name "$T/out1" 2>/dev/null | tr '\n' ' ')" "v1 v1 " "the stream keeps its previous version"
grep -q "x.json: \$.match.jq: jq: \"import\" is not allowed" "$T/err1"
ok $? "the reload says why"
exec 3>&-
wait_until 20 gone $fan
ok $? "stream-fanout ends at the end of its input"

# --- 2. programs that never end, or grow --------------------------------
: >"$T/budget.in"
n=0
for prog in 'def f: f; f' 'last(repeat(1))' 'until(false; .)' 'def f: 1+f; f' '("x" * 1e9) | length > 0'; do
	n=$((n + 1))
	jqfile "$T/c/budget$n.json" "$prog"
	out=$(timeout 60 stream-fanout --check "$T/c/budget$n.json" 2>/dev/null)
	is "$?" 100 "--check refuses '$prog' (exit 100)"
	echo "$out" | grep -Eq "^$T/c/budget$n.json: \\\$.match.jq: jq: (does not finish on a small test mail|dies on a small test mail)"
	ok $? "--check says why ($out)"
	{ pair "bad$n" "$prog"; pair "good$n" "$GOOD"; } >>"$T/budget.in"
done
timeout 120 filter1 <"$T/budget.in" >"$T/out" 2>"$T/err"
is "$?" 0 "filter1 goes through every never-ending program (exit 0)"
is "$(ids "$T/out")" "good1 good2 good3 good4 good5 " "each does not hold; the pair after each is kept"
is "$(grep -c 'warning: jq test \(over its time budget\|died\)' "$T/err")" 5 "one warning each"
for n in 1 2 3 4 5; do
	grep -q "stream=bad$n path=\$.match.jq killmail_id=1001" "$T/err"
	ok $? "the warning names the stream bad$n, the path and the mail"
done
is "$(grep -cv '^filter1: ' "$T/err")" 0 "every line of the log is filter1's"

# Three times over budget in a row: the test rests (not run, no warning).
for i in 1 2 3 4 5; do pair loop 'def f: f; f'; pair good "$GOOD"; done >"$T/rest.in"
timeout 120 filter1 <"$T/rest.in" >"$T/out" 2>"$T/err"
is "$(ids "$T/out")" "good good good good good " "a resting test does not hold; the other pairs are kept"
is "$(grep -c 'over its time budget' "$T/err")" 3 "three warnings, then the test rests"
grep 'over its time budget' "$T/err" | sed -n 3p | grep -q 'rest_s=30$'
ok $? "the third warning says the test rests 30 s"

# The memory budget: a program that doubles a string dies there, alone.
pair grow 'reduce range(40) as $i ("xxxxxxxx"; . + .) | length > 0' >"$T/grow.in"
pair good "$GOOD" >>"$T/grow.in"
JQ_TIME_MS=20000 JQ_MEMORY_MB=64 timeout 120 filter1 <"$T/grow.in" >"$T/out" 2>"$T/err"
is "$(ids "$T/out")" "good " "over the memory budget: the test does not hold, the next pair is kept"
grep -q 'warning: jq test died (over its memory budget, or a crash of jq), it does not hold stream=grow .* budget_mb=64' "$T/err"
ok $? "over the memory budget: one warning ($(grep -v info "$T/err" | head -1))"

# SIGTERM while filter1 meets one never-ending program after another.
mkfifo "$T/in2"
filter1 <"$T/in2" >"$T/out2" 2>"$T/err2" &
f1=$! _pids="$_pids $!"
exec 4>"$T/in2"
for i in 1 2 3 4 5 6; do pair loop 'def f: f; f'; done >&4
wait_until 20 grep -q 'over its time budget' "$T/err2"
ok $? "filter1 warns of the first never-ending test"
kill -TERM $f1
wait_until 20 gone $f1
ok $? "filter1 ends on SIGTERM while the input is still open"
exec 4>&-

# --- 3. the environment, stderr, input ----------------------------------
export SOME_HOOK=https://discord.com/api/webhooks/1/SECRETTOKEN
while IFS='|' read -r name prog; do
	jqfile "$T/c/env.json" "$prog"
	out=$(timeout 60 stream-fanout --check "$T/c/env.json" 2>"$T/err")
	is "$?" 100 "refused: $prog"
	is "$out" "$T/c/env.json: \$.match.jq: jq: \"$name\" is not allowed: $(
		case $name in
		*ENV|env) echo 'it reads the environment' ;;
		debug|stderr) echo "it writes to the stage's stderr" ;;
		input*) echo "it reads jq's input, and a test has none but its pair" ;;
		localtime) echo "it reads the machine's time zone (times are UTC: use gmtime)" ;;
		esac)" "the message for $prog"
done <<'EOF'
$ENV|error($ENV.SOME_HOOK)
env|error(env | tostring)
$ENV|$ ENV | length > 0
env|"hook: \("x" + (env | tostring))" | length > 0
env|{a: 1, b: env} | length > 0
env|.[env:] | length > 0
debug|debug | true
stderr|stderr | true
input|input
inputs|first(inputs)
input_filename|input_filename == null
localtime|now | localtime | length > 0
EOF
is "$(grep -c . "$T/err")" 0 "nothing on stderr of --check"
whenfile "$T/c/when.json" '$ENV.REDIS_URL | length > 0'
out=$(timeout 60 stream-fanout --check "$T/c/when.json" 2>/dev/null)
is "$out" "$T/c/when.json: \$.mentions[0].when.jq: jq: \"\$ENV\" is not allowed: it reads the environment" \
	"a mention's when that reads the environment is refused"
# Where the names are only data they are allowed.
jqfile "$T/c/data.json" '# env, $ENV, include
  .env == null and .mail.input == null and "env $ENV \(1 + 1)" != "" and {env: 1}.env == 1 and {env} == {env: null}
  and ({"a": 1, debug: 2} | .debug) == 2 and .stream.targets[0].stdout'
out=$(timeout 60 stream-fanout --check "$T/c/data.json" 2>&1)
is "$?" 0 "fields, strings, keys and comments named env, input, debug are allowed ($out)"
printf '%s\n' "$(pair data "$(jq -r .match.jq "$T/c/data.json")")" | timeout 60 filter1 >"$T/out" 2>"$T/err"
is "$(ids "$T/out")" "data " "... and that program holds on the mail"

{ pair leak 'error($ENV.SOME_HOOK)'; pair leak2 'error(env | tostring)'; pair good "$GOOD"; } |
	timeout 60 filter1 >"$T/out" 2>"$T/err"
is "$(ids "$T/out")" "good " "filter1 drops the pairs of streams that read the environment"
grep -q SECRETTOKEN "$T/err"
is "$?" 1 "the webhook in the environment is not in filter1's log"

# A webhook URL written in the stream reaches jq cut, as in the logs.
jq -cn --argjson m "$solo" '{stream: {id: "url", match: {jq: "error(.stream.targets[0].discord)"},
	targets: [{discord: "https://discord.com/api/webhooks/12345/FILETOKEN"}]}, mail: $m}' |
	timeout 60 filter1 >/dev/null 2>"$T/err"
grep -q 'error="discord:…/2345"' "$T/err"
ok $? "jq sees a webhook URL of the stream cut ($(grep 'jq error' "$T/err" | cut -c1-150))"
grep -q FILETOKEN "$T/err"
is "$?" 1 "... and the token is not in the log"

# A jq error is one log line, however its message is made.
pair err 'error("two\nlines \"quoted\" " + ("x" * 1000))' | timeout 60 filter1 >/dev/null 2>"$T/err"
is "$(grep -c 'jq error' "$T/err")" 1 "a jq error: one warning"
is "$(grep -vc '^filter1: ' "$T/err")" 0 "... on one line"
grep -q "error=\"two lines 'quoted' xxx*\.\.\.\"$" "$T/err"
ok $? "... with the message cut and on one line ($(cut -c1-120 "$T/err" | head -1))"

# filter2: a mention's when that never ends, and one that would read REDIS_URL.
export REDIS_URL='redis://:hunter2@127.0.0.1:1' STATE_DIR=$T/state INSIGHT_NOW=1783130400
mention() { jq -cn --arg id "$1" --arg q "$2" --argjson m "$solo" \
	'{stream: {id: $id, mentions: [{when: {jq: $q}, content: "hi"}], targets: [{stdout: true}]},
	  mail: $m, match: {kind: "loss", attackers: []}}'; }
{ mention loop 'def f: f; f'; mention redis '$ENV.REDIS_URL | length > 0'; mention yes "$GOOD"; } |
	timeout 60 filter2 >"$T/out" 2>"$T/err"
is "$(jq -r '"\(.stream.id)=\(.match.mention)"' "$T/out" | tr '\n' ' ')" "loop=null redis=null yes=hi " \
	"filter2: a never-ending when does not hold; a stream that reads the environment gets no mention"
grep -q 'stream does not compile.* stream=redis path=$.mentions\[0\].when.jq error=.jq: "$ENV" is not allowed' "$T/err"
ok $? "filter2: the stream that reads the environment is warned about"
grep -q 'warning: jq test over its time budget, it does not hold stream=loop path=$.mentions\[0\].when.jq' "$T/err"
ok $? "filter2: one warning for the never-ending when"
grep -q hunter2 "$T/err"
is "$?" 1 "filter2: REDIS_URL's password is not in the log"
# ... and one that includes a module: refused, filter2 lives on; here as
# a bundle of the three, as the pipeline writes them
{ mention inc 'include "x"; true'; mention imp 'import "x" as x; true'; mention yes "$GOOD"; } |
	jq -cs '{streams: map(.stream), mail: .[0].mail, matches: map(.match)}' |
	timeout 60 filter2 >"$T/out" 2>"$T/err"
is "$?:$(jq -r '"\(.stream.id)=\(.match.mention)"' "$T/out" | tr '\n' ' ')" "0:inc=null imp=null yes=hi " \
	"filter2: a when with include or import gets no mention, and filter2 goes on (exit 0)"
is "$(grep -c 'stream does not compile.* path=$.mentions\[0\].when.jq error=.jq: "\(include\|import\)" is not allowed' "$T/err")" 2 \
	"filter2: one warning for each, with its path"

# --- 7. a FIFO named x.json in streams.d ---------------------------------
mkdir -p "$T/s2"
jq -n '{name: "v1", targets: [{stdout: true}]}' >"$T/s2/a.json"
mkfifo "$T/s2/x.json"
out=$(timeout 60 stream-fanout --check "$T/s2" 2>"$T/err")
is "$?" 0 "--check: a FIFO in the directory does not block it (exit 0: nothing invalid)"
is "$(cat "$T/err")" "stream-fanout: warning: not a regular file, skipped path=$T/s2/x.json" \
	"--check: one warning for the FIFO"
out=$(timeout 60 stream-fanout --check "$T/s2/x.json" 2>/dev/null)
is "$?:$out" "100:$T/s2/x.json: \$: cannot read: not a regular file" "--check FIFO: an error, exit 100"
out=$(timeout 60 "$ROOT/bin/insight" check "$T/s2" 2>&1)
is "$?" 0 "insight check: not blocked by a FIFO"
echo "$out" | grep -q "not a regular file, skipped path=$T/s2/x.json"
ok $? "insight check: reports the FIFO"

mkfifo "$T/in3"
stream-fanout -d "$T/s2" <"$T/in3" >"$T/out3" 2>"$T/err3" &
fan=$! _pids="$_pids $!"
exec 5>"$T/in3"
wait_until 20 grep -q 'not a regular file, skipped' "$T/err3"
ok $? "stream-fanout starts past the FIFO, with a warning"
kill -HUP $fan
wait_until 20 grep -q 'reloaded' "$T/err3"
ok $? "a SIGHUP reload is not blocked by the FIFO"
is "$(grep -c 'not a regular file, skipped' "$T/err3")" 2 "... and warns again"
printf '%s\n' "$solo" >&5
wait_until 20 test -s "$T/out3"
is "$(ids "$T/out3")" "a " "the other stream still gets the mail"
kill -TERM $fan
wait_until 20 gone $fan
ok $? "stream-fanout ends on SIGTERM"
exec 5>&-

done_testing
