#!/usr/bin/env bash
# tests/install/check.sh — `make install` delivers a usable SDK: installs
# into a scratch DESTDIR with PREFIX=/usr (dtxd, dtxctl, dtx-gateway, the
# library and its links, the systemd units, /etc/dtx examples, man pages;
# the version everywhere is VERSION's), then builds a program against the installed
# headers and library found through the installed pkg-config file only
# (static and shared), and runs it; checks that libdtx writes nothing to
# stderr by itself and that the samples include only installed headers;
# then runs README.md's "Run it yourself" as written (tests/install/readme.sh).
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
version=$(cat "$ROOT/VERSION")
major=${version%%.*}
dest=$(mktemp -d /tmp/dtx-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
make -s -C "$ROOT" BUILD="$BUILD" SAN="$SAN" TSAN="$TSAN" install DESTDIR="$dest" PREFIX=/usr >/dev/null
for f in bin/dtxd bin/dtxctl bin/dtx-gateway lib/libdtx.a lib/libdtx.so lib/libdtx.so.$major \
         lib/libdtx.so.$version lib/pkgconfig/libdtx.pc \
         include/dtx/dtx.h include/dtx/participant.h include/dtx/barrier.h include/dtx/pgres.h \
         include/dtx/types.h \
         include/dtx/logging.h include/dtx/version.h include/dtx/zsvc.h \
         lib/systemd/system/dtxd.service lib/systemd/system/dtx-gateway.service \
         share/man/man8/dtxd.8 share/man/man8/dtx-gateway.8 share/man/man1/dtxctl.1; do
    [ -e "$dest/usr/$f" ] || { echo "install: missing $f" >&2; exit 1; }
done
for f in dtxd.env gateway.json; do
    [ -f "$dest/etc/dtx/$f" ] || { echo "install: missing /etc/dtx/$f (PREFIX=/usr)" >&2; exit 1; }
done
# The links a linker and the loader need: libdtx.so (-ldtx) and the
# soname libdtx.so.MAJOR, both to the one file.
[ "$(readlink "$dest/usr/lib/libdtx.so")" = "libdtx.so.$major" ] &&
[ "$(readlink "$dest/usr/lib/libdtx.so.$major")" = "libdtx.so.$version" ] &&
[ -f "$dest/usr/lib/libdtx.so.$version" ] && [ ! -L "$dest/usr/lib/libdtx.so.$version" ] || {
    echo "install: want libdtx.so -> libdtx.so.$major -> libdtx.so.$version (a file)" >&2; exit 1; }
soname=$(readelf -d "$dest/usr/lib/libdtx.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libdtx.so.$major" ] || {
    echo "install: libdtx's soname is '$soname', not libdtx.so.$major" >&2; exit 1; }
# One version everywhere: VERSION, the programs, the header, the .pc file.
for b in dtxd dtxctl dtx-gateway; do
    [ "$("$dest/usr/bin/$b" --version)" = "$b $version" ] || {
        echo "install: $b --version does not say '$b $version'" >&2; exit 1; }
done
grep -qx "#define DTX_VERSION_STRING \"$version\"" "$dest/usr/include/dtx/version.h" &&
grep -qx "Version: $version" "$dest/usr/lib/pkgconfig/libdtx.pc" || {
    echo "install: dtx/version.h or libdtx.pc does not carry version $version" >&2; exit 1; }
"$dest/usr/bin/dtx-gateway" --help >/dev/null 2>&1 || {
    echo "install: the installed dtx-gateway does not run (--help)" >&2; exit 1; }
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
# Every export carries a version node of libdtx.map, DTX_1 or a later
# DTX_1.N (the default version, @@); the nodes themselves are absolute
# symbols, not functions.
exported_versioned=$(nm -D --defined-only "$prefix/lib/libdtx.so" | awk 'NF >= 3 && $2 != "A" { print $NF }' | sort -u)
exported=$(echo "$exported_versioned" | sed 's/@.*//' | sort -u)
unversioned=$(echo "$exported_versioned" | grep -vE '@@DTX_1(\.[0-9]+)?$' | tr '\n' ' ' || true)
[ -z "$unversioned" ] || {
    echo "install: libdtx.so exports symbols outside the version nodes DTX_1 and DTX_1.N: $unversioned" >&2; exit 1; }
# participant-sdk/libdtx.map lists exactly those names.
mapped=$(sed -e 's|/\*.*\*/||' -e '/\/\*/,/\*\//d' "$ROOT/participant-sdk/libdtx.map" |
         grep -oE '^[[:space:]]*dtx_[A-Za-z0-9_]+;' | tr -d ' ;\t' | sort -u)
[ "$(echo "$declared" | wc -w)" -ge 30 ] || {
    echo "install: found only $(echo "$declared" | wc -w) functions in the installed headers; the header parse is broken" >&2
    exit 1; }
unmapped=$(comm -23 <(echo "$declared") <(echo "$mapped") | tr '\n' ' ')
stale=$(comm -13 <(echo "$declared") <(echo "$mapped") | tr '\n' ' ')
if [ -n "$unmapped" ] || [ -n "$stale" ]; then
    [ -z "$unmapped" ] || echo "install: functions the installed headers declare that participant-sdk/libdtx.map does not list (add them to a version node: a new one, DTX_1.1, if DTX_1 was released): $unmapped" >&2
    [ -z "$stale" ] || echo "install: participant-sdk/libdtx.map lists functions no installed header declares: $stale" >&2
    exit 1
fi
undeclared=$(comm -13 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
unexported=$(comm -23 <(echo "$declared") <(echo "$exported") | tr '\n' ' ')
if [ -n "$undeclared" ] || [ -n "$unexported" ]; then
    [ -z "$undeclared" ] || echo "install: libdtx.so exports symbols that no installed header declares (hide them, or declare them with DTX_EXPORT in an installed header): $undeclared" >&2
    [ -z "$unexported" ] || echo "install: functions the installed headers declare that libdtx.so does not export (DTX_EXPORT missing on the declaration?): $unexported" >&2
    exit 1
fi
echo "install: libdtx.so exports the $(echo "$exported" | wc -w) functions its installed headers declare and libdtx.map lists, all at DTX_1 or DTX_1.N, nothing else"
cc -std=c11 -Wall -Werror $extra $cflags "$dest/app.c" -o "$dest/app-shared" $(pkg-config --libs libdtx)
LD_LIBRARY_PATH="$prefix/lib" "$dest/app-shared"
cc -std=c11 -Wall -Werror $extra $cflags "$dest/app.c" -o "$dest/app-static" \
    "$prefix/lib/libdtx.a" $(pkg-config --libs libpq libzmq json-c) -lpthread
"$dest/app-static"
"$prefix/bin/dtxd" --help >/dev/null

# libdtx never writes to the host's stderr by itself: with no log handler
# set, a client that times out, a participant whose coordinator is not
# there and (with the tests' PostgreSQL) a 2PC resource opened twice on one
# database — its second migration draws NOTICEs, which libpq's default
# processor would print — leave stderr empty.
cat > "$dest/quiet.c" <<'C'
#include <stdio.h>
#include <dtx/dtx.h>
#include <dtx/pgres.h>
static int work(PGconn *conn, const dtx_call_t *call, void *arg)
{ (void)conn; (void)call; (void)arg; return 0; }
int main(int argc, char **argv)
{
    int err = 0;
    char gid[DTX_GID_SIZE];
    dtx_client_t *c = dtx_client_new("tcp://127.0.0.1:9", &err);
    if (!c) return 1;
    dtx_client_set_timeout(c, 300);
    if (dtx_client_begin(c, DTX_MODE_TCC, 1000, gid) == 0) return 1;
    dtx_client_destroy(&c);
    dtx_participant_t *p = dtx_participant_new("quiet-1", &err);
    if (!p) return 1;
    dtx_participant_set_heartbeat(p, 50);
    if (dtx_participant_connect(p, "tcp://127.0.0.1:9") != 0) return 1;
    dtx_participant_poll(p, 400);
    dtx_participant_destroy(&p);
    for (int i = 0; argc > 1 && i < 2; i++) {
        dtx_pgres_t *pg = dtx_pgres_new(argv[1], work, NULL, &err, NULL, 0);
        if (!pg) return 3; /* e.g. max_prepared_transactions = 0 */
        dtx_pgres_destroy(&pg);
    }
    return 0;
}
C
cc -std=c11 -Wall -Werror $extra $cflags "$dest/quiet.c" -o "$dest/quiet" $(pkg-config --libs libdtx) \
    $(pkg-config --libs libpq)
quiet_db=()
if [ -n "${DTX_TEST_PGHOST:-}" ]; then
    "$ROOT/tests/harness/pg.sh" createdb "$DTX_TEST_PGHOST" dtx_install_quiet >/dev/null
    quiet_db=("host=$DTX_TEST_PGHOST port=${DTX_TEST_PGPORT:-5432} user=postgres dbname=dtx_install_quiet")
fi
quiet_rc=0
LD_LIBRARY_PATH="$prefix/lib" "$dest/quiet" "${quiet_db[@]}" 2>"$dest/quiet.err" || quiet_rc=$?
if [ "$quiet_rc" -ne 0 ] && [ "$quiet_rc" -ne 3 ]; then
    echo "install: the stderr check program failed (exit $quiet_rc)" >&2; exit 1
fi
if [ -s "$dest/quiet.err" ]; then
    echo "install: libdtx wrote to stderr with no log handler set:" >&2
    sed 's/^/    /' "$dest/quiet.err" >&2
    exit 1
fi
echo "install: libdtx wrote nothing to stderr (no handler set${quiet_db:+; pgres opened twice})"
# The samples (and the benchmark's participant) include only installed
# headers: the Makefile compiles them against a copy of exactly those
# (STAGED_HEADERS); this says so in words when someone adds an include.
bad_includes=$(cd "$ROOT" && grep -HnoE '#include [<"]dtx/[a-z_]+\.h[>"]' samples/*.c samples/*/*.c samples/*.h \
                   samples/*/*.h bench/bench_participant.c 2>/dev/null |
               while IFS= read -r hit; do
                   h=${hit##*dtx/}; h=${h%[>\"]}
                   [ -e "$prefix/include/dtx/$h" ] || echo "$hit"
               done)
if [ -n "$bad_includes" ]; then
    echo "install: samples include headers make install does not install:" >&2
    echo "$bad_includes" | sed 's/^/    /' >&2
    exit 1
fi
echo "install: the samples include only installed headers"
# README.md's "Run it yourself", command by command (tests/install/readme.sh).
# Its reader builds without sanitizers: a program cc builds there cannot
# load an ASan or TSan libdtx.so, so SAN=1 and TSAN=1 runs skip it.
if [ "$SAN" = 0 ] && [ "$TSAN" = 0 ]; then
    BUILD="$BUILD" "$ROOT/tests/install/readme.sh"
    readme=", README's Run it yourself"
else
    readme=""
    echo "install: README's Run it yourself skipped (SAN=$SAN TSAN=$TSAN)"
fi
echo "install: ok (headers, static and shared library with its links, pkg-config file, dtxd, dtxctl, dtx-gateway, units, /etc/dtx examples, man pages, version $version$readme)"
