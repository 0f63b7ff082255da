/*
 * dtx/name.h — what a protocol name is (name.c).
 */
#ifndef DTX_NAME_H
#define DTX_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "dtx/types.h"

/* The index of the first of s[0..n) that may not appear in a name, or n
 * when all n bytes may. */
size_t dtx_name_bad_char(const uint8_t *s, size_t n);

/* Returns 1 if s is a valid name (1..DTX_NAME_MAX of [A-Za-z0-9._:-]). */
int dtx_name_valid(const char *s);

/* Copies src into a name buffer of DTX_NAME_SIZE bytes. Returns 0 or
 * DTX_EINVAL (src not a valid name; dst is then an empty string). */
int dtx_name_copy(char dst[DTX_NAME_SIZE], const char *src);

#endif
