#!/bin/sh
# Install the Debian packages the project builds, runs and tests with,
# only those missing; with "deb", also those that build and check the
# Debian package.  Needs root (or sudo) when something is missing.
pkgs="gcc make libc6-dev libjansson-dev libcurl4-openssl-dev libhiredis-dev
libjq-dev libonig-dev jq s6 execline redis-server python3 curl perl procps
strace util-linux"
[ "${1:-}" = deb ] && pkgs="$pkgs debhelper dpkg-dev fakeroot lintian"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# another apt on the machine: wait for its lock rather than fail
lock="-o DPkg::Lock::Timeout=600"
# shellcheck disable=SC2086
$sudo apt-get $lock update -qq >&2 || exit 111
# shellcheck disable=SC2086
$sudo apt-get $lock install -y -qq --no-install-recommends $missing >&2 || exit 111
