/* saga_internal.h — what client.c needs of a dtx_saga_t (saga_plan.c). */
#ifndef DTX_SDK_SAGA_INTERNAL_H
#define DTX_SDK_SAGA_INTERNAL_H

#include "dtx/dtx.h"
#include "dtx/saga.h"

/* The plan, payloads included (owned by self). */
__attribute__((visibility("hidden"))) const dtx_saga_plan_t *dtx_sdk_saga_plan(const dtx_saga_t *self);

#endif
