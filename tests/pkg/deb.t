#!/bin/bash
# The Debian package, as root on a machine without it (CI: `make
# check-pkg`): make deb builds it (lintian must pass); apt installs it;
# then the user insight, the files, conffiles and modes; the unit passes
# systemd-analyze verify; the unit's ExecStart runs as the user insight
# with the unit's environment (Environment=, EnvironmentFile=, UMask=,
# User=, working directory /) against the fakes until the posts arrive,
# ExecReload works, a second up is refused, SIGTERM (what systemd sends
# the main process) stops it cleanly; then apt remove and purge, and what
# each leaves.  Without systemd as PID 1 the unit itself is not started:
# its sandboxing options (ProtectSystem=, SystemCallFilter=...) are
# verified, not exercised.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/t/pipeline.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root: installs a package"
command -v apt-get >/dev/null || skip_all "no apt-get"
pkg=insightcore
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
	skip_all "$pkg is already installed on this machine: not touching it"
fi
unit=/lib/systemd/system/insight.service
apt() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"; }
svc=
trap '[ -n "$svc" ] && kill -TERM "$svc" 2>/dev/null && wait "$svc"
	dpkg-query -W "$pkg" >/dev/null 2>&1 && apt purge "$pkg" >/dev/null 2>&1
	_cleanup' EXIT

# --- build
make -C "$ROOT" deb >"$T/build.log" 2>&1
rc=$?
is $rc 0 "make deb: built, lintian passes"
[ $rc = 0 ] || { tail -n 30 "$T/build.log" | sed 's/^/# /'; done_testing; exit 1; }
deb=$(ls "$ROOT"/build/deb/${pkg}_*.deb)
diag "$(ls -l "$deb")"

# --- install
apt install "$deb" >"$T/install.log" 2>&1
is $? 0 "apt-get install ./$(basename "$deb")"
is "$(dpkg-query -W -f='${Status}' $pkg)" "install ok installed" "it is installed"
IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd insight)"
ok "$([ -n "$uid" ] && [ "$uid" -lt 1000 ]; echo $?)" "a system user insight (uid $uid)"
is "$(getent group insight | cut -d: -f3)" "$gid" "its own group insight"
is "$home" /var/lib/insight "its home is the state directory"
case $shell in */nologin | */false) r=0 ;; *) r=1 ;; esac
ok $r "it has no login shell ($shell)"
is "$(stat -c '%a %U %G' /var/lib/insight)" "750 insight insight" "/var/lib/insight: 0750, the user's"
is "$(stat -c '%a %U %G' /etc/insight/secrets)" "600 root root" "/etc/insight/secrets: 0600 root"

missing=
for t in redisq-pull esi-resolve stream-fanout filter1 filter2 post-discord post-slack insight; do
	[ -x /usr/bin/$t ] || missing="$missing $t"
done
is "$missing" "" "every tool and insight in /usr/bin"
missing=$(missing_manpages /usr/share/man ".gz")
is "$missing" "" "every manual page of the tree, in its section"
v=$(dpkg-query -W -f='${Version}' $pkg)
is "$(/usr/bin/insight -V) $(/usr/bin/filter1 -V)" "insight $v filter1 $v" "insight -V and the tools' -V: the package's version ($v)"
ok "$([ -x /usr/share/insight/services/fifo-holder/run ]; echo $?)" "the s6 service templates in /usr/share/insight/services"
diff -r "$ROOT/streams.d" /etc/insight/streams.d >/dev/null
ok $? "/etc/insight/streams.d: the example streams"
dpkg-query -W -f='${Conffiles}\n' $pkg | awk 'NF { print $1 }' | sort >"$T/conffiles"
want=$(printf '%s\n' /etc/default/insight /etc/insight/secrets \
	$(cd "$ROOT/streams.d" && ls *.json | sed 's|^|/etc/insight/streams.d/|') | sort)
is "$(cat "$T/conffiles")" "$want" "conffiles: /etc/default/insight, the secrets, every stream"
ok "$([ -f $unit ]; echo $?)" "the unit $unit"
systemd-analyze verify $unit >"$T/verify" 2>&1
is "$?:$(cat "$T/verify")" "0:" "systemd-analyze verify: no complaint"

# the installed insight's defaults, whatever the current directory
(cd "$T" && env -u STATE_DIR -u STREAMS_DIR insight check >/dev/null 2>&1)
is $? 0 "insight check with no setting: checks /etc/insight/streams.d (valid)"
(cd "$T" && env -u STATE_DIR -u INSIGHT_RUN insight status 2>&1) | grep -q 'not running (run directory /var/lib/insight/run)'
ok $? "insight status with no setting: the state in /var/lib/insight"

# --- the unit's ExecStart as the user insight, against the fakes
pipeline_fakes 20
cat >>/etc/default/insight <<EOF
USER_AGENT=insight-pkg-test/1 (test@example.invalid)
R2Z2_URL=$z_url
ESI_URL=$e_url
R2Z2_HEAD_WAIT=0.2
EOF
echo "PKG_HOOK=$d_url/api/webhooks/7001/tok-secret-7001" >>/etc/insight/secrets
echo '{"name": "package test", "targets": [{"discord": "$PKG_HOOK"}]}' >/etc/insight/streams.d/pkg-test.json

# what systemd would do: environment from the unit and its files (NAME=value
# lines), HOME and USER of User=, working directory /, UMask=
user=$(sed -n 's/^User=//p' $unit)
is "$user" insight "the unit runs as insight"
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=$home USER=$user LOGNAME=$user SHELL=$shell)
for a in $(sed -n 's/^Environment=//p' $unit); do envs+=("$a"); done
for f in $(sed -n 's/^EnvironmentFile=-\{0,1\}//p' $unit); do
	[ -r "$f" ] || continue
	while IFS= read -r l; do envs+=("$l"); done < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$f")
done
exec_start=$(sed -n 's/^ExecStart=//p' $unit)
exec_reload=$(sed -n 's/^ExecReload=//p' $unit)
mask=$(sed -n 's/^UMask=//p' $unit)
as_unit() {	# as_unit COMMAND...: as the service would run it
	(cd / && umask "$mask" && exec setpriv --reuid="$user" --regid="$user" --init-groups \
		--no-new-privs env -i "${envs[@]}" "$@")
}
# as as_unit, but its pid is the service's main pid (insight's)
# shellcheck disable=SC2086
(cd / && umask "$mask" && exec setpriv --reuid="$user" --regid="$user" --init-groups \
	--no-new-privs env -i "${envs[@]}" $exec_start) >"$T/svc.out" 2>"$T/svc.err" &
svc=$!
RUN=/var/lib/insight/run
wait_until 60 grep -q 'insight: info: up:' "$T/svc.err"
ok $? "ExecStart ($exec_start): up"
is "$(ps -o user= -p "$(s6-svstat -o pid $RUN/sv/post-discord)" | tr -d " ")" insight "the stages run as insight"
batch 5
# kills, not messages: the poster may batch several into one message
kills7001() { curl -s "$d_url/_posts" | jq -r 'select(.webhook == "7001") | .body | tostring
	| match("kill/([0-9]+)/"; "g").captures[0].string' | sort -u | wc -l; }
posted5() { [ "$(kills7001)" -ge 5 ]; }
wait_until 60 posted5
ok $? "the 5 mails are posted to the fake Discord, the webhook from the secrets file"
# shellcheck disable=SC2086
as_unit $exec_reload 2>"$T/reload.err"
is $? 0 "ExecReload ($exec_reload): exit 0"
as_unit /usr/bin/insight status >"$T/status" 2>&1
is $? 0 "insight status, as insight: exit 0"
grep -q '^post-discord *up' "$T/status"
ok $? "status: post-discord up"
as_unit /usr/bin/insight up -d 2>"$T/second.err"
is $? 111 "a second up on /var/lib/insight: exit 111"
grep -q "insight: fatal: /var/lib/insight is in use by pid $svc\$" "$T/second.err"
ok $? "it names the service's pid ($(cat "$T/second.err"))"
grep -rq 'tok-secret' /var/lib/insight/run/log "$T/svc.out" "$T/svc.err"
ok $((! $?)) "the webhook's token is in no log"
kill -TERM "$svc"
wait "$svc"
is $? 0 "SIGTERM to the main process: exit 0"
svc=
grep -q 'insight: info: down' "$T/svc.err"
ok $? "it stopped in order (insight down)"
flock -n /var/lib/insight/lock true
ok $? "no process of the pipeline is left"
is "$(stat -c %U /var/lib/insight/redisq-pull.cursor)" insight "the cursor is the user's"

# --- upgrade: a newer package over this one keeps what the site changed
# and the state (the same tree, a later version in debian/changelog)
echo '# a line of the site' >>/etc/default/insight
echo '{"targets": [{"stdout": true}]}' >/etc/insight/streams.d/site.json
cursor=$(cat /var/lib/insight/redisq-pull.cursor)
v2=$v+up1
rm -rf "$T/up" && mkdir -p "$T/up" && cp -a "$ROOT/build/deb/src" "$T/up/src"
{
	printf '%s (%s) unstable; urgency=medium\n\n  * A later version, to test upgrades.\n\n' "$pkg" "$v2"
	sed -n '/^ -- /{p;q}' "$T/up/src/debian/changelog"
	echo
	cat "$T/up/src/debian/changelog"
} >"$T/up/changelog" && mv "$T/up/changelog" "$T/up/src/debian/changelog"
(cd "$T/up/src" && dpkg-buildpackage -b -us -uc) >"$T/up/build.log" 2>&1
is $? 0 "a later version ($v2) built"
apt install "$T/up/${pkg}_${v2}_"*.deb >"$T/upgrade.log" 2>&1
is $? 0 "apt-get install of $v2 over $v"
is "$(dpkg-query -W -f='${Version} ${Status}' $pkg)" "$v2 install ok installed" "upgraded"
grep -q '^# a line of the site$' /etc/default/insight
ok $? "upgrade: the site's edit of a conffile (/etc/default/insight) is kept"
ok "$([ -f /etc/insight/streams.d/site.json ] && [ -f /etc/insight/streams.d/pkg-test.json ]; echo $?)" \
	"upgrade: the site's streams are kept"
is "$(cat /var/lib/insight/redisq-pull.cursor)" "$cursor" "upgrade: the state is untouched (the cursor at $cursor)"
is "$(stat -c '%a %U %G' /var/lib/insight) $(stat -c '%a %U' /etc/insight/secrets)" \
	"750 insight insight 600 root" "upgrade: the state directory and the secrets keep their modes"
as_unit /usr/bin/insight check >"$T/check2" 2>&1
is $? 0 "upgrade: insight check, as insight, passes on the kept streams"
rm /etc/insight/streams.d/site.json

# --- remove, then purge
rm /etc/insight/streams.d/pkg-test.json
apt remove $pkg >"$T/remove.log" 2>&1
is $? 0 "apt-get remove"
ok "$([ ! -e /usr/bin/insight ] && [ ! -e /usr/bin/filter1 ] && [ ! -e $unit ]; echo $?)" "the programs and the unit are gone"
ok "$([ -f /etc/insight/secrets ] && [ -f /etc/default/insight ]; echo $?)" "the configuration stays"
ok "$([ -f /var/lib/insight/redisq-pull.cursor ]; echo $?)" "the state stays"
apt purge $pkg >"$T/purge.log" 2>&1
is $? 0 "apt-get purge"
ok "$([ ! -e /etc/insight ] && [ ! -e /etc/default/insight ]; echo $?)" "purge: /etc/insight and /etc/default/insight are gone"
ok "$([ ! -e /var/lib/insight ]; echo $?)" "purge: /var/lib/insight is gone"
getent passwd insight >/dev/null
ok $? "the user insight stays (Debian keeps system users)"
done_testing
