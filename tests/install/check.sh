#!/usr/bin/env bash
# tests/install/check.sh — `make install` delivers a usable SDK: installs
# into a scratch DESTDIR with PREFIX=/usr, then builds a program against the
# installed headers and library found through the installed pkg-config
# file only (static and shared), and runs it.
#   BUILD=build tests/install/check.sh
set -euo pipefail
# SAN=1 / TSAN=1: the libraries carry ASan/UBSan or TSan, so the test
# program must too.
SAN=${SAN:-0}
TSAN=${TSAN:-0}
extra=""
[ "$SAN" = 1 ] && extra="-fsanitize=address,undefined"
[ "$TSAN" = 1 ] && extra="-fsanitize=thread"
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=${BUILD:-build}
dest=$(mktemp -d /tmp/dtx-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s -C "$ROOT" BUILD="$BUILD" SAN="$SAN" TSAN="$TSAN" install DESTDIR="$dest" PREFIX=/usr >/dev/null
for f in bin/dtxd bin/dtxctl lib/libdtx.a lib/libdtx.so lib/libdtx.so.0 lib/pkgconfig/libdtx.pc \
         include/dtx/dtx.h include/dtx/barrier.h include/dtx/pgres.h include/dtx/types.h include/dtx/logging.h; do
    [ -e "$dest/usr/$f" ] || { echo "install: missing $f" >&2; exit 1; }
done
grep -qx 'prefix=/usr' "$dest/usr/lib/pkgconfig/libdtx.pc" || {
    echo "install: libdtx.pc does not say prefix=/usr" >&2; exit 1; }
cat > "$dest/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <dtx/dtx.h>
#include <dtx/barrier.h>
#include <dtx/pgres.h>
int main(void)
{
    int err = 0;
    /* nothing listens there: creating and destroying must still work */
    dtx_client_t *c = dtx_client_new("tcp://127.0.0.1:9", &err);
    if (!c) { fprintf(stderr, "dtx_client_new: %s\n", dtx_strerror(err)); return 1; }
    dtx_client_destroy(&c);
    if (c || strcmp(dtx_strerror(DTX_ENOTFOUND), "unknown error") == 0) return 1;
    printf("libdtx %s ok\n", DTX_VERSION_STRING);
    return 0;
}
C
# A second install straight into a prefix (no DESTDIR): what a user builds
# against, found through the installed pkg-config file alone.
prefix="$dest/prefix"
make -s -C "$ROOT" BUILD="$BUILD" SAN="$SAN" TSAN="$TSAN" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags=$(pkg-config --cflags libdtx)

# libdtx.so exports exactly the functions its installed headers declare:
# every header `make install` put under include/dtx, preprocessed, keeping
# only their own text; a function is a dtx_* name followed by "(" there
# (a function-pointer typedef's name is followed by ")").
(cd "$prefix/include" && ls dtx/*.h) | sed 's/.*/#include <&>/' > "$dest/api.c"
cc -E $cflags "$dest/api.c" | awk -v dir="$prefix/include/" '
    /^# [0-9]+ "/ { f = $3; gsub(/"/, "", f); keep = (index(f, dir) == 1); next }
    keep' > "$dest/api.i"
declared=$(grep -oE '\bdtx_[A-Za-z0-9_]+[[:space:]]*\(' "$dest/api.i" | sed -E 's/[[:space:]]*\($//' | sort -u)
exported=$(nm -D --defined-only "$prefix/lib/libdtx.so" | awk 'NF >= 2 { print $NF }' | sort -u)
[ "$(echo "$declared" | wc -w)" -ge 30 ] || {
    echo "install: found only $(echo "$declared" | wc -w) functions in the installed headers; the header parse is broken" >&2
    exit 1; }
undeclared=$(comm -13 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
unexported=$(comm -23 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
if [ -n "$undeclared" ] || [ -n "$unexported" ]; then
    [ -z "$undeclared" ] || echo "install: libdtx.so exports symbols that no installed header declares (hide them, or declare them with DTX_EXPORT in an installed header): $undeclared" >&2
    [ -z "$unexported" ] || echo "install: functions the installed headers declare that libdtx.so does not export (DTX_EXPORT missing on the declaration?): $unexported" >&2
    exit 1
fi
echo "install: libdtx.so exports the $(echo "$exported" | wc -w) functions its installed headers declare, nothing else"
cc -std=c11 -Wall -Werror $extra $cflags "$dest/app.c" -o "$dest/app-shared" $(pkg-config --libs libdtx)
LD_LIBRARY_PATH="$prefix/lib" "$dest/app-shared"
cc -std=c11 -Wall -Werror $extra $cflags "$dest/app.c" -o "$dest/app-static" \
    "$prefix/lib/libdtx.a" $(pkg-config --libs libpq libzmq json-c) -lpthread
"$dest/app-static"
"$prefix/bin/dtxd" --help >/dev/null
echo "install: ok (headers, static and shared library, pkg-config file, dtxd)"
