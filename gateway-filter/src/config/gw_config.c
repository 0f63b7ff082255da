/*
 * gw_config.c — the configuration's lookups and its release
 * (gw_config_parse.c reads and checks a document into it).
 */
#include <stdlib.h>
#include <string.h>

#include <regex.h>

#include "config/gw_config.h"

int dtx_gw_config_pool_index(const dtx_gw_config_t *self, const char *name)
{
    for (int i = 0; name && i < self->npools; i++)
        if (strcmp(self->pools[i].name, name) == 0)
            return i;
    return -1;
}

int dtx_gw_config_rule_index(const dtx_gw_config_t *self, const char *name)
{
    for (int i = 0; name && i < self->nrules; i++)
        if (strcmp(self->rules[i].name, name) == 0)
            return i;
    return -1;
}

int dtx_gw_config_consumer_index(const dtx_gw_config_t *self, const char *name)
{
    for (int i = 0; name && i < self->nconsumers; i++)
        if (strcmp(self->consumers[i].name, name) == 0)
            return i;
    return -1;
}

dtx_gw_config_t *dtx_gw_config_share(dtx_gw_config_t *self)
{
    atomic_fetch_add(&self->extra_owners, 1);
    return self;
}

static void s_free_strings(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void s_transform_free(dtx_gw_transform_cfg_t *t)
{
    if (!t)
        return;
    dtx_gw_header_edits_t *e[2] = { &t->request, &t->response };
    for (int k = 0; k < 2; k++) {
        s_free_strings(e[k]->remove, e[k]->nremove);
        s_free_strings(e[k]->set_names, e[k]->nset);
        s_free_strings(e[k]->set_values, e[k]->nset);
        s_free_strings(e[k]->add_names, e[k]->nadd);
        s_free_strings(e[k]->add_values, e[k]->nadd);
    }
    if (t->path_re) {
        regfree(t->path_re);
        free(t->path_re);
    }
    free(t->path_prefix);
    free(t->path_regex);
    free(t->path_replace);
    s_free_strings(t->json_fields, t->njson_fields);
    free(t);
}

/* A saga route's plan (gw_config_txn.c reads it). */
static void s_saga_free(dtx_gw_saga_cfg_t *s)
{
    if (!s)
        return;
    for (int i = 0; s->steps && i < s->nsteps; i++) {
        free(s->steps[i].resource);
        free(s->steps[i].action);
        free(s->steps[i].compensation);
        free(s->steps[i].after);
        free(s->steps[i].payload);
    }
    free(s->steps);
    free(s);
}

/* The "cluster" section (gw_config_cluster.c), its password wiped. */
static void s_cluster_free(dtx_gw_cluster_cfg_t *k)
{
    if (!k)
        return;
    free(k->redis);
    free(k->username);
    if (k->password) {
        explicit_bzero(k->password, strlen(k->password));
        free(k->password);
    }
    free(k->key_prefix);
    free(k->instance);
    free(k->sig);
    free(k);
}

void dtx_gw_config_destroy(dtx_gw_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_config_t *cfg = *self_p;
    if (atomic_fetch_sub(&cfg->extra_owners, 1) > 0) {
        *self_p = NULL;                  /* another owner still holds it */
        return;
    }
    for (int i = 0; cfg->pools && i < cfg->npools; i++) {
        dtx_gw_pool_cfg_t *pl = &cfg->pools[i];
        for (int k = 0; pl->targets && k < pl->ntargets; k++) {
            free(pl->targets[k].url);
            free(pl->targets[k].zone);
        }
        for (int k = 0; pl->discovery && k < pl->ndiscovery; k++) {
            free(pl->discovery[k].file);
            free(pl->discovery[k].name);
            free(pl->discovery[k].zone);
            free(pl->discovery[k].resolver);
        }
        free(pl->discovery);
        free(pl->targets);
        free(pl->name);
        free(pl->hash_header);
        free(pl->health_path);
        free(pl->sig);
    }
    for (int i = 0; cfg->rules && i < cfg->nrules; i++) {
        free(cfg->rules[i].name);
        free(cfg->rules[i].key_header);
        free(cfg->rules[i].sig);
    }
    for (int i = 0; cfg->routes && i < cfg->nroutes; i++) {
        dtx_gw_route_cfg_t *r = &cfg->routes[i];
        free(r->name);
        s_free_strings(r->methods, r->nmethods);
        free(r->host);
        free(r->path);
        free(r->prefix);
        for (int k = 0; r->split && k < r->nsplit; k++)
            free(r->split[k].pool);
        free(r->split);
        free(r->backup_pool);
        s_free_strings(r->rules, r->nrules);
        s_free_strings(r->required_headers, r->nrequired_headers);
        s_free_strings(r->content_types, r->ncontent_types);
        for (int k = 0; r->json_fields && k < r->njson_fields; k++)
            free(r->json_fields[k].name);
        free(r->json_fields);
        free(r->fallback_body);
        free(r->fallback_content_type);
        free(r->fallback_pool);
        free(r->key_header);
        free(r->key_query);
        s_free_strings(r->jwt, r->njwt);
        free(r->jwt_index);
        s_transform_free(r->transform);
        s_saga_free(r->saga);
        if (r->cache)
            free(r->cache->sig);
        free(r->cache);
    }
    for (int i = 0; cfg->consumers && i < cfg->nconsumers; i++) {
        free(cfg->consumers[i].name);
        s_free_strings(cfg->consumers[i].routes, cfg->consumers[i].nroutes);
    }
    for (int i = 0; cfg->jwts && i < cfg->njwts; i++) {
        dtx_gw_jwt_cfg_t *j = &cfg->jwts[i];
        free(j->name);
        free(j->issuer);
        free(j->audience);
        free(j->claim);
        dtx_gw_jwt_keyset_unref(&j->keys);
        dtx_gw_jwks_destroy(&j->jwks);
    }
    s_cluster_free(cfg->cluster);
    free(cfg->consumers);
    free(cfg->apikeys);
    free(cfg->jwts);
    free(cfg->consumer_header);
    free(cfg->pools);
    free(cfg->rules);
    free(cfg->routes);
    free(cfg->listen);
    free(cfg->zone);
    free(cfg->admin_listen);
    free(cfg->admin_token);
    free(cfg->dtxd_endpoint);
    free(cfg->dtxd_admin);
    free(cfg->dtxd_admin_token);
    free(cfg->dtxd_admin_cacert);
    free(cfg->text);
    free(cfg);
    *self_p = NULL;
}
