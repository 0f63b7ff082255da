/*
 * gw_rules.h — rule objects (rate limit, concurrency, breaker, adaptive;
 * gw_rule.c) and the admission filter that applies a route's rules to a
 * request (gw_rules.c).
 *
 * A rule holds per-key state (gw_keytab.h) under one lock and counts what
 * it decided. Rules are reference counted and carried into the next
 * configuration when their JSON is unchanged, so buckets, breakers and
 * counters survive a hot swap.
 *
 * Admission runs in three steps, so that a request refused by any rule is
 * counted by none (nginx's rule for several limit_req):
 *  1. every rate rule decides on a copy of its state (nothing counted);
 *  2. concurrency, breaker and adaptive rules take their resources in the
 *     route's order (a refusal gives back what earlier ones took, a
 *     breaker probe included: gw_breaker.h);
 *  3. every rate rule counts the request; the longest delay asked is
 *     slept before going on.
 * A route whose rules are one local rate rule and breakers (the common
 * case) is admitted with the same outcome in one pass that locks the
 * rate rule once: its breakers first, then the rate rule decides and
 * counts on its state. A request the rate rule refuses then gives back
 * its breaker tickets (cancelled, as never reached: gw_breaker.h) and is
 * refused by the rate rule as in step 1; one a breaker refuses is looked
 * at by the rate rule on a copy first, so a rate refusal still wins and
 * no rate rule counts it.
 * Refusals: 429 (rate) with Retry-After and RateLimit-*; 503 (breaker,
 * concurrency, adaptive) with Retry-After; breaker and adaptive refusals
 * use the route's fallback instead when it has one.
 */
#ifndef DTX_GW_RULES_H
#define DTX_GW_RULES_H

#include <pthread.h>
#include <stdatomic.h>

#include "limits/gw_adaptive.h"
#include "limits/gw_breaker.h"
#include "core/gw_chain.h"
#include "limits/gw_concurrency.h"
#include "config/gw_config.h"
#include "core/gw_keytab.h"
#include "limits/gw_ratelimit.h"

/* Per-key state of a rule, whatever its kind. */
typedef union dtx_gw_rule_state {
    dtx_gw_leaky_state_t  leaky;
    dtx_gw_token_state_t  token;
    dtx_gw_warmup_state_t warmup;
    dtx_gw_queue_state_t  queue;
    dtx_gw_conc_slot_t    conc;
    dtx_gw_breaker_t      breaker;
    struct {
        dtx_gw_gradient_t gradient;
        int               in_flight;
    } adaptive;
} dtx_gw_rule_state_t;

typedef struct dtx_gw_rule {
    atomic_int        refs;
    dtx_gw_rule_cfg_t cfg;        /* owned copy */
    pthread_mutex_t   lock;       /* guards keys and every state in it */
    pthread_cond_t    freed;      /* concurrency waiters */
    dtx_gw_keytab_t  *keys;
    dtx_gw_leaky_params_t  leaky;
    dtx_gw_token_params_t  token;
    dtx_gw_warmup_params_t warmup;
    dtx_gw_queue_params_t  queue;
    atomic_ullong     passed;     /* admitted at once */
    atomic_ullong     delayed;    /* admitted after a wait */
    atomic_ullong     rejected;   /* refused */
} dtx_gw_rule_t;

dtx_gw_rule_t *dtx_gw_rule_new(const dtx_gw_rule_cfg_t *cfg);
dtx_gw_rule_t *dtx_gw_rule_ref(dtx_gw_rule_t *self);
void dtx_gw_rule_unref(dtx_gw_rule_t **self_p);

/* The admission filter's hooks (see gw_chain.h). */
int  dtx_gw_admission_head(dtx_gw_req_t *req);
void dtx_gw_admission_done(dtx_gw_req_t *req);

/* Calls fn for every key of the rule with its state, under the rule's
 * lock (for metrics and the admin status). */
/* Can one of these rules sleep in on_head — a delaying rate rule (queue,
 * or leaky with a delay below its burst), a concurrency rule with a wait
 * queue? Such a route's on_head runs on the offload pool. */
int dtx_gw_rules_may_block(dtx_gw_rule_t *const *rules, int n);

void dtx_gw_rule_each(dtx_gw_rule_t *self,
                      void (*fn)(const char *key, dtx_gw_rule_state_t *state, void *arg),
                      void *arg);

#endif
