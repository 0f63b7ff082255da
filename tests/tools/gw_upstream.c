/*
 * gw_upstream.c — a small HTTP upstream for the gateway's tests and
 * benchmark.
 *
 *   gw-upstream --name NAME [--port 0] [--ready-file FILE] [--threads N]
 *               [--status CODE] [--delay-ms MS] [--body TEXT]
 *               [--cache-control TEXT]
 *
 * Every answer carries `X-Upstream: NAME`. By default it answers
 * --status with a JSON echo of the request:
 *   {"upstream":NAME,"method":..,"uri":RAW,"headers":{..},"body":..}
 * or with --body TEXT verbatim (the benchmark's fixed answer).
 * Per-request knobs (query parameters or headers):
 *   status=N      / X-Test-Status: N      answer N
 *   delay_ms=N    / X-Test-Delay-Ms: N    wait N ms first
 *   size=N                                answer N bytes of 'x' (chunked
 *                                         when chunked=1)
 *   cc=TEXT                               Cache-Control: TEXT (caching tests)
 *   vary=TEXT                             Vary: TEXT
 *   cookie=1                              a Set-Cookie header
 *   expires=N                             Date: now, Expires: now + N s
 * The echo carries "n", this request's number (from 1).
 * Control and observation:
 *   GET /_health                 200, or 503 after /_control?health=0
 *   GET /_control?health=0|1     flip the health answer
 *   GET /_control?status=N       answer N to every later request (0 resets)
 *   GET /_stats                  {"requests":N} (requests not under /_)
 * --threads N > 0 serves with N epoll threads (benchmark); 0 (default)
 * one thread per connection (delays block only their own request).
 * Prints nothing per request; SIGTERM exits 0.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

static const char *s_name = "upstream";
static int s_status = 200;
static const char *s_cache_control;   /* --cache-control: on every answer */
static int s_delay_ms;
static const char *s_fixed_body;
static atomic_int s_health = 1;
static atomic_int s_forced_status;
static atomic_long s_requests;

typedef struct {
    char  *uri;
    char  *body;
    size_t len, cap;
    int    started;
} s_req_t;

static void *s_on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    s_req_t *r = calloc(1, sizeof *r);
    if (r)
        r->uri = strdup(uri);
    return r;
}

static enum MHD_Result s_add_header(void *cls, enum MHD_ValueKind kind, const char *k,
                                    const char *v)
{
    (void)kind;
    json_object_object_add(cls, k, json_object_new_string(v ? v : ""));
    return MHD_YES;
}

static int s_knob(struct MHD_Connection *c, const char *arg, const char *header, int def)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, arg);
    if (!v)
        v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, header);
    return v ? atoi(v) : def;
}

/* The caching knobs of the request (cc, vary, cookie, expires) on r. */
static void s_cache_headers(struct MHD_Connection *c, struct MHD_Response *r)
{
    const char *cc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cc");
    const char *vary = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "vary");
    const char *cookie = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cookie");
    const char *exp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "expires");
    if (cc || s_cache_control)
        MHD_add_response_header(r, "Cache-Control", cc ? cc : s_cache_control);
    if (vary)
        MHD_add_response_header(r, "Vary", vary);
    if (cookie)
        MHD_add_response_header(r, "Set-Cookie", "session=1; Path=/");
    if (exp) {
        char d[64], e[64];
        time_t now = time(NULL), then = now + atoi(exp);
        struct tm tm;
        strftime(d, sizeof d, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
        strftime(e, sizeof e, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&then, &tm));
        MHD_add_response_header(r, "Date", d);
        MHD_add_response_header(r, "Expires", e);
    }
}

static enum MHD_Result s_send(struct MHD_Connection *c, int status, const char *type,
                              const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Upstream", s_name);
    s_cache_headers(c, r);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static ssize_t s_fill(void *cls, uint64_t pos, char *buf, size_t max)
{
    uint64_t size = (uint64_t)(uintptr_t)cls;
    if (pos >= size)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = size - pos < max ? (size_t)(size - pos) : max;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version,
                                const char *data, size_t *size, void **con_cls)
{
    (void)cls;
    (void)version;
    s_req_t *r = *con_cls;
    if (!r) {
        r = s_on_uri(NULL, url, c);
        if (!r)
            return MHD_NO;
        *con_cls = r;
    }
    if (!r->started) {
        r->started = 1;
        return MHD_YES;
    }
    if (*size) {
        if (r->len + *size + 1 > r->cap) {
            r->cap = (r->len + *size + 1) * 2;
            r->body = realloc(r->body, r->cap);
        }
        memcpy(r->body + r->len, data, *size);
        r->len += *size;
        r->body[r->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/_health") == 0)
        return atomic_load(&s_health) ? s_send(c, 200, "text/plain", "ok\n", 3)
                                      : s_send(c, 503, "text/plain", "down\n", 5);
    if (strcmp(url, "/_control") == 0) {
        const char *h = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "health");
        const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
        if (h)
            atomic_store(&s_health, atoi(h) != 0);
        if (st)
            atomic_store(&s_forced_status, atoi(st));
        return s_send(c, 200, "text/plain", "ok\n", 3);
    }
    if (strcmp(url, "/_stats") == 0) {
        char b[64];
        int n = snprintf(b, sizeof b, "{\"requests\":%ld}\n", atomic_load(&s_requests));
        return s_send(c, 200, "application/json", b, (size_t)n);
    }
    long number = atomic_fetch_add(&s_requests, 1) + 1;
    int forced = atomic_load(&s_forced_status);
    int status = s_knob(c, "status", "X-Test-Status", forced ? forced : s_status);
    int delay = s_knob(c, "delay_ms", "X-Test-Delay-Ms", s_delay_ms);
    /* A transactional request: its gid in the log, before the wait (a
     * test runs the transaction's branches meanwhile). */
    const char *gid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Dtx-Gid");
    if (gid) {
        fprintf(stderr, "gw-upstream: request gid=%.64s\n", gid);
        fflush(stderr);
    }
    if (delay > 0)
        usleep((useconds_t)delay * 1000);
    const char *size_arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "size");
    if (size_arg) {
        uint64_t n = strtoull(size_arg, NULL, 10);
        int chunked = s_knob(c, "chunked", "X-Test-Chunked", 0);
        struct MHD_Response *resp = MHD_create_response_from_callback(
            chunked ? MHD_SIZE_UNKNOWN : n, 16384, s_fill, (void *)(uintptr_t)n, NULL);
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
        MHD_add_response_header(resp, "X-Upstream", s_name);
        s_cache_headers(c, resp);
        enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
        MHD_destroy_response(resp);
        return ok;
    }
    if (s_fixed_body)
        return s_send(c, status, "text/plain", s_fixed_body, strlen(s_fixed_body));
    json_object *o = json_object_new_object();
    json_object *hdrs = json_object_new_object();
    MHD_get_connection_values(c, MHD_HEADER_KIND, s_add_header, hdrs);
    json_object_object_add(o, "upstream", json_object_new_string(s_name));
    json_object_object_add(o, "n", json_object_new_int64(number));
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "uri", json_object_new_string(r->uri ? r->uri : url));
    json_object_object_add(o, "headers", hdrs);
    json_object_object_add(o, "body", json_object_new_string_len(r->body ? r->body : "",
                                                                 (int)r->len));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    enum MHD_Result ok = s_send(c, status, "application/json", text, strlen(text));
    json_object_put(o);
    return ok;
}

static void s_done(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    s_req_t *r = *con_cls;
    if (r) {
        free(r->uri);
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    int port = 0, threads = 0;
    const char *ready = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--name") == 0) s_name = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ready-file") == 0) ready = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--status") == 0) s_status = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--delay-ms") == 0) s_delay_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--body") == 0) s_fixed_body = argv[i + 1];
        else if (strcmp(argv[i], "--cache-control") == 0) s_cache_control = argv[i + 1];
        else {
            fprintf(stderr, "gw-upstream: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    unsigned flags = threads > 0 ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                                 : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                       MHD_USE_POLL;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, s_access, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, s_done, NULL,
        /* a pool of 1 is no pool: the listening thread serves alone */
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 1 ? threads : 1),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)10000,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "gw-upstream: cannot listen on port %d\n", port);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (ready) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", ready);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", di ? di->port : 0) < 0 || fclose(f) != 0 ||
            rename(tmp, ready) != 0) {
            fprintf(stderr, "gw-upstream: cannot write %s\n", ready);
            MHD_stop_daemon(d);
            return 1;
        }
    } else {
        printf("%d\n", di ? di->port : 0);
        fflush(stdout);
    }
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
