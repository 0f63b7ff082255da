/*
 * test_participant.h — what test-participant's files share: its settings
 * (tp_t) and its command line (test_participant_args.c). What the program
 * does, and every option, is described in test_participant.c.
 */
#ifndef DTX_TEST_PARTICIPANT_H
#define DTX_TEST_PARTICIPANT_H

#include <stdio.h>

#include <libpq-fe.h>

#include "dtx/dtx.h"
#include "dtx/pgres.h"
#include "dtx/types.h"

#define TP_MAX_LIST 16  /* resources, coordinators, refused actions */

typedef struct tp {
    const char *instance;                    /* --instance */
    const char *conninfo;                    /* --db */
    const char *resources[TP_MAX_LIST];      /* --resource */
    int         nresources;
    const char *coordinators[TP_MAX_LIST];   /* --coordinator */
    int         ncoordinators;
    const char *refused[TP_MAX_LIST];        /* --refuse-action */
    int         nrefused;
    long        fail_confirm_left;           /* confirms still to fail */
    long        delay_ms[DTX_OP_MAX + 1];    /* by DTX_OP_*: sleep before acting */
    long        fail_left[DTX_OP_MAX + 1];   /* by DTX_OP_*: calls still to fail */
    int         mode2pc;                     /* --mode2pc: serve 2PC handlers too */
    const char *refused_prepare[TP_MAX_LIST];/* --refuse-prepare-action */
    int         nrefused_prepare;
    int         exit_after_prepare;          /* --exit-after-prepare */
    long        fail_commit_left;            /* commits still to fail */
    long        work_delay_ms;               /* --prepare-work-delay-ms */
    long        lock_timeout_ms;             /* --lock-timeout-ms; 0 default */
    dtx_pgres_t *pgres;                      /* --mode2pc: the 2PC resource */
    dtx_2pc_handlers_t pg;                   /* pgres's handlers, wrapped by s_handle_2pc */
    int         heartbeat_ms;                /* 0: SDK default */
    const char *ready_file;                  /* --ready-file */
    PGconn     *conn;                        /* the participant's own database */
    int         ready_failed;                /* s_on_ready failed (and logged why) */
} tp_t;

/* Fills self (zeroed by the caller) from the command line. 0, or -1 after
 * saying what is wrong on stderr (the caller prints the usage). */
int tp_parse(tp_t *self, int argc, char **argv);
/* The usage lines, to out. */
void tp_usage(FILE *out);

#endif
