#define _POSIX_C_SOURCE 200809L
#include "db_migrate.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Any fixed number: "metron schema migration". */
#define MIGRATE_LOCK_KEY "7274766"

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

static const db_migration *known(int version)
{
    for (size_t i = 0; i < db_migrations_count; i++) {
        if (db_migrations[i].version == version) {
            return &db_migrations[i];
        }
    }
    return NULL;
}

migrate_result db_migrate(const char *conninfo, int *n_applied, char *err, size_t err_cap)
{
    const char *keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                          NULL};
    const char *vals[] = {"5", "metron-server-migrate", "UTF8", conninfo, NULL};
    PGconn *pg = NULL;
    PGresult *res = NULL;
    migrate_result ret = MIGRATE_FAILED;
    int newest_known = db_migrations[db_migrations_count - 1].version;
    unsigned char *applied = NULL; /* applied[version] */
    int applied_count = 0;

    if (n_applied) {
        *n_applied = 0;
    }
    pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        char line[300];
        first_line(line, sizeof line, pg ? PQerrorMessage(pg) : "out of memory");
        snprintf(err, err_cap, "cannot connect to the database: %s", line);
        ret = MIGRATE_UNAVAILABLE;
        goto out;
    }
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    if (run(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "migration lock", err,
            err_cap) != 0 ||
        run(pg,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())",
            "schema_migrations", err, err_cap) != 0) {
        goto out;
    }

    res = PQexec(pg, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
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
        const db_migration *m = known(version);
        if (version > newest_known) {
            snprintf(err, err_cap,
                     "the database schema is at version %d (%s), newer than this server knows "
                     "(up to %d): run a newer metron-server against this database",
                     version, name, newest_known);
            ret = MIGRATE_TOO_NEW;
            goto out;
        }
        if (m == NULL) {
            log_warn("migrate: applied migration %d (%s) is unknown to this server", version,
                     name);
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
            applied_count++;
        }
    }
    PQclear(res);
    res = NULL;

    for (size_t i = 0; i < db_migrations_count; i++) {
        const db_migration *m = &db_migrations[i];
        char version[16], sum[65], what[96];
        const char *params[3];
        if (applied[m->version]) {
            continue;
        }
        snprintf(what, sizeof what, "migration %s", m->name);
        snprintf(version, sizeof version, "%d", m->version);
        sha256_hex(m->sql, m->len, sum);
        params[0] = version;
        params[1] = m->name;
        params[2] = sum;
        /* The file runs as one multi-statement script inside our
         * transaction: it must not contain BEGIN/COMMIT itself. */
        if (run(pg, "BEGIN", what, err, err_cap) != 0 || run(pg, m->sql, what, err, err_cap) != 0) {
            PQclear(PQexec(pg, "ROLLBACK"));
            goto out;
        }
        res = PQexecParams(pg,
                           "INSERT INTO schema_migrations (version, name, checksum) "
                           "VALUES ($1::integer, $2, $3)",
                           3, NULL, params, NULL, NULL, 0);
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
        log_info("migrate: applied %s", m->name);
        if (n_applied) {
            (*n_applied)++;
        }
    }
    (void)applied_count;
    ret = MIGRATE_OK;
out:
    PQclear(res);
    free(applied);
    if (pg) {
        PQfinish(pg); /* also releases the advisory lock */
    }
    return ret;
}
