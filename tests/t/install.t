#!/bin/bash
# make install's files (install-share: all of it but the compiled tools,
# so no build here) into a DESTDIR, as the package installs them: insight
# with the installed defaults (/etc/insight/streams.d, /var/lib/insight,
# whatever the current directory), every manual page of the tree in its
# section, the service templates where that insight finds them, the
# example streams; a second install keeps a stream the site has edited.
. "$(dirname "$0")/../lib.sh"
command -v make >/dev/null || skip_all "no make"
D=$T/root
inst() { make -s -C "$ROOT" install-share DESTDIR="$D" PREFIX=/usr SYSCONFDIR=/etc \
	STATEDIR=/var/lib/insight >"$T/make.out" 2>&1; }
inst
is $? 0 "make install-share DESTDIR=... PREFIX=/usr SYSCONFDIR=/etc"

missing=$(missing_manpages "$D/usr/share/man" "")
is "$missing" "" "every manual page of the tree, in its section"
n=$(ls "$D"/usr/share/man/man*/* | wc -l)
ok "$([ "$n" -ge 8 ]; echo $?)" "at least the eight of section 1 ($n)"
diff -r "$ROOT/streams.d" "$D/etc/insight/streams.d" >/dev/null
ok $? "the example streams in /etc/insight/streams.d"
ok "$([ -x "$D/usr/share/insight/services/fifo-holder/run" ]; echo $?)" "the service templates in /usr/share/insight/services"
ok "$([ -x "$D/usr/bin/insight" ]; echo $?)" "insight in /usr/bin"

# the installed insight's defaults, from any directory: status names the
# run directory it looked for; check and try read where it says
(cd "$T" && env -u STATE_DIR -u STREAMS_DIR -u INSIGHT_RUN "$D/usr/bin/insight" status 2>&1) >"$T/status"
grep -q 'not running (run directory /var/lib/insight/run)' "$T/status"
ok $? "installed insight: state in /var/lib/insight ($(cat "$T/status"))"
(cd "$T" && env -u STREAMS_DIR "$D/usr/bin/insight" check 2>&1) >"$T/check"
case $(cat "$T/check") in
"" | *"/etc/insight/streams.d"*) r=0 ;;
*) r=1 ;;
esac
ok $r "installed insight: streams in /etc/insight/streams.d"
# the repository's insight keeps its defaults for make run
(cd "$T" && env -u STATE_DIR -u INSIGHT_RUN "$ROOT/bin/insight" status 2>&1) | grep -q "run directory $T/var/run)"
ok $? "the repository's insight: var/ of the current directory"
# services found beside the installed insight: try runs the sink's formatter
fixtures "$T/fx" --mails 5 >/dev/null
start_fake e esi --data "$T/fx" || exit 1
head -n 5 "$T/fx/killmails.ndjson" >"$T/kills"
echo '{"targets": [{"stdout": true}]}' >"$T/all.json"
(cd "$T" && env -u INSIGHT_SERVICES ESI_URL=$e_url PATH="$BIN:$PATH" \
	"$D/usr/bin/insight" try "$T/all.json" "$T/kills" 2>"$T/try.err") >"$T/try.out"
is "$(grep -c '^all -> stdout: ' "$T/try.out")" 5 "installed insight try: finds its services' formatter"

is "$("$D/usr/bin/insight" -V)" "insight $(cat "$ROOT/VERSION")" "installed insight -V: the VERSION installed beside it"
is "$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")" "$(cat "$ROOT/VERSION")" \
	"the package's version (debian/changelog) is VERSION"

# a second install keeps what the site changed
echo '{"name": "mine", "targets": [{"stdout": true}]}' >"$D/etc/insight/streams.d/default.json"
inst
is $? 0 "make install-share again"
grep -q '"mine"' "$D/etc/insight/streams.d/default.json"
ok $? "the site's default.json is kept"
done_testing
