/* Storage of sign-in state (db_auth.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_auth.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_account.h"
#include "db_rows.h"

/* Every user look-up returns these columns first, in this order (fill_user()):
 * the user, their account, and whether the client address "ip" (a
 * parameter: "$3") passes the account's allow-list. */
#define USER_COLS(ip)                                                                         \
    "SELECT a.id, u.id, u.role, u.file_access, a.plan, "                                     \
    "coalesce(extract(epoch FROM a.licence_expires_at)::bigint, -1), "                       \
    "coalesce(extract(epoch FROM a.trial_expires_at)::bigint, -1), "                         \
    "a.status = 'frozen', u.disabled, "                                                      \
    "cardinality(a.ip_allow_list) = 0 OR " ip "::inet <<= ANY (a.ip_allow_list), "           \
    "cardinality(a.ip_allow_list) > 0, u.two_step, u.login_id, coalesce(a.login_id, ''), "   \
    "u.name, coalesce(u.email, ''), u.email_login, "
#define N_USER_COLS 17

static db_stmt st_find_login = {"auth_find_login",
    USER_COLS("$3")
    "u.password_hash, a.login_id IS DISTINCT FROM $1 "
    "FROM accounts a JOIN users u ON u.account_id = a.id "
    "WHERE (a.login_id = $1 OR a.alt_login_id = $1) AND u.login_id = $2 AND NOT u.email_login",
    0};

static db_stmt st_find_email_login = {"auth_find_email_login",
    USER_COLS("$2")
    "u.password_hash, false "
    "FROM accounts a JOIN users u ON u.account_id = a.id "
    "WHERE u.email_login AND lower(u.email) = lower($1)",
    0};

static db_stmt st_find_user = {"auth_find_user",
    USER_COLS("$3")
    "u.password_hash, false "
    "FROM accounts a JOIN users u ON u.account_id = a.id "
    "WHERE a.id = $1 AND u.account_id = $1 AND u.id = $2",
    0};

static db_stmt st_session_insert = {"auth_session_insert",
    "INSERT INTO sessions (account_id, user_id, token_hash, csrf_hash, stage, purpose, "
    " created_at, last_seen_at, idle_expires_at, ip, user_agent) "
    "VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), to_timestamp($7), "
    " to_timestamp($7 + $8), $9::inet, $10) RETURNING id",
    0};

/* The at-most-once-a-minute touch of a session or token commits without
 * waiting for the WAL flush (synchronous_commit off for this statement's
 * transaction only): on a busy disk the flush took up to 1.5 s, during which
 * the look-up blocked and, with it, every request waiting for the identity
 * (svc_auth.c). A touch lost in a crash costs at most a minute of idle
 * slide. */
#define TOUCH_ASYNC " AND set_config('synchronous_commit', 'off', true) IS NOT NULL"

/* One round trip on every authenticated request: find the session and, at
 * most once a minute, slide its idle expiry (A5). */
static db_stmt st_session_get = {"auth_session_get",
    "WITH s AS (SELECT s.id, s.account_id, s.user_id, s.stage, s.purpose, s.last_seen_at, "
    "  s.view_only, s.idle_expires_at "
    "  FROM sessions s WHERE s.token_hash = $1 AND s.idle_expires_at > to_timestamp($2)), "
    "touch AS (UPDATE sessions t SET last_seen_at = to_timestamp($2), "
    "  idle_expires_at = to_timestamp($2 + $4) "
    "  FROM s WHERE t.account_id = s.account_id AND t.id = s.id AND s.stage = 'active' "
    "  AND NOT s.view_only "
    "  AND s.last_seen_at < to_timestamp($2 - $5)" TOUCH_ASYNC ") "
    USER_COLS("$3")
    "s.id, s.stage, s.purpose, s.view_only, "
    "CASE WHEN s.view_only THEN extract(epoch FROM s.idle_expires_at)::bigint ELSE -1 END "
    "FROM s JOIN users u ON u.account_id = s.account_id AND u.id = s.user_id "
    "JOIN accounts a ON a.id = s.account_id",
    0};

static db_stmt st_session_delete = {"auth_session_delete",
    "DELETE FROM sessions WHERE account_id = $1 AND id = $2", 0};

static db_stmt st_sessions_delete_user = {"auth_sessions_delete_user",
    "DELETE FROM sessions WHERE account_id = $1 AND user_id = $2 AND id <> $3", 0};

static db_stmt st_session_delete_own = {"auth_session_delete_own",
    "DELETE FROM sessions WHERE account_id = $1 AND user_id = $2 AND id = $3 "
    "AND stage = 'active'", 0};

static db_stmt st_sessions_json = {"auth_sessions_json",
    "SELECT COALESCE(json_agg(json_build_object('id', s.id, 'current', s.id = $3, "
    " 'created_at', mt_utc(s.created_at), 'last_seen_at', mt_utc(s.last_seen_at), "
    " 'idle_expires_at', mt_utc(s.idle_expires_at), 'ip', host(s.ip), "
    " 'user_agent', s.user_agent) ORDER BY s.last_seen_at DESC, s.id DESC), '[]')::text "
    "FROM sessions s WHERE s.account_id = $1 AND s.user_id = $2 AND s.stage = 'active' "
    "AND s.idle_expires_at > to_timestamp($4)", 0};

static db_stmt st_tokens_json = {"auth_tokens_json",
    "SELECT COALESCE(json_agg(json_build_object('id', k.id, 'name', k.name, "
    " 'current', k.id = $3, 'created_at', mt_utc(k.created_at), "
    " 'last_used_at', mt_utc(k.last_used_at), 'expires_at', mt_utc(k.expires_at)) "
    " ORDER BY k.id DESC), '[]')::text "
    "FROM api_tokens k WHERE k.account_id = $1 AND k.user_id = $2 AND k.revoked_at IS NULL "
    "AND (k.expires_at IS NULL OR k.expires_at > to_timestamp($4))", 0};

static db_stmt st_token_revoke = {"auth_token_revoke",
    "UPDATE api_tokens SET revoked_at = to_timestamp($4) "
    "WHERE account_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > to_timestamp($4))", 0};

static db_stmt st_token_rename = {"auth_token_rename",
    "UPDATE api_tokens SET name = $4 "
    "WHERE account_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > to_timestamp($5))", 0};

static db_stmt st_tokens_revoke_user = {"auth_tokens_revoke_user",
    "UPDATE api_tokens SET revoked_at = to_timestamp($3) "
    "WHERE account_id = $1 AND user_id = $2 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > to_timestamp($3))", 0};

static db_stmt st_throttle_check = {"auth_throttle_check",
    "SELECT coalesce(max(extract(epoch FROM locked_until))::bigint, 0) FROM login_throttle "
    "WHERE key IN ($1, $2) AND locked_until > to_timestamp($3)",
    0};

/* window_start holds the time of the latest failure: an hour without one
 * starts the count again. */
static db_stmt st_throttle_fail = {"auth_throttle_fail",
    "INSERT INTO login_throttle AS t (key, window_start, failures) "
    "VALUES ($1, to_timestamp($2), 1) "
    "ON CONFLICT (key) DO UPDATE SET "
    " failures = CASE WHEN t.window_start < to_timestamp($2 - 3600) THEN 1 "
    "            ELSE t.failures + 1 END, "
    " window_start = to_timestamp($2) "
    "RETURNING failures",
    0};

static db_stmt st_throttle_lock = {"auth_throttle_lock",
    "UPDATE login_throttle SET locked_until = to_timestamp($2) WHERE key = $1", 0};

static db_stmt st_throttle_clear = {"auth_throttle_clear",
    "DELETE FROM login_throttle WHERE key = $1", 0};

static db_stmt st_user_logged_in = {"auth_user_logged_in",
    "UPDATE users SET last_login_at = to_timestamp($3) WHERE account_id = $1 AND id = $2", 0};

static db_stmt st_token_insert = {"auth_token_insert",
    "INSERT INTO api_tokens (account_id, user_id, token_hash, created_at, expires_at) "
    "VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5)) RETURNING id",
    0};

static db_stmt st_token_get = {"auth_token_get",
    "WITH k AS (SELECT k.id, k.account_id, k.user_id, k.expires_at, k.last_used_at "
    "  FROM api_tokens k WHERE k.token_hash = $1 AND k.revoked_at IS NULL "
    "  AND (k.expires_at IS NULL OR k.expires_at > to_timestamp($2))), "
    "touch AS (UPDATE api_tokens t SET last_used_at = to_timestamp($2) FROM k "
    "  WHERE t.account_id = k.account_id AND t.id = k.id "
    "  AND (k.last_used_at IS NULL OR k.last_used_at < to_timestamp($2 - $4))" TOUCH_ASYNC ") "
    USER_COLS("$3")
    "k.id, coalesce(extract(epoch FROM k.expires_at)::bigint, -1) "
    "FROM k JOIN users u ON u.account_id = k.account_id AND u.id = k.user_id "
    "JOIN accounts a ON a.id = k.account_id",
    0};

static db_stmt st_email_code_insert = {"auth_email_code_insert",
    "INSERT INTO email_codes (account_id, user_id, session_id, purpose, code_hash, expires_at) "
    "VALUES ($1, $2, $3, 'login', $4, to_timestamp($5))",
    0};

static db_stmt st_email_code_get = {"auth_email_code_get",
    "SELECT id, code_hash, attempts FROM email_codes "
    "WHERE account_id = $1 AND session_id = $2 AND purpose = 'login' AND used_at IS NULL "
    "AND expires_at > to_timestamp($3) ORDER BY id DESC LIMIT 1",
    0};

static db_stmt st_email_code_attempt = {"auth_email_code_attempt",
    "UPDATE email_codes SET attempts = attempts + 1 WHERE account_id = $1 AND id = $2", 0};

static db_stmt st_email_code_use = {"auth_email_code_use",
    "UPDATE email_codes SET used_at = to_timestamp($3) "
    "WHERE account_id = $1 AND id = $2 AND used_at IS NULL",
    0};

static db_stmt st_totp_get = {"auth_totp_get",
    "SELECT totp_secret, totp_pending_secret, coalesce(totp_last_step, -1) FROM users "
    "WHERE account_id = $1 AND id = $2",
    0};

static db_stmt st_totp_use_step = {"auth_totp_use_step",
    "UPDATE users SET totp_last_step = $3 WHERE account_id = $1 AND id = $2 "
    "AND (totp_last_step IS NULL OR totp_last_step < $3)",
    0};

static db_stmt st_totp_set_pending = {"auth_totp_set_pending",
    "UPDATE users SET totp_pending_secret = $3 WHERE account_id = $1 AND id = $2", 0};

static db_stmt st_totp_confirm = {"auth_totp_confirm",
    "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, "
    " two_step = 'totp', totp_last_step = $3 "
    "WHERE account_id = $1 AND id = $2 AND totp_pending_secret IS NOT NULL",
    0};

static db_stmt st_set_two_step = {"auth_set_two_step",
    "UPDATE users SET two_step = $3, totp_secret = NULL, totp_pending_secret = NULL, "
    " totp_last_step = NULL WHERE account_id = $1 AND id = $2",
    0};

static db_stmt st_set_password = {"auth_set_password",
    "UPDATE users SET password_hash = $3, password_changed_at = to_timestamp($4) "
    "WHERE account_id = $1 AND id = $2",
    0};

static db_stmt st_reset_insert = {"auth_reset_insert",
    "INSERT INTO password_resets (account_id, user_id, token_hash, created_at, expires_at) "
    "VALUES ($1, $2, $3, to_timestamp($4), to_timestamp($5))",
    0};

/* Single use: the row is marked used in the same statement that finds it. */
static db_stmt st_reset_lock_user = {"auth_reset_lock_user",
    "SELECT 1 FROM users WHERE account_id = $1 AND id = $2 FOR UPDATE", 0};

static db_stmt st_reset_drop_unused = {"auth_reset_drop_unused",
    "DELETE FROM password_resets WHERE account_id = $1 AND user_id = $2 AND used_at IS NULL", 0};

static db_stmt st_reset_take = {"auth_reset_take",
    "UPDATE password_resets SET used_at = to_timestamp($2) "
    "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > to_timestamp($2) "
    "RETURNING account_id, user_id",
    0};

static db_stmt st_ip_list_get = {"auth_ip_list_get",
    "SELECT coalesce(array_to_json(ip_allow_list::text[])::text, '[]') FROM accounts "
    "WHERE id = $1",
    0};

/* The caller validated every entry; network() clears host bits so that
 * "10.1.2.3/8" is stored as 10.0.0.0/8. */
static db_stmt st_ip_list_set = {"auth_ip_list_set",
    "UPDATE accounts SET ip_allow_list = ARRAY(SELECT DISTINCT network(x::inet)::cidr "
    " FROM jsonb_array_elements_text($2::jsonb) AS x) WHERE id = $1",
    0};

static void copy(char *out, size_t cap, const char *s)
{
    snprintf(out, cap, "%s", s ? s : "");
}

static bool is_true(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

static long long as_ll(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Fill "u" from the first N_USER_COLS columns of row 0. */
static void fill_user(const PGresult *r, db_auth_user *u)
{
    memset(u, 0, sizeof *u);
    u->account_id = as_ll(r, 0, 0);
    u->user_id = as_ll(r, 0, 1);
    copy(u->role, sizeof u->role, PQgetvalue(r, 0, 2));
    copy(u->file_access, sizeof u->file_access, PQgetvalue(r, 0, 3));
    copy(u->plan, sizeof u->plan, PQgetvalue(r, 0, 4));
    u->licence_expires = as_ll(r, 0, 5);
    u->trial_expires = as_ll(r, 0, 6);
    u->frozen = is_true(r, 0, 7);
    u->disabled = is_true(r, 0, 8);
    u->ip_ok = is_true(r, 0, 9);
    u->ip_list_set = is_true(r, 0, 10);
    copy(u->two_step, sizeof u->two_step, PQgetvalue(r, 0, 11));
    copy(u->login_id, sizeof u->login_id, PQgetvalue(r, 0, 12));
    copy(u->account_login, sizeof u->account_login, PQgetvalue(r, 0, 13));
    copy(u->name, sizeof u->name, PQgetvalue(r, 0, 14));
    copy(u->email, sizeof u->email, PQgetvalue(r, 0, 15));
    u->email_login = is_true(r, 0, 16);
    u->token_expires = -1;
    copy(u->stage, sizeof u->stage, "active");
    copy(u->purpose, sizeof u->purpose, "portal");
}

static db_status find_with_password(db_conn *c, db_stmt *st, int n, const char *const *p,
                                    db_auth_user *out, bool *found)
{
    PGresult *r = NULL;
    db_status s = db_exec(c, st, n, p, &r);
    *found = false;
    if (s == DB_OK && PQntuples(r) == 1) {
        fill_user(r, out);
        copy(out->password_hash, sizeof out->password_hash, PQgetvalue(r, 0, N_USER_COLS));
        out->via_alt = is_true(r, 0, N_USER_COLS + 1);
        *found = true;
    }
    PQclear(r);
    return s;
}

db_status db_auth_find_login(db_conn *c, const char *account, const char *user, const char *ip,
                             db_auth_user *out, bool *found)
{
    const char *p[] = {account, user, ip};
    return find_with_password(c, &st_find_login, 3, p, out, found);
}

db_status db_auth_find_email_login(db_conn *c, const char *email, const char *ip,
                                   db_auth_user *out, bool *found)
{
    const char *p[] = {email, ip};
    return find_with_password(c, &st_find_email_login, 2, p, out, found);
}

db_status db_auth_find_user(db_conn *c, long long account_id, long long user_id, const char *ip,
                            db_auth_user *out, bool *found)
{
    char a[24], u[24];
    const char *p[] = {a, u, ip};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    return find_with_password(c, &st_find_user, 3, p, out, found);
}

db_status db_auth_session_insert(db_conn *c, long long account_id, long long user_id,
                                 const unsigned char *token_hash, const unsigned char *csrf_hash,
                                 const char *stage, const char *purpose, int64_t now,
                                 int64_t ttl_s, const char *ip, const char *user_agent,
                                 long long *session_id)
{
    char a[24], u[24], th[72], ch[72], n[24], ttl[24], ua[513];
    const char *p[] = {a, u, th, ch, stage, purpose, n, ttl, ip, ua};
    PGresult *r = NULL;
    db_status s;
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    auth_bytea_hex(csrf_hash, AUTH_SHA256_BYTES, ch);
    snprintf(n, sizeof n, "%lld", (long long)now);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_s);
    /* Kept for the user's session list; cut to the column's limit on a
     * character boundary. */
    copy(ua, sizeof ua, user_agent);
    if (strlen(ua) == sizeof ua - 1) {
        size_t len = strlen(ua);
        while (len > 0 && ((unsigned char)ua[len - 1] & 0xC0) == 0x80) {
            len--;
        }
        if (len > 0 && ((unsigned char)ua[len - 1] & 0x80)) {
            len--;
        }
        ua[len] = '\0';
    }
    s = db_exec(c, &st_session_insert, 10, p, &r);
    if (s == DB_OK) {
        *session_id = PQntuples(r) == 1 ? as_ll(r, 0, 0) : 0;
    }
    PQclear(r);
    return s;
}

db_status db_auth_session_get(db_conn *c, const unsigned char *token_hash, int64_t now,
                              const char *ip, db_auth_user *out, bool *found)
{
    char th[72], n[24], idle[24], touch[24];
    const char *p[] = {th, n, ip, idle, touch};
    PGresult *r = NULL;
    db_status s;
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    snprintf(n, sizeof n, "%lld", (long long)now);
    snprintf(idle, sizeof idle, "%d", AUTH_IDLE_TIMEOUT_S);
    snprintf(touch, sizeof touch, "%d", AUTH_TOUCH_EVERY_S);
    *found = false;
    s = db_exec(c, &st_session_get, 5, p, &r);
    if (s == DB_OK && PQntuples(r) == 1) {
        fill_user(r, out);
        out->session_id = as_ll(r, 0, N_USER_COLS);
        copy(out->stage, sizeof out->stage, PQgetvalue(r, 0, N_USER_COLS + 1));
        copy(out->purpose, sizeof out->purpose, PQgetvalue(r, 0, N_USER_COLS + 2));
        /* A8: a view-only session ends with its link, also for a remembered
         * identity (token_expires is checked on every request). */
        out->view_only = is_true(r, 0, N_USER_COLS + 3);
        out->token_expires = as_ll(r, 0, N_USER_COLS + 4);
        *found = true;
    }
    PQclear(r);
    return s;
}

static db_status exec_ids(db_conn *c, db_stmt *st, long long a_id, long long b_id,
                          const char *third, PGresult **out)
{
    char a[24], b[24];
    const char *p[] = {a, b, third};
    snprintf(a, sizeof a, "%lld", a_id);
    snprintf(b, sizeof b, "%lld", b_id);
    return db_exec(c, st, third ? 3 : 2, p, out);
}

db_status db_auth_session_delete(db_conn *c, long long account_id, long long session_id)
{
    return exec_ids(c, &st_session_delete, account_id, session_id, NULL, NULL);
}

db_status db_auth_sessions_delete_user(db_conn *c, long long account_id, long long user_id,
                                       long long keep_id, long long *n_deleted)
{
    char a[24], u[24], k[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(keep_id, k)};
    return db_q_exec(c, &st_sessions_delete_user, 3, p, n_deleted);
}

db_status db_auth_session_delete_own(db_conn *c, long long account_id, long long user_id,
                                     long long session_id, bool *found)
{
    char a[24], u[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(session_id, i)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_session_delete_own, 3, p, &n);
    *found = n > 0;
    return st;
}

/* A statement of the user's rows with "current_id" and "now" as $3, $4. */
static db_status own_rows_json(db_conn *c, db_stmt *st, long long account_id,
                               long long user_id, long long current_id, int64_t now,
                               char **json)
{
    char a[24], u[24], i[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(current_id, i),
                       db_ll((long long)now, n)};
    return db_q_text(c, st, 4, p, json);
}

db_status db_auth_sessions_json(db_conn *c, long long account_id, long long user_id,
                                long long current_id, int64_t now, char **json)
{
    return own_rows_json(c, &st_sessions_json, account_id, user_id, current_id, now, json);
}

db_status db_auth_tokens_json(db_conn *c, long long account_id, long long user_id,
                              long long current_id, int64_t now, char **json)
{
    return own_rows_json(c, &st_tokens_json, account_id, user_id, current_id, now, json);
}

db_status db_auth_token_revoke(db_conn *c, long long account_id, long long user_id,
                               long long token_id, int64_t now, bool *found)
{
    char a[24], u[24], i[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(token_id, i),
                       db_ll((long long)now, n)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_token_revoke, 4, p, &changed);
    *found = changed > 0;
    return st;
}

db_status db_auth_token_rename(db_conn *c, long long account_id, long long user_id,
                               long long token_id, const char *name, int64_t now, bool *found)
{
    char a[24], u[24], i[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(token_id, i), name,
                       db_ll((long long)now, n)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_token_rename, 5, p, &changed);
    *found = changed > 0;
    return st;
}

db_status db_auth_tokens_revoke_user(db_conn *c, long long account_id, long long user_id,
                                     int64_t now, long long *n_revoked)
{
    char a[24], u[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll((long long)now, n)};
    return db_q_exec(c, &st_tokens_revoke_user, 3, p, n_revoked);
}

db_status db_auth_throttle_check(db_conn *c, const char *key1, const char *key2, int64_t now,
                                 int64_t *locked_until)
{
    char n[24];
    const char *p[] = {key1, key2, n};
    PGresult *r = NULL;
    db_status s;
    snprintf(n, sizeof n, "%lld", (long long)now);
    *locked_until = 0;
    s = db_exec(c, &st_throttle_check, 3, p, &r);
    if (s == DB_OK && PQntuples(r) == 1) {
        *locked_until = as_ll(r, 0, 0);
    }
    PQclear(r);
    return s;
}

db_status db_auth_throttle_fail(db_conn *c, const char *key, int64_t now, int *failures)
{
    char n[24];
    const char *p[] = {key, n};
    PGresult *r = NULL;
    db_status s;
    snprintf(n, sizeof n, "%lld", (long long)now);
    *failures = 0;
    s = db_exec(c, &st_throttle_fail, 2, p, &r);
    if (s == DB_OK && PQntuples(r) == 1) {
        *failures = (int)as_ll(r, 0, 0);
    }
    PQclear(r);
    return s;
}

db_status db_auth_throttle_lock(db_conn *c, const char *key, int64_t until)
{
    char n[24];
    const char *p[] = {key, n};
    snprintf(n, sizeof n, "%lld", (long long)until);
    return db_exec(c, &st_throttle_lock, 2, p, NULL);
}

db_status db_auth_throttle_clear(db_conn *c, const char *key)
{
    const char *p[] = {key};
    return db_exec(c, &st_throttle_clear, 1, p, NULL);
}

db_status db_auth_user_logged_in(db_conn *c, long long account_id, long long user_id,
                                 int64_t now)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)now);
    return exec_ids(c, &st_user_logged_in, account_id, user_id, n, NULL);
}

db_status db_auth_token_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char *token_hash, int64_t now, int64_t expires,
                               long long *token_id)
{
    char a[24], u[24], th[72], n[24], e[24];
    const char *p[] = {a, u, th, n, e};
    PGresult *r = NULL;
    db_status s;
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    snprintf(n, sizeof n, "%lld", (long long)now);
    snprintf(e, sizeof e, "%lld", (long long)expires);
    s = db_exec(c, &st_token_insert, 5, p, &r);
    if (s == DB_OK) {
        *token_id = PQntuples(r) == 1 ? as_ll(r, 0, 0) : 0;
    }
    PQclear(r);
    return s;
}

db_status db_auth_token_get(db_conn *c, const unsigned char *token_hash, int64_t now,
                            const char *ip, db_auth_user *out, bool *found)
{
    char th[72], n[24], touch[24];
    const char *p[] = {th, n, ip, touch};
    PGresult *r = NULL;
    db_status s;
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    snprintf(n, sizeof n, "%lld", (long long)now);
    snprintf(touch, sizeof touch, "%d", AUTH_TOUCH_EVERY_S);
    *found = false;
    s = db_exec(c, &st_token_get, 4, p, &r);
    if (s == DB_OK && PQntuples(r) == 1) {
        fill_user(r, out);
        out->session_id = as_ll(r, 0, N_USER_COLS);
        out->token_expires = as_ll(r, 0, N_USER_COLS + 1);
        *found = true;
    }
    PQclear(r);
    return s;
}

db_status db_auth_email_code_insert(db_conn *c, long long account_id, long long user_id,
                                    long long session_id, const unsigned char *code_hash,
                                    int64_t expires)
{
    char a[24], u[24], si[24], h[72], e[24];
    const char *p[] = {a, u, si, h, e};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    snprintf(si, sizeof si, "%lld", session_id);
    auth_bytea_hex(code_hash, AUTH_SHA256_BYTES, h);
    snprintf(e, sizeof e, "%lld", (long long)expires);
    return db_exec(c, &st_email_code_insert, 5, p, NULL);
}

db_status db_auth_email_code_get(db_conn *c, long long account_id, long long session_id,
                                 int64_t now, long long *code_id, unsigned char *code_hash,
                                 int *attempts, bool *found)
{
    char n[24];
    PGresult *r = NULL;
    db_status s;
    snprintf(n, sizeof n, "%lld", (long long)now);
    *found = false;
    s = exec_ids(c, &st_email_code_get, account_id, session_id, n, &r);
    if (s == DB_OK && PQntuples(r) == 1 &&
        auth_bytea_parse(PQgetvalue(r, 0, 1), code_hash, AUTH_SHA256_BYTES) ==
            AUTH_SHA256_BYTES) {
        *code_id = as_ll(r, 0, 0);
        *attempts = (int)as_ll(r, 0, 2);
        *found = true;
    }
    PQclear(r);
    return s;
}

db_status db_auth_email_code_attempt(db_conn *c, long long account_id, long long code_id)
{
    return exec_ids(c, &st_email_code_attempt, account_id, code_id, NULL, NULL);
}

db_status db_auth_email_code_use(db_conn *c, long long account_id, long long code_id,
                                 int64_t now)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)now);
    return exec_ids(c, &st_email_code_use, account_id, code_id, n, NULL);
}

db_status db_auth_totp_get(db_conn *c, long long account_id, long long user_id,
                           unsigned char *secret, int *secret_len, unsigned char *pending,
                           int *pending_len, int64_t *last_step)
{
    PGresult *r = NULL;
    db_status s = exec_ids(c, &st_totp_get, account_id, user_id, NULL, &r);
    *secret_len = 0;
    *pending_len = 0;
    *last_step = -1;
    if (s == DB_OK && PQntuples(r) == 1) {
        if (!PQgetisnull(r, 0, 0)) {
            *secret_len = auth_bytea_parse(PQgetvalue(r, 0, 0), secret, 64);
        }
        if (!PQgetisnull(r, 0, 1)) {
            *pending_len = auth_bytea_parse(PQgetvalue(r, 0, 1), pending, 64);
        }
        *last_step = as_ll(r, 0, 2);
        if (*secret_len < 0 || *pending_len < 0) {
            *secret_len = *pending_len = 0;
            s = DB_ERROR;
        }
    }
    PQclear(r);
    return s;
}

db_status db_auth_totp_use_step(db_conn *c, long long account_id, long long user_id,
                                int64_t step, bool *taken)
{
    char st[24];
    PGresult *r = NULL;
    db_status s;
    snprintf(st, sizeof st, "%lld", (long long)step);
    s = exec_ids(c, &st_totp_use_step, account_id, user_id, st, &r);
    *taken = s == DB_OK && strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return s;
}

db_status db_auth_totp_set_pending(db_conn *c, long long account_id, long long user_id,
                                   const unsigned char *secret, int len)
{
    char h[2 * 64 + 3];
    if (len <= 0 || len > 64) {
        return DB_ERROR;
    }
    auth_bytea_hex(secret, (size_t)len, h);
    return exec_ids(c, &st_totp_set_pending, account_id, user_id, h, NULL);
}

db_status db_auth_totp_confirm(db_conn *c, long long account_id, long long user_id,
                               int64_t step)
{
    char st[24];
    snprintf(st, sizeof st, "%lld", (long long)step);
    return exec_ids(c, &st_totp_confirm, account_id, user_id, st, NULL);
}

db_status db_auth_set_two_step(db_conn *c, long long account_id, long long user_id,
                               const char *mode)
{
    return exec_ids(c, &st_set_two_step, account_id, user_id, mode, NULL);
}

db_status db_auth_set_password(db_conn *c, long long account_id, long long user_id,
                               const char *hash, int64_t now)
{
    char a[24], u[24], n[24];
    const char *p[] = {a, u, hash, n};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    snprintf(n, sizeof n, "%lld", (long long)now);
    return db_exec(c, &st_set_password, 4, p, NULL);
}

db_status db_auth_reset_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char *token_hash, int64_t now, int64_t expires)
{
    char a[24], u[24], th[72], n[24], e[24];
    const char *p[] = {a, u, th, n, e};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", user_id);
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    snprintf(n, sizeof n, "%lld", (long long)now);
    snprintf(e, sizeof e, "%lld", (long long)expires);
    return db_exec(c, &st_reset_insert, 5, p, NULL);
}

db_status db_auth_reset_drop_unused(db_conn *c, long long account_id, long long user_id)
{
    /* The user's row lock first, in a statement of its own: two requests
     * of one user take turns, and the second one's DELETE (a new snapshot)
     * sees the link the first one committed. */
    db_status st = exec_ids(c, &st_reset_lock_user, account_id, user_id, NULL, NULL);
    return st == DB_OK ? exec_ids(c, &st_reset_drop_unused, account_id, user_id, NULL, NULL)
                       : st;
}

db_status db_auth_reset_take(db_conn *c, const unsigned char *token_hash, int64_t now,
                             long long *account_id, long long *user_id, bool *found)
{
    char th[72], n[24];
    const char *p[] = {th, n};
    PGresult *r = NULL;
    db_status s;
    auth_bytea_hex(token_hash, AUTH_SHA256_BYTES, th);
    snprintf(n, sizeof n, "%lld", (long long)now);
    *found = false;
    s = db_exec(c, &st_reset_take, 2, p, &r);
    if (s == DB_OK && PQntuples(r) == 1) {
        *account_id = as_ll(r, 0, 0);
        *user_id = as_ll(r, 0, 1);
        *found = true;
    }
    PQclear(r);
    return s;
}

db_status db_auth_ip_list_get(db_conn *c, long long account_id, char *out, size_t cap)
{
    char a[24];
    const char *p[] = {a};
    PGresult *r = NULL;
    db_status s;
    snprintf(a, sizeof a, "%lld", account_id);
    s = db_exec(c, &st_ip_list_get, 1, p, &r);
    copy(out, cap, "[]");
    if (s == DB_OK && PQntuples(r) == 1) {
        if (strlen(PQgetvalue(r, 0, 0)) >= cap) {
            s = DB_ERROR;
        } else {
            copy(out, cap, PQgetvalue(r, 0, 0));
        }
    }
    PQclear(r);
    return s;
}

db_status db_auth_ip_list_set(db_conn *c, long long account_id, const char *json)
{
    char a[24];
    const char *p[] = {a, json};
    snprintf(a, sizeof a, "%lld", account_id);
    return db_exec(c, &st_ip_list_set, 2, p, NULL);
}

/* ------------------------------------------------------------- sweeps */

static db_stmt st_sweep_sessions = {"auth_sweep_sessions",
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
    " WHERE idle_expires_at <= to_timestamp($1) LIMIT $2)", 0};
static db_stmt st_sweep_email_codes = {"auth_sweep_email_codes",
    "DELETE FROM email_codes WHERE id IN (SELECT id FROM email_codes "
    " WHERE expires_at <= to_timestamp($1) LIMIT $2)", 0};
static db_stmt st_sweep_resets = {"auth_sweep_resets",
    "DELETE FROM password_resets WHERE id IN (SELECT id FROM password_resets "
    " WHERE expires_at <= to_timestamp($1) LIMIT $2)", 0};
static db_stmt st_sweep_tokens = {"auth_sweep_tokens",
    "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens "
    " WHERE expires_at <= to_timestamp($1) OR revoked_at <= to_timestamp($1) LIMIT $2)", 0};
static db_stmt st_sweep_throttle = {"auth_sweep_throttle",
    "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle "
    " WHERE window_start <= to_timestamp($1::bigint - $3::int) "
    " AND (locked_until IS NULL OR locked_until <= to_timestamp($1)) LIMIT $2)", 0};

static db_status sweep(db_conn *c, db_stmt *st, int64_t now, int limit, const char *extra,
                       long long *n)
{
    char t[24], l[24];
    const char *p[] = {db_ll((long long)now, t), db_ll(limit, l), extra};
    return db_q_exec(c, st, extra != NULL ? 3 : 2, p, n);
}

db_status db_auth_sweep_sessions(db_conn *c, int64_t now, int limit, long long *n)
{
    return sweep(c, &st_sweep_sessions, now, limit, NULL, n);
}

db_status db_auth_sweep_email_codes(db_conn *c, int64_t now, int limit, long long *n)
{
    return sweep(c, &st_sweep_email_codes, now, limit, NULL, n);
}

db_status db_auth_sweep_resets(db_conn *c, int64_t now, int limit, long long *n)
{
    return sweep(c, &st_sweep_resets, now, limit, NULL, n);
}

db_status db_auth_sweep_tokens(db_conn *c, int64_t now, int limit, long long *n)
{
    return sweep(c, &st_sweep_tokens, now, limit, NULL, n);
}

db_status db_auth_sweep_throttle(db_conn *c, int64_t now, int window_s, int limit,
                                 long long *n)
{
    char w[24];
    return sweep(c, &st_sweep_throttle, now, limit, db_ll(window_s, w), n);
}

static db_stmt st_audit_insert = {"audit_insert",
    "INSERT INTO audit_log (account_id, at, actor_kind, user_id, actor_login, action, "
    " target_type, target_id, ip, detail, app_id) "
    "VALUES ($1, to_timestamp($2), $3, $4, "
    " coalesce(CASE WHEN $10::bigint IS NULL "
    "  THEN (SELECT login_id FROM users WHERE account_id = $1 AND id = $4) "
    "  ELSE (SELECT left(name, 100) FROM apps WHERE account_id = $1 AND id = $10) END, ''), "
    " $5, $6, $7, $8::inet, $9::jsonb, $10)",
    0};

/* The list's statements: the same columns and filters, each reading the
 * account's entries newest first by another index, so that a filter by
 * action or by actor is not checked against every newer entry. $2 is the
 * keyset ("id < before"; a filter's statement has LLONG_MAX for the first
 * page). A filter's key (migration 077: the action's area, the actor kind)
 * is asked for as
 * "key >= $10 AND (key, id) < ($10, $2)" and the rows ordered by (key, id):
 * the same rows as "key = $10 AND id < $2" by id, but an order only the
 * key's index gives and a place in it to start from, so that no plan walks
 * the primary key (every account's entries) filtering instead, as the
 * generic plan of "key = $10" did (its key thought to match 1 entry in 3).
 * The actor kind as listed counts an entry of a server of before 076 (the
 * system's with {"app_id"}) as the app's: index audit_log_account_actor's
 * expression. */
#define AUDIT_KIND_SQL \
    "(CASE WHEN actor_kind = 'system' AND jsonb_typeof(detail->'app_id') = 'number' " \
    " THEN 'app' ELSE actor_kind END)"
#define AUDIT_AREA_SQL "split_part(action, '.', 1)"
#define AUDIT_SELECT_SQL \
    "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), actor_kind, " \
    " user_id, app_id, actor_login, action, target_type, target_id, host(ip), detail::text " \
    "FROM audit_log WHERE account_id = $1 AND "
#define AUDIT_LIST_SQL(keyset, order) \
    AUDIT_SELECT_SQL keyset \
    " AND ($4::bigint IS NULL OR user_id = $4) " \
    " AND ($5::text IS NULL OR action = $5 OR (right($5, 1) = '.' AND starts_with(action, $5))) " \
    " AND ($6::bigint IS NULL OR at >= to_timestamp($6::double precision / 1e6)) " \
    " AND ($7::bigint IS NULL OR at < to_timestamp($7::double precision / 1e6)) " \
    " AND ($8::text IS NULL OR $8 = " AUDIT_KIND_SQL ") " \
    " AND ($9::bigint IS NULL OR $9 = coalesce(app_id, CASE WHEN actor_kind = 'system' " \
    "  AND jsonb_typeof(detail->'app_id') = 'number' THEN (detail->>'app_id')::bigint END)) " \
    "ORDER BY " order " LIMIT $3"
#define AUDIT_KEYSET_SQL(key) key " >= $10 AND (" key ", id) < ($10, $2)"

/* Without a filter by action or actor: the statement of before 077 ($2 0
 * for the first page). */
static db_stmt st_audit_list = {"audit_list",
    AUDIT_LIST_SQL("($2::bigint = 0 OR id < $2)", "id DESC"), 0};
/* By action: $10 the area (the part before the first '.') of the action or
 * start asked for, index audit_log_account_area. */
static db_stmt st_audit_list_area = {"audit_list_area",
    AUDIT_LIST_SQL(AUDIT_KEYSET_SQL(AUDIT_AREA_SQL), AUDIT_AREA_SQL " DESC, id DESC"), 0};
/* By actor kind or app: $10 the kind (app for an app), index
 * audit_log_account_actor. */
static db_stmt st_audit_list_actor = {"audit_list_actor",
    AUDIT_LIST_SQL(AUDIT_KEYSET_SQL(AUDIT_KIND_SQL), AUDIT_KIND_SQL " DESC, id DESC"), 0};
/* By person (no action): $4 the user, $5 from, $6 to, $7 the actor kind
 * (user or api_token: a person's entry is of one of them, as stored), index
 * audit_log_account_user (migration 078, partial: user_id NOT NULL, which
 * "user_id >= $4" implies). Only the filters that can go with it: with
 * the others' "$n IS NULL OR ..." the generic plan guessed 2 entries of
 * 200,000 and was as likely to read all the person's entries and sort
 * them as to read a page in order; with these it guesses hundreds, and the
 * page's order from the index wins. */
static db_stmt st_audit_list_user = {"audit_list_user",
    AUDIT_SELECT_SQL "user_id >= $4 AND (user_id, id) < ($4, $2) "
    " AND ($5::bigint IS NULL OR at >= to_timestamp($5::double precision / 1e6)) "
    " AND ($6::bigint IS NULL OR at < to_timestamp($6::double precision / 1e6)) "
    " AND ($7::text IS NULL OR actor_kind = $7) "
    "ORDER BY user_id DESC, id DESC LIMIT $3", 0};
/* By time alone (from, to; no other filter): $4 from, $5 to (NULL = open),
 * the account's entries of the range in time order, newest first (at DESC,
 * id DESC: the entries of one second by id), by index
 * audit_log_account_at_id (account_id, at, id; migration 078). The keyset
 * "before" (LLONG_MAX for the first page) stands for the entry of that id:
 * the page goes on after it in this order, "(at, id) < (its at, before)";
 * an id that is no entry of the account gives no entries. That bound and
 * "at < to" are one row comparison, "(at, id) < (least(its at, to), CASE
 * WHEN to <= its at THEN 0 ELSE before END)" (ids are positive), so that a
 * backward scan of the index starts at the page's first entry: with two
 * upper bounds, one of them a row comparison, PostgreSQL starts at the
 * looser one and steps over every entry between (500 index pages for "to"
 * half-way back in 200,000 entries). "at >= from" is where the scan stops.
 * No other condition: the range is all the generic plan has to guess, so
 * that it too reads the index in order and stops after a page (with the
 * other filters' "$n IS NULL OR ..." it guessed a handful of entries and
 * sorted the whole range instead). */
#define AUDIT_BEFORE_AT_SQL \
    "(CASE WHEN $2 = 9223372036854775807 THEN 'infinity'::timestamptz " \
    " ELSE coalesce((SELECT b.at FROM audit_log b WHERE b.account_id = $1 AND b.id = $2), " \
    "  '-infinity') END)"
#define AUDIT_TO_AT_SQL "coalesce(to_timestamp($5::double precision / 1e6), 'infinity')"
static db_stmt st_audit_list_time = {"audit_list_time",
    AUDIT_SELECT_SQL "at >= coalesce(to_timestamp($4::double precision / 1e6), '-infinity') "
    " AND (at, id) < (least(" AUDIT_BEFORE_AT_SQL ", " AUDIT_TO_AT_SQL "), "
    "  CASE WHEN " AUDIT_TO_AT_SQL " <= " AUDIT_BEFORE_AT_SQL " THEN 0 ELSE $2 END) "
    "ORDER BY at DESC, id DESC LIMIT $3", 0};

static db_stmt st_test_account = {"auth_test_account",
    "INSERT INTO accounts (login_id, alt_login_id, name, plan, licence_term_months, "
    " licence_expires_at, trial_expires_at) "
    "VALUES ($1, $2, $3, $4, CASE WHEN $4 IN ('standard', 'pro') THEN 12 END, "
    " CASE WHEN $4 IN ('standard', 'pro') THEN to_timestamp($5) END, "
    " CASE WHEN $4 = 'trial' THEN to_timestamp($6) END) RETURNING id",
    0};

static db_stmt st_test_user = {"auth_test_user",
    "INSERT INTO users (account_id, login_id, name, email, email_login, role, file_access, "
    " password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    0};

db_status db_audit_insert(db_conn *c, long long account_id, int64_t at, const char *actor_kind,
                          long long user_id, long long app_id, const char *action,
                          const char *target_type, long long target_id, const char *ip,
                          const char *detail_json)
{
    char a[24], t[24], u[24], tid[24], ap[24];
    const char *p[] = {a, t, actor_kind, user_id > 0 ? u : NULL, action, target_type,
                       target_id > 0 ? tid : NULL, ip, detail_json ? detail_json : "{}",
                       app_id > 0 ? ap : NULL};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(t, sizeof t, "%lld", (long long)at);
    snprintf(u, sizeof u, "%lld", user_id);
    snprintf(tid, sizeof tid, "%lld", target_id);
    snprintf(ap, sizeof ap, "%lld", app_id);
    return db_exec(c, &st_audit_insert, 10, p, NULL);
}

static const db_field audit_fields[] = {
    {DBF_I64, offsetof(db_audit_entry, id)},
    {DBF_STR, offsetof(db_audit_entry, at)},
    {DBF_STR, offsetof(db_audit_entry, actor_kind)},
    {DBF_I64, offsetof(db_audit_entry, user_id)},
    {DBF_I64, offsetof(db_audit_entry, app_id)},
    {DBF_STR, offsetof(db_audit_entry, actor_login)},
    {DBF_STR, offsetof(db_audit_entry, action)},
    {DBF_STR, offsetof(db_audit_entry, target_type)},
    {DBF_I64, offsetof(db_audit_entry, target_id)},
    {DBF_STR, offsetof(db_audit_entry, ip)},
    {DBF_STR, offsetof(db_audit_entry, detail)},
};
#define N_AUDIT_FIELDS ((int)(sizeof audit_fields / sizeof audit_fields[0]))

db_status db_audit_list(db_conn *c, long long account_id, const db_audit_filter *f, int limit,
                        db_audit_entry **out, int *n)
{
    char a[24], b[24], l[24], u[24], fr[24], to[24], ap[24], area[72];
    const char *p[] = {a, b, l, f->user_id > 0 ? u : NULL, f->action,
                       f->from_us >= 0 ? fr : NULL, f->to_us >= 0 ? to : NULL,
                       f->actor_kind, f->app_id > 0 ? ap : NULL, NULL};
    db_stmt *st = &st_audit_list;
    /* One index read, by the first filter given of: action, person, actor
     * kind or app, time; the others are checked on the entries it gives. */
    if (f->action != NULL) {
        /* An action, or a start of one ending with '.': one area. An
         * action longer than the column allows matches nothing either
         * way. */
        size_t k = strcspn(f->action, ".");
        if (k >= sizeof area)
            k = sizeof area - 1;
        memcpy(area, f->action, k);
        area[k] = '\0';
        p[9] = area;
        st = &st_audit_list_area;
    } else if (f->user_id > 0) {
        if (f->app_id > 0 || (f->actor_kind != NULL && strcmp(f->actor_kind, "user") != 0 &&
                              strcmp(f->actor_kind, "api_token") != 0)) {
            /* A person's entry has no app and is of kind user or api_token. */
            *out = NULL;
            *n = 0;
            return DB_OK;
        }
        st = &st_audit_list_user;
    } else if (f->actor_kind != NULL || f->app_id > 0) {
        p[9] = f->actor_kind != NULL ? f->actor_kind : "app";
        st = &st_audit_list_actor;
    } else if (f->from_us >= 0 || f->to_us >= 0) {
        st = &st_audit_list_time;
    }
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(b, sizeof b, "%lld",
             f->before > 0 || st == &st_audit_list ? f->before : LLONG_MAX);
    snprintf(l, sizeof l, "%d", limit);
    snprintf(u, sizeof u, "%lld", f->user_id);
    snprintf(fr, sizeof fr, "%lld", f->from_us);
    snprintf(to, sizeof to, "%lld", f->to_us);
    snprintf(ap, sizeof ap, "%lld", f->app_id);
    int n_params = p[9] != NULL ? 10 : 9;
    if (st == &st_audit_list_user) {
        /* $1 account, $2 before, $3 limit, $4 user, $5 from, $6 to, $7 kind. */
        p[4] = p[5];
        p[5] = p[6];
        p[6] = f->actor_kind;
        n_params = 7;
    } else if (st == &st_audit_list_time) {
        /* $1 account, $2 before, $3 limit, $4 from, $5 to. */
        p[3] = p[5];
        p[4] = p[6];
        n_params = 5;
    }
    return db_exec_rows(c, st, n_params, p, audit_fields, N_AUDIT_FIELDS, sizeof **out,
                        (void **)out, n);
}

/* The names of a page's targets ($2 their kinds, $3 their ids; '' and 0
 * for none), in the page's order: one scalar read by primary key per entry
 * of a kind that has a name, of the account $1 only; NULL when that item
 * is gone, '' when it has no name or its kind none (a session, an inquiry
 * ...). An instrument without a name is its model and serial, a recipient
 * without one its address (a destination's address may hold a secret: its
 * name or nothing). */
#define AUDIT_NAME_SQL(table, col) \
    "(SELECT " col " FROM " table " x WHERE x.account_id = $1 AND x.id = t.id)"
static db_stmt st_audit_target_names = {"audit_target_names",
    "SELECT CASE t.ty "
    " WHEN 'user' THEN " AUDIT_NAME_SQL("users", "name")
    " WHEN 'team' THEN " AUDIT_NAME_SQL("teams", "name")
    " WHEN 'group' THEN " AUDIT_NAME_SQL("measurement_groups", "name")
    " WHEN 'app' THEN " AUDIT_NAME_SQL("apps", "name")
    " WHEN 'device' THEN " AUDIT_NAME_SQL("devices", "coalesce(nullif(name, ''), model || ' ' || serial)")
    " WHEN 'channel' THEN " AUDIT_NAME_SQL("channels", "name")
    " WHEN 'dashboard' THEN " AUDIT_NAME_SQL("dashboards", "name")
    " WHEN 'recipient' THEN " AUDIT_NAME_SQL("system_notification_recipients", "coalesce(nullif(name, ''), address)")
    " WHEN 'destination' THEN " AUDIT_NAME_SQL("notify_destinations", "name")
    " WHEN 'api_token' THEN " AUDIT_NAME_SQL("api_tokens", "name")
    " WHEN 'report' THEN " AUDIT_NAME_SQL("report_settings", "name")
    " WHEN 'alarm' THEN " AUDIT_NAME_SQL("alarm_rules", "name")
    " WHEN 'drive_file' THEN " AUDIT_NAME_SQL("drive_items", "name")
    " WHEN 'drive_folder' THEN " AUDIT_NAME_SQL("drive_items", "name")
    " WHEN 'file' THEN " AUDIT_NAME_SQL("drive_items", "name")
    " WHEN 'battery_profile' THEN " AUDIT_NAME_SQL("app_files", "name")
    " WHEN 'battery_threshold' THEN " AUDIT_NAME_SQL("app_files", "name")
    " WHEN 'photo_template' THEN " AUDIT_NAME_SQL("app_files", "name")
    " WHEN 'equipment_list' THEN " AUDIT_NAME_SQL("equipment_lists", "name")
    " WHEN 'account' THEN (SELECT x.name FROM accounts x WHERE x.id = $1 AND x.id = t.id) "
    " ELSE '' END "
    "FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS t(ty, id, i) ORDER BY t.i",
    0};

db_status db_audit_target_names(db_conn *c, long long account_id, db_audit_entry *rows, int n)
{
    const char **types;
    char a[24], *ty = NULL, *ids = NULL;
    PGresult *r = NULL;
    db_status st = DB_ERROR;
    size_t len = 1;
    if (n <= 0) {
        return DB_OK;
    }
    if ((types = calloc((size_t)n, sizeof *types)) == NULL ||
        (ids = malloc((size_t)n * 21 + 3)) == NULL) {
        goto out;
    }
    ids[0] = '{';
    for (int i = 0; i < n; i++) {
        types[i] = rows[i].target_type != NULL && rows[i].target_id > 0 ? rows[i].target_type : "";
        len += (size_t)snprintf(ids + len, 22, "%s%lld", i > 0 ? "," : "",
                                types[i][0] != '\0' ? rows[i].target_id : 0LL);
    }
    ids[len++] = '}';
    ids[len] = '\0';
    if ((ty = db_text_array((const char *const *)types, (size_t)n)) == NULL) {
        goto out;
    }
    {
        const char *p[] = {a, ty, ids};
        snprintf(a, sizeof a, "%lld", account_id);
        st = db_exec(c, &st_audit_target_names, 3, p, &r);
    }
    if (st == DB_OK && PQntuples(r) == n) {
        for (int i = 0; i < n; i++) {
            const char *v = PQgetvalue(r, i, 0);
            free(rows[i].target_name);
            rows[i].target_name = NULL;
            rows[i].target_gone = types[i][0] != '\0' && PQgetisnull(r, i, 0);
            if (!PQgetisnull(r, i, 0) && v[0] != '\0' &&
                (rows[i].target_name = strdup(v)) == NULL) {
                st = DB_ERROR;
                break;
            }
        }
    } else if (st == DB_OK) {
        st = DB_ERROR;
    }
out:
    PQclear(r);
    free(ty);
    free(ids);
    free(types);
    return st;
}

void db_audit_entries_free(db_audit_entry *rows, int n)
{
    for (int i = 0; rows != NULL && i < n; i++) {
        free(rows[i].target_name);
        rows[i].target_name = NULL;
    }
    db_rows_free(rows, n, audit_fields, N_AUDIT_FIELDS, sizeof *rows);
}

db_status db_auth_test_account(db_conn *c, const char *login_id, const char *alt_login_id,
                               const char *name, const char *plan, int64_t licence_expires,
                               int64_t trial_expires, long long *account_id)
{
    char le[24], te[24];
    const char *p[] = {login_id, alt_login_id, name, plan, le, te};
    PGresult *r = NULL;
    db_status s;
    snprintf(le, sizeof le, "%lld", (long long)licence_expires);
    snprintf(te, sizeof te, "%lld", (long long)trial_expires);
    s = db_exec(c, &st_test_account, 6, p, &r);
    if (s == DB_OK) {
        *account_id = PQntuples(r) == 1 ? as_ll(r, 0, 0) : 0;
    }
    PQclear(r);
    return s;
}

db_status db_auth_test_user(db_conn *c, long long account_id, const char *login_id,
                            const char *name, const char *email, bool email_login,
                            const char *role, const char *file_access, const char *password_hash,
                            long long *user_id)
{
    char a[24];
    const char *p[] = {a, login_id, name, email, email_login ? "true" : "false", role,
                       file_access, password_hash};
    PGresult *r = NULL;
    db_status s;
    snprintf(a, sizeof a, "%lld", account_id);
    s = db_exec(c, &st_test_user, 8, p, &r);
    if (s == DB_OK) {
        *user_id = PQntuples(r) == 1 ? as_ll(r, 0, 0) : 0;
    }
    PQclear(r);
    return s;
}
