/*
 * registry.h — live participant instances, by resource.
 *
 * An instance is one participant connection: its ZeroMQ routing id (the
 * address the ROUTER socket sends to), its name, and the resources it
 * registered. It stays live while it heartbeats; registry_expire() drops
 * it after `timeout_ms` of silence, and registry_drop() when a send to it
 * fails (disconnected). Calls for a resource are spread round robin over
 * its live instances. No sockets here: pure bookkeeping, unit-tested.
 */
#ifndef DTX_COORD_REGISTRY_H
#define DTX_COORD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_ROUTING_ID_MAX 255

typedef struct dtx_instance {
    uint8_t  rid[DTX_ROUTING_ID_MAX]; /* ZeroMQ routing id */
    size_t   rid_len;
    char     name[DTX_NAME_SIZE];     /* instance name it registered with */
    int64_t  last_seen_ms;            /* monotonic ms of last message */
    int64_t  registered_ms;           /* monotonic ms of first REGISTER */
    uint64_t calls;                   /* phase calls sent to it */
    int      inflight;                /* phase calls awaiting a reply */
} dtx_instance_t;

typedef struct dtx_registry dtx_registry_t;

dtx_registry_t *dtx_registry_new(void);
void dtx_registry_destroy(dtx_registry_t **self_p);

/* Records that the instance at rid serves resource (idempotent). Returns
 * the instance, or NULL on DTX_ENOMEM / bad arguments. *is_new_resource is
 * set to 1 when the resource gained a live instance it did not have. */
dtx_instance_t *dtx_registry_register(dtx_registry_t *self, const uint8_t *rid, size_t rid_len,
                                      const char *instance, const char *resource, int64_t now_ms,
                                      int *is_new_resource);

/* The instance at rid, or NULL. */
dtx_instance_t *dtx_registry_find(dtx_registry_t *self, const uint8_t *rid, size_t rid_len);

/* Marks the instance at rid as seen now. Returns 0 or DTX_EUNREGISTERED. */
int dtx_registry_touch(dtx_registry_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms);

/* Next live instance for resource (round robin), or NULL when none. */
dtx_instance_t *dtx_registry_pick(dtx_registry_t *self, const char *resource);

/* Removes the instance at rid from every resource. Returns 1 if found. */
int dtx_registry_drop(dtx_registry_t *self, const uint8_t *rid, size_t rid_len);

/* Drops instances silent since before now_ms - timeout_ms; returns how
 * many were dropped. */
int dtx_registry_expire(dtx_registry_t *self, int64_t now_ms, int64_t timeout_ms);

/* Number of live instances of resource. */
int dtx_registry_count(dtx_registry_t *self, const char *resource);

/* Visits every (resource, instance) pair. */
typedef void (*dtx_registry_visit_fn)(const char *resource, const dtx_instance_t *inst, void *arg);
void dtx_registry_each(dtx_registry_t *self, dtx_registry_visit_fn fn, void *arg);

#endif
