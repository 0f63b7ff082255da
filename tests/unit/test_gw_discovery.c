/* Discovery: the target file format (bad lines refused whole), DNS
 * answers mapped to target sets through an injected resolver (no
 * network), and the registry's keep-last-good, counting and refresh
 * timing (gw_config_discovery.h, gw_discovery.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>

#include "dtx/types.h"
#include "config/gw_config_discovery.h"
#include "config/gw_config_parse.h"
#include "upstream/gw_discovery.h"
#include "upstream/gw_lb.h"
#include "unit.h"

#define MS 1000LL

/* ---------------- the target file ---------------- */

static void test_file_lines_become_targets(void)
{
    const char *text = "# api targets\n"
                       "\n"
                       "10.0.0.2:8080 3 eu-1   # weight and zone\n"
                       "  10.0.0.1:8080\n"
                       "[::1]:9000 eu-2\n"
                       "localhost:81 2\n";
    dtx_gw_target_set_t s;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_gw_targets_file_parse(text, strlen(text), &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(s.n, 4);
    /* sorted by URL */
    CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://10.0.0.1:8080");
    CU_ASSERT_EQUAL(s.v[0].weight, 1);
    CU_ASSERT_PTR_NULL(s.v[0].zone);
    CU_ASSERT_STRING_EQUAL(s.v[1].url, "http://10.0.0.2:8080");
    CU_ASSERT_EQUAL(s.v[1].weight, 3);
    CU_ASSERT_STRING_EQUAL(s.v[1].zone, "eu-1");
    CU_ASSERT_STRING_EQUAL(s.v[2].url, "http://[::1]:9000");
    CU_ASSERT_STRING_EQUAL(s.v[2].zone, "eu-2");
    CU_ASSERT_STRING_EQUAL(s.v[3].url, "http://localhost:81");
    CU_ASSERT_EQUAL(s.v[3].weight, 2);
    CU_ASSERT(s.v[3].addr.salen > 0);
    dtx_gw_target_set_free(&s);
    /* empty (only comments): a valid, empty set */
    CU_ASSERT_EQUAL(dtx_gw_targets_file_parse("# none\n", 7, &s, err, sizeof err), 0);
    CU_ASSERT_EQUAL(s.n, 0);
    dtx_gw_target_set_free(&s);
}

static void test_a_bad_line_refuses_the_whole_file(void)
{
    static const struct { const char *text, *err; } bad[] = {
        { "10.0.0.1:80\n10.0.0.2\n", "line 2: \"10.0.0.2\" is not host:port" },
        { "10.0.0.1:80 0\n", "line 1: weight \"0\" must be 1..10000" },
        { "10.0.0.1:80 20000\n", "line 1: weight \"20000\" must be 1..10000" },
        { "10.0.0.1:80 3x\n", "line 1: weight \"3x\" must be 1..10000" },
        { "10.0.0.1:80 eu/1\n", "line 1: zone \"eu/1\" must be 1-64 of [A-Za-z0-9._-]" },
        { "10.0.0.1:80 1 a b\n", "line 1: too many fields (host:port [weight] [zone])" },
        { "10.0.0.1:80 a b\n", "line 1: \"b\": the zone is given twice" },
        { "10.0.0.1:80\n10.0.0.1:80 2\n", "line 2: \"10.0.0.1:80\" is listed twice" },
        { "10.0.0.1:99999\n", "line 1: \"10.0.0.1:99999\": " },
        { "\n\n[::1]\n", "line 3: \"[::1]\" is not host:port" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dtx_gw_target_set_t s = { (void *)1, 99 };
        char err[256] = "";
        CU_ASSERT_EQUAL(dtx_gw_targets_file_parse(bad[i].text, strlen(bad[i].text), &s, err,
                                                  sizeof err), DTX_EINVAL);
        CU_ASSERT(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            printf("\n  got \"%s\", want \"%s\"\n", err, bad[i].err);
        CU_ASSERT_EQUAL(s.n, 0);               /* never a partial set */
        CU_ASSERT_PTR_NULL(s.v);
    }
}

/* ---------------- DNS answers ---------------- */

typedef struct { unsigned char b[1024]; size_t n; } s_msg_t;

static void m_u16(s_msg_t *m, unsigned v) { m->b[m->n++] = (unsigned char)(v >> 8); m->b[m->n++] = (unsigned char)v; }
static void m_u32(s_msg_t *m, unsigned v) { m_u16(m, v >> 16); m_u16(m, v & 0xffff); }

static void m_name(s_msg_t *m, const char *name)
{
    while (*name) {
        size_t l = strcspn(name, ".");
        m->b[m->n++] = (unsigned char)l;
        memcpy(m->b + m->n, name, l);
        m->n += l;
        name += l + (name[l] == '.');
    }
    m->b[m->n++] = 0;
}

static void m_head(s_msg_t *m, int rcode, unsigned an, unsigned ar, const char *q, unsigned qtype)
{
    m->n = 0;
    m_u16(m, 0x1234);
    m_u16(m, 0x8180 | (unsigned)rcode);
    m_u16(m, 1);
    m_u16(m, an);
    m_u16(m, 0);
    m_u16(m, ar);
    m_name(m, q);
    m_u16(m, qtype);
    m_u16(m, 1);
}

static void m_a(s_msg_t *m, const char *name, unsigned ttl, const char *ip)
{
    unsigned a, b, c, d;
    sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d);
    if (name)
        m_name(m, name);
    else
        m_u16(m, 0xc00c);                      /* a pointer to the question's name */
    m_u16(m, 1);
    m_u16(m, 1);
    m_u32(m, ttl);
    m_u16(m, 4);
    m->b[m->n++] = (unsigned char)a;
    m->b[m->n++] = (unsigned char)b;
    m->b[m->n++] = (unsigned char)c;
    m->b[m->n++] = (unsigned char)d;
}

static void m_aaaa(s_msg_t *m, unsigned ttl, unsigned last)
{
    m_u16(m, 0xc00c);
    m_u16(m, 28);
    m_u16(m, 1);
    m_u32(m, ttl);
    m_u16(m, 16);
    memset(m->b + m->n, 0, 16);
    m->b[m->n] = 0xfd;                         /* fd00::last */
    m->b[m->n + 15] = (unsigned char)last;
    m->n += 16;
}

static void m_srv(s_msg_t *m, unsigned ttl, unsigned prio, unsigned w, unsigned port,
                  const char *target)
{
    m_u16(m, 0xc00c);
    m_u16(m, 33);
    m_u16(m, 1);
    m_u32(m, ttl);
    size_t at = m->n;
    m_u16(m, 0);
    m_u16(m, prio);
    m_u16(m, w);
    m_u16(m, port);
    m_name(m, target);
    unsigned rdlen = (unsigned)(m->n - at - 2);
    m->b[at] = (unsigned char)(rdlen >> 8);
    m->b[at + 1] = (unsigned char)rdlen;
}

/* The injected resolver: answers from a table, counts the questions. */
typedef struct {
    struct { const char *name; int type; s_msg_t *msg; } row[4];
    int nrows;
    int asked;
    char last[256];
} s_fake_t;

static int s_fake_query(void *arg, const char *resolver, const char *name, int type,
                        unsigned char *buf, size_t cap)
{
    (void)resolver;
    s_fake_t *f = arg;
    f->asked++;
    snprintf(f->last, sizeof f->last, "%s/%d", name, type);
    for (int i = 0; i < f->nrows; i++)
        if (strcmp(f->row[i].name, name) == 0 && f->row[i].type == type) {
            if (!f->row[i].msg)
                return DTX_EIO;                /* no answer at all */
            if (f->row[i].msg->n > cap)
                return DTX_ETOOBIG;
            memcpy(buf, f->row[i].msg->b, f->row[i].msg->n);
            return (int)f->row[i].msg->n;
        }
    return DTX_EIO;
}

static dtx_gw_discovery_cfg_t s_dns(dtx_gw_disc_kind_t kind, const char *name)
{
    dtx_gw_discovery_cfg_t d = { 0 };
    d.kind = kind;
    d.name = (char *)name;
    d.port = 8080;
    d.weight = 2;
    d.zone = "eu-1";
    d.min_refresh_ms = 1000;
    d.max_refresh_ms = 60000;
    return d;
}

static void test_a_answer_maps_to_targets_with_the_smallest_ttl(void)
{
    s_msg_t m;
    m_head(&m, 0, 3, 0, "api.test", 1);
    m_a(&m, NULL, 30, "10.0.0.7");
    m_a(&m, NULL, 10, "10.0.0.3");
    m_a(&m, NULL, 20, "10.0.0.7");            /* twice: one target */
    s_fake_t f = { .row = { { "api.test", 1, &m } }, .nrows = 1 };
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_A, "api.test");
    dtx_gw_target_set_t s;
    int64_t ttl = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_EQUAL(f.asked, 1);
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://10.0.0.3:8080");
    CU_ASSERT_STRING_EQUAL(s.v[1].url, "http://10.0.0.7:8080");
    CU_ASSERT_EQUAL(s.v[0].weight, 2);
    CU_ASSERT_STRING_EQUAL(s.v[1].zone, "eu-1");
    CU_ASSERT_EQUAL(ttl, 10000);
    dtx_gw_target_set_free(&s);
    /* the floor and the ceiling */
    m_head(&m, 0, 1, 0, "api.test", 1);
    m_a(&m, NULL, 0, "10.0.0.3");
    CU_ASSERT_EQUAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_EQUAL(ttl, 1000);
    dtx_gw_target_set_free(&s);
    m_head(&m, 0, 1, 0, "api.test", 1);
    m_a(&m, NULL, 86400, "10.0.0.3");
    CU_ASSERT_EQUAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_EQUAL(ttl, 60000);
    dtx_gw_target_set_free(&s);
}

/* A server that is not minimal (BIND's default before 9.13 and others)
 * adds the name servers' own addresses in the additional section of an
 * A answer: those are not the service's targets. */
static void test_additional_records_of_an_a_answer_are_not_targets(void)
{
    s_msg_t m;
    m_head(&m, 0, 1, 1, "api.test", 1);
    m_a(&m, NULL, 30, "10.0.0.7");
    m_a(&m, "ns1.test", 30, "10.9.9.9");      /* additional: a name server's glue */
    s_fake_t f = { .row = { { "api.test", 1, &m } }, .nrows = 1 };
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_A, "api.test");
    dtx_gw_target_set_t s;
    int64_t ttl = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_EQUAL(s.n, 1);
    if (s.n >= 1)
        CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://10.0.0.7:8080");
    dtx_gw_target_set_free(&s);
}

/* glibc's res_nquery returns the whole length of an answer that came by
 * TCP larger than the buffer (only the buffer's worth written): the
 * parse must not read past the buffer. This fake fills the buffer with
 * A records and says there were more bytes. */
static int s_fake_oversized(void *arg, const char *resolver, const char *name, int type,
                            unsigned char *buf, size_t cap)
{
    (void)arg;
    (void)resolver;
    (void)type;
    static s_msg_t m;
    m_head(&m, 0, 4000, 0, name, 1);
    size_t n = m.n;
    memcpy(buf, m.b, n);
    m_a(&m, NULL, 30, "10.0.0.7");
    size_t rl = m.n - n;                      /* one A record */
    for (; n < cap; n += rl)                  /* to the brim: the last one is cut */
        memcpy(buf + n, m.b + m.n - rl, n + rl <= cap ? rl : cap - n);
    return (int)(cap + 8192);
}

static void test_an_answer_longer_than_the_buffer_is_refused(void)
{
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_A, "api.test");
    dtx_gw_target_set_t s;
    int64_t ttl = 0;
    char err[256] = "";
    CU_ASSERT(dtx_gw_dns_resolve(&d, s_fake_oversized, NULL, &s, &ttl, err, sizeof err) < 0);
    CU_ASSERT_EQUAL(s.n, 0);
    dtx_gw_target_set_free(&s);
}

static void test_aaaa_answer_maps_to_bracketed_targets(void)
{
    s_msg_t m;
    m_head(&m, 0, 2, 0, "api6.test", 28);
    m_aaaa(&m, 40, 2);
    m_a(&m, NULL, 5, "10.0.0.1");              /* an A record in an AAAA answer counts too */
    s_fake_t f = { .row = { { "api6.test", 28, &m } }, .nrows = 1 };
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_AAAA, "api6.test");
    dtx_gw_target_set_t s;
    int64_t ttl = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(f.last, "api6.test/28");
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://10.0.0.1:8080");
    CU_ASSERT_STRING_EQUAL(s.v[1].url, "http://[fd00::2]:8080");
    CU_ASSERT_EQUAL(s.v[1].addr.sa.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(ttl, 5000);
    dtx_gw_target_set_free(&s);
}

static void test_srv_answer_maps_hosts_ports_and_weights(void)
{
    s_msg_t m, more;
    m_head(&m, 0, 4, 1, "_api._tcp.test", 33);
    m_srv(&m, 60, 10, 5, 9001, "h1.test");
    m_srv(&m, 40, 10, 0, 9002, "H2.test");     /* weight 0 counts 1; names are case-blind */
    m_srv(&m, 60, 20, 9, 9003, "h3.test");     /* a higher priority value: a backup, left out */
    m_srv(&m, 60, 10, 1, 0, "h4.test");        /* port 0: not a target */
    m_a(&m, "h1.test", 25, "10.1.0.1");        /* additional section */
    m_head(&more, 0, 1, 0, "h2.test", 1);
    m_a(&more, NULL, 15, "10.1.0.2");
    s_fake_t f = { .row = { { "_api._tcp.test", 33, &m }, { "h2.test", 1, &more } }, .nrows = 2 };
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_SRV, "_api._tcp.test");
    dtx_gw_target_set_t s;
    int64_t ttl = 0;
    char err[256] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err), 0);
    CU_ASSERT_EQUAL(f.asked, 2);               /* h2 was not in the additional section */
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://10.1.0.1:9001");
    CU_ASSERT_EQUAL(s.v[0].weight, 5);
    CU_ASSERT_STRING_EQUAL(s.v[1].url, "http://10.1.0.2:9002");
    CU_ASSERT_EQUAL(s.v[1].weight, 1);
    CU_ASSERT_EQUAL(ttl, 15000);               /* the smallest TTL of every record used */
    dtx_gw_target_set_free(&s);
}

static void test_dns_failures_are_errors_not_empty_sets(void)
{
    s_msg_t nx, empty, cut, loop;
    m_head(&nx, 3, 0, 0, "api.test", 1);       /* NXDOMAIN */
    m_head(&empty, 0, 0, 0, "api.test", 1);    /* NOERROR, no record */
    m_head(&cut, 0, 1, 0, "api.test", 1);
    m_a(&cut, NULL, 30, "10.0.0.1");
    cut.n -= 3;                                /* truncated */
    m_head(&loop, 0, 1, 0, "api.test", 1);
    m_u16(&loop, 0xc000 | (unsigned)loop.n);   /* a name pointing at itself */
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_A, "api.test");
    s_msg_t *cases[] = { &nx, &empty, &cut, &loop, NULL };
    int want[] = { DTX_EPROTO, DTX_ENOTFOUND, DTX_EPROTO, DTX_EPROTO, DTX_EIO };
    for (int i = 0; i < 5; i++) {
        s_fake_t f = { .row = { { "api.test", 1, cases[i] } }, .nrows = 1 };
        dtx_gw_target_set_t s;
        int64_t ttl = -5;
        char err[256] = "";
        CU_ASSERT_EQUAL(dtx_gw_dns_resolve(&d, s_fake_query, &f, &s, &ttl, err, sizeof err),
                        want[i]);
        CU_ASSERT_EQUAL(s.n, 0);
        CU_ASSERT(strncmp(err, "api.test: ", 10) == 0);
        CU_ASSERT_EQUAL(ttl, -5);
    }
}

/* ---------------- the registry ---------------- */

static void s_write(const char *path, const char *text)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_FATAL(rename(tmp, path) == 0);
}

typedef struct { uint64_t reads, failures, changes; int targets; int64_t next_ms; char err[256]; } s_stat_t;

static void s_stat_cb(const dtx_gw_discovery_stat_t *st, void *arg)
{
    s_stat_t *o = arg;
    o->reads = st->reads;
    o->failures = st->failures;
    o->changes = st->changes;
    o->targets = st->targets;
    o->next_ms = st->next_ms;
    snprintf(o->err, sizeof o->err, "%s", st->last_error);
}

static void test_registry_keeps_the_last_good_file(void)
{
    char path[128], doc[512], err[512] = "";
    snprintf(path, sizeof path, "/tmp/dtx-unit-targets-%d.txt", (int)getpid());
    s_write(path, "127.0.0.1:9001 a\n");
    snprintf(doc, sizeof doc,
             "{\"pools\":[{\"name\":\"p\",\"targets\":[\"http://127.0.0.1:9000\"],"
             "\"discovery\":[{\"file\":\"%s\",\"check_ms\":100}]}],"
             "\"routes\":[{\"name\":\"r\",\"match\":{\"prefix\":\"/\"},\"pool\":\"p\"}]}", path);
    dtx_gw_config_t *cfg = dtx_gw_config_parse(doc, strlen(doc), err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->pools[0].ntargets, 2);   /* static + the first read */
    CU_ASSERT_EQUAL(cfg->pools[0].nstatic, 1);
    dtx_gw_discovery_t *reg = dtx_gw_discovery_new();
    const dtx_gw_pool_cfg_t *pools[] = { &cfg->pools[0] };
    CU_ASSERT_EQUAL(dtx_gw_discovery_sync(reg, pools, 1, 0), 0);
    dtx_gw_target_set_t s;
    uint64_t version = 99;
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &cfg->pools[0], &s, &version), 1);
    CU_ASSERT_EQUAL(version, 0);
    CU_ASSERT_EQUAL(s.n, 2);
    dtx_gw_target_set_free(&s);
    int64_t next = 0;
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 0, NULL, NULL, &next), 0);  /* unchanged */
    CU_ASSERT_EQUAL(next, 100 * MS);
    /* a new line: the set changes */
    s_write(path, "127.0.0.1:9001 a\n127.0.0.1:9002 3 b\n");
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 50 * MS, NULL, NULL, &next), 0);  /* not due */
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 100 * MS, NULL, NULL, &next), 1);
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &cfg->pools[0], &s, &version), 1);
    CU_ASSERT_EQUAL(version, 1);
    CU_ASSERT_EQUAL_FATAL(s.n, 3);
    CU_ASSERT_STRING_EQUAL(s.v[0].url, "http://127.0.0.1:9000");   /* statics first */
    CU_ASSERT_STRING_EQUAL(s.v[2].url, "http://127.0.0.1:9002");
    CU_ASSERT_EQUAL(s.v[2].weight, 3);
    dtx_gw_target_set_free(&s);
    /* a bad line: the last good set stays, a failure counts */
    s_write(path, "127.0.0.1:9001 a\n127.0.0.1:9003 x y z\n");
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 200 * MS, NULL, NULL, &next), 0);
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &cfg->pools[0], &s, &version), 1);
    CU_ASSERT_EQUAL(version, 1);
    CU_ASSERT_EQUAL(s.n, 3);
    dtx_gw_target_set_free(&s);
    s_stat_t st;
    dtx_gw_discovery_each(reg, 200 * MS, s_stat_cb, &st);
    CU_ASSERT_EQUAL(st.failures, 1);
    CU_ASSERT_EQUAL(st.changes, 1);
    CU_ASSERT_EQUAL(st.targets, 2);
    CU_ASSERT(strstr(st.err, "line 2: too many fields") != NULL);
    /* the same bad file is not read again (one log line, one count) */
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 300 * MS, NULL, NULL, &next), 0);
    dtx_gw_discovery_each(reg, 300 * MS, s_stat_cb, &st);
    CU_ASSERT_EQUAL(st.failures, 1);
    /* fixed: read, the set changes again; the error clears */
    s_write(path, "127.0.0.1:9003\n");
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 400 * MS, NULL, NULL, &next), 1);
    dtx_gw_discovery_each(reg, 400 * MS, s_stat_cb, &st);
    CU_ASSERT_STRING_EQUAL(st.err, "");
    CU_ASSERT_EQUAL(st.changes, 2);
    /* a pool gone from the configuration is forgotten */
    CU_ASSERT_EQUAL(dtx_gw_discovery_sync(reg, pools, 0, 0), 0);
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &cfg->pools[0], &s, &version), 0);
    dtx_gw_discovery_destroy(&reg);
    dtx_gw_config_destroy(&cfg);
    unlink(path);
}

static void test_registry_reresolves_dns_on_its_ttl(void)
{
    s_msg_t m;
    m_head(&m, 0, 1, 0, "api.test", 1);
    m_a(&m, NULL, 5, "10.0.0.1");
    s_fake_t f = { .row = { { "api.test", 1, &m } }, .nrows = 1 };
    dtx_gw_discovery_cfg_t d = s_dns(DTX_GW_DISC_DNS_A, "api.test");
    d.first_refresh_ms = 5000;
    dtx_gw_pool_cfg_t pc = { 0 };
    pc.name = "p";
    pc.sig = "sig";
    pc.discovery = &d;
    pc.ndiscovery = 1;
    dtx_gw_discovery_t *reg = dtx_gw_discovery_new();
    const dtx_gw_pool_cfg_t *pools[] = { &pc };
    dtx_gw_discovery_sync(reg, pools, 1, 0);
    int64_t next = 0;
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 4999 * MS, s_fake_query, &f, &next), 0);
    CU_ASSERT_EQUAL(f.asked, 0);               /* the load's answer still holds */
    CU_ASSERT_EQUAL(next, 5000 * MS);
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 5000 * MS, s_fake_query, &f, &next), 1);
    CU_ASSERT_EQUAL(f.asked, 1);
    CU_ASSERT_EQUAL(next, 10000 * MS);         /* TTL 5 s */
    /* the answer changes: one more target */
    m_head(&m, 0, 2, 0, "api.test", 1);
    m_a(&m, NULL, 5, "10.0.0.1");
    m_a(&m, NULL, 5, "10.0.0.2");
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 10000 * MS, s_fake_query, &f, &next), 1);
    dtx_gw_target_set_t s;
    uint64_t version = 0;
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &pc, &s, &version), 1);
    CU_ASSERT_EQUAL(version, 2);
    CU_ASSERT_EQUAL(s.n, 2);
    dtx_gw_target_set_free(&s);
    /* the server stops answering: the set stays, a failure counts, the
     * next try comes after min_refresh_ms */
    f.row[0].msg = NULL;
    CU_ASSERT_EQUAL(dtx_gw_discovery_poll(reg, 15000 * MS, s_fake_query, &f, &next), 0);
    CU_ASSERT_EQUAL(next, 16000 * MS);
    CU_ASSERT_EQUAL(dtx_gw_discovery_lookup(reg, &pc, &s, &version), 1);
    CU_ASSERT_EQUAL(version, 2);
    CU_ASSERT_EQUAL(s.n, 2);
    dtx_gw_target_set_free(&s);
    s_stat_t st;
    dtx_gw_discovery_each(reg, 15000 * MS, s_stat_cb, &st);
    CU_ASSERT_EQUAL(st.failures, 1);
    CU_ASSERT_EQUAL(st.reads, 2);
    CU_ASSERT_EQUAL(st.next_ms, 1000);
    dtx_gw_discovery_destroy(&reg);
}

/* A rebuilt pool takes over health and counters; the dropped target
 * stays listed (draining) until its calls are done. */
static void test_rebuilt_pool_inherits_and_drains(void)
{
    dtx_gw_target_cfg_t t[3];
    memset(t, 0, sizeof t);
    t[0].url = "http://10.0.0.1:80";
    t[1].url = "http://10.0.0.2:80";
    t[2].url = "http://10.0.0.3:80";
    t[0].weight = t[1].weight = t[2].weight = 1;
    dtx_gw_pool_cfg_t c = { 0 };
    c.name = "p";
    c.sig = "x";
    c.healthy_after = 1;
    c.unhealthy_after = 1;
    dtx_gw_pool_t *old = dtx_gw_pool_new_set(&c, t, 2, NULL);
    dtx_gw_pool_health_result(old, 1, 0, 0);   /* 10.0.0.2 unhealthy */
    atomic_store(&old->targets[0].in_flight, 2);
    atomic_store(&old->targets[1].picked, 7);
    dtx_gw_pool_t *new = dtx_gw_pool_new_set(&c, t + 1, 2, NULL);   /* .2 and .3 */
    dtx_gw_pool_inherit(new, old);
    CU_ASSERT_EQUAL(new->targets[0].healthy, 0);
    CU_ASSERT_EQUAL(atomic_load(&new->targets[0].picked), 7);
    CU_ASSERT_EQUAL(new->targets[1].healthy, 1);
    CU_ASSERT_PTR_EQUAL(new->drain_from, old);
    dtx_gw_pool_unref(&old);                   /* the old generation is gone; calls hold it */
    CU_ASSERT_EQUAL(dtx_gw_pool_drain_prune(new), 2);
    CU_ASSERT_PTR_NOT_NULL(new->drain_from);
    atomic_store(&new->drain_from->targets[0].in_flight, 0);   /* the calls finished */
    CU_ASSERT_EQUAL(dtx_gw_pool_drain_prune(new), 0);
    CU_ASSERT_PTR_NULL(new->drain_from);
    for (int i = 0; i < 10; i++)               /* the dropped one is never picked */
        CU_ASSERT_EQUAL(dtx_gw_pool_pick(new, NULL, 0, NULL, 0), 1);
    dtx_gw_pool_unref(&new);
}

UNIT_SUITE(gw_discovery)
{
    CU_pSuite s = CU_add_suite("gw_discovery", NULL, NULL);
    CU_add_test(s, "file lines become targets", test_file_lines_become_targets);
    CU_add_test(s, "a bad line refuses the whole file", test_a_bad_line_refuses_the_whole_file);
    CU_add_test(s, "A answer maps to targets with the smallest TTL",
                test_a_answer_maps_to_targets_with_the_smallest_ttl);
    CU_add_test(s, "additional records of an A answer are not targets",
                test_additional_records_of_an_a_answer_are_not_targets);
    CU_add_test(s, "an answer longer than the buffer is refused",
                test_an_answer_longer_than_the_buffer_is_refused);
    CU_add_test(s, "AAAA answer maps to bracketed targets", test_aaaa_answer_maps_to_bracketed_targets);
    CU_add_test(s, "SRV answer maps hosts, ports and weights",
                test_srv_answer_maps_hosts_ports_and_weights);
    CU_add_test(s, "DNS failures are errors, not empty sets",
                test_dns_failures_are_errors_not_empty_sets);
    CU_add_test(s, "registry keeps the last good file", test_registry_keeps_the_last_good_file);
    CU_add_test(s, "registry re-resolves DNS on its TTL", test_registry_reresolves_dns_on_its_ttl);
    CU_add_test(s, "rebuilt pool inherits and drains", test_rebuilt_pool_inherits_and_drains);
}
