/*
 * participant.c — the participant side of libdtx (dtx_participant_*, see
 * dtx/dtx.h): serves named resources to every configured coordinator.
 *
 * This file: the participant object, its served resources, dtx_participant_connect
 * (a new link) and the run loop (dtx_participant_poll). The links to the
 * coordinators, with their registration states, are participant_link.c's;
 * what a coordinator sends (PHASEs to the handlers, acknowledgements,
 * errors) is participant_recv.c's. participant_int.h holds what they share.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "dtx/clock.h"
#include "dtx/curve.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"
#include "dtx/proto.h"
#include "dtx/zpoll.h"
#include "participant_timing.h"
#include "sdk_internal.h"
#include "participant_int.h"


dtx_participant_t *dtx_participant_new(const char *instance, int *err)
{
    int rc = DTX_ENOMEM;
    dtx_participant_t *self = NULL;

    if (!instance || !dtx_name_valid(instance)) {
        rc = DTX_EINVAL;
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    dtx_name_copy(self->instance, instance);
    self->heartbeat_ms = DTX_HEARTBEAT_DEFAULT;
    self->bundle_on = dtx_sdk_bundle_on();
    self->next_corr = dtx_random_u64() >> 1; /* far from wrapping */
    self->buf = malloc(DTX_MSG_MAX);
    if (!self->buf)
        goto err;
    /* Read now, loaded by the first connect: its errors belong there. */
    const char *env_file = dtx_sdk_curve_env();
    if (env_file && !(self->curve_env_file = strdup(env_file)))
        goto err;
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        rc = DTX_EIO;
        goto err;
    }
    if (err)
        *err = DTX_OK;
    return self;

err:
    dtx_participant_destroy(&self);
    if (err)
        *err = rc;
    return NULL;
}

void dtx_participant_destroy(dtx_participant_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_participant_t *self = *self_p;
    dtx_sdk_signals_forget(&self->stop);
    for (int i = 0; i < self->nlinks; i++) {
        dtx_plink_close(self->links[i]);
        free(self->links[i]);
    }
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->links);
    free(self->items);
    free(self->resources);
    free(self->buf);
    free(self->curve_env_file);
    explicit_bzero(&self->curve, sizeof self->curve);
    free(self);
    *self_p = NULL;
}

int dtx_participant_set_curve(dtx_participant_t *self, const char *key_file)
{
    assert(self);
    dtx_curve_keys_t keys;
    if (key_file) {
        char who[DTX_NAME_SIZE + 16];
        snprintf(who, sizeof who, "instance=%s", self->instance);
        if (dtx_sdk_curve_load(key_file, who, &keys) != 0)
            return DTX_ECONFIG;
    }
    /* An explicit choice, file or plain, replaces the environment's. */
    free(self->curve_env_file);
    self->curve_env_file = NULL;
    explicit_bzero(&self->curve, sizeof self->curve);
    self->curve_on = key_file != NULL;
    if (key_file) {
        self->curve = keys;
        explicit_bzero(&keys, sizeof keys);
    }
    return DTX_OK;
}

int dtx_participant_connect(dtx_participant_t *self, const char *endpoint)
{
    assert(self);
    if (!endpoint || !*endpoint)
        return DTX_EINVAL;

    if (self->curve_env_file) {
        char who[DTX_NAME_SIZE + 16];
        snprintf(who, sizeof who, "instance=%s", self->instance);
        if (dtx_sdk_curve_load(self->curve_env_file, who, &self->curve) != 0)
            return DTX_ECONFIG;
        free(self->curve_env_file);
        self->curve_env_file = NULL;
        self->curve_on = 1;
    }

    struct coord_link **links = realloc(self->links, (size_t)(self->nlinks + 1) * sizeof *links);
    if (!links)
        return DTX_ENOMEM;
    self->links = links;
    zmq_pollitem_t *items = realloc(self->items, (size_t)(self->nlinks + 1) * 2 * sizeof *items);
    if (!items)
        return DTX_ENOMEM;
    self->items = items;

    struct coord_link *link = calloc(1, sizeof *link);
    if (!link)
        return DTX_ENOMEM;
    int rc = DTX_ENOMEM;
    link->endpoint = strdup(endpoint);
    link->version = dtx_sdk_proto_version();
    link->acked = calloc((size_t)(self->resources_cap > 0 ? self->resources_cap : 1), 1);
    if (!link->endpoint || !link->acked)
        goto err;

    if (self->curve_on) {
        link->curve = 1;
        link->curve_keys = self->curve;
    }
    rc = dtx_plink_open(self, link);
    if (rc != 0)
        goto err;

    int64_t now = dtx_clock_mono_ms();
    dtx_plink_round_start(self, link, now);
    link->last_ok_ms = now;
    link->next_heartbeat_ms = now + self->heartbeat_ms;
    self->links[self->nlinks++] = link;
    dtx_log_info("coordinator added", "instance=%s endpoint=%s curve=%s", self->instance,
                 endpoint, link->curve ? "on" : "off");
    return DTX_OK;

err:
    dtx_plink_close(link);
    free(link);
    return rc;
}

/* Finds resource, adding an entry without handlers when it is not served
 * yet (*added is then 1: every coordinator must hear of it). Returns the
 * index, or DTX_ENOMEM. */
static int s_resource_entry(dtx_participant_t *self, const char *resource, int *added)
{
    *added = 0;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0)
            return i;

    if (self->nresources == self->resources_cap) {
        int cap = self->resources_cap ? self->resources_cap * 2 : 4;
        struct served_resource *res = realloc(self->resources, (size_t)cap * sizeof *res);
        if (!res)
            return DTX_ENOMEM;
        self->resources = res;
        for (int i = 0; i < self->nlinks; i++) {
            uint8_t *acked = realloc(self->links[i]->acked, (size_t)cap);
            if (!acked)
                return DTX_ENOMEM; /* resources_cap unchanged: arrays stay consistent */
            memset(acked + self->resources_cap, 0, (size_t)(cap - self->resources_cap));
            self->links[i]->acked = acked;
        }
        self->resources_cap = cap;
    }
    struct served_resource *r = &self->resources[self->nresources];
    memset(r, 0, sizeof *r);
    dtx_name_copy(r->name, resource);
    *added = 1;
    return self->nresources++;
}

/* A new resource is registered with every coordinator; handlers added to
 * a resource already served need no new registration. */
static void s_resource_added(dtx_participant_t *self)
{
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < self->nlinks; i++)
        dtx_plink_round_start(self, self->links[i], now);
}

int dtx_participant_serve(dtx_participant_t *self, const char *resource,
                          const dtx_tcc_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_try ||
        !handlers->on_confirm || !handlers->on_cancel)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 && self->resources[i].tcc.on_try)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].tcc = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_2pc(dtx_participant_t *self, const char *resource,
                              const dtx_2pc_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_prepare ||
        !handlers->on_commit || !handlers->on_abort)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 &&
            self->resources[i].twopc.on_prepare)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].twopc = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_saga(dtx_participant_t *self, const char *resource,
                               const dtx_saga_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers || !handlers->on_action ||
        !handlers->on_compensate)
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 && self->resources[i].saga.on_action)
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].saga = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

int dtx_participant_serve_tmsg(dtx_participant_t *self, const char *resource,
                               const dtx_tmsg_handlers_t *handlers)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !handlers ||
        (!handlers->on_deliver && !handlers->on_query_prepared))
        return DTX_EINVAL;
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, resource) == 0 &&
            (self->resources[i].tmsg.on_deliver || self->resources[i].tmsg.on_query_prepared))
            return DTX_EINVAL;
    int added;
    int i = s_resource_entry(self, resource, &added);
    if (i < 0)
        return i;
    self->resources[i].tmsg = *handlers;
    if (added)
        s_resource_added(self);
    return DTX_OK;
}

void dtx_participant_set_heartbeat(dtx_participant_t *self, int interval_ms)
{
    assert(self);
    self->heartbeat_ms = dtx_participant_own_interval(interval_ms);
    int64_t now = dtx_clock_mono_ms();
    for (int i = 0; i < self->nlinks; i++)
        if (self->links[i]->next_heartbeat_ms > now + dtx_plink_interval(self, self->links[i]))
            self->links[i]->next_heartbeat_ms = now + dtx_plink_interval(self, self->links[i]);
}

void dtx_participant_stop(dtx_participant_t *self)
{
    if (self)
        atomic_store_explicit(&self->stop, 1, memory_order_release);
}

int dtx_participant_stop_on_signals(dtx_participant_t *self)
{
    assert(self);
    return dtx_sdk_signals_watch(&self->stop);
}

void dtx_participant_set_ready(dtx_participant_t *self, dtx_ready_fn on_ready, void *arg)
{
    assert(self);
    self->on_ready = on_ready;
    self->ready_arg = arg;
    self->ready_pending = on_ready != NULL;
}

static int s_link_registered(const dtx_participant_t *self, const struct coord_link *link,
                             int64_t now)
{
    return link->registered &&
           now - link->last_ok_ms < (int64_t)DTX_STALE_INTERVALS * dtx_plink_interval(self, link);
}

int dtx_participant_registered(const dtx_participant_t *self)
{
    if (!self)
        return 0;
    int64_t now = dtx_clock_mono_ms();
    int n = 0;
    for (int i = 0; i < self->nlinks; i++)
        n += s_link_registered(self, self->links[i], now);
    return n;
}

int dtx_participant_poll(dtx_participant_t *self, int timeout_ms)
{
    assert(self);
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : dtx_clock_mono_ms() + timeout_ms;
    for (;;) {
        if (atomic_exchange_explicit(&self->stop, 0, memory_order_acquire)) {
            return DTX_OK;
        }
        int64_t now = dtx_clock_mono_ms();
        int rc;
        int64_t wake = dtx_plink_timers(self, now, &rc);
        if (rc != 0)
            return rc;
        if (wake > deadline)
            wake = deadline;
        if (wake > now + DTX_STOP_CHECK_MS)
            wake = now + DTX_STOP_CHECK_MS;
        long wait = wake > now ? (long)(wake - now) : 0;

        /* A handler may add a link while we walk them: only the links
         * polled now are looked at. */
        int polled = self->nlinks;
        for (int i = 0; i < polled; i++) {
            struct coord_link *l = self->links[i];
            /* Read to EAGAIN and not touched since (no send): its ZMQ_FD
             * alone, no ZMQ_EVENTS before and after the wait; a pending
             * registration (POLLOUT) or a send since: as a socket. */
            self->items[2 * i] =
                (l->sock_drained && l->sock_calls == l->sock_drained_at && !l->pending)
                    ? (zmq_pollitem_t){ .fd = l->sock_fd, .events = ZMQ_POLLIN }
                    : (zmq_pollitem_t){
                          .socket = l->sock,
                          .events = (short)(ZMQ_POLLIN | (l->pending ? ZMQ_POLLOUT : 0)),
                      };
            /* A quiet monitor (connection events are rare): its ZMQ_FD
             * alone, no ZMQ_EVENTS a turn. */
            self->items[2 * i + 1] = l->monitor_quiet
                ? (zmq_pollitem_t){ .fd = l->monitor_fd, .events = ZMQ_POLLIN }
                : (zmq_pollitem_t){ .socket = l->monitor, .events = ZMQ_POLLIN };
        }
        int n = dtx_zpoll(self->items, 2 * polled, wait);
        if (n < 0 && errno != EINTR) {
            dtx_log_error("poll failed", "instance=%s error=\"%s\"", self->instance,
                          zmq_strerror(errno));
            return DTX_EIO;
        }
        now = dtx_clock_mono_ms();
        for (int i = 0; n >= 0 && i < polled; i++) {
            struct coord_link *l = self->links[i];
            /* Polled as a socket and not ready: the poller's ZMQ_EVENTS,
             * after every call on it, found it empty, as a read to EAGAIN
             * does (unless the events below replace the socket). */
            if (self->items[2 * i].socket == l->sock && !(self->items[2 * i].revents & ZMQ_POLLIN)) {
                l->sock_drained = 1;
                l->sock_drained_at = l->sock_calls;
            }
            /* Not ready: polled as a socket (the poller asked ZMQ_EVENTS
             * after its last use), or quiet and not woken: quiet now. */
            if (self->items[2 * i + 1].revents & ZMQ_POLLIN)
                dtx_plink_events(self, l, now);
            else
                l->monitor_quiet = 1;
            if ((self->items[2 * i].revents & ZMQ_POLLIN) && dtx_precv_drain(self, l) != 0)
                return DTX_EIO;
        }
        if (self->ready_pending && self->nlinks > 0 &&
            dtx_participant_registered(self) == self->nlinks) {
            self->ready_pending = 0;
            if ((rc = self->on_ready(self, self->ready_arg)) < 0)
                return rc;
        }
        if (now >= deadline)
            return DTX_OK;
    }
}

int dtx_participant_run(dtx_participant_t *self)
{
    return dtx_participant_poll(self, -1);
}
