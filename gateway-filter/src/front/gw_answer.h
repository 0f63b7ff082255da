/*
 * gw_answer.h — a request's answer queued on its connection (gw_answer.c),
 * for the request's state machine (gw_request.c). Each returns what
 * MHD_queue_response returned (MHD_NO: out of memory, or the connection
 * is closing) and sets req.final_status.
 */
#ifndef DTX_GW_ANSWER_H
#define DTX_GW_ANSWER_H

#include <microhttpd.h>

#include "front/gw_rctx.h"

/* The local answer (req.reply), or the route cache's object the request
 * is served from (filters/gw_cache_filter.h), with the reply's headers,
 * the route's response transform and X-Request-Id. */
enum MHD_Result dtx_gw_answer_local(dtx_gw_rctx_t *c);

/* The upstream's answer: from memory when `buffered` (the body handed to
 * MHD without a copy; the route's JSON field filter and the cache's
 * capture apply), else streamed from the call as it comes. The
 * upstream's headers but those the gateway sets itself (Dtx-Gid, the
 * reply's), then the gateway's. */
enum MHD_Result dtx_gw_answer_upstream(dtx_gw_rctx_t *c, int buffered);

#endif
