/*
 * samples/order/order.h — what the order sample's programs share:
 *
 *  - the branch payload, a JSON object
 *        {"order":"o-1","customer":"alice","item":"widget","qty":2}
 *    (both branches of an order carry the same one), built and parsed
 *    with json-c;
 *  - the order line the client reads:
 *        o-1 alice widget 2 [rollback]      # comment
 *  - the stock seed of the inventory: "widget=5,gadget=2".
 *
 * order-participant (participant.c) serves resource "orders" (table
 * orders) or "inventory" (tables stock and stock_moves), each over its own
 * PostgreSQL database, as 2PC resources built on dtx/pgres.h; order-client
 * (client.c) places each order as one 2PC transaction over both.
 */
#ifndef DTX_SAMPLE_ORDER_H
#define DTX_SAMPLE_ORDER_H

#include <stddef.h>

#include "dtx/types.h"

#define ORDER_QTY_MAX     1000000              /* items in one order */
#define ORDER_PAYLOAD_MAX (4 * DTX_NAME_SIZE + 64) /* room for an encoded payload */
#define ORDER_SEED_MAX    32                   /* items in a seed */

/* One order: who buys how many of what. */
typedef struct order {
    char order[DTX_NAME_SIZE];    /* order id, [A-Za-z0-9._-] */
    char customer[DTX_NAME_SIZE]; /* customer id, same alphabet */
    char item[DTX_NAME_SIZE];     /* item id, same alphabet */
    int  qty;                     /* 1..ORDER_QTY_MAX */
    int  rollback;                /* order line only: 1 = the client rolls back */
} order_t;

/* An item and the stock it is seeded with. */
typedef struct order_seed {
    char item[DTX_NAME_SIZE];  /* item id */
    int  qty;                  /* 0..ORDER_QTY_MAX */
} order_seed_t;

/* 1 when s is a valid id (1..63 of [A-Za-z0-9._-]), 0 otherwise. */
int order_id_valid(const char *s);

/* Encodes o (not its rollback flag) into out, NUL-terminated. Returns the
 * length, DTX_EINVAL for an invalid field, DTX_ETOOBIG when cap is short,
 * DTX_ENOMEM. */
int order_payload_encode(const order_t *o, char *out, size_t cap);

/* Parses a payload of len bytes (not NUL-terminated). 0 or DTX_EINVAL. */
int order_payload_decode(const void *buf, size_t len, order_t *out);

/* Parses one order line. 1 with *out filled, 0 for a blank or comment
 * line, DTX_EINVAL (with a static reason in *why when not NULL). */
int order_line_parse(const char *line, order_t *out, const char **why);

/* Parses "widget=5,gadget=2" into out (at most max). Returns the number
 * of items or DTX_EINVAL. */
int order_seed_parse(const char *spec, order_seed_t *out, int max);

#endif
