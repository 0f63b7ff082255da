/*
 * gw_targets_file.h — target sets (a pool's targets as discovery reads
 * them) and the target file format: one target a line,
 * `host:port [weight] [zone]`, the way systems feed nginx upstreams
 * (gw_targets_file.c).
 */
#ifndef DTX_GW_TARGETS_FILE_H
#define DTX_GW_TARGETS_FILE_H

#include <stddef.h>

#include "config/gw_config.h"

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

/* One target a line: `host:port [weight] [zone]` ([v6]:port for IPv6);
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

#endif
