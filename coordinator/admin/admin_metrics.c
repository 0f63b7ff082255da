/*
 * admin_metrics.c — GET /metrics: the coordinator's counters, gauges and
 * histograms in the Prometheus text format.
 *
 * Everything comes from memory (the engine's counters and histograms, the
 * stores' statistics, the registry): nothing is read from the log here.
 */
#include <stdio.h>

#include "admin_internal.h"
#include "dtx/clock.h"
#include "core/txn.h"
#include "core/txntable.h"

static void s_store_metrics(dtx_text_t *t, const char *store, const dtx_store_t *s, int part)
{
    dtx_store_stats_t st;
    char lab[32];
    if (!s)
        return;
    dtx_store_stats(s, &st);
    snprintf(lab, sizeof lab, "store=\"%s\"", store);
    const double v[] = { (double)st.round_trips, (double)st.ops, (double)st.failed_ops,
                         (double)st.unknown_ops, (double)st.max_batch, (double)st.connected };
    dtx_prom_value(t, part == 0   ? "dtx_store_round_trips_total"
                      : part == 1 ? "dtx_store_ops_total"
                      : part == 2 ? "dtx_store_failed_ops_total"
                      : part == 3 ? "dtx_store_unknown_ops_total"
                      : part == 4 ? "dtx_store_batch_size_max"
                                  : "dtx_store_connections_up",
                   lab, v[part]);
}

static void s_store_hist(dtx_text_t *t, const char *store, const dtx_store_t *s, int ops)
{
    dtx_store_stats_t st;
    char lab[32];
    if (!s)
        return;
    dtx_store_stats(s, &st);
    snprintf(lab, sizeof lab, "store=\"%s\"", store);
    if (ops)
        dtx_prom_hist_scaled(t, "dtx_store_batch_ops", lab, &st.batch_ops, 1.0);
    else
        dtx_prom_hist(t, "dtx_store_batch_seconds", lab, &st.batch_ms);
}

void dtx_admin_metrics(dtx_admin_req_t *r)
{
    dtx_coord_t *co = r->admin->co;
    const dtx_metrics_t *m = &co->metrics;
    dtx_text_t t = { 0 };
    static const struct {
        const char *name, *help;
    } stores[] = {
        { "dtx_store_round_trips_total", "PostgreSQL round trips (committed batches)" },
        { "dtx_store_ops_total", "statements completed; divided by round trips: mean batch size" },
        { "dtx_store_failed_ops_total", "statements failed with a database error" },
        { "dtx_store_unknown_ops_total",
          "of those, lost with their connection in flight: outcome unknown, re-read (docs/ha.md)" },
        { "dtx_store_batch_size_max", "largest batch so far" },
        { "dtx_store_connections_up", "connections up" },
    };
    dtx_store_stats_t logst = { 0 };
    if (co->store)
        dtx_store_stats(co->store, &logst);
    const struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        { "dtx_store_statements_total",
          "log statements executed in committed batches (a set statement, log/batch.h, counts once)",
          logst.statements },
        { "dtx_store_lazy_round_trips_total",
          "log round trips that held only lazy writes, committed with synchronous_commit off "
          "(docs/operations.md, durability table)", logst.lazy_round_trips },
        { "dtx_transactions_begun_total", "transactions begun here", co->stats.begun },
        { "dtx_transactions_committed_total", "transactions this node finished committed",
          co->stats.committed },
        { "dtx_transactions_aborted_total", "transactions this node finished aborted",
          co->stats.aborted },
        { "dtx_transactions_stuck_total", "transactions this node marked stuck", m->stuck },
        { "dtx_phase_calls_total", "Try/Confirm/Cancel calls sent", co->stats.phase_sent },
        { "dtx_phase_retries_total", "calls that were retries", co->stats.phase_retries },
        { "dtx_send_failures_total", "calls that could not be sent", co->stats.send_failures },
        { "dtx_bad_messages_total", "malformed or unexpected messages", co->stats.bad_messages },
        { "dtx_ignored_phase_replies_total",
          "phase replies that answered no call sent to their connection (late, duplicated or forged)",
          co->stats.ignored_replies },
        { "dtx_bundles_sent_total",
          "BUNDLE frames of several PHASEs sent (docs/protocol.md section 20)", co->stats.bundles_sent },
        { "dtx_bundle_frames_sent_total", "PHASEs sent inside those BUNDLEs",
          co->stats.bundle_frames_sent },
        { "dtx_bundles_received_total", "BUNDLE frames of PHASE_REPLYs received",
          co->stats.bundles_received },
        { "dtx_bundle_frames_received_total", "entries of those BUNDLEs",
          co->stats.bundle_frames_received },
        { "dtx_bundle_lost_frames_total",
          "PHASEs of BUNDLEs whose send failed: lost as on a broken connection"
          " (a Confirm/Cancel is sent again, a Try counts as a lost vote)",
          co->stats.bundle_lost_frames },
        { "dtx_admin_actions_total", "operator actions requested over HTTP", m->actions },
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        dtx_prom_header(&t, counters[i].name, "counter", counters[i].help);
        dtx_prom_value(&t, counters[i].name, NULL, (double)counters[i].v);
    }
    dtx_prom_header(&t, "dtx_transactions_finished_total", "counter",
                    "transactions this node finished, by mode (tcc, 2pc, saga, msg) and outcome "
                    "(committed; aborted: a Saga compensated, a message dropped)");
    static const char *const modes[] = { [DTX_MODE_TCC] = "tcc", [DTX_MODE_2PC] = "2pc",
                                         [DTX_MODE_SAGA] = "saga", [DTX_MODE_MSG] = "msg" };
    for (int mode = DTX_MODE_TCC; mode <= DTX_MODE_MSG; mode++)
        for (int k = 0; k < 2; k++) {
            char lab[64];
            snprintf(lab, sizeof lab, "mode=\"%s\",outcome=\"%s\"", modes[mode],
                     k ? "aborted" : "committed");
            dtx_prom_value(&t, "dtx_transactions_finished_total", lab,
                           (double)co->stats.finished[mode][k]);
        }
    dtx_prom_header(&t, "dtx_log_synchronous_replication", "gauge",
                    "1 when the log database had a synchronous standby at start (docs/ha.md)");
    dtx_prom_value(&t, "dtx_log_synchronous_replication", NULL, co->log_sync_replication);
    dtx_prom_header(&t, "dtx_transactions_in_memory", "gauge",
                    "transactions held in memory (in flight on this node)");
    dtx_prom_value(&t, "dtx_transactions_in_memory", NULL, (double)dtx_txn_count(co->txns));
    int inst[2] = { 0, 0 };
    dtx_registry_each(co->registry, dtx_admin_count_instances, inst);
    dtx_prom_header(&t, "dtx_participant_instances", "gauge", "live (resource, instance) pairs");
    dtx_prom_value(&t, "dtx_participant_instances", NULL, inst[0]);
    dtx_prom_header(&t, "dtx_participant_calls_in_flight", "gauge", "calls awaiting a reply");
    dtx_prom_value(&t, "dtx_participant_calls_in_flight", NULL, inst[1]);
    dtx_prom_header(&t, "dtx_phase_latency_seconds", "histogram",
                    "time from sending a phase call (try, confirm, cancel, prepare, commit, abort, "
                    "action, compensate, deliver, query_prepared) to its reply");
    for (int op = 1; op <= DTX_OP_MAX; op++) {
        char lab[24];
        snprintf(lab, sizeof lab, "op=\"%s\"", dtx_op_name(op));
        dtx_prom_hist(&t, "dtx_phase_latency_seconds", lab, &m->phase[op]);
    }
    dtx_prom_header(&t, "dtx_transaction_duration_seconds", "histogram",
                    "time from BEGIN to the final state, for transactions begun here");
    dtx_prom_hist(&t, "dtx_transaction_duration_seconds", "outcome=\"committed\"",
                  &m->duration[0]);
    dtx_prom_hist(&t, "dtx_transaction_duration_seconds", "outcome=\"aborted\"", &m->duration[1]);
    for (int part = 0; part < (int)(sizeof stores / sizeof stores[0]); part++) {
        dtx_prom_header(&t, stores[part].name, part < 4 ? "counter" : "gauge", stores[part].help);
        s_store_metrics(&t, "log", co->store, part);
        s_store_metrics(&t, "admin", r->admin->store, part);
    }
    dtx_prom_header(&t, "dtx_limit_refusals_total", "counter",
                    "requests refused with ELIMIT (22), by limit");
    for (int i = 0; i < DTX_LIMIT_COUNT; i++) {
        char lab[48];
        snprintf(lab, sizeof lab, "limit=\"%s\"", dtx_limit_name(i));
        dtx_prom_value(&t, "dtx_limit_refusals_total", lab, (double)m->limited[i]);
    }
    dtx_prom_header(&t, "dtx_auth_refusals_total", "counter",
                    "peers or requests refused (handshake, or EACCES 21), by reason");
    for (int i = 0; i < DTX_DENY_COUNT; i++) {
        char lab[48];
        snprintf(lab, sizeof lab, "reason=\"%s\"", dtx_deny_name(i));
        dtx_prom_value(&t, "dtx_auth_refusals_total", lab, (double)m->denied[i]);
    }
    dtx_prom_header(&t, "dtx_payload_bytes_in_memory", "gauge",
                    "TRY payload bytes held in memory (branches, parked and on their way)");
    dtx_prom_value(&t, "dtx_payload_bytes_in_memory", NULL,
                   (double)(dtx_txn_payload_total(co->txns) + co->try_payload_inflight));
    dtx_prom_header(&t, "dtx_wire_curve", "gauge", "1 when CurveZMQ authenticates every peer");
    dtx_prom_value(&t, "dtx_wire_curve", NULL, co->auth_on);
    dtx_prom_header(&t, "dtx_retention_removed_total", "counter",
                    "rows retention removed from the log (finished transactions, their branches)");
    dtx_prom_value(&t, "dtx_retention_removed_total", "table=\"dtx_global\"",
                   (double)m->retained[0]);
    dtx_prom_value(&t, "dtx_retention_removed_total", "table=\"dtx_branch\"",
                   (double)m->retained[1]);
    dtx_prom_header(&t, "dtx_retention_runs_total", "counter", "retention runs completed");
    dtx_prom_value(&t, "dtx_retention_runs_total", NULL, (double)m->retention_runs);
    dtx_prom_header(&t, "dtx_retention_failures_total", "counter",
                    "retention batches the log refused (the next run retries)");
    dtx_prom_value(&t, "dtx_retention_failures_total", NULL, (double)m->retention_failures);
    dtx_prom_header(&t, "dtx_retention_last_run_timestamp_seconds", "gauge",
                    "when the last retention run completed (Unix time; 0 never)");
    dtx_prom_value(&t, "dtx_retention_last_run_timestamp_seconds", NULL,
                   (double)m->retention_last_ms / 1000.0);
    dtx_prom_header(&t, "dtx_transactions_stuck", "gauge",
                    "stuck transactions in the log (all nodes), counted once a second");
    dtx_prom_value(&t, "dtx_transactions_stuck", NULL, (double)m->stuck_now);
    dtx_prom_header(&t, "dtx_recovery_due", "gauge",
                    "transactions the last recovery scan found due: this node's overdue ones"
                    " (scan=own) and those taken over from dead coordinators (scan=orphans);"
                    " a scan returns at most 256");
    dtx_prom_value(&t, "dtx_recovery_due", "scan=\"own\"", (double)m->recovery_due[0]);
    dtx_prom_value(&t, "dtx_recovery_due", "scan=\"orphans\"", (double)m->recovery_due[1]);
    dtx_prom_header(&t, "dtx_recovery_statements_total", "counter",
                    "recovery statements sent: the walks over the unfinished transactions"
                    " (kind=own, kind=orphans), each run only when it can find something,"
                    " and the read of the nodes' leases that decides the claim (kind=nodes)");
    dtx_prom_value(&t, "dtx_recovery_statements_total", "kind=\"own\"",
                   (double)m->recovery_runs[DTX_RECOVERY_OWN]);
    dtx_prom_value(&t, "dtx_recovery_statements_total", "kind=\"orphans\"",
                   (double)m->recovery_runs[DTX_RECOVERY_CLAIM]);
    dtx_prom_value(&t, "dtx_recovery_statements_total", "kind=\"nodes\"",
                   (double)m->recovery_runs[DTX_RECOVERY_NODES]);
    dtx_prom_header(&t, "dtx_lease_held", "gauge",
                    "1 while this node's lease is surely held (renewed in time), else 0");
    dtx_prom_value(&t, "dtx_lease_held", NULL, dtx_clock_mono_ms() <= co->lease_valid_ms);
    dtx_prom_header(&t, "dtx_lease_lapses_total", "counter",
                    "times the lease ran out before its renewal (in-memory transactions dropped)");
    dtx_prom_value(&t, "dtx_lease_lapses_total", NULL, (double)m->lease_lapses);
    dtx_prom_header(&t, "dtx_store_batch_seconds", "histogram",
                    "log write latency: a batch from sending to its commit's answer");
    s_store_hist(&t, "log", co->store, 0);
    s_store_hist(&t, "admin", r->admin->store, 0);
    dtx_prom_header(&t, "dtx_store_batch_ops", "histogram", "statements a committed batch carried");
    s_store_hist(&t, "log", co->store, 1);
    s_store_hist(&t, "admin", r->admin->store, 1);
    dtx_prom_header(&t, "dtx_http_responses_total", "counter", "admin HTTP answers by class");
    for (int c = 2; c <= 5; c++) {
        char lab[24];
        snprintf(lab, sizeof lab, "code=\"%dxx\"", c);
        dtx_prom_value(&t, "dtx_http_responses_total", lab, (double)m->http[c]);
    }
    if (t.failed || !t.data)
        dtx_admin_respond_error(r, 500, "out of memory");
    else
        dtx_admin_respond_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len,
                              0);
    dtx_text_free(&t);
}
