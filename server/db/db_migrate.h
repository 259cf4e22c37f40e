/* Schema migrations: server/migrations/NNN_name.sql, compiled into the binary
 * (embed_migrations.cmake generates the table below at build time), applied
 * in version order, each in one transaction, recorded in schema_migrations. */
#ifndef MTS_DB_MIGRATE_H
#define MTS_DB_MIGRATE_H

#include <stddef.h>

typedef struct {
    int version;      /* NNN */
    const char *name; /* "001_init" */
    const char *sql;  /* the file's text, NUL-terminated */
    size_t len;
} db_migration;

/* Generated: every migration, in version order. */
extern const db_migration db_migrations[];
extern const size_t db_migrations_count;

typedef enum {
    MIGRATE_OK = 0,
    MIGRATE_UNAVAILABLE = -1, /* cannot connect */
    MIGRATE_FAILED = -2,      /* a migration or the bookkeeping failed */
    MIGRATE_TOO_NEW = -3      /* the database has a version this binary does not know */
} migrate_result;

/* Bring the database at "conninfo" to the newest known schema. Serialised
 * between servers by an advisory lock. *n_applied (may be NULL) counts the
 * migrations applied now. On failure "err" holds a one-line message. */
migrate_result db_migrate(const char *conninfo, int *n_applied, char *err, size_t err_cap);

#endif
