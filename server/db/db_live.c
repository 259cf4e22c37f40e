/* Storage of high-speed monitoring (see db_live.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "mt/types.h"

static db_stmt st_live_start = {"live_start",
    "INSERT INTO live_sessions (account_id, group_id, until, started_by) "
    "VALUES ($1, $2, to_timestamp($3::bigint / 1e6), $4) "
    "ON CONFLICT (account_id, group_id) DO UPDATE SET until = EXCLUDED.until, "
    "  started_by = EXCLUDED.started_by "
    "RETURNING (extract(epoch FROM until) * 1e6)::bigint", 0};
static db_stmt st_live_stop = {"live_stop",
    "DELETE FROM live_sessions WHERE account_id = $1 AND group_id = $2", 0};
static db_stmt st_live_until = {"live_until",
    "SELECT (extract(epoch FROM until) * 1e6)::bigint FROM live_sessions "
    "WHERE account_id = $1 AND group_id = $2 AND until > to_timestamp($3::bigint / 1e6)", 0};
static db_stmt st_live_app = {"live_app_until",
    "SELECT (extract(epoch FROM s.until) * 1e6)::bigint FROM apps p "
    "JOIN live_sessions s ON s.account_id = p.account_id AND s.group_id = p.group_id "
    "WHERE p.account_id = $1 AND p.id = $2 AND s.until > to_timestamp($3::bigint / 1e6)", 0};
static db_stmt st_live_put = {"live_put",
    "INSERT INTO live_samples (account_id, channel_id, t, v, special) "
    "SELECT $1, k.c, k.t, k.v, k.s "
    "FROM unnest($2::bigint[], $3::bigint[], $4::float8[], $5::smallint[]) AS k(c, t, v, s) "
    "ON CONFLICT (channel_id, t) DO UPDATE SET v = EXCLUDED.v, special = EXCLUDED.special", 0};
static db_stmt st_live_trim = {"live_trim",
    "DELETE FROM live_samples WHERE account_id = $1 AND t < $2", 0};
static db_stmt st_live_get = {"live_get",
    "SELECT l.channel_id, l.t, l.v, l.special FROM live_samples l "
    "JOIN channels c ON c.account_id = l.account_id AND c.id = l.channel_id "
    "JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE l.account_id = $1 AND p.group_id = $2 AND l.t >= $3 "
    "ORDER BY l.channel_id, l.t", 0};

db_status db_live_start(db_conn *c, long long account_id, long long group_id, long long until_us,
                        long long user_id, long long *until)
{
    char a[24], g[24], u[24], by[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), db_ll(until_us, u),
                       db_ll(user_id, by)};
    return db_q_int(c, &st_live_start, 4, p, until, NULL);
}

db_status db_live_stop(db_conn *c, long long account_id, long long group_id)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_exec(c, &st_live_stop, 2, p, NULL);
}

db_status db_live_until(db_conn *c, long long account_id, long long group_id, long long now_us,
                        long long *until, bool *active)
{
    char a[24], g[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), db_ll(now_us, n)};
    return db_q_int(c, &st_live_until, 3, p, until, active);
}

db_status db_live_app_until(db_conn *c, long long account_id, long long app_id,
                            long long now_us, long long *until, bool *active)
{
    char a[24], p2[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, p2), db_ll(now_us, n)};
    return db_q_int(c, &st_live_app, 3, p, until, active);
}

/* "{a,b,c}" text arrays of the records' columns for unnest(). */
static char *column_text(const ingest_rec *rec, size_t n, int col)
{
    size_t cap = 2 + n * 26, len = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    s[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        const ingest_rec *r = &rec[i];
        mt_sv kind = mt_sv_kind(r->v);
        const char *sep = i ? "," : "";
        if (col == 0) {
            len += (size_t)snprintf(s + len, cap - len, "%s%lld", sep, (long long)r->ch);
        } else if (col == 1) {
            len += (size_t)snprintf(s + len, cap - len, "%s%lld", sep, (long long)r->t);
        } else if (col == 2) {
            if (kind == MT_SV_NONE) {
                len += (size_t)snprintf(s + len, cap - len, "%s%.17g", sep, r->v);
            } else {
                len += (size_t)snprintf(s + len, cap - len, "%sNULL", sep);
            }
        } else {
            len += (size_t)snprintf(s + len, cap - len, "%s%d", sep, (int)kind);
        }
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

db_status db_live_put(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                      long long cut_us)
{
    char a[24], cut[24];
    char *cols[4] = {NULL};
    db_status st = DB_OK;
    for (int k = 0; k < 4 && st == DB_OK; k++) {
        if ((cols[k] = column_text(rec, n, k)) == NULL) {
            st = DB_ERROR;
        }
    }
    if (st == DB_OK) {
        const char *p[] = {db_ll(account_id, a), cols[0], cols[1], cols[2], cols[3]};
        st = db_q_exec(c, &st_live_put, 5, p, NULL);
    }
    if (st == DB_OK) {
        const char *p[] = {a, db_ll(cut_us, cut)};
        st = db_q_exec(c, &st_live_trim, 2, p, NULL);
    }
    for (int k = 0; k < 4; k++) {
        free(cols[k]);
    }
    return st;
}

db_status db_live_samples(db_conn *c, long long account_id, long long group_id,
                          long long since_us, db_live_sample **out, size_t *n)
{
    char a[24], g[24], s[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), db_ll(since_us, s)};
    PGresult *res = NULL;
    db_live_sample *rows = NULL;
    size_t rn;
    db_status st = db_exec(c, &st_live_get, 3, p, &res);
    *out = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    rn = (size_t)PQntuples(res);
    if (rn > 0 && (rows = calloc(rn, sizeof *rows)) == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (size_t r = 0; r < rn; r++) {
        rows[r].channel_id = strtoll(PQgetvalue(res, (int)r, 0), NULL, 10);
        rows[r].t = strtoll(PQgetvalue(res, (int)r, 1), NULL, 10);
        rows[r].v = strtod(PQgetvalue(res, (int)r, 2), NULL);
        rows[r].special = atoi(PQgetvalue(res, (int)r, 3));
    }
    PQclear(res);
    *out = rows;
    *n = rn;
    return DB_OK;
}
