/* gw_periodic.c — a round / sleep / round thread (gw_periodic.h). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "dtx/types.h"
#include "core/gw_periodic.h"

struct dtx_gw_periodic {
    dtx_gw_periodic_round_fn round;
    void                    *arg;
    pthread_t                thread;
    int                      running;  /* the thread was made (joined by _stop) */
    pthread_mutex_t          lock;     /* guards stop, kicked */
    pthread_cond_t           wake;     /* signalled by kick and stop; CLOCK_MONOTONIC */
    int                      stop;     /* stop asked */
    int                      kicked;   /* a round asked for since the last one began */
};

static void *s_main(void *arg)
{
    dtx_gw_periodic_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        self->kicked = 0;
        pthread_mutex_unlock(&self->lock);
        int64_t wait = self->round(self->arg);
        pthread_mutex_lock(&self->lock);
        if (self->stop || self->kicked)
            continue;
        if (wait == DTX_GW_PERIODIC_IDLE) {
            pthread_cond_wait(&self->wake, &self->lock);
            continue;
        }
        if (wait < 1)
            wait = 1;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(wait / 1000000);
        until.tv_nsec += (long)(wait % 1000000) * 1000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

dtx_gw_periodic_t *dtx_gw_periodic_new(dtx_gw_periodic_round_fn round, void *arg)
{
    dtx_gw_periodic_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->round = round;
    self->arg = arg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attr);
    pthread_condattr_destroy(&attr);
    return self;
}

int dtx_gw_periodic_run(dtx_gw_periodic_t *self)
{
    if (self->running)
        return 0;
    if (pthread_create(&self->thread, NULL, s_main, self) != 0)
        return DTX_ENOMEM;
    self->running = 1;
    return 0;
}

dtx_gw_periodic_t *dtx_gw_periodic_start(dtx_gw_periodic_round_fn round, void *arg)
{
    dtx_gw_periodic_t *self = dtx_gw_periodic_new(round, arg);
    if (self && dtx_gw_periodic_run(self) != 0)
        dtx_gw_periodic_stop(&self);
    return self;
}

void dtx_gw_periodic_kick(dtx_gw_periodic_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->kicked = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}

void dtx_gw_periodic_stop(dtx_gw_periodic_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_periodic_t *self = *self_p;
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    if (self->running)
        pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
