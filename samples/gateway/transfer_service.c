/*
 * samples/gateway/transfer_service.c — a transfer service behind
 * dtx-gateway.
 *
 *   gw-transfer-service --coordinator tcp://127.0.0.1:7070 [--port 0]
 *                       [--ready-file FILE]
 *
 * POST /transfers {"from":"bank-a:alice","to":"bank-b:carol","amount":2500}
 * arrives through the gateway with `Dtx-Gid` (the gateway began the
 * transaction). The service runs the two TCC steps in it — debit on the
 * source bank, credit on the target bank — and answers:
 *   200 {"gid":..,"reserved":true}   both steps voted yes: the gateway commits
 *   409 {"gid":..,"error":..}        a step was refused: the gateway rolls back
 *   400                              a bad request (no Dtx-Gid, bad JSON)
 * It never commits or rolls back itself: ending the transaction by the
 * answer is the gateway's job. One dtx client per connection thread.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "dtx/dtx.h"

static const char *s_endpoint;
static _Thread_local dtx_client_t *s_client;

typedef struct {
    char  *body;
    size_t len;
} s_req_t;

static enum MHD_Result s_answer(struct MHD_Connection *c, unsigned status, const char *fmt,
                                const char *a, const char *b)
{
    char body[512];
    int n = snprintf(body, sizeof body, fmt, a ? a : "", b ? b : "");
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)n, body,
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* "bank-a:alice" -> resource "bank-a", account "alice". */
static int s_split(const char *s, char *bank, char *account)
{
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon || colon == s || !colon[1] || (size_t)(colon - s) >= DTX_NAME_SIZE ||
        strlen(colon + 1) >= DTX_NAME_SIZE)
        return -1;
    memcpy(bank, s, (size_t)(colon - s));
    bank[colon - s] = '\0';
    strcpy(account, colon + 1);
    return 0;
}

static int s_step(const char *gid, const char *bank, const char *action, const char *account,
                  int64_t amount)
{
    char payload[160];
    int n = snprintf(payload, sizeof payload, "{\"account\":\"%s\",\"amount\":%lld}", account,
                     (long long)amount);
    return dtx_client_try(s_client, gid, bank, action, payload, (size_t)n, NULL);
}

static enum MHD_Result s_transfer(struct MHD_Connection *c, const s_req_t *req)
{
    const char *gid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Dtx-Gid");
    if (!gid || !*gid)
        return s_answer(c, 400, "{\"error\":\"no Dtx-Gid: call me through the gateway\"%s%s}",
                        NULL, NULL);
    json_object *o = json_tokener_parse(req->body ? req->body : ""), *f, *t, *a;
    char fb[DTX_NAME_SIZE], fa[DTX_NAME_SIZE], tb[DTX_NAME_SIZE], ta[DTX_NAME_SIZE];
    if (!o || !json_object_object_get_ex(o, "from", &f) || !json_object_object_get_ex(o, "to", &t) ||
        !json_object_object_get_ex(o, "amount", &a) ||
        s_split(json_object_get_string(f), fb, fa) < 0 ||
        s_split(json_object_get_string(t), tb, ta) < 0 || json_object_get_int64(a) <= 0) {
        json_object_put(o);
        return s_answer(c, 400, "{\"error\":\"expected {from, to, amount}\"%s%s}", NULL, NULL);
    }
    int64_t amount = json_object_get_int64(a);
    json_object_put(o);
    if (!s_client) {
        int err = 0;
        s_client = dtx_client_new(s_endpoint, &err);
        if (!s_client)
            return s_answer(c, 503, "{\"error\":\"%s\"%s}", dtx_strerror(err), NULL);
    }
    int rc = s_step(gid, fb, "debit", fa, amount);
    if (rc == 0)
        rc = s_step(gid, tb, "credit", ta, amount);
    if (rc != 0)
        return s_answer(c, 409, "{\"gid\":\"%s\",\"error\":\"%s\"}", gid, dtx_strerror(rc));
    return s_answer(c, 200, "{\"gid\":\"%s\",\"reserved\":true%s}", gid, NULL);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *data,
                                size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    s_req_t *r = *con_cls;
    if (!r) {
        *con_cls = calloc(1, sizeof *r);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*size) {
        char *b = realloc(r->body, r->len + *size + 1);
        if (!b)
            return MHD_NO;
        memcpy(b + r->len, data, *size);
        r->body = b;
        r->len += *size;
        r->body[r->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0)
        return s_answer(c, 200, "{\"ok\":true%s%s}", NULL, NULL);
    if (strcmp(url, "/transfers") == 0 && strcmp(method, "POST") == 0)
        return s_transfer(c, r);
    return s_answer(c, 404, "{\"error\":\"not found\"%s%s}", NULL, NULL);
}

static void s_done(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    s_req_t *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

static void s_thread_end(void *cls, struct MHD_Connection *c, void **socket_ctx,
                         enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        dtx_client_destroy(&s_client);  /* thread-per-connection: this thread's client */
}

/* Reads the command line into s_endpoint, *port and *ready. Returns 0, or
 * -1 on bad usage (message printed). */
static int s_parse(int argc, char **argv, int *port, const char **ready)
{
    enum { O_COORD = 1, O_PORT, O_READY };
    static const struct option opts[] = {
        { "coordinator", required_argument, NULL, O_COORD },
        { "port", required_argument, NULL, O_PORT },
        { "ready-file", required_argument, NULL, O_READY },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_COORD: s_endpoint = optarg; break;
        case O_READY: *ready = optarg; break;
        case O_PORT: {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0 || v > 65535) {
                fprintf(stderr, "gw-transfer-service: --port wants 0..65535 (0: any free port)\n");
                return -1;
            }
            *port = (int)v;
            break;
        }
        default:
            return -1;
        }
    }
    if (optind != argc || !s_endpoint)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *ready = NULL;
    dtx_log_set_handler(dtx_log_stderr, "gw-transfer-service"); /* libdtx's lines */
    if (s_parse(argc, argv, &port, &ready) < 0) {
        fprintf(stderr, "usage: gw-transfer-service --coordinator ENDPOINT [--port N] "
                        "[--ready-file FILE]\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, s_access, NULL, MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, s_thread_end, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "gw-transfer-service: cannot listen\n");
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (ready) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (f) {
            fprintf(f, "%d\n", di ? di->port : 0);
            fclose(f);
            rename(tmp, ready);
        }
    }
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
