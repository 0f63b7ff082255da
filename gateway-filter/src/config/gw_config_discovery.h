/*
 * gw_config_discovery.h — where a pool's targets come from besides its
 * static "targets": a target file the gateway watches and DNS names
 * (A, AAAA or SRV) re-resolved on their TTL. This file holds the
 * configuration of a source, and reading one source once into a target
 * set (gw_config_discovery.c: the pool's "discovery" section;
 * gw_targets_file.c: the file format; gw_dns_answer.c: DNS answers).
 *
 * Nothing here runs on a worker: a source is read when the configuration
 * is loaded (parse thread) and again by the discovery thread
 * (app/gw_discovery_watch.c); the registry that keeps the last good set
 * of each source is upstream/gw_discovery.h.
 */
#ifndef DTX_GW_CONFIG_DISCOVERY_H
#define DTX_GW_CONFIG_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config/gw_config.h"
#include "config/gw_config_json.h"

typedef enum { DTX_GW_DISC_FILE, DTX_GW_DISC_DNS_A, DTX_GW_DISC_DNS_AAAA,
               DTX_GW_DISC_DNS_SRV } dtx_gw_disc_kind_t;

#define DTX_GW_DISC_FILE_CHECK_MS   1000    /* file: how often its mtime/size is looked at */
#define DTX_GW_DISC_MIN_REFRESH_MS  1000    /* dns: floor of the re-resolution interval */
#define DTX_GW_DISC_MAX_REFRESH_MS  300000  /* dns: ceiling */

/* One source of a pool's "discovery" array. */
struct dtx_gw_discovery_cfg {
    dtx_gw_disc_kind_t kind;
    char   *file;              /* file: its path */
    int64_t check_ms;          /* file: look for a change this often */
    char   *name;              /* dns: the name queried */
    int     port;              /* dns A/AAAA: the targets' port (SRV brings its own) */
    int     weight;            /* dns A/AAAA: each address's weight (SRV: its weight field) */
    char   *zone;              /* dns: the zone of its targets, or NULL */
    char   *resolver;          /* dns: "IPv4:port" of the DNS server, NULL: resolv.conf */
    int64_t min_refresh_ms;    /* dns: re-resolve no sooner than this after a TTL... */
    int64_t max_refresh_ms;    /* ...and no later than this */
    int     first, count;      /* its targets in the pool's targets after the load's read */
    int64_t first_refresh_ms;  /* when the load's read said to look again */
};
typedef struct dtx_gw_discovery_cfg dtx_gw_discovery_cfg_t;

/* A set of targets (owned copies: url, zone). */
typedef struct dtx_gw_target_set {
    dtx_gw_target_cfg_t *v;
    int                  n;
} dtx_gw_target_set_t;

void dtx_gw_target_set_free(dtx_gw_target_set_t *self);
/* Appends a target (url and zone copied; zone may be NULL). 0 or DTX_ENOMEM. */
int  dtx_gw_target_set_add(dtx_gw_target_set_t *self, const char *url, int weight,
                           const char *zone, const dtx_gw_addr_t *addr);
/* 1 when both hold the same targets (url, weight, zone) in the same order. */
int  dtx_gw_target_set_same(const dtx_gw_target_set_t *a, const dtx_gw_target_set_t *b);
/* Sorts by url, so that two reads of the same source compare equal. */
void dtx_gw_target_set_sort(dtx_gw_target_set_t *self);

/* ---- the target file (gw_targets_file.c) ----
 * One target a line: `host:port [weight] [zone]` ([v6]:port for IPv6);
 * `#` starts a comment, blank lines are skipped. weight 1..10000
 * (default 1); zone 1-64 of [A-Za-z0-9._-]. Parses text into out (every
 * line good) or returns DTX_EINVAL with "line N: what is wrong" in err
 * and out left empty: a bad line never yields a partial set. Host names
 * are resolved (getaddrinfo: call it off the workers). */
int dtx_gw_targets_file_parse(const char *text, size_t len, dtx_gw_target_set_t *out,
                              char *err, size_t errlen);
/* Reads path and parses it. DTX_EIO when it cannot be read. */
int dtx_gw_targets_file_read(const char *path, dtx_gw_target_set_t *out, char *err,
                             size_t errlen);

/* ---- DNS (gw_dns_answer.c) ---- */
#define DTX_GW_DNS_MAX_RR 64

typedef struct dtx_gw_dns_rr {
    int      type;             /* 1 A, 28 AAAA, 33 SRV */
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

/* ---- the section (gw_config_discovery.c) ---- */
/* The pool's "discovery" member (absent: nothing) into pl->discovery,
 * then one read of every source appended to pl->targets (a source that
 * cannot be read refuses the configuration, as a static name that does not
 * resolve does). */
int dtx_gw_cfg_discovery(dtx_gw_cfg_ctx_t *c, json_object *v, const char *path,
                         dtx_gw_pool_cfg_t *pl);
/* Reads one source once: the file, or a DNS resolution (query NULL: the
 * system's). *refresh_ms: when to look again. */
int dtx_gw_discovery_read(const dtx_gw_discovery_cfg_t *src, dtx_gw_dns_query_fn query,
                          void *qarg, dtx_gw_target_set_t *out, int64_t *refresh_ms,
                          char *err, size_t errlen);
/* Frees pl->discovery (called by dtx_gw_config_destroy). */
void dtx_gw_cfg_discovery_free(dtx_gw_pool_cfg_t *pl);

#endif
