#!/usr/bin/env bash
# packaging/deb.sh — the Debian packages of dtx, from an installed tree.
#
#   packaging/deb.sh ROOT OUTDIR VERSION      (make deb calls it)
#
# ROOT is `make install DESTDIR=ROOT PREFIX=/usr LIBDIR=/usr/lib/TRIPLET
# UNITDIR=... SYSCONFDIR=/etc`. Splits it into four packages, built with
# dpkg-deb alone (no debhelper, no network, no root: --root-owner-group):
#
#   libdtx1      libdtx.so.1 (the file and its soname link); shlibs,
#                symbols (every function at its version node, DTX_1 or
#                DTX_1.N, with that node's release) and the ldconfig trigger
#   libdtx-dev   headers, libdtx.a, libdtx.so, libdtx.pc
#   dtxd         dtxd, dtxctl, dtxd.service, /etc/dtx/dtxd.env (conffile)
#   dtx-gateway  dtx-gateway, dtx-gateway.service, /etc/dtx/gateway.json
#                (conffile)
#
# The version is VERSION's text, as a native package (no Debian revision:
# the packaging lives in the source tree). Depends of the binaries come
# from dpkg-shlibdeps; the daemons link libdtx statically, so only libdtx's
# own dependencies appear. Executables and the library are stripped (the
# debug information stays in build/). No maintainer script: the units are
# not enabled nor started on install (they need a database and a
# configuration first: README.md, "Install on a server"), and ldconfig
# runs through the trigger.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 ROOT OUTDIR VERSION" >&2; exit 2; }
root=$(cd "$1" && pwd -P)
out=$2
version=$3
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
libdir=usr/lib/$triplet
major=${version%%.*}
unitdir=$(cd "$root" && find . -name dtxd.service -printf '%h\n' | sed 's|^\./||')
maintainer="dtx maintainers <dtx@users.noreply.github.com>"
work=$(mktemp -d "${TMPDIR:-/tmp}/dtx-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# The changelog (native: changelog.gz): one entry for this version, dated
# by the last commit (the same bytes for the same tree), or now.
date=$(git -C "$here" log -1 --format=%cD 2>/dev/null || date -R)
cat > "$work/changelog" <<TXT
dtx ($version) unstable; urgency=medium

  * dtx $version, packaged from the source tree (its git log says what
    changed).

 -- $maintainer  $date
TXT
gzip -9n < "$work/changelog" > "$work/changelog.gz"
touch -d "$date" "$work/changelog.gz"

# s_pkg NAME: a fresh package tree with its documentation.
s_pkg() {
    local d="$work/$1"
    mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
    install -m 644 "$here/copyright" "$d/usr/share/doc/$1/copyright"
    install -m 644 "$work/changelog.gz" "$d/usr/share/doc/$1/changelog.gz"
}
# s_take NAME PATH...: moves PATHs (relative to ROOT) into the package.
s_take() {
    local pkg=$1; shift
    for p in "$@"; do
        mkdir -p "$work/$pkg/$(dirname "$p")"
        cp -a "$root/$p" "$work/$pkg/$p"
    done
}
# s_man NAME: compresses the package's manual pages (reproducibly).
s_man() {
    find "$work/$1/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
}
# s_depends FILE...: the Depends dpkg-shlibdeps computes for those ELF
# files (it wants a debian/control to stand in; it is told nothing else).
# Fails, saying why, when it fails or finds nothing.
s_depends() {
    local tmp="$work/shlibdeps" out
    rm -rf "$tmp" && mkdir -p "$tmp/debian"
    printf 'Source: dtx\n\nPackage: dtx-any\nArchitecture: any\n' > "$tmp/debian/control"
    out=$(cd "$tmp" && dpkg-shlibdeps -O --warnings=1 "$@" 2>"$tmp/err") || {
        cat "$tmp/err" >&2; echo "deb: dpkg-shlibdeps failed on $*" >&2; return 1; }
    out=$(printf '%s\n' "$out" | sed -n 's/^shlibs:Depends=//p')
    [ -n "$out" ] || { echo "deb: dpkg-shlibdeps found no dependency for $*" >&2; return 1; }
    printf '%s\n' "$out"
}
# s_control NAME SECTION MULTIARCH DEPENDS SHORT LONG [RECOMMENDS]
# (dtxd recommends libnss-systemd: its unit's DynamicUser= user must have a
# name PostgreSQL's peer authentication can look up.)
s_control() {
    local d="$work/$1"
    local size
    size=$(du -sk --exclude=DEBIAN "$d" | cut -f1)
    {
        echo "Package: $1"
        echo "Source: dtx"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $size"
        [ -z "$4" ] || echo "Depends: $4"
        [ -z "${7:-}" ] || echo "Recommends: $7"
        [ -z "$3" ] || echo "Multi-Arch: $3"
        echo "Section: $2"
        echo "Priority: optional"
        echo "Description: $5"
        printf '%s\n' "$6" | sed -e 's/^$/./' -e 's/^/ /'
    } > "$d/DEBIAN/control"
}
s_build() {
    local d="$work/$1"
    (cd "$d" && find . -path ./DEBIAN -prune -o -type f -print | LC_ALL=C sort | sed 's|^\./||' |
        xargs -r md5sum) > "$d/DEBIAN/md5sums"
    chmod 644 "$d/DEBIAN/md5sums" "$d/DEBIAN/control"
    find "$d" -type d -exec chmod 755 {} +
    dpkg-deb --root-owner-group -Zxz --build "$d" "$out/${1}_${version}_${arch}.deb" >/dev/null
    echo "deb: $out/${1}_${version}_${arch}.deb"
}

common_long="dtx coordinates distributed transactions (TCC and two-phase commit)
across services over ZeroMQ, with its log in PostgreSQL."

# libdtx1
s_pkg libdtx1
s_take libdtx1 "$libdir/libdtx.so.$version" "$libdir/libdtx.so.$major"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$work/libdtx1/$libdir/libdtx.so.$version"
echo "libdtx $major libdtx1 (>= $version)" > "$work/libdtx1/DEBIAN/shlibs"
{
    echo "libdtx.so.$major libdtx1 #MINVER#"
    echo "* Build-Depends-Package: libdtx-dev"
    # A symbol's minimum version is its node's: DTX_1 -> 1.0.0, DTX_1.1 ->
    # 1.1.0 (libdtx.map adds a node per minor release), so a program built
    # on DTX_1 functions alone still takes a libdtx1 1.0.0.
    objdump -T "$work/libdtx1/$libdir/libdtx.so.$version" |
        awk 'function since(node,  v, a) { v = node; sub(/^DTX_/, "", v); split(v, a, ".");
                                          return a[1] "." (a[2] == "" ? 0 : a[2]) ".0" }
             $2 == "g" && $NF != "" && $(NF-1) ~ /^DTX_/ { print " " $NF "@" $(NF-1) " " since($(NF-1)) }
             $(NF) ~ /^DTX_/ && $(NF-1) ~ /^DTX_/ && $4 == "*ABS*" { print " " $NF "@" $NF " " since($NF) }' |
        LC_ALL=C sort -u
} > "$work/libdtx1/DEBIAN/symbols"
echo "activate-noawait ldconfig" > "$work/libdtx1/DEBIAN/triggers"
chmod 644 "$work/libdtx1/DEBIAN/shlibs" "$work/libdtx1/DEBIAN/symbols" "$work/libdtx1/DEBIAN/triggers"
deps=$(s_depends "$work/libdtx1/$libdir/libdtx.so.$version")
s_control libdtx1 libs same "$deps" \
    "dtx participant and initiator library" \
    "$common_long

libdtx is the SDK services link to take part in dtx transactions: the
initiator (begin, try, commit, rollback), the participant (registration,
heartbeats, TCC and 2PC phase handlers), the idempotency barrier and the
PostgreSQL two-phase resource. Its ABI is the symbol versions DTX_1,
DTX_1.1 (several Tries in one request, Sagas, transactional messages) and
DTX_1.2 (a whole TCC transaction in one request)."
s_build libdtx1

# libdtx-dev
s_pkg libdtx-dev
s_take libdtx-dev usr/include/dtx "$libdir/libdtx.a" "$libdir/libdtx.so" "$libdir/pkgconfig/libdtx.pc"
strip --strip-debug --remove-section=.comment "$work/libdtx-dev/$libdir/libdtx.a"
s_control libdtx-dev libdevel same \
    "libdtx1 (= $version), libpq-dev, libzmq3-dev, libjson-c-dev" \
    "dtx participant and initiator library (development files)" \
    "$common_long

This package holds the headers (dtx/dtx.h, dtx/participant.h, dtx/barrier.h, dtx/pgres.h
and the headers they include), the static library and the pkg-config file
(pkg-config libdtx)."
s_build libdtx-dev

# dtxd
s_pkg dtxd
s_take dtxd usr/bin/dtxd usr/bin/dtxctl "$unitdir/dtxd.service" etc/dtx/dtxd.env \
    usr/share/man/man8/dtxd.8 usr/share/man/man1/dtxctl.1
strip --remove-section=.comment --remove-section=.note "$work/dtxd/usr/bin/dtxd" "$work/dtxd/usr/bin/dtxctl"
s_man dtxd
echo /etc/dtx/dtxd.env > "$work/dtxd/DEBIAN/conffiles"
chmod 644 "$work/dtxd/DEBIAN/conffiles"
deps=$(s_depends "$work/dtxd/usr/bin/dtxd" "$work/dtxd/usr/bin/dtxctl")
s_control dtxd net "" "$deps" \
    "dtx distributed transaction coordinator" \
    "$common_long

dtxd drives transactions to their end: it records every decision in its
PostgreSQL log, retries phases until participants answer, recovers after
a crash and takes over the work of a dead node. It serves an admin HTTP
API and a web console; dtxctl is their command-line client. A systemd
unit (dtxd.service, Type=notify) is included, not enabled." \
    "libnss-systemd"
s_build dtxd

# dtx-gateway
s_pkg dtx-gateway
s_take dtx-gateway usr/bin/dtx-gateway "$unitdir/dtx-gateway.service" etc/dtx/gateway.json \
    usr/share/man/man8/dtx-gateway.8
strip --remove-section=.comment --remove-section=.note "$work/dtx-gateway/usr/bin/dtx-gateway"
s_man dtx-gateway
echo /etc/dtx/gateway.json > "$work/dtx-gateway/DEBIAN/conffiles"
chmod 644 "$work/dtx-gateway/DEBIAN/conffiles"
deps=$(s_depends "$work/dtx-gateway/usr/bin/dtx-gateway")
s_control dtx-gateway net "" "$deps" \
    "dtx ingress HTTP gateway" \
    "$common_long

dtx-gateway is the HTTP edge in front of services: routing, load
balancing, health checks, rate and concurrency limits, circuit breakers,
request validation, and transactions begun and ended at the edge. A
systemd unit (dtx-gateway.service, Type=notify) is included, not enabled."
s_build dtx-gateway
