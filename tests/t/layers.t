#!/bin/bash
# The source tree's layers: a file may include headers of its own folder
# and of the folders below it, never above (lib < json < net, match < post
# < cmd); a tool's own modules are included by that tool alone; every
# header stands alone (compiles by itself) and is included under its
# layer's name.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1

rank() {
	case $1 in
	lib) echo 0 ;; json) echo 1 ;; net|match) echo 2 ;; post) echo 3 ;;
	cmd) echo 4 ;; *) echo 9 ;;
	esac
}
allowed() {	# allowed FROM-FOLDER TO-FOLDER
	[ "$1" = "$2" ] && return 0
	# net and match are side by side: neither uses the other
	case "$1:$2" in net:match|match:net) return 1 ;; esac
	[ "$(rank "$2")" -lt "$(rank "$1")" ]
}

bad=
for f in lib/*.[ch] json/*.[ch] net/*.[ch] match/*.[ch] post/*.[ch] cmd/*/*.[ch]; do
	from=${f%%/*}
	while read -r inc; do
		to=${inc%%/*}
		case $inc in
		*/*) ;;
		*)	# a bare name: only a tool's own header beside it
			[ "$from" = cmd ] && [ -f "$(dirname "$f")/$inc" ] && continue
			bad="$bad $f:$inc"; continue ;;
		esac
		if [ "$to" = cmd ]; then
			bad="$bad $f:$inc"; continue
		fi
		allowed "$from" "$to" || bad="$bad $f:$inc"
	done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
done
is "${bad# }" "" "every include points down the layers"

# lib/ knows no JSON and no EVE
grep -l 'jansson\|json_t' lib/*.[ch] >"$T/libjson"
is "$(tr '\n' ' ' <"$T/libjson")" "" "lib/ uses no JSON"

fail=
for h in lib/*.h json/*.h net/*.h match/*.h post/*.h cmd/*/*.h; do
	printf '#include "%s"\n' "$h" |
		${CC:-cc} -std=gnu11 -D_GNU_SOURCE -I. -I"$(dirname "$h")" -fsyntax-only -x c - 2>"$T/h.err" ||
		fail="$fail $h"
done
is "${fail# }" "" "every header compiles on its own"
done_testing
