#define _POSIX_C_SOURCE 200809L
#include "db_migrate.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* Any fixed number: "metron schema migration". */
#define MIGRATE_LOCK_KEY "7274766"

/* The applied migrations, oldest first. */
#define MIGRATED_SQL                                                                               \
    "SELECT version, name, checksum, compatible_from FROM schema_migrations ORDER BY version"

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1) {
        md_len = 0;
    }
    for (unsigned i = 0; i < md_len && i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * (md_len < 32 ? md_len : 32)] = '\0';
}

/* One line of libpq's error text. */
static void first_line(char *out, size_t cap, const char *msg)
{
    snprintf(out, cap, "%s", msg ? msg : "");
    out[strcspn(out, "\n")] = '\0';
}

/* Run a fixed command; on failure fill "err" and return -1. */
static int run(PGconn *pg, const char *sql, const char *what, char *err, size_t cap)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
        char line[300];
        first_line(line, sizeof line, res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
        snprintf(err, cap, "%s: %s", what, line);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

/* Whether the line [p, end) is a mark line: "--", blanks, "metron:" in any case. */
static bool is_mark_line(const char *p, const char *end)
{
    if (end - p < 2 || p[0] != '-' || p[1] != '-') {
        return false;
    }
    p += 2;
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return end - p >= 7 && strncasecmp(p, "metron:", 7) == 0;
}

/* The mark of the trimmed first line [p, p + n): MIGRATION_COMPATIBLE with
 * *from, or MIGRATION_MARK_BAD. */
static migration_mark first_line_mark(const char *p, size_t n, int *from)
{
    const size_t all_len = strlen(MIGRATION_MARK_COMPATIBLE);
    const size_t head = strlen(MIGRATION_MARK_FROM);
    const size_t tail = strlen(MIGRATION_MARK_FROM_END);
    if (n == all_len && memcmp(p, MIGRATION_MARK_COMPATIBLE, all_len) == 0) {
        *from = 0;
        return MIGRATION_COMPATIBLE;
    }
    if (n == head + 3 + tail && memcmp(p, MIGRATION_MARK_FROM, head) == 0 &&
        memcmp(p + head + 3, MIGRATION_MARK_FROM_END, tail) == 0) {
        int v = 0;
        for (size_t i = head; i < head + 3; i++) {
            if (p[i] < '0' || p[i] > '9') {
                return MIGRATION_MARK_BAD;
            }
            v = v * 10 + (p[i] - '0');
        }
        *from = v;
        return MIGRATION_COMPATIBLE;
    }
    return MIGRATION_MARK_BAD;
}

migration_mark db_migration_mark(const char *sql, size_t len, int *from)
{
    const char *p = sql;
    const char *end = sql + len;
    migration_mark mark = MIGRATION_UNMARKED;
    int first_from = 0;
    for (int line = 0; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        if (is_mark_line(p, stop)) {
            const char *t = stop;
            while (t > p && (t[-1] == ' ' || t[-1] == '\t' || t[-1] == '\r')) {
                t--;
            }
            if (line != 0 ||
                first_line_mark(p, (size_t)(t - p), &first_from) != MIGRATION_COMPATIBLE) {
                return MIGRATION_MARK_BAD;
            }
            mark = MIGRATION_COMPATIBLE;
        }
        p = eol ? eol + 1 : end;
    }
    if (mark == MIGRATION_COMPATIBLE) {
        *from = first_from;
    }
    return mark;
}

static const db_migration *known(const db_migration *set, size_t count, int version)
{
    for (size_t i = 0; i < count; i++) {
        if (set[i].version == version) {
            return &set[i];
        }
    }
    return NULL;
}

/* Append ", name" (or "name" first) to the list "out" of capacity "cap";
 * once a name does not fit, ", ..." ends the list. */
static void list_add(char *out, size_t cap, const char *name)
{
    size_t used = strlen(out);
    size_t need = strlen(name) + (used ? 2 : 0);
    if (used >= 5 && strcmp(out + used - 5, ", ...") == 0) {
        return;
    }
    if (used + need + 6 < cap) {
        snprintf(out + used, cap - used, "%s%s", used ? ", " : "", name);
    } else if (used + 6 <= cap) {
        snprintf(out + used, cap - used, ", ...");
    }
}

migrate_result db_migrate(const char *conninfo, const db_migration *set, size_t count,
                          int *n_applied, char *err, size_t err_cap)
{
    const char *keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                          NULL};
    const char *vals[] = {"5", "metron-server-migrate", "UTF8", conninfo, NULL};
    PGconn *pg = NULL;
    PGresult *res = NULL;
    migrate_result ret = MIGRATE_FAILED;
    int newest_known;
    unsigned char *applied = NULL; /* applied[version] */
    /* Applied migrations newer than this server: how many, their names, the
     * newest, and the first one whose mark does not let this server run beside it. */
    int n_newer = 0;
    char newer_names[256] = "";
    char newest_name[96] = "";
    int newest_version = -1;
    char blocker[96] = "";
    int blocker_from = -1; /* its mark: -1 none, else the oldest version it lets run */
    /* Applied migrations below its newest that this server has not (numbered
     * before some of its own, landed after them, as 069 after 072 and 073):
     * their names, and the first whose mark does not let it run beside it. */
    char hole_names[256] = "";
    char hole_blocker[96] = "";
    int hole_from = -1;
    const char *sqlstate;

    if (n_applied) {
        *n_applied = 0;
    }
    if (set == NULL || count == 0) {
        snprintf(err, err_cap, "no migrations");
        goto out;
    }
    newest_known = set[count - 1].version;
    pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        char line[300];
        const char *hint = "";
        first_line(line, sizeof line, pg ? PQerrorMessage(pg) : "out of memory");
        /* libpq's line names the user, never the password; say where the
         * password comes from (docs/operations.md, "PostgreSQL with a
         * password"). */
        if (pg != NULL && PQconnectionNeedsPassword(pg)) {
            hint = ". PostgreSQL asks for a password and none was given: put it in DATABASE_URL "
                   "(postgresql://USER:PASSWORD@HOST/DATABASE) or in a password file (PGPASSFILE, "
                   "or passfile= in DATABASE_URL)";
        } else if (pg != NULL && PQconnectionUsedPassword(pg) &&
                   strstr(line, "password authentication failed") != NULL) {
            hint = ". The password given (in DATABASE_URL or the password file) is not the one "
                   "PostgreSQL has for that user";
        }
        {
            /* The hint whole, libpq's line cut if both do not fit. */
            size_t room = err_cap > strlen(hint) + 40 ? err_cap - strlen(hint) - 40 : 0;
            snprintf(err, err_cap, "cannot connect to the database: %.*s%s",
                     (int)(strlen(line) < room ? strlen(line) : room), line, hint);
        }
        ret = MIGRATE_UNAVAILABLE;
        goto out;
    }
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    /* compatible_from: the mark of the migration's file, kept so that a
     * server without the file reads it (docs/operations.md, "Upgrades"):
     * servers that know this version may run beside it (0: every one; NULL:
     * none of before it, as for the rows written before the column). */
    if (run(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migration lock", err,
            err_cap) != 0 ||
        run(pg,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(),"
            " compatible_from integer)",
            "schema_migrations", err, err_cap) != 0) {
        goto out;
    }
    res = PQexec(pg, MIGRATED_SQL);
    sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate != NULL && strcmp(sqlstate, "42703") == 0) {
        /* A table made by a server of before the column (undefined_column).
         * Added only then: ALTER TABLE takes an exclusive lock, which
         * PostgreSQL logs and commits (a WAL flush on every start,
         * docs/benchmarks.md "rolling"), even when the column is there. */
        PQclear(res);
        res = NULL;
        if (run(pg,
                "ALTER TABLE schema_migrations"
                " ADD COLUMN IF NOT EXISTS compatible_from integer",
                "schema_migrations", err, err_cap) != 0) {
            goto out;
        }
        res = PQexec(pg, MIGRATED_SQL);
    }
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        char line[300];
        first_line(line, sizeof line, res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
        snprintf(err, err_cap, "reading schema_migrations: %s", line);
        goto out;
    }
    applied = calloc((size_t)newest_known + 1, 1);
    if (applied == NULL) {
        snprintf(err, err_cap, "out of memory");
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int version = atoi(PQgetvalue(res, r, 0));
        const char *name = PQgetvalue(res, r, 1);
        const db_migration *m = known(set, count, version);
        if (version > newest_known) {
            n_newer++;
            list_add(newer_names, sizeof newer_names, name);
            newest_version = version;
            snprintf(newest_name, sizeof newest_name, "%s", name);
            /* NULL: no server of before it; 0: every one; NNN: the servers
             * that have migration NNN (not those whose newest is above NNN:
             * numbers are not landed in order, 069 after 072 and 073). */
            int from = PQgetisnull(res, r, 3) ? -1 : atoi(PQgetvalue(res, r, 3));
            if ((from < 0 || (from > 0 && known(set, count, from) == NULL)) &&
                blocker[0] == '\0') {
                snprintf(blocker, sizeof blocker, "%s", name);
                blocker_from = from;
            }
            continue;
        }
        if (m == NULL) {
            /* Its mark decides, as for a newer one: 0 lets every server run
             * beside it, NNN those that have NNN, none (NULL) none without it. */
            int from = PQgetisnull(res, r, 3) ? -1 : atoi(PQgetvalue(res, r, 3));
            if ((from < 0 || (from > 0 && known(set, count, from) == NULL)) &&
                hole_blocker[0] == '\0') {
                snprintf(hole_blocker, sizeof hole_blocker, "%s", name);
                hole_from = from;
            }
            list_add(hole_names, sizeof hole_names, name);
            continue;
        }
        if (version >= 0) {
            char sum[65];
            sha256_hex(m->sql, m->len, sum);
            if (strcmp(sum, PQgetvalue(res, r, 2)) != 0) {
                log_warn("migrate: %s changed after it was applied (checksum differs); "
                         "the database keeps the old version",
                         m->name);
            }
            applied[version] = 1;
        }
    }
    PQclear(res);
    res = NULL;

    if (hole_blocker[0] != '\0') {
        char why[64];
        if (hole_from < 0) {
            snprintf(why, sizeof why, "it has no \"-- metron:\" mark");
        } else {
            snprintf(why, sizeof why, "it lets only servers from %03d on run on it", hole_from);
        }
        snprintf(err, err_cap,
                 "the database has migration %s, which this server has not (its migrations "
                 "go up to %d, around that one), and %s: run the release that has it instead "
                 "of this server (docs/operations.md, \"Upgrades\")",
                 hole_blocker, newest_known, why);
        ret = MIGRATE_TOO_NEW;
        goto out;
    }
    if (hole_names[0] != '\0') {
        log_info("migrate: the database has %s, which this server has not (its migrations go up "
                 "to %d, around that), marked compatible with this one; running beside it",
                 hole_names, newest_known);
    }

    if (n_newer > 0) {
        /* A newer release migrated this database. This server applies
         * nothing: it runs beside what it does not know only when every such
         * migration said that servers of its version keep working. */
        if (blocker[0] != '\0' && blocker_from < 0) {
            snprintf(err, err_cap,
                     "the database schema is at version %d (%s), newer than this server knows "
                     "(up to %d), and migration %s does not let older servers run on it (it "
                     "has no \"-- metron:\" mark): run the release that has it instead of this "
                     "server (docs/operations.md, \"Upgrades\")",
                     newest_version, newest_name, newest_known, blocker);
            ret = MIGRATE_TOO_NEW;
            goto out;
        }
        if (blocker[0] != '\0') {
            snprintf(err, err_cap,
                     "the database schema is at version %d (%s), newer than this server knows "
                     "(up to %d), and migration %s lets only servers from %03d on run on it: "
                     "run the release that has it instead of this server (docs/operations.md, "
                     "\"Upgrades\")",
                     newest_version, newest_name, newest_known, blocker, blocker_from);
            ret = MIGRATE_TOO_NEW;
            goto out;
        }
        for (size_t i = 0; i < count; i++) {
            if (!applied[set[i].version]) {
                snprintf(err, err_cap,
                         "the database has migrations newer than this server (up to %s) but "
                         "not this server's %s: the releases disagree; run the newest release "
                         "against this database",
                         newest_name, set[i].name);
                ret = MIGRATE_TOO_NEW;
                goto out;
            }
        }
        log_info("migrate: the database has %d migration%s newer than this server (up to %d), "
                 "each marked compatible with this one; running beside %s",
                 n_newer, n_newer == 1 ? "" : "s", newest_known, newer_names);
        ret = MIGRATE_OK;
        goto out;
    }

    for (size_t i = 0; i < count; i++) {
        const db_migration *m = &set[i];
        char version[16], sum[65], what[96], from_text[16], marked[48] = "";
        const char *params[4];
        migration_mark mark;
        int from = -1;
        if (applied[m->version]) {
            continue;
        }
        mark = db_migration_mark(m->sql, m->len, &from);
        if (mark == MIGRATION_MARK_BAD || (mark == MIGRATION_COMPATIBLE && from >= m->version)) {
            snprintf(err, err_cap,
                     "migration %s: a \"-- metron:\" line that is not a mark; the first line "
                     "may read \"" MIGRATION_MARK_COMPATIBLE "\" or \"" MIGRATION_MARK_FROM
                     "NNN" MIGRATION_MARK_FROM_END "\" with NNN below the migration's own "
                     "number, and no other line may start with \"-- metron:\"",
                     m->name);
            goto out;
        }
        if (mark == MIGRATION_COMPATIBLE) {
            snprintf(from_text, sizeof from_text, "%d", from);
            if (from == 0) {
                snprintf(marked, sizeof marked, " (older servers compatible)");
            } else {
                snprintf(marked, sizeof marked, " (servers from %03d compatible)", from);
            }
        }
        snprintf(what, sizeof what, "migration %s", m->name);
        snprintf(version, sizeof version, "%d", m->version);
        sha256_hex(m->sql, m->len, sum);
        params[0] = version;
        params[1] = m->name;
        params[2] = sum;
        params[3] = mark == MIGRATION_COMPATIBLE ? from_text : NULL;
        /* The file runs as one multi-statement script inside our
         * transaction: it must not contain BEGIN/COMMIT itself. */
        if (run(pg, "BEGIN", what, err, err_cap) != 0 || run(pg, m->sql, what, err, err_cap) != 0) {
            PQclear(PQexec(pg, "ROLLBACK"));
            goto out;
        }
        res = PQexecParams(pg,
                           "INSERT INTO schema_migrations (version, name, checksum, "
                           "compatible_from) VALUES ($1::integer, $2, $3, $4::integer)",
                           4, NULL, params, NULL, NULL, 0);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            char line[300];
            first_line(line, sizeof line, res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
            snprintf(err, err_cap, "recording %s: %s", m->name, line);
            PQclear(PQexec(pg, "ROLLBACK"));
            goto out;
        }
        PQclear(res);
        res = NULL;
        if (run(pg, "COMMIT", what, err, err_cap) != 0) {
            goto out;
        }
        log_info("migrate: applied %s%s", m->name, marked);
        if (n_applied) {
            (*n_applied)++;
        }
    }
    ret = MIGRATE_OK;
out:
    PQclear(res);
    free(applied);
    if (pg) {
        PQfinish(pg); /* also releases the advisory lock */
    }
    return ret;
}
