/* admit.c — the limits a new transaction must pass (admit.h). */
#include <stdio.h>

#include "admit.h"
#include "dtx/id.h"
#include "core/txntable.h"
#include "outbox.h"

int dtx_admit_new_txn(dtx_coord_t *co, const dtx_peer_t *peer)
{
    if (co->cfg.max_txns <= 0 || (int64_t)dtx_txn_count(co->txns) < co->cfg.max_txns)
        return 0;
    dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_TXNS,
                            "%lld transactions in memory (max-txns): retry after %d ms",
                            (long long)co->cfg.max_txns, DTX_RETRY_AFTER_MS);
    return -1;
}

int dtx_admit_timeout(dtx_coord_t *co, const dtx_peer_t *peer, int64_t timeout_ms)
{
    if (timeout_ms <= co->cfg.max_timeout_ms)
        return 0;
    dtx_outbox_error(co, peer, DTX_EINVAL,
                     "timeout_ms %lld exceeds the maximum %lld (max-timeout-ms)",
                     (long long)timeout_ms, (long long)co->cfg.max_timeout_ms);
    return -1;
}

int dtx_admit_plan(dtx_coord_t *co, const dtx_peer_t *peer, const char *what, int n,
                   const char *unit, const char *noun, int64_t bytes)
{
    if (co->cfg.max_branches > 0 && n > co->cfg.max_branches) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_BRANCHES, "%s %d %s is over max-branches (%lld)",
                                what, n, unit, (long long)co->cfg.max_branches);
        return -1;
    }
    if (co->cfg.max_txn_payload > 0 && bytes > co->cfg.max_txn_payload) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_TXN_PAYLOAD,
                                "%s of %lld payload bytes is over max-txn-payload (%lld)", noun,
                                (long long)bytes, (long long)co->cfg.max_txn_payload);
        return -1;
    }
    if (co->cfg.max_payload > 0 &&
        dtx_txn_payload_total(co->txns) + co->try_payload_inflight + bytes > co->cfg.max_payload) {
        dtx_outbox_refuse_limit(co, peer, DTX_LIMIT_PAYLOAD,
                                "payload in memory at its limit (max-payload %lld bytes): retry "
                                "after %d ms", (long long)co->cfg.max_payload, DTX_RETRY_AFTER_MS);
        return -1;
    }
    return 0;
}

int dtx_admit_gid(dtx_coord_t *co, const dtx_peer_t *peer, const char *ulid, char *gid)
{
    char fresh[DTX_ID_LEN + 1];
    if (!ulid && dtx_id_new(fresh) != 0) {
        dtx_outbox_error(co, peer, DTX_EIO, "no randomness for a transaction id");
        return -1;
    }
    snprintf(gid, DTX_NAME_SIZE, "%.16s%s%.26s", co->cfg.cell, co->cfg.cell[0] ? ":" : "",
             ulid ? ulid : fresh);
    return 0;
}
