/*
 * test_client_args.c — what the SDK (participant-sdk/src/client.c and
 * participant.c) decides before it talks to any coordinator: argument
 * validation, calls against an endpoint where nobody listens (not sent), and
 * NULL-safe destruction. No coordinator runs; the only sockets are the
 * SDK's own, connecting to a port that refuses.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dtx/clock.h"
#include "dtx/dtx.h"
#include "dtx/log.h"
#include "unit.h"

#define NOBODY   "tcp://127.0.0.1:1"  /* nothing listens on port 1 */
#define SHORT_MS 200

static uint8_t s_big[DTX_PAYLOAD_MAX + 1];
static const char s_name64[] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static dtx_client_t *s_client(void)
{
    int err = 1;
    dtx_client_t *c = dtx_client_new(NOBODY, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(err, DTX_OK);
    dtx_client_set_timeout(c, SHORT_MS);
    return c;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

static void test_client_new_rejects_missing_or_bad_endpoint(void)
{
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new(NULL, &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new("", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new("not-an-endpoint", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_client_new("nosuchproto://x", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    CU_ASSERT_PTR_NULL(dtx_client_new(NULL, NULL)); /* err is optional */
}

static void test_client_destroy_is_null_safe_and_clears_pointer(void)
{
    dtx_client_destroy(NULL);
    dtx_client_t *c = NULL;
    dtx_client_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
    c = s_client();
    dtx_client_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
    dtx_client_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
}

static void test_client_last_error_is_empty_string_not_null(void)
{
    CU_ASSERT_STRING_EQUAL(dtx_client_last_error(NULL), "");
    dtx_client_t *c = s_client();
    CU_ASSERT_STRING_EQUAL(dtx_client_last_error(c), "");
    dtx_client_destroy(&c);
}

static void test_begin_rejects_bad_mode_and_null_gid_without_waiting(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE] = "stale";
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_client_begin(c, 0, 0, gid), DTX_EINVAL);
    CU_ASSERT_STRING_EQUAL(gid, "");
    CU_ASSERT_EQUAL(dtx_client_begin(c, 3, 0, gid), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_begin(c, -1, 0, gid), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_begin(c, DTX_MODE_TCC, 0, NULL), DTX_EINVAL);
    CU_ASSERT(dtx_clock_mono_ms() - t0 < SHORT_MS / 2);
    dtx_client_destroy(&c);
}

static void test_try_rejects_bad_names_without_waiting(void)
{
    dtx_client_t *c = s_client();
    dtx_try_result_t r = { .branch = 9, .outcome = 9, .state = 9 };
    const char *bad[] = { NULL, "", "has space", "slash/no", "uml\xc3\xa4ut", s_name64 };
    int64_t t0 = dtx_clock_mono_ms();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(dtx_client_try(c, bad[i], "res", "act", "x", 1, &r), DTX_EINVAL);
        CU_ASSERT_EQUAL(dtx_client_try(c, "gid", bad[i], "act", "x", 1, &r), DTX_EINVAL);
        CU_ASSERT_EQUAL(dtx_client_try(c, "gid", "res", bad[i], "x", 1, &r), DTX_EINVAL);
    }
    CU_ASSERT(dtx_clock_mono_ms() - t0 < SHORT_MS / 2);
    CU_ASSERT_EQUAL(r.branch, 0u);
    CU_ASSERT_EQUAL(r.outcome, 0);
    CU_ASSERT_EQUAL(r.state, 0);
    dtx_client_destroy(&c);
}

static void test_try_rejects_oversized_or_missing_payload(void)
{
    dtx_client_t *c = s_client();
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_client_try(c, "g", "r", "a", s_big, DTX_PAYLOAD_MAX + 1, NULL),
                    DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_try(c, "g", "r", "a", s_big, SIZE_MAX, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_try(c, "g", "r", "a", NULL, 1, NULL), DTX_EINVAL);
    CU_ASSERT(dtx_clock_mono_ms() - t0 < SHORT_MS / 2);
    dtx_client_destroy(&c);
}

static void test_state_calls_reject_bad_gid(void)
{
    dtx_client_t *c = s_client();
    int state = 42;
    CU_ASSERT_EQUAL(dtx_client_commit(c, NULL, &state), DTX_EINVAL);
    CU_ASSERT_EQUAL(state, 0);
    state = 42;
    CU_ASSERT_EQUAL(dtx_client_rollback(c, "bad gid", &state), DTX_EINVAL);
    CU_ASSERT_EQUAL(state, 0);
    CU_ASSERT_EQUAL(dtx_client_status(c, "", &state), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_status(c, s_name64, NULL), DTX_EINVAL);
    dtx_client_destroy(&c);
}

/* A call that finds no connection for SHORT_MS: DTX_ENOTSENT (the
 * request never left; test_client_sent.c has the sent, unanswered case). */
#define ASSERT_TIMES_OUT(call)                                           \
    do {                                                                 \
        int64_t t0_ = dtx_clock_mono_ms();                               \
        CU_ASSERT_EQUAL((call), DTX_ENOTSENT);                           \
        int64_t dt_ = dtx_clock_mono_ms() - t0_;                         \
        CU_ASSERT(dt_ >= SHORT_MS - 5);                                  \
        CU_ASSERT(dt_ < SHORT_MS + 800);                                 \
    } while (0)

static void test_calls_are_not_sent_when_nobody_listens(void)
{
    dtx_client_t *c = s_client();
    char gid[DTX_GID_SIZE];
    int state = 42;
    dtx_try_result_t r;
    ASSERT_TIMES_OUT(dtx_client_begin(c, DTX_MODE_TCC, 1000, gid));
    ASSERT_TIMES_OUT(dtx_client_try(c, "g", "r", "a", s_big, DTX_PAYLOAD_MAX, &r));
    ASSERT_TIMES_OUT(dtx_client_try(c, "g", "r", "a", NULL, 0, NULL));
    ASSERT_TIMES_OUT(dtx_client_commit(c, "g", &state));
    CU_ASSERT_EQUAL(state, 0);
    ASSERT_TIMES_OUT(dtx_client_rollback(c, "g", NULL));
    ASSERT_TIMES_OUT(dtx_client_status(c, "g", &state));
    CU_ASSERT_STRING_EQUAL(dtx_client_last_error(c), "");
    dtx_client_destroy(&c);
    CU_ASSERT_PTR_NULL(c);
}

/* ------------------------------------------------------------------ */
/* Participant                                                         */
/* ------------------------------------------------------------------ */

static int s_ok(const dtx_call_t *call, void *arg)
{
    (void)call;
    (void)arg;
    return DTX_OK;
}

static void test_participant_new_rejects_bad_instance(void)
{
    int err = 0;
    CU_ASSERT_PTR_NULL(dtx_participant_new(NULL, &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_participant_new("bank a", &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
    err = 0;
    CU_ASSERT_PTR_NULL(dtx_participant_new(s_name64, &err));
    CU_ASSERT_EQUAL(err, DTX_EINVAL);
}

static void test_participant_destroy_is_null_safe_and_clears_pointer(void)
{
    dtx_participant_destroy(NULL);
    dtx_participant_t *p = NULL;
    dtx_participant_destroy(&p);
    CU_ASSERT_PTR_NULL(p);
    int err = 1;
    p = dtx_participant_new("bank-a-1", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(err, DTX_OK);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    dtx_participant_destroy(&p);
    CU_ASSERT_PTR_NULL(p);
    dtx_participant_destroy(&p);
}

static void test_serve_rejects_bad_name_missing_handler_and_duplicate(void)
{
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_tcc_handlers_t h = { s_ok, s_ok, s_ok, NULL };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, NULL, &h), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bad name", &h), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, s_name64, &h), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", NULL), DTX_EINVAL);
    dtx_tcc_handlers_t no_try = { NULL, s_ok, s_ok, NULL };
    dtx_tcc_handlers_t no_confirm = { s_ok, NULL, s_ok, NULL };
    dtx_tcc_handlers_t no_cancel = { s_ok, s_ok, NULL, NULL };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &no_try), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &no_confirm), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &no_cancel), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &h), DTX_OK);
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &h), DTX_EINVAL);
    /* More resources than the first allocation holds, after a connect. */
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    char name[16];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "res-%d", i);
        CU_ASSERT_EQUAL(dtx_participant_serve(p, name, &h), DTX_OK);
    }
    dtx_participant_destroy(&p);
}

static void test_connect_rejects_bad_endpoint(void)
{
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, ""), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, "not-an-endpoint"), DTX_EINVAL);
    /* A failed connect leaves the participant usable. */
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 0), DTX_OK);
    dtx_participant_destroy(&p);
}

static void test_poll_without_coordinator_waits_and_is_not_registered(void)
{
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_tcc_handlers_t h = { s_ok, s_ok, s_ok, NULL };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &h), DTX_OK);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    dtx_participant_set_heartbeat(p, 50);
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_participant_poll(p, SHORT_MS), DTX_OK);
    int64_t dt = dtx_clock_mono_ms() - t0;
    CU_ASSERT(dt >= SHORT_MS - 5);
    CU_ASSERT(dt < SHORT_MS + 500);
    CU_ASSERT_EQUAL(dtx_participant_registered(p), 0);
    CU_ASSERT_EQUAL(dtx_participant_registered(NULL), 0);
    dtx_participant_destroy(&p);
}

static void test_stop_before_run_makes_it_return_at_once(void)
{
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    dtx_participant_stop(p);
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_participant_run(p), DTX_OK);
    CU_ASSERT(dtx_clock_mono_ms() - t0 < 100);
    /* The stop was consumed: a bounded poll now waits its full time. */
    t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 50), DTX_OK);
    CU_ASSERT(dtx_clock_mono_ms() - t0 >= 45);
    dtx_participant_stop(NULL); /* harmless */
    dtx_participant_destroy(&p);
}

static volatile sig_atomic_t s_marked;
static void s_mark(int sig)
{
    (void)sig;
    s_marked = 1;
}

static void (*s_handler_of(int sig))(int)
{
    struct sigaction cur;
    sigaction(sig, NULL, &cur);
    return cur.sa_handler;
}

static void test_signals_stop_the_last_named_and_destroy_puts_handlers_back(void)
{
    struct sigaction mark, old_term, old_int;
    memset(&mark, 0, sizeof mark);
    mark.sa_handler = s_mark;
    sigaction(SIGTERM, &mark, &old_term);
    sigaction(SIGINT, &mark, &old_int);
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    dtx_participant_t *q = dtx_participant_new("bank-a-2", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);

    /* A signal before run: run returns at once, the program's handler
     * is not called. */
    CU_ASSERT_EQUAL(dtx_participant_stop_on_signals(p), DTX_OK);
    CU_ASSERT(s_handler_of(SIGTERM) != s_mark);
    raise(SIGTERM);
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_participant_run(p), DTX_OK);
    CU_ASSERT(dtx_clock_mono_ms() - t0 < 100);
    CU_ASSERT_EQUAL(s_marked, 0);

    /* Naming another moves the signals to it. */
    CU_ASSERT_EQUAL(dtx_participant_stop_on_signals(q), DTX_OK);
    raise(SIGINT);
    t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 50), DTX_OK);
    CU_ASSERT(dtx_clock_mono_ms() - t0 >= 45);
    CU_ASSERT_EQUAL(dtx_participant_run(q), DTX_OK);

    /* Destroying one not named changes nothing; destroying the named one
     * puts the program's handlers back. */
    dtx_participant_destroy(&p);
    CU_ASSERT(s_handler_of(SIGTERM) != s_mark);
    dtx_participant_destroy(&q);
    CU_ASSERT(s_handler_of(SIGTERM) == s_mark);
    CU_ASSERT(s_handler_of(SIGINT) == s_mark);
    CU_ASSERT_EQUAL(s_marked, 0);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
}

static int s_ready_calls;
static int s_count_ready(dtx_participant_t *p, void *arg)
{
    (void)p;
    (void)arg;
    s_ready_calls++;
    return 0;
}

static void test_ready_waits_for_every_coordinator(void)
{
    s_ready_calls = 0;
    dtx_participant_t *p = dtx_participant_new("bank-a-1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    dtx_tcc_handlers_t h = { s_ok, s_ok, s_ok, NULL };
    CU_ASSERT_EQUAL(dtx_participant_serve(p, "bank", &h), DTX_OK);
    /* No coordinator at all is not "registered with every one". */
    dtx_participant_set_ready(p, s_count_ready, NULL);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 50), DTX_OK);
    CU_ASSERT_EQUAL(s_ready_calls, 0);
    /* One that never answers: never ready. */
    CU_ASSERT_EQUAL(dtx_participant_connect(p, NOBODY), DTX_OK);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, SHORT_MS), DTX_OK);
    CU_ASSERT_EQUAL(s_ready_calls, 0);
    dtx_participant_set_ready(p, NULL, NULL);
    CU_ASSERT_EQUAL(dtx_participant_poll(p, 20), DTX_OK);
    dtx_participant_destroy(&p);
}

static void test_try_many_checks_its_arguments_before_sending(void)
{
    dtx_client_t *c = s_client();
    dtx_try_spec_t t[DTX_TRY_MANY_MAX + 1];
    for (int i = 0; i <= DTX_TRY_MANY_MAX; i++)
        t[i] = (dtx_try_spec_t){ "ra", "reserve", NULL, 0 };
    dtx_try_outcome_t out[DTX_TRY_MANY_MAX + 1];
    int state = 7;
    int64_t t0 = dtx_clock_mono_ms();
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 0, out, &state), DTX_EINVAL);
    CU_ASSERT_EQUAL(state, 0);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, DTX_TRY_MANY_MAX + 1, out, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", NULL, 1, out, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "bad gid", t, 1, out, NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(out[0].error, DTX_EINVAL);
    CU_ASSERT_EQUAL(out[0].outcome, DTX_OUTCOME_FAILED);
    t[2].resource = s_name64; /* 64 characters: one too many */
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 3, out, NULL), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "branch 3"));
    t[2].resource = "ra";
    t[0].payload_len = 1; /* without bytes */
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 1, out, NULL), DTX_EINVAL);
    t[0].payload = s_big;
    t[0].payload_len = sizeof s_big;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 1, out, NULL), DTX_EINVAL);
    t[0].payload_len = DTX_PAYLOAD_MAX / 2 + 1;
    t[1].payload = s_big;
    t[1].payload_len = DTX_PAYLOAD_MAX / 2 + 1;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 2, NULL, NULL), DTX_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(dtx_client_last_error(c), "together"));
    /* none of that waited for the coordinator */
    CU_ASSERT_TRUE(dtx_clock_mono_ms() - t0 < SHORT_MS);
    /* a valid call does, and finds no connection: not sent */
    t[0].payload_len = t[1].payload_len = 1;
    CU_ASSERT_EQUAL(dtx_client_try_many(c, "g", t, 2, out, NULL), DTX_ENOTSENT);
    CU_ASSERT_EQUAL(out[1].error, DTX_ENOTSENT);
    dtx_client_destroy(&c);
}

UNIT_SUITE(client_args)
{
    CU_pSuite s = CU_add_suite("client_args", unit_quiet, unit_loud);
#define T(fn) CU_add_test(s, #fn, fn)
    T(test_client_new_rejects_missing_or_bad_endpoint);
    T(test_try_many_checks_its_arguments_before_sending);
    T(test_client_destroy_is_null_safe_and_clears_pointer);
    T(test_client_last_error_is_empty_string_not_null);
    T(test_begin_rejects_bad_mode_and_null_gid_without_waiting);
    T(test_try_rejects_bad_names_without_waiting);
    T(test_try_rejects_oversized_or_missing_payload);
    T(test_state_calls_reject_bad_gid);
    T(test_calls_are_not_sent_when_nobody_listens);
    T(test_participant_new_rejects_bad_instance);
    T(test_participant_destroy_is_null_safe_and_clears_pointer);
    T(test_serve_rejects_bad_name_missing_handler_and_duplicate);
    T(test_connect_rejects_bad_endpoint);
    T(test_poll_without_coordinator_waits_and_is_not_registered);
    T(test_stop_before_run_makes_it_return_at_once);
    T(test_signals_stop_the_last_named_and_destroy_puts_handlers_back);
    T(test_ready_waits_for_every_coordinator);
#undef T
}
