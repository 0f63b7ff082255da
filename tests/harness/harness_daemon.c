/*
 * tests/harness/harness_daemon.c — see harness.h: dtxd and
 * test-participant, started through h_spawn() and waited for until they
 * are ready (dtxd's endpoint file, the participant's ready file).
 */
#include "harness.h"
#include "hcurve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define H_START_WAIT_MS  10000 /* dtxd / participant readiness */
#define H_STOP_WAIT_MS   10000 /* dtxd clean exit */

static int s_dtxd_counter;

/* ------------------------------------------------------------------ */
/* dtxd                                                                */
/* ------------------------------------------------------------------ */

static int s_dtxd_launch(h_dtxd_t *self, const char *listen)
{
    char bin[1024];
    if (h_bin_path("dtxd", bin, sizeof bin) < 0)
        return -1;
    char *argv[H_DTXD_MAX_ARGS + 14];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--db";
    argv[n++] = self->db;
    argv[n++] = "--listen";
    argv[n++] = (char *)listen;
    argv[n++] = "--endpoint-file";
    argv[n++] = self->endpoint_file;
    int plain = !h_curve_on(), own_keys = 0;
    for (int i = 0; i < self->nextra; i++) {
        if (strcmp(self->extra[i], "--no-curve") == 0)
            plain = 1;
        else if (strcmp(self->extra[i], "--curve-secret-file") == 0)
            own_keys = 1;
    }
    if (!plain && !own_keys) {
        argv[n++] = "--curve-secret-file";
        argv[n++] = (char *)h_curve_server_file();
        argv[n++] = "--curve-allow-file";
        argv[n++] = (char *)h_curve_allow_file();
    }
    for (int i = 0; i < self->nextra; i++)
        if (strcmp(self->extra[i], "--no-curve") != 0)
            argv[n++] = self->extra[i];
    argv[n] = NULL;

    unlink(self->endpoint_file);
    pid_t pid = h_spawn(self->logname, argv);
    if (pid < 0)
        return -1;
    self->pid = pid;
    return 0;
}

int h_dtxd_ready(h_dtxd_t *self)
{
    pid_t pid = self->pid;
    if (pid <= 0)
        return -1;
    char ep[H_ENDPOINT_SIZE];
    if (h_wait_file_line(self->endpoint_file, ep, sizeof ep, pid, H_START_WAIT_MS) < 0) {
        int st = h_alive(pid) ? -2 : h_stop(pid, 0, 0);
        if (st == -2)
            fprintf(stderr, "harness: dtxd (%s) wrote no endpoint to %s within %d ms\n",
                    self->logname, self->endpoint_file, H_START_WAIT_MS);
        else
            fprintf(stderr, "harness: dtxd (%s) exited with status %d before it was ready\n",
                    self->logname, st);
        h_stop(pid, SIGKILL, 2000);
        self->pid = 0;
        h_file_tail(self->logname);
        return -1;
    }
    memcpy(self->endpoint, ep, sizeof ep);
    return 0;
}

int h_dtxd_spawn(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args)
{
    if (h_init() < 0)
        return -1;
    if (self->pid > 0 && h_alive(self->pid)) {
        fprintf(stderr, "harness: h_dtxd_start: %s is already running\n", self->logname);
        return -1;
    }
    if (!self->logname[0])
        snprintf(self->logname, sizeof self->logname, "dtxd-%d", ++s_dtxd_counter);
    if (strlen(db_conninfo) >= sizeof self->db) {
        fprintf(stderr, "harness: h_dtxd_start: conninfo too long\n");
        return -1;
    }
    snprintf(self->db, sizeof self->db, "%s", db_conninfo);
    self->nextra = 0;
    for (int i = 0; extra_args && extra_args[i]; i++) {
        if (i >= H_DTXD_MAX_ARGS || strlen(extra_args[i]) >= H_ARG_SIZE) {
            fprintf(stderr, "harness: h_dtxd_start: too many or too long extra arguments\n");
            return -1;
        }
        snprintf(self->extra[i], H_ARG_SIZE, "%s", extra_args[i]);
        self->nextra = i + 1;
    }
    char name[H_LOGNAME_SIZE + 16];
    snprintf(name, sizeof name, "%s.endpoint", self->logname);
    if (h_scratch_path(name, self->endpoint_file, sizeof self->endpoint_file) < 0)
        return -1;
    self->endpoint[0] = '\0';
    self->pid = 0;
    return s_dtxd_launch(self, "tcp://127.0.0.1:*");
}

int h_dtxd_start(h_dtxd_t *self, const char *db_conninfo,
                 const char *const *extra_args)
{
    if (h_dtxd_spawn(self, db_conninfo, extra_args) != 0)
        return -1;
    return h_dtxd_ready(self);
}

int h_dtxd_reload(h_dtxd_t *self)
{
    if (self->pid <= 0 || kill(self->pid, SIGHUP) != 0)
        return -1;
    return 0;
}

int h_dtxd_restart(h_dtxd_t *self)
{
    if (self->pid > 0 && h_alive(self->pid)) {
        fprintf(stderr, "harness: h_dtxd_restart: %s is still running; stop or kill it first\n",
                self->logname);
        return -1;
    }
    if (!self->endpoint[0]) {
        fprintf(stderr, "harness: h_dtxd_restart: %s was never started\n", self->logname);
        return -1;
    }
    char listen[H_ENDPOINT_SIZE];
    memcpy(listen, self->endpoint, sizeof listen);
    if (s_dtxd_launch(self, listen) != 0)
        return -1;
    return h_dtxd_ready(self);
}

int h_dtxd_stop(h_dtxd_t *self)
{
    if (self->pid <= 0)
        return 0;
    int st = h_stop(self->pid, SIGTERM, H_STOP_WAIT_MS);
    if (st != 0) {
        fprintf(stderr, "harness: dtxd (%s) stopped with status %d\n", self->logname, st);
        h_file_tail(self->logname);
    }
    self->pid = 0;
    return st;
}

void h_dtxd_kill(h_dtxd_t *self)
{
    if (self->pid <= 0)
        return;
    h_stop(self->pid, SIGKILL, 5000);
    self->pid = 0;
}

/* ------------------------------------------------------------------ */
/* Participants                                                        */
/* ------------------------------------------------------------------ */

pid_t h_participant_spawn(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args)
{
    if (h_init() < 0)
        return -1;
    char bin[1024], ready[1024], name[H_LOGNAME_SIZE + 16];
    if (h_testbin_path("test-participant", bin, sizeof bin) < 0)
        return -1;
    snprintf(name, sizeof name, "%s.ready", instance);
    if (h_scratch_path(name, ready, sizeof ready) < 0)
        return -1;
    char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--instance";
    argv[n++] = (char *)instance;
    argv[n++] = "--db";
    argv[n++] = (char *)db_conninfo;
    argv[n++] = "--coordinator";
    argv[n++] = (char *)endpoint;
    argv[n++] = "--ready-file";
    argv[n++] = ready;
    for (int i = 0; extra_args && extra_args[i]; i++) {
        if (n >= 63) {
            fprintf(stderr, "harness: h_participant_start: too many arguments\n");
            return -1;
        }
        argv[n++] = (char *)extra_args[i];
    }
    argv[n] = NULL;
    unlink(ready);
    return h_spawn(instance, argv);
}

int h_participant_ready(const char *instance, pid_t pid)
{
    char ready[1024], name[H_LOGNAME_SIZE + 16];
    snprintf(name, sizeof name, "%s.ready", instance);
    if (pid <= 0 || h_scratch_path(name, ready, sizeof ready) < 0)
        return -1;
    char line[64];
    if (h_wait_file_line(ready, line, sizeof line, pid, H_START_WAIT_MS) < 0) {
        fprintf(stderr, "harness: participant %s not registered within %d ms\n",
                instance, H_START_WAIT_MS);
        h_stop(pid, SIGKILL, 2000);
        h_file_tail(instance);
        return -1;
    }
    return 0;
}

pid_t h_participant_start(const char *instance, const char *db_conninfo,
                          const char *endpoint, const char *const *extra_args)
{
    pid_t pid = h_participant_spawn(instance, db_conninfo, endpoint, extra_args);
    if (pid < 0 || h_participant_ready(instance, pid) != 0)
        return -1;
    return pid;
}
