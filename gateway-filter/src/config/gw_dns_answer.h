/*
 * gw_dns_answer.h — DNS for discovery: answer messages parsed, queries
 * sent (libc's res_nquery, blocking: never on a worker), a dns source
 * resolved into a target set with its refresh interval (gw_dns_answer.c).
 */
#ifndef DTX_GW_DNS_ANSWER_H
#define DTX_GW_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "config/gw_config.h"
#include "config/gw_targets_file.h"

#define DTX_GW_DNS_MAX_RR 64

typedef struct dtx_gw_dns_rr {
    int      type;             /* 1 A, 28 AAAA, 33 SRV */
    int      additional;       /* 1: from the additional section (else the answer's) */
    uint32_t ttl;              /* seconds */
    char     name[256];        /* owner name, lower case, no final dot */
    unsigned char addr[16];    /* A: 4 bytes, AAAA: 16 */
    int      priority, weight, port;   /* SRV */
    char     target[256];      /* SRV: the host, lower case, no final dot */
} dtx_gw_dns_rr_t;

/* Parses a DNS answer message: the answer and additional records of type
 * A, AAAA and SRV into rrs (at most max). Returns their count, or
 * DTX_EPROTO on a malformed message or an error rcode (NXDOMAIN...). */
int dtx_gw_dns_answer_parse(const unsigned char *msg, size_t len, dtx_gw_dns_rr_t *rrs,
                            int max);

/* Sends one query (type 1, 28 or 33) for name; writes the answer message
 * into buf. Returns its length, or a negative DTX_E* code. The default
 * (NULL) is libc's res_nquery on a private resolver state (the source's
 * resolver address when set): it blocks, so it runs only on the
 * discovery thread or while a configuration is loaded, never on a worker. */
typedef int (*dtx_gw_dns_query_fn)(void *arg, const char *resolver, const char *name,
                                   int type, unsigned char *buf, size_t cap);
int dtx_gw_dns_query_system(void *arg, const char *resolver, const char *name, int type,
                            unsigned char *buf, size_t cap);

/* Resolves a dns source into out: A/AAAA give one target per address
 * (src->port, src->weight); SRV gives one per record of the lowest
 * priority (its port, its weight — 0 counts as 1), the hosts taken from the
 * additional section or else queried (A). *ttl_ms: the smallest TTL seen,
 * clamped to [min_refresh_ms, max_refresh_ms]. An answer without any
 * target is a failure (DTX_ENOTFOUND): the caller keeps its last set.
 * query NULL: dtx_gw_dns_query_system. */
int dtx_gw_dns_resolve(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query,
                       void *qarg, dtx_gw_target_set_t *out, int64_t *ttl_ms,
                       char *err, size_t errlen);

#endif
