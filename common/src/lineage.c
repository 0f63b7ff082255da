/*
 * lineage.c — routing ids of libdtx sockets (layout in dtx/lineage.h).
 *
 * State: one lineage per process, and a counter. Both live under one
 * mutex; pthread_atfork keeps that mutex usable in a forked child, and the
 * pid stored with the lineage makes the child draw its own on its first
 * call (so a child never presents its parent's lineage, even when it forked
 * through a path that skips the atfork handlers).
 *
 *   [no lineage] --first call in this pid: getrandom--> [lineage of pid]
 *        ^                                                    |
 *        +--------------- fork (child side: pid differs) -----+
 *
 * Invariant: two ids returned in one process differ in their counter; ids
 * returned in different processes differ (with overwhelming probability)
 * in their lineage.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dtx/lineage.h"
#include "dtx/types.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_atfork_once = PTHREAD_ONCE_INIT;
static pid_t s_pid;                        /* process the lineage was drawn for; 0 none */
static uint8_t s_lineage[DTX_LINEAGE_LEN]; /* valid while s_pid == getpid() */
static uint32_t s_counter;                 /* next socket's counter */

static void s_prepare(void)
{
    pthread_mutex_lock(&s_lock);
}

static void s_parent(void)
{
    pthread_mutex_unlock(&s_lock);
}

/* The child owns the lock taken in s_prepare (by the forking thread, now
 * its only thread) and must draw a new lineage. */
static void s_child(void)
{
    s_pid = 0;
    pthread_mutex_unlock(&s_lock);
}

static void s_atfork_register(void)
{
    pthread_atfork(s_prepare, s_parent, s_child);
}

static int s_fill_random(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DTX_EIO;
        }
        got += (size_t)n;
    }
    return 0;
}

int dtx_lineage_routing_id(uint8_t out[DTX_LINEAGE_ID_LEN])
{
    pthread_once(&s_atfork_once, s_atfork_register);
    int rc = 0;
    pid_t pid = getpid();
    pthread_mutex_lock(&s_lock);
    if (s_pid != pid) {
        rc = s_fill_random(s_lineage, sizeof s_lineage);
        if (rc == 0)
            s_pid = pid;
    }
    if (rc == 0) {
        uint32_t n = s_counter++;
        out[0] = DTX_LINEAGE_MAGIC;
        out[1] = DTX_LINEAGE_VERSION;
        memcpy(out + DTX_LINEAGE_OFFSET, s_lineage, DTX_LINEAGE_LEN);
        out[DTX_LINEAGE_COUNTER_OFFSET + 0] = (uint8_t)(n >> 24);
        out[DTX_LINEAGE_COUNTER_OFFSET + 1] = (uint8_t)(n >> 16);
        out[DTX_LINEAGE_COUNTER_OFFSET + 2] = (uint8_t)(n >> 8);
        out[DTX_LINEAGE_COUNTER_OFFSET + 3] = (uint8_t)n;
    }
    pthread_mutex_unlock(&s_lock);
    return rc;
}

int dtx_lineage_parse(const void *id, size_t len, uint8_t lineage_out[DTX_LINEAGE_LEN])
{
    const uint8_t *b = id;
    if (!b || len != DTX_LINEAGE_ID_LEN || b[0] != DTX_LINEAGE_MAGIC ||
        b[1] != DTX_LINEAGE_VERSION)
        return 0;
    if (lineage_out)
        memcpy(lineage_out, b + DTX_LINEAGE_OFFSET, DTX_LINEAGE_LEN);
    return 1;
}
