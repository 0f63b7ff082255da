/*
 * test_participant_args.c — test-participant's command line
 * (test_participant.h; the options are described in test_participant.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtx/log.h"
#include "test_participant.h"

void tp_usage(FILE *out)
{
    fprintf(out,
            "usage: test-participant --instance NAME --db CONNINFO --coordinator ENDPOINT...\n"
            "                        --resource NAME... [--refuse-action NAME]...\n"
            "                        [--fail-confirm-times N] [--delay-ms-op OP:MS]...\n"
            "                        [--heartbeat-ms N] [--log-level LEVEL] [--ready-file FILE]\n"
            "                        [--proto-version 1|2]\n"
            "                        [--mode2pc [--refuse-prepare-action NAME]... [--exit-after-prepare]\n"
            "                         [--fail-commit-times N] [--prepare-work-delay-ms MS]\n"
            "                         [--lock-timeout-ms MS]]\n");
}

static int s_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int s_op_parse(const char *name)
{
    if (strcmp(name, "try") == 0)
        return DTX_OP_TRY;
    if (strcmp(name, "confirm") == 0)
        return DTX_OP_CONFIRM;
    if (strcmp(name, "cancel") == 0)
        return DTX_OP_CANCEL;
    if (strcmp(name, "prepare") == 0)
        return DTX_OP_PREPARE;
    if (strcmp(name, "commit") == 0)
        return DTX_OP_COMMIT;
    if (strcmp(name, "abort") == 0)
        return DTX_OP_ABORT;
    if (strcmp(name, "action") == 0)
        return DTX_OP_ACTION;
    if (strcmp(name, "compensate") == 0)
        return DTX_OP_COMPENSATE;
    if (strcmp(name, "deliver") == 0)
        return DTX_OP_DELIVER;
    if (strcmp(name, "query_prepared") == 0)
        return DTX_OP_QUERY_PREPARED;
    return -1;
}

static int s_add(const char **list, int *n, const char *value, const char *what)
{
    if (*n >= TP_MAX_LIST) {
        fprintf(stderr, "test-participant: at most %d %s\n", TP_MAX_LIST, what);
        return -1;
    }
    list[(*n)++] = value;
    return 0;
}

int tp_parse(tp_t *self, int argc, char **argv)
{
    enum { O_INSTANCE = 1, O_RESOURCE, O_COORD, O_DB, O_REFUSE, O_FAILCONF, O_DELAY,
           O_HB, O_LOGLEVEL, O_READY, O_HELP, O_MODE2PC, O_REFUSE_PREPARE, O_EXIT_PREPARE,
           O_FAILCOMMIT, O_WORK_DELAY, O_LOCK_TIMEOUT, O_PROTO, O_FAILOP };
    static const struct option opts[] = {
        { "instance", required_argument, NULL, O_INSTANCE },
        { "resource", required_argument, NULL, O_RESOURCE },
        { "coordinator", required_argument, NULL, O_COORD },
        { "db", required_argument, NULL, O_DB },
        { "refuse-action", required_argument, NULL, O_REFUSE },
        { "fail-confirm-times", required_argument, NULL, O_FAILCONF },
        { "delay-ms-op", required_argument, NULL, O_DELAY },
        { "heartbeat-ms", required_argument, NULL, O_HB },
        { "log-level", required_argument, NULL, O_LOGLEVEL },
        { "ready-file", required_argument, NULL, O_READY },
        { "help", no_argument, NULL, O_HELP },
        { "mode2pc", no_argument, NULL, O_MODE2PC },
        { "refuse-prepare-action", required_argument, NULL, O_REFUSE_PREPARE },
        { "exit-after-prepare", no_argument, NULL, O_EXIT_PREPARE },
        { "fail-commit-times", required_argument, NULL, O_FAILCOMMIT },
        { "prepare-work-delay-ms", required_argument, NULL, O_WORK_DELAY },
        { "lock-timeout-ms", required_argument, NULL, O_LOCK_TIMEOUT },
        { "proto-version", required_argument, NULL, O_PROTO },
        { "fail-op-times", required_argument, NULL, O_FAILOP },
        { NULL, 0, NULL, 0 },
    };
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_INSTANCE: self->instance = optarg; break;
        case O_DB: self->conninfo = optarg; break;
        case O_READY: self->ready_file = optarg; break;
        case O_RESOURCE:
            if (s_add(self->resources, &self->nresources, optarg, "resources") < 0)
                return -1;
            break;
        case O_COORD:
            if (s_add(self->coordinators, &self->ncoordinators, optarg, "coordinators") < 0)
                return -1;
            break;
        case O_REFUSE:
            if (s_add(self->refused, &self->nrefused, optarg, "refused actions") < 0)
                return -1;
            break;
        case O_FAILCONF:
            if (s_parse_long(optarg, 0, 1000000, &v) < 0) {
                fprintf(stderr, "test-participant: --fail-confirm-times wants a count\n");
                return -1;
            }
            self->fail_confirm_left = v;
            break;
        case O_FAILOP:
        case O_DELAY: {
            const char *colon = strchr(optarg, ':');
            char op[16];
            if (!colon || (size_t)(colon - optarg) >= sizeof op) {
                fprintf(stderr, "test-participant: --delay-ms-op wants OP:MS, e.g. confirm:1500\n");
                return -1;
            }
            memcpy(op, optarg, (size_t)(colon - optarg));
            op[colon - optarg] = '\0';
            int o = s_op_parse(op);
            if (o < 0 || s_parse_long(colon + 1, 0, 3600000, &v) < 0) {
                fprintf(stderr, "test-participant: --delay-ms-op/--fail-op-times want OP:N with "
                                "OP try, confirm, cancel, prepare, commit, abort, action, "
                                "compensate, deliver or query_prepared\n");
                return -1;
            }
            if (c == O_FAILOP)
                self->fail_left[o] = v;
            else
                self->delay_ms[o] = v;
            break;
        }
        case O_HB:
            if (s_parse_long(optarg, 1, 3600000, &v) < 0) {
                fprintf(stderr, "test-participant: --heartbeat-ms wants milliseconds\n");
                return -1;
            }
            self->heartbeat_ms = (int)v;
            break;
        case O_LOGLEVEL: {
            int level = dtx_log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "test-participant: --log-level: debug, info, warn or error\n");
                return -1;
            }
            dtx_log_set_level(level);
            break;
        }
        case O_MODE2PC: self->mode2pc = 1; break;
        case O_PROTO:
            if (strcmp(optarg, "1") == 0) {
                setenv("DTX_PROTO_VERSION", "1", 1); /* read by libdtx's links */
            } else if (strcmp(optarg, "2") != 0) {
                fprintf(stderr, "test-participant: --proto-version wants 1 or 2\n");
                return -1;
            }
            break;
        case O_EXIT_PREPARE: self->exit_after_prepare = 1; break;
        case O_REFUSE_PREPARE:
            if (s_add(self->refused_prepare, &self->nrefused_prepare, optarg,
                      "refused prepare actions") < 0)
                return -1;
            break;
        case O_FAILCOMMIT:
            if (s_parse_long(optarg, 0, 1000000, &v) < 0) {
                fprintf(stderr, "test-participant: --fail-commit-times wants a count\n");
                return -1;
            }
            self->fail_commit_left = v;
            break;
        case O_WORK_DELAY:
        case O_LOCK_TIMEOUT:
            if (s_parse_long(optarg, 0, 3600000, &v) < 0) {
                fprintf(stderr, "test-participant: --%s wants milliseconds\n",
                        c == O_WORK_DELAY ? "prepare-work-delay-ms" : "lock-timeout-ms");
                return -1;
            }
            if (c == O_WORK_DELAY)
                self->work_delay_ms = v;
            else
                self->lock_timeout_ms = v;
            break;
        case O_HELP:
            tp_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || !self->instance || !self->conninfo || self->nresources == 0 ||
        self->ncoordinators == 0) {
        fprintf(stderr, "test-participant: --instance, --db, --resource and --coordinator "
                        "are required\n");
        return -1;
    }
    return 0;
}
