/*
 * id.c — ULID-layout ids: 48-bit epoch ms + 80 random bits, Crockford
 * base32. Randomness comes from an xorshift128+ generator per thread,
 * seeded from getrandom(2); uniqueness does not need cryptographic
 * strength, only 80 bits that differ between threads, processes and calls.
 *
 * Thread safety without a lock: the generator state is _Thread_local, so
 * threads never share it (the gateway creates clients, hence ids and
 * corr seeds, on several threads at once). Each thread seeds its own
 * state on first use; the fork generation it seeded in is kept beside
 * it, and a pthread_atfork child handler moves the generation on, so the
 * thread that survives a fork(2) seeds again in the child — parent and
 * child never continue the same sequence. (It was getpid(2) on every
 * draw: a system call per id, three per gateway request.) A child made by
 * a raw clone(2) that bypasses the fork handlers and runs code without
 * exec is not covered; fork(2), posix_spawn and exec are.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dtx/clock.h"
#include "dtx/id.h"
#include "dtx/types.h"

static const char s_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static _Thread_local uint64_t s_state[2];  /* this thread's xorshift128+ state */
static _Thread_local unsigned s_seeded_gen; /* fork generation seeded in; 0 never */
static atomic_uint s_fork_gen = 1;          /* moved on in every forked child */
static pthread_once_t s_atfork_once = PTHREAD_ONCE_INIT;

static void s_forked_child(void)
{
    atomic_fetch_add_explicit(&s_fork_gen, 1, memory_order_relaxed);
}

static void s_register_atfork(void)
{
    pthread_atfork(NULL, NULL, s_forked_child);
}

/* Seeds this thread's state unless already seeded in this process.
 * Returns 0 or DTX_EIO (no randomness: the state is left unseeded). */
static int s_seed(void)
{
    unsigned gen = atomic_load_explicit(&s_fork_gen, memory_order_relaxed);
    if (s_seeded_gen == gen)
        return 0;
    pthread_once(&s_atfork_once, s_register_atfork);
    ssize_t n;
    do {
        n = getrandom(s_state, sizeof s_state, 0);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof s_state)
        return DTX_EIO;
    if (s_state[0] == 0 && s_state[1] == 0)
        s_state[0] = 0x9E3779B97F4A7C15ull;
    s_seeded_gen = gen;
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

int dtx_id_valid(const char *s)
{
    if (!s || s[0] < '0' || s[0] > '7')
        return 0;
    for (int i = 0; i < DTX_ID_LEN; i++) {
        char c = s[i];
        if (c == '\0' || !strchr(s_alphabet, c))
            return 0;
    }
    return s[DTX_ID_LEN] == '\0';
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
