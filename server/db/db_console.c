/* Storage of console sessions (see db_console.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_console.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_account.h"

#define ISO(x) "to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* A live row of another user is kept unless "take_over"; a live row that is
 * replaced is remembered as lost (its holder's stream says who took it). */
static db_stmt st_claim = {"console_claim",
    "INSERT INTO console_sessions AS s (account_id, device_id, user_id, holder, since, "
    "  expires_at) "
    "VALUES ($1, $2, $3, $4, now(), now() + make_interval(secs => $5::int)) "
    "ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id, "
    "  holder = EXCLUDED.holder, since = now(), expires_at = EXCLUDED.expires_at, "
    "  lost_holder = CASE WHEN s.expires_at > now() THEN s.holder END, "
    "  lost_user_id = CASE WHEN s.expires_at > now() THEN s.user_id END, "
    "  lost_at = CASE WHEN s.expires_at > now() THEN now() END "
    "WHERE s.account_id = EXCLUDED.account_id AND (s.expires_at <= now() "
    "  OR s.user_id = EXCLUDED.user_id OR $6::boolean) "
    "RETURNING COALESCE(lost_user_id, 0)", 0};
static db_stmt st_renew = {"console_renew",
    "UPDATE console_sessions SET expires_at = now() + make_interval(secs => $4::int) "
    "WHERE account_id = $1 AND device_id = $2 AND holder = $3 AND expires_at > now()", 0};
static db_stmt st_release = {"console_release",
    "DELETE FROM console_sessions WHERE account_id = $1 AND device_id = $2 AND holder = $3", 0};
static db_stmt st_holder = {"console_holder",
    "SELECT s.user_id, u.name, u.login_id, " ISO("s.since") ", "
    "  s.holder = $3, s.lost_holder IS NOT NULL AND s.lost_holder = $3, "
    "  COALESCE(" ISO("s.lost_at") ", '') "
    "FROM console_sessions s JOIN users u ON u.account_id = s.account_id AND u.id = s.user_id "
    "WHERE s.account_id = $1 AND s.device_id = $2 AND s.expires_at > now()", 0};

static db_stmt st_resume_set = {"console_resume_set",
    "INSERT INTO console_resumes AS r (account_id, device_id, user_id, token_hash, expires_at) "
    "VALUES ($1, $2, $3, $4::bytea, now() + make_interval(secs => $5::int)) "
    "ON CONFLICT (device_id) DO UPDATE SET user_id = EXCLUDED.user_id, "
    "  token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at "
    "WHERE r.account_id = EXCLUDED.account_id", 0};
static db_stmt st_resume_use = {"console_resume_use",
    "UPDATE console_resumes SET expires_at = now() + make_interval(secs => $5::int) "
    "WHERE account_id = $1 AND device_id = $2 AND user_id = $3 AND token_hash = $4::bytea "
    "  AND expires_at > now()", 0};
static db_stmt st_resume_keep = {"console_resume_keep",
    "UPDATE console_resumes "
    "SET expires_at = greatest(expires_at, now() + make_interval(secs => $4::int)) "
    "WHERE account_id = $1 AND device_id = $2 AND user_id = $3 AND expires_at > now()", 0};
static db_stmt st_resume_drop = {"console_resume_drop",
    "DELETE FROM console_resumes WHERE account_id = $1 AND device_id = $2 AND user_id = $3", 0};

/* The outer "expires_at <= now()" is checked again on a row that a
 * concurrent continuation renewed before the DELETE locked it (READ
 * COMMITTED re-reads the row; the subquery's choice is not re-read). */
static db_stmt st_resumes_sweep = {"console_resumes_sweep",
    "DELETE FROM console_resumes WHERE expires_at <= now() AND device_id IN "
    "(SELECT device_id FROM console_resumes WHERE expires_at <= now() LIMIT $1)", 0};

db_status db_console_claim(db_conn *c, long long account_id, long long device_id,
                           long long user_id, const char *holder, int ttl_s, bool take_over,
                           bool *granted, long long *took_from)
{
    char a[24], d[24], u[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), db_ll(user_id, u), holder,
                       db_ll(ttl_s, t), take_over ? "true" : "false"};
    *took_from = 0;
    return db_q_int(c, &st_claim, 6, p, took_from, granted);
}

db_status db_console_renew(db_conn *c, long long account_id, long long device_id,
                           const char *holder, int ttl_s, bool *held)
{
    char a[24], d[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), holder, db_ll(ttl_s, t)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_renew, 4, p, &n);
    *held = st == DB_OK && n == 1;
    return st;
}

db_status db_console_release(db_conn *c, long long account_id, long long device_id,
                             const char *holder)
{
    char a[24], d[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), holder};
    return db_q_exec(c, &st_release, 3, p, NULL);
}

db_status db_console_holder_get(db_conn *c, long long account_id, long long device_id,
                                const char *holder, db_console_holder *out)
{
    char a[24], d[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), holder};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_holder, 3, p, &res);
    memset(out, 0, sizeof *out);
    if (st == DB_OK && PQntuples(res) == 1) {
        out->held = true;
        out->user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 1));
        snprintf(out->login, sizeof out->login, "%s", PQgetvalue(res, 0, 2));
        snprintf(out->since, sizeof out->since, "%s", PQgetvalue(res, 0, 3));
        out->mine = !PQgetisnull(res, 0, 4) && PQgetvalue(res, 0, 4)[0] == 't';
        out->lost = !PQgetisnull(res, 0, 5) && PQgetvalue(res, 0, 5)[0] == 't';
        snprintf(out->lost_at, sizeof out->lost_at, "%s", PQgetvalue(res, 0, 6));
    }
    PQclear(res);
    return st;
}

db_status db_console_resume_set(db_conn *c, long long account_id, long long device_id,
                                long long user_id, const unsigned char *token_hash, int ttl_s)
{
    char a[24], d[24], u[24], th[72], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), db_ll(user_id, u), th,
                       db_ll(ttl_s, t)};
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    return db_q_exec(c, &st_resume_set, 5, p, NULL);
}

db_status db_console_resume_use(db_conn *c, long long account_id, long long device_id,
                                long long user_id, const unsigned char *token_hash, int ttl_s,
                                bool *resumed)
{
    char a[24], d[24], u[24], th[72], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), db_ll(user_id, u), th,
                       db_ll(ttl_s, t)};
    long long n = 0;
    db_status st;
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    st = db_q_exec(c, &st_resume_use, 5, p, &n);
    *resumed = st == DB_OK && n == 1;
    return st;
}

db_status db_console_resume_keep(db_conn *c, long long account_id, long long device_id,
                                 long long user_id, int ttl_s)
{
    char a[24], d[24], u[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), db_ll(user_id, u),
                       db_ll(ttl_s, t)};
    return db_q_exec(c, &st_resume_keep, 4, p, NULL);
}

db_status db_console_resume_drop(db_conn *c, long long account_id, long long device_id,
                                 long long user_id)
{
    char a[24], d[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, d), db_ll(user_id, u)};
    return db_q_exec(c, &st_resume_drop, 3, p, NULL);
}

db_status db_console_resumes_sweep(db_conn *c, int limit, long long *n)
{
    char l[24];
    const char *p[] = {db_ll(limit, l)};
    return db_q_exec(c, &st_resumes_sweep, 1, p, n);
}
