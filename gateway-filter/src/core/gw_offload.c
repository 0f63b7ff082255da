/* gw_offload.c — on-demand thread pool for blocking hooks (gw_offload.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "core/gw_offload.h"

#define S_IDLE_SECONDS 10   /* an idle thread leaves after this long */

struct dtx_gw_offload {
    pthread_mutex_t lock;
    pthread_cond_t  work;        /* a job was queued, or stop */
    pthread_cond_t  quiet;       /* a job ended or a thread left */
    dtx_gw_job_t   *head, *tail;
    int             threads;     /* alive */
    int             idle;        /* waiting for work */
    int             running;     /* jobs being run */
    int             max_threads;
    int             stop;
};

static void *s_main(void *arg)
{
    dtx_gw_offload_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->head && !self->stop) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += S_IDLE_SECONDS;
            self->idle++;
            int rc = pthread_cond_timedwait(&self->work, &self->lock, &until);
            self->idle--;
            if (rc == ETIMEDOUT && !self->head)
                goto leave;
        }
        if (!self->head)
            break;  /* stop, nothing left */
        dtx_gw_job_t *job = self->head;
        self->head = job->next;
        if (!self->head)
            self->tail = NULL;
        self->running++;
        pthread_mutex_unlock(&self->lock);
        job->fn(job);
        pthread_mutex_lock(&self->lock);
        self->running--;
        pthread_cond_broadcast(&self->quiet);
    }
leave:
    self->threads--;
    pthread_cond_broadcast(&self->quiet);
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

dtx_gw_offload_t *dtx_gw_offload_new(int max_threads)
{
    dtx_gw_offload_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->work, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&self->quiet, NULL);
    self->max_threads = max_threads > 0 ? max_threads : 1;
    return self;
}

int dtx_gw_offload_submit(dtx_gw_offload_t *self, dtx_gw_job_t *job)
{
    pthread_mutex_lock(&self->lock);
    job->next = NULL;
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
    int queued = 0;
    for (dtx_gw_job_t *j = self->head; j && queued <= self->idle; j = j->next)
        queued++;
    if (queued > self->idle && self->threads < self->max_threads) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&t, &attr, s_main, self) == 0)
            self->threads++;
        else
            dtx_log_warn("cannot start an offload thread", "threads=%d", self->threads);
        pthread_attr_destroy(&attr);
    }
    if (self->threads == 0) {
        /* Nobody will ever run it: take it back. */
        self->head = self->tail = NULL;
        pthread_mutex_unlock(&self->lock);
        return DTX_ENOMEM;
    }
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
    return 0;
}

void dtx_gw_offload_drain(dtx_gw_offload_t *self)
{
    pthread_mutex_lock(&self->lock);
    while (self->head || self->running)
        pthread_cond_wait(&self->quiet, &self->lock);
    pthread_mutex_unlock(&self->lock);
}

void dtx_gw_offload_destroy(dtx_gw_offload_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dtx_gw_offload_t *self = *self_p;
    *self_p = NULL;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_broadcast(&self->work);
    while (self->threads > 0)
        pthread_cond_wait(&self->quiet, &self->lock);
    pthread_mutex_unlock(&self->lock);
    pthread_cond_destroy(&self->work);
    pthread_cond_destroy(&self->quiet);
    pthread_mutex_destroy(&self->lock);
    free(self);
}
