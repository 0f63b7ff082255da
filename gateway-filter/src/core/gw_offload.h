/*
 * gw_offload.h — a pool of threads for the filter hooks that may block.
 *
 * The event loops of gw_server.c must never sleep. A few filter hooks do:
 * a rate rule that delays (leaky bucket without nodelay, queue), a
 * concurrency rule with a wait queue, and the transaction filter (BEGIN,
 * COMMIT, ROLLBACK at dtxd). The server runs those hooks here while the
 * client connection is suspended, and resumes it when the job is over.
 *
 * Threads are made on demand (a delayed request holds its thread for the
 * whole delay, so the pool must grow with the requests waiting, as the
 * thread-per-connection core did) up to a cap, and leave after some idle
 * seconds: an idle gateway runs no pool thread.
 *
 * Lifecycle: _new, _submit any number of times, _destroy (runs every job
 * still queued, waits for the running ones, joins nothing detached).
 */
#ifndef DTX_GW_OFFLOAD_H
#define DTX_GW_OFFLOAD_H

/* One job; the caller owns the memory (usually inside a request context)
 * and must keep it alive until fn has returned. */
typedef struct dtx_gw_job {
    struct dtx_gw_job *next;     /* queue link, owned by the pool */
    void             (*fn)(struct dtx_gw_job *job);
} dtx_gw_job_t;

typedef struct dtx_gw_offload dtx_gw_offload_t;

/* A pool of at most max_threads threads. NULL on allocation failure. */
dtx_gw_offload_t *dtx_gw_offload_new(int max_threads);
/* Queues job; fn runs on a pool thread. Returns 0, or DTX_ENOMEM when no
 * thread could be made and none is running (job->fn then never runs). */
int dtx_gw_offload_submit(dtx_gw_offload_t *self, dtx_gw_job_t *job);
/* Waits until no job is queued or running. */
void dtx_gw_offload_drain(dtx_gw_offload_t *self);
/* Drains, stops every thread and frees the pool; *self_p set to NULL. */
void dtx_gw_offload_destroy(dtx_gw_offload_t **self_p);

#endif
