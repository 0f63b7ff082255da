/*
 * gw_dtxd_watch.c — the dtxd /metrics poller and its published reading
 * (gw_dtxd_watch.h).
 *
 * The fetch uses one curl easy handle driven by a private multi handle,
 * only so that curl_multi_wakeup can end a fetch in progress when the
 * gateway stops: the thread still does one blocking fetch at a time.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "gw_clock.h"
#include "gw_dtxd_watch.h"

#define S_NAME_LEN  (sizeof DTX_GW_DTXD_GAUGE - 1)
#define S_MAX_COUNT 9007199254740992.0  /* 2^53: beyond, a double is no exact count */
#define S_MAX_BODY  ((size_t)1 << 20)   /* dtxd's /metrics is a few KiB */

/* ---------------- parsing ---------------- */

static int s_fail(const char **why, const char *what, int rc)
{
    if (why)
        *why = what;
    return rc;
}

static const char *s_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* One sample's rest, after the metric name: [{labels}] value [timestamp]. */
static int s_sample(const char *p, const char *end, double *value, const char **why)
{
    if (p < end && *p == '{') {
        int quoted = 0;
        for (p++; p < end && (quoted || *p != '}'); p++) {
            if (quoted && *p == '\\')
                p++;
            else if (*p == '"')
                quoted = !quoted;
        }
        if (p >= end)
            return s_fail(why, "unterminated label set", DTX_EPROTO);
        p++;
    }
    const char *v = s_blanks(p, end);
    if (v == p || v == end)
        return s_fail(why, "no value", DTX_EPROTO);
    const char *ve = v;
    while (ve < end && *ve != ' ' && *ve != '\t')
        ve++;
    char buf[64];
    if ((size_t)(ve - v) >= sizeof buf)
        return s_fail(why, "value is not a number", DTX_EPROTO);
    memcpy(buf, v, (size_t)(ve - v));
    buf[ve - v] = '\0';
    char *stop;
    errno = 0;
    double x = strtod(buf, &stop);
    if (*stop || stop == buf)
        return s_fail(why, "value is not a number", DTX_EPROTO);
    if (isnan(x))
        return s_fail(why, "value is NaN", DTX_EPROTO);
    if (x < 0)
        return s_fail(why, "value is negative", DTX_EPROTO);
    if (isinf(x) || x >= S_MAX_COUNT)
        return s_fail(why, "value is too large", DTX_EPROTO);
    /* An optional timestamp (integer milliseconds), then nothing. */
    const char *t = s_blanks(ve, end);
    if (t < end) {
        const char *te = t + (*t == '-');
        while (te < end && *te >= '0' && *te <= '9')
            te++;
        if (te == t || s_blanks(te, end) != end || (te == t + 1 && *t == '-'))
            return s_fail(why, "garbage after the value", DTX_EPROTO);
    }
    *value = x;
    return 0;
}

int dtx_gw_dtxd_parse_inflight(const char *text, size_t len, int64_t *inflight,
                               const char **why)
{
    const char *p = text, *end = text + len;
    double sum = 0;
    int found = 0;
    s_fail(why, "", 0);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        p = s_blanks(p, le);
        if ((size_t)(le - p) >= S_NAME_LEN && memcmp(p, DTX_GW_DTXD_GAUGE, S_NAME_LEN) == 0 &&
            (p + S_NAME_LEN == le || p[S_NAME_LEN] == ' ' || p[S_NAME_LEN] == '\t' ||
             p[S_NAME_LEN] == '{')) {
            double v = 0;
            int rc = s_sample(p + S_NAME_LEN, le, &v, why);
            if (rc < 0)
                return rc;
            sum += v;
            found = 1;
            if (sum >= S_MAX_COUNT)
                return s_fail(why, "sum of the samples is too large", DTX_EPROTO);
        }
        p = next;
    }
    if (!found)
        return s_fail(why, "no " DTX_GW_DTXD_GAUGE " sample (dtxd too old?)", DTX_EUNSUPPORTED);
    *inflight = (int64_t)sum;
    return 0;
}

/* ---------------- the published reading ---------------- */

/* A sequence lock: odd while the writer is between its stores. */
static atomic_uint   s_seq;
static atomic_llong  s_inflight;
static atomic_llong  s_at_us;
static atomic_ullong s_poll_errors;
static atomic_ullong s_fail_open;

void dtx_gw_dtxd_reading_publish(int64_t inflight, int64_t at_us)
{
    unsigned seq = atomic_load_explicit(&s_seq, memory_order_relaxed);
    atomic_store_explicit(&s_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s_inflight, inflight, memory_order_relaxed);
    atomic_store_explicit(&s_at_us, at_us, memory_order_relaxed);
    atomic_store_explicit(&s_seq, seq + 2, memory_order_release);
}

void dtx_gw_dtxd_reading_get(dtx_gw_dtxd_reading_t *out)
{
    for (;;) {
        unsigned before = atomic_load_explicit(&s_seq, memory_order_acquire);
        out->inflight = atomic_load_explicit(&s_inflight, memory_order_relaxed);
        out->at_us = atomic_load_explicit(&s_at_us, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (!(before & 1) && atomic_load_explicit(&s_seq, memory_order_relaxed) == before)
            return;
        sched_yield();  /* the writer is between its stores: let it finish */
    }
}

uint64_t dtx_gw_dtxd_poll_errors(void) { return atomic_load(&s_poll_errors); }
uint64_t dtx_gw_dtxd_fail_open(void) { return atomic_load(&s_fail_open); }
void dtx_gw_dtxd_count_fail_open(void) { atomic_fetch_add(&s_fail_open, 1); }

/* ---------------- the token file ---------------- */

static void s_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

int dtx_gw_dtxd_token_ok(const char *token)
{
    size_t n = 0;
    for (; token && token[n]; n++)
        if ((unsigned char)token[n] <= ' ' || (unsigned char)token[n] >= 0x7f)
            return 0;
    return n > 0 && n <= DTX_GW_DTXD_TOKEN_MAX;
}

int dtx_gw_dtxd_token_load(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DTX_EIO;
    }
    char line[1024];
    int rc = DTX_EINVAL;
    snprintf(err, errlen, "%s: holds no token (one line: the token, or name:token)", path);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (!*s || *s == '#')
            continue;
        const char *tok = strchr(s, ':') ? strchr(s, ':') + 1 : s;
        if (*tok && strlen(tok) >= cap)
            snprintf(err, errlen, "%s: the token is longer than %zu characters", path, cap - 1);
        else if (*tok && !dtx_gw_dtxd_token_ok(tok))
            snprintf(err, errlen, "%s: the token must be 1-%d printable characters without "
                                  "spaces", path, DTX_GW_DTXD_TOKEN_MAX);
        else if (*tok) {
            snprintf(out, cap, "%s", tok);
            err[0] = '\0';
            rc = 0;
        }
        break;
    }
    s_wipe(line, sizeof line);
    fclose(f);
    return rc;
}

/* ---------------- the watch thread ---------------- */

typedef struct {
    char  *data;
    size_t len, cap;
} s_buf_t;

struct dtx_gw_dtxd_watch {
    dtx_gw_current_t *current;
    char             *token;     /* override of dtxd.admin_token, or NULL */
    pthread_t         thread;
    pthread_mutex_t   lock;      /* guards stop, kicked */
    pthread_cond_t    wake;
    int               stop;      /* stop asked */
    int               kicked;    /* a swap happened: look at the configuration again */
    atomic_int        stopping;  /* stop asked (read by the fetch loop) */
    CURLM            *multi;
    CURL             *easy;
    s_buf_t           body;      /* reused for every answer */
    /* thread-only state, for logging changes once */
    int               watching;  /* a rule uses the signal */
    int               failing;   /* the last poll failed */
    int               stale;     /* the reading was last seen stale */
    int64_t           since_us;  /* start of this watching spell */
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
        s_wipe(auth, sizeof auth);
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
        s_wipe(h->data, strlen(h->data));
    curl_slist_free_all(hdrs);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (running) {
        snprintf(why, cap, "stopped");
        return -1;
    }
    if (result != CURLE_OK) {
        snprintf(why, cap, "%s", result == CURLE_WRITE_ERROR ? "answer larger than 1 MiB"
                                                             : curl_easy_strerror(result));
        return -1;
    }
    if (status != 200) {
        snprintf(why, cap, "HTTP %ld%s", status,
                 status == 401 ? " (dtxd wants a token: dtxd.admin_token or --dtxd-token-file)"
                               : "");
        return -1;
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
        atomic_fetch_add(&s_poll_errors, 1);
        if (!self->failing)
            dtx_log_warn("dtxd metrics poll failed", "url=%s/metrics error=\"%s\"",
                         cfg->dtxd_admin, why);
        else
            dtx_log_debug("dtxd metrics poll failed", "url=%s/metrics error=\"%s\"",
                          cfg->dtxd_admin, why);
        self->failing = 1;
        return;
    }
    dtx_gw_dtxd_reading_publish(inflight, dtx_gw_now_us());
    if (self->failing)
        dtx_log_info("dtxd metrics poll recovered", "url=%s/metrics inflight=%lld",
                     cfg->dtxd_admin, (long long)inflight);
    self->failing = 0;
}

/* Logs the change when the reading turns stale or fresh again. */
static void s_check_stale(dtx_gw_dtxd_watch_t *self, const dtx_gw_config_t *cfg, int64_t now)
{
    dtx_gw_dtxd_reading_t r;
    dtx_gw_dtxd_reading_get(&r);
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

/* One pass: polls when due. Returns how long to sleep (µs), -1 for "until
 * woken" when no rule uses the signal. */
static int64_t s_step(dtx_gw_dtxd_watch_t *self, int64_t *next_us)
{
    dtx_gw_runtime_t *rt = dtx_gw_current_acquire(self->current);
    const dtx_gw_config_t *cfg = rt ? rt->cfg : NULL;
    int64_t wait = -1;
    if (!dtx_gw_config_uses_dtxd_inflight(cfg)) {
        if (self->watching) {
            dtx_gw_dtxd_reading_publish(0, 0);
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

static void *s_main(void *arg)
{
    dtx_gw_dtxd_watch_t *self = arg;
    int64_t next_us = 0;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        self->kicked = 0;
        pthread_mutex_unlock(&self->lock);
        int64_t wait = s_step(self, &next_us);
        pthread_mutex_lock(&self->lock);
        if (self->stop || self->kicked)
            continue;
        if (wait < 0) {
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(wait / 1000000);
        until.tv_nsec += (long)(wait % 1000000) * 1000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* The generation holder's swap listener (runs under its lock). */
static void s_kick(void *arg)
{
    dtx_gw_dtxd_watch_t *self = arg;
    pthread_mutex_lock(&self->lock);
    self->kicked = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

static void s_free(dtx_gw_dtxd_watch_t *self)
{
    if (self->easy)
        curl_easy_cleanup(self->easy);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    if (self->token) {
        s_wipe(self->token, strlen(self->token));
        free(self->token);
    }
    free(self->body.data);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
}

dtx_gw_dtxd_watch_t *dtx_gw_dtxd_watch_start(dtx_gw_current_t *current, const char *token)
{
    dtx_gw_dtxd_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->current = current;
    atomic_init(&self->stopping, 0);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    self->token = token && *token ? strdup(token) : NULL;
    self->multi = curl_multi_init();
    self->easy = curl_easy_init();
    /* Listen before the thread reads its first generation: no swap is
     * missed in between (a kick before the thread runs is harmless). */
    dtx_gw_current_on_swap(current, s_kick, self);
    if ((token && *token && !self->token) || !self->multi || !self->easy ||
        pthread_create(&self->thread, NULL, s_main, self) != 0) {
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
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    atomic_store(&self->stopping, 1);
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    curl_multi_wakeup(self->multi);
    pthread_join(self->thread, NULL);
    dtx_gw_dtxd_reading_publish(0, 0);
    s_free(self);
}
