/* Schema migrations: server/migrations/NNN_name.sql, compiled into the binary
 * (embed_migrations.cmake generates the table below at build time), applied
 * in version order, each in one transaction, recorded in schema_migrations.
 *
 * A migration whose first line is exactly MIGRATION_MARK_COMPATIBLE says that
 * servers of before it keep running on a schema that has it (an "expand"
 * migration), one whose first line is "-- metron: servers from NNN
 * compatible" says so of the servers that know migration NNN (a "contract"
 * migration dropping what only servers of before NNN used), and one without
 * a mark that no server of before it does (docs/operations.md, "Upgrades").
 * The verdict is stored with the migration's row
 * (schema_migrations.compatible_from), so that an older server, which has
 * not the file, can read it: it starts beside newer migrations that all let
 * it, and refuses otherwise. */
#ifndef MTS_DB_MIGRATE_H
#define MTS_DB_MIGRATE_H

#include <stddef.h>

typedef struct {
    int version;      /* NNN */
    const char *name; /* "001_init" */
    const char *sql;  /* the file's text, NUL-terminated */
    size_t len;
} db_migration;

/* The first line of a migration that every older server can run beside. */
#define MIGRATION_MARK_COMPATIBLE "-- metron: older servers compatible"
/* The first line of one that servers knowing migration NNN can run beside:
 * this text, then three digits, then MIGRATION_MARK_FROM_END. */
#define MIGRATION_MARK_FROM "-- metron: servers from "
#define MIGRATION_MARK_FROM_END " compatible"

/* Generated: every migration, in version order. */
extern const db_migration db_migrations[];
extern const size_t db_migrations_count;

typedef enum {
    MIGRATE_OK = 0,
    MIGRATE_UNAVAILABLE = -1, /* cannot connect */
    MIGRATE_FAILED = -2,      /* a migration or the bookkeeping failed */
    MIGRATE_TOO_NEW = -3      /* the database has a version this binary does not know */
} migrate_result;

typedef enum {
    MIGRATION_UNMARKED = 0,   /* no older server can run beside it (the default) */
    MIGRATION_COMPATIBLE = 1, /* a first-line mark: older servers from some version can */
    MIGRATION_MARK_BAD = -1   /* a "-- metron:" line that is not a first-line mark */
} migration_mark;

/* The mark of the migration text "sql" ("len" bytes). MIGRATION_COMPATIBLE
 * when its first line is MIGRATION_MARK_COMPATIBLE (*from = 0: every older
 * server) or MIGRATION_MARK_FROM NNN MIGRATION_MARK_FROM_END (*from = NNN),
 * trailing blanks and a CR allowed; MIGRATION_MARK_BAD when any line starts
 * with "--" and "metron:" (blanks between, any case) other than such a first
 * line, so that a misspelt mark is refused rather than read as unmarked.
 * "*from" is written only for MIGRATION_COMPATIBLE. The caller checks that
 * NNN is below the migration's own version. */
migration_mark db_migration_mark(const char *sql, size_t len, int *from);

/* Bring the database at "conninfo" to the newest schema of "set" ("count"
 * migrations in ascending version order: db_migrations, or a test build's
 * longer set). Serialised between servers by an advisory lock. When the
 * database has migrations newer than the set's last, the server may run
 * beside them only if every one's mark, stored when it was applied, lets a
 * server of the set's last version run beside it, and the set's own
 * migrations are all applied: otherwise MIGRATE_TOO_NEW, naming the first
 * one that stops it. *n_applied (may be NULL) counts the migrations
 * applied now. On failure "err" holds a one-line message. */
migrate_result db_migrate(const char *conninfo, const db_migration *set, size_t count,
                          int *n_applied, char *err, size_t err_cap);

/* The set of migrations this binary runs, in "*set" and "*count":
 * db_migrations, except in the test build (metron-server-test), which adds
 * the files of METRON_TEST_EXTRA_MIGRATIONS (a folder of NNN_name.sql newer
 * than the built-in ones) to simulate a newer release. The production build
 * ignores that variable (with a warning). Returns 0, or -1 with a one-line
 * message in "err". Defined in db/test/db_migrate_extra.c (test build) or
 * db/test/db_migrate_extra_off.c. */
int db_migrations_of_build(const db_migration **set, size_t *count, char *err, size_t err_cap);

#endif
