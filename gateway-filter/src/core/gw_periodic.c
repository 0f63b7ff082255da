/* gw_periodic.c — a round / sleep / round thread (gw_periodic.h). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/gw_periodic.h"

struct dtx_gw_periodic {
    dtx_gw_periodic_round_fn round;
    void                    *arg;
    pthread_t                thread;
    pthread_mutex_t          lock;   /* guards stop */
    pthread_cond_t           wake;   /* signalled by stop; CLOCK_MONOTONIC */
    int                      stop;
};

static void *s_main(void *arg)
{
    dtx_gw_periodic_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        pthread_mutex_unlock(&self->lock);
        int64_t wait = self->round(self->arg);
        pthread_mutex_lock(&self->lock);
        if (self->stop)
            break;
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

dtx_gw_periodic_t *dtx_gw_periodic_start(dtx_gw_periodic_round_fn round, void *arg)
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
    if (pthread_create(&self->thread, NULL, s_main, self) != 0) {
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
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
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
