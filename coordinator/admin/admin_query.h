/*
 * admin_query.h — the list endpoint's filters, parsed into the parameters
 * of the list statements (admin_sql.c). Pure: unit-tested.
 *
 * Paging is by keyset on gid. A gid is a ULID, so its first 10 characters
 * encode its creation time in ms and gid order is creation order: the
 * cursor (the last gid of a page), the age filters and the gid prefix
 * search all become bounds on the primary key, and a page costs the same
 * with a million finished transactions as with ten.
 */
#ifndef DTX_COORD_ADMIN_QUERY_H
#define DTX_COORD_ADMIN_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_LIST_LIMIT_DEFAULT 50
#define DTX_LIST_LIMIT_MAX     500
#define DTX_BOUND_SIZE         96

typedef struct dtx_listq {
    int  states[6];                 /* DTX_STATE_* wanted; none = any */
    int  nstates;
    int  mode;                      /* DTX_MODE_*, 0 = any */
    char resource[DTX_NAME_SIZE];   /* "" = any */
    char lo_ex[DTX_BOUND_SIZE];     /* gid > lo_ex ("" = none) */
    char lo_in[DTX_BOUND_SIZE];     /* gid >= lo_in */
    char hi_ex[DTX_BOUND_SIZE];     /* gid < hi_ex */
    char prefix[DTX_NAME_SIZE];     /* gid starts with it */
    int  limit;                     /* rows per page */
    int  asc;                       /* oldest first */
} dtx_listq_t;

/* Looks up a query-string argument; NULL when absent. */
typedef const char *(*dtx_listq_get_fn)(void *ctx, const char *name);

/* Parses state=a,b mode= resource= q= min_age= max_age= order= limit=
 * cursor= (ages: 90, 90s, 5m, 2h, 3d; bare numbers are seconds) with now
 * as the wall clock in ms. Returns 0, or DTX_EINVAL with a message. */
int dtx_listq_parse(dtx_listq_t *q, dtx_listq_get_fn get, void *ctx, int64_t now_ms, char *err,
                    size_t errlen);

/* The same for a node of cell (core/cell.h; "" none): the time bounds of
 * min_age and max_age start with "CELL:", as its gids do. Bare gids (made
 * before the log got its cell) sort before every gid of the cell: min_age
 * finds them all, max_age none. */
int dtx_listq_parse_cell(dtx_listq_t *q, dtx_listq_get_fn get, void *ctx, int64_t now_ms,
                         const char *cell, char *err, size_t errlen);

/* The smallest gid of cell ("" none) made at epoch ms: "CELL:" and the
 * ULID time prefix. */
void dtx_gid_time_bound(const char *cell, int64_t ms, char out[DTX_BOUND_SIZE]);

/* The 10-character ULID time prefix of epoch ms (clamped at 0). */
void dtx_ulid_time_prefix(int64_t ms, char out[11]);

/* The longest duration accepted: 100 years. */
#define DTX_DURATION_MAX_MS (100LL * 365 * 86400 * 1000)

/* Parses a duration ("90", "90s", "5m", "2h", "3d", "250ms") into ms;
 * -1 when invalid or longer than DTX_DURATION_MAX_MS (never overflows). */
int64_t dtx_duration_parse_ms(const char *s);

#endif
