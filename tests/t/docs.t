#!/bin/bash
# The documentation stands on its own: no tracked file cites a document
# that is not in the repository (the design notes the project was written
# from) or a path of one machine; the README links the stream reference;
# every man page formats without a warning.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT" || exit 1

if git rev-parse --git-dir >/dev/null 2>&1; then
	files() { git ls-files; }
else
	files() { find . -path ./build -prune -o -type f -print | sed 's|^\./||'; }
fi
files | grep -v '^LICENSE$' >"$T/files"
xargs -d '\n' grep -l -E '(STREAMS|DESIGN|APIS|STYLE)\.md' <"$T/files" >"$T/cite" 2>/dev/null
is "$(tr '\n' ' ' <"$T/cite")" "" "no file cites the design notes, which are not in the repository"
xargs -d '\n' grep -l -E '(^|[ "'\''(=])/(work|home|root)/' <"$T/files" >"$T/paths" 2>/dev/null
is "$(tr '\n' ' ' <"$T/paths")" "" "no file names a path of one machine"

grep -q 'man -l man/insight-streams.5' README.md
ok $? "the README links the stream reference"
grep -q 'insight-streams' bin/insight.1 && grep -q 'insight-streams' cmd/stream-fanout/stream-fanout.1
ok $? "insight(1) and stream-fanout(1) point to insight-streams(5)"

if command -v groff >/dev/null; then
	for m in cmd/*/*.1 bin/*.1 man/*.5; do
		is "$(groff -man -ww -z "$m" 2>&1)" "" "$m formats without a warning"
	done
fi
done_testing
