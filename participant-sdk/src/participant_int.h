/*
 * participant_int.h — what the files of the participant side of libdtx
 * share (participant.c, participant_link.c, participant_recv.c): the
 * participant object, its links and served resources, and the functions
 * one file calls in another. Not installed; every function is hidden.
 */
#ifndef DTX_PARTICIPANT_INT_H
#define DTX_PARTICIPANT_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <zmq.h>

#include "dtx/bundle.h"
#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "sdk_internal.h"

#define DTX_STALE_INTERVALS   3     /* silent intervals before registering again */
#define DTX_STOP_CHECK_MS     100   /* longest wait between checks of the stop flag */
#define DTX_DRAIN_MAX         64    /* messages read from one link per pass */
#define DTX_REPLY_MAX         256   /* a PHASE_REPLY without payload fits */
#define DTX_HANDSHAKE_LOG_MS  60000 /* repeated handshake failures: one line per */
#define DTX_DB_FAIL_LOG_MS    5000  /* handler failures for DTX_EDB: one line per */
#define DTX_HANDSHAKE_DROPS   5     /* drops during handshakes before one is logged */
#define DTX_REPLY_HOLD_US     2000  /* a queued reply waits for the end of the pass only
                                       while handlers are quick: once the oldest has
                                       waited this long, or the last handler ran this
                                       long, the queue goes before the next handler */

/* One served resource. */
struct served_resource {
    char               name[DTX_NAME_SIZE]; /* resource name */
    dtx_tcc_handlers_t tcc;                 /* from dtx_participant_serve; zero when none */
    dtx_2pc_handlers_t twopc;               /* from dtx_participant_serve_2pc; zero when none */
    dtx_saga_handlers_t saga;               /* from dtx_participant_serve_saga; zero when none */
    dtx_tmsg_handlers_t tmsg;               /* from dtx_participant_serve_tmsg; zero when none */
};

/* One coordinator endpoint and its registration state. */
struct coord_link {
    char    *endpoint;                    /* as given to dtx_participant_connect */
    void    *sock;                        /* DEALER to the coordinator */
    int      sock_fd;                     /* its ZMQ_FD */
    int      sock_drained;                /* 1: a read found sock empty (EAGAIN) and
                                             sock_calls was sock_drained_at then: no call
                                             on it since, so only sock_fd can bring news
                                             and it is polled as a plain descriptor */
    uint64_t sock_calls;                  /* sends on sock (dtx_plink_send) */
    uint64_t sock_drained_at;
    void    *monitor;                     /* PAIR receiving sock's connection events */
    int      monitor_fd;                  /* its ZMQ_FD */
    int      monitor_quiet;               /* 1: read to EAGAIN (or polled empty) and not
                                             touched since: no event can wait until
                                             monitor_fd wakes (zmq_getsockopt(3)'s ZMQ_FD
                                             rule), so it is polled as a plain descriptor */
    char     coordinator[DTX_NAME_SIZE];  /* id of the coordinator that acked us; "" none */
    uint8_t *acked;                       /* per resource: REGISTER_OK since the last round */
    int      pending;                     /* a registration round is not fully sent */
    int      next_resource;               /* next resource of the pending round to send */
    int      registered;                  /* every resource acked by `coordinator` */
    uint32_t coordinator_hb_ms;           /* interval the coordinator asked for; 0 none */
    uint64_t round_corr;                  /* corr of the first REGISTER of the latest round */
    uint64_t round_last_corr;             /* corr of its latest REGISTER sent */
    uint64_t prev_round_corr;             /* the same two of the round before, whose */
    uint64_t prev_round_last_corr;        /*   answers may still be on their way */
    int      refused;                     /* a REGISTER was refused since the last REGISTER_OK */
    int      refusal_logged;              /* this round's refusal is in the log */
    int      curve;                       /* the socket is a CurveZMQ client of curve_keys */
    dtx_curve_keys_t curve_keys;          /* its credentials (wiped on close) */
    int      connected;                   /* a handshake succeeded, no disconnect since */
    unsigned handshake_failures;          /* failed handshakes since the last success */
    int      handshake_logged;            /* one of them is in the log */
    int64_t  handshake_logged_ms;         /* when the last one was logged (mono) */
    int64_t  reopen_ms;                   /* ZeroMQ gave the connection up: new socket
                                             then (mono); 0 none */
    int      dropped;                     /* an up connection ended and ZeroMQ has not
                                             said it retries (CONNECT_RETRIED) yet */
    int64_t  last_ok_ms;                  /* last REGISTER_OK / HEARTBEAT_OK (mono) */
    int64_t  last_round_ms;               /* when the latest round started (mono) */
    int64_t  next_heartbeat_ms;           /* when the next HEARTBEAT is due (mono) */
    uint8_t  version;                     /* protocol version spoken on it (2, or 1) */
    int      coord_bundle;                /* the latest REGISTER_OK carried tag 2: replies
                                             may go in BUNDLEs (0 again at a new round) */
    dtx_bundle_t replies;                 /* PHASE_REPLYs of this pass, sent at its end */
    int64_t  replies_since_us;            /* when the oldest of them was queued (mono) */
};

struct dtx_participant {
    void                   *ctx;                     /* ZeroMQ context, owned */
    char                    instance[DTX_NAME_SIZE]; /* this instance's name */
    struct served_resource *resources;               /* served resources */
    int                     nresources;              /* used entries */
    int                     resources_cap;           /* allocated entries */
    struct coord_link     **links;                   /* one per coordinator endpoint; stable
                                                        addresses, a handler may add one */
    int                     nlinks;                  /* used entries */
    zmq_pollitem_t         *items;                   /* 2 per link: sock, monitor */
    int                     heartbeat_ms;            /* configured interval */
    uint64_t                next_corr;               /* corr of our next request */
    unsigned                monitor_seq;             /* names monitor endpoints */
    char                   *curve_env_file;          /* DTX_CURVE_KEY_FILE at _new, not yet
                                                        loaded; NULL none */
    dtx_curve_keys_t        curve;                   /* credentials of later links */
    int                     curve_on;                /* curve holds loaded keys */
    uint8_t                *buf;                     /* DTX_MSG_MAX receive buffer */
    int64_t                 db_failure_logged_ms;    /* last DTX_EDB handler failure logged */
    unsigned                db_failures;             /* DTX_EDB failures since then */
    dtx_msg_t               msg;                     /* message being handled */
    atomic_int              stop;                    /* set by dtx_participant_stop: any thread or a signal handler (lock-free) */
    dtx_ready_fn            on_ready;                /* dtx_participant_set_ready; NULL none */
    void                   *ready_arg;               /* passed to on_ready */
    int                     ready_pending;           /* on_ready not called yet */
    int                     bundle_on;               /* DTX_BUNDLE is not "0": REGISTER says
                                                        tag 2, replies may go in BUNDLEs */
    int                     slow_handler;            /* the last handler ran for
                                                        DTX_REPLY_HOLD_US or more */
};

/* Monotonic microseconds: how long replies wait (DTX_REPLY_HOLD_US). */
static inline int64_t dtx_plink_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* participant_link.c: one link per coordinator endpoint. */

/* The heartbeat interval used with link: ours, or the coordinator's when
 * it asked for a shorter one, never outside participant_timing.h's bounds. */
DTX_SDK_PRIVATE int dtx_plink_interval(const dtx_participant_t *self,
                                       const struct coord_link *link);
/* Starts a registration round on link: every resource is (re)sent. */
DTX_SDK_PRIVATE void dtx_plink_round_start(dtx_participant_t *self, struct coord_link *link,
                                           int64_t now);
/* Encodes msg (with a fresh corr unless it is a reply) and sends it on
 * link without blocking: 0, DTX_ETIMEOUT (no connection), DTX_EIO or
 * DTX_EINTERNAL (msg does not encode; logged). */
DTX_SDK_PRIVATE int dtx_plink_send(dtx_participant_t *self, struct coord_link *link,
                                   dtx_msg_t *msg);
/* Answers a PHASE on link: into the link's BUNDLE of this pass when the
 * coordinator accepts them (dtx_plink_reply_flush sends it), else at once
 * as dtx_plink_send. 0, DTX_ETIMEOUT, DTX_EIO or DTX_EINTERNAL. */
DTX_SDK_PRIVATE int dtx_plink_reply(dtx_participant_t *self, struct coord_link *link,
                                    dtx_msg_t *reply);
/* End of a pass over link: sends its queued replies (one plain, more as
 * one BUNDLE). 0, or DTX_EIO when the socket failed (logged). */
DTX_SDK_PRIVATE int dtx_plink_reply_flush(dtx_participant_t *self, struct coord_link *link);
/* Makes and connects link's sockets: 0, DTX_EINVAL or DTX_EIO. */
DTX_SDK_PRIVATE int dtx_plink_open(dtx_participant_t *self, struct coord_link *link);
/* Closes link's sockets and frees what it holds (not link itself). */
DTX_SDK_PRIVATE void dtx_plink_close(struct coord_link *link);
/* Reads the connection events of link's socket. */
DTX_SDK_PRIVATE void dtx_plink_events(dtx_participant_t *self, struct coord_link *link,
                                      int64_t now);
/* Timers of every link; returns when the next is due (mono ms). */
DTX_SDK_PRIVATE int64_t dtx_plink_timers(dtx_participant_t *self, int64_t now, int *rc);

/* participant_recv.c: what a coordinator sends. */

/* Reads and handles what link has received (bounded): 0 or DTX_EIO. */
DTX_SDK_PRIVATE int dtx_precv_drain(dtx_participant_t *self, struct coord_link *link);

#endif
