/* try_many.c — the batch and the outcomes of dtx_client_try_many
 * (try_many.h; the layouts are dtx/trymany.h's, docs/protocol.md §18). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/name.h"
#include "dtx/trymany.h"
#include "sdk_internal.h"
#include "try_many.h"

_Static_assert(DTX_TRY_MANY_MAX == DTX_TRYMANY_MAX, "public and wire batch limits agree");

int dtx_sdk_try_many_encode(const dtx_try_spec_t *tries, int n, uint8_t **buf, size_t *len,
                            char *err, size_t errlen)
{
    dtx_trymany_t b;
    *buf = NULL;
    *len = 0;
    if (!tries || n < 1 || n > DTX_TRY_MANY_MAX)
        return DTX_EINVAL;
    memset(&b, 0, sizeof b);
    b.n = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        const dtx_try_spec_t *t = &tries[i];
        if (!t->resource || !dtx_name_valid(t->resource) || !t->action ||
            !dtx_name_valid(t->action) || t->payload_len > DTX_PAYLOAD_MAX ||
            (!t->payload && t->payload_len)) {
            snprintf(err, errlen, "branch %d: invalid resource, action or payload", i + 1);
            return DTX_EINVAL;
        }
        dtx_name_copy(b.items[i].resource, t->resource);
        dtx_name_copy(b.items[i].action, t->action);
        b.items[i].payload = t->payload;
        b.items[i].payload_len = (uint32_t)t->payload_len;
    }
    if (dtx_trymany_encode(&b, NULL, 0, len) != DTX_ETOOBIG || *len > DTX_PAYLOAD_MAX) {
        snprintf(err, errlen, "the branches' payloads together are over %u bytes",
                 DTX_PAYLOAD_MAX);
        return DTX_EINVAL;
    }
    if (!(*buf = malloc(*len)))
        return DTX_ENOMEM;
    dtx_trymany_encode(&b, *buf, *len, len);
    return 0;
}

int dtx_sdk_try_many_result(int rc, const dtx_msg_t *reply, int n, dtx_try_outcome_t *out,
                            char *err, size_t errlen)
{
    dtx_trymany_outcomes_t o;
    if (rc == 0 && (dtx_trymany_outcomes_decode(&o, reply->payload, reply->payload_len, NULL,
                                                0) != 0 || o.n != n))
        rc = DTX_EPROTO;
    if (rc != 0) {
        if (rc == DTX_EUNSUPPORTED && !err[0])
            snprintf(err, errlen, "the coordinator speaks protocol version 1 only: no TRY_MANY");
        for (int i = 0; out && n > 0 && n <= DTX_TRY_MANY_MAX && i < n; i++)
            out[i] = (dtx_try_outcome_t){ 0, DTX_OUTCOME_FAILED, rc };
        return rc;
    }
    int all_yes = 1;
    for (int i = 0; i < n; i++) {
        uint32_t c = o.o[i].code;
        int e = c == 0 ? 0 : dtx_sdk_wire_error(c);
        if (e || o.o[i].outcome != DTX_OUTCOME_OK)
            all_yes = 0;
        if (out)
            out[i] = (dtx_try_outcome_t){ o.o[i].branch, o.o[i].outcome, e };
    }
    return all_yes ? DTX_OK : DTX_EREFUSED;
}
