/*
 * main.c — dtx-gateway: the ingress gateway.
 *
 *   dtx-gateway --config FILE [--listen HOST:PORT] [--admin-listen HOST:PORT]
 *               [--admin-token TOKEN | --admin-token-file FILE]
 *               [--dtxd-token TOKEN | --dtxd-token-file FILE]
 *               [--admin-request-ms N] [--ready-file FILE] [--log-level LEVEL]
 *               [--log-format text|json]
 *
 * Options come from the command line, the environment (DTX_GW_FILE for
 * the configuration, DTX_GW_LISTEN, ...) or defaults. --config names the
 * gateway's JSON document (the shared option loader's own --config, a
 * `name = value` file, is not used here: this program hands its --config
 * on as --file, and refuses DTX_GW_CONFIG rather than read JSON as
 * options). --listen / --admin-listen override the configuration's listen
 * addresses (port 0 picks a free port); --ready-file gets "PROXY_PORT
 * ADMIN_PORT" once both listen. --admin-token / --admin-token-file (one
 * line: the token) override admin.token and must be as strong as it
 * (config/gw_config_admin.h). --dtxd-token / --dtxd-token-file (env
 * DTX_GW_DTXD_TOKEN, DTX_GW_DTXD_TOKEN_FILE; the token, or a name:token
 * line, as dtxctl reads it) give the bearer token for dtxd's admin
 * /metrics, over dtxd.admin_token; a token file that cannot be read is a
 * configuration error.
 * --version prints the version (VERSION, through dtx/version.h). Under
 * systemd (Type=notify, dtx/notify.h): READY=1 once both listen (after the
 * ready file), RELOADING=1 ... READY=1 around a SIGHUP reload, STOPPING=1
 * on stop.
 * SIGHUP reloads FILE (as PUT /config would, refusing a change of a
 * listen address, which needs a restart); SIGTERM/SIGINT stop: no new
 * connections, requests in flight get up to --grace-ms, then exit 0.
 * Exit codes: 0 clean stop (or --help), 1 runtime failure (cannot bind,
 * out of memory, cannot write the ready file), 2 bad configuration or
 * command line: every problem found before the gateway starts.
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
#include "dtx/notify.h"
#include "dtx/version.h"
#include "app/gw_admin.h"
#include "config/gw_config.h"
#include "config/gw_config_admin.h"
#include "config/gw_config_parse.h"
#include "app/gw_dtxd_watch.h"
#include "filters/gw_cluster.h"
#include "app/gw_health.h"
#include "app/gw_discovery_watch.h"
#include "upstream/gw_proxy.h"
#include "front/gw_server.h"

static char s_config[DTX_OPT_STRMAX];
static char s_listen[DTX_OPT_STRMAX];
static char s_admin_listen[DTX_OPT_STRMAX];
static char s_admin_token[DTX_OPT_STRMAX];
static char s_admin_token_file[DTX_OPT_STRMAX];
static int64_t s_admin_request_ms = 10000;
static char s_dtxd_token[DTX_OPT_STRMAX];
static char s_dtxd_token_file[DTX_OPT_STRMAX];
static char s_ready_file[DTX_OPT_STRMAX];
static char s_log_level[DTX_OPT_STRMAX] = "info";
static char s_log_format[DTX_OPT_STRMAX] = "text";
static int64_t s_grace_ms = 5000;
static int64_t s_workers = 0;
static char s_engine[DTX_OPT_STRMAX];
static char s_send_ring[DTX_OPT_STRMAX];
static char s_accept_balance[DTX_OPT_STRMAX];
static char s_zone[DTX_OPT_STRMAX];

static const dtx_opt_t s_opts[] = {
    /* --config FILE on the command line (s_args), DTX_GW_FILE in the environment */
    { "file", DTX_OPT_STRING, s_config, 0, 0, "the gateway's JSON configuration (required)" },
    { "listen", DTX_OPT_STRING, s_listen, 0, 0, "proxy HOST:PORT (overrides the file)" },
    { "admin-listen", DTX_OPT_STRING, s_admin_listen, 0, 0,
      "admin API HOST:PORT (overrides the file)" },
    { "admin-token", DTX_OPT_STRING, s_admin_token, 0, 0,
      "admin API token, 16+ random characters (overrides admin.token)" },
    { "admin-token-file", DTX_OPT_STRING, s_admin_token_file, 0, 0,
      "file holding the admin API token on one line (overrides admin.token)" },
    { "admin-request-ms", DTX_OPT_INT, &s_admin_request_ms, 100, 600000,
      "an admin connection must send a whole request within this" },
    { "dtxd-token", DTX_OPT_STRING, s_dtxd_token, 0, 0,
      "bearer token for dtxd's admin /metrics (overrides dtxd.admin_token)" },
    { "dtxd-token-file", DTX_OPT_STRING, s_dtxd_token_file, 0, 0,
      "file holding that token, or a name:token line (as dtxctl --token-file)" },
    { "ready-file", DTX_OPT_STRING, s_ready_file, 0, 0,
      "write \"PROXY_PORT ADMIN_PORT\" here once listening" },
    { "log-level", DTX_OPT_STRING, s_log_level, 0, 0, "error, warn, info, debug" },
    { "log-format", DTX_OPT_STRING, s_log_format, 0, 0,
      "text (key=value lines, the default) or json (one object a line)" },
    { "grace-ms", DTX_OPT_INT, &s_grace_ms, 0, 600000,
      "how long requests in flight may finish on stop" },
    { "workers", DTX_OPT_INT, &s_workers, 0, 64,
      "event loops serving requests (0: one per CPU)" },
    { "engine", DTX_OPT_STRING, s_engine, 0, 0,
      "native or mhd: what serves the proxy's connections (overrides server.engine)" },
    { "send-ring", DTX_OPT_STRING, s_send_ring, 0, 0,
      "on (the default) or off: the native engine's small writes batched through io_uring" },
    { "accept-balance", DTX_OPT_STRING, s_accept_balance, 0, 0,
      "on (the default) or off: a native worker holding 2 connections more than the "
      "least loaded hands a new one to it" },
    { "zone", DTX_OPT_STRING, s_zone, 0, 0,
      "the gateway's zone: its targets are preferred (overrides \"zone\" in the file)" },
    { NULL, DTX_OPT_STRING, NULL, 0, 0, NULL }
};

/* The front's options: --workers, --engine, --send-ring, --accept-balance
 * (checked in main), else the
 * configuration's "server" section, else the server's defaults. */
static void s_server_opts(dtx_gw_server_opts_t *o, const dtx_gw_config_t *cfg)
{
    dtx_gw_server_opts_default(o);
    o->workers = (int)s_workers;
    if (*s_engine)
        o->engine = strcmp(s_engine, "mhd") == 0 ? DTX_GW_ENGINE_MHD : DTX_GW_ENGINE_NATIVE;
    else if (cfg->server_engine != DTX_GW_SERVER_ENGINE_DEFAULT)
        o->engine = cfg->server_engine == DTX_GW_SERVER_ENGINE_MHD ? DTX_GW_ENGINE_MHD
                                                                   : DTX_GW_ENGINE_NATIVE;
    if (*s_send_ring)
        o->send_ring = strcmp(s_send_ring, "off") != 0;
    if (strcmp(s_accept_balance, "off") == 0)
        o->native.balance_slack = 0;
    o->native.header_timeout_ms = cfg->server_header_timeout_ms;
    o->native.body_timeout_ms = cfg->server_body_timeout_ms;
    o->native.idle_timeout_ms = cfg->server_idle_timeout_ms;
    o->native.send_timeout_ms = cfg->server_send_timeout_ms;
    o->native.max_head = cfg->server_max_head;
}

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

/* --help: the loader's text would describe its own --config (a
 * `name = value` file); ours names the JSON document. */
static void s_usage(FILE *out)
{
    fprintf(out, "usage: dtx-gateway --config FILE [options]\n\n"
                 "options (environment variable in brackets):\n");
    fprintf(out, "  --%-22s %s [DTX_GW_FILE]\n", "config FILE",
            "the gateway's JSON configuration (required)");
    for (const dtx_opt_t *o = s_opts; o->name; o++) {
        if (strcmp(o->name, "file") == 0)
            continue;
        char env[96], flag[64];
        int n = snprintf(env, sizeof env, "DTX_GW_");
        for (const char *p = o->name; *p && n < (int)sizeof env - 1; p++)
            env[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        env[n] = '\0';
        snprintf(flag, sizeof flag, "%s%s", o->name, o->kind == DTX_OPT_INT ? " N" : " VALUE");
        fprintf(out, "  --%-22s %s [%s]\n", flag, o->help, env);
    }
    fprintf(out, "  --%-22s %s\n", "help", "print this text");
    fprintf(out, "  --%-22s %s\n", "version", "print the version");
    fprintf(out, "\nPrecedence: command line > environment > default.\n"
                 "Exit codes: 0 clean stop, 1 runtime failure, 2 bad configuration or "
                 "command line.\n");
}

/* A copy of argv with every --config / --config=FILE spelled --file for
 * the loader (which keeps --config for itself). NULL when out of memory;
 * free with s_args_free. */
static char **s_args(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 1, sizeof *args);
    for (int i = 0; args && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--config") == 0)
            a = "--file";
        else if (strncmp(a, "--config=", 9) == 0) {
            char *spelled = malloc(strlen(a) + 1);
            if (!spelled) {
                for (int k = 0; k < i; k++)
                    free(args[k]);
                free(args);
                return NULL;
            }
            sprintf(spelled, "--file=%s", a + 9);
            args[i] = spelled;
            continue;
        }
        args[i] = strdup(a);
        if (!args[i]) {
            for (int k = 0; k < i; k++)
                free(args[k]);
            free(args);
            return NULL;
        }
    }
    return args;
}

static void s_args_free(char **args, int argc)
{
    for (int i = 0; args && i < argc; i++)
        free(args[i]);
    free(args);
}

/* A listen address given on the command line or in the file: 0, or 2
 * after saying what is wrong. */
static int s_listen_ok(const char *what, const char *listen)
{
    struct sockaddr_in sa;
    char why[160];
    if (dtx_gw_listen_parse(listen, &sa, why, sizeof why) == 0)
        return 0;
    fprintf(stderr, "dtx-gateway: %s: '%s' %s\n", what, listen, why);
    return 2;
}

/* The cluster-limit engine and its sync thread when cfg has a "cluster"
 * section (filters/gw_cluster.h). 0, or -1 (logged). */
static int s_cluster_start(dtx_gw_shared_t *shared, const dtx_gw_config_t *cfg)
{
    if (!cfg->cluster)
        return 0;
    dtx_gw_cluster_transport_t tr;
    if (dtx_gw_cluster_redis_transport(cfg->cluster, &tr) < 0 ||
        !(shared->cluster = dtx_gw_cluster_new(cfg->cluster, &tr, NULL)) ||
        dtx_gw_cluster_start(shared->cluster) < 0) {
        dtx_log_error("cluster: cannot start the sync thread", NULL);
        dtx_gw_cluster_destroy(&shared->cluster);
        return -1;
    }
    dtx_log_info("cluster: limits shared through Redis", "redis=%s instance=%s failure=%s",
                 cfg->cluster->redis, cfg->cluster->instance,
                 cfg->cluster->fail_closed ? "fail_closed" : "fail_open");
    return 0;
}

int main(int argc, char **argv)
{
    char err[1024];
    dtx_log_set_handler(dtx_log_stderr, "dtx-gateway");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("dtx-gateway %s\n", DTX_VERSION_STRING);
            return 0;
        }
    if (getenv("DTX_GW_CONFIG")) {
        fprintf(stderr, "dtx-gateway: DTX_GW_CONFIG is not read: name the JSON configuration "
                        "with --config FILE or DTX_GW_FILE\n");
        return 2;
    }
    char **args = s_args(argc, argv);
    if (!args)
        return 1;
    int rc = dtx_config_load(s_opts, "dtx-gateway", "DTX_GW_", argc, args, err, sizeof err);
    s_args_free(args, argc);
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
    dtx_log_fn handler = dtx_log_format_handler(s_log_format);
    if (!handler) {
        fprintf(stderr, "dtx-gateway: --log-format: '%s' is not text or json\n", s_log_format);
        return 2;
    }
    dtx_log_set_handler(handler, "dtx-gateway");
    if (!*s_config) {
        fprintf(stderr, "dtx-gateway: --config FILE is required\n");
        return 2;
    }
    if (*s_engine && strcmp(s_engine, "native") != 0 && strcmp(s_engine, "mhd") != 0) {
        fprintf(stderr, "dtx-gateway: --engine: '%s' is not native or mhd\n", s_engine);
        return 2;
    }
    if (*s_send_ring && strcmp(s_send_ring, "on") != 0 && strcmp(s_send_ring, "off") != 0) {
        fprintf(stderr, "dtx-gateway: --send-ring: '%s' is not on or off\n", s_send_ring);
        return 2;
    }
    if (*s_accept_balance && strcmp(s_accept_balance, "on") != 0 &&
        strcmp(s_accept_balance, "off") != 0) {
        fprintf(stderr, "dtx-gateway: --accept-balance: '%s' is not on or off\n",
                s_accept_balance);
        return 2;
    }
    if (*s_listen && s_listen_ok("--listen", s_listen))
        return 2;
    if (*s_admin_listen && s_listen_ok("--admin-listen", s_admin_listen))
        return 2;
    for (const char *z = s_zone; *z; z++)
        if (!((*z >= 'a' && *z <= 'z') || (*z >= 'A' && *z <= 'Z') || (*z >= '0' && *z <= '9') ||
              *z == '.' || *z == '_' || *z == '-') || z - s_zone >= 64) {
            fprintf(stderr, "dtx-gateway: --zone: must be 1-64 of [A-Za-z0-9._-]\n");
            return 2;
        }
    char why[160];
    if (*s_admin_token && dtx_gw_admin_token_check(s_admin_token, why, sizeof why) < 0) {
        fprintf(stderr, "dtx-gateway: --admin-token: the token %s\n", why);
        return 2;
    }
    if (*s_admin_token_file && !*s_admin_token &&
        dtx_gw_admin_token_load(s_admin_token_file, s_admin_token, sizeof s_admin_token, err,
                                sizeof err) < 0) {
        fprintf(stderr, "dtx-gateway: --admin-token-file: %s\n", err);
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
    dtx_gw_server_opts_t sopts;
    s_server_opts(&sopts, cfg);
    int admin_token_given = *s_admin_token != '\0';
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
    if (dtx_gw_shared_init(&shared) == 0 && s_cluster_start(&shared, cfg) == 0) {
        snprintf(shared.zone, sizeof shared.zone, "%.64s", s_zone);
        rt = dtx_gw_runtime_build(cfg, NULL, &shared);
    }
    else
        dtx_gw_config_destroy(&cfg);
    dtx_gw_current_init(&current, rt);
    dtx_gw_server_t *server = rt ? dtx_gw_server_start(listen_copy, &current, &sopts) : NULL;
    dtx_gw_admin_t *admin = server ? dtx_gw_admin_start(admin_copy, &current, server,
                                                        *s_admin_token ? s_admin_token : NULL,
                                                        s_admin_request_ms)
                                   : NULL;
    dtx_gw_token_wipe(s_admin_token, sizeof s_admin_token);  /* the admin has its copy */
    dtx_gw_health_t *health = admin ? dtx_gw_health_start(&current) : NULL;
    dtx_gw_dtxd_watch_t *watch = health ? dtx_gw_dtxd_watch_start(&current, &shared.dtxd,
                                                                  s_dtxd_token)
                                        : NULL;
    memset(s_dtxd_token, 0, sizeof s_dtxd_token);  /* the watch has its copy */
    dtx_gw_discovery_watch_t *discovery = watch ? dtx_gw_discovery_watch_start(&current) : NULL;
    if (!discovery)
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
    if (dtx_notify_ready("listening: port %d, admin port %d", dtx_gw_server_port(server),
                         dtx_gw_admin_port(admin)) != 0)
        dtx_log_warn("cannot notify the service manager", "state=READY");
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        dtx_notify_reloading();
        dtx_gw_config_t *next = dtx_gw_config_load(s_config, err, sizeof err);
        if (!next) {
            dtx_log_error("reload refused", "detail=\"%s\"", DTX_Q(err));
            dtx_notify_ready("reload refused: configuration invalid, the previous one serves");
            continue;
        }
        dtx_gw_runtime_t *running = dtx_gw_current_acquire(&current);
        const char *field = dtx_gw_config_restart_field(running ? running->cfg : NULL, next);
        int dropped = running && running->cfg->admin_token && !next->admin_token;
        dtx_gw_runtime_unref(&running);
        if (field) {
            dtx_log_error("reload refused", "field=%s detail=\"bound at start: a restart "
                          "applies it\"", field);
            dtx_gw_config_destroy(&next);
            dtx_notify_ready("reload refused: %s needs a restart", field);
            continue;
        }
        if (dropped && !admin_token_given)
            dtx_log_warn("reload removes admin.token", "detail=\"the admin API refuses "
                         "/config calls until a token is set again\"");
        uint64_t gen = 0;
        if (dtx_gw_current_apply(&current, next, &gen) == 0) {
            dtx_log_info("configuration reloaded", "generation=%llu", (unsigned long long)gen);
            dtx_notify_ready("listening: configuration generation %llu", (unsigned long long)gen);
        } else {
            dtx_notify_ready("reload failed: the previous configuration serves");
        }
    }
    dtx_notify_stopping("stopping: %d requests in flight", dtx_gw_server_in_flight(server));
    dtx_log_info("stopping", "in_flight=%d", dtx_gw_server_in_flight(server));
    status = 0;
out:
    dtx_gw_admin_forget_server(admin);  /* its /metrics reads the server's workers */
    dtx_gw_server_stop(&server, (int)s_grace_ms);
    dtx_gw_discovery_watch_stop(&discovery);
    dtx_gw_health_stop(&health);
    dtx_gw_admin_stop(&admin);
    dtx_gw_dtxd_watch_stop(&watch);
    dtx_gw_current_fini(&current);
    dtx_gw_cluster_destroy(&shared.cluster);
    dtx_gw_shared_fini(&shared);
    curl_global_cleanup();
    return status;
}
