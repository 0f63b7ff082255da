/*
 * dtx/id.h — globally unique, time-ordered identifiers.
 *
 * A gid is 26 characters of Crockford base32: 48 bits of epoch
 * milliseconds followed by 80 random bits (the ULID layout), so gids sort
 * by creation time (handy for paging the console) and two coordinators
 * never collide without talking to each other.
 *
 * Thread-safe without a lock: every thread draws from its own generator,
 * seeded from getrandom(2) on its first call and again in a forked child.
 */
#ifndef DTX_ID_H
#define DTX_ID_H

#include <stdint.h>

#define DTX_ID_LEN 26

/* Writes a new id (DTX_ID_LEN chars + NUL) into out, which must hold at
 * least DTX_ID_LEN + 1 bytes. Returns 0 or DTX_EIO when no randomness. */
int dtx_id_new(char *out);

/* 1 when s is an id as dtx_id_new writes it: DTX_ID_LEN characters of
 * Crockford base32 upper case (0-9, A-Z without I, L, O, U), the first
 * 0-7 (the top 2 of its 130 bits are zero); else 0. */
int dtx_id_valid(const char *s);

/* FNV-1a hash of a NUL-terminated string: stable across processes and
 * versions (gids hash to the same log connection and table bucket). */
uint32_t dtx_id_hash(const char *s);

/* Random u64 for jitter (not for security). */
uint64_t dtx_random_u64(void);

#endif
