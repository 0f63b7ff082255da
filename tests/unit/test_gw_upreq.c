/* The request head sent upstream (gw_upreq.h): no sockets, no clock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "upstream/gw_upreq.h"
#include "gw_headers.h"
#include "unit.h"

/* The client's headers of the next s_req(): name, value pairs. */
static const char *const *s_hdrs;

static void s_req(dtx_gw_req_t *req, const char *method, const char *path, const char *query)
{
    memset(req, 0, sizeof *req);
    req->method = method;
    req->path = path;
    req->query = query;
    req->client_ip = "10.1.2.3";
    req->header = gwt_header;
    req->each_header = gwt_each_header;
    req->header_ctx = (void *)s_hdrs;
    snprintf(req->request_id, sizeof req->request_id, "rid-1");
}

static void s_target(dtx_gw_target_t *t, const char *url)
{
    memset(t, 0, sizeof *t);
    t->url = (char *)url;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(dtx_gw_addr_parse(&t->addr, url, err, sizeof err), 0);
}

static void test_head_carries_what_the_upstream_needs(void)
{
    static const char *const h[] = {
        "Host", "shop.example",
        "Accept", "*/*",
        "Connection", "keep-alive, X-Secret",
        "X-Secret", "hop",
        "Keep-Alive", "timeout=5",
        "TE", "trailers",
        "Upgrade", "websocket",
        "Proxy-Authorization", "Basic x",
        "Content-Length", "999",
        "Expect", "100-continue",
        "Dtx-Gid", "forged",
        "X-Forwarded-For", "1.1.1.1",
        "X-Evil", "a\r\nInjected: yes",
        "X-Empty", "",
        NULL };
    s_hdrs = h;
    dtx_gw_req_t req;
    dtx_gw_target_t t;
    s_req(&req, "POST", "/orders/7", "a=1&b=2");
    s_target(&t, "http://127.0.0.1:9000/api");
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 11), 0);
    const char *want =
        "POST /api/orders/7?a=1&b=2 HTTP/1.1\r\n"
        "Host: shop.example\r\n"
        "Accept: */*\r\n"
        "X-Empty: \r\n"
        "X-Forwarded-For: 1.1.1.1, 10.1.2.3\r\n"
        "X-Request-Id: rid-1\r\n"
        "Content-Length: 11\r\n"
        "\r\n";
    CU_ASSERT_STRING_EQUAL(b.data, want);
    if (strcmp(b.data, want) != 0)
        fprintf(stderr, "\n--- got:\n%s---\n", b.data);
    dtx_gw_buf_free(&b);
}

static void test_head_defaults_and_transaction(void)
{
    static const char *const h[] = { "X-Request-Id", "theirs", NULL };
    s_hdrs = h;
    dtx_gw_req_t req;
    dtx_gw_target_t t;
    s_req(&req, "GET", "/x", NULL);
    req.txn_state = 1;
    snprintf(req.gid, sizeof req.gid, "gid-42");
    req.deadline_ms = 1700000000123LL;
    s_target(&t, "http://127.0.0.1:9000");
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    const char *want =
        "GET /x HTTP/1.1\r\n"
        "X-Request-Id: theirs\r\n"
        "Host: 127.0.0.1:9000\r\n"
        "X-Forwarded-For: 10.1.2.3\r\n"
        "Dtx-Gid: gid-42\r\n"
        "Dtx-Deadline: 1700000000123\r\n"
        "\r\n";
    CU_ASSERT_STRING_EQUAL(b.data, want);
    /* A body of unknown length streams chunked; POST always has a length. */
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, -1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\r\nTransfer-Encoding: chunked\r\n"));
    s_req(&req, "POST", "/x", NULL);
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\r\nContent-Length: 0\r\n"));
    dtx_gw_buf_free(&b);
    CU_ASSERT(dtx_gw_hop_by_hop("transfer-encoding"));
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop("Content-Type"));
    /* every hop-by-hop name, any case; names of a listed length that are
     * not listed; names of no listed length */
    static const char *const hop[] = { "Connection", "KEEP-ALIVE", "proxy-authenticate",
        "Proxy-Authorization", "Proxy-Connection", "te", "Trailer", "Trailers",
        "Transfer-Encoding", "upgrade" };
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        CU_ASSERT(dtx_gw_hop_by_hop(hop[i]));
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop("Accept-Lan"));       /* 10, as Connection */
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop("Tx"));               /* 2, as TE */
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop("Date"));
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop(""));
    char longname[100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop(longname));
}

/* Host, X-Forwarded-For and X-Request-Id are noted as the fields go by:
 * any case, the first of a name, and not a look-alike of the same length. */
static void test_head_notes_host_forwarded_for_and_request_id_in_passing(void)
{
    static const char *const h[] = {
        "Hose", "not-host",
        "x-forwarded-for", "1.1.1.1",
        "X-FORWARDED-FOR", "2.2.2.2",
        "X-Request-Ie", "not-it",
        "HOST", "shop.example",
        NULL };
    s_hdrs = h;
    dtx_gw_req_t req;
    dtx_gw_target_t t;
    s_req(&req, "GET", "/", NULL);
    s_target(&t, "http://127.0.0.1:9000");
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    const char *want =
        "GET / HTTP/1.1\r\n"
        "Hose: not-host\r\n"
        "X-Request-Ie: not-it\r\n"
        "HOST: shop.example\r\n"
        "X-Forwarded-For: 1.1.1.1, 10.1.2.3\r\n"
        "X-Request-Id: rid-1\r\n"
        "\r\n";
    CU_ASSERT_STRING_EQUAL(b.data, want);
    if (strcmp(b.data, want) != 0)
        fprintf(stderr, "\n--- got:\n%s---\n", b.data);
    dtx_gw_buf_free(&b);
    CU_ASSERT(dtx_gw_hop_by_hop_n("Upgrade", 7));
    CU_ASSERT_FALSE(dtx_gw_hop_by_hop_n("Upgradx", 7));
}

/* W3C trace context: the client's trace goes on under the gateway's span
 * (a new parent-id); an absent or invalid one starts a new trace, and the
 * client's tracestate, which belonged to that trace, is not relayed. */
static void test_head_carries_the_gateway_span_of_the_trace(void)
{
    static const char *const valid[] = {
        "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tracestate", "vendor=1",
        NULL };
    static const char *const upper[] = {
        "traceparent", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
        "tracestate", "vendor=1",
        NULL };
    dtx_gw_req_t req;
    dtx_gw_target_t t;
    dtx_gw_buf_t b = { 0 };
    s_target(&t, "http://127.0.0.1:9000");

    s_hdrs = valid;
    s_req(&req, "GET", "/x", NULL);
    const char *tp = dtx_gw_req_trace(&req);
    CU_ASSERT_EQUAL(req.trace_restarted, 0);
    CU_ASSERT_NSTRING_EQUAL(tp, "00-0af7651916cd43dd8448eb211c80319c-", 36);
    CU_ASSERT_NSTRING_NOT_EQUAL(tp + 36, "b7ad6b7169203331", 16);
    CU_ASSERT_PTR_EQUAL(dtx_gw_req_trace(&req), tp); /* once per request */
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    char line[128];
    snprintf(line, sizeof line, "traceparent: %s\r\n", tp);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, line));
    CU_ASSERT_PTR_NULL(strstr(b.data, "b7ad6b7169203331")); /* the client's own span */
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "tracestate: vendor=1\r\n"));

    s_hdrs = upper; /* invalid: a new trace */
    s_req(&req, "GET", "/x", NULL);
    tp = dtx_gw_req_trace(&req);
    CU_ASSERT_EQUAL(req.trace_restarted, 1);
    CU_ASSERT_EQUAL(strlen(tp), 55);
    CU_ASSERT_NSTRING_NOT_EQUAL(tp + 3, "0af7651916cd43dd8448eb211c80319c", 32);
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 0), 0);
    CU_ASSERT_PTR_NULL(strcasestr(b.data, "0AF7651916CD43DD"));
    CU_ASSERT_PTR_NULL(strstr(b.data, "tracestate"));
    snprintf(line, sizeof line, "traceparent: %s\r\n", tp);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.data, line));
    dtx_gw_buf_free(&b);
}

UNIT_SUITE(gw_upreq)
{
    CU_pSuite s = CU_add_suite("gw_upreq", NULL, NULL);
    CU_add_test(s, "head carries what the upstream needs",
                test_head_carries_what_the_upstream_needs);
    CU_add_test(s, "head defaults and transaction", test_head_defaults_and_transaction);
    CU_add_test(s, "head notes host, forwarded-for and request id in passing",
                test_head_notes_host_forwarded_for_and_request_id_in_passing);
    CU_add_test(s, "head carries the gateway span of the trace",
                test_head_carries_the_gateway_span_of_the_trace);
}
