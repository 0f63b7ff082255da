/* gw_health.c — the active health checker thread (gw_health.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "dtx/log.h"
#include "core/gw_clock.h"
#include "core/gw_periodic.h"
#include "app/gw_health.h"

struct dtx_gw_health {
    dtx_gw_current_t  *current;
    CURL              *easy;     /* the checks' handle (NULL: none could be made) */
    dtx_gw_periodic_t *thread;   /* runs s_tick */
};

static size_t s_discard(char *d, size_t s, size_t n, void *a)
{
    (void)d;
    (void)a;
    return s * n;
}

static int s_check(CURL *e, const char *url, int64_t timeout_ms)
{
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard);
    long code = 0;
    if (curl_easy_perform(e) != CURLE_OK)
        return 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 400;
}

#define S_MAX_SLEEP_US 200000  /* look again at least this often (a swap may bring pools) */
#define S_MIN_SLEEP_US 5000

/* Checks every target that is due; returns when the next one is due
 * (monotonic µs), or 0 when no pool is checked. */
static int64_t s_round(dtx_gw_health_t *self, CURL *e)
{
    int64_t next = 0;
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    for (int i = 0; rt && i < rt->npools; i++) {
        dtx_gw_pool_t *p = rt->pools[i];
        if (!p->cfg.health_path)
            continue;
        for (int k = 0; k < p->ntargets; k++) {
            int64_t now = dtx_gw_now_us();
            pthread_mutex_lock(&p->lock);
            int due = p->targets[k].next_check_us <= now;
            if (due)
                p->targets[k].next_check_us = now + p->cfg.health_interval_ms * 1000;
            int64_t at = p->targets[k].next_check_us;
            pthread_mutex_unlock(&p->lock);
            if (!next || at < next)
                next = at;
            if (!due)
                continue;
            char url[2048];
            snprintf(url, sizeof url, "%s%s", p->targets[k].url, p->cfg.health_path);
            int ok = s_check(e, url, p->cfg.health_timeout_ms);
            pthread_mutex_lock(&p->lock);
            int was = p->targets[k].healthy;
            pthread_mutex_unlock(&p->lock);
            int is = dtx_gw_pool_health_result(p, k, dtx_gw_now_us(), ok);
            if (was != is)
                dtx_log_info(is ? "target healthy" : "target unhealthy", "pool=%s target=%s",
                             p->cfg.name, p->targets[k].url);
        }
    }
    dtx_gw_runtime_unref(&rt);
    return next;
}

/* A round, then how long to sleep: until the next check is due (not a
 * fixed tick: an idle gateway without health checks wakes 5 times a
 * second, with them once per check). */
static int64_t s_tick(void *arg)
{
    dtx_gw_health_t *self = arg;
    int64_t next = self->easy ? s_round(self, self->easy) : 0;
    int64_t wait = next ? next - dtx_gw_now_us() : S_MAX_SLEEP_US;
    if (wait > S_MAX_SLEEP_US)
        wait = S_MAX_SLEEP_US;
    if (wait < S_MIN_SLEEP_US)
        wait = S_MIN_SLEEP_US;
    return wait;
}

dtx_gw_health_t *dtx_gw_health_start(dtx_gw_current_t *current)
{
    dtx_gw_health_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    self->easy = curl_easy_init();
    self->thread = dtx_gw_periodic_start(s_tick, self);
    if (!self->thread) {
        curl_easy_cleanup(self->easy);
        free(self);
        return NULL;
    }
    return self;
}

void dtx_gw_health_stop(dtx_gw_health_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_health_t *self = *self_p;
    *self_p = NULL;
    dtx_gw_periodic_stop(&self->thread);
    curl_easy_cleanup(self->easy);
    free(self);
}
