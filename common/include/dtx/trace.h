/*
 * dtx/trace.h — W3C trace context (https://www.w3.org/TR/trace-context/),
 * the `traceparent` that follows a request from the gateway through dtxd
 * to every branch.
 *
 * dtx carries one form only, version 00, 55 characters, lower-case hex:
 *
 *     00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
 *
 * with neither id all zeros. That is what dtx_trace_valid accepts and what
 * every other function here writes. dtx_trace_parse is the lenient reader
 * for what arrives from outside (an HTTP header): it applies the spec's
 * rules for versions above 00 (read the first 55 characters, keep only the
 * sampled flag) and normalises to version 00.
 *
 * Pure functions over caller buffers; dtx_trace_new and dtx_trace_child
 * draw random bits from dtx_random_u64 (dtx/id.h).
 */
#ifndef DTX_TRACE_H
#define DTX_TRACE_H

#include <stddef.h>

#include "dtx/types.h"

#define DTX_TRACE_ID_HEX     32  /* trace-id hex digits */
#define DTX_TRACE_SPAN_HEX   16  /* parent-id hex digits */

/* Returns 1 when s (NUL-terminated) is exactly a version-00 traceparent as
 * dtx carries it: 55 characters, lower-case hex, dashes in place, ids not
 * all zeros. Returns 0 otherwise, also for NULL. */
int dtx_trace_valid(const char *s);

/* Reads a traceparent header value s of len bytes (not NUL-terminated,
 * leading and trailing spaces and tabs ignored) as the W3C spec says a
 * receiver must: version 00 is exactly 55 characters; a higher version
 * (not ff) is at least 55, and when longer its 56th character is '-'; it
 * keeps the trace-id and parent-id and, for a higher version, only the
 * sampled bit of the flags. Writes the normalised version-00 form into
 * out. Returns 0, or DTX_EINVAL (out is then "") for anything else: bad
 * length, upper-case or non-hex digits, version ff, an all-zero id. */
int dtx_trace_parse(const char *s, size_t len, char out[DTX_TRACEPARENT_SIZE]);

/* Writes a new traceparent into out: a random trace-id and parent-id
 * (never all zeros), flags 01 (sampled) — what a service that starts a
 * trace (the gateway for a request without a valid one, dtxd for a BEGIN
 * without one) sends. Returns 0 (cannot fail). */
int dtx_trace_new(char out[DTX_TRACEPARENT_SIZE]);

/* Writes into out the traceparent of a new span under parent (a valid
 * one): the same trace-id and flags, a new random parent-id. out may be
 * parent. Returns 0 or DTX_EINVAL when parent is not valid (out "").*/
int dtx_trace_child(const char *parent, char out[DTX_TRACEPARENT_SIZE]);

/* Copies the 32 hex digits of tp's trace-id into out (33 bytes, NUL
 * terminated); "" when tp is not valid. Returns out. */
char *dtx_trace_id(const char *tp, char out[DTX_TRACE_ID_HEX + 1]);

#endif
