/*
 * tsan-sdk — libdtx used from several threads at once, for the tsan stage
 * of make test (tests/tsan/run.sh runs it built with -fsanitize=thread).
 *
 * libdtx objects are one per thread (dtx/dtx.h), but what they share
 * behind the caller's back — id and corr generation, logging, ZeroMQ —
 * is used by every thread at once, and dtx_participant_stop is meant to
 * come from another thread. Two parts:
 *
 *  1. No coordinator (nothing listens at the endpoint): S_THREADS threads
 *     each create and destroy clients and participants and draw ids and
 *     random numbers, all at once; S_THREADS participants poll in threads
 *     of their own and are stopped from the main thread, several rounds.
 *  2. A real dtxd ($DTX_TEST_BIN/dtxd on the private PostgreSQL of
 *     tests/run.sh, database tsan_sdk): two participant threads serve
 *     resources ra and rb; S_CLIENTS client threads each run S_TXNS
 *     transactions (begin, try ra, try rb, commit — every fourth rolled
 *     back); once every confirm and cancel has arrived the main thread
 *     stops the participants.
 *
 * Exit status: 0 when every check held, 1 otherwise. A ThreadSanitizer
 * report ends the process with TSAN_OPTIONS' exitcode (run.sh: 66).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/harness.h"
#include "dtx/dtx.h"
#include "dtx/id.h"
#include "dtx/log.h"

#define S_THREADS      4     /* part 1: threads creating objects */
#define S_ROUNDS       20    /* part 1: objects each thread creates */
#define S_STOP_ROUNDS  5     /* part 1: run/stop rounds */
#define S_CLIENTS      3     /* part 2: client threads */
#define S_TXNS         15    /* part 2: transactions per client thread */
#define S_WAIT_MS      30000 /* longest wait for registration or deliveries */
#define S_NOWHERE      "tcp://127.0.0.1:9"  /* discard port: nothing answers */

static int s_failures;

#define S_CHECK(cond)                                                       \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "tsan-sdk: %s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #cond);                                       \
            s_failures++;                                                   \
        }                                                                   \
    } while (0)

/* ---------------- part 1: no coordinator ---------------- */

typedef struct {
    int  index;
    int  errors;                             /* failed creations */
    char ids[S_ROUNDS][DTX_ID_LEN + 1];      /* ids drawn, checked by main */
} s_maker_t;

static int s_noop(const dtx_call_t *call, void *arg)
{
    (void)call;
    (void)arg;
    return DTX_OK;
}

static const dtx_tcc_handlers_t s_noop_handlers = { s_noop, s_noop, s_noop, NULL };

static void *s_maker(void *arg)
{
    s_maker_t *m = arg;
    for (int i = 0; i < S_ROUNDS; i++) {
        int err = 0;
        dtx_client_t *c = dtx_client_new(S_NOWHERE, &err);
        if (!c) {
            m->errors++;
            continue;
        }
        dtx_client_set_timeout(c, 50);
        char gid[DTX_GID_SIZE];
        /* Nobody listens: not sent, after a send attempt. */
        if (dtx_client_begin(c, DTX_MODE_TCC, 0, gid) != DTX_ENOTSENT)
            m->errors++;
        dtx_client_destroy(&c);
        if (dtx_id_new(m->ids[i]) != 0)
            m->errors++;
        (void)dtx_random_u64();
        char name[DTX_NAME_SIZE];
        snprintf(name, sizeof name, "tsan-maker-%d-%d", m->index, i);
        dtx_participant_t *p = dtx_participant_new(name, &err);
        if (!p || dtx_participant_connect(p, S_NOWHERE) != 0 ||
            dtx_participant_serve(p, "rx", &s_noop_handlers) != 0 ||
            dtx_participant_poll(p, 5) != 0)
            m->errors++;
        dtx_participant_destroy(&p);
    }
    return NULL;
}

typedef struct {
    dtx_participant_t *p;
    atomic_int         returned;  /* run() returned, with rc */
    int                rc;
} s_runner_t;

static void *s_runner(void *arg)
{
    s_runner_t *r = arg;
    r->rc = dtx_participant_run(r->p);
    atomic_store(&r->returned, 1);
    return NULL;
}

static int s_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void s_part_without_coordinator(void)
{
    /* Objects made and destroyed on several threads at once. */
    static s_maker_t makers[S_THREADS];
    pthread_t th[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        makers[i].index = i;
        S_CHECK(pthread_create(&th[i], NULL, s_maker, &makers[i]) == 0);
    }
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(th[i], NULL);
        S_CHECK(makers[i].errors == 0);
    }
    static char ids[S_THREADS * S_ROUNDS][DTX_ID_LEN + 1];
    for (int i = 0; i < S_THREADS; i++)
        memcpy(ids[i * S_ROUNDS], makers[i].ids, sizeof makers[i].ids);
    qsort(ids, S_THREADS * S_ROUNDS, sizeof ids[0], s_cmp_id);
    for (int i = 0; i < S_THREADS * S_ROUNDS; i++) {
        S_CHECK(strlen(ids[i]) == DTX_ID_LEN);
        if (i > 0)
            S_CHECK(strcmp(ids[i - 1], ids[i]) != 0);
    }

    /* Participants running in threads of their own, stopped from here. */
    dtx_participant_t *ps[S_THREADS];
    for (int i = 0; i < S_THREADS; i++) {
        char name[DTX_NAME_SIZE];
        snprintf(name, sizeof name, "tsan-stop-%d", i);
        ps[i] = dtx_participant_new(name, NULL);
        S_CHECK(ps[i] && dtx_participant_connect(ps[i], S_NOWHERE) == 0 &&
                dtx_participant_serve(ps[i], "rx", &s_noop_handlers) == 0);
        if (!ps[i])
            return;
    }
    for (int round = 0; round < S_STOP_ROUNDS; round++) {
        s_runner_t runners[S_THREADS];
        for (int i = 0; i < S_THREADS; i++) {
            runners[i] = (s_runner_t){ .p = ps[i], .rc = -1 };
            S_CHECK(pthread_create(&th[i], NULL, s_runner, &runners[i]) == 0);
        }
        h_sleep_ms(20 + 10 * round);
        for (int i = 0; i < S_THREADS; i++)
            dtx_participant_stop(ps[i]);
        for (int i = 0; i < S_THREADS; i++) {
            pthread_join(th[i], NULL);
            S_CHECK(atomic_load(&runners[i].returned) && runners[i].rc == DTX_OK);
        }
    }
    for (int i = 0; i < S_THREADS; i++)
        dtx_participant_destroy(&ps[i]);
}

/* ---------------- part 2: a real dtxd ---------------- */

typedef struct {
    atomic_int tries, confirms, cancels;
} s_counts_t;

static int s_count_try(const dtx_call_t *call, void *arg)
{
    (void)call;
    atomic_fetch_add(&((s_counts_t *)arg)->tries, 1);
    return DTX_OK;
}

static int s_count_confirm(const dtx_call_t *call, void *arg)
{
    (void)call;
    atomic_fetch_add(&((s_counts_t *)arg)->confirms, 1);
    return DTX_OK;
}

static int s_count_cancel(const dtx_call_t *call, void *arg)
{
    (void)call;
    atomic_fetch_add(&((s_counts_t *)arg)->cancels, 1);
    return DTX_OK;
}

typedef struct {
    const char        *endpoint;
    const char        *instance;
    const char        *resource;
    s_counts_t         counts;
    dtx_participant_t *p;
    atomic_int         ready;    /* 1 registered and running, -1 failed */
    int                rc;       /* dtx_participant_run's */
} s_server_t;

/* Registration is waited for on this thread: the participant is only
 * touched by the thread that runs it (dtx_participant_stop excepted). */
static void *s_server(void *arg)
{
    s_server_t *s = arg;
    dtx_tcc_handlers_t h = { s_count_try, s_count_confirm, s_count_cancel, &s->counts };
    if (dtx_participant_connect(s->p, s->endpoint) != 0 ||
        dtx_participant_serve(s->p, s->resource, &h) != 0) {
        atomic_store(&s->ready, -1);
        return NULL;
    }
    dtx_participant_set_heartbeat(s->p, 200);
    int64_t until = h_now_ms() + S_WAIT_MS;
    while (!dtx_participant_registered(s->p) && h_now_ms() < until)
        dtx_participant_poll(s->p, 50);
    if (!dtx_participant_registered(s->p)) {
        atomic_store(&s->ready, -1);
        return NULL;
    }
    atomic_store(&s->ready, 1);
    s->rc = dtx_participant_run(s->p);
    return NULL;
}

typedef struct {
    const char *endpoint;
    int         committed, rolled_back, errors;
} s_initiator_t;

static void *s_initiator(void *arg)
{
    s_initiator_t *t = arg;
    dtx_client_t *c = dtx_client_new(t->endpoint, NULL);
    if (!c) {
        t->errors++;
        return NULL;
    }
    dtx_client_set_timeout(c, 10000);
    for (int i = 0; i < S_TXNS; i++) {
        char gid[DTX_GID_SIZE];
        dtx_try_result_t r;
        int rc = dtx_client_begin(c, DTX_MODE_TCC, 30000, gid);
        if (rc == 0)
            rc = dtx_client_try(c, gid, "ra", "debit", "1", 1, &r);
        if (rc == 0)
            rc = dtx_client_try(c, gid, "rb", "credit", "1", 1, &r);
        if (rc != 0) {
            fprintf(stderr, "tsan-sdk: transaction %d: %s (%s)\n", i, dtx_strerror(rc),
                    dtx_client_last_error(c));
            t->errors++;
            continue;
        }
        if (i % 4 == 3) {
            rc = dtx_client_rollback(c, gid, NULL);
            t->rolled_back += rc == 0;
        } else {
            rc = dtx_client_commit(c, gid, NULL);
            t->committed += rc == 0;
        }
        t->errors += rc != 0;
    }
    dtx_client_destroy(&c);
    return NULL;
}

typedef struct {
    s_server_t *servers;
    int         confirms, cancels;  /* wanted per resource */
} s_delivered_t;

static int s_all_delivered(void *arg)
{
    s_delivered_t *d = arg;
    for (int i = 0; i < 2; i++)
        if (atomic_load(&d->servers[i].counts.confirms) < d->confirms ||
            atomic_load(&d->servers[i].counts.cancels) < d->cancels)
            return 0;
    return 1;
}

static void s_part_with_coordinator(void)
{
    char db[H_CONNINFO_SIZE];
    h_dtxd_t dtxd = { 0 };
    snprintf(dtxd.logname, sizeof dtxd.logname, "tsan-sdk-dtxd");
    if (h_db_create("tsan_sdk", db, sizeof db) != 0 || h_dtxd_start(&dtxd, db, NULL) != 0) {
        S_CHECK(!"dtxd started");
        return;
    }
    static s_server_t servers[2] = {
        { .instance = "tsan-pa", .resource = "ra" },
        { .instance = "tsan-pb", .resource = "rb" },
    };
    pthread_t sth[2], cth[S_CLIENTS];
    for (int i = 0; i < 2; i++) {
        servers[i].endpoint = dtxd.endpoint;
        servers[i].p = dtx_participant_new(servers[i].instance, NULL);
        S_CHECK(servers[i].p != NULL);
        if (!servers[i].p)
            return;
        S_CHECK(pthread_create(&sth[i], NULL, s_server, &servers[i]) == 0);
    }
    int64_t until = h_now_ms() + S_WAIT_MS;
    while ((atomic_load(&servers[0].ready) == 0 || atomic_load(&servers[1].ready) == 0) &&
           h_now_ms() < until)
        h_sleep_ms(20);
    S_CHECK(atomic_load(&servers[0].ready) == 1 && atomic_load(&servers[1].ready) == 1);

    s_initiator_t inits[S_CLIENTS];
    for (int i = 0; i < S_CLIENTS; i++) {
        inits[i] = (s_initiator_t){ .endpoint = dtxd.endpoint };
        S_CHECK(pthread_create(&cth[i], NULL, s_initiator, &inits[i]) == 0);
    }
    s_delivered_t want = { servers, 0, 0 };
    for (int i = 0; i < S_CLIENTS; i++) {
        pthread_join(cth[i], NULL);
        S_CHECK(inits[i].errors == 0);
        want.confirms += inits[i].committed;
        want.cancels += inits[i].rolled_back;
    }
    S_CHECK(want.confirms == S_CLIENTS * (S_TXNS - S_TXNS / 4));
    /* Confirms and cancels run in the background after the decision. */
    S_CHECK(h_wait_until(s_all_delivered, &want, S_WAIT_MS) == 0);
    for (int i = 0; i < 2; i++)
        dtx_participant_stop(servers[i].p);
    for (int i = 0; i < 2; i++) {
        pthread_join(sth[i], NULL);
        S_CHECK(servers[i].rc == DTX_OK);
        printf("tsan-sdk: %s: %d tries, %d confirms, %d cancels\n", servers[i].resource,
               atomic_load(&servers[i].counts.tries), atomic_load(&servers[i].counts.confirms),
               atomic_load(&servers[i].counts.cancels));
        dtx_participant_destroy(&servers[i].p);
    }
    S_CHECK(h_dtxd_stop(&dtxd) == 0);
}

int main(void)
{
    if (h_init() != 0)
        return 1;
    /* Part 1 makes every call time out or fail to connect: one warning
     * each would bury the output. The lines go through the stderr handler
     * from every thread: that is under the sanitizer too. */
    dtx_log_set_handler(dtx_log_stderr, "tsan-sdk");
    dtx_log_set_level(DTX_LOG_ERROR);
    int64_t t0 = h_now_ms();
    s_part_without_coordinator();
    int64_t t1 = h_now_ms();
    printf("tsan-sdk: without a coordinator: %d threads x %d clients/participants, "
           "%d stop rounds (%lld ms)\n", S_THREADS, S_ROUNDS, S_STOP_ROUNDS,
           (long long)(t1 - t0));
    s_part_with_coordinator();
    printf("tsan-sdk: with dtxd: %d client threads x %d transactions, 2 participant "
           "threads (%lld ms)\n", S_CLIENTS, S_TXNS, (long long)(h_now_ms() - t1));
    if (s_failures) {
        fprintf(stderr, "tsan-sdk: %d check(s) failed\n", s_failures);
        return 1;
    }
    printf("tsan-sdk: ok\n");
    return 0;
}
