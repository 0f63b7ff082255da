/* Who is on the other end (coordinator/engine/auth.h): allow-list parsing, the
 * loopback rule and the configurations dtxd refuses to start with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "engine/auth.h"
#include "dtx/curve.h"
#include "unit.h"

static dtx_curve_keys_t s_k1, s_k2;

static int s_init(void)
{
    return dtx_curve_keys_generate(&s_k1) == 0 && dtx_curve_keys_generate(&s_k2) == 0 ? 0 : -1;
}

static void test_allow_list_lines_parse_into_roles(void)
{
    char text[512], err[256] = "";
    snprintf(text, sizeof text,
             "# comment\n\n  %s bank-a-1 participant:bank-a participant:bank-b\r\n"
             "%s\tshop initiator operator participant:*\n",
             s_k1.public_key, s_k2.public_key);
    dtx_allow_entry_t *list = NULL;
    CU_ASSERT_EQUAL_FATAL(dtx_auth_parse_allow(text, &list, err, sizeof err), 2);
    CU_ASSERT_STRING_EQUAL(list->key, s_k1.public_key);
    CU_ASSERT_STRING_EQUAL(list->name, "bank-a-1");
    CU_ASSERT_EQUAL(list->roles, DTX_ROLE_PARTICIPANT);
    CU_ASSERT_EQUAL(list->nresources, 2);
    dtx_allow_entry_t *e2 = list->hnext;
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    CU_ASSERT_STRING_EQUAL(e2->name, "shop");
    CU_ASSERT_EQUAL(e2->roles, DTX_ROLE_INITIATOR | DTX_ROLE_OPERATOR | DTX_ROLE_PARTICIPANT);
    CU_ASSERT_EQUAL(e2->any_resource, 1);

    dtx_ident_t id = { .roles = list->roles, .entry = list };
    CU_ASSERT_EQUAL(dtx_auth_resource_ok(&id, "bank-a"), 1);
    CU_ASSERT_EQUAL(dtx_auth_resource_ok(&id, "bank-b"), 1);
    CU_ASSERT_EQUAL(dtx_auth_resource_ok(&id, "bank-c"), 0);
    dtx_ident_t any = { .roles = e2->roles, .entry = e2 };
    CU_ASSERT_EQUAL(dtx_auth_resource_ok(&any, "bank-c"), 1);
    dtx_ident_t init_only = { .roles = DTX_ROLE_INITIATOR, .entry = e2 };
    CU_ASSERT_EQUAL(dtx_auth_resource_ok(&init_only, "bank-a"), 0);
    dtx_auth_entries_free(list);
}

static void s_refused(const char *text, const char *line, const char *what)
{
    char err[256] = "";
    dtx_allow_entry_t *list = NULL;
    CU_ASSERT_EQUAL(dtx_auth_parse_allow(text, &list, err, sizeof err), DTX_ECONFIG);
    CU_ASSERT_PTR_NULL(list);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, line));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
    /* A message names the line, never a whole key. */
    CU_ASSERT_PTR_NULL(strstr(err, s_k1.public_key));
}

static void test_bad_allow_lists_are_refused_with_the_line(void)
{
    char t[512];
    s_refused("notakey bank initiator\n", "line 1", "Z85 public key");
    snprintf(t, sizeof t, "%s\n", s_k1.public_key);
    s_refused(t, "line 1", "name");
    snprintf(t, sizeof t, "%s has/slash initiator\n", s_k1.public_key);
    s_refused(t, "line 1", "name");
    snprintf(t, sizeof t, "%s shop\n", s_k1.public_key);
    s_refused(t, "line 1", "no role");
    snprintf(t, sizeof t, "# x\n%s shop root\n", s_k1.public_key);
    s_refused(t, "line 2", "unknown role");
    snprintf(t, sizeof t, "%s shop participant:\n", s_k1.public_key);
    s_refused(t, "line 1", "resource name");
    snprintf(t, sizeof t, "%s a initiator\n%s b initiator\n", s_k1.public_key, s_k1.public_key);
    s_refused(t, "line 2", "listed twice");
    /* A key of the right length that does not decode. */
    s_refused(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,, x initiator\n", "line 1", "Z85");
}

static void test_only_loopback_endpoints_are_local(void)
{
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://127.0.0.1:7070"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://127.9.8.7:7070"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://localhost:7070"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://[::1]:7070"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("ipc:///tmp/dtx.sock"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("inproc://x"), 1);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://*:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://0.0.0.0:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://10.0.0.1:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://127.0.0.1.evil:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://eth0:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://[::]:7070"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("pgm://eth0;239.1.1.1:5555"), 0);
    CU_ASSERT_EQUAL(dtx_endpoint_is_local("tcp://:7070"), 0);
}

static void test_unsafe_configurations_do_not_start(void)
{
    dtx_coord_config_t cfg;
    char err[512] = "";
    int rc = 0;
    char *a1[] = { "dtxd", "--db", "x", "--listen", "tcp://*:7070", NULL };
    CU_ASSERT_EQUAL_FATAL(dtx_coord_config_load(&cfg, 5, a1, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(dtx_auth_new(&cfg, err, sizeof err, &rc));
    CU_ASSERT_EQUAL(rc, DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "reachable from other hosts"));

    char *a2[] = { "dtxd", "--db", "x", "--listen", "tcp://127.0.0.1:7070", NULL };
    CU_ASSERT_EQUAL_FATAL(dtx_coord_config_load(&cfg, 5, a2, err, sizeof err), 0);
    dtx_auth_t *a = dtx_auth_new(&cfg, err, sizeof err, &rc);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(a ? dtx_auth_curve(a) : -1, 0);
    dtx_auth_destroy(&a);
    CU_ASSERT_PTR_NULL(a);

    char dir[] = "/tmp/dtx-auth-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char key[128], allow[128];
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(allow, sizeof allow, "%s/allow", dir);
    CU_ASSERT_EQUAL_FATAL(dtx_curve_keys_save(key, &s_k1, err, sizeof err), 0);

    char *a3[] = { "dtxd", "--db", "x", "--listen", "tcp://*:7070", "--curve-secret-file", key,
                   NULL };
    CU_ASSERT_EQUAL_FATAL(dtx_coord_config_load(&cfg, 7, a3, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(dtx_auth_new(&cfg, err, sizeof err, &rc));
    CU_ASSERT_EQUAL(rc, DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--curve-allow-file"));

    char *a4[] = { "dtxd", "--db", "x", "--listen", "tcp://*:7070", "--curve-secret-file", key,
                   "--curve-allow-file", allow, NULL };
    CU_ASSERT_EQUAL_FATAL(dtx_coord_config_load(&cfg, 9, a4, err, sizeof err), 0);
    CU_ASSERT_PTR_NULL(dtx_auth_new(&cfg, err, sizeof err, &rc)); /* no allow file yet */
    CU_ASSERT_EQUAL(rc, DTX_ECONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read"));

    FILE *f = fopen(allow, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "%s gw initiator\n", s_k2.public_key);
    fclose(f);
    a = dtx_auth_new(&cfg, err, sizeof err, &rc);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_EQUAL(a ? dtx_auth_curve(a) : -1, 1);

    /* A broken reload keeps the list in force. */
    f = fopen(allow, "w");
    fprintf(f, "%s gw wizard\n", s_k2.public_key);
    fclose(f);
    if (a) {
        CU_ASSERT_EQUAL(dtx_auth_reload(a, err, sizeof err), DTX_ECONFIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown role"));
    }
    dtx_auth_destroy(&a);
    unlink(key);
    unlink(allow);
    rmdir(dir);
}

UNIT_SUITE(auth)
{
    CU_pSuite s = CU_add_suite("auth", s_init, NULL);
    CU_add_test(s, "allow-list lines parse into roles", test_allow_list_lines_parse_into_roles);
    CU_add_test(s, "bad allow-lists are refused with the line", test_bad_allow_lists_are_refused_with_the_line);
    CU_add_test(s, "only loopback endpoints are local", test_only_loopback_endpoints_are_local);
    CU_add_test(s, "unsafe configurations do not start", test_unsafe_configurations_do_not_start);
}
