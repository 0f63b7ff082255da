/* gw_wake.c — a worker's wake-up through an eventfd (gw_wake.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dtx/log.h"
#include "dtx/types.h"
#include "core/gw_wake.h"

void dtx_gw_wake_init(dtx_gw_wake_t *self)
{
    self->src.kind = DTX_GW_EV_WAKE;
    self->fd = -1;
}

int dtx_gw_wake_open(dtx_gw_wake_t *self, int epoll_fd)
{
    dtx_gw_wake_init(self);
    self->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->fd < 0)
        return DTX_EIO;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &self->src };
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, self->fd, &ev) < 0 ? DTX_EIO : 0;
}

void dtx_gw_wake_signal(dtx_gw_wake_t *self)
{
    uint64_t one = 1;
    if (write(self->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        dtx_log_warn("eventfd write failed", "err=\"%s\"", strerror(errno));
}

void dtx_gw_wake_drain(dtx_gw_wake_t *self)
{
    uint64_t v;
    if (read(self->fd, &v, sizeof v) < 0 && errno != EAGAIN)
        dtx_log_warn("eventfd read failed", "err=\"%s\"", strerror(errno));
}

void dtx_gw_wake_close(dtx_gw_wake_t *self)
{
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
}
