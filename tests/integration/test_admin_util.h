/*
 * test_admin_util.h — a world for the admin API suites: a log database,
 * dtxd with its admin HTTP on a free port and a token, one test
 * participant serving resource "ra"; and a small libcurl client.
 */
#ifndef DTX_TEST_ADMIN_UTIL_H
#define DTX_TEST_ADMIN_UTIL_H

#include <json-c/json.h>
#include <libpq-fe.h>
#include <sys/types.h>

#include "../harness/harness.h"

#define TA_TOKEN "ta-token-0123456789abcdefXYZ"
#define TA_TOKEN_NAME "tester"

typedef struct ta_world {
    h_dtxd_t d;
    char     url[160];        /* http://127.0.0.1:PORT */
    char     part_db[H_CONNINFO_SIZE];
    char     name[48];
    PGconn  *log;             /* the log database */
    pid_t    part;            /* test participant, 0 when none */
} ta_world_t;

/* Starts the world <name>: databases <name>_log / <name>_p, dtxd with
 * --http-listen 127.0.0.1:0, a token file (unless dtxd_extra holds
 * "--no-token-file" first) and dtxd_extra; a participant for "ra" with
 * part_extra unless part_extra is the string list {"none", NULL}. */
int  ta_up(ta_world_t *w, const char *name, const char *const *dtxd_extra,
           const char *const *part_extra);
/* Stops everything; asserts dtxd exits 0. */
void ta_down(ta_world_t *w);

/* One HTTP call. token: NULL for none. Returns the status (0 when the
 * call failed) and the parsed JSON in *out (may be NULL; caller puts). */
long ta_req(const ta_world_t *w, const char *method, const char *path, const char *body,
            const char *token, json_object **out);
/* The same with a raw body of len bytes, the text of the answer in raw. */
long ta_req_raw(const ta_world_t *w, const char *method, const char *path, const char *body,
                size_t len, const char *token, char *raw, size_t rawcap);
/* A string field ("" when absent). */
const char *ta_str(json_object *o, const char *key);

/* BEGIN + TRY ra + COMMIT over HTTP; the gid into gid. 0 or -1. */
int ta_commit_one(const ta_world_t *w, char *gid);
/* Waits until GET /api/v1/tx/<gid> says state. 0 or -1. */
int ta_wait_state(const ta_world_t *w, const char *gid, const char *state, int timeout_ms);
/* Value of a dtxd /metrics series (exact name with labels), -1 when
 * absent. */
double ta_metric(const ta_world_t *w, const char *series);

/* Runs dtxctl with args (a shell fragment) against w (NULL: a URL where
 * nothing listens); its stdout and stderr into out. Returns its exit
 * status. */
int ta_ctl(const ta_world_t *w, char *out, size_t cap, const char *args);

#endif
