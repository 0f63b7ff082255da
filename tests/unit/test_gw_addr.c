/* Target URLs and listen addresses (gateway-filter/src/core/gw_addr.h) at
 * their edges: ports 0, 1, 65535, 65536 and 95536 (which a 16-bit cast
 * turned into 30000), non-digits, IPv6 brackets, a query or fragment. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "core/gw_addr.h"
#include "unit.h"

static int s_url(const char *url, char *err, size_t cap)
{
    dtx_gw_addr_t a;
    err[0] = '\0';
    return dtx_gw_addr_parse(&a, url, err, cap);
}

static int s_listen(const char *s, int *port)
{
    struct sockaddr_in sa;
    char err[128] = "";
    int rc = dtx_gw_listen_parse(s, &sa, err, sizeof err);
    if (port)
        *port = rc == 0 ? ntohs(sa.sin_port) : -1;
    if (rc < 0 && !*err)
        return 1;  /* an error must say why */
    return rc;
}

static void test_listen_port_is_range_checked(void)
{
    int port;
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:0", &port), 0);
    CU_ASSERT_EQUAL(port, 0);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:65535", &port), 0);
    CU_ASSERT_EQUAL(port, 65535);
    CU_ASSERT_EQUAL(s_listen("localhost:8080", &port), 0);
    CU_ASSERT_EQUAL(s_listen("*:1", &port), 0);
    CU_ASSERT_EQUAL(s_listen(":9901", &port), 0);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:65536", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:95536", NULL), DTX_EINVAL);  /* not 30000 */
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:4294967297", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:-1", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:+80", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1: 80", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:80x", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1:", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("127.0.0.1", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("example.com:80", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen("[::1]:80", NULL), DTX_EINVAL);  /* IPv4 only */
    CU_ASSERT_EQUAL(s_listen("", NULL), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_listen(NULL, NULL), DTX_EINVAL);
}

static void test_target_port_edges(void)
{
    char err[128];
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:1", err, sizeof err), 0);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:65535", err, sizeof err), 0);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1", err, sizeof err), 0);  /* 80 */
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:0", err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "bad port") != NULL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:65536", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:95536", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:+80", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:8o", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:000080", err, sizeof err), DTX_EINVAL);
}

static void test_target_ipv6_brackets(void)
{
    char err[128];
    dtx_gw_addr_t a;
    CU_ASSERT_EQUAL(dtx_gw_addr_parse(&a, "http://[::1]:8080/base", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(a.host, "[::1]:8080");
    CU_ASSERT_STRING_EQUAL("http://[::1]:8080/base" + a.base_off, "/base");
    CU_ASSERT_EQUAL(s_url("http://[::1]", err, sizeof err), 0);
    CU_ASSERT_EQUAL(s_url("http://[::1]:65536", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://[]:80", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://[::1:80", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://[::1]x:80", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://::1:80", err, sizeof err), DTX_EINVAL);
}

static void test_target_refuses_query_fragment_and_userinfo(void)
{
    char err[128];
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1/p?q=1", err, sizeof err), DTX_EINVAL);
    CU_ASSERT(strstr(err, "query") != NULL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:80/p#f", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1?q=1", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://user:pw@127.0.0.1:80/", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1/a b", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("https://127.0.0.1", err, sizeof err), DTX_EINVAL);
    CU_ASSERT_EQUAL(s_url("http://", err, sizeof err), DTX_EINVAL);
    /* a plain base path still works */
    CU_ASSERT_EQUAL(s_url("http://127.0.0.1:8080/api/v1", err, sizeof err), 0);
}

/* Client addresses as text: the hand-written IPv4 path agrees with
 * inet_ntop on the edges; IPv6 through inet_ntop; other families empty. */
static void test_addr_text_matches_inet_ntop(void)
{
    const char *v4[] = { "0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.3.4", "1.10.100.199" };
    for (size_t i = 0; i < sizeof v4 / sizeof *v4; i++) {
        struct sockaddr_in a = { .sin_family = AF_INET };
        CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET, v4[i], &a.sin_addr), 1);
        char out[INET6_ADDRSTRLEN];
        dtx_gw_addr_text((struct sockaddr *)&a, out, sizeof out);
        CU_ASSERT_STRING_EQUAL(out, v4[i]);
    }
    struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
    CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr), 1);
    char out[INET6_ADDRSTRLEN];
    dtx_gw_addr_text((struct sockaddr *)&a6, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "2001:db8::1");
    struct sockaddr un = { .sa_family = AF_UNIX };
    dtx_gw_addr_text(&un, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "");
}


UNIT_SUITE(gw_addr)
{
    CU_pSuite s = CU_add_suite("gw_addr", NULL, NULL);
    CU_add_test(s, "address text matches inet_ntop", test_addr_text_matches_inet_ntop);
    CU_add_test(s, "listen port is range checked", test_listen_port_is_range_checked);
    CU_add_test(s, "target port edges", test_target_port_edges);
    CU_add_test(s, "target IPv6 brackets", test_target_ipv6_brackets);
    CU_add_test(s, "target refuses query, fragment and user info",
                test_target_refuses_query_fragment_and_userinfo);
}
