/*
 * registry.h — live participant instances, by resource.
 *
 * An instance is one participant connection: its ZeroMQ routing id (the
 * address the ROUTER socket sends to), its name, the principal that owns
 * the name (the CURVE public key, or the connection lineage without CURVE:
 * see principal in coord.h) and the resources it registered. It stays live
 * while it heartbeats; registry_expire() drops it after `timeout_ms` of
 * silence, and registry_drop() when a send to it fails (disconnected).
 * Calls for a resource are spread round robin over its live instances.
 *
 * Invariants:
 *  - an instance name is held by at most one live instance; a REGISTER of
 *    a held name by the same owner from another connection replaces the
 *    old instance (a reconnect), by another owner is refused (DTX_EACCES);
 *  - every instance has a serial no other instance of this registry had,
 *    so that "the instance a phase was sent to" survives its removal and a
 *    new connection never inherits an old one's calls;
 *  - every lookup (by routing id, name, serial, resource) is O(1).
 * No sockets here: pure bookkeeping, unit-tested.
 */
#ifndef DTX_COORD_REGISTRY_H
#define DTX_COORD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

#define DTX_ROUTING_ID_MAX 255
#define DTX_OWNER_SIZE     72   /* "key:<40 z85>" or "conn:<32 hex>", with NUL */

typedef struct dtx_instance {
    uint8_t  rid[DTX_ROUTING_ID_MAX]; /* ZeroMQ routing id */
    size_t   rid_len;
    char     name[DTX_NAME_SIZE];     /* instance name it registered with */
    char     owner[DTX_OWNER_SIZE];   /* who holds the name */
    uint64_t serial;                  /* unique per registry, never reused */
    int64_t  last_seen_ms;            /* monotonic ms of last message */
    int64_t  registered_ms;           /* monotonic ms of first REGISTER */
    uint64_t calls;                   /* phase calls sent to it */
    int      inflight;                /* phase calls awaiting a reply */
    int      nresources;              /* resources it serves */
    uint8_t  version;                 /* protocol version of its latest REGISTER: its PHASEs' */
    uint8_t  bundle;                  /* its latest REGISTER carried tag 2 (and dtxd --bundle
                                         on): its PHASEs may go in BUNDLEs */
} dtx_instance_t;

typedef struct dtx_registry dtx_registry_t;

dtx_registry_t *dtx_registry_new(void);
void dtx_registry_destroy(dtx_registry_t **self_p);

/* Records that the instance at rid, named instance and owned by owner,
 * serves resource (idempotent). max_resources bounds the resources one
 * instance may serve (0: no bound). Returns the instance, or NULL with
 * *err set: DTX_EACCES (the name is held by a live instance of another
 * owner, or this connection already registered under another name),
 * DTX_ELIMIT (max_resources reached), DTX_EINVAL, DTX_ENOMEM.
 * *is_new_resource (may be NULL) is set to 1 when the resource gained a
 * live instance it did not have; *replaced (may be NULL) to the serial of
 * an instance of the same owner that this one replaced (0: none). */
dtx_instance_t *dtx_registry_register(dtx_registry_t *self, const uint8_t *rid, size_t rid_len,
                                      const char *instance, const char *resource,
                                      const char *owner, int max_resources, int64_t now_ms,
                                      int *is_new_resource, uint64_t *replaced, int *err);

/* The instance at rid, with that serial, or NULL. */
dtx_instance_t *dtx_registry_find(dtx_registry_t *self, const uint8_t *rid, size_t rid_len);
dtx_instance_t *dtx_registry_find_serial(dtx_registry_t *self, uint64_t serial);
/* The live instance registered under name, or NULL. */
dtx_instance_t *dtx_registry_find_name(dtx_registry_t *self, const char *name);

/* Marks the instance at rid as seen now. Returns 0 or DTX_EUNREGISTERED. */
int dtx_registry_touch(dtx_registry_t *self, const uint8_t *rid, size_t rid_len, int64_t now_ms);

/* Next live instance for resource (round robin), or NULL when none. */
dtx_instance_t *dtx_registry_pick(dtx_registry_t *self, const char *resource);

/* Removes the instance at rid from every resource. Returns 1 if found. */
int dtx_registry_drop(dtx_registry_t *self, const uint8_t *rid, size_t rid_len);

/* Drops instances silent since before now_ms - timeout_ms; returns how
 * many were dropped. */
int dtx_registry_expire(dtx_registry_t *self, int64_t now_ms, int64_t timeout_ms);

/* Number of live instances of resource; of instances in all. */
int dtx_registry_count(dtx_registry_t *self, const char *resource);
int dtx_registry_instances(const dtx_registry_t *self);

/* Visits every (resource, instance) pair. */
typedef void (*dtx_registry_visit_fn)(const char *resource, const dtx_instance_t *inst, void *arg);
void dtx_registry_each(dtx_registry_t *self, dtx_registry_visit_fn fn, void *arg);

#endif
