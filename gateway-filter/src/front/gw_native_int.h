/*
 * gw_native_int.h — what the native engine (gw_native.c: listener, run
 * lists, timers), its connections (gw_nconn.c: one connection's state
 * machine) and their socket I/O (gw_nio.c) share, and nothing else
 * includes: the engine's state and a connection's. Not an interface: the
 * three files see every field. The arrows go one way: gw_native.c calls
 * gw_nconn.c, which calls gw_nio.c; a connection puts itself on the
 * engine's lists. Everything runs on the worker's thread but the async
 * list and the handed-over connections, which are under `lock`.
 */
#ifndef DTX_GW_NATIVE_INT_H
#define DTX_GW_NATIVE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>

#include "core/gw_event.h"
#include "core/gw_http1.h"
#include "core/gw_reqhead.h"
#include "dtx/heap.h"
#include "front/gw_front.h"
#include "front/gw_server_int.h"
#include "front/gw_server_opts.h"
#include "front/gw_request.h"

typedef struct dtx_gw_nconn dtx_gw_nconn_t;
typedef struct dtx_gw_native dtx_gw_native_t;   /* as in gw_native.h */

/* Connections another worker accepted and handed to this one, not taken
 * yet (gw_native.c, the accept balance): at most this many wait; beyond,
 * the accepting worker keeps the connection. */
#define DTX_GW_HANDOFF_MAX 64

typedef struct dtx_gw_handoff {
    int                     fd;
    socklen_t               peer_len;
    struct sockaddr_storage peer;
} dtx_gw_handoff_t;

struct dtx_gw_native {
    dtx_gw_worker_t      *w;
    dtx_gw_native_opts_t  opts;
    dtx_gw_event_source_t listen_src;    /* DTX_GW_EV_ACCEPT */
    int                   lfd;           /* -1 once quiesced */
    int                   port;
    dtx_gw_nconn_t       *all;           /* every connection (all_next) */
    int                   nconns;
    dtx_gw_nconn_t       *run_head, *run_tail;  /* to run on this thread */
    pthread_mutex_t       lock;
    dtx_gw_nconn_t       *async_head;    /* resumed by other threads (lock) */
    atomic_int            async_n;
    dtx_gw_handoff_t      handoff[DTX_GW_HANDOFF_MAX];  /* handed to it (lock) */
    int                   nhandoff;      /* entries in handoff (lock) */
    atomic_int            handoff_n;     /* nhandoff, read without the lock */
    dtx_heap_t            timers;        /* connection deadlines */
    time_t                date_at;
    char                  date[40];      /* the Date of answers, for date_at */
};

/* What a step of a connection returns: go on, wait for an event or a
 * resume, or close. */
enum { DTX_GW_NC_GO, DTX_GW_NC_WAIT, DTX_GW_NC_END };

/* Timer kinds (dtx_gw_nconn_t.tkind). */
enum { DTX_GW_NT_NONE, DTX_GW_NT_IDLE, DTX_GW_NT_HEAD, DTX_GW_NT_BODY, DTX_GW_NT_SEND,
       DTX_GW_NT_LINGER };

struct dtx_gw_nconn {
    dtx_gw_event_source_t src;           /* DTX_GW_EV_CONN; first */
    dtx_gw_native_t      *eng;
    int                   fd;
    struct sockaddr_storage peer;
    char                  ip[48];        /* peer as text, "" until asked */
    int                   state;         /* gw_nconn.c's S_* */
    /* readiness (edge-triggered: kept until a read / write says EAGAIN) */
    int                   readable, writable, rdhup, hup;
    int                   suspended, in_run, told_left;
    int                   on_run, on_async, dead;
    int                   served;        /* requests answered on this connection */
    dtx_gw_nconn_t       *all_next, *all_prev, *run_next, *async_next;
    /* the read buffer: [0, head_len) the request's head while it lives,
     * [pos, len) bytes not decoded yet */
    char                 *buf;
    size_t                cap, len, pos, head_len;
    dtx_gw_reqhead_t      head;
    /* the request */
    dtx_gw_rctx_t        *rc;
    int                   keep_alive;
    int                   body_done, final_called, sent_continue, idle_calls;
    int64_t               body_left;     /* Content-Length bytes still to come */
    dtx_gw_http1_resp_t   chunk;         /* chunked body decoder */
    const char           *piece;         /* decoded body bytes the request has not taken */
    size_t                piece_len;
    /* the answer */
    int                   answered;
    dtx_gw_out_t          out;
    int                   out_kind;      /* dtx_gw_nout_body_t */
    int                   read_end;
    dtx_gw_buf_t          wbuf;          /* head, or a chunk's size line */
    size_t                wpos;
    const char           *wbody;
    size_t                wbody_len, woff;
    const char           *wtail;         /* a chunk's CRLF, the last chunk */
    size_t                wtail_len;
    char                 *sbuf;          /* a read body's piece */
    char                  errbody[200];  /* the engine's own refusals */
    /* its deadline */
    dtx_heap_node_t       timer;
    int                   tkind;
    int                   progress;      /* bytes moved since the timer was set */
};

#endif
