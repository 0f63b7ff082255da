/*
 * main.c — dtx-gateway: the ingress gateway.
 *
 *   dtx-gateway --config FILE [--listen HOST:PORT] [--admin-listen HOST:PORT]
 *               [--admin-token TOKEN] [--dtxd-token TOKEN | --dtxd-token-file FILE]
 *               [--ready-file FILE] [--log-level LEVEL]
 *
 * Options come from the command line, the environment (DTX_GW_CONFIG,
 * DTX_GW_LISTEN, ...) or defaults. --listen / --admin-listen override the
 * configuration's listen addresses (port 0 picks a free port);
 * --ready-file gets "PROXY_PORT ADMIN_PORT" once both listen.
 * --dtxd-token / --dtxd-token-file (env DTX_GW_DTXD_TOKEN,
 * DTX_GW_DTXD_TOKEN_FILE; the token, or a name:token line, as dtxctl reads
 * it) give the bearer token for dtxd's admin /metrics, over
 * dtxd.admin_token; a token file that cannot be read is a configuration
 * error.
 * SIGHUP reloads FILE (as PUT /config would); SIGTERM/SIGINT stop: no
 * new connections, requests in flight get up to 5 s, then exit 0.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dtx/types.h"
#include "dtx/config.h"
#include "dtx/log.h"
#include "app/gw_admin.h"
#include "config/gw_config.h"
#include "config/gw_config_parse.h"
#include "app/gw_dtxd_watch.h"
#include "app/gw_health.h"
#include "upstream/gw_proxy.h"
#include "front/gw_server.h"

static char s_config[DTX_OPT_STRMAX];
static char s_listen[DTX_OPT_STRMAX];
static char s_admin_listen[DTX_OPT_STRMAX];
static char s_admin_token[DTX_OPT_STRMAX];
static char s_dtxd_token[DTX_OPT_STRMAX];
static char s_dtxd_token_file[DTX_OPT_STRMAX];
static char s_ready_file[DTX_OPT_STRMAX];
static char s_log_level[DTX_OPT_STRMAX] = "info";
static int64_t s_grace_ms = 5000;
static int64_t s_workers = 0;

static const dtx_opt_t s_opts[] = {
    { "file", DTX_OPT_STRING, s_config, 0, 0, "JSON configuration file (required)" },
    { "listen", DTX_OPT_STRING, s_listen, 0, 0, "proxy HOST:PORT (overrides the file)" },
    { "admin-listen", DTX_OPT_STRING, s_admin_listen, 0, 0,
      "admin API HOST:PORT (overrides the file)" },
    { "admin-token", DTX_OPT_STRING, s_admin_token, 0, 0,
      "admin API token (overrides admin.token)" },
    { "dtxd-token", DTX_OPT_STRING, s_dtxd_token, 0, 0,
      "bearer token for dtxd's admin /metrics (overrides dtxd.admin_token)" },
    { "dtxd-token-file", DTX_OPT_STRING, s_dtxd_token_file, 0, 0,
      "file holding that token, or a name:token line (as dtxctl --token-file)" },
    { "ready-file", DTX_OPT_STRING, s_ready_file, 0, 0,
      "write \"PROXY_PORT ADMIN_PORT\" here once listening" },
    { "log-level", DTX_OPT_STRING, s_log_level, 0, 0, "error, warn, info, debug" },
    { "grace-ms", DTX_OPT_INT, &s_grace_ms, 0, 600000,
      "how long requests in flight may finish on stop" },
    { "workers", DTX_OPT_INT, &s_workers, 0, 64,
      "event loops serving requests (0: one per CPU)" },
    { NULL, DTX_OPT_STRING, NULL, 0, 0, NULL }
};

static int s_write_ready(const char *path, int port, int admin_port)
{
    char tmp[DTX_OPT_STRMAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return DTX_EIO;
    fprintf(f, "%d %d\n", port, admin_port);
    if (fclose(f) != 0)
        return DTX_EIO;
    return rename(tmp, path) == 0 ? 0 : DTX_EIO;
}

int main(int argc, char **argv)
{
    char err[1024];
    dtx_log_set_handler(dtx_log_stderr, "dtx-gateway");
    /* The shared option loader reserves --config for `name = value`
     * files; ours names the gateway's JSON, so it is passed on as --file. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    char *spelled = NULL;
    if (!args)
        return 1;
    for (int i = 0; i < argc; i++) {
        args[i] = argv[i];
        if (strcmp(argv[i], "--config") == 0) {
            args[i] = "--file";
        } else if (strncmp(argv[i], "--config=", 9) == 0 && !spelled) {
            spelled = malloc(strlen(argv[i]) + 1);
            if (spelled) {
                sprintf(spelled, "--file=%s", argv[i] + 9);
                args[i] = spelled;
            }
        }
    }
    int rc = dtx_config_load(s_opts, "dtx-gateway", "DTX_GW_", argc, args, err, sizeof err);
    free(args);
    free(spelled);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "dtx-gateway: %s\n", err);
        return 2;
    }
    int level = dtx_log_level_parse(s_log_level);
    if (level < 0) {
        fprintf(stderr, "dtx-gateway: --log-level: '%s' is not a level\n", s_log_level);
        return 2;
    }
    dtx_log_set_level(level);
    if (!*s_config) {
        fprintf(stderr, "dtx-gateway: --config FILE is required\n");
        return 2;
    }
    if (*s_dtxd_token && !dtx_gw_dtxd_token_ok(s_dtxd_token)) {
        fprintf(stderr, "dtx-gateway: --dtxd-token: must be 1-%d printable characters without "
                        "spaces\n", DTX_GW_DTXD_TOKEN_MAX);
        return 2;
    }
    if (*s_dtxd_token_file && !*s_dtxd_token &&
        dtx_gw_dtxd_token_load(s_dtxd_token_file, s_dtxd_token, sizeof s_dtxd_token, err,
                               sizeof err) < 0) {
        fprintf(stderr, "dtx-gateway: --dtxd-token-file: %s\n", err);
        return 2;
    }
    dtx_gw_config_t *cfg = dtx_gw_config_load(s_config, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "dtx-gateway: %s\n", err);
        return 2;
    }
    const char *listen = *s_listen ? s_listen : cfg->listen;
    const char *admin_listen = *s_admin_listen ? s_admin_listen : cfg->admin_listen;
    char listen_copy[DTX_OPT_STRMAX], admin_copy[DTX_OPT_STRMAX];
    snprintf(listen_copy, sizeof listen_copy, "%s", listen);
    snprintf(admin_copy, sizeof admin_copy, "%s", admin_listen);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* libcurl serves the health checks and the dtxd watch (the proxy
     * path has its own HTTP/1.1 client): set up once, before any thread. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        dtx_log_error("libcurl set-up failed", NULL);
        dtx_gw_config_destroy(&cfg);
        return 1;
    }
    int status = 1;
    dtx_gw_shared_t shared;
    dtx_gw_current_t current;
    dtx_gw_runtime_t *rt = NULL;
    if (dtx_gw_shared_init(&shared) == 0)
        rt = dtx_gw_runtime_build(cfg, NULL, &shared);
    else
        dtx_gw_config_destroy(&cfg);
    dtx_gw_current_init(&current, rt);
    dtx_gw_server_t *server = rt ? dtx_gw_server_start(listen_copy, &current, (int)s_workers) : NULL;
    dtx_gw_admin_t *admin = server ? dtx_gw_admin_start(admin_copy, &current,
                                                        *s_admin_token ? s_admin_token : NULL)
                                   : NULL;
    dtx_gw_health_t *health = admin ? dtx_gw_health_start(&current) : NULL;
    dtx_gw_dtxd_watch_t *watch = health ? dtx_gw_dtxd_watch_start(&current, &shared.dtxd,
                                                                  s_dtxd_token)
                                        : NULL;
    memset(s_dtxd_token, 0, sizeof s_dtxd_token);  /* the watch has its copy */
    if (!watch)
        goto out;
    /* rt went to `current`: a swap may already have replaced and freed
     * it, so the counts come from the generation in force now. */
    dtx_gw_runtime_t *now = dtx_gw_current_acquire(&current);
    dtx_log_info("listening", "port=%d admin_port=%d routes=%d pools=%d rules=%d",
                 dtx_gw_server_port(server), dtx_gw_admin_port(admin), now->nroutes,
                 now->npools, now->nrules);
    dtx_gw_runtime_unref(&now);
    if (*s_ready_file &&
        s_write_ready(s_ready_file, dtx_gw_server_port(server), dtx_gw_admin_port(admin)) < 0) {
        dtx_log_error("cannot write ready file", "path=%s", s_ready_file);
        goto out;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        dtx_gw_config_t *next = dtx_gw_config_load(s_config, err, sizeof err);
        if (!next) {
            dtx_log_error("reload refused", "detail=\"%s\"", err);
            continue;
        }
        uint64_t gen = 0;
        if (dtx_gw_current_apply(&current, next, &gen) == 0)
            dtx_log_info("configuration reloaded", "generation=%llu", (unsigned long long)gen);
    }
    dtx_log_info("stopping", "in_flight=%d", dtx_gw_server_in_flight(server));
    status = 0;
out:
    dtx_gw_server_stop(&server, (int)s_grace_ms);
    dtx_gw_health_stop(&health);
    dtx_gw_admin_stop(&admin);
    dtx_gw_dtxd_watch_stop(&watch);
    dtx_gw_current_fini(&current);
    dtx_gw_shared_fini(&shared);
    curl_global_cleanup();
    return status;
}
