/* The operator's statements (see db_ops.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_ops.h"

#include <stddef.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"
#include "db_storage.h"

static db_stmt st_queues = {"ops_queues",
    "SELECT (SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending')), "
    "  (SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending') "
    "     AND next_at <= to_timestamp($1::bigint)), "
    "  (SELECT count(*) FROM exports WHERE status = 'running'), "
    "  (SELECT count(*) FROM report_runs WHERE state IN ('queued', 'retry', 'running')), "
    "  (SELECT count(*) FROM series_hot), "
    "  (SELECT COALESCE(sum(n), 0) FROM series_hot), "
    "  COALESCE((SELECT greatest(0, $1::bigint - extract(epoch FROM created_at)) "
    "            FROM series_hot ORDER BY id LIMIT 1), 0), "
    "  current_setting('archive_mode') <> 'off', "
    "  a.archived_count, a.failed_count, "
    "  COALESCE(extract(epoch FROM a.last_archived_time), 0), "
    "  COALESCE(extract(epoch FROM a.last_failed_time), 0) "
    "FROM pg_stat_archiver a", 0};

db_status db_ops_queue_depths(db_conn *c, long long now_s, db_ops_queues *out)
{
    char now[24];
    const char *p[] = {now};
    PGresult *res = NULL;
    db_status st;
    snprintf(now, sizeof now, "%lld", now_s);
    memset(out, 0, sizeof *out);
    st = db_exec(c, &st_queues, 1, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        long long *ints[] = {&out->outbox, &out->outbox_due, &out->exports, &out->report_runs,
                             &out->hot_rows, &out->hot_samples};
        for (int i = 0; i < 6; i++) {
            *ints[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
        }
        out->compactor_lag_s = strtod(PQgetvalue(res, 0, 6), NULL);
        out->archiving = PQgetvalue(res, 0, 7)[0] == 't';
        out->archived = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
        out->archive_failed = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
        out->last_archived_at = strtod(PQgetvalue(res, 0, 10), NULL);
        out->last_failed_at = strtod(PQgetvalue(res, 0, 11), NULL);
    }
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------ accounts */

#define ACCOUNT_COLS                                                                          \
    "SELECT a.id, a.login_id, a.name, a.plan, a.status, a.frozen_reason, "                    \
    DB_ISO("a.frozen_at") ", " DB_ISO("a.created_at") ", " DB_ISO("a.trial_expires_at") ", "  \
    " to_char(a.licence_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "                        \
    " COALESCE(((a.licence_expires_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), -1), "  \
    DB_ISO("a.contract_ends_at") ", a.subscriber_email, "                                      \
    " (SELECT count(*) FROM users u WHERE u.account_id = a.id), "                              \
    " " DB_STORAGE_USED_SQL("a") " "                                                           \
    "FROM accounts a "

static const db_field account_fields[] = {
    {DBF_I64, offsetof(db_ops_account_row, id)},
    {DBF_STR, offsetof(db_ops_account_row, login_id)},
    {DBF_STR, offsetof(db_ops_account_row, name)},
    {DBF_STR, offsetof(db_ops_account_row, plan)},
    {DBF_STR, offsetof(db_ops_account_row, status)},
    {DBF_STR, offsetof(db_ops_account_row, frozen_reason)},
    {DBF_STR, offsetof(db_ops_account_row, frozen_at)},
    {DBF_STR, offsetof(db_ops_account_row, created_at)},
    {DBF_STR, offsetof(db_ops_account_row, trial_expires_at)},
    {DBF_STR, offsetof(db_ops_account_row, licence_expiry)},
    {DBF_I64, offsetof(db_ops_account_row, expiry_day)},
    {DBF_STR, offsetof(db_ops_account_row, contract_ends_at)},
    {DBF_STR, offsetof(db_ops_account_row, subscriber_email)},
    {DBF_I64, offsetof(db_ops_account_row, users)},
    {DBF_I64, offsetof(db_ops_account_row, storage_used)},
};
#define N_ACCOUNT_FIELDS (int)(sizeof account_fields / sizeof account_fields[0])

static db_stmt st_accounts = {"ops_accounts",
    ACCOUNT_COLS
    "WHERE a.id > $1 AND ($3::text IS NULL OR a.status = $3) AND ($4::text IS NULL OR a.plan = $4) "
    "  AND ($5::text IS NULL OR strpos(lower(COALESCE(a.login_id, '') COLLATE \"C\"), lower($5)) > 0 "
    "       OR strpos(lower(a.name COLLATE \"C\"), lower($5)) > 0 "
    "       OR strpos(lower(a.subscriber_email COLLATE \"C\"), lower($5)) > 0) "
    "ORDER BY a.id LIMIT $2", 0};

db_status db_ops_accounts(db_conn *c, long long after, int limit, const char *status,
                          const char *plan, const char *q, db_ops_account_row **out, int *n)
{
    char a[24], l[24];
    const char *p[] = {db_ll(after, a), db_ll(limit, l), status, plan, q};
    return db_exec_rows(c, &st_accounts, 5, p, account_fields, N_ACCOUNT_FIELDS, sizeof **out,
                        (void **)out, n);
}

static db_stmt st_account = {"ops_account", ACCOUNT_COLS "WHERE a.id = $1", 0};

db_status db_ops_account(db_conn *c, long long id, db_ops_account_row *out, bool *found)
{
    char a[24];
    const char *p[] = {db_ll(id, a)};
    return db_exec_one(c, &st_account, 1, p, account_fields, N_ACCOUNT_FIELDS, sizeof *out, out,
                       found);
}

void db_ops_accounts_free(db_ops_account_row *rows, int n)
{
    db_rows_free(rows, n, account_fields, N_ACCOUNT_FIELDS, sizeof *rows);
}

void db_ops_account_clear(db_ops_account_row *row)
{
    db_row_clear(row, account_fields, N_ACCOUNT_FIELDS);
}

static db_stmt st_freeze = {"ops_freeze",
    "UPDATE accounts SET status = CASE WHEN $2::text IS NULL THEN 'active' ELSE 'frozen' END, "
    " frozen_reason = $2, frozen_at = CASE WHEN $2::text IS NULL THEN NULL "
    "   ELSE to_timestamp($3::bigint) END "
    "WHERE id = $1", 0};

db_status db_ops_freeze(db_conn *c, long long id, const char *reason, long long now_s,
                        bool *found)
{
    char a[24], t[24];
    const char *p[] = {db_ll(id, a), reason, db_ll(now_s, t)};
    return db_exec_found(c, &st_freeze, 3, p, found);
}

static db_stmt st_contract = {"ops_contract_end",
    "UPDATE accounts SET contract_ends_at = CASE WHEN $2::bigint > 0 "
    "  THEN to_timestamp($2::bigint) END WHERE id = $1", 0};

db_status db_ops_contract_end(db_conn *c, long long id, long long at_s, bool *found)
{
    char a[24], t[24];
    const char *p[] = {db_ll(id, a), db_ll(at_s, t)};
    return db_exec_found(c, &st_contract, 2, p, found);
}

/* The storage counted before the rows go (what the deletion freed), then
 * the deletion and its record, in one statement. */
static db_stmt st_delete = {"ops_delete_account",
    "WITH before AS ("
    "  SELECT a.plan, " DB_STORAGE_USED_SQL("a") " AS bytes FROM accounts a WHERE a.id = $1), "
    "gone AS (SELECT mt_account_delete($1) AS removed FROM before), "
    "rec AS (INSERT INTO account_deletions "
    "    (account_id, plan, reason, deleted_at, storage_bytes, removed) "
    "  SELECT $1, b.plan, $2, to_timestamp($3::bigint), b.bytes, g.removed "
    "  FROM before b, gone g WHERE g.removed IS NOT NULL "
    "  RETURNING *) "
    "SELECT json_build_object('id', id, 'account_id', account_id, 'plan', plan, "
    "  'reason', reason, 'deleted_at', " DB_ISO("deleted_at") ", "
    "  'storage_bytes', storage_bytes, 'removed', removed)::text FROM rec", 0};

db_status db_ops_delete_account(db_conn *c, long long id, const char *reason, long long now_s,
                                char **record, bool *found)
{
    char a[24], t[24];
    const char *p[] = {db_ll(id, a), reason, db_ll(now_s, t)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_delete, 3, p, &res);
    *record = NULL;
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *record = strdup(PQgetvalue(res, 0, 0));
        *found = true;
        if (*record == NULL) {
            st = DB_ERROR;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_deletions = {"ops_deletions",
    "SELECT COALESCE(json_agg(json_build_object('id', id, 'account_id', account_id, "
    "  'plan', plan, 'reason', reason, 'deleted_at', " DB_ISO("deleted_at") ", "
    "  'storage_bytes', storage_bytes, 'removed', removed) ORDER BY id DESC), '[]')::text "
    "FROM (SELECT * FROM account_deletions WHERE ($1::bigint = 0 OR id < $1) "
    "      ORDER BY id DESC LIMIT $2) d", 0};

db_status db_ops_deletions(db_conn *c, long long before, int limit, char **json)
{
    char b[24], l[24];
    const char *p[] = {db_ll(before, b), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_deletions, 2, p, &res);
    *json = NULL;
    if (st == DB_OK && PQntuples(res) == 1 && (*json = strdup(PQgetvalue(res, 0, 0))) == NULL) {
        st = DB_ERROR;
    }
    PQclear(res);
    return st;
}

static db_status ids_of(db_conn *c, db_stmt *stmt, long long now_s, int limit, long long *ids,
                        int *n)
{
    char t[24], l[24];
    const char *p[] = {db_ll(now_s, t), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, 2, p, &res);
    *n = 0;
    for (int i = 0; st == DB_OK && i < PQntuples(res) && i < limit; i++) {
        ids[(*n)++] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }
    PQclear(res);
    return st;
}

static db_stmt st_contracts_ended = {"ops_contracts_ended",
    "SELECT id FROM accounts WHERE contract_ends_at <= to_timestamp($1::bigint) "
    "ORDER BY contract_ends_at, id LIMIT $2", 0};

db_status db_ops_contracts_ended(db_conn *c, long long now_s, int limit, long long *ids, int *n)
{
    return ids_of(c, &st_contracts_ended, now_s, limit, ids, n);
}

static db_stmt st_trials_ended = {"ops_trials_ended",
    "SELECT id FROM accounts WHERE plan = 'trial' AND trial_expires_at <= to_timestamp($1::bigint) "
    "ORDER BY id LIMIT $2", 0};

db_status db_ops_trials_ended(db_conn *c, long long now_s, int limit, long long *ids, int *n)
{
    return ids_of(c, &st_trials_ended, now_s, limit, ids, n);
}

/* ------------------------------------------------- maintenance windows (O1) */

#define WINDOW_COLS                                                                   \
    "id, extract(epoch FROM announce_at)::bigint, extract(epoch FROM starts_at)::bigint, " \
    "extract(epoch FROM ends_at)::bigint, extract(epoch FROM created_at)::bigint"

static db_stmt st_maint_open = {"ops_maintenance_open",
    "SELECT " WINDOW_COLS " FROM maintenance_windows "
    "WHERE cancelled_at IS NULL AND ends_at > to_timestamp($1::bigint) "
    "ORDER BY starts_at, id LIMIT $2", 0};

db_status db_ops_maintenance_open(db_conn *c, long long now_s, db_ops_window *out, int cap,
                                  int *n)
{
    char t[24], l[24];
    const char *p[] = {db_ll(now_s, t), db_ll(cap, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_maint_open, 2, p, &res);
    *n = 0;
    for (int i = 0; st == DB_OK && i < PQntuples(res) && i < cap; i++) {
        db_ops_window *w = &out[(*n)++];
        w->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        w->announce_at = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        w->starts_at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        w->ends_at = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        w->created_at = strtoll(PQgetvalue(res, i, 4), NULL, 10);
    }
    PQclear(res);
    return st;
}

static db_stmt st_maint_add = {"ops_maintenance_add",
    "INSERT INTO maintenance_windows (announce_at, starts_at, ends_at, created_at) "
    "VALUES (to_timestamp($1::bigint), to_timestamp($2::bigint), to_timestamp($3::bigint), "
    "        to_timestamp($4::bigint)) RETURNING id", 0};

db_status db_ops_maintenance_add(db_conn *c, const db_ops_window *w, long long *id)
{
    char a[24], b[24], e[24], n[24];
    const char *p[] = {db_ll(w->announce_at, a), db_ll(w->starts_at, b), db_ll(w->ends_at, e),
                       db_ll(w->created_at, n)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_maint_add, 4, p, &res);
    *id = 0;
    if (st == DB_OK && PQntuples(res) == 1) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return st;
}

static db_stmt st_maint_cancel = {"ops_maintenance_cancel",
    "UPDATE maintenance_windows SET cancelled_at = to_timestamp($2::bigint) "
    "WHERE id = $1 AND cancelled_at IS NULL AND ends_at > to_timestamp($2::bigint)", 0};

db_status db_ops_maintenance_cancel(db_conn *c, long long id, long long now_s, bool *found)
{
    char a[24], t[24];
    const char *p[] = {db_ll(id, a), db_ll(now_s, t)};
    return db_exec_found(c, &st_maint_cancel, 2, p, found);
}

/* ------------------------------------------------------------ backups (O3) */

static db_stmt st_archiver = {"ops_archiver",
    "SELECT current_setting('archive_mode') <> 'off', "
    " COALESCE(extract(epoch FROM last_archived_time), 0)::float8, "
    " COALESCE(extract(epoch FROM last_failed_time), 0)::float8 FROM pg_stat_archiver", 0};

db_status db_ops_archiver(db_conn *c, bool *archiving, double *last_archived_at,
                          double *last_failed_at)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_archiver, 0, NULL, &res);
    *archiving = false;
    *last_archived_at = *last_failed_at = 0;
    if (st == DB_OK && PQntuples(res) == 1) {
        *archiving = PQgetvalue(res, 0, 0)[0] == 't';
        *last_archived_at = strtod(PQgetvalue(res, 0, 1), NULL);
        *last_failed_at = strtod(PQgetvalue(res, 0, 2), NULL);
    }
    PQclear(res);
    return st;
}
