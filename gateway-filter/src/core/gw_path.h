/*
 * gw_path.h — path normalisation: the one form of a request path that
 * routes are matched against and that goes upstream.
 *
 * Invariants of a normalised path: it starts with '/'; it holds no empty
 * segment ("//"), no "." or ".." segment, no trailing '/' (but for "/"
 * itself); every byte is a printable ASCII character other than ';';
 * every '%' starts a "%XX" with upper-case hex that encodes a byte which is
 * not unreserved (RFC 3986 2.3), not '/', not NUL. So two paths that an
 * RFC 3986 server treats as the same resource normalise to the same bytes.
 *
 * Steps, in order (docs/gateway.md, "Path normalisation", has the table):
 *  1. refuse: not starting with '/', a control byte or space, a
 *     malformed '%', %2F (an encoded '/'), %00, a ';' (path parameters);
 *  2. percent-decode unreserved characters (%6C -> l), upper-case the hex
 *     of every other escape (%3b -> %3B); a raw byte >= 0x80 is escaped;
 *  3. remove dot segments (RFC 3986 5.2.4); a ".." above the root is
 *     refused; empty segments are dropped ("//a" -> "/a");
 *  4. drop a trailing '/' ("/a/" -> "/a").
 */
#ifndef DTX_GW_PATH_H
#define DTX_GW_PATH_H

#include <stddef.h>

/* Normalises raw (a request target's path, no query, NUL-terminated) into
 * out (cap bytes, NUL-terminated). Returns the length written, or
 * DTX_EINVAL when the path is refused (*reason, when given, names why: a
 * static string), DTX_ENOSPC when out is too small (cap >= 3 * strlen(raw)
 * + 2 always suffices). */
int dtx_gw_path_normalize(const char *raw, char *out, size_t cap, const char **reason);

/* Does the query (raw, without '?') hold a byte no request target may carry
 * (control bytes, space)? 1 yes, 0 no. */
int dtx_gw_path_query_bad(const char *query);

#endif
