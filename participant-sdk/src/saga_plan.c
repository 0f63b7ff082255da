/*
 * saga_plan.c — building a Saga's plan on the initiator side (dtx_saga_*,
 * dtx/dtx.h). The plan is common/'s dtx_saga_plan_t (dtx/saga.h) with
 * owned copies of the payloads; client.c encodes it with
 * dtx_saga_plan_encode, the one place its rules are checked.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/dtx.h"
#include "dtx/proto.h"
#include "dtx/saga.h"
#include "saga_internal.h"

struct dtx_saga {
    dtx_saga_plan_t plan;                       /* payload pointers are owned copies */
};

_Static_assert(DTX_STEP_PIVOT == DTX_SAGA_STEP_PIVOT, "public and wire pivot flags agree");

dtx_saga_t *dtx_saga_new(int *err)
{
    dtx_saga_t *self = calloc(1, sizeof *self);
    if (err)
        *err = self ? DTX_OK : DTX_ENOMEM;
    return self;
}

void dtx_saga_destroy(dtx_saga_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_saga_t *self = *self_p;
    for (int i = 0; i < self->plan.nsteps; i++)
        free((void *)self->plan.steps[i].payload);
    free(self);
    *self_p = NULL;
}

int dtx_saga_add_step(dtx_saga_t *self, const char *resource, const char *action,
                      const char *compensation, const void *payload, size_t payload_len,
                      unsigned flags)
{
    assert(self);
    if (!compensation)
        compensation = "";
    if (!resource || !dtx_name_valid(resource) || !action || !dtx_name_valid(action) ||
        (compensation[0] && !dtx_name_valid(compensation)) ||
        (!compensation[0] && !(flags & DTX_STEP_PIVOT)) || (flags & ~(unsigned)DTX_STEP_PIVOT) ||
        payload_len > DTX_PAYLOAD_MAX || (payload_len && !payload))
        return DTX_EINVAL;
    if (self->plan.nsteps >= DTX_SAGA_STEPS_MAX)
        return DTX_ELIMIT;
    dtx_saga_step_t *st = &self->plan.steps[self->plan.nsteps];
    uint8_t *copy = NULL;
    if (payload_len && !(copy = malloc(payload_len)))
        return DTX_ENOMEM;
    memset(st, 0, sizeof *st);
    if (payload_len)
        memcpy(copy, payload, payload_len);
    strcpy(st->resource, resource);
    strcpy(st->action, action);
    strcpy(st->compensation, compensation);
    st->flags = (uint8_t)flags;
    st->payload = copy;
    st->payload_len = (uint32_t)payload_len;
    return ++self->plan.nsteps;
}

int dtx_saga_add_dependency(dtx_saga_t *self, int step, int depends_on)
{
    assert(self);
    if (step < 2 || step > self->plan.nsteps || depends_on < 1 || depends_on >= step)
        return DTX_EINVAL;
    self->plan.flags |= DTX_SAGA_CONCURRENT;
    dtx_saga_step_t *st = &self->plan.steps[step - 1];
    int at = 0;
    while (at < st->ndeps && st->deps[at] < depends_on)
        at++;
    if (at < st->ndeps && st->deps[at] == depends_on)
        return DTX_OK; /* already there */
    memmove(st->deps + at + 1, st->deps + at, (size_t)(st->ndeps - at));
    st->deps[at] = (uint8_t)depends_on;
    st->ndeps++;
    return DTX_OK;
}

const dtx_saga_plan_t *dtx_sdk_saga_plan(const dtx_saga_t *self)
{
    return &self->plan;
}
