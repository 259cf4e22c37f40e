#define _POSIX_C_SOURCE 200809L
#include "db_account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_storage.h"
#include "sbuf.h"

/* ------------------------------------------------------------- helpers */

/* "%lld" written digit by digit (issue 16: a statement's parameters are
 * mostly ids, and snprintf() for each was 5 k instructions of a small
 * ingest batch's 79 k). */
const char *db_ll(long long v, char buf[24])
{
    buf[dec_text(v, buf)] = '\0';
    return buf;
}

db_status db_q_text(db_conn *c, db_stmt *stmt, int n, const char *const *p, char **out)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    *out = NULL;
    if (st == DB_OK && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
        *out = strdup(PQgetvalue(res, 0, 0));
        if (*out == NULL) {
            st = DB_ERROR;
        }
    }
    PQclear(res);
    return st;
}

db_status db_q_int(db_conn *c, db_stmt *stmt, int n, const char *const *p, long long *out,
                   bool *found)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    bool got = st == DB_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0);
    *out = got ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (found != NULL) {
        *found = got;
    }
    PQclear(res);
    return st;
}

db_status db_q_exec(db_conn *c, db_stmt *stmt, int n, const char *const *p, long long *changed)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    if (changed != NULL) {
        *changed = st == DB_OK ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    }
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------ accounts */

static db_stmt st_lock = {"acct_lock", "SELECT id FROM accounts WHERE id = $1 FOR UPDATE", 0};

db_status db_account_lock(db_conn *c, long long account_id, bool *found)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id)};
    long long got;
    return db_q_int(c, &st_lock, 1, p, &got, found);
}

/* The days since 1970-01-01 of a UTC date: core's mt_day. */
#define MT_DAY_SQL(x) "(((" x ") AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"

static db_stmt st_get = {"acct_get",
    "SELECT a.plan, " MT_DAY_SQL("a.licence_expires_at") ", " MT_DAY_SQL("a.plan_changed_at") ", "
    " (SELECT count(*) FROM users u WHERE u.account_id = a.id), "
    " (SELECT count(*) FROM teams t WHERE t.account_id = a.id), "
    " (SELECT count(*) FROM measurement_groups g WHERE g.account_id = a.id), "
    " (SELECT count(*) FROM apps p WHERE p.account_id = a.id), "
    " " DB_STORAGE_USED_SQL("a") ", "
    " a.alt_login_id IS NOT NULL, cardinality(a.ip_allow_list) > 0, a.logo IS NOT NULL, "
    " COALESCE(a.licence_term_months, 0), "
    " json_build_object("
    "  'id', a.id, 'login_id', a.login_id, 'alt_login_id', a.alt_login_id, 'name', a.name, "
    "  'plan', a.plan, 'licence_term_months', a.licence_term_months, "
    "  'licence_expiry', to_char(a.licence_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
    "  'plan_changed_at', mt_utc(a.plan_changed_at), "
    "  'trial_expires_at', mt_utc(a.trial_expires_at), "
    "  'storage_over_quota_since', mt_utc(a.over_quota_since), "
    "  'storage_deletion_at', mt_utc(a.over_quota_since + interval '31 days'), "
    "  'subscriber', json_build_object('company', a.subscriber_company, "
    "    'name', a.subscriber_name, 'email', a.subscriber_email, "
    "    'phone', a.subscriber_phone, 'address', a.subscriber_address, "
    "    'country', a.subscriber_country), "
    "  'time_zone', a.time_zone, 'language', a.language, 'status', a.status, "
    "  'has_logo', a.logo IS NOT NULL, 'created_at', mt_utc(a.created_at), "
    "  'updated_at', mt_utc(a.updated_at))::text, "
    " (SELECT COALESCE(max(x.n), 0) FROM (SELECT count(*) AS n FROM channels c "
    "   WHERE c.account_id = a.id AND c.expression IS NOT NULL GROUP BY c.group_id) x), "
    " (SELECT COALESCE(max(x.n), 0) FROM (SELECT count(*) AS n FROM alarm_rules r "
    "   WHERE r.account_id = a.id GROUP BY r.group_id) x) "
    "FROM accounts a WHERE a.id = $1", 0};

db_status db_account_get(db_conn *c, long long account_id, db_account_row *out, bool *found)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_get, 1, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st != DB_OK || PQntuples(res) < 1) {
        PQclear(res);
        return st;
    }
    snprintf(out->plan, sizeof out->plan, "%s", PQgetvalue(res, 0, 0));
    out->has_expiry = !PQgetisnull(res, 0, 1);
    out->expiry = out->has_expiry ? (mt_day)atol(PQgetvalue(res, 0, 1)) : 0;
    out->has_changed = !PQgetisnull(res, 0, 2);
    out->changed_day = out->has_changed ? (mt_day)atol(PQgetvalue(res, 0, 2)) : 0;
    out->n_users = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    out->n_teams = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    out->n_groups = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    out->n_apps = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
    out->storage_bytes = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
    out->has_alt_login = PQgetvalue(res, 0, 8)[0] == 't';
    out->has_ip_allow = PQgetvalue(res, 0, 9)[0] == 't';
    out->has_logo = PQgetvalue(res, 0, 10)[0] == 't';
    out->max_alarms_per_group = strtoll(PQgetvalue(res, 0, 14), NULL, 10);
    out->max_computed_per_group = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
    out->term_months = atoi(PQgetvalue(res, 0, 11));
    out->json = strdup(PQgetvalue(res, 0, 12));
    PQclear(res);
    if (out->json == NULL) {
        return DB_ERROR;
    }
    *found = true;
    return DB_OK;
}

static db_stmt st_update = {"acct_update",
    "UPDATE accounts SET name = COALESCE($2, name), "
    " subscriber_company = COALESCE($3, subscriber_company), "
    " subscriber_name = COALESCE($4, subscriber_name), "
    " subscriber_email = COALESCE($5, subscriber_email), "
    " subscriber_phone = COALESCE($6, subscriber_phone), "
    " subscriber_address = COALESCE($7, subscriber_address), "
    " subscriber_country = COALESCE($8, subscriber_country), "
    " time_zone = COALESCE($9, time_zone), language = COALESCE($10, language), "
    " alt_login_id = CASE WHEN $11::boolean THEN $12 ELSE alt_login_id END "
    "WHERE id = $1", 0};

db_status db_account_update(db_conn *c, long long account_id, const char *name,
                            const char *const subscriber[6], const char *time_zone,
                            const char *language, bool set_alt, const char *alt,
                            long long *changed)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id), name, subscriber[0], subscriber[1],
                       subscriber[2], subscriber[3], subscriber[4], subscriber[5],
                       time_zone, language, set_alt ? "true" : "false", alt};
    return db_q_exec(c, &st_update, 12, p, changed);
}

static db_stmt st_tz = {"acct_tz_known",
    "SELECT count(*) FROM pg_timezone_names WHERE name = $1", 0};

db_status db_time_zone_known(db_conn *c, const char *tz, bool *known)
{
    const char *p[] = {tz};
    long long n = 0;
    db_status st = db_q_int(c, &st_tz, 1, p, &n, NULL);
    *known = n > 0;
    return st;
}

static db_stmt st_set_plan = {"acct_set_plan",
    "UPDATE accounts SET plan = $2, licence_term_months = $3::smallint, "
    " licence_expires_at = ($4::date)::timestamp AT TIME ZONE 'UTC', "
    " plan_changed_at = $5::timestamptz "
    "WHERE id = $1 AND plan <> 'trial'", 0};

db_status db_account_set_plan(db_conn *c, long long account_id, const char *plan,
                              const char *term, const char *expiry, const char *changed_at)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id), plan, term, expiry, changed_at};
    long long n = 0;
    db_status st = db_q_exec(c, &st_set_plan, 5, p, &n);
    return st == DB_OK && n != 1 ? DB_ERROR : st;
}

static db_stmt st_upgrade = {"acct_upgrade_trial",
    "UPDATE accounts SET plan = $3, login_id = $2, licence_term_months = $4::smallint, "
    " licence_expires_at = ($5::date)::timestamp AT TIME ZONE 'UTC', "
    " plan_changed_at = $6::timestamptz, trial_expires_at = NULL "
    "WHERE id = $1 AND plan = 'trial'", 0};

static db_stmt st_upgrade_users = {"acct_upgrade_users",
    "UPDATE users SET email_login = false WHERE account_id = $1", 0};

db_status db_account_upgrade_trial(db_conn *c, long long account_id, const char *login_id,
                                   const char *plan, const char *term, const char *expiry,
                                   const char *changed_at)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id), login_id, plan, term, expiry, changed_at};
    long long n = 0;
    db_status st = db_q_exec(c, &st_upgrade, 6, p, &n);
    if (st == DB_OK && n != 1) {
        return DB_ERROR;
    }
    if (st == DB_OK) {
        st = db_q_exec(c, &st_upgrade_users, 1, p, NULL);
    }
    return st;
}

/* ---------------------------------------------------------------- trial */

static db_stmt st_trial_account = {"trial_insert_account",
    "INSERT INTO accounts (name, plan, trial_expires_at, created_at) "
    "VALUES (left($1, 200), 'trial', $3::timestamptz, $2::timestamptz) RETURNING id", 0};

static db_stmt st_trial_user = {"trial_insert_user",
    "INSERT INTO users (account_id, login_id, name, email, email_login, role, file_access, "
    " password_hash, created_at) "
    "VALUES ($1, $2, $3, $3, true, 'admin', 'edit', $4, $5::timestamptz) RETURNING id", 0};

db_status db_trial_create(db_conn *c, const char *email, const char *user_login,
                          const char *password_hash, const char *created_at,
                          const char *expires_at, long long *account_id, long long *user_id)
{
    char id[24];
    const char *pa[] = {email, created_at, expires_at};
    db_status st = db_q_int(c, &st_trial_account, 3, pa, account_id, NULL);
    if (st == DB_OK) {
        const char *pu[] = {db_ll(*account_id, id), user_login, email, password_hash,
                            created_at};
        st = db_q_int(c, &st_trial_user, 5, pu, user_id, NULL);
    }
    return st;
}

static db_stmt st_throttle = {"trial_throttle_hit",
    "INSERT INTO login_throttle AS t (key, window_start, failures) "
    "VALUES ($1, $2::timestamptz, 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    " failures = CASE WHEN t.window_start <= $2::timestamptz - make_interval(secs => $3::int) "
    "            THEN 1 ELSE t.failures + 1 END, "
    " window_start = CASE WHEN t.window_start <= $2::timestamptz - make_interval(secs => $3::int) "
    "            THEN $2::timestamptz ELSE t.window_start END "
    "RETURNING failures", 0};

db_status db_throttle_hit(db_conn *c, const char *key, const char *now, int window_s,
                          long long *count)
{
    char w[24];
    const char *p[] = {key, now, db_ll(window_s, w)};
    return db_q_int(c, &st_throttle, 3, p, count, NULL);
}

/* ----------------------------------------------------------- quotations */

#define QUOTATION_JSON                                                            \
    "json_build_object('id', q.id, 'plan', q.plan, 'months', q.months, "        \
    " 'note', q.note, 'user_id', q.user_id, 'created_at', mt_utc(q.created_at), " \
    " 'mailed_at', mt_utc(q.mailed_at))"

static db_stmt st_quot_insert = {"quotation_insert",
    "INSERT INTO quotation_requests AS q (account_id, user_id, plan, months, note, created_at) "
    "VALUES ($1, NULLIF($2, '0')::bigint, $3, $4::smallint, $5, $6::timestamptz) "
    "RETURNING " QUOTATION_JSON "::text", 0};

db_status db_quotation_insert(db_conn *c, long long account_id, long long user_id,
                              const char *plan, int months, const char *note,
                              const char *created_at, char **json)
{
    char a[24], u[24], m[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), plan, db_ll(months, m), note,
                       created_at};
    return db_q_text(c, &st_quot_insert, 6, p, json);
}

static db_stmt st_quot_list = {"quotation_list",
    "SELECT COALESCE(json_agg(" QUOTATION_JSON " ORDER BY q.id DESC), '[]')::text "
    "FROM quotation_requests q WHERE q.account_id = $1", 0};

db_status db_quotation_list(db_conn *c, long long account_id, char **json)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_text(c, &st_quot_list, 1, p, json);
}
