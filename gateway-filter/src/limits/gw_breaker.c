/*
 * gw_breaker.c — the circuit breaker state machine (see gw_breaker.h for
 * the states and invariants).
 */
#include <string.h>

#include "limits/gw_breaker.h"

void dtx_gw_breaker_init(dtx_gw_breaker_t *self)
{
    memset(self, 0, sizeof *self);
}

const char *dtx_gw_breaker_state_name(dtx_gw_breaker_state_t state)
{
    switch (state) {
    case DTX_GW_BREAKER_CLOSED: return "closed";
    case DTX_GW_BREAKER_OPEN: return "open";
    case DTX_GW_BREAKER_HALF_OPEN: return "half_open";
    }
    return "?";
}

static void s_transition(dtx_gw_breaker_t *self, dtx_gw_breaker_state_t to, int64_t now_us,
                         const dtx_gw_breaker_params_t *p)
{
    self->state = to;
    self->generation++;
    self->consecutive = 0;
    if (to == DTX_GW_BREAKER_OPEN) {
        self->open_until_us = now_us + (p ? p->open_us : 0);
        self->opened_total += p ? 1 : 0;
    }
    if (to == DTX_GW_BREAKER_HALF_OPEN)
        self->probe_started_us = now_us;
    if (to == DTX_GW_BREAKER_CLOSED)
        memset(self->buckets, 0, sizeof self->buckets);
}

static dtx_gw_breaker_bucket_t *s_bucket(dtx_gw_breaker_t *self,
                                         const dtx_gw_breaker_params_t *p, int64_t now_us)
{
    int64_t width = p->window_us / DTX_GW_BREAKER_BUCKETS;
    if (width <= 0)
        width = 1;
    int64_t start = now_us - ((now_us % width) + width) % width;
    dtx_gw_breaker_bucket_t *b = &self->buckets[(start / width) % DTX_GW_BREAKER_BUCKETS];
    if (b->start_us != start) {
        memset(b, 0, sizeof *b);
        b->start_us = start;
    }
    return b;
}

static void s_window(const dtx_gw_breaker_t *self, const dtx_gw_breaker_params_t *p,
                     int64_t now_us, int *total, int *failed, int *slow)
{
    *total = *failed = *slow = 0;
    for (int i = 0; i < DTX_GW_BREAKER_BUCKETS; i++) {
        const dtx_gw_breaker_bucket_t *b = &self->buckets[i];
        if (b->total == 0 || now_us - b->start_us >= p->window_us)
            continue;
        *total += b->total;
        *failed += b->failed;
        *slow += b->slow;
    }
}

int dtx_gw_breaker_admit(dtx_gw_breaker_t *self, const dtx_gw_breaker_params_t *p,
                         int64_t now_us, dtx_gw_breaker_ticket_t *ticket,
                         int64_t *retry_us)
{
    memset(ticket, 0, sizeof *ticket);
    if (retry_us)
        *retry_us = 0;
    if (self->state == DTX_GW_BREAKER_HALF_OPEN &&
        now_us - self->probe_started_us >= p->probe_timeout_us) {
        /* The probe was lost: let this request probe instead. */
        self->state = DTX_GW_BREAKER_OPEN;
        self->generation++;
        self->open_until_us = now_us;
    }
    switch (self->state) {
    case DTX_GW_BREAKER_CLOSED:
        break;
    case DTX_GW_BREAKER_OPEN:
        if (now_us < self->open_until_us) {
            if (retry_us)
                *retry_us = self->open_until_us - now_us;
            return 0;
        }
        s_transition(self, DTX_GW_BREAKER_HALF_OPEN, now_us, p);
        ticket->probe = 1;
        break;
    case DTX_GW_BREAKER_HALF_OPEN:
        if (retry_us) {
            int64_t left = self->probe_started_us + p->probe_timeout_us - now_us;
            *retry_us = left > 1000000 ? 1000000 : (left > 0 ? left : 1000);
        }
        return 0;
    }
    ticket->generation = self->generation;
    ticket->admitted = 1;
    return 1;
}

void dtx_gw_breaker_record(dtx_gw_breaker_t *self, const dtx_gw_breaker_params_t *p,
                           const dtx_gw_breaker_ticket_t *ticket, int64_t now_us,
                           int failed, int64_t duration_us)
{
    if (!ticket->admitted || ticket->generation != self->generation)
        return;
    int slow = p->slow_us > 0 && duration_us > p->slow_us;
    if (self->state == DTX_GW_BREAKER_HALF_OPEN) {
        if (!ticket->probe)
            return;
        /* The probe alone decides; a slow probe counts as a failure when
         * slowness is what trips this breaker. */
        if (failed || (slow && p->slow_ratio > 0))
            s_transition(self, DTX_GW_BREAKER_OPEN, now_us, p);
        else
            s_transition(self, DTX_GW_BREAKER_CLOSED, now_us, p);
        return;
    }
    if (self->state != DTX_GW_BREAKER_CLOSED)
        return;
    dtx_gw_breaker_bucket_t *b = s_bucket(self, p, now_us);
    b->total++;
    b->failed += failed ? 1 : 0;
    b->slow += slow ? 1 : 0;
    self->consecutive = failed ? self->consecutive + 1 : 0;
    if (p->consecutive_failures > 0 && self->consecutive >= p->consecutive_failures) {
        s_transition(self, DTX_GW_BREAKER_OPEN, now_us, p);
        return;
    }
    int total, nfailed, nslow;
    s_window(self, p, now_us, &total, &nfailed, &nslow);
    if (total < p->min_requests || total == 0)
        return;
    if ((p->error_ratio > 0 && (double)nfailed / total >= p->error_ratio) ||
        (p->slow_ratio > 0 && (double)nslow / total >= p->slow_ratio))
        s_transition(self, DTX_GW_BREAKER_OPEN, now_us, p);
}

void dtx_gw_breaker_cancel(dtx_gw_breaker_t *self, const dtx_gw_breaker_ticket_t *ticket,
                           int64_t now_us)
{
    if (!ticket->admitted || !ticket->probe || ticket->generation != self->generation ||
        self->state != DTX_GW_BREAKER_HALF_OPEN)
        return;
    self->state = DTX_GW_BREAKER_OPEN;
    self->generation++;
    self->open_until_us = now_us;
}
