#!/usr/bin/env bash
# tests/stages/packages.sh — the packages stage of make test: what a
# server installs is right.
#
#   1. units: `make install` into a private prefix; `systemd-analyze
#      verify` finds nothing to say about dtxd.service and
#      dtx-gateway.service (any output fails: it reports bad keys and
#      values as warnings with exit 0), after proving on a broken copy that
#      it does speak up; `systemd-analyze security --offline` rates each at
#      exposure 2.0 or lower;
#   2. readiness: tests/packages/ready.py plays systemd's NOTIFY_SOCKET
#      for the binaries under test: dtxd says READY=1 only once its log is
#      connected and its lease held, the gateway once it listens; reload
#      and stop messages. In a plain build it runs them under strace, and
#      tests/packages/sandbox.py checks that every system call and socket
#      family they used is one their unit allows (a refused one would
#      abort them under systemd: libzmq asserts);
#   3. packages (a plain build only: SAN=1 and TSAN=1 skip it, packages are
#      built without sanitizers): `make deb`; each .deb has VERSION's
#      version, extracts, and its programs run from the extracted tree
#      (`--version` of dtxd, dtxctl, dtx-gateway; a program built against
#      libdtx-dev's files prints libdtx1's dtx_version()); the packaged
#      units verify too; dpkg installs, reinstalls, removes and purges
#      them in a scratch root (a conffile stays until purge); lintian
#      reports no error (its warnings and information tags are printed).
# Needs DTX_TEST_* (tests/run.sh); lintian and dpkg-dev from
# scripts/deps.d/base-packages.list.
set -euo pipefail
# A make of our own, not a part of the outer make's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$ROOT"
BUILD=${BUILD:-build}
SAN=${SAN:-0}
TSAN=${TSAN:-0}
work="${DTX_TEST_DIR:-/tmp}/packages"
rm -rf "$work" && mkdir -p "$work"
version=$(cat VERSION)
fail() { echo "packages: FAIL: $*" >&2; exit 1; }

# s_verify UNIT...: systemd-analyze verify, silent and exit 0, or fail.
s_verify() {
    local out
    out=$(systemd-analyze verify --man=no "$@" 2>&1) && [ -z "$out" ] || {
        echo "$out" >&2; return 1; }
}

# 1. units
prefix="$work/prefix"
make -s BUILD="$BUILD" SAN="$SAN" TSAN="$TSAN" install PREFIX="$prefix/usr" \
    SYSCONFDIR="$prefix/etc" >/dev/null
units="$prefix/usr/lib/systemd/system"
for u in dtxd dtx-gateway; do
    [ -f "$units/$u.service" ] || fail "make install did not install $u.service"
    grep -qx 'Type=notify' "$units/$u.service" || fail "$u.service is not Type=notify"
    grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$units/$u.service" ||
        fail "$u.service has no ExecReload (both reload on SIGHUP)"
done
[ -f "$prefix/etc/dtx/dtxd.env" ] && [ -f "$prefix/etc/dtx/gateway.json" ] ||
    fail "make install did not install the examples in SYSCONFDIR/dtx"
grep -q "EnvironmentFile=$prefix/etc/dtx/dtxd.env" "$units/dtxd.service" ||
    fail "dtxd.service does not read SYSCONFDIR/dtx/dtxd.env"
sed -e 's/^Type=notify$/Type=notifyy/' -e 's/^ProtectSystem=/ProtectSytem=/' \
    "$units/dtxd.service" > "$work/broken.service"
if s_verify "$work/broken.service" 2>/dev/null; then
    fail "systemd-analyze verify says nothing about a broken unit: the check proves nothing"
fi
s_verify "$units/dtxd.service" "$units/dtx-gateway.service" ||
    fail "systemd-analyze verify complains about the installed units (above)"
for u in dtxd dtx-gateway; do
    score=$(systemd-analyze security --offline=yes "$units/$u.service" 2>/dev/null |
            sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || fail "systemd-analyze security gave no exposure level for $u.service"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
        fail "$u.service: exposure $score, want 2.0 or lower (systemd-analyze security)"
    echo "packages: $u.service verifies; exposure $score"
done
# A private prefix's example config drives the gateway in step 2.

# 2. readiness (and, in a plain build, the sandbox: sanitizers make calls
# of their own)
[ -n "${DTX_TEST_PGHOST:-}" ] || fail "DTX_TEST_PGHOST is not set (run through tests/run.sh)"
trace=""
if [ "$SAN" = 0 ] && [ "$TSAN" = 0 ]; then
    trace="$work/strace"
    mkdir -p "$trace"
fi
DTX_READY_STRACE="$trace" python3 tests/packages/ready.py "${DTX_TEST_BIN:-$ROOT/$BUILD/bin}" \
    "$work/ready" "$DTX_TEST_PGHOST" "${DTX_TEST_PGPORT:-5432}" "$prefix/etc/dtx/gateway.json" ||
    fail "readiness (tests/packages/ready.py, above)"
if [ -n "$trace" ]; then
    # The checker speaks up: a unit refusing the network refuses dtxd.
    { cat "$units/dtxd.service"; echo 'SystemCallFilter=~@network-io'; } > "$work/no-net.service"
    if python3 tests/packages/sandbox.py "$work/no-net.service" "$trace/dtxd.strace" >/dev/null 2>&1; then
        fail "sandbox.py accepts a unit that refuses the network: the check proves nothing"
    fi
    python3 tests/packages/sandbox.py "$units/dtxd.service" "$trace/dtxd.strace" &&
    python3 tests/packages/sandbox.py "$units/dtx-gateway.service" "$trace/gateway.strace" ||
        fail "a daemon used what its unit refuses (above)"
fi

# 3. packages
if [ "$SAN" != 0 ] || [ "$TSAN" != 0 ]; then
    echo "packages: ok (units, readiness; .deb files skipped under SAN=$SAN TSAN=$TSAN)"
    exit 0
fi
make -s deb >"$work/deb.log" 2>&1 || { cat "$work/deb.log" >&2; fail "make deb"; }
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
x="$work/extract"
for p in dtxd dtx-gateway libdtx1 libdtx-dev; do
    deb="build/deb/${p}_${version}_${arch}.deb"
    [ -f "$deb" ] || fail "make deb made no $deb"
    [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "$deb is not version $version"
    dpkg-deb -x "$deb" "$x"
done
lib="$x/usr/lib/$triplet"
for b in dtxd dtxctl dtx-gateway; do
    out=$(LD_LIBRARY_PATH="$lib" "$x/usr/bin/$b" --version) || fail "$b --version failed"
    [ "$out" = "$b $version" ] || fail "$b --version says '$out', want '$b $version'"
    echo "packages: $out (from the extracted package)"
done
[ "$(readlink "$lib/libdtx.so.${version%%.*}")" = "libdtx.so.$version" ] ||
    fail "libdtx1 has no soname link libdtx.so.${version%%.*}"
printf '#include <stdio.h>\n#include <string.h>\n#include <dtx/dtx.h>\nint main(void){printf("%%s\\n",dtx_version());return strcmp(dtx_version(),DTX_VERSION_STRING)!=0;}\n' \
    > "$work/v.c"
cc -std=c11 -Wall -Werror -I"$x/usr/include" "$work/v.c" -L"$lib" -ldtx -o "$work/v" ||
    fail "a program does not build against libdtx-dev's headers and library"
out=$(LD_LIBRARY_PATH="$lib" "$work/v") || fail "dtx_version() differs from libdtx-dev's DTX_VERSION_STRING"
[ "$out" = "$version" ] || fail "libdtx1's dtx_version() is '$out', want $version"
echo "packages: libdtx1 dtx_version() $out, as libdtx-dev's header says"
ctl() { dpkg-deb --ctrl-tarfile "build/deb/${1}_${version}_${arch}.deb" | tar -xO "./$2"; }
[ "$(ctl libdtx1 shlibs)" = "libdtx ${version%%.*} libdtx1 (>= $version)" ] || fail "libdtx1's shlibs"
# symbols: each function with the release of its version node
syms=$(ctl libdtx1 symbols)
printf '%s\n' "$syms" | grep -qx ' dtx_client_begin@DTX_1 1.0.0' ||
    fail "libdtx1's symbols: dtx_client_begin@DTX_1 is not at 1.0.0"
printf '%s\n' "$syms" | grep -qx ' dtx_client_try_many@DTX_1.1 1.1.0' ||
    fail "libdtx1's symbols: dtx_client_try_many@DTX_1.1 is not at 1.1.0"
printf '%s\n' "$syms" | grep -qx ' dtx_client_tcc_run@DTX_1.2 1.2.0' ||
    fail "libdtx1's symbols: dtx_client_tcc_run@DTX_1.2 is not at 1.2.0"
printf '%s\n' "$syms" | grep -v '^[^ ]' | grep -v '^ [a-zA-Z0-9_.]*@DTX_1\(\.[0-9]*\)\? [0-9.]*$' | grep -q . &&
    fail "libdtx1's symbols: a line without a version node and release"
echo "packages: libdtx1's symbols give each function its node's release"
ctl dtxd conffiles | grep -qx /etc/dtx/dtxd.env || fail "dtxd: /etc/dtx/dtxd.env is no conffile"
ctl dtx-gateway conffiles | grep -qx /etc/dtx/gateway.json || fail "dtx-gateway: gateway.json is no conffile"
# The packaged units, with their paths pointed into the extracted tree.
for u in dtxd dtx-gateway; do
    f=$(find "$x" -name "$u.service" | head -1)
    [ -n "$f" ] || fail "no $u.service in the $u package"
    sed -e "s|/usr/bin/|$x/usr/bin/|" "$f" > "$work/pkg-$u.service"
    s_verify "$work/pkg-$u.service" || fail "the packaged $u.service does not verify"
done
echo "packages: the packaged units verify"
# dpkg installs them into a scratch root of its own (the host's
# dependencies are not in its database: --force-depends), upgrades them
# in place, and removal keeps a conffile until purge.
r="$work/dpkg-root"
mkdir -p "$r/var/lib/dpkg/updates" "$r/var/lib/dpkg/info" && touch "$r/var/lib/dpkg/status"
dp() { dpkg --root="$r" --force-depends --force-script-chrootless "$@" >>"$work/dpkg.log" 2>&1; }
dp -i build/deb/*_"${version}"_"${arch}".deb && dp -i build/deb/*_"${version}"_"${arch}".deb ||
    { cat "$work/dpkg.log" >&2; fail "dpkg cannot install (or reinstall) the packages"; }
[ "$(dpkg --root="$r" -l | grep -c "^ii .* $version ")" = 4 ] || fail "dpkg does not list the 4 packages installed"
[ -L "$r/usr/lib/$triplet/libdtx.so.${version%%.*}" ] && [ -x "$r/usr/bin/dtxd" ] ||
    fail "dpkg installed no soname link or no dtxd"
dp -r dtxd && [ -f "$r/etc/dtx/dtxd.env" ] && dp -P dtxd && [ ! -e "$r/etc/dtx/dtxd.env" ] ||
    { cat "$work/dpkg.log" >&2; fail "dtxd's conffile: kept on remove, gone on purge (above)"; }
echo "packages: dpkg installs, reinstalls, removes and purges them (in a scratch root)"
lint=$(lintian --no-cfg -I build/deb/*_"${version}"_"${arch}".deb 2>&1 | grep -v '^running with root' || true)
[ -z "$lint" ] || printf '%s\n' "$lint" | sed 's/^/packages: lintian: /'
if printf '%s\n' "$lint" | grep -q '^E: '; then
    fail "lintian reports errors (above)"
fi
echo "packages: ok (units verify, readiness, 4 packages: versions, --version, libdtx, lintian: no error, $(printf '%s\n' "$lint" | grep -c '^W: ' || true) warnings)"
