#!/bin/bash
# man/insight-streams.5 cannot drift from the code: every example of the page
# (a block after a ".\" example NAME" line) is checked by stream-fanout
# --check and run through stream-fanout | filter1 on synthetic mails, some
# against the same question asked with jq; every diagnostic (a file after
# ".\" diagnostic NAME", then "$ insight check NAME" and what it prints) is
# produced again by the real insight check and compared line for line.
. "$(dirname "$0")/../lib.sh"
PAGE=$ROOT/man/insight-streams.5

# extract KIND DIR: each block after '.\" KIND NAME' into DIR/NAME (and the
# block after it, for diagnostics, into DIR/NAME.says), roff escapes undone.
extract() {
	mkdir -p "$2"
	awk -v kind="$1" -v dir="$2" '
	$1 == ".\\\"" && $2 == kind { name = $3; blocks = 0; next }
	name != "" && $0 == ".EX" { f = dir "/" name (blocks++ ? ".says" : ""); inb = 1; next }
	inb && $0 == ".EE" { inb = 0; close(f); if (kind == "example" || blocks == 2) name = ""; next }
	inb { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print > f }' "$PAGE"
}

# --- the page itself
if command -v groff >/dev/null; then
	is "$(groff -man -ww -z "$PAGE" 2>&1)" "" "groff finds nothing to say about the page"
fi
if command -v mandoc >/dev/null; then
	is "$(mandoc -T lint -W warning "$PAGE" 2>&1)" "" "mandoc -T lint finds nothing"
fi

# --- examples
extract example "$T/ex"
n=$(ls "$T/ex" | wc -l)
[ "$n" -ge 12 ]
ok $? "the page has a dozen examples or more ($n)"
for f in "$T/ex"/*; do
	mv "$f" "$f.json"
done
stream-fanout --check "$T/ex" >"$T/check.out" 2>&1
is "$?:$(cat "$T/check.out")" "0:" "every example passes stream-fanout --check"

fixtures "$T/fx" --mails 200 >/dev/null
python3 "$ROOT/tests/gen/mails.py" "$T/fx" >"$T/mails"
# run NAME: the example alone, enabled, through stream-fanout | filter1
run() {
	rm -rf "$T/one" && mkdir "$T/one"
	jq '.enabled = true' "$T/ex/$1.json" >"$T/one/$1.json"
	stream-fanout -S "$T/one" <"$T/mails" 2>"$T/$1.fan" | filter1 >"$T/$1.out" 2>"$T/$1.f1"
	st="${PIPESTATUS[0]}${PIPESTATUS[1]}"
}
bad=
for f in "$T/ex"/*.json; do
	x=${f##*/} x=${x%.json}
	run "$x"
	[ "$st" = 00 ] || bad="$bad $x:exit=$st"
	grep -q ': warning: \|: fatal: ' "$T/$x.fan" "$T/$x.f1" && bad="$bad $x:warned"
	[ -z "$(jq -r --arg x "$x" 'select(.stream.id != $x) | 1' "$T/$x.out")" ] ||
		bad="$bad $x:foreign-pair"
done
is "${bad# }" "" "every example runs through stream-fanout | filter1 without a warning"

# kept EXAMPLE: killmail ids filter1 kept; want JQ: those the jq filter selects
kept() { jq -r '.mail.killmail_id' "$T/$1.out" | sort -n | tr '\n' ' '; }
want() { jq -r "select($1) | .killmail_id" "$T/mails" | sort -n | tr '\n' ' '; }
w=$(want '.value.total >= 10000000000')
[ -n "$w" ]
ok $? "the fixtures hold kills of 10 billion ISK and up"
is "$(kept big-kills)" "$w" "big-kills: the kills jq finds over 10 billion"
w=$(want '.solo == true and .npc == false and .system.space == "lowsec"')
[ -n "$w" ]
ok $? "the fixtures hold solo kills in lowsec"
is "$(kept lowsec-solo)" "$w" "lowsec-solo: solo, not NPC, lowsec"
# the example's corporation stands for one the fixtures hold
jq '.match.victim.corporation = [98000046]' "$T/ex/corp-losses.json" >"$T/x" &&
	mv "$T/x" "$T/ex/corp-losses.json"
run corp-losses
w=$(want '.victim.corporation.id == 98000046 and .value.total >= 50000000')
[ -n "$w" ]
ok $? "the fixtures hold losses of corporation 98000046"
is "$(kept corp-losses)" "$w" "corp-losses: the corporation's losses over 50 million"
is "$(jq -r .match.kind "$T/corp-losses.out" | sort -u)" "loss" "corp-losses: each a loss"
is "$(kept ganks)" "$(want '(.victim.ship.group.name | IN("Freighter", "Jump Freighter")) and
	.system.space == "highsec" and .attacker_count >= 5')" "ganks: freighters in highsec, 5 attackers or more"
# near is pending after filter1, nothing else is decided about it
is "$(jq -r '.match.pending' "$T/amamake.out" | sort -u)" "true" \
	"amamake: every kept pair waits for its distance"

# --- diagnostics
extract diagnostic "$T/diag"
n=$(ls "$T/diag"/*.says | wc -l)
[ "$n" -ge 10 ]
ok $? "the page shows what insight check says for ten mistakes or more ($n)"
for says in "$T/diag"/*.says; do
	f=${says%.says} f=${f##*/}
	is "$(head -n 1 "$says")" "\$ insight check $f" "$f: the command shown is insight check $f"
	out=$(cd "$T/diag" && "$ROOT/bin/insight" check "$f" 2>&1)
	st=$?
	is "$st:$out" "100:$(tail -n +2 "$says")" "$f: insight check prints what the page says, exit 100"
done
done_testing
