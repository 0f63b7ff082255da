/*
 * dtxctl.h — dtxctl's pieces: the HTTP client (http.c), the human output
 * (print.c) and CURVE key files (keygen.c). See dtxctl.c for the commands
 * and exit codes.
 */
#ifndef DTXCTL_H
#define DTXCTL_H

#include <stdio.h>

#include <json-c/json.h>

#define DTXCTL_OK          0 /* done */
#define DTXCTL_REFUSED     1 /* the server said no: 4xx (refused, not found, bad input) */
#define DTXCTL_USAGE       2 /* bad command line */
#define DTXCTL_UNREACHABLE 3 /* no connection, timeout, or a 5xx */
#define DTXCTL_NOT_YET     4 /* status --wait: no resting state in time */

typedef struct dtxctl {
    const char *url;         /* base URL, no trailing path */
    char        token[512];  /* bearer token, "" for none */
    const char *cacert;      /* CA file for HTTPS, or NULL */
    long        timeout_s;
    int         json;        /* print JSON as the server sent it */
    void       *curl;        /* CURL * */
} dtxctl_t;

int  dtxctl_init(dtxctl_t *c);
void dtxctl_fini(dtxctl_t *c);
/* Reads a token file: the token alone, or name:token. 0 or -1. */
int  dtxctl_read_token(dtxctl_t *c, const char *path);
/* URL-encodes s (caller frees). */
char *dtxctl_escape(dtxctl_t *c, const char *s);
/* Calls method path with body (may be NULL). On a 2xx returns DTXCTL_OK
 * and the parsed answer in *out (caller puts); on a 4xx prints the error
 * (or the JSON with --json), returns DTXCTL_REFUSED and may set *out; else
 * DTXCTL_UNREACHABLE. */
int  dtxctl_call(dtxctl_t *c, const char *method, const char *path, json_object *body,
                 json_object **out);

/* Output (print.c): a table by default, the JSON with --json. */
/* s with every control character, C1 control, DEL, invalid UTF-8 byte and
 * backslash escaped (\xNN, \n, \t, \r, \\), in out (cut to cap). */
const char *dtxctl_safe_into(const char *s, char *out, size_t cap);
/* The same in one of 16 rotating static buffers of 1 KiB: for printf
 * arguments. */
const char *dtxctl_safe(const char *s);
/* Writes JSON text with DEL, C1 controls and invalid UTF-8 escaped too. */
void dtxctl_put_json(FILE *f, const char *text);
/* Prints a list page; returns its next cursor (valid while res lives). */
const char *dtxctl_list_print(dtxctl_t *c, json_object *res, int header, int quiet_more);
void dtxctl_show_print(dtxctl_t *c, json_object *res);
void dtxctl_action_print(dtxctl_t *c, json_object *res);
void dtxctl_participants_print(dtxctl_t *c, json_object *res);
void dtxctl_overview_print(dtxctl_t *c, json_object *res);
void dtxctl_state_print(dtxctl_t *c, json_object *res);
void dtxctl_field_print(dtxctl_t *c, json_object *res, const char *field);
/* A Try's answer; a refused vote sets *rc to DTXCTL_REFUSED. */
void dtxctl_try_print(dtxctl_t *c, json_object *res, int *rc);
/* try-many: one line per branch, then the state; *rc REFUSED unless all ok. */
void dtxctl_tries_print(dtxctl_t *c, json_object *res, int *rc);

/* `dtxctl keygen ...` (keygen.c): argv[0] is "keygen". Needs no server.
 * Returns an exit code. */
int  dtxctl_keygen(int argc, char **argv);

#endif
