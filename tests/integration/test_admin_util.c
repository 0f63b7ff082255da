/* test_admin_util.c — see test_admin_util.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <CUnit/CUnit.h>

#include "test_admin_util.h"

typedef struct s_buf {
    char  *p;
    size_t n;
} s_buf_t;

static size_t s_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    s_buf_t *b = ud;
    size_t n = size * nmemb;
    char *d = realloc(b->p, b->n + n + 1);
    if (!d)
        return 0;
    memcpy(d + b->n, ptr, n);
    b->p = d;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

int ta_up(ta_world_t *w, const char *name, const char *const *dtxd_extra,
          const char *const *part_extra)
{
    char n[96], log[H_CONNINFO_SIZE], tokfile[1024], urlfile[1024];
    /* A server that answers 413 and closes while the body is still being
     * sent must not kill the runner. */
    signal(SIGPIPE, SIG_IGN);
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(n, sizeof n, "%s_log", name);
    if (h_db_create(n, log, sizeof log) != 0 || !(w->log = h_db_connect(n)))
        return -1;
    snprintf(n, sizeof n, "%s_p", name);
    if (h_db_create(n, w->part_db, sizeof w->part_db) != 0)
        return -1;
    snprintf(n, sizeof n, "%s.tokens", name);
    h_scratch_path(n, tokfile, sizeof tokfile);
    snprintf(n, sizeof n, "%s.url", name);
    h_scratch_path(n, urlfile, sizeof urlfile);
    remove(urlfile);
    FILE *f = fopen(tokfile, "w");
    if (!f)
        return -1;
    fchmod(fileno(f), 0600);
    fprintf(f, "# test tokens\n%s:%s\nother:other-token-0123456789abcdef\n", TA_TOKEN_NAME, TA_TOKEN);
    fclose(f);
    const char *args[H_DTXD_MAX_ARGS + 1];
    int k = 0, no_tokens = dtxd_extra && dtxd_extra[0] && strcmp(dtxd_extra[0], "--no-token-file") == 0;
    args[k++] = "--http-url-file";
    args[k++] = urlfile;
    if (!no_tokens) {
        args[k++] = "--admin-token-file";
        args[k++] = tokfile;
    }
    int has_listen = 0;
    for (int i = no_tokens; dtxd_extra && dtxd_extra[i] && k < H_DTXD_MAX_ARGS - 2; i++) {
        has_listen |= strcmp(dtxd_extra[i], "--http-listen") == 0;
        args[k++] = dtxd_extra[i];
    }
    if (!has_listen) {
        args[k++] = "--http-listen";
        args[k++] = "127.0.0.1:0";
    }
    args[k] = NULL;
    snprintf(w->d.logname, sizeof w->d.logname, "%s-dtxd", name);
    if (h_dtxd_start(&w->d, log, args) != 0)
        return -1;
    if (h_wait_file_line(urlfile, w->url, sizeof w->url, w->d.pid, 5000) != 0)
        return -1;
    if (part_extra && part_extra[0] && strcmp(part_extra[0], "none") == 0)
        return 0;
    const char *pa[16] = { "--resource", "ra", "--heartbeat-ms", "200" };
    for (int i = 0; part_extra && part_extra[i] && i < 10; i++)
        pa[4 + i] = part_extra[i];
    snprintf(n, sizeof n, "%s-part", name);
    w->part = h_participant_start(n, w->part_db, w->d.endpoint, pa);
    return w->part > 0 ? 0 : -1;
}

void ta_down(ta_world_t *w)
{
    if (w->part > 0)
        h_stop(w->part, SIGTERM, 5000);
    w->part = 0;
    CU_ASSERT_EQUAL(h_dtxd_stop(&w->d), 0);
    if (w->log)
        PQfinish(w->log);
    w->log = NULL;
}

long ta_req_raw(const ta_world_t *w, const char *method, const char *path, const char *body,
                size_t len, const char *token, char *raw, size_t rawcap)
{
    CURL *h = curl_easy_init();
    if (!h)
        return 0;
    s_buf_t b = { NULL, 0 };
    char url[1024], auth[256];
    struct curl_slist *hdrs = NULL;
    snprintf(url, sizeof url, "%s%s", w->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (raw && rawcap)
        snprintf(raw, rawcap, "%s", b.p ? b.p : "");
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(b.p);
    return status;
}

long ta_req(const ta_world_t *w, const char *method, const char *path, const char *body,
            const char *token, json_object **out)
{
    static char raw[1 << 20];
    long st = ta_req_raw(w, method, path, body, body ? strlen(body) : 0, token, raw, sizeof raw);
    json_object *o = raw[0] ? json_tokener_parse(raw) : NULL;
    if (out)
        *out = o;
    else if (o)
        json_object_put(o);
    return st;
}

const char *ta_str(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return "";
    return json_object_get_string(v);
}

int ta_commit_one(const ta_world_t *w, char *gid)
{
    json_object *o = NULL;
    if (ta_req(w, "POST", "/api/v1/tx", "{\"timeout_ms\":600000}", TA_TOKEN, &o) != 201) {
        json_object_put(o);
        return -1;
    }
    snprintf(gid, 64, "%s", ta_str(o, "gid"));
    json_object_put(o);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/tx/%s/try", gid);
    if (ta_req(w, "POST", path, "{\"resource\":\"ra\",\"action\":\"reserve\",\"payload\":\"x\"}",
               TA_TOKEN, NULL) != 200)
        return -1;
    snprintf(path, sizeof path, "/api/v1/tx/%s/commit", gid);
    return ta_req(w, "POST", path, NULL, TA_TOKEN, NULL) == 200 ? 0 : -1;
}

int ta_wait_state(const ta_world_t *w, const char *gid, const char *state, int timeout_ms)
{
    char path[160], last[32] = "";
    snprintf(path, sizeof path, "/api/v1/tx/%s", gid);
    int64_t until = h_now_ms() + timeout_ms;
    do {
        json_object *o = NULL;
        ta_req(w, "GET", path, NULL, NULL, &o);
        snprintf(last, sizeof last, "%s", ta_str(o, "state"));
        json_object_put(o);
        if (strcmp(last, state) == 0)
            return 0;
        h_sleep_ms(50);
    } while (h_now_ms() < until);
    fprintf(stderr, "ta_wait_state: %s is %s, not %s\n", gid, last, state);
    return -1;
}

double ta_metric(const ta_world_t *w, const char *series)
{
    static char raw[1 << 17];
    if (ta_req_raw(w, "GET", "/metrics", NULL, 0, TA_TOKEN, raw, sizeof raw) != 200)
        return -1;
    size_t n = strlen(series);
    for (char *line = raw; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return atof(line + n + 1);
    return -1;
}

int ta_ctl(const ta_world_t *w, char *out, size_t cap, const char *args)
{
    char bin[1024], cmd[4096];
    h_bin_path("dtxctl", bin, sizeof bin);
    snprintf(cmd, sizeof cmd, "DTX_TOKEN=%s %s --url %s %s 2>&1", TA_TOKEN, bin,
             w ? w->url : "http://127.0.0.1:1", args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
