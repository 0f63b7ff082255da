/*
 * tmsg_plan.c — building a transactional message on the initiator side
 * (dtx_tmsg_*, dtx/dtx.h). The message is common/'s dtx_tmsg_plan_t
 * (dtx/tmsg.h) with owned copies of the payloads; client.c encodes it with
 * dtx_tmsg_plan_encode, the one place its rules are checked.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/dtx.h"
#include "dtx/name.h"
#include "dtx/tmsg.h"
#include "tmsg_internal.h"

struct dtx_tmsg {
    dtx_tmsg_plan_t plan;                       /* payload pointers are owned copies */
};

dtx_tmsg_t *dtx_tmsg_new(const char *checkback, int *err)
{
    if (!checkback || !dtx_name_valid(checkback)) {
        if (err)
            *err = DTX_EINVAL;
        return NULL;
    }
    dtx_tmsg_t *self = calloc(1, sizeof *self);
    if (err)
        *err = self ? DTX_OK : DTX_ENOMEM;
    if (self)
        strcpy(self->plan.checkback, checkback);
    return self;
}

void dtx_tmsg_destroy(dtx_tmsg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_tmsg_t *self = *self_p;
    for (int i = 0; i < self->plan.ndests; i++)
        free((void *)self->plan.dests[i].payload);
    free(self);
    *self_p = NULL;
}

int dtx_tmsg_add(dtx_tmsg_t *self, const char *resource, const char *action, const void *payload,
                 size_t payload_len)
{
    assert(self);
    if (!resource || !dtx_name_valid(resource) || !action || !dtx_name_valid(action) ||
        payload_len > DTX_PAYLOAD_MAX || (payload_len && !payload))
        return DTX_EINVAL;
    if (self->plan.ndests >= DTX_TMSG_DESTS_MAX)
        return DTX_ELIMIT;
    uint8_t *copy = NULL;
    if (payload_len && !(copy = malloc(payload_len)))
        return DTX_ENOMEM;
    dtx_tmsg_dest_t *d = &self->plan.dests[self->plan.ndests];
    memset(d, 0, sizeof *d);
    if (payload_len)
        memcpy(copy, payload, payload_len);
    strcpy(d->resource, resource);
    strcpy(d->action, action);
    d->payload = copy;
    d->payload_len = (uint32_t)payload_len;
    return ++self->plan.ndests;
}

const dtx_tmsg_plan_t *dtx_sdk_tmsg_plan(const dtx_tmsg_t *self)
{
    return &self->plan;
}
