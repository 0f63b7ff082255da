/* tmsg_internal.h — what client.c needs of a dtx_tmsg_t (tmsg_plan.c). */
#ifndef DTX_SDK_TMSG_INTERNAL_H
#define DTX_SDK_TMSG_INTERNAL_H

#include "dtx/dtx.h"
#include "dtx/tmsg.h"

/* The plan, payloads included (owned by self). */
__attribute__((visibility("hidden"))) const dtx_tmsg_plan_t *dtx_sdk_tmsg_plan(const dtx_tmsg_t *self);

#endif
