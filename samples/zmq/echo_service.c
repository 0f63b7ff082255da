/*
 * samples/zmq/echo_service.c — a ZeroMQ service behind dtx-gateway, written
 * with libdtx's helper (dtx/zsvc.h): the gateway's pool targets it as
 * `zmq+tcp://host:port`, and every HTTP request routed there arrives as
 * one message; the answer is JSON describing what came:
 *
 *     {"served_by":"a","method":"POST","path":"/echo","query":"x=1",
 *      "gid":"","headers":{"Content-Type":"text/plain",...},"body":"hi"}
 *
 * Two request headers drive it (for demos and tests): `X-Delay-Ms: N`
 * answers after N ms (at most 60000; the service is single-threaded, so
 * the requests behind wait too), `X-Status: NNN` answers with that status.
 *
 *   zmq-echo-service [--bind tcp://0.0.0.0:7100] [--name NAME] [--ready-file F]
 *                    [--answer TEXT]
 *
 * --answer: every request is answered 200 with TEXT (text/plain) instead
 * of the JSON (a fixed answer, as bench/gateway/zmq.sh needs).
 * --ready-file: the bound port is written there (through F.tmp and a
 * rename) once the socket is bound. Stops on SIGTERM / SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtx/zsvc.h"
#include "../sample_log.h"

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* Appends s (n bytes) to out as a JSON string body. */
static void s_json_str(FILE *out, const char *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static int s_ready(const char *path, const char *endpoint)
{
    const char *colon = strrchr(endpoint, ':');
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", colon ? colon + 1 : "0") < 0 || fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    const char *bind = "tcp://0.0.0.0:7100", *name = "zmq-echo", *ready = NULL, *answer = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
            bind = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc)
            ready = argv[++i];
        else if (strcmp(argv[i], "--answer") == 0 && i + 1 < argc)
            answer = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--bind ENDPOINT] [--name NAME] [--ready-file FILE] "
                            "[--answer TEXT]\n",
                    argv[0]);
            return 2;
        }
    }
    sample_log_set_name(name);
    struct sigaction sa = { .sa_handler = s_on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    dtx_zsvc_t *svc = dtx_zsvc_new(bind);
    if (!svc)
        return 1;
    sample_log_info("serving", "endpoint=%s", dtx_zsvc_endpoint(svc));
    if (ready && s_ready(ready, dtx_zsvc_endpoint(svc)) < 0) {
        sample_log_error("ready file not written", "path=%s", ready);
        dtx_zsvc_destroy(&svc);
        return 1;
    }
    while (!s_stop) {
        dtx_zsvc_request_t *rq;
        int rc = dtx_zsvc_recv(svc, &rq, 200);
        if (rc == DTX_ETIMEOUT || (rc < 0 && s_stop))
            continue;
        if (rc < 0) {
            sample_log_error("receive failed", "code=%d", rc);
            break;
        }
        if (answer) {
            const dtx_zsvc_header_t th[] = { { "Content-Type", "text/plain" } };
            if (dtx_zsvc_reply(svc, &rq, 200, th, 1, answer, strlen(answer)) < 0)
                sample_log_warn("reply not sent", "status=%d", 200);
            continue;
        }
        const char *d = dtx_zsvc_header(rq, "X-Delay-Ms");
        if (d) {
            long ms = strtol(d, NULL, 10);
            ms = ms < 0 ? 0 : ms > 60000 ? 60000 : ms;
            struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
        const char *st = dtx_zsvc_header(rq, "X-Status");
        int status = st ? atoi(st) : 200;
        char *json = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&json, &len);
        if (!out) {
            dtx_zsvc_request_free(&rq);
            continue;
        }
        fputs("{\"served_by\":", out);
        s_json_str(out, name, strlen(name));
        fputs(",\"method\":", out);
        s_json_str(out, rq->method, strlen(rq->method));
        fputs(",\"path\":", out);
        s_json_str(out, rq->path, strlen(rq->path));
        fputs(",\"query\":", out);
        s_json_str(out, rq->query, strlen(rq->query));
        fputs(",\"gid\":", out);
        s_json_str(out, rq->gid, strlen(rq->gid));
        fputs(",\"headers\":{", out);
        for (int i = 0; i < rq->nheaders; i++) {
            if (i)
                fputc(',', out);
            s_json_str(out, rq->headers[i].name, strlen(rq->headers[i].name));
            fputc(':', out);
            s_json_str(out, rq->headers[i].value, strlen(rq->headers[i].value));
        }
        fputs("},\"body\":", out);
        s_json_str(out, rq->body, rq->body_len);
        fputs("}\n", out);
        fclose(out);
        const dtx_zsvc_header_t h[] = { { "Content-Type", "application/json" },
                                        { "X-Served-By", name } };
        if (dtx_zsvc_reply(svc, &rq, status, h, 2, json, len) < 0)
            sample_log_warn("reply not sent", "status=%d", status);
        free(json);
    }
    dtx_zsvc_destroy(&svc);
    return 0;
}
