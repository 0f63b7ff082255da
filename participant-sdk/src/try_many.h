/* try_many.h — the batch and the outcomes of dtx_client_try_many
 * (try_many.c; client.c makes the call). */
#ifndef DTX_SDK_TRY_MANY_H
#define DTX_SDK_TRY_MANY_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/dtx.h"
#include "dtx/proto.h"

/* Checks tries[0..n) and encodes them as a TRY_MANY batch into a new
 * buffer (*buf, the caller frees). 0, DTX_EINVAL (the reason in err) or
 * DTX_ENOMEM. */
__attribute__((visibility("hidden")))
int dtx_sdk_try_many_encode(const dtx_try_spec_t *tries, int n, uint8_t **buf, size_t *len,
                            char *err, size_t errlen);

/* The call's result: rc 0 with reply the TRY_MANY_OK (its outcomes into
 * out[0..n)), returning 0 when every branch voted yes, DTX_EREFUSED when
 * one did not, DTX_EPROTO for outcomes that do not match; or rc an error
 * of the whole call, every out[i].error set to it, returned. */
__attribute__((visibility("hidden")))
int dtx_sdk_try_many_result(int rc, const dtx_msg_t *reply, int n, dtx_try_outcome_t *out,
                            char *err, size_t errlen);

#endif
