/*
 * gw_dns_answer.c — DNS for discovery (gw_dns_answer.h): answer
 * messages parsed here (RFC 1035 section 4, name compression included;
 * SRV is RFC 2782), queries sent by libc's res_nquery.
 *
 * Why a blocking resolver on a thread of its own rather than an
 * asynchronous one (c-ares): resolution never runs on a worker's loop —
 * only on the discovery thread and while a configuration is loaded — so
 * an asynchronous resolver would buy nothing there; res_nquery is in libc
 * (no new dependency), hands back the raw answer with every record's TTL
 * (getaddrinfo gives none), and the SRV parse below keeps the TTL that
 * Debian 12's c-ares 1.18 (ares_parse_srv_reply) drops.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/types.h"
#include "config/gw_dns_answer.h"

#define S_T_A    1
#define S_T_AAAA 28
#define S_T_SRV  33

/* Reads a (possibly compressed) name at *at into out (lower case, dots,
 * no final dot); advances *at past it in the message. 0 or DTX_EPROTO. */
static int s_name(const unsigned char *m, size_t len, size_t *at, char *out, size_t cap)
{
    size_t p = *at, o = 0;
    int jumped = 0, hops = 0;
    for (;;) {
        if (p >= len)
            return DTX_EPROTO;
        unsigned c = m[p];
        if (c == 0) {
            if (!jumped)
                *at = p + 1;
            break;
        }
        if ((c & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++hops > 32)
                return DTX_EPROTO;
            if (!jumped)
                *at = p + 2;
            jumped = 1;
            p = ((c & 0x3f) << 8) | m[p + 1];
            continue;
        }
        if (c & 0xc0 || p + 1 + c > len)
            return DTX_EPROTO;
        if (o + c + 2 > cap)
            return DTX_EPROTO;
        if (o)
            out[o++] = '.';
        for (unsigned i = 0; i < c; i++) {
            char ch = (char)m[p + 1 + i];
            out[o++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        p += 1 + c;
    }
    out[o] = '\0';
    return 0;
}

static unsigned s_u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

int dtx_gw_dns_answer_parse(const unsigned char *msg, size_t len, dtx_gw_dns_rr_t *rrs,
                            int max)
{
    if (len < 12)
        return DTX_EPROTO;
    if ((msg[3] & 0x0f) != 0)            /* rcode: NXDOMAIN, SERVFAIL... */
        return DTX_EPROTO;
    unsigned qd = s_u16(msg + 4), an = s_u16(msg + 6), ns = s_u16(msg + 8),
             ar = s_u16(msg + 10);
    size_t at = 12;
    char name[256];
    for (unsigned i = 0; i < qd; i++) {
        if (s_name(msg, len, &at, name, sizeof name) < 0 || at + 4 > len)
            return DTX_EPROTO;
        at += 4;
    }
    int n = 0;
    for (unsigned i = 0; i < an + ns + ar; i++) {
        if (s_name(msg, len, &at, name, sizeof name) < 0 || at + 10 > len)
            return DTX_EPROTO;
        unsigned type = s_u16(msg + at), klass = s_u16(msg + at + 2);
        uint32_t ttl = (uint32_t)msg[at + 4] << 24 | (uint32_t)msg[at + 5] << 16 |
                       (uint32_t)msg[at + 6] << 8 | msg[at + 7];
        unsigned rdlen = s_u16(msg + at + 8);
        at += 10;
        if (at + rdlen > len)
            return DTX_EPROTO;
        size_t rd = at;
        at += rdlen;
        int in_ns = i >= an && i < an + ns;
        if (in_ns || klass != 1 || n >= max)
            continue;
        dtx_gw_dns_rr_t *r = &rrs[n];
        memset(r, 0, sizeof *r);
        r->type = (int)type;
        r->additional = i >= an + ns;
        r->ttl = ttl > 0x7fffffffu ? 0 : ttl;   /* RFC 2181: the top bit set means 0 */
        snprintf(r->name, sizeof r->name, "%s", name);
        if (type == S_T_A && rdlen == 4) {
            memcpy(r->addr, msg + rd, 4);
        } else if (type == S_T_AAAA && rdlen == 16) {
            memcpy(r->addr, msg + rd, 16);
        } else if (type == S_T_SRV && rdlen >= 7) {
            r->priority = (int)s_u16(msg + rd);
            r->weight = (int)s_u16(msg + rd + 2);
            r->port = (int)s_u16(msg + rd + 4);
            size_t t = rd + 6;
            if (s_name(msg, rd + rdlen, &t, r->target, sizeof r->target) < 0)
                return DTX_EPROTO;
        } else {
            continue;                        /* CNAME and the like: followed by the server */
        }
        n++;
    }
    return n;
}

int dtx_gw_dns_query_system(void *arg, const char *resolver, const char *name, int type,
                            unsigned char *buf, size_t cap)
{
    (void)arg;
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return DTX_EIO;
    st.retrans = 1;                      /* seconds per try */
    st.retry = 2;
    if (resolver) {
        char host[64];
        const char *colon = strrchr(resolver, ':');
        size_t hl = colon ? (size_t)(colon - resolver) : strlen(resolver);
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(colon ? (uint16_t)atoi(colon + 1) : 53) };
        if (hl >= sizeof host) {
            res_nclose(&st);
            return DTX_EINVAL;
        }
        memcpy(host, resolver, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
            res_nclose(&st);
            return DTX_EINVAL;
        }
        st.nsaddr_list[0] = sa;
        st.nscount = 1;
    }
    int n = res_nquery(&st, name, 1 /* C_IN */, type, buf, (int)cap);
    res_nclose(&st);
    /* glibc returns the whole length of a TCP answer larger than buf,
     * of which only cap bytes were written. */
    return n < 0 ? DTX_EIO : (size_t)n > cap ? DTX_ETOOBIG : n;
}

/* The addresses of host in rrs (type A or AAAA) added to out with port
 * and weight; host NULL: those of the answer section only (the
 * additional section of a server that is not minimal holds its name
 * servers' addresses, not the service's). Returns how many. */
static int s_add_addrs(const dtx_gw_dns_rr_t *rrs, int n, const char *host, int port,
                       int weight, const char *zone, dtx_gw_target_set_t *out, uint32_t *ttl)
{
    int added = 0;
    for (int i = 0; i < n; i++) {
        const dtx_gw_dns_rr_t *r = &rrs[i];
        if ((r->type != S_T_A && r->type != S_T_AAAA) || (host && strcmp(r->name, host) != 0) ||
            (!host && r->additional))
            continue;
        char ip[INET6_ADDRSTRLEN], url[128];
        inet_ntop(r->type == S_T_A ? AF_INET : AF_INET6, r->addr, ip, sizeof ip);
        snprintf(url, sizeof url, r->type == S_T_A ? "http://%s:%d" : "http://[%s]:%d", ip,
                 port);
        int dup = 0;
        for (int k = 0; k < out->n; k++)
            dup |= strcmp(out->v[k].url, url) == 0;
        if (dup)
            continue;
        dtx_gw_addr_t addr;
        char why[128];
        if (dtx_gw_addr_parse(&addr, url, why, sizeof why) < 0 ||
            dtx_gw_target_set_add(out, url, weight, zone, &addr) < 0)
            continue;
        if (r->ttl < *ttl)
            *ttl = r->ttl;
        added++;
    }
    return added;
}

static void s_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int s_resolve(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query, void *qarg,
                     int type, unsigned char *buf, size_t cap, dtx_gw_dns_rr_t *rrs,
                     dtx_gw_dns_rr_t *more, dtx_gw_target_set_t *out, int64_t *ttl_ms,
                     char *err, size_t errlen);

int dtx_gw_dns_resolve(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query,
                       void *qarg, dtx_gw_target_set_t *out, int64_t *ttl_ms,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!query)
        query = dtx_gw_dns_query_system;
    int type = src->kind == DTX_GW_DISC_DNS_SRV ? S_T_SRV
             : src->kind == DTX_GW_DISC_DNS_AAAA ? S_T_AAAA : S_T_A;
    unsigned char buf[4096];
    dtx_gw_dns_rr_t *rrs = calloc(2 * DTX_GW_DNS_MAX_RR, sizeof *rrs);
    if (!rrs) {
        snprintf(err, errlen, "%s: out of memory", src->name);
        return DTX_ENOMEM;
    }
    int rc = s_resolve(src, query, qarg, type, buf, sizeof buf, rrs, rrs + DTX_GW_DNS_MAX_RR,
                       out, ttl_ms, err, errlen);
    free(rrs);
    return rc;
}

static int s_resolve(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query, void *qarg,
                     int type, unsigned char *buf, size_t cap, dtx_gw_dns_rr_t *rrs,
                     dtx_gw_dns_rr_t *more, dtx_gw_target_set_t *out, int64_t *ttl_ms,
                     char *err, size_t errlen)
{
    int len = query(qarg, src->resolver, src->name, type, buf, cap);
    if (len >= 0 && (size_t)len > cap)
        len = DTX_ETOOBIG;                   /* more than buf holds: never read past it */
    if (len < 0) {
        snprintf(err, errlen, "%s: no answer (%s)", src->name, dtx_strerror(len));
        return DTX_EIO;
    }
    int n = dtx_gw_dns_answer_parse(buf, (size_t)len, rrs, DTX_GW_DNS_MAX_RR);
    if (n < 0) {
        snprintf(err, errlen, "%s: malformed or error answer", src->name);
        return DTX_EPROTO;
    }
    uint32_t ttl = UINT32_MAX;
    if (type != S_T_SRV) {
        /* A CNAME chain: the addresses come under the final name; take
         * every address record of the answer section. */
        s_add_addrs(rrs, n, NULL, src->port, src->weight, src->zone, out, &ttl);
    } else {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (rrs[i].type == S_T_SRV && (best < 0 || rrs[i].priority < best))
                best = rrs[i].priority;
        for (int i = 0; i < n; i++) {
            dtx_gw_dns_rr_t *r = &rrs[i];
            if (r->type != S_T_SRV || r->priority != best || r->port == 0)
                continue;
            if (r->ttl < ttl)
                ttl = r->ttl;
            int w = r->weight > 0 ? (r->weight > 10000 ? 10000 : r->weight) : 1;
            char host[256];
            snprintf(host, sizeof host, "%s", r->target);
            s_lower(host);
            if (s_add_addrs(rrs, n, host, r->port, w, src->zone, out, &ttl) > 0)
                continue;
            /* Not in the additional section: ask for the host's A records. */
            int ml = query(qarg, src->resolver, host, S_T_A, buf, cap);
            int mn = ml > 0 && (size_t)ml <= cap ? dtx_gw_dns_answer_parse(buf, (size_t)ml, more,
                                                      DTX_GW_DNS_MAX_RR) : -1;
            if (mn > 0)
                s_add_addrs(more, mn, NULL, r->port, w, src->zone, out, &ttl);
        }
    }
    if (out->n == 0) {
        snprintf(err, errlen, "%s: the answer names no target", src->name);
        return DTX_ENOTFOUND;
    }
    dtx_gw_target_set_sort(out);
    int64_t ms = ttl == UINT32_MAX ? src->max_refresh_ms : (int64_t)ttl * 1000;
    if (ms < src->min_refresh_ms)
        ms = src->min_refresh_ms;
    if (ms > src->max_refresh_ms)
        ms = src->max_refresh_ms;
    *ttl_ms = ms;
    return 0;
}
