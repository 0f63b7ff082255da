/*
 * drill_worker.c — drill-load's shared state (options, counters, the
 * journal) and the helpers its transfers use (drill_worker.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "dtx/clock.h"
#include "drill_worker.h"

drill_config_t drill_cfg;
drill_stats_t drill_stats;
pthread_mutex_t drill_lock = PTHREAD_MUTEX_INITIALIZER;
FILE *drill_journal;
atomic_int drill_stop; /* set by main on SIGTERM/SIGINT */
int64_t drill_t0;

uint64_t drill_rand(drill_worker_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return x;
}

/* A uniform integer in [0, n). */
int64_t drill_below(drill_worker_t *self, int64_t n)
{
    return n > 0 ? (int64_t)(drill_rand(self) % (uint64_t)n) : 0;
}

void drill_sleep_ms(int ms)
{
    struct timespec req = { ms / 1000, (long)(ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) < 0 && errno == EINTR)
        req = rem;
}

long drill_elapsed_ms(void)
{
    return (long)(dtx_clock_mono_ms() - drill_t0);
}

/* Appends one journal line (whole, flushed). */
void drill_journal_line(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&drill_lock);
    va_start(ap, fmt);
    vfprintf(drill_journal, fmt, ap);
    va_end(ap);
    fputc('\n', drill_journal);
    fflush(drill_journal);
    pthread_mutex_unlock(&drill_lock);
}

void drill_count(long *counter)
{
    pthread_mutex_lock(&drill_lock);
    (*counter)++;
    pthread_mutex_unlock(&drill_lock);
}

void drill_count_error(int rc)
{
    if (rc < 0 && rc >= DTX_ERR_MIN)
        drill_count(&drill_stats.errors[-rc]);
}

dtx_client_t *drill_client(drill_worker_t *self, int coord)
{
    if (!self->clients[coord]) {
        int err = 0;
        self->clients[coord] = dtx_client_new(drill_cfg.coordinators[coord], &err);
        if (!self->clients[coord]) {
            fprintf(stderr, "drill-load: worker %d: cannot create a client for %s: %s\n",
                    self->id, drill_cfg.coordinators[coord], dtx_strerror(err));
            return NULL;
        }
        dtx_client_set_timeout(self->clients[coord], drill_cfg.call_timeout_ms);
    }
    return self->clients[coord];
}

int drill_next_coord(int coord)
{
    return (coord + 1) % drill_cfg.ncoordinators;
}

/* After a failure the worker uses the next coordinator for a few
 * transfers, then goes home, so that every coordinator keeps getting work
 * (a fault point armed on one must be reached). */
void drill_fail_over(drill_worker_t *self)
{
    self->coord = drill_next_coord(self->coord);
    self->away = 3 + (int)drill_below(self, 6);
}

/* Records the result of a call that is neither the happy path nor a
 * business outcome. */
void drill_note(drill_worker_t *self, const char *gid, int coord, const char *what, int rc,
                dtx_client_t *c)
{
    drill_count_error(rc);
    drill_journal_line("X %s %d %d %ld %s %s \"%s\"", gid, self->id, coord, drill_elapsed_ms(),
                       what, dtx_strerror(rc), dtx_client_last_error(c));
}

void drill_end(drill_worker_t *self, const char *gid, const char *outcome, const char *why)
{
    drill_journal_line("E %s %s %d %ld %s", gid, outcome, self->id, drill_elapsed_ms(), why);
}
