/* admit.c — the limits a new transaction must pass (admit.h). */
#include "admit.h"
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
