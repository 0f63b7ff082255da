/* The native engine's wire format: request heads as clients send them
 * (core/gw_reqhead.h) and answer heads as it writes them
 * (front/gw_nout.h). Byte strings in, fields, framing and refusals out;
 * no sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "core/gw_reqhead.h"
#include "front/gw_nout.h"
#include "unit.h"

/* Parses text (copied: the parser cuts it) into h; returns the status. */
static int s_parse(dtx_gw_reqhead_t *h, char *copy, size_t cap, const char *text,
                   const char **why)
{
    snprintf(copy, cap, "%s", text);
    size_t len = strlen(copy);
    size_t end = dtx_gw_reqhead_end(copy, len);
    CU_ASSERT_EQUAL(end, len);
    return dtx_gw_reqhead_parse(h, copy, end ? end : len, why);
}

static void test_head_end_waits_for_the_blank_line(void)
{
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("GET / HTTP/1.1\r\nHost: a\r\n", 25), 0);
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nxyz", 30), 27);
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("GET / HTTP/1.1\nHost: a\n\nxyz", 27), 24);
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("\r\n\r\n", 4), 0);   /* empty lines only */
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("\r\nGET / HTTP/1.0\r\n\r\n", 20), 20);
    CU_ASSERT_EQUAL(dtx_gw_reqhead_end("", 0), 0);
}

static void test_a_simple_get(void)
{
    static dtx_gw_reqhead_t h;
    char b[512];
    const char *why;
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "GET /a/b?x=1 HTTP/1.1\r\nHost: example\r\nX-Thing:  v  1 \r\n"
                            "accept: */*\r\n\r\n", &why), 0);
    CU_ASSERT_STRING_EQUAL(h.method, "GET");
    CU_ASSERT_STRING_EQUAL(h.target, "/a/b?x=1");
    CU_ASSERT_EQUAL(h.minor, 1);
    CU_ASSERT_EQUAL(h.keep_alive, 1);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_NONE);
    CU_ASSERT_EQUAL(h.nfields, 3);
    CU_ASSERT_STRING_EQUAL(dtx_gw_reqhead_field(&h, "x-thing"), "v  1");
    CU_ASSERT_STRING_EQUAL(dtx_gw_reqhead_field(&h, "HOST"), "example");
    CU_ASSERT_STRING_EQUAL(dtx_gw_reqhead_field(&h, "Accept"), "*/*");
    CU_ASSERT_PTR_NULL(dtx_gw_reqhead_field(&h, "Accep"));
    CU_ASSERT_PTR_NULL(dtx_gw_reqhead_field(&h, "Content-Length"));
}

static void test_keep_alive_rules(void)
{
    static dtx_gw_reqhead_t h;
    char b[512];
    const char *why;
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b, "GET / HTTP/1.0\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.minor, 0);
    CU_ASSERT_EQUAL(h.keep_alive, 0);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
                            &why), 0);
    CU_ASSERT_EQUAL(h.keep_alive, 1);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.keep_alive, 0);
    /* A later minor version is answered as 1.1. */
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b, "GET / HTTP/1.7\r\nHost: a\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.minor, 1);
}

static void test_body_framing(void)
{
    static dtx_gw_reqhead_t h;
    char b[512];
    const char *why;
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_LENGTH);
    CU_ASSERT_EQUAL(h.content_length, 12);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_NONE);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
                            &why), 0);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_CHUNKED);
    CU_ASSERT_EQUAL(h.keep_alive, 1);
    /* Chunked on HTTP/1.0: read, but the connection is not kept (RFC 9112 6.1). */
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "POST / HTTP/1.0\r\nConnection: keep-alive\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_CHUNKED);
    CU_ASSERT_EQUAL(h.keep_alive, 0);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                            "Content-Length: 5\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_LENGTH);   /* the same twice: one length */
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                            "Content-Length: 5\r\n\r\n", &why), 0);
    CU_ASSERT_EQUAL(h.expect_continue, 1);
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b,
                            "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
                            &why), 0);
    CU_ASSERT_EQUAL(h.expect_continue, 0);   /* not to an HTTP/1.0 client */
}

/* Framing a gateway must not guess at parses, marked bad, and the
 * connection is not kept: the request's framing check answers 400. */
static void test_ambiguous_framing_is_marked_bad(void)
{
    static const char *const heads[] = {
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        static dtx_gw_reqhead_t h;
        char b[512];
        const char *why;
        CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b, heads[i], &why), 0);
        if (h.body != DTX_GW_REQBODY_BAD)
            fprintf(stderr, "\n  head %zu: body %d\n", i, (int)h.body);
        CU_ASSERT_EQUAL(h.body, DTX_GW_REQBODY_BAD);
        CU_ASSERT_EQUAL(h.keep_alive, 0);
    }
}

static void test_bad_heads_are_refused_with_their_status(void)
{
    static const struct {
        const char *head;
        int         status;
    } cases[] = {
        { "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },              /* two spaces */
        { "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400 },
        { "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },               /* method not a token */
        { "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\nName : x\r\n\r\n", 400 },   /* space before colon */
        { "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400 },    /* bare CR */
        { "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01" "b\r\n\r\n", 400 },
        { "GET / HTTP/1.1\r\n\r\n", 400 },                          /* no Host */
        { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
        { "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400 },
        { "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505 },
        { "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505 },
        { "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400 },
        { "GET / FTP/1.1\r\nHost: a\r\n\r\n", 400 },
        { "GET /\r\n\r\n", 400 },
        { "AVERYLONGMETHODNAMETHATISOVER32BYTES / HTTP/1.1\r\nHost: a\r\n\r\n", 400 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static dtx_gw_reqhead_t h;
        char b[512];
        snprintf(b, sizeof b, "%s", cases[i].head);
        const char *why = NULL;
        int st = dtx_gw_reqhead_parse(&h, b, strlen(b), &why);
        if (st != cases[i].status)
            fprintf(stderr, "\n  case %zu: got %d\n", i, st);
        CU_ASSERT_EQUAL(st, cases[i].status);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    /* A NUL byte anywhere in the head. */
    static dtx_gw_reqhead_t h;
    char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    const char *why;
    CU_ASSERT_EQUAL(dtx_gw_reqhead_parse(&h, nul, sizeof nul - 1, &why), 400);
}

static void test_too_many_fields_is_431(void)
{
    static dtx_gw_reqhead_t h;
    static char b[8192];
    size_t n = (size_t)snprintf(b, sizeof b, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < DTX_GW_REQHEAD_MAX_FIELDS; i++)
        n += (size_t)snprintf(b + n, sizeof b - n, "X-%d: v\r\n", i);
    n += (size_t)snprintf(b + n, sizeof b - n, "\r\n");
    const char *why;
    CU_ASSERT_EQUAL(dtx_gw_reqhead_parse(&h, b, n, &why), 431);
}

static void test_leading_empty_lines_are_skipped(void)
{
    static dtx_gw_reqhead_t h;
    char b[512];
    const char *why;
    CU_ASSERT_EQUAL(s_parse(&h, b, sizeof b, "\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n", &why),
                    0);
    CU_ASSERT_STRING_EQUAL(h.target, "/x");
}

/* ---- answer heads ---- */

static const char *s_head(dtx_gw_out_t *out, int minor, int head_method, int *keep, int *kind)
{
    static dtx_gw_buf_t b;
    b.len = 0;
    *kind = dtx_gw_nout_head(&b, out, minor, head_method, keep, "Sun, 06 Dec 2026 22:00:00 GMT");
    return b.data;
}

static void test_answer_head_framing(void)
{
    dtx_gw_out_t out;
    int keep, kind;
    const char *h;
    dtx_gw_out_init(&out, 200);
    out.body = "hello";
    out.body_len = 5;
    dtx_gw_out_field(&out, "Content-Type", "text/plain");
    dtx_gw_out_field(&out, "Content-Length", "999");   /* the engine's own: dropped */
    dtx_gw_out_field(&out, "Connection", "keep-alive");
    dtx_gw_out_field(&out, "X-Bad", "a\r\nInjected: 1"); /* refused */
    dtx_gw_out_field(&out, "X-Bad\nInjected", "1");     /* refused: in the name */
    dtx_gw_out_field(&out, "X-Bad", "a\rb");             /* refused: a lone CR */
    dtx_gw_out_field(&out, "X-Bad", "a\n");              /* refused: at the end */
    CU_ASSERT_EQUAL(out.nfields, 3);
    keep = 1;
    h = s_head(&out, 1, 0, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_MEMORY);
    CU_ASSERT_STRING_EQUAL(h, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                              "Date: Sun, 06 Dec 2026 22:00:00 GMT\r\nContent-Length: 5\r\n\r\n");
    CU_ASSERT_EQUAL(keep, 1);
    /* HEAD: the length, no body. */
    keep = 1;
    h = s_head(&out, 1, 1, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_NONE);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Content-Length: 5\r\n"));
    /* HTTP/1.0 kept alive says so; closing says so. */
    keep = 1;
    h = s_head(&out, 0, 0, &keep, &kind);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Connection: keep-alive\r\n"));
    keep = 0;
    h = s_head(&out, 1, 0, &keep, &kind);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Connection: close\r\n"));
    dtx_gw_out_fini(&out);

    /* A read body: chunked on 1.1, until close on 1.0, its length when known. */
    dtx_gw_out_init(&out, 502);
    out.read = (dtx_gw_out_read_fn)1;   /* never called here */
    keep = 1;
    h = s_head(&out, 1, 0, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_CHUNKED);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "HTTP/1.1 502 Bad Gateway\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Transfer-Encoding: chunked\r\n"));
    keep = 1;
    h = s_head(&out, 0, 0, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_CLOSE);
    CU_ASSERT_EQUAL(keep, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Connection: close\r\n"));
    out.length = 42;
    keep = 1;
    h = s_head(&out, 1, 0, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_LENGTH);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "Content-Length: 42\r\n"));
    out.read = NULL;
    dtx_gw_out_fini(&out);

    /* 204 and 304: no body and no length; an upstream's Date is kept. */
    dtx_gw_out_init(&out, 304);
    dtx_gw_out_field(&out, "date", "Mon, 01 Jan 2024 00:00:00 GMT");
    keep = 1;
    h = s_head(&out, 1, 0, &keep, &kind);
    CU_ASSERT_EQUAL(kind, DTX_GW_NOUT_NONE);
    CU_ASSERT_PTR_NULL(strstr(h, "Content-Length"));
    CU_ASSERT_PTR_NULL(strstr(h, "Date: Sun"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "date: Mon"));
    CU_ASSERT_STRING_EQUAL(dtx_gw_out_get(&out, "DATE"), "Mon, 01 Jan 2024 00:00:00 GMT");
    dtx_gw_out_fini(&out);
}

UNIT_SUITE(gw_reqhead)
{
    CU_pSuite s = CU_add_suite("gw_reqhead", NULL, NULL);
    CU_add_test(s, "head end waits for the blank line", test_head_end_waits_for_the_blank_line);
    CU_add_test(s, "a simple get", test_a_simple_get);
    CU_add_test(s, "keep-alive rules", test_keep_alive_rules);
    CU_add_test(s, "body framing", test_body_framing);
    CU_add_test(s, "ambiguous framing is marked bad", test_ambiguous_framing_is_marked_bad);
    CU_add_test(s, "bad heads are refused with their status",
                test_bad_heads_are_refused_with_their_status);
    CU_add_test(s, "too many fields is 431", test_too_many_fields_is_431);
    CU_add_test(s, "leading empty lines are skipped", test_leading_empty_lines_are_skipped);
    CU_add_test(s, "answer head framing", test_answer_head_framing);
}
