/*
 * pgres_name.h — the names dtx/pgres.h gives its prepared transactions,
 * as pure functions so that their limits are unit-tested without a
 * database. Private to libdtx.
 *
 *   dtx:<gid>:<branch>      e.g. dtx:01HV3K9T6M2Q8W5R0C7N4B1XZA:2
 *
 * <gid> is a dtx name (1..63 bytes of [A-Za-z0-9._:-], so it may hold ':'
 * itself: a name is split at its LAST ':'), <branch> a decimal 1..INT32_MAX
 * without leading zeros (the barrier table's branch is an integer). The
 * longest name is 4 + 63 + 1 + 10 = 78 bytes, well inside PostgreSQL's
 * transaction identifier limit of 199 bytes (GIDSIZE 200 with its NUL), and
 * its alphabet needs no quoting inside an SQL string literal.
 */
#ifndef DTX_PGRES_NAME_H
#define DTX_PGRES_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "barrier_logic.h"  /* DTX_PRIVATE */
#include "dtx/types.h"

#define DTX_PGRES_NAME_PREFIX "dtx:"
#define DTX_PGRES_PG_GID_MAX  199  /* PostgreSQL: GIDSIZE - 1 */
/* Room for any name this library builds, with its NUL. */
#define DTX_PGRES_NAME_SIZE   (sizeof DTX_PGRES_NAME_PREFIX - 1 + DTX_NAME_MAX + 1 + 10 + 1)

_Static_assert(DTX_PGRES_NAME_SIZE - 1 <= DTX_PGRES_PG_GID_MAX,
               "prepared transaction names must fit PostgreSQL's limit");

/* Writes "dtx:<gid>:<branch>" into out (cap bytes, NUL-terminated).
 * Returns its length; DTX_EINVAL when gid is not a valid name or branch is
 * 0 or over INT32_MAX; DTX_ETOOBIG when it does not fit in cap. */
DTX_PRIVATE int dtx_pgres_name_build(const char *gid, uint32_t branch, char *out, size_t cap);

/* Splits a name built by dtx_pgres_name_build into gid (NUL-terminated)
 * and *branch. Returns 0, or DTX_EINVAL for anything else (another prefix,
 * a name over 199 bytes, an invalid gid, a branch that is not a canonical
 * decimal in 1..INT32_MAX); gid and *branch are then untouched. */
DTX_PRIVATE int dtx_pgres_name_parse(const char *name, char gid[DTX_GID_SIZE], uint32_t *branch);

#endif
