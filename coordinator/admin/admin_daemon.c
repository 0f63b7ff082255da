/*
 * admin_daemon.c — the HTTP daemon's life inside the event loop: the
 * listening socket, TLS, the admin store, libmicrohttpd without threads of
 * its own (its epoll descriptor is polled by loop.c), and the shutdown
 * that answers whatever still waits. See admin_http.h.
 *
 * Security defaults: 127.0.0.1 only; every call that changes something
 * needs a bearer token (reads too with --http-read-token-required); there
 * are no default tokens, so without a token file nothing can be changed
 * over HTTP; dtxd refuses a non-loopback address without tokens; bodies
 * over --http-max-body get 413; tokens and bodies are never logged.
 *
 * Slow clients: a connection has --http-request-timeout seconds to deliver
 * a whole request (from its opening, or from the end of its previous
 * answer), however slowly it trickles bytes — libmicrohttpd's own timeout
 * restarts with every byte, so it cannot stop that. A connection past its
 * deadline is shut down (shutdown(2); libmicrohttpd then closes it). One
 * client address may hold --http-per-ip-connections connections, so one
 * slow client cannot take all S_MAX_CONNECTIONS and /healthz stays
 * reachable for others.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin_http.h"
#include "admin_internal.h"
#include "dtx/clock.h"
#include "dtx/log.h"
#include "core/txntable.h"

#define S_MAX_CONNECTIONS 256
#define S_CONNECTION_TIMEOUT_S 30

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    dtx_log_warn("http server", "detail=\"%s\"", msg);
}

/* --- start / stop --- */

static char *s_read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        snprintf(err, errlen, "cannot read %s (empty or out of memory)", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int s_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a6) ||
               (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return 0;
}

/* Resolves "host:port" / "[v6]:port" and binds a listening socket. */
static int s_listen(const char *spec, int *fd_out, int *loopback, char *url, size_t urlcap,
                    int tls, int *bind_errno)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof host)
        return DTX_ECONFIG;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *h = host;
    if (h[0] == '[') {
        h++;
        h[strcspn(h, "]")] = '\0';
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    if (getaddrinfo(h, colon + 1, &hints, &ai) != 0 || !ai)
        return DTX_ECONFIG;
    *loopback = s_is_loopback(ai->ai_addr);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        *bind_errno = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return DTX_EIO;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    snprintf(url, urlcap, ss.ss_family == AF_INET6 ? "%s://[%s]:%d" : "%s://%s:%d",
             tls ? "https" : "http", ip, port);
    freeaddrinfo(ai);
    *fd_out = fd;
    return 0;
}

static int s_write_url_file(const char *path, const char *url)
{
    char tmp[DTX_OPT_STRMAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", url) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        dtx_log_error("cannot write the http url file", "path=%s error=\"%s\"", path,
                      strerror(errno));
        return DTX_ECONFIG; /* an option to change (exit 2), found before the lease */
    }
    return 0;
}

int dtx_admin_start(dtx_coord_t *co)
{
    const dtx_coord_config_t *cfg = &co->cfg;
    if (!cfg->http_listen[0] || strcmp(cfg->http_listen, "off") == 0) {
        dtx_log_info("admin http off", "%s", "");
        return 0;
    }
    char err[256] = "";
    int rc = DTX_ECONFIG, fd = -1, loopback = 0, bind_errno = 0;
    int tls = cfg->http_tls_cert[0] || cfg->http_tls_key[0];
    dtx_admin_t *a = calloc(1, sizeof *a);
    if (!a)
        return DTX_ENOMEM;
    co->admin = a;
    a->co = co;
    a->epoll_fd = -1;
    a->linger_epfd = -1;
    a->tokens = dtx_admin_tokens_load(cfg->admin_token_file, err, sizeof err);
    if (!a->tokens) {
        dtx_log_error("bad admin token file", "error=\"%s\"", err);
        goto err;
    }
    if (tls) {
        if (!cfg->http_tls_cert[0] || !cfg->http_tls_key[0]) {
            dtx_log_error("tls needs both --http-tls-cert and --http-tls-key", "%s", "");
            goto err;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            dtx_log_error("this libmicrohttpd has no TLS support", "%s", "");
            goto err;
        }
        if (!(a->tls_cert = s_read_file(cfg->http_tls_cert, err, sizeof err)) ||
            !(a->tls_key = s_read_file(cfg->http_tls_key, err, sizeof err))) {
            dtx_log_error("cannot load tls files", "error=\"%s\"", err);
            goto err;
        }
    }
    rc = s_listen(cfg->http_listen, &fd, &loopback, a->url, sizeof a->url, tls, &bind_errno);
    if (rc == DTX_ECONFIG) {
        dtx_log_error("bad --http-listen: expected host:port, [v6]:port or off", "value=%s",
                      cfg->http_listen);
        goto err;
    }
    if (rc != 0) {
        if (strcmp(cfg->http_listen, DTX_HTTP_LISTEN_DEFAULT) == 0) {
            dtx_log_error("admin http disabled: cannot listen on the default address; "
                          "give --http-listen",
                          "address=%s error=\"%s\"", cfg->http_listen, strerror(bind_errno));
            dtx_admin_stop(co);
            return 0;
        }
        dtx_log_error("cannot listen for http", "address=%s error=\"%s\"", cfg->http_listen,
                      strerror(bind_errno));
        rc = DTX_ECONFIG; /* an option to change, found before the lease is taken */
        goto err;
    }
    if (!loopback && dtx_admin_tokens_count(a->tokens) == 0) {
        close(fd);
        rc = DTX_ECONFIG;
        dtx_log_error("refusing to serve http on a non-loopback address without tokens; "
                      "give --admin-token-file",
                      "address=%s", cfg->http_listen);
        goto err;
    }
    if (!loopback && !tls)
        dtx_log_warn("admin http on a non-loopback address without TLS: tokens travel in clear",
                     "address=%s", cfg->http_listen);
    int err_code = 0;
    a->store = dtx_store_new(cfg->db, 1, 0, dtx_admin_sql, DTX_ASQL_COUNT, NULL, &err_code);
    if (!a->store) {
        close(fd);
        rc = err_code ? err_code : DTX_EDB;
        goto err;
    }
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (tls ? MHD_USE_TLS : 0);
    if (tls)
        a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, dtx_admin_mhd_request, a,
                                  MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, dtx_admin_mhd_completed, a,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_MAX_CONNECTIONS,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                  (unsigned)cfg->http_per_ip_connections,
                                  MHD_OPTION_NOTIFY_CONNECTION, dtx_admin_conn_notify, a,
                                  MHD_OPTION_HTTPS_MEM_CERT, a->tls_cert,
                                  MHD_OPTION_HTTPS_MEM_KEY, a->tls_key, MHD_OPTION_END);
    else
        a->mhd = MHD_start_daemon(flags, 0, NULL, NULL, dtx_admin_mhd_request, a,
                                  MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, dtx_admin_mhd_completed, a,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)S_MAX_CONNECTIONS,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)S_CONNECTION_TIMEOUT_S,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                  (unsigned)cfg->http_per_ip_connections,
                                  MHD_OPTION_NOTIFY_CONNECTION, dtx_admin_conn_notify, a,
                                  MHD_OPTION_END);
    if (!a->mhd) {
        close(fd);
        rc = DTX_EIO;
        dtx_log_error("cannot start the http server", "address=%s", cfg->http_listen);
        goto err;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    a->epoll_fd = info ? info->epoll_fd : -1;
    if (a->epoll_fd < 0 || dtx_admin_linger_init(a) != 0) {
        rc = DTX_EIO;
        goto err;
    }
    co->http_reply = dtx_admin_on_engine_reply;
    if (cfg->http_url_file[0] && (rc = s_write_url_file(cfg->http_url_file, a->url)) != 0)
        goto err;
    dtx_log_info("admin http listening", "url=%s tokens=%d read_token_required=%d", a->url,
                 dtx_admin_tokens_count(a->tokens), cfg->http_read_token_required);
    return 0;
err:
    dtx_admin_stop(co);
    return rc;
}

void dtx_admin_stop(dtx_coord_t *co)
{
    dtx_admin_t *a = co->admin;
    if (!a)
        return;
    co->http_reply = NULL;
    a->stopping = 1;
    /* Pending reads fail (their requests get 503), then whatever still
     * waits for the engine is answered before the daemon goes. */
    dtx_store_destroy(&a->store);
    for (int i = 0; i < a->nreqs; i++)
        if (!a->reqs[i]->status && a->reqs[i]->started)
            dtx_admin_respond_error(a->reqs[i], 503, "dtxd is stopping");
    if (a->mhd) {
        for (int i = 0; i < 3; i++)
            MHD_run(a->mhd);
        MHD_stop_daemon(a->mhd);
    }
    while (a->nreqs > 0)
        dtx_admin_req_free(a->reqs[0]);
    dtx_admin_conns_free(a);
    dtx_admin_linger_free(a);
    free(a->reqs);
    dtx_admin_tokens_destroy(&a->tokens);
    free(a->tls_cert);
    free(a->tls_key);
    free(a);
    co->admin = NULL;
}

/* --- the loop --- */

int dtx_admin_poll_items(dtx_coord_t *co, zmq_pollitem_t *items, int cap, int64_t *timeout_ms)
{
    dtx_admin_t *a = co->admin;
    if (!a || !a->mhd || cap < DTX_ADMIN_POLL_ITEMS)
        return 0;
    items[0].socket = NULL;
    items[0].fd = a->epoll_fd;
    items[0].events = ZMQ_POLLIN;
    items[0].revents = 0;
    items[1].socket = NULL;
    items[1].fd = a->linger_epfd;
    items[1].events = ZMQ_POLLIN;
    items[1].revents = 0;
    int n = 2 + dtx_store_poll_items(a->store, items + 2, cap - 2);
    MHD_UNSIGNED_LONG_LONG mt = 0;
    int64_t now = dtx_clock_mono_ms();
    a->mhd_due_ms = INT64_MAX;
    if (MHD_get_timeout(a->mhd, &mt) == MHD_YES) {
        a->mhd_due_ms = now + (int64_t)(mt < (MHD_UNSIGNED_LONG_LONG)INT32_MAX ? mt : INT32_MAX);
        if ((int64_t)mt < *timeout_ms)
            *timeout_ms = (int64_t)mt;
    }
    if (a->mhd_kick)
        *timeout_ms = 0;
    int64_t next = dtx_admin_conn_cut_slow(a, now);
    if (next < *timeout_ms)
        *timeout_ms = next;
    next = dtx_admin_linger_run(a, 0, now);
    if (next < *timeout_ms)
        *timeout_ms = next;
    return n;
}

static void s_on_sample(void *ctx, int rc, const PGresult *res)
{
    dtx_admin_t *a = ctx;
    a->sample_inflight = 0;
    int64_t stuck = rc == 0 && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    dtx_metrics_sample(&a->co->metrics, stuck, dtx_txn_count(a->co->txns));
}

/* Once a second: the stuck count (from the log, on the admin connection)
 * and the transactions in memory go into the series (core/series.h) and
 * the dtx_transactions_stuck gauge. A count still being read when the
 * next second comes keeps the last one for that second. */
static void s_sample_tick(dtx_admin_t *a, int64_t now_ms)
{
    if (now_ms < a->next_sample_ms)
        return;
    a->next_sample_ms = now_ms - now_ms % 1000 + 1000;
    if (a->sample_inflight || !a->store) {
        dtx_metrics_sample(&a->co->metrics, -1, dtx_txn_count(a->co->txns));
        return;
    }
    a->sample_inflight = 1;
    dtx_store_submit(a->store, 0, DTX_ASQL_STUCK_COUNT, 0, NULL, NULL, NULL, s_on_sample, a);
}

void dtx_admin_process(dtx_coord_t *co, const zmq_pollitem_t *items, int n, int64_t now_ms)
{
    dtx_admin_t *a = co->admin;
    if (!a || !a->mhd)
        return;
    if (n > 2)
        dtx_store_process(a->store, items + 2, n - 2);
    dtx_admin_conn_cut_slow(a, dtx_clock_mono_ms());
    if (n > 1 && (items[1].revents & ZMQ_POLLIN))
        dtx_admin_linger_run(a, 1, now_ms);
    /* MHD_run only with work to do: each run costs an epoll_wait. */
    if ((n > 0 && (items[0].revents & ZMQ_POLLIN)) || a->mhd_kick || now_ms >= a->mhd_due_ms) {
        a->mhd_kick = 0;
        MHD_run(a->mhd);
    }
    s_sample_tick(a, now_ms);
    dtx_store_maintain(a->store, now_ms);
    dtx_store_flush(a->store);
}
