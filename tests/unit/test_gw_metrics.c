/* The gateway's /metrics text (gateway-filter/src/app/gw_metrics.h): every
 * family comes once, as # HELP, # TYPE and its samples together, whatever
 * order the renderers wrote the samples in. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "app/gw_metrics.h"
#include "unit.h"

static void test_metrics_group_interleaved_samples_under_one_header(void)
{
    const char *in =
        "dtx_gw_requests_total{route=\"a\"} 1\n"
        "dtx_gw_responses_total{route=\"a\",class=\"2xx\"} 1\n"
        "dtx_gw_upstream_seconds_bucket{route=\"a\",le=\"+Inf\"} 1\n"
        "dtx_gw_upstream_seconds_sum{route=\"a\"} 0.5\n"
        "dtx_gw_upstream_seconds_count{route=\"a\"} 1\n"
        "# TYPE dtx_gw_requests_total counter\n"
        "dtx_gw_requests_total{route=\"b\"} 2\n"
        "dtx_gw_responses_total{route=\"b\",class=\"2xx\"} 2\n"
        "dtx_gw_unrouted_total 3\n";
    size_t len = 0;
    char *out = dtx_gw_metrics_group(in, strlen(in), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(len, strlen(out));
    const char *want =
        "# HELP dtx_gw_unrouted_total Requests that matched no route.\n"
        "# TYPE dtx_gw_unrouted_total counter\n"
        "dtx_gw_unrouted_total 3\n"
        "# HELP dtx_gw_requests_total Requests matched, by route.\n"
        "# TYPE dtx_gw_requests_total counter\n"
        "dtx_gw_requests_total{route=\"a\"} 1\n"
        "dtx_gw_requests_total{route=\"b\"} 2\n"
        "# HELP dtx_gw_responses_total Answers sent, by route and status class (none: no answer).\n"
        "# TYPE dtx_gw_responses_total counter\n"
        "dtx_gw_responses_total{route=\"a\",class=\"2xx\"} 1\n"
        "dtx_gw_responses_total{route=\"b\",class=\"2xx\"} 2\n"
        "# HELP dtx_gw_upstream_seconds Time to the upstream answer's headers, by route.\n"
        "# TYPE dtx_gw_upstream_seconds histogram\n"
        "dtx_gw_upstream_seconds_bucket{route=\"a\",le=\"+Inf\"} 1\n"
        "dtx_gw_upstream_seconds_sum{route=\"a\"} 0.5\n"
        "dtx_gw_upstream_seconds_count{route=\"a\"} 1\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    free(out);
}

static void test_metrics_group_puts_unknown_families_last_untyped(void)
{
    const char *in = "dtx_gw_new_thing 1\ndtx_gw_unrouted_total 0\n"
                     "dtx_gw_unrouted_totally 2\n";
    size_t len = 0;
    char *out = dtx_gw_metrics_group(in, strlen(in), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    const char *want =
        "# HELP dtx_gw_unrouted_total Requests that matched no route.\n"
        "# TYPE dtx_gw_unrouted_total counter\n"
        "dtx_gw_unrouted_total 0\n"
        "dtx_gw_new_thing 1\n"
        "dtx_gw_unrouted_totally 2\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    free(out);
    out = dtx_gw_metrics_group("", 0, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(len, 0);
    free(out);
}

/* Without a generation the gateway still answers: every line it writes
 * then is typed. */
static void test_metrics_render_types_every_family(void)
{
    size_t len = 0;
    char *out = dtx_gw_metrics_render(NULL, NULL, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    int samples = 0;
    char family[128] = "";
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            snprintf(family, sizeof family, "%.*s", (int)strcspn(line + 7, " "), line + 7);
            continue;
        }
        if (line[0] == '#')
            continue;
        samples++;
        CU_ASSERT(family[0] && strncmp(line, family, strlen(family)) == 0);
    }
    CU_ASSERT(samples >= 6);   /* dtxd poller and zmq counters */
    free(out);
}

UNIT_SUITE(gw_metrics)
{
    CU_pSuite s = CU_add_suite("gw_metrics", NULL, NULL);
    CU_add_test(s, "group interleaved samples under one header",
                test_metrics_group_interleaved_samples_under_one_header);
    CU_add_test(s, "group puts unknown families last, untyped",
                test_metrics_group_puts_unknown_families_last_untyped);
    CU_add_test(s, "render types every family", test_metrics_render_types_every_family);
}
