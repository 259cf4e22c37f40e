/* Storage of computed channels and their back-fill jobs (see db_computed.h).
 * Prepared statements only; every statement filters by account id. */
#define _POSIX_C_SOURCE 200809L
#include "db_computed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_storage.h"

/* "{1,2,3}" for a bigint[] parameter into "buf" (room for 10 ids). */
#define ID_ARRAY_CAP (2 + MT_EXPR_MAX_INPUTS * 21 + 1)

static const char *id_array(const int64_t *v, size_t n, char buf[ID_ARRAY_CAP])
{
    size_t len = 0;
    buf[len++] = '{';
    for (size_t i = 0; i < n && i < MT_EXPR_MAX_INPUTS; i++) {
        len += (size_t)snprintf(buf + len, ID_ARRAY_CAP - len, i ? ",%lld" : "%lld",
                                (long long)v[i]);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

/* Parse PostgreSQL's text form of a bigint[] ("{1,2,3}") into at most
 * MT_EXPR_MAX_INPUTS ids. Returns 0, or -1 when it is not one. */
static int parse_ids(const char *s, int64_t *out, size_t *n)
{
    *n = 0;
    if (*s++ != '{') {
        return -1;
    }
    if (*s == '}') {
        return 0;
    }
    for (;;) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || errno != 0 || *n == MT_EXPR_MAX_INPUTS) {
            return -1;
        }
        out[(*n)++] = v;
        if (*end == '}') {
            return 0;
        }
        if (*end != ',') {
            return -1;
        }
        s = end + 1;
    }
}

void db_cx_row_free(db_cx_row *r)
{
    if (r == NULL) {
        return;
    }
    free(r->expression);
    free(r->name);
    free(r->unit);
    memset(r, 0, sizeof *r);
}

/* Fill "r" from columns id, group_id, expression, name, unit, inputs of
 * row "row". Returns DB_OK or DB_ERROR (out of memory, bad array). */
static db_status row_of(const PGresult *res, int row, db_cx_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
    r->group_id = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    r->expression = strdup(PQgetvalue(res, row, 2));
    r->name = strdup(PQgetvalue(res, row, 3));
    r->unit = strdup(PQgetvalue(res, row, 4));
    if (r->expression == NULL || r->name == NULL || r->unit == NULL ||
        parse_ids(PQgetvalue(res, row, 5), r->inputs, &r->n_inputs) != 0) {
        db_cx_row_free(r);
        return DB_ERROR;
    }
    return DB_OK;
}

/* --------------------------------------------------------------- access */

static db_stmt st_access = {"cx_group_access",
    "SELECT CASE WHEN $3::boolean THEN 'edit' ELSE ("
    " SELECT CASE WHEN bool_or(x.access = 'edit') THEN 'edit' "
    "             WHEN count(*) > 0 THEN 'view' END FROM ("
    "  SELECT ua.access FROM group_user_access ua WHERE ua.account_id = g.account_id "
    "   AND ua.group_id = g.id AND ua.user_id = $2 "
    "  UNION ALL SELECT ta.access FROM group_team_access ta JOIN team_members tm "
    "   ON tm.account_id = ta.account_id AND tm.team_id = ta.team_id "
    "   WHERE ta.account_id = g.account_id AND ta.group_id = g.id AND tm.user_id = $2) x"
    ") END FROM measurement_groups g WHERE g.account_id = $1 AND g.id = $4", 0};

db_status db_cx_group_access(db_conn *c, long long account_id, long long user_id, bool admin,
                             long long group_id, cx_access *access)
{
    char a[24], u[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), admin ? "true" : "false",
                       db_ll(group_id, g)};
    char *text = NULL;
    db_status st = db_q_text(c, &st_access, 4, p, &text);
    *access = CX_ACCESS_NONE;
    if (st == DB_OK && text != NULL) {
        *access = strcmp(text, "edit") == 0   ? CX_ACCESS_EDIT
                  : strcmp(text, "view") == 0 ? CX_ACCESS_VIEW
                                              : CX_ACCESS_NONE;
    }
    free(text);
    return st;
}

/* ---------------------------------------------------------------- rows */

#define CX_COLS "SELECT c.id, c.group_id, c.expression, c.name, c.unit, c.inputs FROM channels c "

static db_stmt st_get = {"cx_get",
    CX_COLS "WHERE c.account_id = $1 AND c.id = $2 AND c.expression IS NOT NULL", 0};
static db_stmt st_get_lock = {"cx_get_lock",
    CX_COLS "WHERE c.account_id = $1 AND c.id = $2 AND c.expression IS NOT NULL FOR UPDATE", 0};

db_status db_cx_get(db_conn *c, long long account_id, long long id, bool lock, db_cx_row *out,
                    bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, lock ? &st_get_lock : &st_get, 2, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        st = row_of(res, 0, out);
        *found = st == DB_OK;
    }
    PQclear(res);
    return st;
}

/* The API's object of computed channel c (joined with its job b). The
 * inputs' own descriptions are null where an input channel was deleted. */
#define CX_JSON                                                                                \
    "json_build_object('id', c.id, 'group_id', c.group_id, 'key', c.ch_key, 'name', c.name, " \
    " 'unit', c.unit, 'expression', c.expression, 'inputs', to_json(c.inputs), "               \
    " 'input_channels', (SELECT json_agg(CASE WHEN m.id IS NULL THEN NULL ELSE "              \
    "   json_build_object('id', m.id, 'key', m.ch_key, 'name', m.name, 'unit', m.unit, "      \
    "   'device_id', m.device_id) END ORDER BY u.ord) "                                        \
    "   FROM unnest(c.inputs) WITH ORDINALITY AS u(id, ord) "                                  \
    "   LEFT JOIN channels m ON m.account_id = c.account_id AND m.id = u.id), "                \
    " 'backfill', CASE WHEN b.channel_id IS NULL THEN to_json('complete'::text) "             \
    "   ELSE json_build_object('state', 'pending', 'done_days', b.done_days, "                 \
    "   'total_days', greatest(b.total_days, b.done_days)) END, "                              \
    " 'created_at', mt_utc(c.created_at), 'updated_at', mt_utc(c.updated_at))"

#define CX_FROM                                                                              \
    "FROM channels c LEFT JOIN computed_backfill b "                                         \
    " ON b.account_id = c.account_id AND b.channel_id = c.id "

static db_stmt st_get_json = {"cx_get_json",
    "SELECT " CX_JSON "::text " CX_FROM
    "WHERE c.account_id = $1 AND c.id = $2 AND c.expression IS NOT NULL", 0};
static db_stmt st_list_json = {"cx_list_json",
    "SELECT COALESCE(json_agg(" CX_JSON " ORDER BY c.id), '[]')::text " CX_FROM
    "WHERE c.account_id = $1 AND c.group_id = $2 AND c.expression IS NOT NULL", 0};

db_status db_cx_get_json(db_conn *c, long long account_id, long long id, char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_get_json, 2, p, json);
}

db_status db_cx_list_json(db_conn *c, long long account_id, long long group_id, char **json)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_text(c, &st_list_json, 2, p, json);
}

static db_stmt st_inputs = {"cx_inputs_info",
    "SELECT c.id, c.expression IS NOT NULL, COALESCE(c.group_id, p.group_id, 0) "
    "FROM channels c "
    "LEFT JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "LEFT JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE c.account_id = $1 AND c.id = ANY($2::bigint[])", 0};

db_status db_cx_inputs_info(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                            db_cx_input *out)
{
    char a[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), id_array(ids, n, arr)};
    PGresult *res = NULL;
    db_status st;
    memset(out, 0, n * sizeof *out);
    if (n > MT_EXPR_MAX_INPUTS) {
        return DB_ERROR;
    }
    if ((st = db_exec(c, &st_inputs, 2, p, &res)) != DB_OK) {
        return st;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long long id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            if (ids[i] == id) {
                out[i].found = true;
                out[i].computed = PQgetvalue(res, r, 1)[0] == 't';
                out[i].group_id = strtoll(PQgetvalue(res, r, 2), NULL, 10);
            }
        }
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_count = {"cx_count",
    "SELECT count(*) FROM channels "
    "WHERE account_id = $1 AND group_id = $2 AND expression IS NOT NULL", 0};

db_status db_cx_count(db_conn *c, long long account_id, long long group_id, long long *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_count, 2, p, n, NULL);
}

/* The key is "X" and the next number of the group: keys never come back
 * to life for another channel while a higher one exists. */
static db_stmt st_insert = {"cx_insert",
    "INSERT INTO channels (account_id, device_id, group_id, ch_key, name, unit, expression, "
    " inputs) "
    "SELECT $1, NULL, $2, 'X' || (COALESCE(max(substring(ch_key FROM 2)::bigint), 0) + 1), "
    "  $3, $4, $5, $6::bigint[] "
    "FROM channels WHERE account_id = $1 AND group_id = $2 AND expression IS NOT NULL "
    "  AND ch_key ~ '^X[0-9]{1,12}$' "
    "RETURNING id", 0};

db_status db_cx_insert(db_conn *c, long long account_id, long long group_id, const char *name,
                       const char *unit, const char *expression, const int64_t *inputs,
                       size_t n_inputs, long long *id)
{
    char a[24], g[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), name, unit, expression,
                       id_array(inputs, n_inputs, arr)};
    return db_q_int(c, &st_insert, 6, p, id, NULL);
}

static db_stmt st_update = {"cx_update",
    "UPDATE channels SET name = COALESCE($3, name), unit = COALESCE($4, unit), "
    " expression = COALESCE($5, expression), inputs = COALESCE($6::bigint[], inputs) "
    "WHERE account_id = $1 AND id = $2 AND expression IS NOT NULL", 0};

db_status db_cx_update(db_conn *c, long long account_id, long long id, const char *name,
                       const char *unit, const char *expression, const int64_t *inputs,
                       size_t n_inputs)
{
    char a[24], i[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), name, unit, expression,
                       n_inputs > 0 ? id_array(inputs, n_inputs, arr) : NULL};
    return db_q_exec(c, &st_update, 6, p, NULL);
}

static db_stmt st_delete = {"cx_delete",
    "DELETE FROM channels WHERE account_id = $1 AND id = $2 AND expression IS NOT NULL", 0};

db_status db_cx_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_delete, 2, p, &n);
    *found = n > 0;
    return st;
}

static db_stmt st_data_clear = {"cx_data_clear",
    "WITH gone AS (DELETE FROM series_day WHERE account_id = $1 AND channel_id = $2 "
    " RETURNING octet_length(data) + octet_length(hours) AS b) "
    "SELECT COALESCE(sum(b), 0) FROM gone", 0};
static db_stmt st_latest_clear = {"cx_latest_clear",
    "DELETE FROM channel_latest WHERE account_id = $1 AND channel_id = $2", 0};

db_status db_cx_data_clear(db_conn *c, long long account_id, long long id)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long freed = 0;
    db_status st = db_q_int(c, &st_data_clear, 2, p, &freed, NULL);
    if (st == DB_OK && freed > 0) {
        st = db_storage_add_data(c, account_id, -freed);
    }
    if (st == DB_OK) {
        st = db_q_exec(c, &st_latest_clear, 2, p, NULL);
    }
    return st;
}

db_status db_cx_lock_storage(db_conn *c, long long account_id)
{
    /* The upsert of 0 bytes creates the row when missing and leaves it
     * locked until the end of the transaction. */
    return db_storage_add_data(c, account_id, 0);
}

/* ---------------------------------------------------------- back-fill */

static db_stmt st_bf_delete = {"cx_bf_delete",
    "DELETE FROM computed_backfill WHERE account_id = $1 AND channel_id = $2", 0};
static db_stmt st_bf_insert = {"cx_bf_insert",
    "INSERT INTO computed_backfill (account_id, channel_id, next_day, done_days, total_days) "
    "SELECT $1, $2, min(day), 0, count(DISTINCT day) FROM series_day "
    "WHERE account_id = $1 AND channel_id = ANY($3::bigint[]) HAVING count(*) > 0 "
    "RETURNING total_days", 0};

db_status db_cx_backfill_schedule(db_conn *c, long long account_id, long long id,
                                  const int64_t *inputs, size_t n_inputs, long long *total_days)
{
    char a[24], i[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), id_array(inputs, n_inputs, arr)};
    db_status st = db_q_exec(c, &st_bf_delete, 2, p, NULL);
    *total_days = 0;
    if (st == DB_OK) {
        st = db_q_int(c, &st_bf_insert, 3, p, total_days, NULL);
    }
    return st;
}

static db_stmt st_bf_next = {"cx_bf_next",
    "SELECT account_id, channel_id FROM computed_backfill "
    "ORDER BY touched_at, channel_id LIMIT 1", 0};

db_status db_cx_backfill_next(db_conn *c, long long *account_id, long long *id, bool *found)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_bf_next, 0, NULL, &res);
    *found = st == DB_OK && PQntuples(res) == 1;
    *account_id = *found ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    *id = *found ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
    PQclear(res);
    return st;
}

static db_stmt st_bf_lock = {"cx_bf_lock",
    "SELECT next_day FROM computed_backfill WHERE account_id = $1 AND channel_id = $2 "
    "FOR UPDATE", 0};

db_status db_cx_backfill_lock(db_conn *c, long long account_id, long long id, int64_t *next_day,
                              bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long v = 0;
    db_status st = db_q_int(c, &st_bf_lock, 2, p, &v, found);
    *next_day = v;
    return st;
}

static db_stmt st_input_days = {"cx_input_days",
    "SELECT DISTINCT day FROM series_day "
    "WHERE account_id = $1 AND channel_id = ANY($2::bigint[]) AND day >= $3 "
    "ORDER BY day LIMIT $4", 0};

db_status db_cx_input_days(db_conn *c, long long account_id, const int64_t *inputs,
                           size_t n_inputs, int64_t from_day, size_t limit, int64_t *days,
                           size_t *n_days)
{
    char a[24], d[24], l[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), id_array(inputs, n_inputs, arr),
                       db_ll(from_day, d), db_ll((long long)limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_input_days, 4, p, &res);
    *n_days = 0;
    if (st == DB_OK) {
        for (int r = 0; r < PQntuples(res) && (size_t)r < limit; r++) {
            days[(*n_days)++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_bf_advance = {"cx_bf_advance",
    "UPDATE computed_backfill SET next_day = $3, done_days = done_days + $4, "
    " total_days = greatest(total_days, done_days + $4), touched_at = now() "
    "WHERE account_id = $1 AND channel_id = $2", 0};

db_status db_cx_backfill_advance(db_conn *c, long long account_id, long long id,
                                 int64_t next_day, long long done)
{
    char a[24], i[24], d[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(next_day, d), db_ll(done, n)};
    return db_q_exec(c, &st_bf_advance, 4, p, NULL);
}

static db_stmt st_bf_touch = {"cx_bf_touch",
    "UPDATE computed_backfill SET touched_at = now() WHERE account_id = $1 AND channel_id = $2",
    0};

db_status db_cx_backfill_touch(db_conn *c, long long account_id, long long id)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_exec(c, &st_bf_touch, 2, p, NULL);
}

db_status db_cx_backfill_finish(db_conn *c, long long account_id, long long id)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_exec(c, &st_bf_delete, 2, p, NULL);
}

static db_stmt st_bf_count = {"cx_bf_count", "SELECT count(*) FROM computed_backfill", 0};

db_status db_cx_backfill_count(db_conn *c, long long *n)
{
    return db_q_int(c, &st_bf_count, 0, NULL, n, NULL);
}

static db_stmt st_affected = {"cx_affected",
    CX_COLS "WHERE c.account_id = $1 AND c.expression IS NOT NULL "
    "  AND c.inputs && $2::bigint[] ORDER BY c.id", 0};

db_status db_cx_affected(db_conn *c, long long account_id, const int64_t *channels, size_t n,
                         db_cx_row **out, size_t *n_out)
{
    char a[24];
    char *arr = db_id_array(channels, n);
    const char *p[2];
    PGresult *res = NULL;
    db_status st;
    *out = NULL;
    *n_out = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    p[0] = db_ll(account_id, a);
    p[1] = arr;
    st = db_exec(c, &st_affected, 2, p, &res);
    free(arr);
    if (st != DB_OK || PQntuples(res) == 0) {
        PQclear(res);
        return st;
    }
    *out = calloc((size_t)PQntuples(res), sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        if ((st = row_of(res, r, &(*out)[r])) != DB_OK) {
            for (size_t k = 0; k < *n_out; k++) {
                db_cx_row_free(&(*out)[k]);
            }
            free(*out);
            *out = NULL;
            *n_out = 0;
            break;
        }
        (*n_out)++;
    }
    PQclear(res);
    return st;
}
