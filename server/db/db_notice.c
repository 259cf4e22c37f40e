/* Storage of the server's own notices (see db_notice.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_notice.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"
#include "db_storage.h"

static long long col_ll(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static void copy_col(const PGresult *res, int row, int col, char *buf, size_t cap)
{
    const char *v = PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
    size_t n = strlen(v);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80) {
            n--;
        }
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
}

/* ------------------------------------------------------------- no data */

static db_stmt st_nodata = {"notice_nodata",
    "SELECT r.account_id, r.group_id, r.id, r.ch1_id, r.no_data_minutes, "
    " greatest(COALESCE(s.last_data_t, 0), COALESCE(s.last_t, 0), COALESCE(l.t, 0)) AS since "
    "FROM alarm_rules r JOIN alarm_state s ON s.account_id = r.account_id AND s.rule_id = r.id "
    "LEFT JOIN channel_latest l ON l.channel_id = r.ch1_id "
    "WHERE r.kind = 'no_data' AND r.enabled AND NOT s.raised "
    " AND greatest(COALESCE(s.last_data_t, 0), COALESCE(s.last_t, 0), COALESCE(l.t, 0)) "
    "     <= $1::bigint - r.no_data_minutes * 60000000::bigint "
    "ORDER BY r.id LIMIT $2", 0};

db_status db_nodata_candidates(db_conn *c, int64_t now_us, db_nodata_rule *out, int cap, int *n)
{
    char now[24], lim[24];
    const char *p[] = {db_ll((long long)now_us, now), db_ll(cap, lim)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_nodata, 2, p, &res);
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    for (int r = 0; r < PQntuples(res) && r < cap; r++) {
        out[r].account_id = col_ll(res, r, 0);
        out[r].group_id = col_ll(res, r, 1);
        out[r].rule_id = col_ll(res, r, 2);
        out[r].ch = col_ll(res, r, 3);
        out[r].minutes = (int)col_ll(res, r, 4);
        out[r].since = col_ll(res, r, 5);
        (*n)++;
    }
    PQclear(res);
    return DB_OK;
}

/* ----------------------------------------------------------- repeats */

static db_stmt st_repeats = {"notice_repeats_due",
    "SELECT id, account_id FROM alarm_events "
    "WHERE next_repeat_at IS NOT NULL AND next_repeat_at <= to_timestamp($1::bigint / 1e6) "
    "ORDER BY next_repeat_at, id LIMIT $2 FOR UPDATE SKIP LOCKED", 0};

db_status db_repeats_due(db_conn *c, int64_t now_us, long long *ids, long long *accounts, int cap,
                         int *n)
{
    char now[24], lim[24];
    const char *p[] = {db_ll((long long)now_us, now), db_ll(cap, lim)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_repeats, 2, p, &res);
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    for (int r = 0; r < PQntuples(res) && r < cap; r++) {
        ids[r] = col_ll(res, r, 0);
        accounts[r] = col_ll(res, r, 1);
        (*n)++;
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_repeat_done = {"notice_repeat_done",
    "UPDATE alarm_events e SET repeats = e.repeats + 1, next_repeat_at = ("
    " SELECT CASE WHEN r.enabled AND r.repeat_minutes > 0 "
    "   THEN to_timestamp($3::bigint / 1e6) + r.repeat_minutes * interval '1 minute' END "
    " FROM alarm_rules r WHERE r.account_id = e.account_id AND r.id = e.rule_id) "
    "WHERE e.account_id = $1 AND e.id = $2 RETURNING e.repeats", 0};

db_status db_repeat_done(db_conn *c, long long account_id, long long id, int64_t now_us,
                         int *repeats)
{
    char a[24], i[24], now[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll((long long)now_us, now)};
    long long n = 0;
    db_status st = db_q_int(c, &st_repeat_done, 3, p, &n, NULL);
    *repeats = (int)n;
    return st;
}

/* ----------------------------------------------------------- S6 */

static db_stmt st_time_out = {"notice_apps_time_out",
    "WITH gone AS (UPDATE app_seen s SET connected = false, "
    "  disconnected_at = to_timestamp($1::bigint / 1e6), connection_cause = 'timeout' "
    " FROM apps p WHERE p.account_id = s.account_id AND p.id = s.app_id "
    "  AND s.connected AND s.last_seen_at IS NOT NULL "
    "  AND s.last_seen_at < to_timestamp($1::bigint / 1e6) - COALESCE((SELECT "
    "   g.disconnect_minutes FROM alarm_groups g WHERE g.account_id = p.account_id "
    "   AND g.group_id = p.group_id), 10) * interval '1 minute' RETURNING 1) "
    "SELECT count(*) FROM gone", 0};

db_status db_apps_time_out(db_conn *c, int64_t now_us, long long *n)
{
    char now[24];
    const char *p[] = {db_ll((long long)now_us, now)};
    return db_q_int(c, &st_time_out, 1, p, n, NULL);
}

static db_stmt st_changes = {"notice_app_changes",
    "SELECT p.account_id, p.id, COALESCE(p.group_id, 0), p.name, COALESCE(g.name, ''), "
    " e.connected, COALESCE(e.connection_cause, CASE WHEN e.connected THEN 'data' "
    "   ELSE 'timeout' END), "
    " to_char(COALESCE(CASE WHEN e.connected THEN e.connected_at ELSE e.last_seen_at END, "
    "   now()) AT TIME ZONE a.time_zone, 'YYYY-MM-DD HH24:MI:SS'), "
    " EXTRACT(EPOCH FROM (COALESCE(CASE WHEN e.connected THEN e.connected_at "
    "   ELSE e.last_seen_at END, now()) AT TIME ZONE a.time_zone) "
    "   - (COALESCE(CASE WHEN e.connected THEN e.connected_at ELSE e.last_seen_at END, "
    "   now()) AT TIME ZONE 'UTC'))::int, "
    " COALESCE(s.disconnect_minutes, 10), COALESCE(s.disconnect_notice, true), "
    " COALESCE(s.notice_language, ''), COALESCE(s.notice_destinations, '{}'), "
    " to_char(COALESCE(CASE WHEN e.connected THEN e.connected_at ELSE e.last_seen_at END, "
    "   now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM app_seen e JOIN apps p ON p.account_id = e.account_id AND p.id = e.app_id "
    "JOIN accounts a ON a.id = p.account_id "
    "LEFT JOIN measurement_groups g ON g.account_id = p.account_id AND g.id = p.group_id "
    "LEFT JOIN alarm_groups s ON s.account_id = p.account_id AND s.group_id = p.group_id "
    "WHERE e.connected IS DISTINCT FROM e.connection_seen "
    " AND NOT (e.connection_seen IS NULL AND NOT e.connected) "
    "ORDER BY e.account_id, e.app_id LIMIT $1 FOR UPDATE OF e SKIP LOCKED", 0};

/* Parse "{1,2}" into at most "cap" ids. */
static int parse_ids(const char *s, long long *out, int cap, int *n)
{
    *n = 0;
    if (*s++ != '{') {
        return -1;
    }
    while (*s != '}' && *s != '\0') {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || errno != 0 || *n == cap) {
            return -1;
        }
        out[(*n)++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

db_status db_app_changes(db_conn *c, int cap, db_app_change **out, int *n)
{
    char lim[24];
    const char *p[] = {db_ll(cap, lim)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_changes, 1, p, &res);
    int rows;
    *out = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    rows = PQntuples(res);
    if (rows > 0 && (*out = calloc((size_t)rows, sizeof **out)) == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        db_app_change *ch = &(*out)[r];
        ch->account_id = col_ll(res, r, 0);
        ch->app_id = col_ll(res, r, 1);
        ch->group_id = col_ll(res, r, 2);
        copy_col(res, r, 3, ch->app_name, sizeof ch->app_name);
        copy_col(res, r, 4, ch->group_name, sizeof ch->group_name);
        ch->connected = col_bool(res, r, 5);
        copy_col(res, r, 6, ch->cause, sizeof ch->cause);
        copy_col(res, r, 7, ch->local_time, sizeof ch->local_time);
        ch->utc_offset = (int)col_ll(res, r, 8);
        ch->minutes = (int)col_ll(res, r, 9);
        ch->notice = col_bool(res, r, 10);
        copy_col(res, r, 11, ch->language, sizeof ch->language);
        if (parse_ids(PQgetvalue(res, r, 12), ch->dest, 20, &ch->n_dest) != 0) {
            ch->n_dest = 0;
        }
        copy_col(res, r, 13, ch->at, sizeof ch->at);
    }
    *n = rows;
    PQclear(res);
    return DB_OK;
}

static db_stmt st_change_done = {"notice_app_change_done",
    "WITH ev AS (INSERT INTO app_connection_events (account_id, app_id, event, cause, at) "
    " SELECT p.account_id, p.id, CASE WHEN $3::boolean THEN 'connected' ELSE 'disconnected' END, "
    "  $4, COALESCE(CASE WHEN $3::boolean THEN e.connected_at ELSE e.disconnected_at END, now()) "
    " FROM apps p JOIN app_seen e ON e.account_id = p.account_id AND e.app_id = p.id "
    " WHERE p.account_id = $1 AND p.id = $2 RETURNING id), "
    "upd AS (UPDATE app_seen SET connection_seen = $3::boolean "
    " WHERE account_id = $1 AND app_id = $2) "
    "SELECT id FROM ev", 0};

db_status db_app_change_done(db_conn *c, const db_app_change *ch, long long *event_id)
{
    char a[24], i[24];
    const char *p[] = {db_ll(ch->account_id, a), db_ll(ch->app_id, i),
                       ch->connected ? "true" : "false", ch->cause};
    return db_q_int(c, &st_change_done, 4, p, event_id, NULL);
}

/* ----------------------------------------------------------- S7, S9 */

/* The days since 1970-01-01 of a UTC date: core's mt_day. */
#define MT_DAY_OF(x) "(((" x ") AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"

static db_stmt st_accounts = {"notice_accounts",
    "SELECT a.id, a.plan, " MT_DAY_OF("a.licence_expires_at") ", "
    " " DB_STORAGE_USED_SQL("a") ", "
    " EXISTS (SELECT 1 FROM server_notices n WHERE n.account_id = a.id AND n.key = 'storage_low'), "
    " a.name, a.language, a.subscriber_email, "
    " COALESCE(extract(epoch FROM a.over_quota_since)::bigint, -1) "
    "FROM accounts a "
    "WHERE a.id > $1 AND a.status = 'active' ORDER BY a.id LIMIT $2", 0};

db_status db_notice_accounts(db_conn *c, long long after, int cap, db_notice_account **out,
                             int *n)
{
    char af[24], lim[24];
    const char *p[] = {db_ll(after, af), db_ll(cap, lim)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_accounts, 2, p, &res);
    int rows;
    *out = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    rows = PQntuples(res);
    if (rows > 0 && (*out = calloc((size_t)rows, sizeof **out)) == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        db_notice_account *x = &(*out)[r];
        x->id = col_ll(res, r, 0);
        copy_col(res, r, 1, x->plan, sizeof x->plan);
        x->has_expiry = !PQgetisnull(res, r, 2);
        x->expiry = (mt_day)col_ll(res, r, 2);
        x->used = col_ll(res, r, 3);
        x->storage_low = col_bool(res, r, 4);
        copy_col(res, r, 5, x->name, sizeof x->name);
        copy_col(res, r, 6, x->language, sizeof x->language);
        copy_col(res, r, 7, x->subscriber_email, sizeof x->subscriber_email);
        x->over_since = col_ll(res, r, 8);
    }
    *n = rows;
    PQclear(res);
    return DB_OK;
}

static db_stmt st_claim = {"notice_claim",
    "INSERT INTO server_notices (account_id, key, created_at) VALUES ($1, $2, clock_timestamp()) "
    "ON CONFLICT DO NOTHING RETURNING (extract(epoch FROM created_at) * 1e6)::bigint", 0};
static db_stmt st_release = {"notice_release",
    "DELETE FROM server_notices WHERE account_id = $1 AND key = $2", 0};

db_status db_notice_claim(db_conn *c, long long account_id, const char *key, bool *fresh,
                          long long *stamp)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a), key};
    long long v = 0;
    db_status st = db_q_int(c, &st_claim, 2, p, &v, fresh);
    if (stamp != NULL) {
        *stamp = v;
    }
    return st;
}

db_status db_notice_release(db_conn *c, long long account_id, const char *key)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a), key};
    return db_q_exec(c, &st_release, 2, p, NULL);
}

/* ------------------------------------------------------------------ S8 */

static db_stmt st_over = {"notice_over_quota",
    "UPDATE accounts SET over_quota_since = CASE WHEN $2::bigint >= 0 "
    "  THEN to_timestamp($2::bigint) END WHERE id = $1", 0};

db_status db_notice_over_quota(db_conn *c, long long id, long long since_s)
{
    char a[24], t[24];
    const char *p[] = {db_ll(id, a), db_ll(since_s, t)};
    return db_q_exec(c, &st_over, 2, p, NULL);
}

static db_stmt st_delete_stored = {"notice_delete_stored",
    "WITH gone AS (SELECT mt_account_delete_stored($1) AS removed), "
    "ended AS (UPDATE accounts SET over_quota_since = NULL WHERE id = $1 RETURNING 1), "
    "rec AS (INSERT INTO storage_quota_deletions (account_id, over_since, deleted_at, "
    "    used_bytes, limit_bytes, freed_bytes, removed) "
    "  SELECT $1, to_timestamp($2::bigint), to_timestamp($3::bigint), $4, $5, "
    "    (g.removed->>'bytes')::bigint, g.removed FROM gone g RETURNING removed) "
    "SELECT (r.removed->>'bytes')::bigint, (r.removed->>'data_bytes')::bigint, "
    " (r.removed->>'drive_files')::bigint, (r.removed->>'report_files')::bigint, "
    " (r.removed->>'drive_bytes')::bigint, (r.removed->>'pictures')::bigint, "
    " (r.removed->>'picture_bytes')::bigint + 0 * (SELECT count(*) FROM ended), "
    " COALESCE((r.removed->>'app_files')::bigint, 0), "
    " COALESCE((r.removed->>'app_file_bytes')::bigint, 0) FROM rec r", 0};

static const db_field removed_fields[] = {
    {DBF_I64, offsetof(db_quota_removed, bytes)},
    {DBF_I64, offsetof(db_quota_removed, data_bytes)},
    {DBF_I64, offsetof(db_quota_removed, drive_files)},
    {DBF_I64, offsetof(db_quota_removed, report_files)},
    {DBF_I64, offsetof(db_quota_removed, drive_bytes)},
    {DBF_I64, offsetof(db_quota_removed, pictures)},
    {DBF_I64, offsetof(db_quota_removed, picture_bytes)},
    {DBF_I64, offsetof(db_quota_removed, app_files)},
    {DBF_I64, offsetof(db_quota_removed, app_file_bytes)},
};
#define N_REMOVED (int)(sizeof removed_fields / sizeof removed_fields[0])

db_status db_notice_delete_stored(db_conn *c, long long id, long long since_s, long long now_s,
                                  long long used, long long limit, db_quota_removed *out)
{
    char a[24], b[24], t[24], u[24], l[24];
    const char *p[] = {db_ll(id, a), db_ll(since_s, b), db_ll(now_s, t), db_ll(used, u),
                       db_ll(limit, l)};
    PGresult *res = NULL;
    db_quota_removed *rows = NULL;
    int n = 0;
    db_status st = db_exec(c, &st_delete_stored, 5, p, &res);
    memset(out, 0, sizeof *out);
    if (st == DB_OK) {
        st = db_rows_map(res, removed_fields, N_REMOVED, sizeof *rows, (void **)&rows, &n);
    }
    PQclear(res);
    if (st == DB_OK && n == 1) {
        *out = rows[0];
    } else if (st == DB_OK) {
        st = DB_ERROR;
    }
    db_rows_free(rows, n, removed_fields, N_REMOVED, sizeof *rows);
    return st;
}
