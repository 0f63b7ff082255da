/* The upstream wire format (gw_http1.h) and target addresses (gw_addr.h):
 * byte strings in, framing and headers out; no sockets. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/gw_addr.h"
#include "core/gw_http1.h"
#include "unit.h"

typedef struct {
    int  n;
    char names[16][64];
    char values[16][128];
    size_t name_lens[16], value_lens[16];
} s_seen_t;

static void s_on_header(const char *name, size_t name_len, const char *value,
                        size_t value_len, void *arg)
{
    s_seen_t *s = arg;
    if (s->n < 16) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
        snprintf(s->values[s->n], sizeof s->values[0], "%s", value);
        s->name_lens[s->n] = name_len;
        s->value_lens[s->n] = value_len;
        s->n++;
    }
}

/* Parses text (a whole head) into r; returns what parse_head returned. */
static int s_parse(dtx_gw_http1_resp_t *r, const char *text, int head_request, s_seen_t *seen)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    memcpy(buf, text, len + 1);
    size_t end = dtx_gw_http1_head_end(buf, len);
    int rc = end == len ? dtx_gw_http1_parse_head(r, buf, end, head_request,
                                                  seen ? s_on_header : NULL, seen)
                        : DTX_ERR_MIN - 1;  /* no head end where expected */
    free(buf);
    return rc;
}

/* Decodes body bytes fed piece by piece (step bytes at a time) into out. */
static int s_decode(dtx_gw_http1_resp_t *r, const char *in, size_t len, size_t step,
                    char *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    size_t i = 0;
    while (i < len && !r->done) {
        size_t n = len - i < step ? len - i : step;
        size_t off = 0;
        while (off < n && !r->done) {
            size_t used, plen;
            const char *piece;
            int rc = dtx_gw_http1_body(r, in + i + off, n - off, &used, &piece, &plen);
            if (rc < 0)
                return rc;
            if (*out_len + plen > cap)
                return DTX_ETOOBIG;
            memcpy(out + *out_len, piece, plen);
            *out_len += plen;
            off += used;
            if (!used && !plen)
                return DTX_EINTERNAL;  /* no progress: would loop */
        }
        i += n;
    }
    return 0;
}

static void test_head_end_finds_the_blank_line(void)
{
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end("HTTP/1.1 200 OK\r\n", 17), 0);
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end("HTTP/1.1 200 OK\r\n\r\nbody", 23), 19);
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end("HTTP/1.1 200 OK\n\nbody", 21), 17);
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r", 25), 0);
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end("", 0), 0);
}

static void test_content_length_answer(void)
{
    dtx_gw_http1_resp_t r;
    s_seen_t seen = { 0 };
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 5\r\nX-Odd:   spaced value  \r\n\r\n", 0, &seen), 0);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_LENGTH);
    CU_ASSERT_EQUAL(r.content_length, 5);
    CU_ASSERT(r.keep_alive);
    CU_ASSERT_FALSE(r.done);
    CU_ASSERT_EQUAL(seen.n, 3);
    CU_ASSERT_STRING_EQUAL(seen.names[2], "X-Odd");
    CU_ASSERT_STRING_EQUAL(seen.values[2], "spaced value");
    CU_ASSERT_EQUAL(seen.name_lens[0], 12);      /* Content-Type */
    CU_ASSERT_EQUAL(seen.value_lens[0], 10);     /* text/plain */
    CU_ASSERT_EQUAL(seen.name_lens[2], 5);
    CU_ASSERT_EQUAL(seen.value_lens[2], 12);     /* blanks around it not counted */
    char out[16];
    size_t n;
    CU_ASSERT_EQUAL(s_decode(&r, "helloEXTRA", 10, 3, out, sizeof out, &n), 0);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_NSTRING_EQUAL(out, "hello", 5);
    CU_ASSERT(r.done);
}

static void test_chunked_answer_in_every_split(void)
{
    static const char body[] = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
    for (size_t step = 1; step <= sizeof body - 1; step++) {
        dtx_gw_http1_resp_t r;
        CU_ASSERT_EQUAL_FATAL(s_parse(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                          "\r\n", 0, NULL), 0);
        CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_CHUNKED);
        char out[64];
        size_t n;
        CU_ASSERT_EQUAL(s_decode(&r, body, sizeof body - 1, step, out, sizeof out, &n), 0);
        CU_ASSERT_EQUAL(n, 12);
        CU_ASSERT_NSTRING_EQUAL(out, "hello, world", 12);
        CU_ASSERT(r.done);
    }
}

static void test_chunked_with_bare_lf_and_upper_hex(void)
{
    dtx_gw_http1_resp_t r;
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n", 0, NULL), 0);
    CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_CHUNKED);
    char out[64];
    size_t n;
    CU_ASSERT_EQUAL(s_decode(&r, "A\n0123456789\n0\n\n", 16, 4, out, sizeof out, &n), 0);
    CU_ASSERT_EQUAL(n, 10);
    CU_ASSERT(r.done);
}

static void test_broken_chunk_framing_is_refused(void)
{
    static const char *const bad[] = {
        "zz\r\nhello\r\n0\r\n\r\n",        /* not hex */
        "\r\nhello\r\n0\r\n\r\n",          /* no size */
        "5\r\nhelloX\r\n0\r\n\r\n",        /* data longer than its size */
        "5\rhello\r\n",                    /* CR without LF */
        "fffffffffffffffffff\r\n",         /* size overflow */
        NULL };
    for (int i = 0; bad[i]; i++) {
        dtx_gw_http1_resp_t r;
        CU_ASSERT_EQUAL_FATAL(s_parse(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                          "\r\n", 0, NULL), 0);
        char out[64];
        size_t n;
        CU_ASSERT_EQUAL(s_decode(&r, bad[i], strlen(bad[i]), 64, out, sizeof out, &n),
                        DTX_EPROTO);
    }
}

static void test_framing_without_a_body(void)
{
    dtx_gw_http1_resp_t r;
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 204 No Content\r\n\r\n", 0, NULL), 0);
    CU_ASSERT(r.done && r.body == DTX_GW_BODY_NONE && r.keep_alive);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", 0,
                            NULL), 0);
    CU_ASSERT(r.done);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", 1, NULL), 0);
    CU_ASSERT(r.done);                        /* HEAD */
    CU_ASSERT_EQUAL(r.content_length, 50);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, NULL), 0);
    CU_ASSERT(r.done && r.keep_alive);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 100 Continue\r\n\r\n", 0, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 100);
    CU_ASSERT(r.done);
}

static void test_body_until_close_and_keep_alive_rules(void)
{
    dtx_gw_http1_resp_t r;
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\n\r\n", 0, NULL), 0);
    CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_CLOSE);
    CU_ASSERT_FALSE(r.keep_alive);
    CU_ASSERT_FALSE(r.done);
    CU_ASSERT(dtx_gw_http1_at_eof(&r));
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\n"
                                "Content-Length: 1\r\n\r\n", 0, NULL), 0);
    CU_ASSERT_FALSE(r.keep_alive);
    CU_ASSERT_FALSE(dtx_gw_http1_at_eof(&r));  /* a length not reached: cut short */
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", 0, NULL), 0);
    CU_ASSERT_FALSE(r.keep_alive);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
                                "Content-Length: 1\r\n\r\n", 0, NULL), 0);
    CU_ASSERT(r.keep_alive);
    /* Transfer-Encoding wins over Content-Length; such a connection is
     * not reused. */
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n", 0, NULL), 0);
    CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_CHUNKED);
    CU_ASSERT_FALSE(r.keep_alive);
}

static void test_malformed_heads_are_refused(void)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
        /* beyond int64: was read as 9223372036854775807 and forwarded */
        "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        /* a coding the gateway does not decode: was relayed without it */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        NULL };
    for (int i = 0; bad[i]; i++) {
        dtx_gw_http1_resp_t r;
        CU_ASSERT_EQUAL(s_parse(&r, bad[i], 0, NULL), DTX_EPROTO);
    }
    dtx_gw_http1_resp_t r;
    /* The same length twice is one length. */
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n"
                                "\r\n", 0, NULL), 0);
    CU_ASSERT_EQUAL(r.content_length, 3);
    /* the largest int64 is a length (the body never comes: HEAD) */
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n"
                                "\r\n", 1, NULL), 0);
    CU_ASSERT_EQUAL(r.content_length, INT64_MAX);
}

/* A value can go on to a client as it is (gw_http1.h): a bare CR inside
 * it becomes a space (RFC 9112 section 2.2), a NUL refuses the answer;
 * the special names are found by length and any case, others that share
 * a length are not taken for them. */
static void test_field_values_are_clean_and_names_found_by_length(void)
{
    dtx_gw_http1_resp_t r;
    s_seen_t seen = { 0 };
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nX-B: \r\r\n"
                                "content-LENGTH: 2\r\nContent-Lengths: 7\r\n"
                                "Connectiom: close\r\nTransfer-Encodinx: gzip\r\n\r\n",
                            0, &seen), 0);
    CU_ASSERT_EQUAL(seen.n, 6);
    CU_ASSERT_STRING_EQUAL(seen.values[0], "a b");
    CU_ASSERT_EQUAL(seen.value_lens[0], 3);
    CU_ASSERT_STRING_EQUAL(seen.values[1], " ");     /* "\r" then CR LF: a bare CR */
    CU_ASSERT_EQUAL(r.content_length, 2);            /* any case */
    CU_ASSERT(r.keep_alive);                         /* "Connectiom" is not Connection */
    CU_ASSERT_EQUAL(r.body, DTX_GW_BODY_LENGTH);     /* nor "Transfer-Encodinx" */
    CU_ASSERT_EQUAL(seen.name_lens[3], 15);
    /* In a framing field a CR still refuses the answer, as it did. */
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\r\n\r\n", 0,
                            NULL), DTX_EPROTO);
    CU_ASSERT_EQUAL(s_parse(&r, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\r\n\r\n", 0, NULL),
                    DTX_EPROTO);
    static const char nul_head[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n";
    char buf[sizeof nul_head];
    memcpy(buf, nul_head, sizeof nul_head);
    size_t len = sizeof nul_head - 1;
    CU_ASSERT_EQUAL(dtx_gw_http1_head_end(buf, len), len);
    CU_ASSERT_EQUAL(dtx_gw_http1_parse_head(&r, buf, len, 0, NULL, NULL), DTX_EPROTO);
}

static void test_buffer_grows(void)
{
    dtx_gw_buf_t b = { 0 };
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL_FATAL(dtx_gw_buf_str(&b, "0123456789"), 0);
    CU_ASSERT_EQUAL(b.len, 10000);
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    CU_ASSERT_EQUAL(memcmp(b.data + 9990, "0123456789", 10), 0);
    dtx_gw_buf_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
}

/* Header names compare in any case, and only letters fold: two bytes
 * 0x20 apart that are not a letter's cases differ. */
static void test_name_eq_ignores_case_of_letters_only(void)
{
    CU_ASSERT_TRUE(dtx_gw_http1_name_eq("Content-Length", "content-LENGTH"));
    CU_ASSERT_TRUE(dtx_gw_http1_name_eq("", ""));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("Content-Length", "Content-Type"));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("Dtx-Gid", "Date"));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("X-A", "Y-A"));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("@a", "`a"));   /* 0x40 and 0x60 */
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("a", ""));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("", "A"));
    CU_ASSERT_FALSE(dtx_gw_http1_name_eq("A", " "));    /* 0x41 and 0x20 */
}

/* A header line in one append: the bytes, NUL-terminated, growing past
 * the first block; a failed buffer refuses it. */
static void test_buffer_field_appends_a_header_line(void)
{
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL(dtx_gw_buf_field(&b, "Host", 4, "a.example", 9), 0);
    CU_ASSERT_EQUAL(dtx_gw_buf_field(&b, "X-Empty", 7, "", 0), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "Host: a.example\r\nX-Empty: \r\n");
    CU_ASSERT_EQUAL(b.len, strlen(b.data));
    char big[700];
    memset(big, 'v', sizeof big);
    for (int i = 0; i < 3; i++)      /* past the first 1024 bytes */
        CU_ASSERT_EQUAL_FATAL(dtx_gw_buf_field(&b, "X-Big", 5, big, sizeof big), 0);
    CU_ASSERT_EQUAL(b.len, 28 + 3 * (5 + 2 + 700 + 2));
    CU_ASSERT_EQUAL(b.data[b.len], '\0');
    CU_ASSERT(memcmp(b.data + b.len - 4, "vv\r\n", 4) == 0);
    b.failed = 1;
    CU_ASSERT_EQUAL(dtx_gw_buf_field(&b, "A", 1, "b", 1), DTX_ENOMEM);
    dtx_gw_buf_free(&b);
}

/* printf-style appends grow the buffer and keep it NUL-terminated; free
 * makes it empty and usable again. */
static void test_buffer_printf_appends_and_grows(void)
{
    dtx_gw_buf_t b = { 0 };
    CU_ASSERT_EQUAL(dtx_gw_buf_printf(&b, "%s", ""), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    CU_ASSERT_STRING_EQUAL(b.data, "");
    for (int i = 0; i < 300; i++)   /* 300 lines of 8 bytes: past the first 1024 */
        CU_ASSERT_EQUAL_FATAL(dtx_gw_buf_printf(&b, "line%03d\n", i), 0);
    CU_ASSERT_EQUAL(b.len, 2400);
    CU_ASSERT_EQUAL(strlen(b.data), 2400);
    CU_ASSERT(strncmp(b.data + 8 * 299, "line299\n", 8) == 0);
    CU_ASSERT_EQUAL(b.failed, 0);
    dtx_gw_buf_free(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(dtx_gw_buf_printf(&b, "%d-%s", 7, "x"), 0);
    CU_ASSERT_STRING_EQUAL(b.data, "7-x");
    dtx_gw_buf_free(&b);
}

static void test_target_addresses(void)
{
    dtx_gw_addr_t a, b;
    char err[128];
    const char *url = "http://127.0.0.1:8080/base/path";
    CU_ASSERT_EQUAL(dtx_gw_addr_parse(&a, url, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(a.host, "127.0.0.1:8080");
    CU_ASSERT_STRING_EQUAL(url + a.base_off, "/base/path");
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&a.sa)->sin_port), 8080);
    CU_ASSERT_EQUAL(dtx_gw_addr_parse(&b, "http://127.0.0.1:8080", err, sizeof err), 0);
    CU_ASSERT(dtx_gw_addr_same(&a, &b));
    CU_ASSERT_EQUAL(dtx_gw_addr_parse(&b, "http://localhost", err, sizeof err), 0);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&b.sa)->sin_port), 80);
    CU_ASSERT_FALSE(dtx_gw_addr_same(&a, &b));
    CU_ASSERT_EQUAL(dtx_gw_addr_parse(&b, "http://[::1]:9", err, sizeof err), 0);
    CU_ASSERT_EQUAL(b.sa.ss_family, AF_INET6);
    static const char *const bad[] = { "https://x", "http://", "http://:80", "http://h:0",
        "http://h:99999", "http://h:12x", "http://[::1", "http://h/p?q=1",
        "http://no-such-host.invalid", NULL };
    for (int i = 0; bad[i]; i++) {
        err[0] = '\0';
        /* A malformed URL is DTX_EINVAL; one whose host does not resolve
         * (no-such-host.invalid, and h of "http://h/p?q=1") DTX_EIO. */
        int rc = dtx_gw_addr_parse(&b, bad[i], err, sizeof err);
        CU_ASSERT(rc == DTX_EINVAL || rc == DTX_EIO);
        if (strstr(bad[i], ".invalid"))
            CU_ASSERT_EQUAL(rc, DTX_EIO);
        CU_ASSERT(err[0] != '\0');
    }
}

/* The token table holds exactly RFC 9110's tchar. */
static void test_token_table_is_rfc_tchar(void)
{
    const char *specials = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        int want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c && strchr(specials, c));
        CU_ASSERT_EQUAL(dtx_gw_http1_tchar[c], want);
    }
}

UNIT_SUITE(gw_http1)
{
    CU_pSuite s = CU_add_suite("gw_http1", NULL, NULL);
    CU_add_test(s, "head end finds the blank line", test_head_end_finds_the_blank_line);
    CU_add_test(s, "token table is RFC tchar", test_token_table_is_rfc_tchar);
    CU_add_test(s, "content-length answer", test_content_length_answer);
    CU_add_test(s, "chunked answer in every split", test_chunked_answer_in_every_split);
    CU_add_test(s, "chunked with bare lf and upper hex", test_chunked_with_bare_lf_and_upper_hex);
    CU_add_test(s, "broken chunk framing is refused", test_broken_chunk_framing_is_refused);
    CU_add_test(s, "framing without a body", test_framing_without_a_body);
    CU_add_test(s, "body until close and keep-alive rules",
                test_body_until_close_and_keep_alive_rules);
    CU_add_test(s, "malformed heads are refused", test_malformed_heads_are_refused);
    CU_add_test(s, "field values are clean and names found by length",
                test_field_values_are_clean_and_names_found_by_length);
    CU_add_test(s, "buffer grows", test_buffer_grows);
    CU_add_test(s, "buffer printf appends and grows", test_buffer_printf_appends_and_grows);
    CU_add_test(s, "buffer field appends a header line", test_buffer_field_appends_a_header_line);
    CU_add_test(s, "name eq ignores case of letters only", test_name_eq_ignores_case_of_letters_only);
    CU_add_test(s, "target addresses", test_target_addresses);
}
