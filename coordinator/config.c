/* config.c — dtxd's options: defaults, and the table --help prints. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin_http.h"
#include "admin/admin_query.h"
#include "engine/coord.h"
#include "dtx/log.h"
#include "core/cell.h"
#include "core/fault.h"

static int s_fault_configure(const char *spec, char *err, size_t errlen)
{
    return dtx_fault_configure(spec, err, (unsigned)errlen);
}

int dtx_coord_config_load(dtx_coord_config_t *cfg, int argc, char **argv, char *err,
                          size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "tcp://127.0.0.1:7070");
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    snprintf(cfg->log_format, sizeof cfg->log_format, "text");
    char host[64] = "dtxd";
    gethostname(host, sizeof host - 1);
    snprintf(cfg->node_id, sizeof cfg->node_id, "%.40s-%d", host, (int)getpid());
    cfg->default_timeout_ms = 30000;
    cfg->max_timeout_ms = 600000;
    cfg->try_timeout_ms = 5000;
    cfg->phase_timeout_ms = 2000;
    cfg->retry_base_ms = 100;
    cfg->retry_max_ms = 30000;
    cfg->heartbeat_ms = 1000;
    cfg->db_connections = 2;
    cfg->recovery_interval_ms = 1000;
    cfg->sndhwm = 100000;
    cfg->lease_ms = 10000;
    cfg->max_attempts = 50;
    snprintf(cfg->retention, sizeof cfg->retention, "7d");
    cfg->retention_interval_ms = 60000;
    snprintf(cfg->http_listen, sizeof cfg->http_listen, "%s", DTX_HTTP_LISTEN_DEFAULT);
    cfg->http_max_body = 1 << 20;
    cfg->http_request_timeout_s = 10;
    cfg->http_per_ip_connections = 32;
    cfg->max_txns = 100000;
    cfg->max_branches = 1000;
    cfg->max_txn_payload = 16 << 20;
    cfg->max_payload = 1024ll << 20;
    cfg->max_resources = 64;
    cfg->max_registrations = 100;
    cfg->max_peer_rate = 50000;
    cfg->max_instances = 10000;
    snprintf(cfg->bundle_opt, sizeof cfg->bundle_opt, "on");

    const dtx_opt_t opts[] = {
        { "db", DTX_OPT_STRING, cfg->db, 0, 0, "libpq conninfo of the log database (required)" },
        { "listen", DTX_OPT_STRING, cfg->listen, 0, 0,
          "ZeroMQ endpoint to bind (default tcp://127.0.0.1:7070; port * picks one)" },
        { "endpoint-file", DTX_OPT_STRING, cfg->endpoint_file, 0, 0,
          "write the bound endpoint to this file once ready" },
        { "node-id", DTX_OPT_STRING, cfg->node_id, 0, 0, "this instance's name (default host-pid)" },
        { "cell", DTX_OPT_STRING, cfg->cell, 0, 0,
          "this log's cell: new gids are CELL:ULID and gids of other cells are refused "
          "(a letter, then up to 15 of [a-z0-9-]; default none; docs/scaling.md)" },
        { "log-level", DTX_OPT_STRING, cfg->log_level, 0, 0, "error, warn, info or debug" },
        { "log-format", DTX_OPT_STRING, cfg->log_format, 0, 0,
          "text (key=value lines, the default) or json (one object a line)" },
        { "default-timeout-ms", DTX_OPT_INT, &cfg->default_timeout_ms, 1, 86400000,
          "transaction timeout when BEGIN gives 0 (default 30000)" },
        { "max-timeout-ms", DTX_OPT_INT, &cfg->max_timeout_ms, 1, 86400000,
          "largest timeout a BEGIN may ask (default 600000)" },
        { "try-timeout-ms", DTX_OPT_INT, &cfg->try_timeout_ms, 1, 3600000,
          "wait for a Try vote, and for a live instance to send it to (default 5000)" },
        { "phase-timeout-ms", DTX_OPT_INT, &cfg->phase_timeout_ms, 1, 3600000,
          "wait for a Confirm/Cancel ack before retrying (default 2000)" },
        { "retry-base-ms", DTX_OPT_INT, &cfg->retry_base_ms, 1, 3600000,
          "first retry delay; doubles per attempt, with jitter (default 100)" },
        { "retry-max-ms", DTX_OPT_INT, &cfg->retry_max_ms, 1, 86400000,
          "retry delay cap (default 30000)" },
        { "heartbeat-ms", DTX_OPT_INT, &cfg->heartbeat_ms, 10, 600000,
          "participant heartbeat interval; 3 missed drop the instance (default 1000)" },
        { "db-connections", DTX_OPT_INT, &cfg->db_connections, 1, 64,
          "log connections; transactions are sharded over them by gid (default 2)" },
        { "recovery-interval-ms", DTX_OPT_INT, &cfg->recovery_interval_ms, 10, 3600000,
          "how often the log is scanned for work no one drives (default 1000)" },
        { "sndhwm", DTX_OPT_INT, &cfg->sndhwm, 1, 10000000,
          "messages queued per peer before sends fail (default 100000)" },
        { "lease-ms", DTX_OPT_INT, &cfg->lease_ms, 300, 3600000,
          "node lease; a dead node's transactions are taken over after it (default 10000)" },
        { "max-attempts", DTX_OPT_INT, &cfg->max_attempts, 0, 1000000,
          "Confirm/Cancel attempts per branch before the transaction is stuck; 0 = no limit (default 50)" },
        { "retention", DTX_OPT_STRING, cfg->retention, 0, 0,
          "finished (committed/aborted) transactions older than this leave the log, e.g. 12h, "
          "7d, 90d; 0 = keep forever (default 7d)" },
        { "retention-interval-ms", DTX_OPT_INT, &cfg->retention_interval_ms, 10, 86400000,
          "how often a retention run starts (default 60000)" },
        { "fault", DTX_OPT_STRING, cfg->fault, 0, 0,
          "TESTS ONLY: exit at POINT[:N][,...] (see docs/operations.md)" },
        { "migrate-only", DTX_OPT_BOOL, &cfg->migrate_only, 0, 1,
          "apply pending log migrations and exit" },
        { "db-wait-ms", DTX_OPT_INT, &cfg->db_wait_ms, 0, 86400000,
          "at start, wait this long for the log database, then exit 1; 0 = wait forever (default 0)" },
        { "http-listen", DTX_OPT_STRING, cfg->http_listen, 0, 0,
          "admin HTTP API and console: host:port (port 0 picks one) or off (default "
          DTX_HTTP_LISTEN_DEFAULT ")" },
        { "http-url-file", DTX_OPT_STRING, cfg->http_url_file, 0, 0,
          "write the admin URL to this file once listening" },
        { "admin-token-file", DTX_OPT_STRING, cfg->admin_token_file, 0, 0,
          "bearer tokens, one name:token per line; without it nothing can be changed over HTTP" },
        { "http-read-token-required", DTX_OPT_BOOL, &cfg->http_read_token_required, 0, 1,
          "reads (list, show, metrics) need a token too" },
        { "http-tls-cert", DTX_OPT_STRING, cfg->http_tls_cert, 0, 0,
          "PEM certificate: serve HTTPS (with --http-tls-key)" },
        { "http-tls-key", DTX_OPT_STRING, cfg->http_tls_key, 0, 0, "PEM private key for HTTPS" },
        { "http-max-body", DTX_OPT_INT, &cfg->http_max_body, 1024, 64 << 20,
          "largest admin request body in bytes; larger gets 413 (default 1048576)" },
        { "http-request-timeout", DTX_OPT_INT, &cfg->http_request_timeout_s, 1, 3600,
          "seconds a client has to send a whole admin request, however slowly it trickles; "
          "then the connection is closed (default 10)" },
        { "http-per-ip-connections", DTX_OPT_INT, &cfg->http_per_ip_connections, 1, 256,
          "open admin connections one client address may hold (default 32)" },
        { "admin-allow-host", DTX_OPT_STRING, cfg->admin_allow_host, 0, 0,
          "more names the admin API answers to in the Host header, comma-separated, '*' for "
          "any (always: localhost, 127.0.0.1, [::1] and the --http-listen host)" },
        { "curve-secret-file", DTX_OPT_STRING, cfg->curve_secret_file, 0, 0,
          "this coordinator's CURVE key pair (dtxctl keygen): every peer must authenticate" },
        { "curve-allow-file", DTX_OPT_STRING, cfg->curve_allow_file, 0, 0,
          "public keys allowed in and their roles, one per line; re-read on SIGHUP" },
        { "max-txns", DTX_OPT_INT, &cfg->max_txns, 0, 100000000,
          "transactions in memory; past it BEGIN answers ELIMIT, retry later; 0 = no limit (default 100000)" },
        { "max-branches", DTX_OPT_INT, &cfg->max_branches, 0, 10000000,
          "branches per transaction; 0 = no limit (default 1000)" },
        { "max-txn-payload", DTX_OPT_INT, &cfg->max_txn_payload, 0, 1ll << 40,
          "TRY payload bytes per transaction; 0 = no limit (default 16777216)" },
        { "max-payload", DTX_OPT_INT, &cfg->max_payload, 0, 1ll << 46,
          "TRY payload bytes held in memory in all; 0 = no limit (default 1073741824)" },
        { "max-resources", DTX_OPT_INT, &cfg->max_resources, 0, 1000000,
          "resources one participant connection may serve; 0 = no limit (default 64)" },
        { "max-registrations", DTX_OPT_INT, &cfg->max_registrations, 0, 1000000,
          "REGISTERs per second per connection; 0 = no limit (default 100)" },
        { "max-peer-rate", DTX_OPT_INT, &cfg->max_peer_rate, 0, 100000000,
          "requests per second per connection (replies are not counted); 0 = no limit (default 50000)" },
        { "max-instances", DTX_OPT_INT, &cfg->max_instances, 0, 10000000,
          "participant connections registered at once; 0 = no limit (default 10000)" },
        { "bundle", DTX_OPT_STRING, cfg->bundle_opt, 0, 0,
          "on: PHASEs to one participant connection in one loop turn go as one BUNDLE frame "
          "when it asked for them, and REGISTER_OK offers BUNDLEs of replies (docs/protocol.md "
          "§20); off: neither; 1 and 0 mean the same (default on)" },
        { NULL, 0, NULL, 0, 0, NULL },
    };
    int rc = dtx_config_load(opts, "dtxd", "DTX_", argc, argv, err, errlen);
    if (rc != 0)
        return rc;
    if (!cfg->db[0]) {
        snprintf(err, errlen, "--db: required (libpq conninfo, e.g. \"host=/tmp dbname=dtx\")");
        return DTX_ECONFIG;
    }
    if (dtx_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, errlen, "--log-level: '%.32s' is not one of error, warn, info, debug",
                 cfg->log_level);
        return DTX_ECONFIG;
    }
    if (!dtx_log_format_handler(cfg->log_format)) {
        snprintf(err, errlen, "--log-format: '%.32s' is not one of text, json", cfg->log_format);
        return DTX_ECONFIG;
    }
    if (!dtx_name_valid(cfg->node_id)) {
        snprintf(err, errlen, "--node-id: '%.64s' must be 1..63 characters of [A-Za-z0-9._:-]",
                 cfg->node_id);
        return DTX_ECONFIG;
    }
    if (cfg->cell[0] && !dtx_cell_valid(cfg->cell)) {
        snprintf(err, errlen, "--cell: '%.32s' must be a lower-case letter and up to 15 more of "
                 "[a-z0-9-]", cfg->cell);
        return DTX_ECONFIG;
    }
    if (cfg->default_timeout_ms > cfg->max_timeout_ms) {
        snprintf(err, errlen, "--default-timeout-ms: %lld is above --max-timeout-ms %lld",
                 (long long)cfg->default_timeout_ms, (long long)cfg->max_timeout_ms);
        return DTX_ECONFIG;
    }
    if (cfg->retry_base_ms > cfg->retry_max_ms) {
        snprintf(err, errlen, "--retry-base-ms: %lld is above --retry-max-ms %lld",
                 (long long)cfg->retry_base_ms, (long long)cfg->retry_max_ms);
        return DTX_ECONFIG;
    }
    cfg->retention_ms = dtx_duration_parse_ms(cfg->retention);
    if (cfg->retention_ms < 0) {
        snprintf(err, errlen, "--retention: '%.32s' is not a duration like 12h, 7d or 0 (keep forever)",
                 cfg->retention);
        return DTX_ECONFIG;
    }
    /* 1 and 0 too: DTX_BUNDLE=0, libdtx's switch, reaches dtxd as this
     * option's variable, and then means off here as well. */
    if (strcmp(cfg->bundle_opt, "on") == 0 || strcmp(cfg->bundle_opt, "1") == 0) {
        cfg->bundle = 1;
    } else if (strcmp(cfg->bundle_opt, "off") == 0 || strcmp(cfg->bundle_opt, "0") == 0) {
        cfg->bundle = 0;
    } else {
        snprintf(err, errlen, "--bundle: '%.32s' is not one of on, off", cfg->bundle_opt);
        return DTX_ECONFIG;
    }
    if (s_fault_configure(cfg->fault, err, errlen) != 0)
        return DTX_ECONFIG;
    return 0;
}
