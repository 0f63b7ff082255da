/* Cluster-wide limits without Redis: the engine (filters/gw_cluster.h)
 * driven step by step over a fake Redis that runs the same algorithms as
 * the Lua scripts, the fallback modes, and the configuration's checks.
 * The slice and lease arithmetic alone is in test_gw_cluster_quota.c. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_parse.h"
#include "core/gw_clock.h"
#include "filters/gw_cluster.h"
#include "limits/gw_cluster_quota.h"
#include "unit.h"

#define MS 1000LL
#define SEC 1000000LL

/* ---------------- the engine over a fake Redis ---------------- */

/* One fake Redis shared by the engines of a test: the scripts' algorithms
 * in C, on the virtual clock s_now. */
static int64_t s_now;

typedef struct {
    char key[256];
    double tat;                 /* rate */
    char inst[8][64];           /* conc leases / beats */
    int64_t slots[8], exp[8];
    int n;
} s_fkey_t;

typedef struct {
    s_fkey_t keys[64];
    int nkeys;
    atomic_int down;            /* connect and exec fail */
    int calls;
    int real_clock;             /* TIME is dtx_gw_now_us(), not s_now */
    pthread_mutex_t lock;       /* the threaded test: engines share it */
} s_fake_t;

typedef struct {
    s_fake_t *redis;
    int connected;
} s_fconn_t;

static s_fkey_t *s_fkey(s_fake_t *f, const char *key)
{
    for (int i = 0; i < f->nkeys; i++)
        if (strcmp(f->keys[i].key, key) == 0)
            return &f->keys[i];
    s_fkey_t *k = &f->keys[f->nkeys++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%s", key);
    return k;
}

static int s_fslot(s_fkey_t *k, const char *inst)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->inst[i], inst) == 0)
            return i;
    snprintf(k->inst[k->n], sizeof k->inst[0], "%s", inst);
    k->slots[k->n] = 0;
    k->exp[k->n] = 0;
    return k->n++;
}

static int s_fconnect(void *ctx, char *err, size_t errlen)
{
    s_fconn_t *c = ctx;
    if (c->redis->down) {
        snprintf(err, errlen, "connection refused");
        return DTX_EIO;
    }
    c->connected = 1;
    return 0;
}

static int s_fexec_locked(void *ctx, dtx_gw_cluster_call_t *calls, int n, char *err,
                          size_t errlen)
{
    s_fconn_t *c = ctx;
    if (c->redis->down || !c->connected) {
        snprintf(err, errlen, "connection reset");
        return DTX_EIO;
    }
    int64_t now = c->redis->real_clock ? dtx_gw_now_us() : s_now;
    int64_t now_ms = now / 1000;
    for (int i = 0; i < n; i++) {
        dtx_gw_cluster_call_t *cl = &calls[i];
        s_fkey_t *k = s_fkey(c->redis, cl->key);
        c->redis->calls++;
        cl->ok = 1;
        if (cl->script == DTX_GW_CLUSTER_RATE) {
            double nn = cl->arg[0], iv = cl->arg[1], tau = cl->arg[2];
            double tat = k->tat < (double)now ? (double)now : k->tat;
            double got = nn;
            if (nn > 0) {
                double avail = floor(((double)now + tau - tat) / iv) + 1;
                if (avail < 0)
                    avail = 0;
                if (avail < nn)
                    got = avail;
                tat += got * iv;
            } else {
                tat += nn * iv;
                if (tat < (double)now)
                    tat = (double)now;
            }
            k->tat = tat;
            cl->result = (int64_t)got;
        } else if (cl->script == DTX_GW_CLUSTER_CONC) {
            int64_t others = 0;
            for (int j = 0; j < k->n; j++)
                if (strcmp(k->inst[j], cl->instance) != 0 && k->exp[j] > now_ms)
                    others += k->slots[j];
            int64_t got = (int64_t)cl->arg[1] - others;
            if (got > (int64_t)cl->arg[0])
                got = (int64_t)cl->arg[0];
            if (got < 0)
                got = 0;
            int j = s_fslot(k, cl->instance);
            k->slots[j] = got;
            k->exp[j] = now_ms + (int64_t)cl->arg[2];
            cl->result = got;
        } else {
            int j = s_fslot(k, cl->instance);
            k->exp[j] = now_ms + (int64_t)cl->arg[0];
            int live = 0;
            for (int m = 0; m < k->n; m++)
                live += k->exp[m] > now_ms;
            cl->result = live;
        }
    }
    return 0;
}

static int s_fexec(void *ctx, dtx_gw_cluster_call_t *calls, int n, char *err, size_t errlen)
{
    s_fake_t *f = ((s_fconn_t *)ctx)->redis;
    if (f->real_clock)
        pthread_mutex_lock(&f->lock);
    int rc = s_fexec_locked(ctx, calls, n, err, errlen);
    if (f->real_clock)
        pthread_mutex_unlock(&f->lock);
    return rc;
}

static void s_fclose(void *ctx)
{
    ((s_fconn_t *)ctx)->connected = 0;
}

static void s_fdestroy(void *ctx)
{
    free(ctx);
}

static int64_t s_clock(void)
{
    return s_now;
}

static dtx_gw_cluster_cfg_t s_ccfg(const char *instance, int fail_closed)
{
    dtx_gw_cluster_cfg_t c;
    memset(&c, 0, sizeof c);
    c.redis = (char *)"fake:1";
    c.key_prefix = (char *)"t:";
    c.instance = (char *)instance;
    c.connect_timeout_ms = 100;
    c.timeout_ms = 100;
    c.retry_ms = 100;
    c.sync_ms = 5;
    c.slice_ms = 20;
    c.idle_ms = 200;
    c.lease_ms = 2000;
    c.heartbeat_ms = 250;
    c.fail_closed = fail_closed;
    return c;
}

static dtx_gw_cluster_t *s_engine(s_fake_t *f, const char *instance, int fail_closed)
{
    s_fconn_t *conn = calloc(1, sizeof *conn);
    conn->redis = f;
    dtx_gw_cluster_transport_t tr = { conn, s_fconnect, s_fexec, s_fclose, s_fdestroy };
    dtx_gw_cluster_cfg_t c = s_ccfg(instance, fail_closed);
    return dtx_gw_cluster_new(&c, &tr, f->real_clock ? NULL : s_clock);
}

static dtx_gw_rule_cfg_t s_rate_rule(double rate)
{
    dtx_gw_rule_cfg_t r;
    memset(&r, 0, sizeof r);
    r.name = (char *)"shared";
    r.kind = DTX_GW_RULE_RATE;
    r.algorithm = DTX_GW_ALG_TOKEN;
    r.rate = rate;
    r.per_s = 1;
    r.burst = 1;
    r.cluster = 1;
    return r;
}

/* Two engines, each offered `offered` requests per second (1 ms apart
 * split between them), for `ms` of virtual time; returns the admitted. */
static int s_drive(dtx_gw_cluster_t *a, dtx_gw_cluster_t *b, const dtx_gw_rule_cfg_t *r,
                   int per_ms, int64_t ms)
{
    int admitted = 0;
    int64_t retry;
    for (int64_t t = 0; t < ms; t++) {
        s_now += MS;
        for (int i = 0; i < per_ms; i++) {
            dtx_gw_cluster_t *e = (i % 2) ? b : a;
            if (dtx_gw_cluster_rate(e, r, "", s_now, 0, &retry) == DTX_GW_RL_PASS &&
                dtx_gw_cluster_rate(e, r, "", s_now, 1, &retry) == DTX_GW_RL_PASS)
                admitted++;
        }
        if (t % 5 == 0) {
            dtx_gw_cluster_step(a, s_now);
            dtx_gw_cluster_step(b, s_now + 2 * MS);
        }
    }
    return admitted;
}

static void test_two_instances_share_one_rate(void)
{
    static s_fake_t f;
    memset(&f, 0, sizeof f);
    s_now = 1000 * SEC;
    dtx_gw_cluster_t *a = s_engine(&f, "a", 0), *b = s_engine(&f, "b", 0);
    CU_ASSERT_FATAL(a && b);
    dtx_gw_rule_cfg_t r = s_rate_rule(1000);
    /* 5x the limit for 10 virtual seconds, split over two instances */
    int admitted = s_drive(a, b, &r, 5, 10000);
    /* the bound of docs/gateway.md: capacity + 5 slices of headroom +
     * N x (slice + debt) = 1 + 100 + 42 */
    CU_ASSERT(admitted >= 10000 - 143 && admitted <= 10000 + 143);
    printf("[admitted %d of limit 10000, %d Redis calls] ", admitted, f.calls);
    /* slices, not a round trip per request: at most one call per key and
     * sync period (5 ms) per instance, plus heartbeats, whatever the load
     * (50,000 requests were offered) */
    CU_ASSERT(f.calls <= 2 * (10000 / 5 + 10000 / 250 + 2));
    dtx_gw_cluster_status_t st;
    dtx_gw_cluster_status(a, &st);
    CU_ASSERT_EQUAL(st.mode, DTX_GW_CQ_CLUSTER);
    CU_ASSERT_EQUAL(st.live, 2);
    CU_ASSERT(st.redis_up);
    dtx_gw_cluster_destroy(&a);
    dtx_gw_cluster_destroy(&b);
}


static void test_a_quiet_key_is_admitted_and_charged(void)
{
    static s_fake_t f;
    memset(&f, 0, sizeof f);
    s_now = 1500 * SEC;
    dtx_gw_cluster_t *a = s_engine(&f, "a", 0), *b = s_engine(&f, "b", 0);
    CU_ASSERT_FATAL(a && b);
    dtx_gw_rule_cfg_t r = s_rate_rule(10);
    int64_t retry;
    int admitted = 0;
    /* one request every 2 s, alternating: each comes after its instance
     * gave its pool back (idle_ms 200), and is admitted all the same */
    for (int i = 0; i < 10; i++) {
        dtx_gw_cluster_t *e = i % 2 ? b : a;
        admitted += dtx_gw_cluster_rate(e, &r, "quiet", s_now, 0, &retry) == DTX_GW_RL_PASS &&
                    dtx_gw_cluster_rate(e, &r, "quiet", s_now, 1, &retry) == DTX_GW_RL_PASS;
        for (int k = 0; k < 400; k++) {
            s_now += 5 * MS;
            dtx_gw_cluster_step(a, s_now);
            dtx_gw_cluster_step(b, s_now);
        }
    }
    CU_ASSERT_EQUAL(admitted, 10);
    /* each loan was charged to the shared bucket (and the rest given back) */
    dtx_gw_cluster_status_t sa, sb;
    dtx_gw_cluster_status(a, &sa);
    dtx_gw_cluster_status(b, &sb);
    CU_ASSERT_EQUAL((sa.tokens_granted - sa.tokens_returned) +
                    (sb.tokens_granted - sb.tokens_returned), 10);
    dtx_gw_cluster_destroy(&a);
    dtx_gw_cluster_destroy(&b);
}

static void test_redis_gone_falls_back_and_comes_back(void)
{
    static s_fake_t f;
    memset(&f, 0, sizeof f);
    s_now = 2000 * SEC;
    dtx_gw_cluster_t *a = s_engine(&f, "a", 0), *b = s_engine(&f, "b", 1);
    CU_ASSERT_FATAL(a && b);
    dtx_gw_rule_cfg_t r = s_rate_rule(1000);
    s_drive(a, b, &r, 2, 1000);
    f.down = 1;
    s_drive(a, b, &r, 0, 10);  /* one sync pass sees it */
    dtx_gw_cluster_status_t sa, sb;
    dtx_gw_cluster_status(a, &sa);
    dtx_gw_cluster_status(b, &sb);
    CU_ASSERT_EQUAL(sa.mode, DTX_GW_CQ_FAIL_OPEN);
    CU_ASSERT_EQUAL(sb.mode, DTX_GW_CQ_FAIL_CLOSED);
    CU_ASSERT_EQUAL(sa.live, 2);  /* remembered from the heartbeats */
    CU_ASSERT(!sa.redis_up && sa.fallbacks == 1 && sa.errors >= 1);
    /* fail-open a: 500 r/s (its share); fail-closed b: nothing */
    int pa = 0, pb = 0;
    int64_t retry;
    for (int t = 0; t < 2000; t++) {
        s_now += MS;
        for (int i = 0; i < 3; i++) {
            pa += dtx_gw_cluster_rate(a, &r, "", s_now, 1, &retry) == DTX_GW_RL_PASS;
            pb += dtx_gw_cluster_rate(b, &r, "", s_now, 1, &retry) == DTX_GW_RL_PASS;
        }
        if (t % 5 == 0) {
            dtx_gw_cluster_step(a, s_now);
            dtx_gw_cluster_step(b, s_now);
        }
    }
    CU_ASSERT(pa >= 990 && pa <= 1010);
    CU_ASSERT_EQUAL(pb, 0);
    /* back: the next retry (retry_ms 100) reconnects; enforced cluster-wide */
    f.down = 0;
    s_now += 100 * MS;
    dtx_gw_cluster_step(a, s_now);
    dtx_gw_cluster_step(b, s_now);
    dtx_gw_cluster_status(a, &sa);
    dtx_gw_cluster_status(b, &sb);
    CU_ASSERT_EQUAL(sa.mode, DTX_GW_CQ_CLUSTER);
    CU_ASSERT_EQUAL(sb.mode, DTX_GW_CQ_CLUSTER);
    CU_ASSERT(sa.redis_up);
    int admitted = s_drive(a, b, &r, 5, 2000);
    CU_ASSERT(admitted >= 2000 - 143 && admitted <= 2000 + 143);
    char *m = dtx_gw_cluster_metrics(a);
    CU_ASSERT(m && strstr(m, "dtx_gw_cluster_mode{mode=\"cluster\"} 1\n") != NULL);
    CU_ASSERT(m && strstr(m, "dtx_gw_cluster_fallbacks_total 1\n") != NULL);
    free(m);
    dtx_gw_cluster_destroy(&a);
    dtx_gw_cluster_destroy(&b);
}

static void test_a_dead_instances_slots_come_back(void)
{
    static s_fake_t f;
    memset(&f, 0, sizeof f);
    s_now = 3000 * SEC;
    dtx_gw_cluster_t *a = s_engine(&f, "a", 0), *b = s_engine(&f, "b", 0);
    CU_ASSERT_FATAL(a && b);
    dtx_gw_rule_cfg_t r;
    memset(&r, 0, sizeof r);
    r.name = (char *)"conc";
    r.kind = DTX_GW_RULE_CONCURRENCY;
    r.max = 8;
    r.cluster = 1;
    void *held[16];
    int na = 0;
    /* a fills the cluster's 8 slots (asks again each sync while refused) */
    for (int t = 0; t < 200 && na < 8; t++) {
        s_now += MS;
        void *h = dtx_gw_cluster_conc_acquire(a, &r, "", s_now);
        if (h)
            held[na++] = h;
        dtx_gw_cluster_step(a, s_now);
        dtx_gw_cluster_step(b, s_now);
    }
    CU_ASSERT_EQUAL(na, 8);
    /* b gets none while a's lease stands */
    int nb = 0;
    for (int t = 0; t < 1000; t++) {
        s_now += MS;
        void *h = dtx_gw_cluster_conc_acquire(b, &r, "", s_now);
        if (h)
            nb++, dtx_gw_cluster_conc_release(b, h);
        dtx_gw_cluster_step(a, s_now);
        dtx_gw_cluster_step(b, s_now);
    }
    CU_ASSERT_EQUAL(nb, 0);
    /* a dies (no more syncs, its slots never released): after lease_ms b has them */
    int64_t died = s_now;
    void *bh[16];
    nb = 0;
    while (s_now < died + 3 * SEC && nb < 8) {
        s_now += MS;
        void *h = dtx_gw_cluster_conc_acquire(b, &r, "", s_now);
        if (h)
            bh[nb++] = h;
        dtx_gw_cluster_step(b, s_now);
    }
    CU_ASSERT_EQUAL(nb, 8);
    /* not before a's lease ran out: lease_ms after its last renewal,
     * which was at most lease_ms / 3 before it died */
    CU_ASSERT(s_now - died >= (2000 - 2000 / 3) * MS);
    CU_ASSERT(s_now - died <= 2100 * MS);
    for (int i = 0; i < nb; i++)
        dtx_gw_cluster_conc_release(b, bh[i]);
    for (int i = 0; i < na; i++)
        dtx_gw_cluster_conc_release(a, held[i]);
    dtx_gw_cluster_destroy(&a);
    dtx_gw_cluster_destroy(&b);
}


/* The sync threads against worker threads (run under ThreadSanitizer by
 * the tsan build of this suite): two engines with their threads started,
 * four workers taking tokens and slots, Redis going away and back. */
typedef struct {
    dtx_gw_cluster_t *e;
    const dtx_gw_rule_cfg_t *rate, *conc;
    atomic_int *stop;
    int admitted;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    int64_t retry;
    while (!atomic_load(w->stop)) {
        int64_t now = dtx_gw_now_us();
        if (dtx_gw_cluster_rate(w->e, w->rate, "k", now, 0, &retry) == DTX_GW_RL_PASS &&
            dtx_gw_cluster_rate(w->e, w->rate, "k", now, 1, &retry) == DTX_GW_RL_PASS)
            w->admitted++;
        void *slot = dtx_gw_cluster_conc_acquire(w->e, w->conc, "k", now);
        dtx_gw_cluster_status_t st;
        dtx_gw_cluster_status(w->e, &st);
        dtx_gw_cluster_conc_release(w->e, slot);
        dtx_gw_sleep_us(200);
    }
    return NULL;
}

static void test_sync_threads_and_workers_run_together(void)
{
    static s_fake_t f;
    memset(&f, 0, sizeof f);
    f.real_clock = 1;
    pthread_mutex_init(&f.lock, NULL);
    dtx_gw_cluster_t *a = s_engine(&f, "a", 0), *b = s_engine(&f, "b", 1);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_FATAL(dtx_gw_cluster_start(a) == 0 && dtx_gw_cluster_start(b) == 0);
    dtx_gw_rule_cfg_t rate = s_rate_rule(500), conc;
    memset(&conc, 0, sizeof conc);
    conc.name = (char *)"slots";
    conc.kind = DTX_GW_RULE_CONCURRENCY;
    conc.max = 3;
    conc.cluster = 1;
    atomic_int stop = 0;
    s_worker_t w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (s_worker_t){ i % 2 ? b : a, &rate, &conc, &stop, 0 };
        pthread_create(&t[i], NULL, s_worker, &w[i]);
    }
    dtx_gw_sleep_us(400000);
    atomic_store(&f.down, 1);
    dtx_gw_sleep_us(200000);
    atomic_store(&f.down, 0);
    dtx_gw_sleep_us(400000);
    atomic_store(&stop, 1);
    int admitted = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        admitted += w[i].admitted;
    }
    dtx_gw_cluster_status_t st;
    dtx_gw_cluster_status(b, &st);
    CU_ASSERT(admitted > 0);
    CU_ASSERT(st.fallbacks >= 1);
    dtx_gw_cluster_destroy(&a);
    dtx_gw_cluster_destroy(&b);
    pthread_mutex_destroy(&f.lock);
}

/* ---------------- configuration ---------------- */

static char s_err[DTX_GW_ERR_SIZE];

static dtx_gw_config_t *s_parse(const char *cluster, const char *rule)
{
    char doc[4096];
    snprintf(doc, sizeof doc,
             "{%s%s\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
             "\"rules\":[%s],"
             "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\","
             "\"rules\":[\"x\"]}]}",
             cluster ? "\"cluster\":" : "", cluster ? cluster : "", rule);
    s_err[0] = '\0';
    return dtx_gw_config_parse(doc, strlen(doc), s_err, sizeof s_err);
}

static void test_config_cluster_section_and_scope(void)
{
    const char *rate = "{\"name\":\"x\",\"type\":\"rate_limit\",\"algorithm\":\"token_bucket\","
                       "\"rate\":100,\"burst\":10,\"scope\":\"cluster\"}";
    dtx_gw_config_t *c = s_parse("{\"redis\":\"127.0.0.1:6379\",\"failure\":\"fail_closed\"},",
                                 rate);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(c->rules[0].cluster);
    CU_ASSERT_STRING_EQUAL(c->cluster->redis, "127.0.0.1:6379");
    CU_ASSERT(c->cluster->fail_closed);
    CU_ASSERT_EQUAL(c->cluster->timeout_ms, 250);
    CU_ASSERT_EQUAL(c->cluster->slice_ms, 20);
    CU_ASSERT_EQUAL(c->cluster->lease_ms, 2000);
    CU_ASSERT_STRING_EQUAL(c->cluster->key_prefix, "dtxgw:");
    CU_ASSERT(c->cluster->instance && strchr(c->cluster->instance, ':'));
    dtx_gw_config_destroy(&c);
    c = s_parse("{\"redis\":\"unix:/run/r.sock\",\"password\":\"s3cret\",\"instance\":\"gw-1\"},",
                rate);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_STRING_EQUAL(c->cluster->instance, "gw-1");
    /* the section is bound at start: a reload that changes, adds or
     * drops it is refused, naming it; the same section passes */
    dtx_gw_config_t *same = s_parse("{\"redis\":\"unix:/run/r.sock\",\"password\":\"s3cret\","
                                    "\"instance\":\"gw-1\"},", rate);
    dtx_gw_config_t *other = s_parse("{\"redis\":\"unix:/run/r2.sock\",\"instance\":\"gw-1\"},",
                                     rate);
    dtx_gw_config_t *none = s_parse(NULL, "{\"name\":\"x\",\"type\":\"concurrency\",\"max\":5}");
    CU_ASSERT_FATAL(same && other && none);
    CU_ASSERT(dtx_gw_config_restart_field(c, same) == NULL);
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(c, other), "cluster");
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(c, none), "cluster");
    CU_ASSERT_STRING_EQUAL(dtx_gw_config_restart_field(none, c), "cluster");
    dtx_gw_config_destroy(&same);
    dtx_gw_config_destroy(&other);
    dtx_gw_config_destroy(&none);
    dtx_gw_config_destroy(&c);
    /* bad input: a clear error naming the field */
    struct { const char *cluster, *rule, *err; } bad[] = {
        { NULL, rate, "rules[0].scope: cluster needs a top-level \"cluster\" section" },
        { "{\"redis\":\"localhost\"},", rate, "cluster.redis: must be host:port" },
        { "{\"redis\":\"a:1\",\"tls\":true},", rate, "cluster.tls: is not supported" },
        { "{\"redis\":\"a:1\",\"failure\":\"maybe\"},", rate, "cluster.failure: must be" },
        { "{\"redis\":\"a:1\",\"heartbeat_ms\":1500},", rate, "cluster.heartbeat_ms: must be at most half" },
        { "{\"redis\":\"a:1\",\"bogus\":1},", rate, "cluster" },
        { "{\"redis\":\"a:1\"},", "{\"name\":\"x\",\"type\":\"rate_limit\",\"rate\":5,"
          "\"algorithm\":\"queue\",\"scope\":\"cluster\"}", "rules[0].scope: cluster needs algorithm" },
        { "{\"redis\":\"a:1\"},", "{\"name\":\"x\",\"type\":\"rate_limit\",\"rate\":5,\"burst\":4,"
          "\"delay\":2,\"scope\":\"cluster\"}", "rules[0].delay: is not supported with scope cluster" },
        { "{\"redis\":\"a:1\"},", "{\"name\":\"x\",\"type\":\"concurrency\",\"max\":5,\"queue\":2,"
          "\"scope\":\"cluster\"}", "rules[0].queue: is not supported with scope cluster" },
        { "{\"redis\":\"a:1\"},", "{\"name\":\"x\",\"type\":\"breaker\",\"scope\":\"cluster\"}",
          "rules[0].scope: cluster applies to rate_limit and concurrency" },
        { "{\"redis\":\"a:1\"},", "{\"name\":\"x\",\"type\":\"concurrency\",\"max\":5,"
          "\"scope\":\"galaxy\"}", "rules[0].scope: must be instance or cluster" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = s_parse(bad[i].cluster, bad[i].rule);
        CU_ASSERT(c == NULL);
        if (!strstr(s_err, bad[i].err))
            printf("\n  case %zu: got \"%s\"\n", i, s_err);
        CU_ASSERT(strstr(s_err, bad[i].err) != NULL);
        dtx_gw_config_destroy(&c);
    }
}

UNIT_SUITE(gw_cluster)
{
    CU_pSuite s = CU_add_suite("gw_cluster", NULL, NULL);
    CU_add_test(s, "two instances share one rate", test_two_instances_share_one_rate);
    CU_add_test(s, "a quiet key is admitted and charged", test_a_quiet_key_is_admitted_and_charged);
    CU_add_test(s, "Redis gone: fall back, and come back", test_redis_gone_falls_back_and_comes_back);
    CU_add_test(s, "a dead instance's slots come back", test_a_dead_instances_slots_come_back);
    CU_add_test(s, "sync threads and workers run together",
                test_sync_threads_and_workers_run_together);
    CU_add_test(s, "config: cluster section and scope", test_config_cluster_section_and_scope);
}
