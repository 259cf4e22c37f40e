/* Storage of export jobs (see db_export.h). */
#include "db_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"

/* A bigint[] parameter of "n" ids (caller frees): db_id_array() over a copy
 * as int64_t. */
static char *ll_array(const long long *v, size_t n)
{
    int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
    char *s;
    if (ids == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = (int64_t)v[i];
    }
    s = db_id_array(ids, n);
    free(ids);
    return s;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* ------------------------------------------------------------- exports */

static db_stmt st_insert = {"exp_insert",
    "INSERT INTO exports (account_id, user_id, format, channels, t_from, t_to, time_zone, "
    "  created_at, updated_at) "
    "VALUES ($1, $2, $3, $4::bigint[], $5, $6, $7, to_timestamp($8), to_timestamp($8)) "
    "RETURNING id", 0};

db_status db_export_insert(db_conn *c, long long account_id, long long user, const char *format,
                           const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                           const char *time_zone, int64_t now, long long *id)
{
    char a[24], u[24], f[24], t[24], n[24];
    char *arr = db_id_array(ch, n_ch);
    db_status st;
    bool found = false;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(account_id, a), db_ll(user, u), format, arr,
                           db_ll((long long)t0, f), db_ll((long long)t1, t), time_zone,
                           db_ll((long long)now, n)};
        st = db_q_int(c, &st_insert, 8, p, id, &found);
    }
    free(arr);
    return st == DB_OK && !found ? DB_ERROR : st;
}

static db_stmt st_running = {"exp_running",
    "SELECT count(*) FROM exports WHERE account_id = $1 AND status = 'running'", 0};

db_status db_export_running(db_conn *c, long long account_id, long long *n)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_int(c, &st_running, 1, p, n, NULL);
}

#define ROW_COLS                                                                              \
    "id, account_id, user_id, format, channels::text, t_from, t_to, time_zone, status, "     \
    "progress, bytes, samples, COALESCE(error, ''), mt_utc(created_at), "                    \
    "COALESCE(mt_utc(finished_at), ''), COALESCE(extract(epoch FROM finished_at)::bigint, 0), " \
    "COALESCE(blob_id, 0)"

static void read_row(const PGresult *res, int r, db_export_row *o)
{
    const char *arr = PQgetvalue(res, r, 4);
    memset(o, 0, sizeof *o);
    o->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    o->account_id = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    o->user_id = strtoll(PQgetvalue(res, r, 2), NULL, 10);
    copy(o->format, sizeof o->format, PQgetvalue(res, r, 3));
    /* "{1,2,3}" */
    for (const char *p = arr; *p != '\0' && o->n_ch < DB_EXPORT_MAX_CH;) {
        char *end = NULL;
        long long v;
        if (*p == '{' || *p == ',' || *p == '}') {
            p++;
            continue;
        }
        v = strtoll(p, &end, 10);
        if (end == p) {
            break;
        }
        o->ch[o->n_ch++] = v;
        p = end;
    }
    o->t0 = strtoll(PQgetvalue(res, r, 5), NULL, 10);
    o->t1 = strtoll(PQgetvalue(res, r, 6), NULL, 10);
    copy(o->time_zone, sizeof o->time_zone, PQgetvalue(res, r, 7));
    copy(o->status, sizeof o->status, PQgetvalue(res, r, 8));
    o->progress = strtod(PQgetvalue(res, r, 9), NULL);
    o->bytes = strtoll(PQgetvalue(res, r, 10), NULL, 10);
    o->samples = strtoll(PQgetvalue(res, r, 11), NULL, 10);
    copy(o->error, sizeof o->error, PQgetvalue(res, r, 12));
    copy(o->created_at, sizeof o->created_at, PQgetvalue(res, r, 13));
    copy(o->finished_at, sizeof o->finished_at, PQgetvalue(res, r, 14));
    o->finished_s = strtoll(PQgetvalue(res, r, 15), NULL, 10);
    o->blob_id = strtoll(PQgetvalue(res, r, 16), NULL, 10);
}

static db_stmt st_get = {"exp_get",
    "SELECT " ROW_COLS " FROM exports WHERE account_id = $1 AND id = $2 "
    "  AND ($3::bigint IS NULL OR user_id = $3)", 0};

db_status db_export_get(db_conn *c, long long account_id, long long user, long long id,
                        db_export_row *out, bool *found)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), user > 0 ? db_ll(user, u) : NULL};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_get, 3, p, &res);
    *found = false;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        read_row(res, 0, out);
        *found = true;
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_list = {"exp_list",
    "SELECT " ROW_COLS " FROM exports WHERE account_id = $1 AND user_id = $2 "
    "ORDER BY id DESC LIMIT $3", 0};

db_status db_export_list(db_conn *c, long long account_id, long long user, int limit,
                         db_export_row **out, size_t *n)
{
    char a[24], u[24], l[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user, u), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_list, 3, p, &res);
    *out = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    *out = calloc((size_t)PQntuples(res) + 1, sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        read_row(res, r, &(*out)[r]);
    }
    *n = (size_t)PQntuples(res);
    PQclear(res);
    return DB_OK;
}

static db_stmt st_progress = {"exp_progress",
    "UPDATE exports SET progress = $3, bytes = $4, samples = $5, updated_at = to_timestamp($6) "
    "WHERE account_id = $1 AND id = $2 AND status = 'running'", 0};

db_status db_export_progress(db_conn *c, long long account_id, long long id, double progress,
                             long long bytes, long long samples, int64_t now, bool *alive)
{
    char a[24], i[24], pr[32], b[24], s[24], n[24];
    long long changed = 0;
    db_status st;
    snprintf(pr, sizeof pr, "%.6f", progress < 0 ? 0 : progress > 1 ? 1 : progress);
    {
        const char *p[] = {db_ll(account_id, a), db_ll(id, i), pr, db_ll(bytes, b),
                           db_ll(samples, s), db_ll((long long)now, n)};
        st = db_q_exec(c, &st_progress, 6, p, &changed);
    }
    *alive = st == DB_OK && changed > 0;
    return st;
}

static db_stmt st_finish = {"exp_finish",
    "UPDATE exports SET status = CASE WHEN $3::boolean THEN 'done' ELSE 'failed' END, "
    "  progress = CASE WHEN $3::boolean THEN 1 ELSE progress END, bytes = $4, samples = $5, "
    "  error = CASE WHEN $3::boolean THEN NULL ELSE left($6, 500) END, "
    "  updated_at = to_timestamp($7), finished_at = to_timestamp($7), "
    "  blob_id = NULLIF($8::bigint, 0) "
    "WHERE account_id = $1 AND id = $2 AND status = 'running'", 0};

db_status db_export_finish(db_conn *c, long long account_id, long long id, bool done,
                           long long bytes, long long samples, const char *error, int64_t now,
                           long long blob_id, bool *alive)
{
    char a[24], i[24], b[24], s[24], n[24], bl[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), done ? "true" : "false",
                       db_ll(bytes, b), db_ll(samples, s),
                       error != NULL && *error != '\0' ? error : "export failed",
                       db_ll((long long)now, n), db_ll(done ? blob_id : 0, bl)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_finish, 8, p, &changed);
    *alive = st == DB_OK && changed > 0;
    return st;
}

static db_stmt st_delete = {"exp_delete",
    "DELETE FROM exports WHERE account_id = $1 AND id = $2 AND user_id = $3 "
    "RETURNING format, status = 'running'", 0};

db_status db_export_delete(db_conn *c, long long account_id, long long user, long long id,
                           bool *found, char format[8], bool *was_running)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(user, u)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_delete, 3, p, &res);
    *found = false;
    *was_running = false;
    format[0] = '\0';
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        *found = true;
        copy(format, 8, PQgetvalue(res, 0, 0));
        *was_running = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_remove = {"exp_remove",
    "DELETE FROM exports WHERE account_id = $1 AND id = $2 AND status <> 'running'", 0};

db_status db_export_remove(db_conn *c, long long account_id, long long id, bool *deleted)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_remove, 2, p, &changed);
    *deleted = st == DB_OK && changed > 0;
    return st;
}

static db_stmt st_touch = {"exp_touch",
    "UPDATE exports e SET updated_at = to_timestamp($3) "
    "FROM unnest($1::bigint[], $2::bigint[]) AS k(account_id, id) "
    "WHERE e.account_id = k.account_id AND e.id = k.id AND e.status = 'running'", 0};

db_status db_export_touch(db_conn *c, const long long *account_ids, const long long *ids,
                          size_t n, int64_t now)
{
    char t[24];
    char *accs, *idv;
    db_status st;
    if (n == 0) {
        return DB_OK;
    }
    accs = ll_array(account_ids, n);
    idv = ll_array(ids, n);
    if (accs == NULL || idv == NULL) {
        free(accs);
        free(idv);
        return DB_ERROR;
    }
    {
        const char *p[] = {accs, idv, db_ll((long long)now, t)};
        st = db_q_exec(c, &st_touch, 3, p, NULL);
    }
    free(accs);
    free(idv);
    return st;
}

static db_stmt st_fail_stale = {"exp_fail_stale",
    "UPDATE exports SET status = 'failed', "
    "  error = 'the server stopped before the export finished', "
    "  updated_at = to_timestamp($2), finished_at = to_timestamp($2) "
    "WHERE status = 'running' AND updated_at < to_timestamp($1)", 0};

db_status db_export_fail_stale(db_conn *c, int64_t stale_before, int64_t now, long long *n)
{
    char b[24], t[24];
    const char *p[] = {db_ll((long long)stale_before, b), db_ll((long long)now, t)};
    return db_q_exec(c, &st_fail_stale, 2, p, n);
}

static db_stmt st_finished_before = {"exp_finished_before",
    "SELECT account_id, id, format FROM exports "
    "WHERE finished_at < to_timestamp($1) ORDER BY finished_at LIMIT $2", 0};

db_status db_export_finished_before(db_conn *c, int64_t before, int limit,
                                    long long **account_ids, long long **ids, char (**formats)[8],
                                    size_t *n)
{
    char b[24], l[24];
    const char *p[] = {db_ll((long long)before, b), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_finished_before, 2, p, &res);
    size_t rows;
    *account_ids = NULL;
    *ids = NULL;
    *formats = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    rows = (size_t)PQntuples(res);
    *account_ids = malloc((rows + 1) * sizeof **account_ids);
    *ids = malloc((rows + 1) * sizeof **ids);
    *formats = malloc((rows + 1) * sizeof **formats);
    if (*account_ids == NULL || *ids == NULL || *formats == NULL) {
        free(*account_ids);
        free(*ids);
        free(*formats);
        *account_ids = NULL;
        *ids = NULL;
        *formats = NULL;
        PQclear(res);
        return DB_ERROR;
    }
    for (size_t r = 0; r < rows; r++) {
        (*account_ids)[r] = strtoll(PQgetvalue(res, (int)r, 0), NULL, 10);
        (*ids)[r] = strtoll(PQgetvalue(res, (int)r, 1), NULL, 10);
        copy((*formats)[r], 8, PQgetvalue(res, (int)r, 2));
    }
    *n = rows;
    PQclear(res);
    return DB_OK;
}

static db_stmt st_file_ids = {"exp_file_ids",
    "SELECT (SELECT count(*) FROM accounts WHERE id = $1), "
    "  ARRAY(SELECT id FROM exports WHERE account_id = $1 AND status = 'done' "
    "        AND blob_id IS NULL ORDER BY id)::text", 0};

db_status db_export_file_ids(db_conn *c, long long account_id, long long **out, size_t *n,
                             bool *account_exists)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_file_ids, 1, p, &res);
    const char *arr;
    size_t cap;
    *out = NULL;
    *n = 0;
    *account_exists = false;
    if (st != DB_OK) {
        return st;
    }
    *account_exists = strtoll(PQgetvalue(res, 0, 0), NULL, 10) > 0;
    arr = PQgetvalue(res, 0, 1);
    cap = strlen(arr) / 2 + 1; /* at least one separator per id */
    *out = malloc(cap * sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (const char *q = arr; *q != '\0' && *n < cap;) {
        char *end = NULL;
        long long v;
        if (*q == '{' || *q == ',' || *q == '}') {
            q++;
            continue;
        }
        v = strtoll(q, &end, 10);
        if (end == q) {
            break;
        }
        (*out)[(*n)++] = v;
        q = end;
    }
    PQclear(res);
    return DB_OK;
}

/* ------------------------------------------------------------ channels */

static db_stmt st_channels = {"exp_channels",
    "SELECT c.id, c.name, c.unit, c.ch_key, c.device_id IS NULL, COALESCE(c.device_id, 0), "
    "       COALESCE(d.model, ''), COALESCE(d.serial, ''), COALESCE(d.name, ''), "
    "       COALESCE(p.name, ''), COALESCE(g.name, ''), COALESCE(c.expression, '') "
    "FROM unnest($2::bigint[]) WITH ORDINALITY AS k(id, pos) "
    "JOIN channels c ON c.account_id = $1 AND c.id = k.id "
    "LEFT JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "LEFT JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "LEFT JOIN measurement_groups g ON g.account_id = c.account_id AND g.id = c.group_id "
    "ORDER BY k.pos", 0};

db_status db_export_channels(db_conn *c, long long account_id, const int64_t *ids, size_t n_ids,
                             db_export_channel **out, size_t *n)
{
    char a[24];
    char *arr = db_id_array(ids, n_ids);
    PGresult *res = NULL;
    db_status st;
    *out = NULL;
    *n = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(account_id, a), arr};
        st = db_exec(c, &st_channels, 2, p, &res);
    }
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    *out = calloc((size_t)PQntuples(res) + 1, sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        db_export_channel *ch = &(*out)[r];
        ch->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        copy(ch->name, sizeof ch->name, PQgetvalue(res, r, 1));
        copy(ch->unit, sizeof ch->unit, PQgetvalue(res, r, 2));
        copy(ch->key, sizeof ch->key, PQgetvalue(res, r, 3));
        ch->computed = strcmp(PQgetvalue(res, r, 4), "t") == 0;
        ch->device_id = strtoll(PQgetvalue(res, r, 5), NULL, 10);
        copy(ch->model, sizeof ch->model, PQgetvalue(res, r, 6));
        copy(ch->serial, sizeof ch->serial, PQgetvalue(res, r, 7));
        copy(ch->device_name, sizeof ch->device_name, PQgetvalue(res, r, 8));
        copy(ch->app_name, sizeof ch->app_name, PQgetvalue(res, r, 9));
        copy(ch->group_name, sizeof ch->group_name, PQgetvalue(res, r, 10));
        copy(ch->expression, sizeof ch->expression, PQgetvalue(res, r, 11));
    }
    *n = (size_t)PQntuples(res);
    PQclear(res);
    return DB_OK;
}

/* Days are floored (t / 86400e6) as in 004_data.sql. */
static db_stmt st_extent = {"exp_extent",
    "SELECT min(lo), max(hi), COALESCE(max(day_n), 0) FROM ("
    "  SELECT min(t_first) AS lo, max(t_last) AS hi, sum(n) AS day_n FROM series_day "
    "  WHERE account_id = $1 AND channel_id = ANY($2::bigint[]) "
    "    AND day BETWEEN floor($3::float8 / 86400e6)::integer "
    "                AND floor(($4::float8 - 1) / 86400e6)::integer "
    "    AND t_last >= $3 AND t_first < $4 "
    "  GROUP BY day "
    "  UNION ALL "
    "  SELECT min(t_min), max(t_max), 0 FROM series_hot "
    "  WHERE account_id = $1 AND t_max >= $3 AND t_min < $4) AS x", 0};

db_status db_export_extent(db_conn *c, long long account_id, const int64_t *ids, size_t n_ids,
                           int64_t t0, int64_t t1, int64_t *first, int64_t *last,
                           int64_t *max_day, bool *any)
{
    char a[24], f[24], t[24];
    char *arr = db_id_array(ids, n_ids);
    PGresult *res = NULL;
    db_status st;
    *any = false;
    *max_day = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(account_id, a), arr, db_ll((long long)t0, f),
                           db_ll((long long)t1, t)};
        st = db_exec(c, &st_extent, 4, p, &res);
    }
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1)) {
        *first = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *last = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *max_day = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        *any = true;
    }
    PQclear(res);
    return DB_OK;
}

/* ---------------------------------------------------------- time zones */

static db_stmt st_account_tz = {"exp_account_tz",
    "SELECT time_zone FROM accounts WHERE id = $1", 0};

db_status db_export_account_tz(db_conn *c, long long account_id, char out[72], bool *found)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    char *text = NULL;
    db_status st = db_q_text(c, &st_account_tz, 1, p, &text);
    *found = st == DB_OK && text != NULL;
    copy(out, 72, text != NULL ? text : "UTC");
    free(text);
    return st;
}

/* The language of user $2 as stored for them, else their account's. */
static db_stmt st_language = {"exp_language",
    "SELECT COALESCE(u.language, a.language) FROM accounts a "
    "LEFT JOIN users u ON u.account_id = a.id AND u.id = $2 WHERE a.id = $1", 0};

db_status db_export_language(db_conn *c, long long account_id, long long user_id, char out[8])
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u)};
    char *text = NULL;
    db_status st = db_q_text(c, &st_language, 2, p, &text);
    copy(out, 8, text != NULL && strlen(text) < 8 ? text : "en");
    free(text);
    return st;
}

/* The offset of zone $1 at Unix second x: the zone's wall-clock time read as
 * if it were UTC, minus x. */
static db_stmt st_tz_offsets = {"exp_tz_offsets",
    "SELECT (extract(epoch FROM timezone($1::text, to_timestamp(x::float8))) - x)::integer "
    "FROM unnest($2::bigint[]) WITH ORDINALITY AS u(x, i) ORDER BY i", 0};

db_status db_export_tz_offsets(db_conn *c, const char *tz, const int64_t *secs, size_t n,
                               int32_t *out)
{
    char *arr = db_id_array(secs, n);
    PGresult *res = NULL;
    db_status st;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {tz, arr};
        st = db_exec(c, &st_tz_offsets, 2, p, &res);
    }
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    if ((size_t)PQntuples(res) != n) {
        PQclear(res);
        return DB_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (int32_t)strtol(PQgetvalue(res, (int)i, 0), NULL, 10);
    }
    PQclear(res);
    return DB_OK;
}

/* ------------------------------------------------------------- secrets */

static db_stmt st_secret_put = {"exp_secret_put",
    "INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    0};
static db_stmt st_secret_get = {"exp_secret_get",
    "SELECT secret FROM server_secrets WHERE name = $1", 0};

db_status db_export_secret(db_conn *c, const char *name, const unsigned char fresh[32],
                           unsigned char out[32])
{
    const char *put[] = {name, (const char *)fresh};
    const int lens[] = {0, 32}, fmts[] = {0, 1};
    const char *get[] = {name};
    PGresult *res = NULL;
    db_status st = db_exec_bin(c, &st_secret_put, 2, put, lens, fmts, 0, NULL);
    if (st != DB_OK) {
        return st;
    }
    st = db_exec_bin(c, &st_secret_get, 1, get, NULL, NULL, 1, &res);
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) < 32) {
        PQclear(res);
        return DB_ERROR;
    }
    memcpy(out, PQgetvalue(res, 0, 0), 32);
    PQclear(res);
    return DB_OK;
}
