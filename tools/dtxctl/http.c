/* http.c — dtxctl's HTTP client (libcurl). Tokens never reach the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dtxctl.h"

typedef struct s_buf {
    char  *data;
    size_t len;
} s_buf_t;

static size_t s_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    s_buf_t *b = ud;
    size_t n = size * nmemb;
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, ptr, n);
    b->data = d;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int dtxctl_init(dtxctl_t *c)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return -1;
    c->curl = curl_easy_init();
    return c->curl ? 0 : -1;
}

void dtxctl_fini(dtxctl_t *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
    memset(c->token, 0, sizeof c->token);
    curl_global_cleanup();
}

int dtxctl_read_token(dtxctl_t *c, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[400];
    if (!f || !fgets(line, sizeof line, f)) {
        fprintf(stderr, "dtxctl: cannot read a token from %s (--token-file / DTX_TOKEN_FILE)\n",
                dtxctl_safe(path));
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    const char *tok = strchr(line, ':') ? strchr(line, ':') + 1 : line;
    snprintf(c->token, sizeof c->token, "%s", tok);
    memset(line, 0, sizeof line);
    return c->token[0] ? 0 : -1;
}

char *dtxctl_escape(dtxctl_t *c, const char *s)
{
    char *e = curl_easy_escape(c->curl, s, 0);
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    return out;
}

int dtxctl_call(dtxctl_t *c, const char *method, const char *path, json_object *body,
                json_object **out)
{
    CURL *h = c->curl;
    s_buf_t buf = { NULL, 0 };
    char url[4096], auth[560];
    struct curl_slist *hdrs = NULL;
    *out = NULL;
    snprintf(url, sizeof url, "%s%s", c->url, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    if (c->token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
        memset(auth, 0, sizeof auth);
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS,
                         json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    int rc;
    if (cc != CURLE_OK) {
        fprintf(stderr,
                "dtxctl: cannot reach %s: %s\n"
                "hint: give dtxd's admin URL with --url URL or the DTX_URL environment variable "
                "(dtxd --http-url-file writes it; the default is http://127.0.0.1:7080)\n",
                dtxctl_safe(c->url), curl_easy_strerror(cc));
        rc = DTXCTL_UNREACHABLE;
        goto out;
    }
    json_object *res = buf.data ? json_tokener_parse(buf.data) : NULL;
    if (status >= 200 && status < 300) {
        if (!res) {
            fprintf(stderr, "dtxctl: the server's answer is not JSON (HTTP %ld)\n", status);
            rc = DTXCTL_UNREACHABLE;
            goto out;
        }
        *out = res;
        rc = DTXCTL_OK;
        goto out;
    }
    rc = status >= 400 && status < 500 ? DTXCTL_REFUSED : DTXCTL_UNREACHABLE;
    if (res && (json_object_object_get_ex(res, "action", NULL) ||
                json_object_object_get_ex(res, "tries", NULL))) {
        /* an action's answer says what was recorded, a run's what each
         * branch said (409: decided abort): the caller prints it */
        *out = res;
        goto out;
    }
    if (c->json && buf.data) {
        dtxctl_put_json(stdout, buf.data);
        fputc('\n', stdout);
    } else {
        json_object *e = NULL;
        const char *msg = res && json_object_object_get_ex(res, "error", &e)
                              ? json_object_get_string(e)
                              : "no details";
        fprintf(stderr, "dtxctl: HTTP %ld: %s\n", status, dtxctl_safe(msg));
    }
    if (status == 401)
        fprintf(stderr, "hint: %s; give one with --token-file FILE (or DTX_TOKEN_FILE), "
                        "--token TOKEN (or DTX_TOKEN), the token from dtxd's "
                        "--admin-token-file\n",
                c->token[0] ? "the token dtxctl sent was refused" : "dtxctl sent no token");
    else if (status == 421)
        fprintf(stderr, "hint: dtxd does not answer to the host name in --url / DTX_URL; "
                        "use 127.0.0.1 or a name given to dtxd with --admin-allow-host\n");
    if (res)
        json_object_put(res);
out:
    free(buf.data);
    return rc;
}
