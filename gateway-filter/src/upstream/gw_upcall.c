/*
 * gw_upcall.c — one upstream call's bookkeeping (gw_upcall.h): the
 * worker's ready and waiting lists, the call's deadline, the client
 * watch, the end of an attempt and of a failed call. Below both the call
 * (gw_proxy.c) and the exchange (gw_exchange.c), calling neither.
 */
#include <stdatomic.h>
#include <sys/epoll.h>

#include "core/gw_clock.h"
#include "upstream/gw_upcall.h"

/* ---------------- deadlines ---------------- */

void dtx_gw_call_deadline_clear(dtx_gw_upstream_t *up)
{
    dtx_heap_remove(&up->loop->deadlines, &up->deadline);
}

/* Sets the call's deadline (-1: none). Returns 0 or DTX_ENOMEM. */
int dtx_gw_call_deadline(dtx_gw_upstream_t *up, int64_t due_us)
{
    if (due_us < 0) {
        dtx_heap_remove(&up->loop->deadlines, &up->deadline);
        return 0;
    }
    return dtx_heap_set(&up->loop->deadlines, &up->deadline, due_us);
}

/* ---------------- lists ---------------- */

static void s_ready_push(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (up->in_ready)
        return;
    up->in_ready = 1;
    up->ready_next = NULL;
    up->ready_prev = l->ready_tail;
    if (l->ready_tail)
        l->ready_tail->ready_next = up;
    else
        l->ready_head = up;
    l->ready_tail = up;
}

void dtx_gw_call_ready_remove(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!up->in_ready)
        return;
    up->in_ready = 0;
    if (up->ready_prev)
        up->ready_prev->ready_next = up->ready_next;
    else
        l->ready_head = up->ready_next;
    if (up->ready_next)
        up->ready_next->ready_prev = up->ready_prev;
    else
        l->ready_tail = up->ready_prev;
    up->ready_prev = up->ready_next = NULL;
}

void dtx_gw_call_waiting_push(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (up->in_waiting || up->client_fd < 0 || up->watching)
        return;
    up->in_waiting = 1;
    up->wait_next = NULL;
    up->wait_prev = l->waiting_tail;
    if (l->waiting_tail)
        l->waiting_tail->wait_next = up;
    else
        l->waiting_head = up;
    l->waiting_tail = up;
}

void dtx_gw_call_waiting_remove(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!up->in_waiting)
        return;
    up->in_waiting = 0;
    if (up->wait_prev)
        up->wait_prev->wait_next = up->wait_next;
    else
        l->waiting_head = up->wait_next;
    if (up->wait_next)
        up->wait_next->wait_prev = up->wait_prev;
    else
        l->waiting_tail = up->wait_prev;
    up->wait_prev = up->wait_next = NULL;
}

/* Is the wait the call is armed for over? */
static int s_wait_over(const dtx_gw_upstream_t *up)
{
    if (up->failed)
        return 1;
    if (up->want_write)              /* room in the window, or the answer */
        return up->done || up->headers_done ||
               up->sbuf.len - (dtx_gw_call_body_sent(up) - up->sbase) < S_STREAM_WINDOW / 2;
    if (up->phase == S_PHASE_HEADERS)
        return up->headers_done && (!up->buffer_whole || up->done);
    return up->len > up->off || up->done;
}

void dtx_gw_call_check(dtx_gw_upstream_t *up)
{
    if (up->armed && s_wait_over(up))
        s_ready_push(up);
}

/* ---------------- client watch ---------------- */

void dtx_gw_call_unwatch(dtx_gw_upstream_t *up)
{
    dtx_gw_call_waiting_remove(up);
    if (up->watching) {
        epoll_ctl(up->loop->epfd, EPOLL_CTL_DEL, up->client_fd, NULL);
        up->watching = 0;
    }
}

/* ---------------- the end of an attempt, a failed call ---------------- */

/* Ends the attempt on the current target, feeding the pool. */
void dtx_gw_call_attempt_over(dtx_gw_upstream_t *up, int outcome)
{
    if (up->target >= 0) {
        atomic_fetch_sub(&up->pool->targets[up->target].in_flight, 1);
        dtx_gw_pool_record(up->pool, up->target, dtx_gw_loop_us(), outcome);
        up->target = -1;
    }
}

void dtx_gw_call_fail(dtx_gw_upstream_t *up, int error)
{
    if (up->req->upstream_error == DTX_GW_UPERR_NONE || !up->headers_done)
        up->req->upstream_error = error;
    if (up->phase == S_PHASE_HEADERS)
        up->failed = 1;              /* nothing went to the client yet: an error answer */
    else
        up->cut = 1;                 /* the stream to the client is cut */
    up->done = 1;
    dtx_gw_call_release(up, 0);
    dtx_gw_call_deadline_clear(up);
    dtx_gw_call_unwatch(up);
    dtx_gw_call_check(up);
}

/* ---------------- the connection ---------------- */

void dtx_gw_call_zwait_push(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (up->zwaiting)
        return;
    up->zwaiting = 1;
    up->zw_next = NULL;
    up->zw_prev = l->zwait_tail;
    if (l->zwait_tail)
        l->zwait_tail->zw_next = up;
    else
        l->zwait_head = up;
    l->zwait_tail = up;
}

void dtx_gw_call_zwait_remove(dtx_gw_upstream_t *up)
{
    dtx_gw_upstreams_t *l = up->loop;
    if (!up->zwaiting)
        return;
    up->zwaiting = 0;
    if (up->zw_prev)
        up->zw_prev->zw_next = up->zw_next;
    else
        l->zwait_head = up->zw_next;
    if (up->zw_next)
        up->zw_next->zw_prev = up->zw_prev;
    else
        l->zwait_tail = up->zw_prev;
    up->zw_prev = up->zw_next = NULL;
}

/* Lets go of the connection: kept for the next request when keep. A zmq
 * attempt frees its slot (its id no longer matches) and its wait. */
void dtx_gw_call_release(dtx_gw_upstream_t *up, int keep)
{
    if (up->conn) {
        dtx_gw_conns_put(up->loop->conns, up->conn, keep, dtx_gw_loop_us());
        up->conn = NULL;
    }
    if (up->zslot) {
        dtx_gw_upstreams_t *l = up->loop;
        dtx_gw_zslot_t *s = &l->zslots[up->zslot - 1];
        s->up = NULL;
        s->serial++;
        s->next_free = l->zfree;
        l->zfree = up->zslot;
        up->zslot = 0;
        up->zsock = NULL;
        dtx_gw_call_zwait_remove(up);
    }
}

/* Body bytes sent so far on this attempt. */
size_t dtx_gw_call_body_sent(const dtx_gw_upstream_t *up)
{
    return up->sent > up->out.len ? up->sent - up->out.len : 0;
}
