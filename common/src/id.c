/*
 * id.c — ULID-layout ids: 48-bit epoch ms + 80 random bits, Crockford
 * base32. Randomness comes from an xorshift128+ generator per thread,
 * seeded from getrandom(2); uniqueness does not need cryptographic
 * strength, only 80 bits that differ between threads, processes and calls.
 *
 * Thread safety without a lock: the generator state is _Thread_local, so
 * threads never share it (the gateway creates clients, hence ids and
 * corr seeds, on several threads at once). Each thread seeds its own
 * state on first use; the pid it seeded under is kept beside it, so the
 * thread that survives a fork(2) sees another pid in the child and seeds
 * again — parent and child never continue the same sequence.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/types.h"

static const char s_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static _Thread_local uint64_t s_state[2];  /* this thread's xorshift128+ state */
static _Thread_local pid_t s_seeded_pid;   /* pid the state was seeded in; 0 never */

/* Seeds this thread's state unless already seeded in this process.
 * Returns 0 or DTX_EIO (no randomness: the state is left unseeded). */
static int s_seed(void)
{
    pid_t pid = getpid();
    if (s_seeded_pid == pid)
        return 0;
    ssize_t n;
    do {
        n = getrandom(s_state, sizeof s_state, 0);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof s_state)
        return DTX_EIO;
    if (s_state[0] == 0 && s_state[1] == 0)
        s_state[0] = 0x9E3779B97F4A7C15ull;
    s_seeded_pid = pid;
    return 0;
}

/* xorshift128+ */
static uint64_t s_next(void)
{
    uint64_t s1 = s_state[0];
    const uint64_t s0 = s_state[1];
    s_state[0] = s0;
    s1 ^= s1 << 23;
    s_state[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return s_state[1] + s0;
}

uint64_t dtx_random_u64(void)
{
    if (s_seed() != 0)
        return (uint64_t)dtx_clock_mono_ms() * 0x9E3779B97F4A7C15ull;
    return s_next();
}

int dtx_id_new(char *out)
{
    int rc = s_seed();
    if (rc != 0)
        return rc;
    uint64_t ms = (uint64_t)dtx_clock_wall_ms() & 0xFFFFFFFFFFFFull;
    uint64_t r1 = s_next(), r2 = s_next();
    /* 128 bits: ms(48) | rand(80) as hi(64) lo(64) */
    uint64_t hi = (ms << 16) | (r1 >> 48);
    uint64_t lo = (r1 << 16) | (r2 & 0xFFFF);
    /* 26 chars * 5 bits = 130 bits: the top 2 bits are zero. */
    for (int i = DTX_ID_LEN - 1; i >= 0; i--) {
        out[i] = s_alphabet[lo & 31];
        lo = (lo >> 5) | (hi << 59);
        hi >>= 5;
    }
    out[DTX_ID_LEN] = '\0';
    return 0;
}

uint32_t dtx_id_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}
