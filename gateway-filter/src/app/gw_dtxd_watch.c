/*
 * gw_dtxd_watch.c — the dtxd /metrics poller and its published reading
 * (gw_dtxd_watch.h).
 *
 * The fetch uses one curl easy handle driven by a private multi handle,
 * only so that curl_multi_wakeup can end a fetch in progress when the
 * gateway stops: the thread still does one blocking fetch at a time.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "core/gw_clock.h"
#include "core/gw_periodic.h"
#include "limits/gw_dtxd_reading.h"
#include "app/gw_dtxd_watch.h"

#define S_MAX_BODY  ((size_t)1 << 20)   /* dtxd's /metrics is a few KiB */

/* ---------------- the watch thread ---------------- */

typedef struct {
    char  *data;
    size_t len, cap;
} s_buf_t;

struct dtx_gw_dtxd_watch {
    dtx_gw_current_t *current;
    dtx_gw_dtxd_t    *dtxd;      /* where readings are published */
    char             *token;     /* override of dtxd.admin_token, or NULL */
    dtx_gw_periodic_t *thread;   /* runs s_tick; kicked after every swap */
    atomic_int        stopping;  /* stop asked (read by the fetch loop) */
    CURLM            *multi;
    CURL             *easy;
    s_buf_t           body;      /* reused for every answer */
    /* thread-only state, for logging changes once */
    int               watching;  /* a rule uses the signal */
    int               failing;   /* the last poll failed */
    int               stale;     /* the reading was last seen stale */
    int64_t           since_us;  /* start of this watching spell */
    int64_t           next_us;   /* when the next poll is due */
};

static size_t s_write(char *d, size_t size, size_t n, void *arg)
{
    s_buf_t *b = arg;
    size_t len = size * n;
    if (b->len + len + 1 > S_MAX_BODY)
        return 0;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger)
            return 0;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, d, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GET <admin>/metrics into self->body. 0, or -1 with a reason in why. */
static int s_fetch(dtx_gw_dtxd_watch_t *self, const dtx_gw_config_t *cfg, char *why, size_t cap)
{
    char url[1100], auth[32 + DTX_GW_DTXD_TOKEN_MAX];
    const char *token = self->token ? self->token : cfg->dtxd_admin_token;
    int64_t timeout_ms = cfg->dtxd_timeout_ms < cfg->dtxd_stale_ms ? cfg->dtxd_timeout_ms
                                                                   : cfg->dtxd_stale_ms;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: text/plain");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
        dtx_gw_token_wipe(auth, sizeof auth);
    }
    snprintf(url, sizeof url, "%s/metrics", cfg->dtxd_admin);
    CURL *e = self->easy;
    curl_easy_reset(e);  /* keeps the connection; drops a CA file a swap removed */
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (cfg->dtxd_admin_cacert)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->dtxd_admin_cacert);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &self->body);
    self->body.len = 0;
    CURLcode result = CURLE_FAILED_INIT;
    int running = 1;
    if (curl_multi_add_handle(self->multi, e) == CURLM_OK) {
        while (running && !atomic_load(&self->stopping)) {
            if (curl_multi_perform(self->multi, &running) != CURLM_OK)
                break;
            if (running && curl_multi_poll(self->multi, NULL, 0, 1000, NULL) != CURLM_OK)
                break;
        }
        int left;
        for (CURLMsg *m; (m = curl_multi_info_read(self->multi, &left));)
            if (m->msg == CURLMSG_DONE)
                result = m->data.result;
        curl_multi_remove_handle(self->multi, e);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    for (struct curl_slist *h = hdrs; h; h = h->next)
        dtx_gw_token_wipe(h->data, strlen(h->data));
    curl_slist_free_all(hdrs);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (running) {
        snprintf(why, cap, "stopped");
        return DTX_ESTATE;
    }
    if (result != CURLE_OK) {
        snprintf(why, cap, "%s", result == CURLE_WRITE_ERROR ? "answer larger than 1 MiB"
                                                             : curl_easy_strerror(result));
        return DTX_EIO;
    }
    if (status != 200) {
        snprintf(why, cap, "HTTP %ld%s", status,
                 status == 401 ? " (dtxd wants a token: dtxd.admin_token or --dtxd-token-file)"
                               : "");
        return DTX_EPROTO;
    }
    return 0;
}

static void s_poll(dtx_gw_dtxd_watch_t *self, const dtx_gw_config_t *cfg)
{
    char why[256];
    const char *what = NULL;
    int64_t inflight = 0;
    int rc = s_fetch(self, cfg, why, sizeof why);
    if (rc == 0 && dtx_gw_dtxd_parse_inflight(self->body.data ? self->body.data : "",
                                              self->body.len, &inflight, &what) < 0) {
        snprintf(why, sizeof why, "%s", what);
        rc = -1;
    }
    if (atomic_load(&self->stopping))
        return;
    if (rc < 0) {
        dtx_gw_dtxd_count_poll_error(self->dtxd);
        if (!self->failing)
            dtx_log_warn("dtxd metrics poll failed", "url=%s/metrics error=\"%s\"",
                         cfg->dtxd_admin, why);
        else
            dtx_log_debug("dtxd metrics poll failed", "url=%s/metrics error=\"%s\"",
                          cfg->dtxd_admin, why);
        self->failing = 1;
        return;
    }
    dtx_gw_dtxd_reading_publish(self->dtxd, inflight, dtx_gw_now_us());
    if (self->failing)
        dtx_log_info("dtxd metrics poll recovered", "url=%s/metrics inflight=%lld",
                     cfg->dtxd_admin, (long long)inflight);
    self->failing = 0;
}

/* Logs the change when the reading turns stale or fresh again. */
static void s_check_stale(dtx_gw_dtxd_watch_t *self, const dtx_gw_config_t *cfg, int64_t now)
{
    dtx_gw_dtxd_reading_t r;
    dtx_gw_dtxd_reading_get(self->dtxd, &r);
    int64_t age_us = now - (r.at_us ? r.at_us : self->since_us);
    int stale = age_us > cfg->dtxd_stale_ms * 1000;
    if (stale && !self->stale)
        dtx_log_warn("dtxd reading stale: dtxd_inflight rules admit everything (fail open)",
                     "url=%s/metrics age_ms=%lld stale_ms=%lld", cfg->dtxd_admin,
                     (long long)(age_us / 1000), (long long)cfg->dtxd_stale_ms);
    else if (!stale && self->stale)
        dtx_log_info("dtxd reading fresh again: dtxd_inflight rules shed again",
                     "url=%s/metrics inflight=%lld", cfg->dtxd_admin, (long long)r.inflight);
    self->stale = stale;
}

/* One pass: polls when due. Returns how long to sleep (µs), or
 * DTX_GW_PERIODIC_IDLE (until kicked by a swap) when no rule uses the
 * signal. */
static int64_t s_step(dtx_gw_dtxd_watch_t *self, int64_t *next_us)
{
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    const dtx_gw_config_t *cfg = rt ? rt->cfg : NULL;
    int64_t wait = DTX_GW_PERIODIC_IDLE;
    if (!dtx_gw_config_uses_dtxd_inflight(cfg)) {
        if (self->watching) {
            dtx_gw_dtxd_reading_publish(self->dtxd, 0, 0);
            dtx_log_info("dtxd watch idle", "reason=\"no rule uses signal dtxd_inflight\"");
        }
        self->watching = self->failing = self->stale = 0;
    } else {
        int64_t now = dtx_gw_now_us();
        if (!self->watching) {
            self->watching = 1;
            self->since_us = now;
            *next_us = now;
            dtx_log_info("dtxd watch started", "url=%s/metrics poll_ms=%lld stale_ms=%lld",
                         cfg->dtxd_admin, (long long)cfg->dtxd_poll_ms,
                         (long long)cfg->dtxd_stale_ms);
        }
        if (now >= *next_us) {
            *next_us = now + cfg->dtxd_poll_ms * 1000;
            s_poll(self, cfg);
        }
        now = dtx_gw_now_us();
        s_check_stale(self, cfg, now);
        wait = *next_us - now;
        if (wait < 1000)
            wait = 1000;
    }
    dtx_gw_runtime_unref(&rt);
    return wait;
}

static int64_t s_tick(void *arg)
{
    dtx_gw_dtxd_watch_t *self = arg;
    return s_step(self, &self->next_us);
}

/* The generation holder's swap listener (runs under its lock). */
static void s_kick(void *arg)
{
    dtx_gw_dtxd_watch_t *self = arg;
    dtx_gw_periodic_kick(self->thread);
}

static void s_free(dtx_gw_dtxd_watch_t *self)
{
    if (self->easy)
        curl_easy_cleanup(self->easy);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    if (self->token) {
        dtx_gw_token_wipe(self->token, strlen(self->token));
        free(self->token);
    }
    free(self->body.data);
    dtx_gw_periodic_stop(&self->thread);
    free(self);
}

dtx_gw_dtxd_watch_t *dtx_gw_dtxd_watch_start(dtx_gw_current_t *current, dtx_gw_dtxd_t *dtxd,
                                             const char *token)
{
    dtx_gw_dtxd_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    self->dtxd = dtxd;
    atomic_init(&self->stopping, 0);
    self->thread = dtx_gw_periodic_new(s_tick, self);
    if (!self->thread) {
        dtx_log_error("cannot start the dtxd watch", "reason=\"out of memory or threads\"");
        free(self);
        return NULL;
    }
    self->token = token && *token ? strdup(token) : NULL;
    self->multi = curl_multi_init();
    self->easy = curl_easy_init();
    /* Listen before the thread reads its first generation: no swap is
     * missed in between (a kick before the thread runs is harmless). */
    dtx_gw_current_on_swap(current, s_kick, self);
    if ((token && *token && !self->token) || !self->multi || !self->easy ||
        dtx_gw_periodic_run(self->thread) != 0) {
        dtx_log_error("cannot start the dtxd watch", "reason=\"out of memory or threads\"");
        dtx_gw_current_on_swap(current, NULL, NULL);
        s_free(self);
        return NULL;
    }
    return self;
}

void dtx_gw_dtxd_watch_stop(dtx_gw_dtxd_watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_dtxd_watch_t *self = *self_p;
    *self_p = NULL;
    dtx_gw_current_on_swap(self->current, NULL, NULL);
    atomic_store(&self->stopping, 1);
    curl_multi_wakeup(self->multi);
    dtx_gw_periodic_stop(&self->thread);   /* ends a sleep; joins */
    dtx_gw_dtxd_reading_publish(self->dtxd, 0, 0);
    s_free(self);
}
