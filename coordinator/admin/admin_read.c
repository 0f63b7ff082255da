/*
 * admin_read.c — the read side of the admin API: probes, the overview,
 * the transaction list and one transaction, live participants (the
 * metrics are in admin_metrics.c).
 *
 * Log reads go through the admin store (its own connection); the
 * participants and the probes' view of the loop come from memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "admin_query.h"
#include "dtx/clock.h"
#include "dtx/migrate.h"
#include "dtx/trace.h"
#include "core/txn.h"
#include "core/txntable.h"

static const char *s_mode_name(int mode)
{
    return mode == DTX_MODE_2PC    ? "2pc"
           : mode == DTX_MODE_SAGA ? "saga"
           : mode == DTX_MODE_MSG  ? "msg"
                                   : "tcc";
}

static json_object *s_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return json_object_new_int64(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static int s_geti(const PGresult *res, int row, int col)
{
    return atoi(PQgetvalue(res, row, col));
}

static json_object *s_str(const PGresult *res, int row, int col)
{
    return json_object_new_string(PQgetvalue(res, row, col));
}

/* A list row (columns of S_LIST in admin_sql.c) as JSON. */
static json_object *s_list_row(const PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    int decision = s_geti(res, i, 3);
    json_object_object_add(o, "gid", s_str(res, i, 0));
    json_object_object_add(o, "mode", json_object_new_string(s_mode_name(s_geti(res, i, 1))));
    json_object_object_add(o, "state", json_object_new_string(dtx_state_name(s_geti(res, i, 2))));
    json_object_object_add(o, "decision",
                           decision ? json_object_new_string(dtx_state_name(decision)) : NULL);
    json_object_object_add(o, "branches", s_int(res, i, 4));
    json_object_object_add(o, "created_ms", s_int(res, i, 5));
    json_object_object_add(o, "updated_ms", s_int(res, i, 6));
    json_object_object_add(o, "deadline_ms", s_int(res, i, 7));
    json_object_object_add(o, "owner", s_str(res, i, 8));
    json_object *rs = json_object_new_array();
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", PQgetvalue(res, i, 9));
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_object_array_add(rs, json_object_new_string(t));
    json_object_object_add(o, "resources", rs);
    json_object_object_add(o, "attempts", s_int(res, i, 10));
    json_object_object_add(o, "last_error", s_str(res, i, 11));
    return o;
}

json_object *dtx_admin_global_json(const PGresult *res, int i)
{
    json_object *o = json_object_new_object();
    int decision = s_geti(res, i, DTX_AG_DECISION);
    json_object_object_add(o, "gid", s_str(res, i, DTX_AG_GID));
    json_object_object_add(o, "mode",
                           json_object_new_string(s_mode_name(s_geti(res, i, DTX_AG_MODE))));
    json_object_object_add(o, "state",
                           json_object_new_string(dtx_state_name(s_geti(res, i, DTX_AG_STATE))));
    json_object_object_add(o, "decision",
                           decision ? json_object_new_string(dtx_state_name(decision)) : NULL);
    json_object_object_add(o, "branches", s_int(res, i, DTX_AG_BRANCHES));
    json_object_object_add(o, "created_ms", s_int(res, i, DTX_AG_CREATED));
    json_object_object_add(o, "updated_ms", s_int(res, i, DTX_AG_UPDATED));
    json_object_object_add(o, "deadline_ms", s_int(res, i, DTX_AG_DEADLINE));
    json_object_object_add(o, "decided_ms", s_int(res, i, DTX_AG_DECIDED));
    json_object_object_add(o, "stuck_ms", s_int(res, i, DTX_AG_STUCK));
    json_object_object_add(o, "finished_ms", s_int(res, i, DTX_AG_FINISHED));
    json_object_object_add(o, "owner", s_str(res, i, DTX_AG_OWNER));
    json_object_object_add(o, "owner_alive",
                           json_object_new_boolean(PQgetvalue(res, i, DTX_AG_OWNER_ALIVE)[0] == 't'));
    /* The W3C trace context it was begun in (null before schema 009), and
     * its trace-id, what a tracing system is searched by. */
    const char *tp = PQgetvalue(res, i, DTX_AG_TRACEPARENT);
    char trace_id[DTX_TRACE_ID_HEX + 1];
    int traced = dtx_trace_valid(tp);
    json_object_object_add(o, "traceparent", traced ? json_object_new_string(tp) : NULL);
    json_object_object_add(o, "trace_id",
                           traced ? json_object_new_string(dtx_trace_id(tp, trace_id)) : NULL);
    /* A transactional message: the resource its check-back asks. */
    if (s_geti(res, i, DTX_AG_MODE) == DTX_MODE_MSG)
        json_object_object_add(o, "checkback", s_str(res, i, DTX_AG_CHECKBACK));
    return o;
}

/* --- probes and metrics --- */

void dtx_admin_healthz(dtx_admin_req_t *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    json_object_object_add(o, "node", json_object_new_string(r->admin->co->cfg.node_id));
    dtx_admin_respond(r, 200, o);
}

static void s_on_schema(void *p, int rc, const PGresult *res)
{
    dtx_admin_req_t *r = dtx_admin_cb_take(p, NULL);
    if (!r)
        return;
    dtx_coord_t *co = r->admin->co;
    int have = rc == 0 && PQntuples(res) == 1 ? s_geti(res, 0, 0) : -1;
    int want = dtx_migrate_latest("coordinator");
    const char *why = NULL;
    if (have < 0)
        why = "the log database does not answer";
    else if (have != want)
        why = "the log schema is not the version this dtxd needs";
    else if (!dtx_store_healthy(co->store))
        why = "a log connection is down";
    else if (dtx_clock_mono_ms() > co->lease_valid_ms)
        why = "this node's lease is not renewed";
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(why ? "not ready" : "ready"));
    if (why)
        json_object_object_add(o, "reason", json_object_new_string(why));
    /* Not a reason to take traffic away (nothing is better elsewhere),
     * but said where an operator looks (docs/ha.md). */
    json_object_object_add(o, "synchronous_replication",
                           json_object_new_boolean(co->log_sync_replication));
    if (!co->log_sync_replication)
        json_object_object_add(o, "warning",
                               json_object_new_string("the log database has no synchronous "
                                                      "standby: a failover may lose decisions"));
    json_object_object_add(o, "schema", json_object_new_int(have));
    json_object_object_add(o, "schema_wanted", json_object_new_int(want));
    dtx_admin_respond(r, why ? 503 : 200, o);
}

void dtx_admin_readyz(dtx_admin_req_t *r)
{
    dtx_admin_submit(r, DTX_ASQL_SCHEMA, 0, NULL, s_on_schema, 0);
}

/* --- list and overview --- */

void dtx_admin_count_instances(const char *resource, const dtx_instance_t *in, void *arg)
{
    (void)resource;
    int *n = arg;
    n[0]++;
    n[1] += in->inflight;
}

static const char *s_get_arg(void *ctx, const char *name)
{
    return dtx_admin_arg(ctx, name);
}

static void s_on_noop(void *p, int rc, const PGresult *res)
{
    (void)rc;
    (void)res;
    dtx_admin_cb_take(p, NULL);
}

static void s_submit_list(dtx_admin_req_t *r, const dtx_listq_t *q, dtx_store_cb cb, int arg)
{
    char states[64] = "", limit[16];
    int stmt;
    if (q->nstates > 1) {
        size_t n = (size_t)snprintf(states, sizeof states, "{");
        for (int i = 0; i < q->nstates; i++)
            n += (size_t)snprintf(states + n, sizeof states - n, "%s%d", i ? "," : "",
                                  q->states[i]);
        snprintf(states + n, sizeof states - n, "}");
        stmt = q->asc ? DTX_ASQL_LIST_ASC_ANY : DTX_ASQL_LIST_DESC_ANY;
    } else {
        if (q->nstates == 1)
            snprintf(states, sizeof states, "%d", q->states[0]);
        stmt = q->asc ? DTX_ASQL_LIST_ASC : DTX_ASQL_LIST_DESC;
    }
    char mode[4];
    snprintf(mode, sizeof mode, "%d", q->mode);
    snprintf(limit, sizeof limit, "%d", q->limit + 1); /* one more: is there a next page? */
    const char *v[8] = { states[0] ? states : NULL, q->mode ? mode : NULL,
                         q->resource[0] ? q->resource : NULL, q->lo_ex[0] ? q->lo_ex : NULL,
                         q->lo_in[0] ? q->lo_in : NULL, q->hi_ex[0] ? q->hi_ex : NULL,
                         q->prefix[0] ? q->prefix : NULL, limit };
    dtx_admin_submit(r, DTX_ASQL_CUSTOM_PLAN, 0, NULL, s_on_noop, 0);
    dtx_admin_submit(r, stmt, 8, v, cb, arg);
}

/* Items of a list result, at most limit; sets *more when one more row came. */
static json_object *s_items(const PGresult *res, int limit, const char **last, int *more)
{
    json_object *items = json_object_new_array();
    int n = PQntuples(res);
    *more = n > limit;
    if (n > limit)
        n = limit;
    for (int i = 0; i < n; i++)
        json_object_array_add(items, s_list_row(res, i));
    *last = n > 0 ? PQgetvalue(res, n - 1, 0) : NULL;
    return items;
}

static void s_on_list(void *p, int rc, const PGresult *res)
{
    int limit = 0;
    dtx_admin_req_t *r = dtx_admin_cb_take(p, &limit);
    if (!r)
        return;
    if (rc != 0) {
        dtx_admin_respond_error(r, 503, "could not read the transaction log");
        return;
    }
    const char *last = NULL;
    int more = 0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", s_items(res, limit, &last, &more));
    json_object_object_add(o, "next_cursor", more && last ? json_object_new_string(last) : NULL);
    dtx_admin_respond(r, 200, o);
}

void dtx_admin_list(dtx_admin_req_t *r)
{
    dtx_listq_t q;
    char err[200];
    if (dtx_listq_parse_cell(&q, s_get_arg, r, dtx_clock_wall_ms(), r->admin->co->cfg.cell, err,
                             sizeof err) != 0) {
        dtx_admin_respond_error(r, 400, "%s", err);
        return;
    }
    s_submit_list(r, &q, s_on_list, q.limit);
}

static void s_on_counts(void *p, int rc, const PGresult *res)
{
    dtx_admin_req_t *r = dtx_admin_cb_take(p, NULL);
    if (!r)
        return;
    if (rc != 0) {
        dtx_admin_respond_error(r, 503, "could not read the transaction log");
        return;
    }
    json_object *c = json_object_new_object();
    for (int s = DTX_STATE_ACTIVE; s <= DTX_STATE_STUCK; s++)
        json_object_object_add(c, dtx_state_name(s), json_object_new_int64(0));
    for (int i = 0; i < PQntuples(res); i++)
        json_object_object_add(c, dtx_state_name(s_geti(res, i, 0)),
                               json_object_new_int64(strtoll(PQgetvalue(res, i, 1), NULL, 10)));
    r->parts[0] = c;
}

static void s_on_overview_stuck(void *p, int rc, const PGresult *res)
{
    dtx_admin_req_t *r = dtx_admin_cb_take(p, NULL);
    if (!r)
        return;
    if (rc != 0 || !r->parts[0]) {
        dtx_admin_respond_error(r, 503, "could not read the transaction log");
        return;
    }
    dtx_coord_t *co = r->admin->co;
    const char *last = NULL;
    int more = 0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(co->cfg.node_id));
    json_object_object_add(o, "counts", r->parts[0]);
    r->parts[0] = NULL;
    const char *w = dtx_admin_arg(r, "window");
    json_object_object_add(o, "finished_window", json_object_new_string(w ? w : "24h"));
    json_object_object_add(o, "stuck", s_items(res, 20, &last, &more));
    json_object_object_add(o, "stuck_more", json_object_new_boolean(more));
    json_object_object_add(o, "in_memory", json_object_new_int64((int64_t)dtx_txn_count(co->txns)));
    int inst[2] = { 0, 0 };
    dtx_registry_each(co->registry, dtx_admin_count_instances, inst);
    json_object_object_add(o, "participant_instances", json_object_new_int(inst[0]));
    dtx_admin_respond(r, 200, o);
}

void dtx_admin_overview(dtx_admin_req_t *r)
{
    const char *w = dtx_admin_arg(r, "window");
    int64_t ms = w ? dtx_duration_parse_ms(w) : 86400000;
    if (ms < 0) {
        dtx_admin_respond_error(r, 400, "window: '%.32s' is not a duration like 1h or 7d", w);
        return;
    }
    char since[DTX_BOUND_SIZE];
    dtx_gid_time_bound(r->admin->co->cfg.cell, dtx_clock_wall_ms() - ms, since);
    const char *v[1] = { since };
    dtx_admin_submit(r, DTX_ASQL_COUNTS, 1, v, s_on_counts, 0);
    dtx_listq_t q;
    memset(&q, 0, sizeof q);
    q.states[0] = DTX_STATE_STUCK;
    q.nstates = 1;
    q.limit = 20;
    q.asc = 1; /* the oldest stuck first: they have waited longest */
    s_submit_list(r, &q, s_on_overview_stuck, 0);
}

/* --- one transaction --- */

enum { S_PART_GLOBAL, S_PART_BRANCHES, S_PART_ATTEMPTS, S_PART_AUDIT, S_PART_TIMELINE };

static json_object *s_branches(const PGresult *res)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        int vote = s_geti(res, i, 6);
        json_object_object_add(o, "branch", s_int(res, i, 0));
        json_object_object_add(o, "resource", s_str(res, i, 1));
        json_object_object_add(o, "action", s_str(res, i, 2));
        json_object_object_add(o, "state",
                               json_object_new_string(dtx_branch_state_name(s_geti(res, i, 3))));
        json_object_object_add(o, "attempts", s_int(res, i, 4));
        json_object_object_add(o, "last_error", s_str(res, i, 5));
        json_object_object_add(o, "vote", vote == DTX_BRANCH_TRIED     ? json_object_new_string("yes")
                                          : vote == DTX_BRANCH_REFUSED ? json_object_new_string("no")
                                                                       : NULL);
        json_object_object_add(o, "created_ms", s_int(res, i, 7));
        json_object_object_add(o, "voted_ms", s_int(res, i, 8));
        json_object_object_add(o, "updated_ms", s_int(res, i, 9));
        json_object_object_add(o, "payload_bytes", s_int(res, i, 10));
        /* A Saga's step (it has a compensation, or is the pivot): its plan. */
        const char *undo = PQgetvalue(res, i, 11), *after = PQgetvalue(res, i, 12);
        int flags = s_geti(res, i, 13);
        if (undo[0] || flags) {
            json_object_object_add(o, "compensation", json_object_new_string(undo));
            json_object_object_add(o, "pivot", json_object_new_boolean(flags & 1));
            json_object *deps = json_object_new_array();
            for (const char *p = after; *p;) {
                char *end;
                long n = strtol(p, &end, 10);
                if (end == p)
                    break;
                json_object_array_add(deps, json_object_new_int64(n));
                p = *end == ',' ? end + 1 : end;
            }
            json_object_object_add(o, "after", deps);
        }
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *s_rows(const PGresult *res, const char *const *names, int ncols,
                           const int *numeric)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_object *o = json_object_new_object();
        for (int c = 0; c < ncols; c++)
            json_object_object_add(o, names[c], numeric[c] ? s_int(res, i, c) : s_str(res, i, c));
        json_object_array_add(a, o);
    }
    return a;
}

static void s_on_show_part(void *p, int rc, const PGresult *res)
{
    int part = 0;
    dtx_admin_req_t *r = dtx_admin_cb_take(p, &part);
    if (!r)
        return;
    if (rc != 0) {
        dtx_admin_respond_error(r, 503, "could not read the transaction log");
        return;
    }
    static const char *const att[] = { "branch", "attempt", "at_ms", "error" };
    static const int att_n[] = { 1, 1, 1, 0 };
    static const char *const aud[] = { "id", "action", "actor", "operator", "reason",
                                       "at_ms", "result", "detail", "http_status", "node" };
    static const int aud_n[] = { 1, 0, 0, 0, 0, 1, 0, 0, 1, 0 };
    static const char *const tl[] = { "at_ms", "event", "branch", "detail" };
    static const int tl_n[] = { 1, 0, 1, 0 };
    switch (part) {
    case S_PART_GLOBAL:
        if (PQntuples(res) != 1) {
            dtx_admin_respond_error(r, 404, "unknown transaction (gid %s)", r->gid);
            return;
        }
        r->parts[part] = dtx_admin_global_json(res, 0);
        return;
    case S_PART_BRANCHES:
        r->parts[part] = s_branches(res);
        return;
    case S_PART_ATTEMPTS:
        r->parts[part] = s_rows(res, att, 4, att_n);
        return;
    case S_PART_AUDIT:
        r->parts[part] = s_rows(res, aud, 10, aud_n);
        return;
    default:
        break;
    }
    dtx_coord_t *co = r->admin->co;
    json_object *o = json_object_new_object();
    json_object *g = r->parts[S_PART_GLOBAL];
    dtx_txn_t *txn = dtx_txn_find(co->txns, r->gid);
    json_object_object_add(g, "in_memory_here", json_object_new_boolean(txn != NULL));
    json_object_object_add(o, "transaction", g);
    json_object_object_add(o, "branches", r->parts[S_PART_BRANCHES]);
    json_object_object_add(o, "attempts", r->parts[S_PART_ATTEMPTS]);
    json_object_object_add(o, "actions", r->parts[S_PART_AUDIT]);
    json_object_object_add(o, "timeline", s_rows(res, tl, 4, tl_n));
    json_object_object_add(o, "node", json_object_new_string(co->cfg.node_id));
    for (int i = 0; i < S_PART_TIMELINE; i++)
        r->parts[i] = NULL;
    dtx_admin_respond(r, 200, o);
}

void dtx_admin_show(dtx_admin_req_t *r)
{
    const char *v[1] = { r->gid };
    static const int stmts[] = { DTX_ASQL_GLOBAL, DTX_ASQL_BRANCHES, DTX_ASQL_ATTEMPTS,
                                 DTX_ASQL_AUDIT, DTX_ASQL_TIMELINE };
    for (int i = 0; i < 5; i++)
        dtx_admin_submit(r, stmts[i], 1, v, s_on_show_part, i);
}

/* --- participants --- */

static void s_add_instance(const char *resource, const dtx_instance_t *in, void *arg)
{
    json_object *byres = arg, *list = NULL;
    if (!json_object_object_get_ex(byres, resource, &list)) {
        list = json_object_new_array();
        json_object_object_add(byres, resource, list);
    }
    int64_t now = dtx_clock_mono_ms();
    json_object *o = json_object_new_object();
    json_object_object_add(o, "instance", json_object_new_string(in->name));
    json_object_object_add(o, "last_heartbeat_ms_ago", json_object_new_int64(now - in->last_seen_ms));
    json_object_object_add(o, "registered_ms_ago", json_object_new_int64(now - in->registered_ms));
    json_object_object_add(o, "calls", json_object_new_int64((int64_t)in->calls));
    json_object_object_add(o, "in_flight", json_object_new_int(in->inflight));
    json_object_array_add(list, o);
}

static int s_cmp_name(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Resources in name order, limit a page, after cursor (a resource name):
 * the paging of the transaction list (limit, cursor, next_cursor). The
 * default page is the largest, so the console and dtxctl, which ask once,
 * see every resource of a usual node (--max-resources is 64 by default). */
void dtx_admin_participants(dtx_admin_req_t *r)
{
    dtx_coord_t *co = r->admin->co;
    int limit = DTX_LIST_LIMIT_MAX;
    const char *lv = dtx_admin_arg(r, "limit"), *cursor = dtx_admin_arg(r, "cursor");
    if (lv) {
        char *end = NULL;
        long n = strtol(lv, &end, 10);
        if (*end || n < 1 || n > DTX_LIST_LIMIT_MAX) {
            dtx_admin_respond_error(r, 400, "limit: must be 1..%d", DTX_LIST_LIMIT_MAX);
            return;
        }
        limit = (int)n;
    }
    if (cursor && !dtx_name_valid(cursor)) {
        dtx_admin_respond_error(r, 400, "cursor: not a cursor this server gave");
        return;
    }
    json_object *byres = json_object_new_object();
    dtx_registry_each(co->registry, s_add_instance, byres);
    int n = json_object_object_length(byres), k = 0;
    const char **names = calloc((size_t)(n ? n : 1), sizeof *names);
    if (!names) {
        json_object_put(byres);
        dtx_admin_respond_error(r, 500, "out of memory");
        return;
    }
    json_object_object_foreach(byres, res_name, list_unused)
    {
        (void)list_unused;
        if (!cursor || strcmp(res_name, cursor) > 0)
            names[k++] = res_name;
    }
    qsort(names, (size_t)k, sizeof *names, s_cmp_name);
    json_object *a = json_object_new_array();
    for (int i = 0; i < k && i < limit; i++) {
        json_object *list = NULL;
        json_object_object_get_ex(byres, names[i], &list);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "resource", json_object_new_string(names[i]));
        json_object_object_add(e, "live_instances",
                               json_object_new_int((int)json_object_array_length(list)));
        json_object_object_add(e, "instances", json_object_get(list));
        json_object_array_add(a, e);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(co->cfg.node_id));
    json_object_object_add(o, "heartbeat_ms", json_object_new_int64(co->cfg.heartbeat_ms));
    json_object_object_add(o, "resources", a);
    json_object_object_add(o, "next_cursor",
                           k > limit ? json_object_new_string(names[limit - 1]) : NULL);
    free(names);
    json_object_put(byres);
    dtx_admin_respond(r, 200, o);
}
