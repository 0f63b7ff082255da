/*
 * The HTTP ⇄ ZeroMQ message (dtx/zgw.h, upstream/gw_zmqmsg.h) and the
 * zmq+tcp:// targets of the configuration: golden frames of a request as
 * the gateway builds it, replies decoded, every malformed reply refused
 * with its reason, a pool mixing http:// and zmq+tcp:// refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "dtx/zgw.h"
#include "config/gw_config_parse.h"
#include "config/gw_config_zmq.h"
#include "upstream/gw_lb.h"
#include "upstream/gw_upreq.h"
#include "upstream/gw_zmqmsg.h"
#include "gw_headers.h"
#include "unit.h"

#define F(s) { s, sizeof s - 1 }

/* ---------------- the request, as the gateway builds it ---------------- */

static void s_frame_is(const dtx_zgw_frame_t *f, const char *want, size_t wlen)
{
    CU_ASSERT_EQUAL(f->len, wlen);
    if (f->len != wlen || memcmp(f->data, want, wlen) != 0)
        fprintf(stderr, "\n  frame \"%.*s\" != \"%.*s\"\n", (int)f->len, f->data, (int)wlen, want);
    else
        CU_PASS("frame");
}
#define FRAME_IS(f, s) s_frame_is(&(f), s, sizeof s - 1)

static void test_request_frames_are_the_golden_bytes(void)
{
    static const char *const h[] = {
        "Host", "shop.example", "Accept", "*/*", "Connection", "keep-alive",
        "Content-Length", "5", "Transfer-Encoding", "chunked", "X-Note", "a b", NULL };
    dtx_gw_req_t req;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = "/orders/7";
    req.query = "a=1&b=%20";
    req.client_ip = "10.1.2.3";
    req.header = gwt_header;
    req.each_header = gwt_each_header;
    req.header_ctx = (void *)h;
    snprintf(req.request_id, sizeof req.request_id, "rid-1");
    req.txn_state = 1;
    snprintf(req.gid, sizeof req.gid, "gw-00000001-0000000a");
    req.deadline_ms = 1700000000000LL;
    dtx_gw_target_t t;
    memset(&t, 0, sizeof t);
    t.url = "zmq+tcp://127.0.0.1:7100";
    char err[128];
    CU_ASSERT_EQUAL_FATAL(dtx_gw_cfg_zmq_target(&t.addr, t.url, err, sizeof err), 0);
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL_FATAL(dtx_gw_upreq_head(&b, &req, &t, 5), 0);
    dtx_gw_zmqmsg_headers(&b);
    char id[17];
    dtx_gw_zmqmsg_id(id, 3, 0x2a);
    dtx_zgw_frame_t f[DTX_ZGW_REQUEST_FRAMES];
    dtx_gw_zmqmsg_request(f, &req, id, &b, "hello", 5);
    FRAME_IS(f[0], "");
    FRAME_IS(f[1], "DTXGW/1");
    FRAME_IS(f[2], "000000030000002a");
    FRAME_IS(f[3], "POST");
    FRAME_IS(f[4], "/orders/7");
    FRAME_IS(f[5], "a=1&b=%20");
    FRAME_IS(f[6], "gw-00000001-0000000a");
    FRAME_IS(f[7], "Host: shop.example\r\n"
                   "Accept: */*\r\n"
                   "X-Note: a b\r\n"
                   "X-Forwarded-For: 10.1.2.3\r\n"
                   "X-Request-Id: rid-1\r\n"
                   "Dtx-Gid: gw-00000001-0000000a\r\n"
                   "Dtx-Deadline: 1700000000000\r\n");
    FRAME_IS(f[8], "hello");
    /* What the service's decoder makes of it. */
    dtx_zgw_request_t r;
    const char *why = NULL;
    CU_ASSERT_EQUAL(dtx_zgw_request_decode(f, DTX_ZGW_REQUEST_FRAMES, &r, &why), 0);
    CU_ASSERT_EQUAL(r.body.len, 5);
    /* No transaction: an empty gid frame, no query: an empty query frame. */
    req.txn_state = 0;
    req.query = NULL;
    dtx_gw_zmqmsg_request(f, &req, id, &b, NULL, 0);
    FRAME_IS(f[5], "");
    FRAME_IS(f[6], "");
    FRAME_IS(f[8], "");
    dtx_gw_buf_free(&b);
}

static void test_request_ids_name_a_slot_and_its_serial(void)
{
    char id[17];
    uint32_t slot, serial;
    dtx_gw_zmqmsg_id(id, 0xffffffffu, 7);
    CU_ASSERT_STRING_EQUAL(id, "ffffffff00000007");
    CU_ASSERT_EQUAL(dtx_gw_zmqmsg_id_parse(id, 16, &slot, &serial), 0);
    CU_ASSERT_EQUAL(slot, 0xffffffffu);
    CU_ASSERT_EQUAL(serial, 7);
    CU_ASSERT_EQUAL(dtx_gw_zmqmsg_id_parse("FFFFFFFF00000007", 16, &slot, &serial), -1);
    CU_ASSERT_EQUAL(dtx_gw_zmqmsg_id_parse(id, 15, &slot, &serial), -1);
    CU_ASSERT_EQUAL(dtx_gw_zmqmsg_id_parse("ffffffff0000000g", 16, &slot, &serial), -1);
}

/* ---------------- replies ---------------- */

static void test_a_good_reply_decodes(void)
{
    const dtx_zgw_frame_t f[] = { F(""), F("DTXGW/1"), F("000000030000002a"), F("201"),
                                  F("Content-Type: text/plain\r\nX-A:  spaced  \r\nX-Empty:\r\n"),
                                  F("body") };
    dtx_zgw_reply_t r;
    const char *why = NULL;
    CU_ASSERT_EQUAL_FATAL(dtx_zgw_reply_decode(f, 6, 0, &r, &why), 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(r.id.len, 16);
    CU_ASSERT_EQUAL(r.body.len, 4);
    size_t pos = 0;
    dtx_zgw_frame_t n, v;
    CU_ASSERT_FATAL(dtx_zgw_headers_next(r.headers.data, r.headers.len, &pos, &n, &v));
    CU_ASSERT(n.len == 12 && memcmp(n.data, "Content-Type", 12) == 0);
    CU_ASSERT(v.len == 10 && memcmp(v.data, "text/plain", 10) == 0);
    CU_ASSERT_FATAL(dtx_zgw_headers_next(r.headers.data, r.headers.len, &pos, &n, &v));
    CU_ASSERT(v.len == 6 && memcmp(v.data, "spaced", 6) == 0);
    CU_ASSERT_FATAL(dtx_zgw_headers_next(r.headers.data, r.headers.len, &pos, &n, &v));
    CU_ASSERT(n.len == 7 && v.len == 0);
    CU_ASSERT_FALSE(dtx_zgw_headers_next(r.headers.data, r.headers.len, &pos, &n, &v));
    /* Every status 200..599 goes; an empty header block and body too. */
    const dtx_zgw_frame_t g[] = { F(""), F("DTXGW/1"), F("x"), F("599"), F(""), F("") };
    CU_ASSERT_EQUAL(dtx_zgw_reply_decode(g, 6, 0, &r, &why), 0);
    CU_ASSERT_EQUAL(r.status, 599);
}

/* Decodes f (n frames): the code, and the reason must contain want. */
static void s_refused(const dtx_zgw_frame_t *f, int n, size_t max_body, int code,
                      const char *want, int id_known)
{
    dtx_zgw_reply_t r;
    const char *why = "";
    int rc = dtx_zgw_reply_decode(f, n, max_body, &r, &why);
    CU_ASSERT_EQUAL(rc, code);
    if (!strstr(why, want))
        fprintf(stderr, "\n  reason \"%s\", wanted \"%s\"\n", why, want);
    CU_ASSERT(strstr(why, want) != NULL);
    CU_ASSERT_EQUAL(r.id.len > 0, id_known);
}

static void test_malformed_replies_are_refused_with_their_reason(void)
{
    const dtx_zgw_frame_t ok[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"), F(""), F("b") };
    s_refused(ok, 0, 0, DTX_EPROTO, "too few frames", 0);
    s_refused(ok, 2, 0, DTX_EPROTO, "too few frames", 0);
    s_refused(ok, 5, 0, DTX_EPROTO, "too few frames", 1);   /* id known: its call fails */
    const dtx_zgw_frame_t seven[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"), F(""), F("b"),
                                      F("extra") };
    s_refused(seven, 7, 0, DTX_EPROTO, "too many frames", 1);
    const dtx_zgw_frame_t nodelim[] = { F("x"), F("DTXGW/1"), F("id-1"), F("200"), F(""), F("") };
    s_refused(nodelim, 6, 0, DTX_EPROTO, "delimiter", 1);
    const dtx_zgw_frame_t v2[] = { F(""), F("DTXGW/2"), F("id-1"), F("200"), F(""), F("") };
    s_refused(v2, 6, 0, DTX_EVERSION, "bad version", 1);
    const dtx_zgw_frame_t v1x[] = { F(""), F("DTXGW/1x"), F("id-1"), F("200"), F(""), F("") };
    s_refused(v1x, 6, 0, DTX_EVERSION, "bad version", 1);
    const dtx_zgw_frame_t noid[] = { F(""), F("DTXGW/1"), F(""), F("200"), F(""), F("") };
    s_refused(noid, 6, 0, DTX_EPROTO, "bad request id", 0);
    char longid[65];
    memset(longid, 'a', sizeof longid);
    const dtx_zgw_frame_t bigid[] = { F(""), F("DTXGW/1"), { longid, 65 }, F("200"), F(""), F("") };
    s_refused(bigid, 6, 0, DTX_EPROTO, "bad request id", 0);
    static const char *const bad_status[] = { "199", "600", "99", "2000", "2x0", " 20", "" };
    for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++) {
        const dtx_zgw_frame_t s[] = { F(""), F("DTXGW/1"), F("id-1"),
                                      { bad_status[i], strlen(bad_status[i]) }, F(""), F("") };
        s_refused(s, 6, 0, DTX_EPROTO, "bad status", 1);
    }
    static const char *const bad_headers[] = {
        "no colon\r\n", ": empty name\r\n", "Bad Name: x\r\n", "X-A: no crlf",
        "X-A: bare lf\n", "X-A: cr\rinside\r\n", "X-A: ok\r\n\r\n" };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        const dtx_zgw_frame_t s[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"),
                                      { bad_headers[i], strlen(bad_headers[i]) }, F("") };
        s_refused(s, 6, 0, DTX_EPROTO, "header", 1);
    }
    const char nul[] = "X-A: a\0b\r\n";
    const dtx_zgw_frame_t hn[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"),
                                   { nul, sizeof nul - 1 }, F("") };
    s_refused(hn, 6, 0, DTX_EPROTO, "CRLF", 1);
    /* Oversize: the header block, its lines, the body. */
    size_t big = DTX_ZGW_MAX_HEADERS + 1;
    char *blk = malloc(big);
    CU_ASSERT_FATAL(blk != NULL);
    for (size_t i = 0; i + 8 <= big; i += 8)
        memcpy(blk + i, "X-Ab: \r\n", 8);
    const dtx_zgw_frame_t hb[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"), { blk, big }, F("") };
    s_refused(hb, 6, 0, DTX_ETOOBIG, "header block too large", 1);
    const dtx_zgw_frame_t hl[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"),
                                   { blk, 8 * (DTX_ZGW_MAX_HEADER_LINES + 1) }, F("") };
    s_refused(hl, 6, 0, DTX_ETOOBIG, "too many header lines", 1);
    free(blk);
    const dtx_zgw_frame_t bb[] = { F(""), F("DTXGW/1"), F("id-1"), F("200"), F(""), F("12345") };
    s_refused(bb, 6, 4, DTX_ETOOBIG, "body too large", 1);
    dtx_zgw_reply_t r;
    CU_ASSERT_EQUAL(dtx_zgw_reply_decode(bb, 6, 5, &r, NULL), 0);
}

static void test_malformed_requests_are_refused(void)
{
    dtx_zgw_request_t r;
    const char *why = "";
    const dtx_zgw_frame_t ok[] = { F(""), F("DTXGW/1"), F("id"), F("GET"), F("/p"), F(""),
                                   F(""), F(""), F("") };
    CU_ASSERT_EQUAL(dtx_zgw_request_decode(ok, 9, &r, &why), 0);
    CU_ASSERT_EQUAL(dtx_zgw_request_decode(ok, 8, &r, &why), DTX_EPROTO);
    CU_ASSERT(strstr(why, "too few") != NULL && r.id.len == 2);
    const dtx_zgw_frame_t path[] = { F(""), F("DTXGW/1"), F("id"), F("GET"), F("p?x"), F(""),
                                     F(""), F(""), F("") };
    CU_ASSERT_EQUAL(dtx_zgw_request_decode(path, 9, &r, &why), DTX_EPROTO);
    CU_ASSERT(strstr(why, "bad path") != NULL);
    const dtx_zgw_frame_t meth[] = { F(""), F("DTXGW/1"), F("id"), F("G T"), F("/p"), F(""),
                                     F(""), F(""), F("") };
    CU_ASSERT_EQUAL(dtx_zgw_request_decode(meth, 9, &r, &why), DTX_EPROTO);
    CU_ASSERT(strstr(why, "bad method") != NULL);
    char st[3];
    CU_ASSERT_EQUAL(dtx_zgw_status_frame(st, 404), 0);
    CU_ASSERT(memcmp(st, "404", 3) == 0);
    CU_ASSERT_EQUAL(dtx_zgw_status_frame(st, 199), DTX_EINVAL);
    CU_ASSERT_EQUAL(dtx_zgw_status_frame(st, 600), DTX_EINVAL);
}

/* ---------------- configuration ---------------- */

static void s_config_refused(const char *pool, const char *want)
{
    char doc[1024], err[512] = "";
    snprintf(doc, sizeof doc,
             "{\"pools\":[%s],\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},"
             "\"pool\":\"z\"}]}", pool);
    dtx_gw_config_t *c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NULL(c);
    if (!strstr(err, want))
        fprintf(stderr, "\n  error \"%s\", wanted \"%s\"\n", err, want);
    CU_ASSERT(strstr(err, want) != NULL);
    dtx_gw_config_destroy(&c);
}

static void test_zmq_pools_in_the_configuration(void)
{
    char doc[512], err[512] = "";
    snprintf(doc, sizeof doc,
             "{\"pools\":[{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:7100\","
             "{\"url\":\"zmq+tcp://localhost:7101\",\"weight\":2}]}],"
             "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"z\"}]}");
    dtx_gw_config_t *c = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(c->pools[0].zmq, 1);
    CU_ASSERT_STRING_EQUAL(c->pools[0].targets[1].url + c->pools[0].targets[1].addr.base_off, "");
    dtx_gw_config_destroy(&c);
    s_config_refused("{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:7100\","
                     "\"http://127.0.0.1:80\"]}", "mixes http:// and zmq+tcp://");
    s_config_refused("{\"name\":\"z\",\"targets\":[\"http://127.0.0.1:80\","
                     "\"zmq+tcp://127.0.0.1:7100\"]}", "mixes http:// and zmq+tcp://");
    s_config_refused("{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1\"]}", "needs a port");
    s_config_refused("{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:7100/x\"]}", "no path");
    s_config_refused("{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:99999\"]}", "targets[0]");
    s_config_refused("{\"name\":\"z\",\"targets\":[\"zmq+tcp://127.0.0.1:7100\"],"
                     "\"health\":{\"path\":\"/h\"}}", "not for a pool of zmq+tcp://");
    CU_ASSERT_EQUAL(dtx_gw_cfg_zmq_url("zmq+tcp://x:1"), 1);
    CU_ASSERT_EQUAL(dtx_gw_cfg_zmq_url("zmq+ipc://x"), 0);
    CU_ASSERT_EQUAL(dtx_gw_cfg_zmq_url("http://x:1"), 0);
}

UNIT_SUITE(gw_zmq)
{
    CU_pSuite s = CU_add_suite("gw_zmq", NULL, NULL);
    CU_add_test(s, "request frames are the golden bytes", test_request_frames_are_the_golden_bytes);
    CU_add_test(s, "request ids name a slot and its serial",
                test_request_ids_name_a_slot_and_its_serial);
    CU_add_test(s, "a good reply decodes", test_a_good_reply_decodes);
    CU_add_test(s, "malformed replies are refused with their reason",
                test_malformed_replies_are_refused_with_their_reason);
    CU_add_test(s, "malformed requests are refused", test_malformed_requests_are_refused);
    CU_add_test(s, "zmq pools in the configuration", test_zmq_pools_in_the_configuration);
}
