/* tests/integration/gw_util.c — see gw_util.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "gw_util.h"
#include "integ.h"

static int s_seq;

int gw_upstream_start(gw_proc_t *self, const char *name, const char *const *extra)
{
    char bin[1024], ready[1024], fname[128];
    memset(self, 0, sizeof *self);
    snprintf(fname, sizeof fname, "gw-up-%s-%d.port", name, ++s_seq);
    if (h_testbin_path("gw-upstream", bin, sizeof bin) < 0 ||
        h_scratch_path(fname, ready, sizeof ready) < 0)
        return -1;
    remove(ready);
    char *argv[32] = { bin, "--name", (char *)name, "--ready-file", ready };
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    char logname[96];
    snprintf(logname, sizeof logname, "gw-up-%s", name);
    self->pid = h_spawn(logname, argv);
    char line[64];
    if (self->pid <= 0 || h_wait_file_line(ready, line, sizeof line, self->pid, 10000) < 0)
        return -1;
    self->port = atoi(line);
    return self->port > 0 ? 0 : -1;
}

static int s_gateway_start(gw_proc_t *self, const char *logname, const char *const *extra,
                           const char *fmt, va_list ap)
{
    char bin[1024], ready[1024], name[128];
    memset(self, 0, sizeof *self);
    snprintf(name, sizeof name, "%s-%d.json", logname, ++s_seq);
    if (h_bin_path("dtx-gateway", bin, sizeof bin) < 0 ||
        h_scratch_path(name, self->config, sizeof self->config) < 0)
        return -1;
    snprintf(name, sizeof name, "%s-%d.ready", logname, s_seq);
    if (h_scratch_path(name, ready, sizeof ready) < 0)
        return -1;
    remove(ready);
    FILE *f = fopen(self->config, "w");
    if (!f)
        return -1;
    vfprintf(f, fmt, ap);
    fclose(f);
    char *argv[32] = { bin, "--config", self->config, "--listen", "127.0.0.1:0",
                       "--admin-listen", "127.0.0.1:0", "--ready-file", ready,
                       "--grace-ms", "2000" };
    int n = 11, chose = strstr(fmt, "\"engine\"") != NULL;
    for (int i = 0; extra && extra[i] && n < 31; i++) {
        chose |= strcmp(extra[i], "--engine") == 0;
        argv[n++] = (char *)extra[i];
    }
    /* The suite's engine (main.c's "NAME@mhd" suites), unless the test
     * chose one: its config's "server" section or --engine. */
    const char *engine = getenv("DTX_TEST_GW_ENGINE");
    if (engine && *engine && !chose && n < 30) {
        argv[n++] = "--engine";
        argv[n++] = (char *)engine;
    }
    /* NAME@noring suites: the send ring off, unless the test chose. */
    const char *ring = getenv("DTX_TEST_GW_SEND_RING");
    int chose_ring = 0;
    for (int i = 0; extra && extra[i]; i++)
        chose_ring |= strcmp(extra[i], "--send-ring") == 0;
    if (ring && *ring && !chose_ring && n < 30) {
        argv[n++] = "--send-ring";
        argv[n++] = (char *)ring;
    }
    argv[n] = NULL;
    self->pid = h_spawn(logname, argv);
    char line[64];
    if (self->pid <= 0 || h_wait_file_line(ready, line, sizeof line, self->pid, 10000) < 0)
        return -1;
    if (sscanf(line, "%d %d", &self->port, &self->admin_port) != 2)
        return -1;
    return 0;
}

int gw_gateway_start(gw_proc_t *self, const char *logname, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_gateway_start(self, logname, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int gw_gateway_start_args(gw_proc_t *self, const char *logname, const char *const *extra,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_gateway_start(self, logname, extra, fmt, ap);
    va_end(ap);
    return rc;
}

typedef struct {
    gw_resp_t *r;
    size_t     cap;
    size_t     hlen;
} s_sink_t;

static size_t s_body(char *d, size_t sz, size_t n, void *arg)
{
    s_sink_t *s = arg;
    size_t len = sz * n;
    if (s->r->body_len + len + 1 > s->cap) {
        size_t cap = (s->r->body_len + len + 1) * 2;
        char *b = realloc(s->r->body, cap);
        if (!b)
            return 0;
        s->r->body = b;
        s->cap = cap;
    }
    memcpy(s->r->body + s->r->body_len, d, len);
    s->r->body_len += len;
    s->r->body[s->r->body_len] = '\0';
    return len;
}

static size_t s_header(char *d, size_t sz, size_t n, void *arg)
{
    s_sink_t *s = arg;
    size_t len = sz * n;
    if (len >= 5 && strncmp(d, "HTTP/", 5) == 0)
        s->hlen = 0;  /* keep only the final answer's headers */
    if (s->hlen + len + 1 < sizeof s->r->headers) {
        memcpy(s->r->headers + s->hlen, d, len);
        s->hlen += len;
        s->r->headers[s->hlen] = '\0';
    }
    return len;
}

int gw_http(gw_resp_t *resp, const char *method, const char *url,
            const char *const *headers, const char *body)
{
    memset(resp, 0, sizeof *resp);
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    s_sink_t sink = { resp, 0, 0 };
    struct curl_slist *list = NULL;
    for (int i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &sink);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || body)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
    else
        fprintf(stderr, "gw_http %s %s: %s\n", method, url, curl_easy_strerror(rc));
    curl_slist_free_all(list);
    curl_easy_cleanup(e);
    if (!resp->body) {
        resp->body = calloc(1, 1);
    }
    return rc == CURLE_OK ? 0 : -1;
}

void gw_resp_free(gw_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
}

long gw_upstream_calls(const gw_proc_t *up)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", up->port);
    gw_resp_t r;
    long n = -1;
    if (gw_http(&r, "GET", url, NULL, NULL) == 0 && r.status == 200 && r.body)
        sscanf(r.body, "{\"requests\":%ld", &n);
    gw_resp_free(&r);
    return n;
}

const char *gw_resp_header(const gw_resp_t *resp, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = resp->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(p + len - v);
            snprintf(out, cap, "%.*s", (int)vl, v);
            return out;
        }
        p = eol ? eol + 2 : NULL;
    }
    return NULL;
}

double gw_metric(const gw_proc_t *gw, const char *line_prefix)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", gw->admin_port);
    gw_resp_t r;
    double v = -1;
    if (gw_http(&r, "GET", url, NULL, NULL) == 0 && r.status == 200) {
        size_t n = strlen(line_prefix);
        for (char *p = r.body; p && *p;) {
            if (strncmp(p, line_prefix, n) == 0 && p[n] == ' ') {
                v = atof(p + n + 1);
                break;
            }
            p = strchr(p, '\n');
            if (p)
                p++;
        }
    }
    gw_resp_free(&r);
    return v;
}

long gw_admin_put(const gw_proc_t *gw, const char *token, const char *doc, int validate,
                  gw_resp_t *resp)
{
    char url[128], auth[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->admin_port,
             validate ? "/config/validate" : "/config");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    const char *hdrs[] = { auth, "Content-Type: application/json", NULL };
    if (gw_http(resp, validate ? "POST" : "PUT", url, token ? hdrs : NULL, doc) < 0)
        return 0;
    return resp->status;
}

const char *gw_at(const gw_proc_t *gw, const char *path)
{
    static char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->port, path);
    return url;
}

static void *s_loader(void *arg)
{
    gw_load_t *l = arg;
    CURL *e = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", l->port, l->path);
    struct curl_slist *h = l->header ? curl_slist_append(NULL, l->header) : NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    if (h)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
    FILE *null = fopen("/dev/null", "w");
    curl_easy_setopt(e, CURLOPT_WRITEDATA, null);
    while (!atomic_load(&l->stop)) {
        long code = 0;
        if (curl_easy_perform(e) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (code == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->failed, 1);
    }
    fclose(null);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return NULL;
}

int gw_load_start(gw_load_t *l, int threads)
{
    if (threads < 1 || threads > GW_LOAD_MAX_THREADS || !l->path)
        return -1;
    atomic_store(&l->stop, 0);
    for (l->nthreads = 0; l->nthreads < threads; l->nthreads++)
        if (pthread_create(&l->th[l->nthreads], NULL, s_loader, l) != 0) {
            gw_load_stop(l);
            return -1;
        }
    return 0;
}

void gw_load_stop(gw_load_t *l)
{
    atomic_store(&l->stop, 1);
    for (int i = 0; i < l->nthreads; i++)
        pthread_join(l->th[i], NULL);
    l->nthreads = 0;
}

void gw_post_outcome(const gw_proc_t *gw, const char *path, const char *body, gw_outcome_t *a)
{
    gw_post_outcome_with(gw, path, body, NULL, a);
}

void gw_post_outcome_with(const gw_proc_t *gw, const char *path, const char *body,
                          const char *header, gw_outcome_t *a)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", gw->port, path);
    const char *hdrs[] = { "Content-Type: application/json", header, NULL };
    gw_resp_t r;
    memset(a, 0, sizeof *a);
    gw_http(&r, "POST", url, hdrs, body);
    a->status = r.status;
    snprintf(a->body, sizeof a->body, "%s", r.body ? r.body : "");
    if (!gw_resp_header(&r, "Dtx-Gid", a->header, sizeof a->header))
        a->header[0] = '\0';
    json_object *o = json_tokener_parse(r.body ? r.body : ""), *v;
    if (o && json_object_object_get_ex(o, "outcome", &v))
        snprintf(a->outcome, sizeof a->outcome, "%s", json_object_get_string(v));
    if (o && json_object_object_get_ex(o, "gid", &v))
        snprintf(a->gid, sizeof a->gid, "%s", json_object_get_string(v));
    json_object_put(o);
    gw_resp_free(&r);
}
