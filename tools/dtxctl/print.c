/*
 * print.c — dtxctl's output: aligned tables for people, JSON for scripts.
 *
 * Invariant: no byte the server sent reaches the terminal as a control
 * character. Every text field goes through dtxctl_safe (control
 * characters, C1 controls, DEL and invalid UTF-8 become \xNN, \n, \t,
 * \r; a backslash becomes \\), and JSON goes through dtxctl_put_json
 * (json-c already writes C0 controls as \u00NN; DEL, C1 controls and
 * invalid UTF-8 are escaped too). An audit reason or an error message can
 * hold anything a writer of the database put there.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dtx/log.h"
#include "dtxctl.h"

/* The length of the valid UTF-8 sequence at s (2..4) that is not a C1
 * control (U+0080..U+009F), or 0: common's decoder (dtx/log.h) decides. */
static size_t s_utf8_len(const unsigned char *s)
{
    if (s[0] == 0xC2 && s[1] >= 0x80 && s[1] < 0xA0)
        return 0;
    return dtx_utf8_seq_len(s, strnlen((const char *)s, 4));
}

const char *dtxctl_safe_into(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && o + 5 < cap) {
        size_t n = *p >= 0x80 ? s_utf8_len(p) : 0;
        if (n > 0) {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        } else if (*p == '\\') {
            out[o++] = '\\';
            out[o++] = '\\';
            p++;
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            out[o++] = '\\';
            out[o++] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
            p++;
        } else if (*p < 0x20 || *p >= 0x7F) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", *p);
            p++;
        } else {
            out[o++] = (char)*p++;
        }
    }
    out[o] = '\0';
    return out;
}

const char *dtxctl_safe(const char *s)
{
    /* Enough buffers for every field of one printf. */
    static char bufs[16][1024];
    static unsigned next;
    return dtxctl_safe_into(s, bufs[next++ % 16], sizeof bufs[0]);
}

void dtxctl_put_json(FILE *f, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        size_t n = *p >= 0x80 ? s_utf8_len(p) : 0;
        if (n > 0) {
            fwrite(p, 1, n, f);
            p += n;
        } else if (*p >= 0x80 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0) {
            fprintf(f, "\\u00%02x", p[1]); /* a C1 control, as JSON */
            p += 2;
        } else if (*p >= 0x80) {
            fputs("\\ufffd", f); /* not UTF-8 */
            p++;
        } else if ((*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') || *p == 0x7F) {
            /* Inside strings json-c escapes C0 itself; its layout is whitespace. */
            fprintf(f, "\\u%04x", *p);
            p++;
        } else {
            fputc(*p++, f);
        }
    }
}

static const char *s_get(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k, &v) || !v)
        return "";
    return dtxctl_safe(json_object_get_string(v));
}

static long long s_num(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k, &v) || !v)
        return 0;
    return (long long)json_object_get_int64(v);
}

static json_object *s_arr(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

static void s_json(json_object *res)
{
    dtxctl_put_json(stdout, json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
    fputc('\n', stdout);
}

/* "12s", "5m", "3h", "2d" since epoch ms t. */
static const char *s_age(long long t_ms, char *buf, size_t cap)
{
    if (t_ms <= 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long s = ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t_ms) / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, cap, "%llds", s);
    else if (s < 7200)
        snprintf(buf, cap, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(buf, cap, "%lldh", s / 3600);
    else
        snprintf(buf, cap, "%lldd", s / 86400);
    return buf;
}

/* An absolute UTC time for a timeline. */
static const char *s_time(long long t_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03lldZ", t_ms % 1000);
    return buf;
}

const char *dtxctl_list_print(dtxctl_t *c, json_object *res, int header, int quiet_more)
{
    const char *next = s_get(res, "next_cursor");
    if (c->json) {
        s_json(res);
        return next[0] ? next : NULL;
    }
    json_object *items = s_arr(res, "items");
    if (header)
        printf("%-26s  %-10s  %-4s  %5s  %3s  %-20s  %4s  %s\n", "GID", "STATE", "MODE", "AGE",
               "BR", "RESOURCES", "ATT", "LAST ERROR");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *t = json_object_array_get_idx(items, i);
        char age[16], res_list[128] = "";
        json_object *rs = s_arr(t, "resources");
        for (size_t j = 0; rs && j < json_object_array_length(rs); j++) {
            size_t n = strlen(res_list);
            snprintf(res_list + n, sizeof res_list - n, "%s%s", j ? "," : "",
                     dtxctl_safe(json_object_get_string(json_object_array_get_idx(rs, j))));
        }
        printf("%-26s  %-10s  %-4s  %5s  %3lld  %-20.20s  %4lld  %.60s\n", s_get(t, "gid"),
               s_get(t, "state"), s_get(t, "mode"), s_age(s_num(t, "created_ms"), age, sizeof age),
               s_num(t, "branches"), res_list, s_num(t, "attempts"), s_get(t, "last_error"));
    }
    if (next[0] && !quiet_more)
        printf("more: dtxctl list --cursor %s (same filters)\n", next);
    return next[0] ? next : NULL;
}

void dtxctl_show_print(dtxctl_t *c, json_object *res)
{
    if (c->json) {
        s_json(res);
        return;
    }
    json_object *t = NULL;
    json_object_object_get_ex(res, "transaction", &t);
    char b1[40], b2[16];
    printf("gid        %s\nstate      %s", s_get(t, "gid"), s_get(t, "state"));
    if (s_get(t, "decision")[0])
        printf(" (decision: %s)", s_get(t, "decision"));
    printf("\nmode       %s\ncreated    %s (%s ago)\nowner      %s%s\n", s_get(t, "mode"),
           s_time(s_num(t, "created_ms"), b1, sizeof b1),
           s_age(s_num(t, "created_ms"), b2, sizeof b2), s_get(t, "owner"),
           strcmp(s_get(t, "owner_alive"), "true") == 0 ? "" : " (not alive)");
    if (s_get(t, "trace_id")[0])
        printf("trace      %s\n", s_get(t, "trace_id"));
    json_object *brs = s_arr(res, "branches");
    if (strcmp(s_get(t, "mode"), "saga") == 0 && brs) {
        /* The plan's progress: steps done, compensated, and the first
         * step still open (the current one). */
        long n = (long)json_object_array_length(brs), done = 0, undone = 0, current = 0;
        for (long i = 0; i < n; i++) {
            json_object *b = json_object_array_get_idx(brs, (size_t)i);
            const char *st = s_get(b, "state");
            if (strcmp(st, "confirmed") == 0)
                done++;
            else if (strcmp(st, "cancelled") == 0)
                undone++;
            else if (!current)
                current = i + 1;
        }
        printf("saga       %ld steps: %ld done, %ld compensated", n, done, undone);
        if (current)
            printf(", step %ld open", current);
        printf("\n");
        printf("\n%-4s  %-20s  %-16s  %-16s  %-8s  %-10s  %4s  %s\n", "STEP", "RESOURCE",
               "ACTION", "COMPENSATION", "AFTER", "STATE", "ATT", "LAST ERROR");
        for (long i = 0; i < n; i++) {
            json_object *b = json_object_array_get_idx(brs, (size_t)i), *after = NULL;
            char deps[64] = "-";
            size_t dp = 0;
            if (json_object_object_get_ex(b, "after", &after) && json_object_array_length(after))
                for (size_t k = 0; k < json_object_array_length(after) && dp < sizeof deps - 8; k++)
                    dp += (size_t)snprintf(deps + dp, sizeof deps - dp, "%s%d", k ? "," : "",
                                           json_object_get_int(json_object_array_get_idx(after, k)));
            printf("%-4lld  %-20.20s  %-16.16s  %-16.16s  %-8.8s  %-10s  %4lld  %.60s\n",
                   s_num(b, "branch"), s_get(b, "resource"), s_get(b, "action"),
                   strcmp(s_get(b, "pivot"), "true") == 0 ? "(pivot)" : s_get(b, "compensation"),
                   deps, s_get(b, "state"), s_num(b, "attempts"), s_get(b, "last_error"));
        }
        brs = NULL; /* shown */
    } else if (strcmp(s_get(t, "mode"), "msg") == 0 && brs) {
        /* A transactional message: its destinations, delivered or not,
         * and who answers its check-back. */
        long n = (long)json_object_array_length(brs), done = 0;
        for (long i = 0; i < n; i++)
            done += strcmp(s_get(json_object_array_get_idx(brs, (size_t)i), "state"),
                           "confirmed") == 0;
        printf("message    %ld destination%s: %ld delivered; check-back %s\n", n,
               n == 1 ? "" : "s", done, s_get(t, "checkback"));
        printf("\n%-4s  %-20s  %-16s  %-10s  %4s  %s\n", "DEST", "RESOURCE", "ACTION", "DELIVERY",
               "ATT", "LAST ERROR");
        for (long i = 0; i < n; i++) {
            json_object *b = json_object_array_get_idx(brs, (size_t)i);
            const char *st = s_get(b, "state");
            printf("%-4lld  %-20.20s  %-16.16s  %-10s  %4lld  %.60s\n", s_num(b, "branch"),
                   s_get(b, "resource"), s_get(b, "action"),
                   strcmp(st, "confirmed") == 0   ? "delivered"
                   : strcmp(st, "cancelled") == 0 ? "dropped"
                                                  : "pending",
                   s_num(b, "attempts"), s_get(b, "last_error"));
        }
        brs = NULL; /* shown */
    } else {
        printf("\n%-3s  %-20s  %-16s  %-10s  %-4s  %4s  %s\n", "BR", "RESOURCE", "ACTION",
               "STATE", "VOTE", "ATT", "LAST ERROR");
    }
    for (size_t i = 0; brs && i < json_object_array_length(brs); i++) {
        json_object *b = json_object_array_get_idx(brs, i);
        printf("%-3lld  %-20.20s  %-16.16s  %-10s  %-4s  %4lld  %.60s\n", s_num(b, "branch"),
               s_get(b, "resource"), s_get(b, "action"), s_get(b, "state"),
               s_get(b, "vote")[0] ? s_get(b, "vote") : "-", s_num(b, "attempts"),
               s_get(b, "last_error"));
    }
    json_object *tl = s_arr(res, "timeline");
    printf("\ntimeline\n");
    for (size_t i = 0; tl && i < json_object_array_length(tl); i++) {
        json_object *e = json_object_array_get_idx(tl, i);
        char br[16] = "";
        if (s_num(e, "branch"))
            snprintf(br, sizeof br, "branch %lld", s_num(e, "branch"));
        printf("  %s  %-24s %-10s %s\n", s_time(s_num(e, "at_ms"), b1, sizeof b1),
               s_get(e, "event"), br, s_get(e, "detail"));
    }
}

void dtxctl_action_print(dtxctl_t *c, json_object *res)
{
    if (c->json) {
        s_json(res);
        return;
    }
    printf("%s %s: %s (state %s): %s\n", s_get(res, "action"), s_get(res, "gid"),
           s_get(res, "result"), s_get(res, "state")[0] ? s_get(res, "state") : "unknown",
           s_get(res, "detail"));
}

void dtxctl_participants_print(dtxctl_t *c, json_object *res)
{
    if (c->json) {
        s_json(res);
        return;
    }
    printf("%-24s  %-24s  %14s  %9s  %8s\n", "RESOURCE", "INSTANCE", "LAST HEARTBEAT", "IN FLIGHT",
           "CALLS");
    json_object *rs = s_arr(res, "resources");
    for (size_t i = 0; rs && i < json_object_array_length(rs); i++) {
        json_object *r = json_object_array_get_idx(rs, i), *ins = s_arr(r, "instances");
        for (size_t j = 0; ins && j < json_object_array_length(ins); j++) {
            json_object *in = json_object_array_get_idx(ins, j);
            char hb[32];
            snprintf(hb, sizeof hb, "%lldms ago", s_num(in, "last_heartbeat_ms_ago"));
            printf("%-24.24s  %-24.24s  %14s  %9lld  %8lld\n", s_get(r, "resource"),
                   s_get(in, "instance"), hb, s_num(in, "in_flight"), s_num(in, "calls"));
        }
    }
}

void dtxctl_overview_print(dtxctl_t *c, json_object *res)
{
    if (c->json) {
        s_json(res);
        return;
    }
    json_object *counts = NULL;
    json_object_object_get_ex(res, "counts", &counts);
    printf("node %s; finished counted over %s\n", s_get(res, "node"),
           s_get(res, "finished_window"));
    static const char *states[] = { "stuck", "active", "committing", "aborting", "committed",
                                    "aborted" };
    for (int i = 0; i < 6; i++)
        printf("  %-10s %lld\n", states[i], s_num(counts, states[i]));
    json_object *stuck = s_arr(res, "stuck");
    if (stuck && json_object_array_length(stuck) > 0) {
        printf("\nstuck (oldest first):\n");
        json_object *page = json_object_new_object();
        json_object_object_add(page, "items", json_object_get(stuck));
        dtxctl_list_print(c, page, 1, 1);
        json_object_put(page);
    }
}

void dtxctl_state_print(dtxctl_t *c, json_object *res)
{
    if (c->json)
        s_json(res);
    else
        printf("%s %s\n", s_get(res, "gid"), s_get(res, "state"));
}

void dtxctl_field_print(dtxctl_t *c, json_object *res, const char *field)
{
    if (c->json)
        s_json(res);
    else
        printf("%s\n", s_get(res, field));
}

void dtxctl_try_print(dtxctl_t *c, json_object *res, int *rc)
{
    if (strcmp(s_get(res, "outcome"), "ok") != 0)
        *rc = DTXCTL_REFUSED;
    if (c->json)
        s_json(res);
    else
        printf("branch %lld: %s (transaction %s)\n", s_num(res, "branch"), s_get(res, "outcome"),
               s_get(res, "state"));
}

void dtxctl_tries_print(dtxctl_t *c, json_object *res, int *rc)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(res, "tries", &a) || !json_object_is_type(a, json_type_array))
        a = NULL;
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        json_object *t = json_object_array_get_idx(a, i);
        if (strcmp(s_get(t, "outcome"), "ok") != 0)
            *rc = DTXCTL_REFUSED;
        if (!c->json)
            printf("branch %lld: %s%s%s\n", s_num(t, "branch"), s_get(t, "outcome"),
                   *s_get(t, "error") ? ": " : "", s_get(t, "error"));
    }
    if (c->json)
        s_json(res);
    else
        printf("transaction %s\n", s_get(res, "state"));
}
