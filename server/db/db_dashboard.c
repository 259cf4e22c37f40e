/* Storage of dashboards and their pictures (see db_dashboard.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_dashboard.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"

/* The groups member $3 sees (directly or through a team), account $1. */
#define DASH_GROUPS_OF_USER                                                                  \
    "SELECT gua.group_id FROM group_user_access gua WHERE gua.account_id = $1 "             \
    "  AND gua.user_id = $3 "                                                               \
    "UNION SELECT gta.group_id FROM group_team_access gta JOIN team_members tm "            \
    "  ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "                     \
    "  WHERE gta.account_id = $1 AND tm.user_id = $3"

/* The group of channel "c": its app's for a measured channel, its own for
 * a computed one. */
#define DASH_CHANNEL_GROUP "COALESCE(c.group_id, a.group_id)"
#define DASH_CHANNEL_JOIN                                                                    \
    " LEFT JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "           \
    " LEFT JOIN apps a ON a.account_id = d.account_id AND a.id = d.app_id "

/* ------------------------------------------------------------- dashboards */

static const db_field dash_fields[] = {
    {DBF_I64, offsetof(db_dash_row, id)},         {DBF_I64, offsetof(db_dash_row, group_id)},
    {DBF_STR, offsetof(db_dash_row, name)},       {DBF_STR, offsetof(db_dash_row, panels)},
    {DBF_I64, offsetof(db_dash_row, n_panels)},   {DBF_I64, offsetof(db_dash_row, version)},
    {DBF_STR, offsetof(db_dash_row, created_at)}, {DBF_STR, offsetof(db_dash_row, updated_at)}};
#define DASH_N_FIELDS ((int)(sizeof dash_fields / sizeof dash_fields[0]))

#define DASH_COLS(panels)                                                                    \
    "SELECT id, group_id, name, " panels ", jsonb_array_length(panels), version, "          \
    DB_ISO("created_at") ", " DB_ISO("updated_at") " FROM dashboards "

void db_dash_row_clear(db_dash_row *r)
{
    db_row_clear(r, dash_fields, DASH_N_FIELDS);
}

void db_dash_rows_free(db_dash_row *rows, int n)
{
    db_rows_free(rows, n, dash_fields, DASH_N_FIELDS, sizeof *rows);
}

static db_stmt st_list = {"dash_list",
    DASH_COLS("NULL") "WHERE account_id = $1 AND group_id = $2 ORDER BY id", 0};

db_status db_dash_list(db_conn *c, long long account_id, long long group_id, db_dash_row **out,
                       int *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_exec_rows(c, &st_list, 2, p, dash_fields, DASH_N_FIELDS, sizeof **out,
                        (void **)out, n);
}

static db_stmt st_count = {"dash_count",
    "SELECT count(*) FROM dashboards WHERE account_id = $1 AND group_id = $2", 0};

db_status db_dash_count(db_conn *c, long long account_id, long long group_id, long long *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_count, 2, p, n, NULL);
}

static db_stmt st_get = {"dash_get",
    DASH_COLS("panels::text") "WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_get_lock = {"dash_get_lock",
    DASH_COLS("panels::text") "WHERE account_id = $1 AND id = $2 FOR UPDATE", 0};

db_status db_dash_get(db_conn *c, long long account_id, long long id, bool lock, db_dash_row *out,
                      bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_exec_one(c, lock ? &st_get_lock : &st_get, 2, p, dash_fields, DASH_N_FIELDS,
                       sizeof *out, out, found);
}

static db_stmt st_insert = {"dash_insert",
    "INSERT INTO dashboards (account_id, group_id, name, panels, channel_ids, picture_ids, "
    " created_by) VALUES ($1, $2, $3, $4::jsonb, $5::bigint[], $6::bigint[], "
    " (SELECT id FROM users WHERE account_id = $1 AND id = $7)) RETURNING id", 0};

db_status db_dash_insert(db_conn *c, long long account_id, long long group_id, const char *name,
                         const char *panels, const int64_t *channels, size_t n_channels,
                         const int64_t *pictures, size_t n_pictures, long long user_id,
                         long long *id)
{
    char a[24], g[24], u[24];
    char *ch = db_id_array(channels, n_channels), *pic = db_id_array(pictures, n_pictures);
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), name, panels, ch, pic,
                       db_ll(user_id, u)};
    db_status st = DB_ERROR;
    *id = 0;
    if (ch != NULL && pic != NULL) {
        st = db_q_int(c, &st_insert, 7, p, id, NULL);
    }
    free(ch);
    free(pic);
    return st;
}

static db_stmt st_update = {"dash_update",
    "UPDATE dashboards SET name = $3, panels = $4::jsonb, channel_ids = $5::bigint[], "
    " picture_ids = $6::bigint[], version = version + 1 "
    "WHERE account_id = $1 AND id = $2 RETURNING version", 0};

db_status db_dash_update(db_conn *c, long long account_id, long long id, const char *name,
                         const char *panels, const int64_t *channels, size_t n_channels,
                         const int64_t *pictures, size_t n_pictures, long long *version)
{
    char a[24], i[24];
    char *ch = db_id_array(channels, n_channels), *pic = db_id_array(pictures, n_pictures);
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), name, panels, ch, pic};
    db_status st = DB_ERROR;
    *version = 0;
    if (ch != NULL && pic != NULL) {
        st = db_q_int(c, &st_update, 6, p, version, NULL);
    }
    free(ch);
    free(pic);
    return st;
}

static db_stmt st_delete = {"dash_delete",
    "DELETE FROM dashboards WHERE account_id = $1 AND id = $2", 0};

db_status db_dash_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_exec_found(c, &st_delete, 2, p, found);
}

/* Collect the first column of every row of "stmt" as ids. */
static db_status ids_of(db_conn *c, db_stmt *stmt, int n, const char *const *p, int64_t **out,
                        size_t *n_out)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    *out = NULL;
    *n_out = 0;
    if (st == DB_OK) {
        int rows = PQntuples(res);
        *out = malloc((size_t)(rows > 0 ? rows : 1) * sizeof **out);
        if (*out == NULL) {
            st = DB_ERROR;
        }
        for (int r = 0; st == DB_OK && r < rows; r++) {
            (*out)[(*n_out)++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_group_channels = {"dash_group_channels",
    "SELECT c.id FROM channels c" DASH_CHANNEL_JOIN
    "WHERE c.account_id = $1 AND c.id = ANY($2::bigint[]) AND " DASH_CHANNEL_GROUP " = $3", 0};

db_status db_dash_group_channels(db_conn *c, long long account_id, long long group_id,
                                 const int64_t *ids, size_t n, int64_t **out, size_t *n_out)
{
    char a[24], g[24];
    char *arr = db_id_array(ids, n);
    const char *p[] = {db_ll(account_id, a), arr, db_ll(group_id, g)};
    db_status st;
    if (arr == NULL) {
        *out = NULL;
        *n_out = 0;
        return DB_ERROR;
    }
    st = ids_of(c, &st_group_channels, 3, p, out, n_out);
    free(arr);
    return st;
}

/* ------------------------------------------------------------- channels */

static const db_field chan_fields[] = {
    {DBF_I64, offsetof(db_dash_channel, id)},
    {DBF_STR, offsetof(db_dash_channel, key)},
    {DBF_STR, offsetof(db_dash_channel, name)},
    {DBF_STR, offsetof(db_dash_channel, unit)},
    {DBF_I64, offsetof(db_dash_channel, decimals)},
    {DBF_BOOL, offsetof(db_dash_channel, computed)},
    {DBF_STR, offsetof(db_dash_channel, expression)},
    {DBF_STR, offsetof(db_dash_channel, inputs)},
    {DBF_BOOL, offsetof(db_dash_channel, has_latest)},
    {DBF_I64, offsetof(db_dash_channel, latest_t)},
    {DBF_STR, offsetof(db_dash_channel, latest_v)},
    {DBF_I64, offsetof(db_dash_channel, latest_special)}};
#define CHAN_N_FIELDS ((int)(sizeof chan_fields / sizeof chan_fields[0]))

/* A channel of the group, or an input of a computed channel of the group
 * (the inputs are measured channels of the group when the computed channel
 * was last edited; they are read by id). */
static db_stmt st_channels = {"dash_channels",
    "SELECT c.id, c.ch_key, c.name, c.unit, COALESCE(c.decimals, -1), c.expression IS NOT NULL, "
    " c.expression, c.inputs::text, l.t IS NOT NULL, l.t, l.v::text, COALESCE(l.special, 0) "
    "FROM channels c" DASH_CHANNEL_JOIN
    "LEFT JOIN channel_latest l ON l.channel_id = c.id AND l.account_id = c.account_id "
    "WHERE c.account_id = $1 AND c.id = ANY($2::bigint[]) AND (" DASH_CHANNEL_GROUP " = $3 "
    "  OR EXISTS (SELECT 1 FROM channels x WHERE x.account_id = $1 AND x.group_id = $3 "
    "             AND x.id = ANY($2::bigint[]) AND c.id = ANY(x.inputs))) "
    "ORDER BY c.id",
    0};

db_status db_dash_channels(db_conn *c, long long account_id, long long group_id,
                           const int64_t *ids, size_t n, db_dash_channel **out, int *n_out)
{
    char a[24], g[24];
    char *arr = db_id_array(ids, n);
    const char *p[] = {db_ll(account_id, a), arr, db_ll(group_id, g)};
    db_status st;
    *out = NULL;
    *n_out = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    st = db_exec_rows(c, &st_channels, 3, p, chan_fields, CHAN_N_FIELDS, sizeof **out,
                      (void **)out, n_out);
    free(arr);
    return st;
}

void db_dash_channels_free(db_dash_channel *rows, int n)
{
    db_rows_free(rows, n, chan_fields, CHAN_N_FIELDS, sizeof *rows);
}

static db_stmt st_inputs = {"dash_inputs",
    "SELECT DISTINCT unnest(inputs) FROM channels "
    "WHERE account_id = $1 AND id = ANY($2::bigint[]) AND inputs IS NOT NULL",
    0};

/* The ids that "stmt" ($1 the account, $2 an id array) answers for "ids". */
static db_status account_ids_of(db_conn *c, db_stmt *stmt, long long account_id,
                                const int64_t *ids, size_t n, int64_t **out, size_t *n_out)
{
    char a[24];
    char *arr = db_id_array(ids, n);
    const char *p[] = {db_ll(account_id, a), arr};
    db_status st;
    if (arr == NULL) {
        *out = NULL;
        *n_out = 0;
        return DB_ERROR;
    }
    st = ids_of(c, stmt, 2, p, out, n_out);
    free(arr);
    return st;
}

db_status db_dash_inputs(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                         int64_t **out, size_t *n_out)
{
    return account_ids_of(c, &st_inputs, account_id, ids, n, out, n_out);
}

static db_stmt st_counts = {"dash_stored_counts",
    "SELECT channel_id, sum(n) FROM series_day "
    "WHERE account_id = $1 AND channel_id = ANY($2::bigint[]) AND day BETWEEN $3 AND $4 "
    "GROUP BY channel_id",
    0};

db_status db_dash_stored_counts(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                                int64_t day0, int64_t day1, long long *counts)
{
    char a[24], d0[24], d1[24];
    char *arr = db_id_array(ids, n);
    const char *p[] = {db_ll(account_id, a), arr, db_ll(day0, d0), db_ll(day1, d1)};
    PGresult *res = NULL;
    db_status st;
    for (size_t i = 0; i < n; i++) {
        counts[i] = 0;
    }
    if (arr == NULL) {
        return DB_ERROR;
    }
    st = db_exec(c, &st_counts, 4, p, &res);
    for (int r = 0; st == DB_OK && r < PQntuples(res); r++) {
        long long ch = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        for (size_t i = 0; i < n; i++) {
            if (ids[i] == ch) {
                counts[i] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
            }
        }
    }
    PQclear(res);
    free(arr);
    return st;
}

/* ------------------------------------------------------------- pictures */

static const db_field pic_fields[] = {
    {DBF_I64, offsetof(db_dash_picture, id)},
    {DBF_STR, offsetof(db_dash_picture, sha256)},
    {DBF_STR, offsetof(db_dash_picture, content_type)},
    {DBF_I64, offsetof(db_dash_picture, width)},
    {DBF_I64, offsetof(db_dash_picture, height)},
    {DBF_I64, offsetof(db_dash_picture, size)},
    {DBF_STR, offsetof(db_dash_picture, name)},
    {DBF_STR, offsetof(db_dash_picture, created_at)},
    {DBF_I64, offsetof(db_dash_picture, used_by)}};
#define PIC_N_FIELDS ((int)(sizeof pic_fields / sizeof pic_fields[0]))

#define PIC_COLS                                                                             \
    "SELECT p.id, encode(p.sha256, 'hex'), p.content_type, p.width, p.height, p.size, p.name, " \
    DB_ISO("p.created_at") ", (SELECT count(*) FROM dashboards d WHERE d.account_id = p.account_id " \
    "  AND d.picture_ids @> ARRAY[p.id]) FROM dashboard_pictures p "

void db_dash_picture_clear(db_dash_picture *p)
{
    db_row_clear(p, pic_fields, PIC_N_FIELDS);
}

void db_dash_pictures_free(db_dash_picture *rows, int n)
{
    db_rows_free(rows, n, pic_fields, PIC_N_FIELDS, sizeof *rows);
}

static db_stmt st_pic_get = {"dash_pic_get", PIC_COLS "WHERE p.account_id = $1 AND p.id = $2", 0};

db_status db_dash_picture_get(db_conn *c, long long account_id, long long id,
                              db_dash_picture *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_exec_one(c, &st_pic_get, 2, p, pic_fields, PIC_N_FIELDS, sizeof *out, out, found);
}

static db_stmt st_pic_sha = {"dash_pic_sha",
    PIC_COLS "WHERE p.account_id = $1 AND p.sha256 = decode($2, 'hex')", 0};

db_status db_dash_picture_by_sha(db_conn *c, long long account_id, const unsigned char *sha256,
                                 db_dash_picture *out, bool *found)
{
    char a[24], hex[65];
    const char *p[] = {db_ll(account_id, a), hex};
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", sha256[i]);
    }
    return db_exec_one(c, &st_pic_sha, 2, p, pic_fields, PIC_N_FIELDS, sizeof *out, out, found);
}

static db_stmt st_pic_list = {"dash_pic_list",
    PIC_COLS "WHERE p.account_id = $1 ORDER BY p.id DESC LIMIT 500", 0};

db_status db_dash_picture_list(db_conn *c, long long account_id, db_dash_picture **out, int *n)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_exec_rows(c, &st_pic_list, 1, p, pic_fields, PIC_N_FIELDS, sizeof **out,
                        (void **)out, n);
}

static db_stmt st_pic_insert = {"dash_pic_insert",
    "INSERT INTO dashboard_pictures (account_id, sha256, content_type, width, height, size, "
    " name, data, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
    " (SELECT id FROM users WHERE account_id = $1 AND id = $9)) RETURNING id",
    0};

db_status db_dash_picture_insert(db_conn *c, long long account_id, const unsigned char *sha256,
                                 const char *content_type, int width, int height,
                                 const unsigned char *data, size_t size, const char *name,
                                 long long user_id, long long *id)
{
    char a[24], w[24], h[24], s[24], u[24];
    const char *p[] = {db_ll(account_id, a), (const char *)sha256, content_type, db_ll(width, w),
                       db_ll(height, h), db_ll((long long)size, s), name, (const char *)data,
                       db_ll(user_id, u)};
    const int lengths[] = {0, 32, 0, 0, 0, 0, 0, (int)size, 0};
    const int formats[] = {0, 1, 0, 0, 0, 0, 0, 1, 0};
    PGresult *res = NULL;
    db_status st = db_exec_bin(c, &st_pic_insert, 9, p, lengths, formats, 0, &res);
    *id = 0;
    if (st == DB_OK && PQntuples(res) == 1) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    PQclear(res);
    return st;
}

static db_stmt st_pic_data = {"dash_pic_data",
    "SELECT data FROM dashboard_pictures WHERE account_id = $1 AND id = $2", 0};

db_status db_dash_picture_data(db_conn *c, long long account_id, long long id,
                               unsigned char **data, size_t *len, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    const int formats[] = {0, 0};
    PGresult *res = NULL;
    db_status st = db_exec_bin(c, &st_pic_data, 2, p, NULL, formats, 1, &res);
    *data = NULL;
    *len = 0;
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        size_t n = (size_t)PQgetlength(res, 0, 0);
        *data = malloc(n > 0 ? n : 1);
        if (*data == NULL) {
            st = DB_ERROR;
        } else {
            memcpy(*data, PQgetvalue(res, 0, 0), n);
            *len = n;
            *found = true;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_pic_in_use = {"dash_pic_in_use",
    "SELECT count(*) FROM dashboards WHERE account_id = $1 AND picture_ids @> ARRAY[$2::bigint]",
    0};
static db_stmt st_pic_delete = {"dash_pic_delete",
    "DELETE FROM dashboard_pictures WHERE account_id = $1 AND id = $2 RETURNING size", 0};

db_status db_dash_picture_delete(db_conn *c, long long account_id, long long id, bool *found,
                                 bool *in_use, long long *bytes)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long users = 0;
    db_status st = db_q_int(c, &st_pic_in_use, 2, p, &users, NULL);
    *found = false;
    *in_use = users > 0;
    *bytes = 0;
    if (st != DB_OK) {
        return st;
    }
    if (*in_use) {
        db_dash_picture pic;
        st = db_dash_picture_get(c, account_id, id, &pic, found);
        db_dash_picture_clear(&pic);
        return st;
    }
    return db_q_int(c, &st_pic_delete, 2, p, bytes, found);
}

static db_stmt st_pic_sweep = {"dash_pic_sweep",
    "WITH gone AS (DELETE FROM dashboard_pictures p WHERE p.account_id = $1 "
    "  AND p.created_at < now() - make_interval(secs => $2::bigint) "
    "  AND NOT EXISTS (SELECT 1 FROM dashboards d WHERE d.account_id = $1 "
    "                  AND d.picture_ids @> ARRAY[p.id]) RETURNING p.size) "
    "SELECT COALESCE(sum(size), 0) FROM gone",
    0};

db_status db_dash_picture_sweep(db_conn *c, long long account_id, long long grace_s,
                                long long *bytes)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(grace_s, g)};
    *bytes = 0;
    return db_q_int(c, &st_pic_sweep, 2, p, bytes, NULL);
}

static db_stmt st_pic_ids = {"dash_pic_ids",
    "SELECT id FROM dashboard_pictures WHERE account_id = $1 AND id = ANY($2::bigint[])", 0};

db_status db_dash_picture_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                              int64_t **out, size_t *n_out)
{
    return account_ids_of(c, &st_pic_ids, account_id, ids, n, out, n_out);
}

/* Edit rights of member $3 on some group: a grant of 'edit', direct or
 * through a team. */
#define DASH_EDITS_SOME                                                                      \
    "EXISTS (SELECT 1 FROM group_user_access ua WHERE ua.account_id = $1 AND ua.user_id = $3 " \
    "        AND ua.access = 'edit') "                                                       \
    "OR EXISTS (SELECT 1 FROM group_team_access ta JOIN team_members tm "                    \
    "  ON tm.account_id = ta.account_id AND tm.team_id = ta.team_id "                        \
    "  WHERE ta.account_id = $1 AND tm.user_id = $3 AND ta.access = 'edit')"

static db_stmt st_pic_visible = {"dash_pic_visible",
    "SELECT count(*) FROM dashboard_pictures p WHERE p.account_id = $1 AND p.id = $2 AND ("
    " $3::bigint IS NULL OR p.created_by = $3 OR " DASH_EDITS_SOME
    " OR EXISTS (SELECT 1 FROM dashboards d WHERE d.account_id = $1 "
    "   AND d.picture_ids @> ARRAY[p.id] AND d.group_id IN (" DASH_GROUPS_OF_USER ")))",
    0};

db_status db_dash_picture_visible(db_conn *c, long long account_id, long long viewer,
                                  long long id, bool *visible)
{
    char a[24], i[24], v[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), viewer ? db_ll(viewer, v) : NULL};
    long long n = 0;
    db_status st = db_q_int(c, &st_pic_visible, 3, p, &n, NULL);
    *visible = n > 0;
    return st;
}

static db_stmt st_edits_some = {"dash_edits_some",
    "SELECT count(*) FROM accounts WHERE id = $1 AND ($2::boolean OR " DASH_EDITS_SOME ")", 0};

db_status db_dash_may_edit_some(db_conn *c, long long account_id, long long viewer, bool *may)
{
    char a[24], v[24];
    const char *p[] = {db_ll(account_id, a), viewer ? "false" : "true", db_ll(viewer, v)};
    long long n = 0;
    db_status st = db_q_int(c, &st_edits_some, 3, p, &n, NULL);
    *may = n > 0;
    return st;
}

static db_stmt st_add_pictures = {"storage_add_pictures",
    "INSERT INTO account_storage (account_id, picture_bytes) "
    "VALUES ($1, greatest($2::bigint, 0)) ON CONFLICT (account_id) DO UPDATE "
    "SET picture_bytes = greatest(account_storage.picture_bytes + $2::bigint, 0)",
    0};

db_status db_storage_add_pictures(db_conn *c, long long account_id, long long delta)
{
    char a[24], d[24];
    const char *p[] = {db_ll(account_id, a), db_ll(delta, d)};
    return db_q_exec(c, &st_add_pictures, 2, p, NULL);
}
