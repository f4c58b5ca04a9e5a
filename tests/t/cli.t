#!/bin/bash
# The command lines: every tool and insight answer -h/--help (usage on
# stdout, exit 0) and -V/--version (the VERSION file); an unknown flag is
# the synopsis on stderr and exit 100; every flag a man page's SYNOPSIS
# shows is in --help; a flag means the same in every tool (-s the state
# directory, -S the streams directory), and the old spellings still work.
. "$(dirname "$0")/../lib.sh"
TOOLS="redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack"
INSIGHT=$ROOT/bin/insight
VERSION=$(cat "$ROOT/VERSION")

# run CMD...: status in $st, stdout in $T/o, stderr in $T/e
run() { "$@" </dev/null >"$T/o" 2>"$T/e"; st=$?; }

for t in $TOOLS insight; do
	cmd=$t
	[ "$t" = insight ] && cmd=$INSIGHT
	for h in --help -h; do
		run "$cmd" "$h"
		is "$st:$(head -c 6 "$T/o"):$(wc -c <"$T/e")" "0:usage::0" \
			"$t $h: usage on stdout, nothing on stderr, exit 0"
	done
	grep -q "^usage: $t " "$T/o"
	ok $? "$t --help names $t"
	# every flag line is explained: "-x, --long  text" has text after it
	run "$cmd" --help
	awk '/^ +-/ && NF < 2' "$T/o" >"$T/bare"
	is "$(cat "$T/bare")" "" "$t --help: every flag line says what it does"
	for v in --version -V; do
		run "$cmd" "$v"
		is "$st:$(cat "$T/o"):$(wc -c <"$T/e")" "0:$t $VERSION:0" "$t $v: '$t $VERSION', exit 0"
	done
	run "$cmd" --no-such-flag
	is "$st:$(wc -c <"$T/o")" "100:0" "$t --no-such-flag: exit 100, nothing on stdout"
	grep -q "^usage: $t " "$T/e"
	ok $? "$t --no-such-flag: the synopsis on stderr"
	run "$cmd" -Z
	is "$st:$(wc -c <"$T/o")" "100:0" "$t -Z: exit 100, nothing on stdout"
done

# Flags a man page's SYNOPSIS shows: man(7) "\-x", "\-\-long", bundles
# "[\-hVvq]"; mdoc "Fl x".
synopsis_flags() {
	awk '/^\.S[Hh] SYNOPSIS/ { on = 1; next } /^\.S[Hh] / { on = 0 } on' "$1" |
		sed 's/\\-/-/g' | grep -o -E -e '(^|[[ ])--?[A-Za-z0-9][A-Za-z0-9-]*|Fl [A-Za-z0-9-]+' |
		sed 's/^[[ ]//; s/^Fl -/--/; s/^Fl /-/' | while read -r f; do
			case $f in
			--*) echo "$f" ;;
			*) echo "${f#-}" | grep -o . | sed 's/^/-/' ;;
			esac
		done | sort -u
}
for t in $TOOLS insight; do
	page=$ROOT/cmd/$t/$t.1
	cmd=$BIN/$t
	[ "$t" = insight ] && page=$ROOT/bin/insight.1 cmd=$INSIGHT
	"$cmd" --help >"$T/help" 2>/dev/null
	synopsis_flags "$page" >"$T/flags"
	[ -s "$T/flags" ]
	ok $? "$t: the man page's SYNOPSIS shows flags"
	missing=
	while read -r f; do
		grep -q -E -e "(^|[^A-Za-z0-9-])$f([^A-Za-z0-9-]|\$)" "$T/help" || missing="$missing $f"
	done <"$T/flags"
	is "${missing# }" "" "$t: every flag of the SYNOPSIS is in --help"
done

# One flag, one meaning
for t in redisq-pull esi-resolve filter2 post-discord post-slack; do
	"$t" --help | grep -q -e '-s, --state-dir DIR'
	ok $? "$t: -s, --state-dir DIR"
done
stream-fanout --help | grep -q -e '-S, --streams-dir DIR'
ok $? "stream-fanout: -S, --streams-dir DIR"
"$INSIGHT" --help | grep -q -e '-s, --state-dir DIR' &&
	"$INSIGHT" --help | grep -q -e '-S, --streams-dir DIR'
ok $? "insight: -s, --state-dir DIR and -S, --streams-dir DIR"
for t in $TOOLS; do
	"$t" --help | grep -q -E -e '^ +-d, |\[-d '
	is "$?" 1 "$t: -d is no documented flag (it meant three things)"
done
# no letter names two long options across the tools and insight
for t in $TOOLS; do "$t" --help; done >"$T/helps"
"$INSIGHT" --help >>"$T/helps"
grep -oE '^ +-[A-Za-z], --[a-z-]+' "$T/helps" | sed 's/^ *//' | sort -u |
	awk -F', ' '{ n[$1]++; l[$1] = l[$1] " " $2 } END { for (k in n) if (n[k] > 1) print k l[k] }' >"$T/twice"
is "$(cat "$T/twice")" "" "one letter, one long option in every tool ($(grep -cE '^ +-[A-Za-z], --' "$T/helps") flag lines)"
esi-resolve --max-mails 5 --help >/dev/null 2>&1
is "$?" 0 "esi-resolve --max-mails, the old spelling of --max-waiting, still works"

post-discord -s "$T/ps" </dev/null 2>/dev/null && [ -d "$T/ps/discord" ]
ok $? "post-discord -s DIR keeps its state in DIR"
post-slack --state-dir "$T/pl" </dev/null 2>/dev/null && [ -d "$T/pl/slack" ]
ok $? "post-slack --state-dir DIR keeps its state in DIR"
post-discord -d "$T/pd" </dev/null 2>/dev/null && [ -d "$T/pd/discord" ]
ok $? "post-discord -d DIR, the old spelling, still works"

mkdir -p "$T/sd" "$T/bad"
echo '{"targets": [{"stdout": true}]}' >"$T/sd/a.json"
echo '{"targets": []}' >"$T/bad/b.json"
for f in -S --streams-dir -d --dir; do
	STREAMS_DIR=$T/bad stream-fanout "$f" "$T/sd" --check >"$T/o" 2>&1
	is "$?:$(cat "$T/o")" "0:" "stream-fanout $f DIR --check checks DIR"
done
STREAMS_DIR=$T/bad stream-fanout -S "$T/bad" --check >/dev/null 2>&1
is "$?" 100 "stream-fanout -S DIR --check fails on a bad DIR"
"$INSIGHT" -S "$T/bad" check >/dev/null 2>&1
is "$?" 100 "insight -S DIR check checks DIR"
STREAMS_DIR=$T/bad "$INSIGHT" --streams-dir "$T/sd" check >/dev/null 2>&1
is "$?" 0 "insight --streams-dir DIR wins over STREAMS_DIR"

# insight: commands
run "$INSIGHT" frobnicate
is "$st:$(head -n 1 "$T/e")" "100:insight: fatal: unknown command 'frobnicate'" \
	"insight frobnicate: the unknown command is named, exit 100"
grep -q "^usage: insight " "$T/e" && grep -q -e "--help" "$T/e"
ok $? "insight frobnicate: the synopsis and a hint follow"
run "$INSIGHT" --frobnicate status
is "$st:$(head -n 1 "$T/e")" "100:insight: fatal: unknown option '--frobnicate'" \
	"insight --frobnicate: the unknown option is named, exit 100"
run "$INSIGHT"
is "$st:$(wc -c <"$T/o")" "100:0" "insight alone: usage on stderr, exit 100"
done_testing
