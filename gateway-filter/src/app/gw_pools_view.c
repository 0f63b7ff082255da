/* gw_pools_view.c — pools, zones and discovery for /metrics and GET /pools
 * (gw_pools_view.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/gw_clock.h"
#include "core/gw_http1.h"
#include "upstream/gw_discovery.h"
#include "app/gw_pools_view.h"

typedef struct {
    dtx_gw_buf_t b;      /* the text; sticky failure, checked at the end */
    const char  *pool;   /* the pool whose drain list is being written */
} s_out_t;

static void s_draining_line(const dtx_gw_target_t *t, void *arg)
{
    s_out_t *o = arg;
    dtx_gw_buf_printf(&o->b, "dtx_gw_target_draining_in_flight{pool=\"%s\",target=\"%s\"} %d\n", o->pool, t->url,
                      atomic_load(&t->in_flight));
}

static void s_source_line(const dtx_gw_discovery_stat_t *s, void *arg)
{
    s_out_t *o = arg;
    dtx_gw_buf_printf(&o->b, "dtx_gw_discovery_targets{pool=\"%s\",source=\"%d\",kind=\"%s\"} %d\n"
                      "dtx_gw_discovery_reads_total{pool=\"%s\",source=\"%d\",kind=\"%s\"} %llu\n"
                      "dtx_gw_discovery_failures_total{pool=\"%s\",source=\"%d\",kind=\"%s\"} %llu\n"
                      "dtx_gw_discovery_changes_total{pool=\"%s\",source=\"%d\",kind=\"%s\"} %llu\n",
                      s->pool, s->source, s->kind, s->targets,
                      s->pool, s->source, s->kind, (unsigned long long)s->reads,
                      s->pool, s->source, s->kind, (unsigned long long)s->failures,
                      s->pool, s->source, s->kind, (unsigned long long)s->changes);
    if (s->source == 0)
        dtx_gw_buf_printf(&o->b, "dtx_gw_discovery_version{pool=\"%s\"} %llu\n", s->pool,
                          (unsigned long long)s->version);
}

char *dtx_gw_pools_metrics(dtx_gw_runtime_t *rt)
{
    s_out_t o = { 0 };
    dtx_gw_buf_printf(&o.b, "%s", "");
    int64_t now = dtx_gw_now_us();
    for (int i = 0; rt && i < rt->npools; i++) {
        dtx_gw_pool_t *p = rt->pools[i];
        dtx_gw_buf_printf(&o.b, "dtx_gw_pool_targets{pool=\"%s\"} %d\n", p->cfg.name, p->ntargets);
        for (int k = 0; k < p->ntargets; k++)
            if (p->targets[k].zone)
                dtx_gw_buf_printf(&o.b, "dtx_gw_target_zone{pool=\"%s\",target=\"%s\",zone=\"%s\",local=\"%d\"} 1\n",
                                  p->cfg.name, p->targets[k].url, p->targets[k].zone, p->targets[k].local);
        int load = dtx_gw_pool_zone_load(p, now);
        if (p->nlocal)
            dtx_gw_buf_printf(&o.b, "dtx_gw_pool_local_share_percent{pool=\"%s\"} %d\n", p->cfg.name,
                              load < 0 ? 0 : load);
        o.pool = p->cfg.name;
        dtx_gw_pool_draining_each(p, s_draining_line, &o);
    }
    if (rt)
        dtx_gw_discovery_each(rt->shared->discovery, now, s_source_line, &o);
    if (o.b.failed) {
        free(o.b.data);
        return NULL;
    }
    return o.b.data;
}

typedef struct {
    json_object *arr;
    const char  *pool;
} s_json_ctx_t;

static void s_draining_json(const dtx_gw_target_t *t, void *arg)
{
    s_json_ctx_t *c = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "url", json_object_new_string(t->url));
    json_object_object_add(o, "in_flight", json_object_new_int(atomic_load(&t->in_flight)));
    json_object_array_add(c->arr, o);
}

static void s_source_json(const dtx_gw_discovery_stat_t *s, void *arg)
{
    s_json_ctx_t *c = arg;
    if (strcmp(s->pool, c->pool) != 0)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(s->kind));
    json_object_object_add(o, s->kind[0] == 'f' ? "file" : "dns", json_object_new_string(s->what));
    json_object_object_add(o, "targets", json_object_new_int(s->targets));
    json_object_object_add(o, "reads", json_object_new_int64((int64_t)s->reads));
    json_object_object_add(o, "failures", json_object_new_int64((int64_t)s->failures));
    json_object_object_add(o, "changes", json_object_new_int64((int64_t)s->changes));
    json_object_object_add(o, "version", json_object_new_int64((int64_t)s->version));
    json_object_object_add(o, "next_read_ms", json_object_new_int64(s->next_ms));
    json_object_object_add(o, "last_error", json_object_new_string(s->last_error));
    json_object_array_add(c->arr, o);
}

char *dtx_gw_pools_json(dtx_gw_runtime_t *rt)
{
    int64_t now = dtx_gw_now_us();
    json_object *root = json_object_new_object(), *pools = json_object_new_array();
    json_object_object_add(root, "generation", json_object_new_int64((int64_t)rt->generation));
    const char *zone = rt->shared->zone[0] ? rt->shared->zone : rt->cfg->zone;
    json_object_object_add(root, "zone", zone ? json_object_new_string(zone) : NULL);
    json_object_object_add(root, "pools", pools);
    for (int i = 0; i < rt->npools; i++) {
        dtx_gw_pool_t *p = rt->pools[i];
        json_object *po = json_object_new_object(), *ts = json_object_new_array();
        json_object_object_add(po, "name", json_object_new_string(p->cfg.name));
        json_object_object_add(po, "set_version", json_object_new_int64((int64_t)p->set_version));
        int load = dtx_gw_pool_zone_load(p, now);
        if (p->nlocal)
            json_object_object_add(po, "local_share_percent", json_object_new_int(load < 0 ? 0 : load));
        for (int k = 0; k < p->ntargets; k++) {
            dtx_gw_target_t *t = &p->targets[k];
            pthread_mutex_lock(&p->lock);
            int healthy = t->healthy, ejected = t->ejected_until_us > now;
            pthread_mutex_unlock(&p->lock);
            json_object *to = json_object_new_object();
            json_object_object_add(to, "url", json_object_new_string(t->url));
            json_object_object_add(to, "weight", json_object_new_int(t->weight));
            json_object_object_add(to, "zone", t->zone ? json_object_new_string(t->zone) : NULL);
            json_object_object_add(to, "local", json_object_new_boolean(t->local));
            json_object_object_add(to, "healthy", json_object_new_boolean(healthy));
            json_object_object_add(to, "ejected", json_object_new_boolean(ejected));
            json_object_object_add(to, "in_flight", json_object_new_int(atomic_load(&t->in_flight)));
            json_object_array_add(ts, to);
        }
        json_object_object_add(po, "targets", ts);
        s_json_ctx_t c = { json_object_new_array(), p->cfg.name };
        dtx_gw_pool_draining_each(p, s_draining_json, &c);
        json_object_object_add(po, "draining", c.arr);
        c.arr = json_object_new_array();
        dtx_gw_discovery_each(rt->shared->discovery, now, s_source_json, &c);
        json_object_object_add(po, "sources", c.arr);
        json_object_array_add(pools, po);
    }
    char *text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return text;
}
