/*
 * registry.c — instances and resources in chained hash tables (by routing
 * id, by name, by serial; resources by name), so that a peer registering
 * many names or a flood of replies costs O(1) per message. An instance is
 * owned by the instance table; a resource holds pointers to its members,
 * an instance pointers to its resources, so a removal touches only the
 * resources of that instance.
 */
#include <stdlib.h>
#include <string.h>

#include "dtx/hashtab.h"
#include "registry.h"

typedef struct s_resource s_resource_t;

typedef struct s_inst {
    dtx_instance_t  pub;          /* first: the public part */
    s_resource_t  **res;          /* resources it serves (pub.nresources) */
    int             capres;
    int             idx;          /* position in dtx_registry.all */
    struct s_inst  *next_rid;     /* hash chains */
    struct s_inst  *next_name;
    struct s_inst  *next_serial;
} s_inst_t;

struct s_resource {
    char          name[DTX_NAME_SIZE];
    s_inst_t    **members;        /* live instances serving it */
    int           count;
    int           cap;
    unsigned      next;           /* round-robin cursor */
    int           idx;            /* position in dtx_registry.res_list */
    s_resource_t *hnext;
};

struct dtx_registry {
    s_inst_t   **all;             /* every instance, for expiry and visits */
    int          nall;
    int          capall;
    uint64_t     serial;          /* last serial given */
    dtx_hashtab_t by_rid, by_name, by_serial, resources;
    s_resource_t **res_list;      /* every resource, in creation order */
    int          nres;
    int          capres;
};

static uint64_t s_hash_rid(const void *e)
{
    const s_inst_t *in = e;
    return dtx_hash_bytes(in->pub.rid, in->pub.rid_len);
}

static uint64_t s_hash_name(const void *e)
{
    const s_inst_t *in = e;
    return dtx_hash_bytes(in->pub.name, strlen(in->pub.name));
}

static uint64_t s_hash_serial(const void *e)
{
    const s_inst_t *in = e;
    return in->pub.serial * 0x9E3779B97F4A7C15ull;
}

static uint64_t s_hash_resource(const void *e)
{
    const s_resource_t *r = e;
    return dtx_hash_bytes(r->name, strlen(r->name));
}

dtx_registry_t *dtx_registry_new(void)
{
    dtx_registry_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (dtx_hashtab_init(&self->by_rid, offsetof(s_inst_t, next_rid), s_hash_rid, 64) != 0 ||
        dtx_hashtab_init(&self->by_name, offsetof(s_inst_t, next_name), s_hash_name, 64) != 0 ||
        dtx_hashtab_init(&self->by_serial, offsetof(s_inst_t, next_serial), s_hash_serial, 64) != 0 ||
        dtx_hashtab_init(&self->resources, offsetof(s_resource_t, hnext), s_hash_resource, 64) != 0) {
        dtx_registry_destroy(&self);
        return NULL;
    }
    return self;
}

void dtx_registry_destroy(dtx_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_registry_t *self = *self_p;
    for (int i = 0; i < self->nall; i++) {
        free(self->all[i]->res);
        free(self->all[i]);
    }
    free(self->all);
    for (int i = 0; i < self->nres; i++) {
        free(self->res_list[i]->members);
        free(self->res_list[i]);
    }
    free(self->res_list);
    dtx_hashtab_fini(&self->by_rid);
    dtx_hashtab_fini(&self->by_name);
    dtx_hashtab_fini(&self->by_serial);
    dtx_hashtab_fini(&self->resources);
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

static s_inst_t *s_find_rid(dtx_registry_t *self, const uint8_t *rid, size_t rid_len)
{
    for (s_inst_t *in = dtx_hashtab_head(&self->by_rid, dtx_hash_bytes(rid, rid_len)); in;
         in = in->next_rid)
        if (in->pub.rid_len == rid_len && memcmp(in->pub.rid, rid, rid_len) == 0)
            return in;
    return NULL;
}

static s_inst_t *s_find_name(dtx_registry_t *self, const char *name)
{
    for (s_inst_t *in = dtx_hashtab_head(&self->by_name, dtx_hash_bytes(name, strlen(name))); in;
         in = in->next_name)
        if (strcmp(in->pub.name, name) == 0)
            return in;
    return NULL;
}

dtx_instance_t *dtx_registry_find_name(dtx_registry_t *self, const char *name)
{
    s_inst_t *in = s_find_name(self, name);
    return in ? &in->pub : NULL;
}

dtx_instance_t *dtx_registry_find(dtx_registry_t *self, const uint8_t *rid, size_t rid_len)
{
    s_inst_t *in = s_find_rid(self, rid, rid_len);
    return in ? &in->pub : NULL;
}

dtx_instance_t *dtx_registry_find_serial(dtx_registry_t *self, uint64_t serial)
{
    for (s_inst_t *in = dtx_hashtab_head(&self->by_serial, serial * 0x9E3779B97F4A7C15ull); in;
         in = in->next_serial)
        if (in->pub.serial == serial)
            return &in->pub;
    return NULL;
}

static s_resource_t *s_resource(dtx_registry_t *self, const char *name, int create)
{
    for (s_resource_t *r = dtx_hashtab_head(&self->resources, dtx_hash_bytes(name, strlen(name))); r;
         r = r->hnext)
        if (strcmp(r->name, name) == 0)
            return r;
    if (!create)
        return NULL;
    if (s_grow((void **)&self->res_list, &self->capres, self->nres + 1, sizeof(s_resource_t *)))
        return NULL;
    s_resource_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    strcpy(r->name, name);
    r->idx = self->nres;
    self->res_list[self->nres++] = r;
    dtx_hashtab_insert(&self->resources, r);
    return r;
}

static void s_remove(dtx_registry_t *self, s_inst_t *in)
{
    for (int i = 0; i < in->pub.nresources; i++) {
        s_resource_t *r = in->res[i];
        for (int j = 0; j < r->count; j++)
            if (r->members[j] == in) {
                r->members[j] = r->members[--r->count];
                break;
            }
        if (r->count == 0) {
            /* Names nobody serves any more cost nothing. */
            dtx_hashtab_remove(&self->resources, r);
            s_resource_t *lastr = self->res_list[--self->nres];
            self->res_list[r->idx] = lastr;
            lastr->idx = r->idx;
            free(r->members);
            free(r);
        }
    }
    dtx_hashtab_remove(&self->by_rid, in);
    dtx_hashtab_remove(&self->by_name, in);
    dtx_hashtab_remove(&self->by_serial, in);
    s_inst_t *last = self->all[--self->nall];
    self->all[in->idx] = last;
    last->idx = in->idx;
    free(in->res);
    free(in);
}

dtx_instance_t *dtx_registry_register(dtx_registry_t *self, const uint8_t *rid, size_t rid_len,
                                      const char *instance, const char *resource,
                                      const char *owner, int max_resources, int64_t now_ms,
                                      int *is_new_resource, uint64_t *replaced, int *err)
{
    int e = 0;
    if (is_new_resource)
        *is_new_resource = 0;
    if (replaced)
        *replaced = 0;
    if (!rid || rid_len == 0 || rid_len > DTX_ROUTING_ID_MAX || !instance || !resource ||
        !owner || strlen(instance) > DTX_NAME_MAX || strlen(resource) > DTX_NAME_MAX ||
        strlen(owner) >= DTX_OWNER_SIZE) {
        e = DTX_EINVAL;
        goto fail;
    }
    s_inst_t *in = s_find_rid(self, rid, rid_len);
    if (in && (strcmp(in->pub.name, instance) != 0 || strcmp(in->pub.owner, owner) != 0)) {
        /* One connection is one instance: a second name would let a peer
         * hold names it never heartbeats for. (Another owner on a routing
         * id in use: only a peer that took over the id.) */
        e = DTX_EACCES;
        goto fail;
    }
    if (!in) {
        s_inst_t *holder = s_find_name(self, instance);
        if (holder) {
            if (strcmp(holder->pub.owner, owner) != 0) {
                e = DTX_EACCES;
                goto fail;
            }
            if (replaced)
                *replaced = holder->pub.serial;
            s_remove(self, holder); /* the same owner, reconnected */
        }
        if (s_grow((void **)&self->all, &self->capall, self->nall + 1, sizeof(s_inst_t *)) != 0 ||
            !(in = calloc(1, sizeof *in))) {
            e = DTX_ENOMEM;
            goto fail;
        }
        memcpy(in->pub.rid, rid, rid_len);
        in->pub.rid_len = rid_len;
        strcpy(in->pub.name, instance);
        strcpy(in->pub.owner, owner);
        in->pub.serial = ++self->serial;
        in->pub.registered_ms = now_ms;
        in->idx = self->nall;
        self->all[self->nall++] = in;
        dtx_hashtab_insert(&self->by_rid, in);
        dtx_hashtab_insert(&self->by_name, in);
        dtx_hashtab_insert(&self->by_serial, in);
    }
    in->pub.last_seen_ms = now_ms;
    for (int i = 0; i < in->pub.nresources; i++)
        if (strcmp(in->res[i]->name, resource) == 0)
            return &in->pub;
    if (max_resources > 0 && in->pub.nresources >= max_resources) {
        e = DTX_ELIMIT;
        goto fail;
    }
    s_resource_t *r = s_resource(self, resource, 1);
    if (!r || s_grow((void **)&in->res, &in->capres, in->pub.nresources + 1, sizeof *in->res) ||
        s_grow((void **)&r->members, &r->cap, r->count + 1, sizeof(s_inst_t *)) != 0) {
        e = DTX_ENOMEM;
        goto fail;
    }
    in->res[in->pub.nresources++] = r;
    r->members[r->count++] = in;
    if (is_new_resource && r->count == 1)
        *is_new_resource = 1;
    return &in->pub;
fail:
    if (err)
        *err = e;
    return NULL;
}

int dtx_registry_touch(dtx_registry_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms)
{
    s_inst_t *in = s_find_rid(self, rid, rid_len);
    if (!in)
        return DTX_EUNREGISTERED;
    in->pub.last_seen_ms = now_ms;
    return 0;
}

dtx_instance_t *dtx_registry_pick(dtx_registry_t *self, const char *resource)
{
    s_resource_t *r = s_resource(self, resource, 0);
    if (!r || r->count == 0)
        return NULL;
    s_inst_t *in = r->members[r->next % (unsigned)r->count];
    r->next++;
    return &in->pub;
}

int dtx_registry_drop(dtx_registry_t *self, const uint8_t *rid, size_t rid_len)
{
    s_inst_t *in = s_find_rid(self, rid, rid_len);
    if (!in)
        return 0;
    s_remove(self, in);
    return 1;
}

int dtx_registry_expire(dtx_registry_t *self, int64_t now_ms, int64_t timeout_ms)
{
    int dropped = 0;
    for (int i = self->nall - 1; i >= 0; i--)
        if (self->all[i]->pub.last_seen_ms < now_ms - timeout_ms) {
            s_remove(self, self->all[i]);
            dropped++;
        }
    return dropped;
}

int dtx_registry_count(dtx_registry_t *self, const char *resource)
{
    s_resource_t *r = s_resource(self, resource, 0);
    return r ? r->count : 0;
}

int dtx_registry_instances(const dtx_registry_t *self)
{
    return self->nall;
}

void dtx_registry_each(dtx_registry_t *self, dtx_registry_visit_fn fn, void *arg)
{
    for (int i = 0; i < self->nres; i++)
        for (int j = 0; j < self->res_list[i]->count; j++)
            fn(self->res_list[i]->name, &self->res_list[i]->members[j]->pub, arg);
}
