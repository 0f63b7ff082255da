/*
 * gw_uring.h — a worker's send ring: the small writes of one wake-up
 * (answers to clients, requests to upstreams) queued on the worker's
 * io_uring and handed to the kernel by one io_uring_submit before the
 * worker waits again, instead of one writev/sendmsg system call each.
 *
 * One ring per worker thread; every call on it is made on that thread.
 * A write taken by the ring is copied: the caller's buffer is free at
 * once, the caller counts the bytes as written. Everything written to a
 * socket while the ring holds bytes for it goes through the ring (so no
 * write overtakes another); a socket the ring holds bytes for is closed
 * with dtx_gw_uring_close, never with close(2), so its fd number is not
 * reused while a send of the old connection is queued. See gw_uring.c
 * for the invariants and the states of a socket's slot.
 */
#ifndef DTX_GW_URING_H
#define DTX_GW_URING_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct dtx_gw_uring dtx_gw_uring_t;

/* What dtx_gw_uring_send returns when it did not take the bytes. */
#define DTX_GW_URING_DIRECT (-10001) /* nothing queued for the socket and the write is
                                        large: write it yourself (writev/sendmsg) */
#define DTX_GW_URING_FULL   (-10002) /* the socket's queue is full: wait, the drained
                                        hook tells the owner when it may write again */
#define DTX_GW_URING_BROKEN (-10003) /* an earlier send of the socket failed: the
                                        connection is broken, end it */

/* Told, from dtx_gw_uring_reap, that a socket whose write was refused
 * (DTX_GW_URING_FULL) has nothing queued any more. */
typedef void (*dtx_gw_uring_drained_fn)(void *cls, void *owner);

/* A ring of `entries` submission entries; writes up to `small` bytes are
 * queued when the socket has nothing queued, a socket's queue holds up to
 * `cap` bytes, a closed socket's last bytes get `linger_ms` to go out.
 * NULL when io_uring is not available (old kernel, seccomp,
 * kernel.io_uring_disabled, or DTX_GW_URING_FAIL set in the environment,
 * for tests), with -errno in *err. */
dtx_gw_uring_t *dtx_gw_uring_new(unsigned entries, size_t small, size_t cap, int linger_ms,
                                 int *err);

/* Ends every send in the kernel, closes the sockets whose close was
 * waiting for one, frees all; NULLs *self_p. */
void dtx_gw_uring_destroy(dtx_gw_uring_t **self_p);

/* The ring's fd: readable when completions are waiting (for epoll). */
int dtx_gw_uring_fd(const dtx_gw_uring_t *self);

/* Takes a copy of iov[0..n) for fd. Returns the bytes taken (all of them),
 * or DTX_GW_URING_DIRECT, DTX_GW_URING_FULL (owner is told later),
 * DTX_GW_URING_BROKEN. -ENOMEM when the copy cannot be made. */
ssize_t dtx_gw_uring_send(dtx_gw_uring_t *self, int fd, void *owner, const struct iovec *iov,
                          int n);

/* shutdown(fd, SHUT_WR), after the bytes queued for fd are out. */
void dtx_gw_uring_shutdown_wr(dtx_gw_uring_t *self, int fd);

/* Closes fd now when nothing is queued for it (returns 0), else once its
 * bytes are out, failed, or linger_ms passed (returns 1: the caller takes
 * fd out of its epoll set itself, as close(2) would have). */
int dtx_gw_uring_close(dtx_gw_uring_t *self, int fd);

/* Hands what was queued since the last call to the kernel: one
 * io_uring_submit. Returns 0 or -errno. */
int dtx_gw_uring_submit(dtx_gw_uring_t *self);

/* Takes the completions: rest of a short send queued again, a failed
 * send marks its socket broken and shuts it down (its owner sees the
 * hang-up on its own fd), a waiting close done, a refused owner told
 * through `drained`. No system call. Returns the completions seen. */
int dtx_gw_uring_reap(dtx_gw_uring_t *self, dtx_gw_uring_drained_fn drained, void *cls);

/* 1 when sends are in the kernel without a completion yet (the worker
 * then watches dtx_gw_uring_fd), else 0. */
int dtx_gw_uring_in_flight(const dtx_gw_uring_t *self);

/* 1 when bytes wait for the next dtx_gw_uring_submit. */
int dtx_gw_uring_queued(const dtx_gw_uring_t *self);

#endif
