#!/bin/bash
# One way to allocate and to die on out of memory (lib/mem), one hash
# function and one hash table (lib/hash): no raw malloc/calloc/realloc/
# strdup/strndup/asprintf outside lib/mem.c, no private "out of memory"
# exit, no FNV-1a or Fibonacci-hash constant outside lib/hash.c.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1

later=
files=
for f in lib/*.c json/*.c net/*.c match/*.c post/*.c cmd/*/*.c; do
	case " $later " in *" $f "*) continue ;; esac
	files="$files $f"
done

# Calls, not words in comments: a name followed by "(".
raw() {	# raw FILE...: the raw allocation calls in them
	grep -nE '(^|[^_[:alnum:]])(malloc|calloc|realloc|reallocarray|strdup|strndup|v?asprintf)[[:space:]]*\(' "$@" /dev/null |
		grep -v '^[^:]*:[0-9]*:[[:space:]]*/\?\*'
}
is "$(raw $(echo "$files" | tr ' ' '\n' | grep -vx 'lib/mem.c') | cut -d: -f1,2 | tr '\n' ' ')" "" \
	"no raw allocation outside lib/mem.c"
is "$(grep -ln 'log_fatal.*out of memory' $files | grep -vx 'lib/mem.c' | tr '\n' ' ')" "" \
	"out of memory is said in lib/mem.c alone"
is "$(grep -liE '1099511628211|100000001b3|1469598103934665603|cbf29ce484222325|9E3779B97F4A7C15' $files |
	grep -vx lib/hash.c | tr '\n' ' ')" "" \
	"FNV-1a and the table's hash live in lib/hash.c alone"

# The check itself catches what it is for.
printf 'static void f(void) { char *p = malloc(3); q = strdup("x"); }\n/* malloc( in a comment */\n' >"$T/bad.c"
is "$(raw "$T/bad.c" | wc -l)" 1 "the check finds a raw call and passes over a comment"
done_testing
