/*
 * registry.c — instances are few (tens, not thousands), so plain arrays
 * scanned linearly beat any hashing here. An instance is owned by the
 * instance table; resources hold indexes-by-pointer into it.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

typedef struct s_resource {
    char             name[DTX_NAME_SIZE];
    dtx_instance_t **members; /* live instances serving it */
    int              count;
    int              cap;
    unsigned         next;    /* round-robin cursor */
} s_resource_t;

struct dtx_registry {
    dtx_instance_t **instances;
    int              ninstances;
    int              capinstances;
    s_resource_t    *resources;
    int              nresources;
    int              capresources;
};

dtx_registry_t *dtx_registry_new(void)
{
    return calloc(1, sizeof(dtx_registry_t));
}

void dtx_registry_destroy(dtx_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_registry_t *self = *self_p;
    for (int i = 0; i < self->ninstances; i++)
        free(self->instances[i]);
    free(self->instances);
    for (int i = 0; i < self->nresources; i++)
        free(self->resources[i].members);
    free(self->resources);
    free(self);
    *self_p = NULL;
}

static int s_grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return DTX_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

dtx_instance_t *dtx_registry_find(dtx_registry_t *self, const uint8_t *rid, size_t rid_len)
{
    for (int i = 0; i < self->ninstances; i++) {
        dtx_instance_t *in = self->instances[i];
        if (in->rid_len == rid_len && memcmp(in->rid, rid, rid_len) == 0)
            return in;
    }
    return NULL;
}

static s_resource_t *s_resource(dtx_registry_t *self, const char *name, int create)
{
    for (int i = 0; i < self->nresources; i++)
        if (strcmp(self->resources[i].name, name) == 0)
            return &self->resources[i];
    if (!create)
        return NULL;
    if (s_grow((void **)&self->resources, &self->capresources, self->nresources + 1,
               sizeof(s_resource_t)) != 0)
        return NULL;
    s_resource_t *r = &self->resources[self->nresources++];
    memset(r, 0, sizeof *r);
    strcpy(r->name, name);
    return r;
}

dtx_instance_t *dtx_registry_register(dtx_registry_t *self, const uint8_t *rid, size_t rid_len,
                                      const char *instance, const char *resource, int64_t now_ms,
                                      int *is_new_resource)
{
    if (is_new_resource)
        *is_new_resource = 0;
    if (!rid || rid_len == 0 || rid_len > DTX_ROUTING_ID_MAX || !instance || !resource ||
        strlen(instance) > DTX_NAME_MAX || strlen(resource) > DTX_NAME_MAX)
        return NULL;
    dtx_instance_t *in = dtx_registry_find(self, rid, rid_len);
    if (!in) {
        if (s_grow((void **)&self->instances, &self->capinstances, self->ninstances + 1,
                   sizeof(dtx_instance_t *)) != 0)
            return NULL;
        in = calloc(1, sizeof *in);
        if (!in)
            return NULL;
        memcpy(in->rid, rid, rid_len);
        in->rid_len = rid_len;
        in->registered_ms = now_ms;
        self->instances[self->ninstances++] = in;
    }
    strcpy(in->name, instance);
    in->last_seen_ms = now_ms;
    s_resource_t *r = s_resource(self, resource, 1);
    if (!r)
        return NULL;
    for (int i = 0; i < r->count; i++)
        if (r->members[i] == in)
            return in;
    if (s_grow((void **)&r->members, &r->cap, r->count + 1, sizeof(dtx_instance_t *)) != 0)
        return NULL;
    r->members[r->count++] = in;
    if (is_new_resource && r->count == 1)
        *is_new_resource = 1;
    return in;
}

int dtx_registry_touch(dtx_registry_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms)
{
    dtx_instance_t *in = dtx_registry_find(self, rid, rid_len);
    if (!in)
        return DTX_EUNREGISTERED;
    in->last_seen_ms = now_ms;
    return 0;
}

dtx_instance_t *dtx_registry_pick(dtx_registry_t *self, const char *resource)
{
    s_resource_t *r = s_resource(self, resource, 0);
    if (!r || r->count == 0)
        return NULL;
    dtx_instance_t *in = r->members[r->next % (unsigned)r->count];
    r->next++;
    return in;
}

static void s_remove(dtx_registry_t *self, int idx)
{
    dtx_instance_t *in = self->instances[idx];
    for (int i = 0; i < self->nresources; i++) {
        s_resource_t *r = &self->resources[i];
        for (int j = 0; j < r->count; j++)
            if (r->members[j] == in) {
                r->members[j] = r->members[--r->count];
                break;
            }
    }
    self->instances[idx] = self->instances[--self->ninstances];
    free(in);
}

int dtx_registry_drop(dtx_registry_t *self, const uint8_t *rid, size_t rid_len)
{
    for (int i = 0; i < self->ninstances; i++) {
        dtx_instance_t *in = self->instances[i];
        if (in->rid_len == rid_len && memcmp(in->rid, rid, rid_len) == 0) {
            s_remove(self, i);
            return 1;
        }
    }
    return 0;
}

int dtx_registry_expire(dtx_registry_t *self, int64_t now_ms, int64_t timeout_ms)
{
    int dropped = 0;
    for (int i = self->ninstances - 1; i >= 0; i--)
        if (self->instances[i]->last_seen_ms < now_ms - timeout_ms) {
            s_remove(self, i);
            dropped++;
        }
    return dropped;
}

int dtx_registry_count(dtx_registry_t *self, const char *resource)
{
    s_resource_t *r = s_resource(self, resource, 0);
    return r ? r->count : 0;
}

void dtx_registry_each(dtx_registry_t *self, dtx_registry_visit_fn fn, void *arg)
{
    for (int i = 0; i < self->nresources; i++)
        for (int j = 0; j < self->resources[i].count; j++)
            fn(self->resources[i].name, self->resources[i].members[j], arg);
}
