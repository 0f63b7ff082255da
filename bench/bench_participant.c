/*
 * bench-participant — the participant of `make bench`: serves resources
 * whose Try, Confirm and Cancel, and Saga action and compensation, do
 * nothing and succeed (return DTX_OK, no database), so a benchmark
 * measures the coordinator and its log, not a participant's own work.
 *
 * Usage:
 *   bench-participant --instance NAME --coordinator ENDPOINT...
 *                     --resource NAME... [--ready-file FILE]
 *                     [--heartbeat-ms N] [--log-level LEVEL]
 *
 * Lifecycle: connect to every coordinator and serve every resource; once
 * registered with all of them (dtx_participant_registered() equals the
 * number of coordinators), write "registered\n" to --ready-file (via
 * FILE.tmp and a rename, so a reader never sees a partial file); serve
 * until SIGTERM or SIGINT. On exit logs (info level, the default) one line
 * with the number of calls handled per operation.
 * Exits 0 on SIGTERM/SIGINT, 1 on a failure, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/dtx.h"
#include "dtx/types.h"
#include "../samples/sample_log.h"
#include "../samples/sample_ready.h"

#define BP_MAX_LIST 16  /* resources, coordinators */

typedef struct bp {
    const char *instance;                  /* --instance */
    const char *resources[BP_MAX_LIST];    /* --resource */
    int         nresources;
    const char *coordinators[BP_MAX_LIST]; /* --coordinator */
    int         ncoordinators;
    const char *ready_file;                /* --ready-file, or NULL */
    int         heartbeat_ms;              /* 0: the SDK's default */
    unsigned long calls[4];                /* handled calls by DTX_OP_* */
    int         ready_failed;              /* s_on_ready failed (and said why) */
} bp_t;

/* The one handler of every operation: count it, succeed. */
static int s_noop(const dtx_call_t *call, void *arg)
{
    bp_t *self = arg;
    if (call->op >= DTX_OP_TRY && call->op <= DTX_OP_CANCEL)
        self->calls[call->op]++;
    return DTX_OK;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench-participant --instance NAME --coordinator ENDPOINT...\n"
            "                         --resource NAME... [--ready-file FILE]\n"
            "                         [--heartbeat-ms N] [--log-level LEVEL]\n");
}

static int s_add(const char **list, int *n, const char *value, const char *what)
{
    if (*n >= BP_MAX_LIST) {
        fprintf(stderr, "bench-participant: at most %d %s\n", BP_MAX_LIST, what);
        return -1;
    }
    list[(*n)++] = value;
    return 0;
}

/* Returns 0, 1 after --help, or -1 on bad usage (message printed). */
static int s_parse(bp_t *self, int argc, char **argv)
{
    enum { O_INSTANCE = 1, O_RESOURCE, O_COORD, O_READY, O_HB, O_LOGLEVEL, O_HELP };
    static const struct option opts[] = {
        { "instance", required_argument, NULL, O_INSTANCE },
        { "resource", required_argument, NULL, O_RESOURCE },
        { "coordinator", required_argument, NULL, O_COORD },
        { "ready-file", required_argument, NULL, O_READY },
        { "heartbeat-ms", required_argument, NULL, O_HB },
        { "log-level", required_argument, NULL, O_LOGLEVEL },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_INSTANCE:
            self->instance = optarg;
            break;
        case O_RESOURCE:
            if (s_add(self->resources, &self->nresources, optarg, "resources") < 0)
                return -1;
            break;
        case O_COORD:
            if (s_add(self->coordinators, &self->ncoordinators, optarg, "coordinators") < 0)
                return -1;
            break;
        case O_READY:
            self->ready_file = optarg;
            break;
        case O_HB: {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 10 || v > 600000) {
                fprintf(stderr, "bench-participant: --heartbeat-ms wants 10..600000\n");
                return -1;
            }
            self->heartbeat_ms = (int)v;
            break;
        }
        case O_LOGLEVEL: {
            int level = dtx_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "bench-participant: --log-level: error, warn, info or debug\n");
                return -1;
            }
            sample_log_set_level(level);
            break;
        }
        case O_HELP:
            s_usage(stdout);
            return 1;
        default:
            s_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench-participant: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!self->instance || self->nresources == 0 || self->ncoordinators == 0) {
        fprintf(stderr, "bench-participant: --instance, --resource and --coordinator are "
                        "required\n");
        s_usage(stderr);
        return -1;
    }
    return 0;
}

/* Registered with every coordinator: write --ready-file. */
static int s_on_ready(dtx_participant_t *p, void *arg)
{
    bp_t *self = arg;
    (void)p;
    if (sample_ready_write(self->ready_file) != 0) {
        fprintf(stderr, "bench-participant: cannot write %s: %s\n", self->ready_file,
                strerror(errno));
        self->ready_failed = 1;
        return DTX_EIO;
    }
    sample_log_info("ready", "instance=%s resources=%d", self->instance, self->nresources);
    return 0;
}

int main(int argc, char **argv)
{
    bp_t self;
    memset(&self, 0, sizeof self);
    sample_log_set_name("bench-participant");
    int prc = s_parse(&self, argc, argv);
    if (prc != 0)
        return prc > 0 ? 0 : 2;

    int rc = 1, err = 0;
    dtx_participant_t *p = dtx_participant_new(self.instance, &err);
    if (!p) {
        fprintf(stderr, "bench-participant: cannot create participant %s: %s\n", self.instance,
                dtx_strerror(err));
        return err == DTX_EINVAL ? 2 : 1;
    }
    if (dtx_participant_stop_on_signals(p) != 0)
        goto out;
    if (self.heartbeat_ms > 0)
        dtx_participant_set_heartbeat(p, self.heartbeat_ms);
    const dtx_tcc_handlers_t handlers = { s_noop, s_noop, s_noop, &self };
    const dtx_saga_handlers_t saga = { s_noop, s_noop, &self };
    for (int i = 0; i < self.nresources; i++) {
        if ((err = dtx_participant_serve(p, self.resources[i], &handlers)) != 0 ||
            (err = dtx_participant_serve_saga(p, self.resources[i], &saga)) != 0) {
            fprintf(stderr, "bench-participant: cannot serve resource '%s': %s\n",
                    self.resources[i], dtx_strerror(err));
            rc = 2;
            goto out;
        }
    }
    for (int i = 0; i < self.ncoordinators; i++) {
        if ((err = dtx_participant_connect(p, self.coordinators[i])) != 0) {
            fprintf(stderr, "bench-participant: cannot connect to %s: %s\n",
                    self.coordinators[i], dtx_strerror(err));
            rc = err == DTX_EINVAL ? 2 : 1;
            goto out;
        }
    }

    if (self.ready_file)
        dtx_participant_set_ready(p, s_on_ready, &self);
    if ((err = dtx_participant_run(p)) != 0) {
        if (!self.ready_failed)
            fprintf(stderr, "bench-participant: %s: %s\n", self.instance, dtx_strerror(err));
        goto out;
    }
    rc = 0;
out:
    sample_log_info("stopping", "instance=%s try=%lu confirm=%lu cancel=%lu", self.instance,
                    self.calls[DTX_OP_TRY], self.calls[DTX_OP_CONFIRM], self.calls[DTX_OP_CANCEL]);
    dtx_participant_destroy(&p);
    return rc;
}
