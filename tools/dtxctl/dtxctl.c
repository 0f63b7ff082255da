/*
 * dtxctl — the dtx admin API on the command line.
 *
 *   dtxctl [options] list [--state S[,S]] [--mode tcc|2pc|saga|msg] [--resource R] [--q PREFIX]
 *                         [--min-age D] [--max-age D] [--order newest|oldest]
 *                         [--limit N] [--cursor C] [--all]
 *   dtxctl [options] show GID
 *   dtxctl [options] retry|commit|rollback|resume GID --reason TEXT [--operator NAME]
 *   dtxctl [options] participants | overview
 *   dtxctl [options] begin [--mode tcc|2pc] [--timeout-ms N]
 *   dtxctl [options] try GID RESOURCE ACTION [PAYLOAD]
 *   dtxctl [options] try-many GID RESOURCE:ACTION[:PAYLOAD]...
 *   dtxctl [options] run [--timeout-ms N] [--no-commit | --id ID] RESOURCE:ACTION[:PAYLOAD]...
 *   dtxctl [options] end GID commit|rollback
 *   dtxctl [options] status GID [--wait SECONDS]
 *   dtxctl keygen FILE [--server-key KEY | --server-key-file FILE2]
 *   dtxctl keygen --show FILE
 *   dtxctl --version
 *
 * commit and rollback are the operator's force-commit / force-rollback
 * (dtxd allows them only where they are safe); end is the initiator's.
 * keygen writes CurveZMQ credentials files (keygen.c) and needs no server.
 *
 * Options: --url URL (env DTX_URL, default http://127.0.0.1:7080),
 * --token T (env DTX_TOKEN) or --token-file F (the token, or a name:token
 * line), --cacert F (HTTPS), --timeout S (default 30), --json (print the
 * server's JSON as is).
 *
 * Exit codes: 0 done; 1 refused or not found (4xx: the server said no;
 * keygen: a file cannot be read or written, or exists); 2 usage error;
 * 3 cannot reach the server, or a server error (5xx); 4 status --wait:
 * the transaction was still moving when the wait ran out.
 */
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/version.h"
#include "dtxctl.h"

static void s_usage(FILE *f)
{
    fputs("usage: dtxctl [--url URL] [--token T | --token-file F] [--cacert F] [--timeout S]\n"
          "              [--json] COMMAND [ARGS]\n"
          "commands:\n"
          "  list [--state S[,S]] [--mode tcc|2pc|saga|msg] [--resource R] [--q GID-PREFIX]\n"
          "       [--min-age D] [--max-age D] [--order newest|oldest] [--limit N]\n"
          "       [--cursor C] [--all]                  transactions, newest first\n"
          "  show GID                                   branches, attempts, timeline\n"
          "  retry GID --reason TEXT [--operator NAME]  pending deliveries now\n"
          "  commit GID --reason TEXT                   force commit (only where safe)\n"
          "  rollback GID --reason TEXT                 force rollback (before a commit decision)\n"
          "  resume GID --reason TEXT                   a stuck transaction goes on\n"
          "  participants                               live instances per resource\n"
          "  overview                                   counts by state, stuck ones\n"
          "  begin [--mode tcc|2pc] [--timeout-ms N]    start a transaction (prints its gid)\n"
          "  try GID RESOURCE ACTION [PAYLOAD]          add a branch\n"
          "  try-many GID RES:ACTION[:PAYLOAD]...       up to 16 branches, one request\n"
          "  run [--timeout-ms N] [--no-commit | --id ID] RES:ACTION[:PAYLOAD]...\n"
          "                                             a whole TCC transaction, one request\n"
          "  end GID commit|rollback                    the initiator's decision\n"
          "  status GID [--wait S]                      its state; --wait: once it rests\n"
          "                                             (committed, aborted, stuck), S s at most\n"
          "  keygen FILE [--server-key KEY | --server-key-file FILE2]\n"
          "                                             new CURVE key pair into FILE (0600,\n"
          "                                             never overwritten; a peer's needs the\n"
          "                                             coordinator's public key): prints its\n"
          "                                             public key; no server needed\n"
          "  keygen --show FILE                         FILE's public key\n"
          "  --version                                  print dtxctl's version\n"
          "env: DTX_URL, DTX_TOKEN, DTX_TOKEN_FILE\n"
          "exit: 0 ok, 1 refused or not found (keygen: file unreadable, unwritable or\n"
          "      existing), 2 usage, 3 unreachable or server error\n",
          f);
}

static int s_usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "dtxctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(dtxctl --help for usage)\n");
    return DTXCTL_USAGE;
}

/* Appends "&name=value" (URL-encoded) to q. */
static void s_qarg(dtxctl_t *c, char *q, size_t cap, const char *name, const char *value)
{
    if (!value)
        return;
    char *enc = dtxctl_escape(c, value);
    size_t n = strlen(q);
    snprintf(q + n, cap - n, "%s%s=%s", n ? "&" : "?", name, enc ? enc : "");
    free(enc);
}

static int s_list(dtxctl_t *c, int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' }, { "mode", required_argument, NULL, 'm' },
        { "resource", required_argument, NULL, 'r' }, { "q", required_argument, NULL, 'q' },
        { "min-age", required_argument, NULL, 'a' }, { "max-age", required_argument, NULL, 'A' },
        { "order", required_argument, NULL, 'o' }, { "limit", required_argument, NULL, 'l' },
        { "cursor", required_argument, NULL, 'c' }, { "all", no_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    const char *v[10] = { NULL };
    static const char *names[] = { "state", "mode", "resource", "q", "min_age", "max_age",
                                   "order", "limit", "cursor" };
    static const char keys[] = "smrqaAolc";
    int all = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char *p = ch ? strchr(keys, ch) : NULL;
        if (ch == 'x')
            all = 1;
        else if (p)
            v[p - keys] = optarg;
        else
            return s_usage_error("list: unknown option %s", argv[optind - 1]);
    }
    if (optind != argc)
        return s_usage_error("list: unexpected argument %s", argv[optind]);
    char cursor[128] = "";
    int first = 1;
    for (;;) {
        char path[2048] = "";
        for (int i = 0; i < 9; i++)
            s_qarg(c, path, sizeof path, names[i], i == 8 && cursor[0] ? cursor : v[i]);
        char url[2100];
        snprintf(url, sizeof url, "/api/v1/transactions%s", path);
        json_object *res = NULL;
        int rc = dtxctl_call(c, "GET", url, NULL, &res);
        if (rc != 0)
            return rc;
        const char *next = dtxctl_list_print(c, res, first, all);
        first = 0;
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_object_put(res);
        if (!all || !cursor[0])
            break;
    }
    return DTXCTL_OK;
}

static int s_action(dtxctl_t *c, const char *verb, const char *endpoint, int argc, char **argv)
{
    static const struct option opts[] = { { "reason", required_argument, NULL, 'r' },
                                           { "operator", required_argument, NULL, 'o' },
                                           { NULL, 0, NULL, 0 } };
    const char *reason = NULL, *op = NULL;
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'r')
            reason = optarg;
        else if (ch == 'o')
            op = optarg;
        else
            return s_usage_error("unknown option %s", argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return s_usage_error("%s: give exactly one GID", verb);
    if (!reason || !reason[0])
        return s_usage_error("%s: --reason is required (it goes into the audit log)", verb);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "reason", json_object_new_string(reason));
    if (op)
        json_object_object_add(body, "operator", json_object_new_string(op));
    char url[256];
    snprintf(url, sizeof url, "/api/v1/transactions/%.100s/%s", argv[optind], endpoint);
    json_object *res = NULL;
    int rc = dtxctl_call(c, "POST", url, body, &res);
    json_object_put(body);
    if (res)
        dtxctl_action_print(c, res);
    json_object_put(res);
    return rc;
}

static int s_simple_get(dtxctl_t *c, const char *url, void (*print)(dtxctl_t *, json_object *))
{
    json_object *res = NULL;
    int rc = dtxctl_call(c, "GET", url, NULL, &res);
    if (rc == 0)
        print(c, res);
    json_object_put(res);
    return rc;
}

static int s_begin(dtxctl_t *c, int argc, char **argv)
{
    static const struct option opts[] = { { "mode", required_argument, NULL, 'm' },
                                           { "timeout-ms", required_argument, NULL, 't' },
                                           { NULL, 0, NULL, 0 } };
    json_object *body = json_object_new_object();
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'm')
            json_object_object_add(body, "mode", json_object_new_string(optarg));
        else if (ch == 't')
            json_object_object_add(body, "timeout_ms", json_object_new_int64(atoll(optarg)));
        else {
            json_object_put(body);
            return s_usage_error("begin: unknown option %s", argv[optind - 1]);
        }
    }
    json_object *res = NULL;
    int rc = dtxctl_call(c, "POST", "/api/v1/tx", body, &res);
    json_object_put(body);
    if (rc == 0)
        dtxctl_field_print(c, res, "gid");
    json_object_put(res);
    return rc;
}

/* status GID [--wait S]: the state, or — with --wait — the state once the
 * transaction rests (committed, aborted or stuck: nothing moves it but
 * an operator), polled every 100 ms for S seconds at most; exit 4 when it
 * was still moving then (its last state printed). `end` answers once the
 * decision is durable, before the branches have heard it. */
static int s_status(dtxctl_t *c, int argc, char **argv)
{
    static const struct option opts[] = { { "wait", required_argument, NULL, 'w' },
                                           { NULL, 0, NULL, 0 } };
    double wait_s = -1;
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        if (ch != 'w')
            return s_usage_error("status: unknown option %s", argv[optind - 1]);
        wait_s = strtod(optarg, &end);
        if (!*optarg || *end || !(wait_s >= 0 && wait_s <= 86400))
            return s_usage_error("status: --wait takes seconds, 0 to 86400 (got %s)", optarg);
    }
    if (optind != argc - 1)
        return s_usage_error("status: %s", "one GID expected");
    char url[256];
    snprintf(url, sizeof url, "/api/v1/tx/%.100s", argv[optind]);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        json_object *res = NULL, *st = NULL;
        int rc = dtxctl_call(c, "GET", url, NULL, &res);
        if (rc != 0 || wait_s < 0) {
            if (rc == 0)
                dtxctl_state_print(c, res);
            json_object_put(res);
            return rc;
        }
        const char *state = json_object_object_get_ex(res, "state", &st)
                                ? json_object_get_string(st) : "";
        int rests = strcmp(state, "committed") == 0 || strcmp(state, "aborted") == 0 ||
                    strcmp(state, "stuck") == 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double waited = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
        if (rests || waited >= wait_s) {
            dtxctl_state_print(c, res);
            json_object_put(res);
            return rests ? DTXCTL_OK : DTXCTL_NOT_YET;
        }
        json_object_put(res);
        nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
    }
}

/* RESOURCE:ACTION[:PAYLOAD] specs into body's "tries". 0, or
 * DTXCTL_USAGE (said) for a spec without both names. */
static int s_tries(json_object *body, int n, char **specs, const char *cmd)
{
    json_object *a = json_object_new_array();
    json_object_object_add(body, "tries", a);
    for (int i = 0; i < n; i++) {
        const char *s = specs[i], *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c1 || c1 == s || c1[1] == '\0' || c1[1] == ':') {
            char msg[512];
            snprintf(msg, sizeof msg, "%s: expected RESOURCE:ACTION[:PAYLOAD], got %.400s", cmd, s);
            return s_usage_error("%s", msg);
        }
        json_object *t = json_object_new_object();
        json_object_object_add(t, "resource", json_object_new_string_len(s, (int)(c1 - s)));
        json_object_object_add(t, "action", c2 ? json_object_new_string_len(c1 + 1, (int)(c2 - c1 - 1))
                                               : json_object_new_string(c1 + 1));
        if (c2)
            json_object_object_add(t, "payload", json_object_new_string(c2 + 1));
        json_object_array_add(a, t);
    }
    return 0;
}

/* run [--timeout-ms N] [--no-commit | --id ID] RES:ACTION[:PAYLOAD]...: a
 * whole TCC transaction in one request (POST /api/v1/tcc). Prints its gid,
 * each branch's outcome and its state; exit 1 when it was decided abort.
 * --id: the transaction's id, the caller's (a ULID; docs/protocol.md
 * §19.3): the same command may be run again, and a repeat prints the
 * first one's gid and state. */
static int s_run(dtxctl_t *c, int argc, char **argv)
{
    static const struct option opts[] = { { "timeout-ms", required_argument, NULL, 't' },
                                           { "no-commit", no_argument, NULL, 'n' },
                                           { "id", required_argument, NULL, 'i' },
                                           { NULL, 0, NULL, 0 } };
    json_object *body = json_object_new_object();
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        char *end = NULL;
        long long t = ch == 't' ? strtoll(optarg, &end, 10) : 0;
        if (ch == 't' && (!*optarg || *end || t < 0 || t > 4294967295LL)) {
            json_object_put(body);
            return s_usage_error("run: --timeout-ms takes milliseconds (got %s)", optarg);
        }
        if (ch == 't')
            json_object_object_add(body, "timeout_ms", json_object_new_int64(t));
        else if (ch == 'n')
            json_object_object_add(body, "commit", json_object_new_boolean(0));
        else if (ch == 'i')
            json_object_object_add(body, "id", json_object_new_string(optarg));
        else {
            json_object_put(body);
            return s_usage_error("run: unknown option %s", argv[optind - 1]);
        }
    }
    int n = argc - optind;
    if (n < 1 || n > 16) {
        json_object_put(body);
        return s_usage_error("run: %s", "1 to 16 RESOURCE:ACTION[:PAYLOAD] expected");
    }
    if (s_tries(body, n, argv + optind, "run") != 0) {
        json_object_put(body);
        return DTXCTL_USAGE;
    }
    json_object *res = NULL;
    int rc = dtxctl_call(c, "POST", "/api/v1/tcc", body, &res);
    json_object_put(body);
    if (res) {
        int out = DTXCTL_OK;
        if (!c->json)
            dtxctl_field_print(c, res, "gid");
        dtxctl_tries_print(c, res, &out);
        if (rc == DTXCTL_OK)
            rc = out;
    }
    json_object_put(res);
    return rc;
}

static int s_dispatch(dtxctl_t *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    char url[512];
    if (strcmp(cmd, "list") == 0)
        return s_list(c, argc, argv);
    if (strcmp(cmd, "retry") == 0)
        return s_action(c, cmd, "retry", argc, argv);
    if (strcmp(cmd, "commit") == 0)
        return s_action(c, cmd, "force-commit", argc, argv);
    if (strcmp(cmd, "rollback") == 0)
        return s_action(c, cmd, "force-rollback", argc, argv);
    if (strcmp(cmd, "resume") == 0)
        return s_action(c, cmd, "resume", argc, argv);
    if (strcmp(cmd, "participants") == 0 && argc == 1)
        return s_simple_get(c, "/api/v1/participants", dtxctl_participants_print);
    if (strcmp(cmd, "overview") == 0 && argc == 1)
        return s_simple_get(c, "/api/v1/overview", dtxctl_overview_print);
    if (strcmp(cmd, "begin") == 0)
        return s_begin(c, argc, argv);
    if (strcmp(cmd, "show") == 0 && argc == 2) {
        snprintf(url, sizeof url, "/api/v1/transactions/%.100s", argv[1]);
        return s_simple_get(c, url, dtxctl_show_print);
    }
    if (strcmp(cmd, "status") == 0)
        return s_status(c, argc, argv);
    if (strcmp(cmd, "try") == 0 && (argc == 4 || argc == 5)) {
        json_object *body = json_object_new_object(), *res = NULL;
        json_object_object_add(body, "resource", json_object_new_string(argv[2]));
        json_object_object_add(body, "action", json_object_new_string(argv[3]));
        if (argc == 5)
            json_object_object_add(body, "payload", json_object_new_string(argv[4]));
        snprintf(url, sizeof url, "/api/v1/tx/%.100s/try", argv[1]);
        int rc = dtxctl_call(c, "POST", url, body, &res);
        json_object_put(body);
        if (rc == 0)
            dtxctl_try_print(c, res, &rc);
        json_object_put(res);
        return rc;
    }
    if (strcmp(cmd, "try-many") == 0 && argc >= 3 && argc <= 2 + 16) {
        json_object *body = json_object_new_object(), *res = NULL;
        if (s_tries(body, argc - 2, argv + 2, "try-many") != 0) {
            json_object_put(body);
            return DTXCTL_USAGE;
        }
        snprintf(url, sizeof url, "/api/v1/tx/%.100s/tries", argv[1]);
        int rc = dtxctl_call(c, "POST", url, body, &res);
        json_object_put(body);
        if (rc == 0)
            dtxctl_tries_print(c, res, &rc);
        json_object_put(res);
        return rc;
    }
    if (strcmp(cmd, "run") == 0)
        return s_run(c, argc, argv);
    if (strcmp(cmd, "end") == 0 && argc == 3 &&
        (strcmp(argv[2], "commit") == 0 || strcmp(argv[2], "rollback") == 0)) {
        json_object *res = NULL;
        snprintf(url, sizeof url, "/api/v1/tx/%.100s/%s", argv[1], argv[2]);
        int rc = dtxctl_call(c, "POST", url, NULL, &res);
        if (rc == 0)
            dtxctl_state_print(c, res);
        json_object_put(res);
        return rc;
    }
    return s_usage_error("unknown command or wrong arguments: %s", cmd);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "url", required_argument, NULL, 'u' },    { "token", required_argument, NULL, 't' },
        { "token-file", required_argument, NULL, 'f' }, { "cacert", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 'T' }, { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    dtxctl_t c;
    memset(&c, 0, sizeof c);
    signal(SIGPIPE, SIG_IGN); /* a server closing early is an error, not a crash */
    c.url = getenv("DTX_URL") ? getenv("DTX_URL") : "http://127.0.0.1:7080";
    c.timeout_s = 30;
    const char *token = getenv("DTX_TOKEN"), *token_file = getenv("DTX_TOKEN_FILE");
    int ch;
    /* Global options stop at the command ("+"). */
    while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (ch) {
        case 'u': c.url = optarg; break;
        case 't': token = optarg; break;
        case 'f': token_file = optarg; break;
        case 'c': c.cacert = optarg; break;
        case 'T': c.timeout_s = atol(optarg); break;
        case 'j': c.json = 1; break;
        case 'h': s_usage(stdout); return DTXCTL_OK;
        case 'V': printf("dtxctl %s\n", DTX_VERSION_STRING); return DTXCTL_OK;
        default: s_usage(stderr); return DTXCTL_USAGE;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return DTXCTL_USAGE;
    }
    /* Local: no token, no libcurl. */
    if (strcmp(argv[optind], "keygen") == 0)
        return dtxctl_keygen(argc - optind, argv + optind);
    if (token_file && !token && dtxctl_read_token(&c, token_file) != 0)
        return DTXCTL_USAGE;
    if (token && !c.token[0])
        snprintf(c.token, sizeof c.token, "%s", token);
    if (dtxctl_init(&c) != 0) {
        fprintf(stderr, "dtxctl: cannot initialise libcurl\n");
        return DTXCTL_UNREACHABLE;
    }
    int rc = s_dispatch(&c, argc - optind, argv + optind);
    dtxctl_fini(&c);
    return rc;
}
