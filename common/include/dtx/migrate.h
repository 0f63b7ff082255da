/*
 * dtx/migrate.h — versioned schema migrations applied at start.
 *
 * Migrations live in sql/<component>/NNN_name.sql and are compiled into
 * the binaries (scripts/embed-sql.sh). Each component ("coordinator",
 * "participant") has its own version sequence, recorded in
 * dtx_schema_version(component, version, name, applied_at). Applying is
 * idempotent and safe when several processes start at once: it runs under
 * a transaction-level advisory lock, one migration per transaction.
 */
#ifndef DTX_MIGRATE_H
#define DTX_MIGRATE_H

#include <libpq-fe.h>

typedef struct dtx_migration {
    const char *component;  /* "coordinator" or "participant" */
    int         version;    /* NNN of the file name */
    const char *name;       /* file name without .sql */
    const char *sql;        /* the statements */
} dtx_migration_t;

extern const dtx_migration_t dtx_migrations[];
extern const int dtx_migrations_count;

/* Applies every pending migration of component on conn (blocking).
 * *applied (may be NULL) gets how many were applied now.
 * Returns 0 or DTX_EDB (the failing migration is logged, nothing of it is
 * kept). */
int dtx_migrate(PGconn *conn, const char *component, int *applied);

/* Highest known version of component, and the one recorded in the database
 * (0 when none; DTX_EDB on failure). */
int dtx_migrate_latest(const char *component);
int dtx_migrate_current(PGconn *conn, const char *component);

#endif
