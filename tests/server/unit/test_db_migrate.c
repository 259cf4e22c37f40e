/* server/db/db_migrate.c: the mark by which a migration lets older servers
 * run beside it (docs/operations.md, "Upgrades"). */
#include <string.h>

#include "db_migrate.h"
#include "t.h"

static int g_from;

static migration_mark mark_of(const char *sql)
{
    g_from = -7;
    return db_migration_mark(sql, strlen(sql), &g_from);
}

static void migrate_mark_refuses_misspelt_or_misplaced_marks(void)
{
    static const char *const bad[] = {
        "-- metron: older server compatible\nCREATE TABLE t (a int);\n",
        "-- metron: older servers compatible.\n",
        "--metron: older servers compatible\n",
        "-- Metron: older servers compatible\n",
        "-- metron:  older servers compatible\n",
        " -- metron: older servers compatible\n"
        "-- metron: x\n",
        "-- metron: not compatible\n",
        "-- Expand: a new table.\n-- metron: older servers compatible\n",
        "-- metron: older servers compatible\n-- metron: older servers compatible\n",
        "CREATE TABLE t (a int);\n--\tMETRON: yes",
        "-- metron: servers from 70 compatible\n",
        "-- metron: servers from 0070 compatible\n",
        "-- metron: servers from 07a compatible\n",
        "-- metron: servers from 070\n",
        "-- metron: servers from 070 compatible only\n",
        "-- metron: servers from 070 compatible\n-- metron: older servers compatible\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mark_of(bad[i]) != MIGRATION_MARK_BAD || g_from != -7) {
            T_FAIL("taken: '%s' (%d, from %d)", bad[i], (int)mark_of(bad[i]), g_from);
        }
    }
}

static void migrate_mark_reads_the_first_line_only(void)
{
    T_EQ_INT(mark_of(""), MIGRATION_UNMARKED);
    T_EQ_INT(g_from, -7);
    T_EQ_INT(mark_of("-- A new table.\nCREATE TABLE t (a int);\n"), MIGRATION_UNMARKED);
    /* Not a mark line: "metron" not right after the dashes, or no colon. */
    T_EQ_INT(mark_of("-- for metron: older servers compatible\n-- metron older servers\n"),
             MIGRATION_UNMARKED);
    T_EQ_INT(mark_of("-- metron: older servers compatible\nCREATE TABLE t (a int);\n"),
             MIGRATION_COMPATIBLE);
    T_EQ_INT(g_from, 0);
    T_EQ_INT(mark_of("-- metron: servers from 070 compatible\nALTER TABLE t DROP COLUMN a;\n"),
             MIGRATION_COMPATIBLE);
    T_EQ_INT(g_from, 70);
    T_EQ_INT(mark_of("-- metron: servers from 000 compatible\r\n"), MIGRATION_COMPATIBLE);
    T_EQ_INT(g_from, 0);
    T_EQ_INT(mark_of("-- metron: older servers compatible \t\r\nSELECT 1;"), MIGRATION_COMPATIBLE);
    T_EQ_INT(mark_of("-- metron: older servers compatible"), MIGRATION_COMPATIBLE);
    /* Only "len" bytes count. */
    T_EQ_INT(db_migration_mark("-- metron: older servers compatible\n-- metron: x", 36, &g_from),
             MIGRATION_COMPATIBLE);
    T_EQ_INT(db_migration_mark("-- metron: older servers compatible", 20, &g_from),
             MIGRATION_MARK_BAD);
}

/* A misspelt mark, or one naming a version not below the file's own, in
 * server/migrations/ would stop every server's start at
 * that migration: found here first. */
static void migrate_every_builtin_migration_is_marked_or_unmarked(void)
{
    for (size_t i = 0; i < db_migrations_count; i++) {
        const db_migration *m = &db_migrations[i];
        int from = -1;
        migration_mark mark = db_migration_mark(m->sql, m->len, &from);
        if (mark == MIGRATION_MARK_BAD || (mark == MIGRATION_COMPATIBLE && from >= m->version)) {
            T_FAIL("server/migrations/%s.sql: a \"-- metron:\" line that is not a first-line "
                   "mark (\"%s\", or \"%sNNN%s\" with NNN below %d)",
                   m->name, MIGRATION_MARK_COMPATIBLE, MIGRATION_MARK_FROM,
                   MIGRATION_MARK_FROM_END, m->version);
        }
    }
}

void suite_db_migrate(void)
{
    T_RUN(migrate_mark_refuses_misspelt_or_misplaced_marks);
    T_RUN(migrate_mark_reads_the_first_line_only);
    T_RUN(migrate_every_builtin_migration_is_marked_or_unmarked);
}
