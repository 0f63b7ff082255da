/*
 * bench_slots.c — dtx-bench's slots: each runs one transaction at a time,
 * BEGIN, one TRY per resource, COMMIT (or a ROLLBACK after a failure),
 * matching replies by corr (dtx_bench.c draws the state picture), and
 * the accounting of what they see (latencies, errors, the measured
 * window).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "bench_slots.h"
#include "dtx/trymany.h"

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Accounting                                                          */
/* ------------------------------------------------------------------ */

static int s_in_window(const bench_t *self, int64_t t)
{
    return t >= self->warm_end_ns && t < self->meas_end_ns;
}

static int s_latency_add(bench_t *self, int64_t ns)
{
    if (self->nlat == self->caplat) {
        size_t ncap = self->caplat ? self->caplat * 2 : 65536;
        uint32_t *p = realloc(self->lat_us, ncap * sizeof *p);
        if (!p)
            return -1;
        self->lat_us = p;
        self->caplat = ncap;
    }
    int64_t us = ns / 1000;
    self->lat_us[self->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return 0;
}

static void s_error(bench_t *self, int step, int kind, const char *text, int64_t now)
{
    self->errors[step][kind]++;
    self->errors_total++;
    if (s_in_window(self, now))
        self->errors_measured++;
    if (!self->first_text[kind][0] && text && text[0])
        snprintf(self->first_text[kind], sizeof self->first_text[kind], "%s", text);
}

/* ------------------------------------------------------------------ */
/* Slots                                                               */
/* ------------------------------------------------------------------ */

/* Sends the request msg for slot i (corr assigned here). */
static int s_slot_send(bench_t *self, int i, dtx_msg_t *msg, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    msg->corr = (self->next_seq++ << BENCH_SLOT_BITS) | (uint64_t)i;
    size_t len = 0;
    int rc = dtx_msg_encode(msg, self->buf, DTX_MSG_MAX, &len);
    if (rc != 0) {
        fprintf(stderr, "dtx-bench: cannot encode %s: %s\n", dtx_msg_type_name(msg->type),
                dtx_strerror(rc));
        return -1;
    }
    self->calls[sl->sock]++;
    if (zmq_send(self->socks[sl->sock], self->buf, len, ZMQ_DONTWAIT) < 0) {
        if (!self->first_text[BENCH_ERR_SEND][0])
            snprintf(self->first_text[BENCH_ERR_SEND], sizeof self->first_text[BENCH_ERR_SEND],
                     "%s", zmq_strerror(errno));
        return -1;
    }
    sl->corr = msg->corr;
    sl->sent_ns = now;
    return 0;
}

/* The slot's transaction is over (committed or failed): free it, and start
 * the next one unless the run is draining. After a failed send the next
 * one waits for the periodic scan instead, so a socket that refuses every
 * send cannot recurse here. */
static void s_slot_done(bench_t *self, int i, int64_t now, int restart)
{
    bench_slot_t *sl = &self->slots[i];
    sl->wait = BENCH_IDLE;
    sl->corr = 0;
    sl->gid[0] = '\0';
    self->busy--;
    if (restart && !self->draining)
        bench_slot_start(self, i, now);
}

static void s_slot_rollback(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_ROLLBACK;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    self->rollbacks++;
    if (s_slot_send(self, i, &m, now) != 0) {
        self->rollbacks_failed++;
        s_slot_done(self, i, now, 0);
        return;
    }
    sl->wait = BENCH_ROLLBACK;
}

/* Counts a failure of the slot's current step; rolls back when the
 * transaction may still be active, else frees the slot. */
void bench_slot_fail(bench_t *self, int i, int kind, const char *text, int64_t now,
                     int rollback)
{
    bench_slot_t *sl = &self->slots[i];
    int step = sl->wait == BENCH_BEGIN ? BENCH_STEP_BEGIN
             : sl->wait == BENCH_TRY   ? BENCH_STEP_TRY0 + sl->resource
                                   : BENCH_STEP_COMMIT;
    s_error(self, step, kind, text, now);
    self->finished++;
    if (rollback && sl->gid[0]) {
        s_slot_rollback(self, i, now);
        return;
    }
    s_slot_done(self, i, now, kind != BENCH_ERR_SEND);
}

/* --try-many: every resource's TRY in one TRY_MANY (version 2); --tcc-run:
 * the whole transaction in one TCC_RUN that commits when every vote is yes
 * (the slot waits in BENCH_TRY, with no gid until the answer). */
static void s_slot_try_many(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_trymany_t b;
    uint8_t blob[DTX_TRYMANY_MAX * (2 * DTX_NAME_SIZE + 4 + BENCH_PAYLOAD_LEN) + 1];
    size_t len = 0;
    memset(&b, 0, sizeof b);
    b.n = (uint8_t)self->nresources;
    for (int r = 0; r < self->nresources; r++) {
        snprintf(b.items[r].resource, sizeof b.items[r].resource, "%s", self->resources[r]);
        snprintf(b.items[r].action, sizeof b.items[r].action, "reserve");
        b.items[r].payload = self->payload;
        b.items[r].payload_len = BENCH_PAYLOAD_LEN;
    }
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.version = DTX_PROTO_V2;
    m.type = self->tcc_run ? DTX_MSG_TCC_RUN : DTX_MSG_TRY_MANY;
    if (self->tcc_run) {
        m.timeout_ms = self->txn_timeout_ms;
        m.flags = DTX_TCC_RUN_COMMIT;
    } else {
        snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    }
    dtx_trymany_encode(&b, blob, sizeof blob, &len);
    m.payload = blob;
    m.payload_len = (uint32_t)len;
    sl->wait = BENCH_TRY;
    if (s_slot_send(self, i, &m, now) != 0)
        bench_slot_fail(self, i, BENCH_ERR_SEND, NULL, now, !self->tcc_run);
}

static void s_slot_try(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    if (self->try_many) {
        s_slot_try_many(self, i, now);
        return;
    }
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_TRY;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    snprintf(m.resource, sizeof m.resource, "%s", self->resources[sl->resource]);
    snprintf(m.action, sizeof m.action, "reserve");
    m.payload = self->payload;
    m.payload_len = BENCH_PAYLOAD_LEN;
    sl->wait = BENCH_TRY;
    if (s_slot_send(self, i, &m, now) != 0)
        bench_slot_fail(self, i, BENCH_ERR_SEND, NULL, now, 1);
}

static void s_slot_commit(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_COMMIT;
    snprintf(m.gid, sizeof m.gid, "%s", sl->gid);
    sl->wait = BENCH_COMMIT;
    if (s_slot_send(self, i, &m, now) != 0)
        bench_slot_fail(self, i, BENCH_ERR_SEND, NULL, now, 1);
}

void bench_slot_start(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    dtx_msg_t m;
    memset(&m, 0, sizeof m);
    m.type = DTX_MSG_BEGIN;
    m.mode = DTX_MODE_TCC;
    m.timeout_ms = self->txn_timeout_ms;
    sl->gid[0] = '\0';
    sl->resource = 0;
    sl->begun_ns = now;
    sl->wait = BENCH_BEGIN;
    self->busy++;
    self->started++;
    if (self->tcc_run) {
        sl->step_ns[BENCH_STEP_BEGIN] = 0;
        s_slot_try_many(self, i, now);
        return;
    }
    if (s_slot_send(self, i, &m, now) != 0)
        bench_slot_fail(self, i, BENCH_ERR_SEND, NULL, now, 0);
}

/* Slot i's transaction committed: count it (in the window: its latency
 * and steps) and start the next. */
static void s_slot_committed(bench_t *self, int i, int64_t now)
{
    bench_slot_t *sl = &self->slots[i];
    self->finished++;
    self->committed_total++;
    if (s_in_window(self, now)) {
        self->committed++;
        int64_t sec = (now - self->warm_end_ns) / 1000000000LL;
        if (sec >= 0 && sec < self->nseconds)
            self->per_second[sec]++;
        if (s_latency_add(self, now - sl->begun_ns) != 0) {
            fprintf(stderr, "dtx-bench: out of memory for latency samples\n");
            exit(2);
        }
        self->step_sum_ns[BENCH_STEP_BEGIN] += (double)sl->step_ns[BENCH_STEP_BEGIN];
        for (int r = 0; r < self->nresources; r++)
            self->step_sum_ns[BENCH_STEP_TRY0 + r] += (double)sl->step_ns[BENCH_STEP_TRY0 + r];
        self->step_sum_ns[BENCH_STEP_COMMIT] += (double)sl->step_ns[BENCH_STEP_COMMIT];
    }
    s_slot_done(self, i, now, 1);
}

/* Handles one decoded reply. */
static void s_on_reply(bench_t *self, const dtx_msg_t *msg, int64_t now)
{
    uint64_t idx = msg->corr & (BENCH_MAX_SLOTS - 1);
    if (idx >= (uint64_t)self->concurrency || self->slots[idx].wait == BENCH_IDLE ||
        self->slots[idx].corr != msg->corr) {
        self->stale++;
        return;
    }
    int i = (int)idx;
    bench_slot_t *sl = &self->slots[i];
    if (sl->wait == BENCH_ROLLBACK) {
        /* Cleanup only: STATE (aborting) or an ERROR both end it. */
        if (msg->type != DTX_MSG_STATE)
            self->rollbacks_failed++;
        s_slot_done(self, i, now, 1);
        return;
    }
    if (msg->type == DTX_MSG_ERROR) {
        uint32_t code = msg->code <= (uint32_t)BENCH_ERR_WIRE_MAX ? msg->code : 0;
        /* A failed BEGIN has no transaction; after a failed COMMIT the
         * coordinator decided or does not know: only a TRY rolls back. */
        bench_slot_fail(self, i, (int)code, msg->text, now, sl->wait == BENCH_TRY);
        return;
    }
    int step = sl->wait == BENCH_BEGIN ? BENCH_STEP_BEGIN
             : sl->wait == BENCH_TRY   ? BENCH_STEP_TRY0 + sl->resource
                                   : BENCH_STEP_COMMIT;
    char text[DTX_TEXT_MAX + 1];
    switch (sl->wait) {
    case BENCH_BEGIN:
        if (msg->type != DTX_MSG_BEGIN_OK)
            break;
        snprintf(sl->gid, sizeof sl->gid, "%s", msg->gid);
        sl->step_ns[step] = now - sl->sent_ns;
        s_slot_try(self, i, now);
        return;
    case BENCH_TRY:
        if ((self->try_many || self->tcc_run) && msg->type == DTX_MSG_TRY_MANY_OK) {
            dtx_trymany_outcomes_t o;
            int bad = dtx_trymany_outcomes_decode(&o, msg->payload, msg->payload_len, NULL, 0) ||
                      o.n != self->nresources;
            for (int r = 0; !bad && r < o.n; r++)
                bad = o.o[r].code != 0 || o.o[r].outcome != DTX_OUTCOME_OK;
            if (self->tcc_run)
                snprintf(sl->gid, sizeof sl->gid, "%s", msg->gid);
            if (bad) {
                snprintf(text, sizeof text, "gid %s: %s not all yes, state %s", sl->gid,
                         self->tcc_run ? "tcc-run" : "try-many", dtx_state_name(msg->state));
                bench_slot_fail(self, i, BENCH_ERR_REFUSED, text, now, 0);
                return;
            }
            sl->step_ns[step] = now - sl->sent_ns;
            for (int r = 1; r < self->nresources; r++)
                sl->step_ns[BENCH_STEP_TRY0 + r] = 0;
            if (!self->tcc_run) {
                s_slot_commit(self, i, now);
                return;
            }
            sl->step_ns[BENCH_STEP_COMMIT] = 0;
            if (msg->state != DTX_STATE_COMMITTING && msg->state != DTX_STATE_COMMITTED) {
                snprintf(text, sizeof text, "gid %s: tcc-run answered state %s", sl->gid,
                         dtx_state_name(msg->state));
                bench_slot_fail(self, i, BENCH_ERR_ABORTED, text, now, 0);
                return;
            }
            s_slot_committed(self, i, now);
            return;
        }
        if (msg->type != DTX_MSG_TRY_OK)
            break;
        if (msg->outcome != DTX_OUTCOME_OK) {
            snprintf(text, sizeof text, "gid %s branch %u voted %s, state %s", sl->gid,
                     msg->branch, msg->outcome == DTX_OUTCOME_REFUSED ? "no" : "failed",
                     dtx_state_name(msg->state));
            bench_slot_fail(self, i, BENCH_ERR_REFUSED, text, now, 0);
            return;
        }
        sl->step_ns[step] = now - sl->sent_ns;
        if (++sl->resource < self->nresources)
            s_slot_try(self, i, now);
        else
            s_slot_commit(self, i, now);
        return;
    case BENCH_COMMIT:
        if (msg->type != DTX_MSG_STATE)
            break;
        if (msg->state != DTX_STATE_COMMITTING && msg->state != DTX_STATE_COMMITTED) {
            snprintf(text, sizeof text, "gid %s: commit answered state %s", sl->gid,
                     dtx_state_name(msg->state));
            bench_slot_fail(self, i, BENCH_ERR_ABORTED, text, now, 0);
            return;
        }
        sl->step_ns[step] = now - sl->sent_ns;
        s_slot_committed(self, i, now);
        return;
    default:
        break;
    }
    snprintf(text, sizeof text, "got %s (gid %s)", dtx_msg_type_name(msg->type), sl->gid);
    bench_slot_fail(self, i, BENCH_ERR_UNEXPECTED, text, now, sl->wait != BENCH_BEGIN);
}

/* Fails every request that has waited longer than the reply timeout, and
 * restarts slots left idle by a failed send. */
void bench_scan(bench_t *self, int64_t now)
{
    for (int i = 0; i < self->concurrency; i++) {
        bench_slot_t *sl = &self->slots[i];
        if (sl->wait == BENCH_IDLE) {
            if (!self->draining)
                bench_slot_start(self, i, now);
            continue;
        }
        if (now - sl->sent_ns < self->reply_timeout_ns)
            continue;
        if (sl->wait == BENCH_ROLLBACK) {
            self->rollbacks_failed++;
            s_slot_done(self, i, now, 1);
            continue;
        }
        char text[DTX_TEXT_MAX + 1];
        snprintf(text, sizeof text, "no reply in %lld ms (gid %s)",
                 (long long)(self->reply_timeout_ns / 1000000), sl->gid[0] ? sl->gid : "-");
        bench_slot_fail(self, i, BENCH_ERR_NOREPLY, text, now, 1);
    }
}

/* Reads what is waiting on socket s (bounded). */
void bench_drain_socket(bench_t *self, int s)
{
    self->drained[s] = 0;
    for (int n = 0; n < BENCH_DRAIN_PER_SOCKET; n++) {
        int len = zmq_recv(self->socks[s], self->buf, DTX_MSG_MAX, ZMQ_DONTWAIT);
        if (len < 0) {
            if (errno == EAGAIN) {
                self->drained[s] = 1;
                self->drained_at[s] = self->calls[s];
            }
            return;
        }
        int more = 0;
        size_t more_size = sizeof more;
        zmq_getsockopt(self->socks[s], ZMQ_RCVMORE, &more, &more_size);
        int bad = more || (size_t)len > DTX_MSG_MAX;
        while (more) {
            uint8_t sink;
            if (zmq_recv(self->socks[s], &sink, sizeof sink, ZMQ_DONTWAIT) < 0)
                break;
            more_size = sizeof more;
            zmq_getsockopt(self->socks[s], ZMQ_RCVMORE, &more, &more_size);
        }
        dtx_msg_t msg;
        char why[160];
        if (bad || dtx_msg_decode(&msg, self->buf, (size_t)len, why, sizeof why) != 0) {
            if (self->malformed++ == 0)
                fprintf(stderr, "dtx-bench: malformed reply dropped: %s\n",
                        bad ? "several frames or too big" : why);
            continue;
        }
        s_on_reply(self, &msg, bench_now_ns());
    }
}
