/* The dtxd_inflight signal of the gateway, without sockets: the parser of
 * dtxd's /metrics (limits/gw_dtxd_reading.h), the pure decision on a virtual clock
 * (gw_adaptive.h), admission through the filter chain with a published
 * reading, and the token file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "config/gw_config_parse.h"
#include "filters/gw_rules.h"
#include "limits/gw_adaptive.h"
#include "core/gw_clock.h"
#include "limits/gw_dtxd_reading.h"
#include "app/gw_dtxd_watch.h"
#include "filters/gw_filters.h"
#include "runtime/gw_runtime.h"
#include "unit.h"

/* ---------------- parser ---------------- */

static int s_parse(const char *text, int64_t *v, const char **why)
{
    *v = -1;
    return dtx_gw_dtxd_parse_inflight(text, strlen(text), v, why);
}

static void test_parser_reads_the_gauge_from_dtxd_text(void)
{
    /* What dtxd's admin_metrics.c writes, around the gauge. */
    const char *text =
        "# HELP dtx_transactions_begun_total transactions begun here\n"
        "# TYPE dtx_transactions_begun_total counter\n"
        "dtx_transactions_begun_total 120\n"
        "# HELP dtx_transactions_in_memory transactions held in memory (in flight on this node)\n"
        "# TYPE dtx_transactions_in_memory gauge\n"
        "dtx_transactions_in_memory 37\n"
        "dtx_transactions_in_memory_peak 99\n"
        "dtx_participant_instances 2\n";
    int64_t v;
    const char *why = NULL;
    CU_ASSERT_EQUAL(s_parse(text, &v, &why), 0);
    CU_ASSERT_EQUAL(v, 37);
    CU_ASSERT_STRING_EQUAL(why, "");
    /* %.17g of 0 and of a large count; CRLF; a timestamp; labels summed. */
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 0", &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 1e+06\r\n", &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 1000000);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 12 1700000000000\n", &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory{shard=\"a\"} 3\n"
                            "dtx_transactions_in_memory{shard=\"b}\\\"\"} 4\n", &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 7.9\n", &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 7);  /* a fraction is truncated */
}

static void test_parser_reads_only_len_bytes(void)
{
    char buf[64];
    memcpy(buf, "dtx_transactions_in_memory 42999", 32);  /* no NUL */
    int64_t v = -1;
    CU_ASSERT_EQUAL(dtx_gw_dtxd_parse_inflight(buf, 29, &v, NULL), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_parse_inflight(buf, 26, &v, NULL), DTX_EPROTO);  /* no value */
}

static void test_parser_missing_gauge_is_unsupported(void)
{
    int64_t v;
    const char *why = NULL;
    CU_ASSERT_EQUAL(s_parse("", &v, &why), DTX_EUNSUPPORTED);
    CU_ASSERT(strstr(why, "dtx_transactions_in_memory") != NULL);
    CU_ASSERT_EQUAL(s_parse("# TYPE dtx_transactions_in_memory gauge\n"
                            "dtx_transactions_in_memory_x 5\n"
                            "xdtx_transactions_in_memory 5\n", &v, NULL), DTX_EUNSUPPORTED);
    CU_ASSERT_EQUAL(v, -1);  /* untouched on error */
}

static void test_parser_refuses_garbage(void)
{
    static const char *const bad[] = {
        "dtx_transactions_in_memory\n",
        "dtx_transactions_in_memory \n",
        "dtx_transactions_in_memory abc\n",
        "dtx_transactions_in_memory 12abc\n",
        "dtx_transactions_in_memory 12 and more\n",
        "dtx_transactions_in_memory 12 -\n",
        "dtx_transactions_in_memory{shard=\"a\" 3\n",
        "dtx_transactions_in_memory{shard=\"a\"}3\n",
        "dtx_transactions_in_memory 01234567890123456789012345678901"
        "23456789012345678901234567890123\n",  /* 64 digits */
        "<html>dtx_transactions_in_memory</html>\ndtx_transactions_in_memory 1 2 3\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        const char *why = NULL;
        int rc = s_parse(bad[i], &v, &why);
        if (rc != DTX_EPROTO)
            fprintf(stderr, "\n  accepted \"%s\" (%d)\n", bad[i], rc);
        CU_ASSERT_EQUAL(rc, DTX_EPROTO);
        CU_ASSERT(why && *why);
    }
}

static void test_parser_refuses_nan_inf_negative_and_huge(void)
{
    int64_t v;
    const char *why = NULL;
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory NaN\n", &v, &why), DTX_EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "value is NaN");
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory +Inf\n", &v, &why), DTX_EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "value is too large");
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory -1\n", &v, &why), DTX_EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "value is negative");
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory -Inf\n", &v, &why), DTX_EPROTO);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 1e300\n", &v, &why), DTX_EPROTO);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 99999999999999999999999\n", &v, &why),
                    DTX_EPROTO);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 9007199254740992\n", &v, &why),
                    DTX_EPROTO);
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory 9007199254740991\n", &v, &why), 0);
    CU_ASSERT_EQUAL(v, 9007199254740991LL);
    /* Two samples that overflow together. */
    CU_ASSERT_EQUAL(s_parse("dtx_transactions_in_memory{a=\"1\"} 9007199254740000\n"
                            "dtx_transactions_in_memory{a=\"2\"} 9007199254740000\n", &v, &why),
                    DTX_EPROTO);
    CU_ASSERT_STRING_EQUAL(why, "sum of the samples is too large");
}

/* ---------------- decision (virtual clock) ---------------- */

static void test_decide_sheds_at_the_threshold_while_fresh(void)
{
    const int64_t stale = 2000000;  /* 2 s */
    int64_t at = 10000000;          /* the reading arrived at t = 10 s */
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(0, at, at, 5, stale), DTX_GW_DTXD_ADMIT);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(4, at, at + 1000, 5, stale), DTX_GW_DTXD_ADMIT);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(5, at, at + 1000, 5, stale), DTX_GW_DTXD_SHED);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(500, at, at + 1000, 5, stale), DTX_GW_DTXD_SHED);
    /* Still fresh at exactly the bound, stale one microsecond later. */
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(500, at, at + stale, 5, stale), DTX_GW_DTXD_SHED);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(500, at, at + stale + 1, 5, stale), DTX_GW_DTXD_STALE);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(0, at, at + stale + 1, 5, stale), DTX_GW_DTXD_STALE);
    /* A reading newer than the request's clock reading is fresh. */
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(9, at, at - 500, 5, stale), DTX_GW_DTXD_SHED);
}

static void test_decide_without_a_reading_fails_open(void)
{
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(0, 0, 0, 1, 1000), DTX_GW_DTXD_STALE);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_decide(1000, 0, 123456789, 1, 1000), DTX_GW_DTXD_STALE);
}

static void test_reading_publish_and_clear(void)
{
    dtx_gw_dtxd_t dtxd;
    dtx_gw_dtxd_init(&dtxd);
    dtx_gw_dtxd_reading_t r;
    dtx_gw_dtxd_reading_get(&dtxd, &r);
    CU_ASSERT_EQUAL(r.at_us, 0);
    dtx_gw_dtxd_reading_publish(&dtxd, 17, 4242);
    dtx_gw_dtxd_reading_get(&dtxd, &r);
    CU_ASSERT_EQUAL(r.inflight, 17);
    CU_ASSERT_EQUAL(r.at_us, 4242);
    dtx_gw_dtxd_reading_publish(&dtxd, 0, 0);
    dtx_gw_dtxd_reading_get(&dtxd, &r);
    CU_ASSERT_EQUAL(r.at_us, 0);
}

/* ---------------- admission through the chain ---------------- */

static int64_t s_now;
static int64_t s_clock(void) { return s_now; }

static const char *s_doc =
    "{\"dtxd\":{\"admin\":\"http://127.0.0.1:7080\",\"poll_ms\":100,\"stale_ms\":1000},"
    "\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:1\"]}],"
    "\"rules\":[{\"name\":\"coord\",\"type\":\"adaptive\",\"signal\":\"dtxd_inflight\","
    "\"dtxd_max_inflight\":10}],"
    "\"routes\":[{\"name\":\"guarded\",\"match\":{\"prefix\":\"/g\"},\"pool\":\"p\","
    "\"rules\":[\"coord\"]},"
    "{\"name\":\"soft\",\"match\":{\"prefix\":\"/s\"},\"pool\":\"p\",\"rules\":[\"coord\"],"
    "\"fallback\":{\"status\":200,\"body\":\"later\"}}]}";

static const char *s_no_header(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

/* Runs one request's head and done; returns its local status (0: admitted). */
static int s_request(dtx_gw_runtime_t *rt, const char *path, char *retry_after, size_t cap)
{
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.rt = rt;
    req.method = "GET";
    req.path = path;
    req.header = s_no_header;
    req.client_ip = "10.0.0.1";
    req.content_length = -1;
    int status = 0;
    if (dtx_gw_chain_head(dtx_gw_default_chain, dtx_gw_default_chain_len, &req) == DTX_GW_REPLY)
        status = req.reply.status;
    if (retry_after) {
        retry_after[0] = '\0';
        for (int i = 0; i < req.reply.nheaders; i++)
            if (strcmp(req.reply.names[i], "Retry-After") == 0)
                snprintf(retry_after, cap, "%s", req.reply.values[i]);
    }
    dtx_gw_chain_done(dtx_gw_default_chain, dtx_gw_default_chain_len, &req);
    dtx_gw_req_fini(&req);
    return status;
}

static void test_admission_sheds_while_dtxd_is_over_the_threshold(void)
{
    char err[DTX_GW_ERR_SIZE], retry[16];
    dtx_gw_config_t *cfg = dtx_gw_config_parse(s_doc, strlen(s_doc), err, sizeof err);
    CU_ASSERT_FATAL(cfg != NULL);
    dtx_gw_shared_t shared;
    CU_ASSERT_FATAL(dtx_gw_shared_init(&shared) == 0);
    dtx_gw_dtxd_t *dtxd = &shared.dtxd;
    dtx_gw_runtime_t *rt = dtx_gw_runtime_build(cfg, NULL, &shared);
    CU_ASSERT_FATAL(rt != NULL);
    dtx_gw_clock_set(s_clock);
    s_now = 50000000;
    uint64_t fail_open = dtx_gw_dtxd_fail_open(dtxd);

    dtx_gw_dtxd_reading_publish(dtxd, 9, s_now);
    CU_ASSERT_EQUAL(s_request(rt, "/g", NULL, 0), 0);
    dtx_gw_dtxd_reading_publish(dtxd, 10, s_now);
    CU_ASSERT_EQUAL(s_request(rt, "/g", retry, sizeof retry), 503);
    CU_ASSERT_STRING_EQUAL(retry, "1");
    /* The route with a fallback answers it instead, as for a breaker. */
    CU_ASSERT_EQUAL(s_request(rt, "/s", NULL, 0), 200);
    CU_ASSERT_EQUAL(atomic_load(&rt->rules[0]->rejected), 2);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_fail_open(dtxd), fail_open);

    /* No new reading for longer than stale_ms: admitted, counted. */
    s_now += 1000001;
    CU_ASSERT_EQUAL(s_request(rt, "/g", NULL, 0), 0);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_fail_open(dtxd), fail_open + 1);
    /* A fresh reading, still high: shed again. */
    dtx_gw_dtxd_reading_publish(dtxd, 11, s_now);
    CU_ASSERT_EQUAL(s_request(rt, "/g", NULL, 0), 503);
    /* dtxd drained. */
    s_now += 100000;
    dtx_gw_dtxd_reading_publish(dtxd, 3, s_now);
    CU_ASSERT_EQUAL(s_request(rt, "/g", NULL, 0), 0);
    /* No reading at all (the watch cleared it): fail open. */
    dtx_gw_dtxd_reading_publish(dtxd, 0, 0);
    CU_ASSERT_EQUAL(s_request(rt, "/g", NULL, 0), 0);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_fail_open(dtxd), fail_open + 2);

    dtx_gw_clock_set(NULL);
    dtx_gw_runtime_unref(&rt);
    dtx_gw_shared_fini(&shared);
}

/* ---------------- token file ---------------- */

static void s_file(char *path, size_t cap, const char *text)
{
    snprintf(path, cap, "/tmp/dtx-unit-token-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static void test_token_file_reads_like_dtxctl(void)
{
    char path[64], tok[64], err[256];
    s_file(path, sizeof path, "# tokens\n\n  gateway:s3cret-0123456789abcdef  \nother:x\n");
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, sizeof tok, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(tok, "s3cret-0123456789abcdef");
    unlink(path);
    s_file(path, sizeof path, "bare-token-0123456789\n");
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, sizeof tok, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(tok, "bare-token-0123456789");
    unlink(path);
    s_file(path, sizeof path, "name:two words\n");
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, sizeof tok, err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "without spaces") != NULL);
    CU_ASSERT(strstr(err, "two") == NULL);
    unlink(path);
    CU_ASSERT(dtx_gw_dtxd_token_ok("abc-DEF_123:~"));
    CU_ASSERT(!dtx_gw_dtxd_token_ok(""));
    CU_ASSERT(!dtx_gw_dtxd_token_ok("a\tb"));
    CU_ASSERT(!dtx_gw_dtxd_token_ok("caf\xc3\xa9"));
    s_file(path, sizeof path, "# only a comment\n");
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, sizeof tok, err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "holds no token") != NULL);
    unlink(path);
    s_file(path, sizeof path, "name:0123456789012345678901234567890123456789\n");
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, 16, err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "longer than 15") != NULL);
    CU_ASSERT(strstr(err, "0123456789") == NULL);  /* never the secret */
    unlink(path);
    CU_ASSERT_EQUAL(dtx_gw_dtxd_token_load(path, tok, sizeof tok, err, sizeof err), DTX_EIO);
    CU_ASSERT(strstr(err, "No such file") != NULL);
}

UNIT_SUITE(gw_dtxd)
{
    CU_pSuite s = CU_add_suite("gw_dtxd", NULL, NULL);
    CU_add_test(s, "parser reads the gauge from dtxd text",
                test_parser_reads_the_gauge_from_dtxd_text);
    CU_add_test(s, "parser reads only len bytes", test_parser_reads_only_len_bytes);
    CU_add_test(s, "parser: missing gauge is unsupported",
                test_parser_missing_gauge_is_unsupported);
    CU_add_test(s, "parser refuses garbage", test_parser_refuses_garbage);
    CU_add_test(s, "parser refuses NaN, Inf, negative and huge",
                test_parser_refuses_nan_inf_negative_and_huge);
    CU_add_test(s, "decide sheds at the threshold while fresh",
                test_decide_sheds_at_the_threshold_while_fresh);
    CU_add_test(s, "decide without a reading fails open", test_decide_without_a_reading_fails_open);
    CU_add_test(s, "reading publish and clear", test_reading_publish_and_clear);
    CU_add_test(s, "admission sheds while dtxd is over the threshold",
                test_admission_sheds_while_dtxd_is_over_the_threshold);
    CU_add_test(s, "token file reads like dtxctl", test_token_file_reads_like_dtxctl);
}
