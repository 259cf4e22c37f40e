/* Storage of the drive (db_drive.h): libpq only, prepared statements, every
 * tenant statement filtered by account_id. */
#define _POSIX_C_SOURCE 200809L
#include "db_drive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"

/* A timestamptz column as ISO 8601 UTC text. */

/* Folder trees are at most svc_drive.h's 16 levels deep; the recursive
 * queries stop at 64 all the same, so that a damaged tree cannot loop. */
#define WALK_LIMIT "64"

/* ------------------------------------------------------------ row mapping */

static const db_field item_fields[] = {
    {DBF_I64, offsetof(db_drive_item, id)},
    {DBF_I64, offsetof(db_drive_item, parent_id)},
    {DBF_BOOL, offsetof(db_drive_item, is_folder)},
    {DBF_BOOL, offsetof(db_drive_item, is_dataset)},
    {DBF_STR, offsetof(db_drive_item, name)},
    {DBF_I64, offsetof(db_drive_item, size)},
    {DBF_STR, offsetof(db_drive_item, kind)},
    {DBF_STR, offsetof(db_drive_item, content_type)},
    {DBF_STR, offsetof(db_drive_item, sha256)},
    {DBF_I64, offsetof(db_drive_item, created_by)},
    {DBF_STR, offsetof(db_drive_item, created_at)},
    {DBF_STR, offsetof(db_drive_item, updated_at)},
    {DBF_I64, offsetof(db_drive_item, n_children)},
    {DBF_I64, offsetof(db_drive_item, blob_id)},
};
#define N_ITEM (int)(sizeof item_fields / sizeof item_fields[0])

void db_drive_items_free(db_drive_item *rows, int n)
{
    db_rows_free(rows, n, item_fields, N_ITEM, sizeof(db_drive_item));
}

void db_drive_item_clear(db_drive_item *row)
{
    db_row_clear(row, item_fields, N_ITEM);
}

static db_status exec_items(db_conn *c, db_stmt *stmt, int n, const char *const *p,
                            db_drive_item **out, int *n_rows)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    *out = NULL;
    *n_rows = 0;
    if (st == DB_OK) {
        st = db_rows_map(res, item_fields, N_ITEM, sizeof(db_drive_item), (void **)out, n_rows);
    }
    PQclear(res);
    return st;
}

/* The ids (column 0) and the sum of column 1 of every row of "res". */
static db_status ids_and_bytes(const PGresult *res, long long **ids, int *n, long long *bytes)
{
    int rows = PQntuples(res);
    *ids = NULL;
    *n = 0;
    if (bytes != NULL) {
        *bytes = 0;
    }
    if (rows == 0) {
        return DB_OK;
    }
    if ((*ids = malloc((size_t)rows * sizeof **ids)) == NULL) {
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        (*ids)[r] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (bytes != NULL && PQnfields(res) > 1) {
            *bytes += strtoll(PQgetvalue(res, r, 1), NULL, 10);
        }
    }
    *n = rows;
    return DB_OK;
}

static db_status exec_ids(db_conn *c, db_stmt *stmt, int n_params, const char *const *p,
                          long long **ids, int *n, long long *bytes)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n_params, p, &res);
    *ids = NULL;
    *n = 0;
    if (bytes != NULL) {
        *bytes = 0;
    }
    if (st == DB_OK) {
        st = ids_and_bytes(res, ids, n, bytes);
    }
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------------ items */

#define ITEM_COLS                                                                            \
    "SELECT i.id, i.parent_id, i.is_folder, false, i.name, COALESCE(i.size, 0), i.kind, "    \
    " i.content_type, encode(i.sha256, 'hex'), i.created_by, " DB_ISO("i.created_at") ", "      \
    DB_ISO("i.updated_at") ", "                                                                 \
    " CASE WHEN i.is_folder THEN (SELECT count(*) FROM drive_items ch "                      \
    "   WHERE ch.account_id = i.account_id AND ch.parent_id = i.id) ELSE 0 END, "            \
    " i.blob_id "                                                                            \
    "FROM drive_items i "

static db_stmt st_item_get = {"drive_item_get",
    ITEM_COLS "WHERE i.account_id = $1 AND i.id = $2 AND i.is_folder = $3", 0};

static db_stmt st_list = {"drive_list",
    ITEM_COLS "WHERE i.account_id = $1 AND COALESCE(i.parent_id, 0) = $2", 0};

db_status db_drive_item_get(db_conn *c, long long account_id, long long id, bool folder,
                            db_drive_item *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), folder ? "true" : "false"};
    db_drive_item *rows = NULL;
    int n = 0;
    db_status st = exec_items(c, &st_item_get, 3, p, &rows, &n);
    memset(out, 0, sizeof *out);
    *found = st == DB_OK && n == 1;
    if (*found) {
        *out = rows[0];
        free(rows); /* the strings moved into *out */
    } else {
        db_drive_items_free(rows, n);
    }
    return st;
}

db_status db_drive_list(db_conn *c, long long account_id, long long parent_id,
                        db_drive_item **out, int *n)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f)};
    return exec_items(c, &st_list, 2, p, out, n);
}

/* Measurement groups as data sets: "size" = the acquired (selected)
 * channels of the devices of the group's apps. $2 = 0 for an
 * administrator, else the member whose grants filter the groups. */
static db_stmt st_datasets = {"drive_datasets",
    "SELECT g.id, 0, false, true, g.name, "
    " (SELECT count(*) FROM channels ch "
    "   JOIN devices d ON d.account_id = ch.account_id AND d.id = ch.device_id "
    "   JOIN apps ap ON ap.account_id = d.account_id AND ap.id = d.app_id "
    "   WHERE ch.account_id = g.account_id AND ap.group_id = g.id AND ch.selected), "
    " 'dataset', NULL, NULL, 0, " DB_ISO("g.created_at") ", " DB_ISO("g.updated_at") ", 0, NULL "
    "FROM measurement_groups g WHERE g.account_id = $1 AND ($2::bigint = 0 OR g.id IN ("
    " SELECT gua.group_id FROM group_user_access gua "
    "  WHERE gua.account_id = $1 AND gua.user_id = $2 "
    " UNION SELECT gta.group_id FROM group_team_access gta "
    "  JOIN team_members tm ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "
    "  WHERE gta.account_id = $1 AND tm.user_id = $2))",
    0};

db_status db_drive_datasets(db_conn *c, long long account_id, long long member_user_id,
                            db_drive_item **out, int *n)
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(member_user_id, u)};
    return exec_items(c, &st_datasets, 2, p, out, n);
}

/* The folder $2 and its ancestors, with their distance from $2. */
#define WALK_UP(start)                                                                       \
    "WITH RECURSIVE up (id, parent_id, name, lvl) AS ("                                      \
    " SELECT id, parent_id, name, 0 FROM drive_items "                                       \
    "  WHERE account_id = $1 AND id = " start " AND is_folder "                              \
    " UNION ALL SELECT i.id, i.parent_id, i.name, up.lvl + 1 FROM drive_items i "            \
    "  JOIN up ON i.id = up.parent_id "                                                      \
    "  WHERE i.account_id = $1 AND up.lvl < " WALK_LIMIT ") "

static db_stmt st_path = {"drive_path",
    WALK_UP("$2") "SELECT id, COALESCE(parent_id, 0), true, false, name, 0, 'folder', NULL, "
                   " NULL, 0, NULL, NULL, 0, NULL FROM up ORDER BY lvl DESC",
    0};

static db_stmt st_depth = {"drive_depth", WALK_UP("$2") "SELECT count(*) FROM up", 0};

static db_stmt st_within = {"drive_within",
    WALK_UP("$3") "SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)", 0};

db_status db_drive_path(db_conn *c, long long account_id, long long folder_id,
                        db_drive_item **out, int *n)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(folder_id, f)};
    return exec_items(c, &st_path, 2, p, out, n);
}

db_status db_drive_depth(db_conn *c, long long account_id, long long folder_id, int *depth)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(folder_id, f)};
    long long v = 0;
    db_status st = folder_id == 0 ? DB_OK : db_q_int(c, &st_depth, 2, p, &v, NULL);
    *depth = (int)v;
    return st;
}

db_status db_drive_is_within(db_conn *c, long long account_id, long long ancestor,
                             long long folder_id, bool *within)
{
    char a[24], anc[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(ancestor, anc), db_ll(folder_id, f)};
    char *text = NULL;
    db_status st = db_q_text(c, &st_within, 3, p, &text);
    *within = st == DB_OK && text != NULL && text[0] == 't';
    free(text);
    return st;
}

/* The folder $2 and the folders under it, with their level (1 = $2). */
#define WALK_DOWN                                                                            \
    "WITH RECURSIVE down (id, lvl) AS ("                                                     \
    " SELECT id, 1 FROM drive_items WHERE account_id = $1 AND id = $2 AND is_folder "        \
    " UNION ALL SELECT i.id, down.lvl + 1 FROM drive_items i JOIN down ON i.parent_id = down.id " \
    "  WHERE i.account_id = $1 AND i.is_folder AND down.lvl < " WALK_LIMIT ") "

static db_stmt st_height = {"drive_height",
    WALK_DOWN "SELECT COALESCE(max(lvl), 0) FROM down", 0};

static db_stmt st_subtree_files = {"drive_subtree_files",
    WALK_DOWN "SELECT f.id, f.size FROM drive_items f JOIN down ON f.parent_id = down.id "
              "WHERE f.account_id = $1 AND NOT f.is_folder ORDER BY f.id",
    0};

db_status db_drive_height(db_conn *c, long long account_id, long long folder_id, int *height)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(folder_id, f)};
    long long v = 0;
    db_status st = db_q_int(c, &st_height, 2, p, &v, NULL);
    *height = (int)v;
    return st;
}

db_status db_drive_subtree_files(db_conn *c, long long account_id, long long folder_id,
                                 long long **ids, int *n, long long *bytes)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(folder_id, f)};
    return exec_ids(c, &st_subtree_files, 2, p, ids, n, bytes);
}

static db_stmt st_count_children = {"drive_count_children",
    "SELECT count(*) FROM drive_items WHERE account_id = $1 AND COALESCE(parent_id, 0) = $2",
    0};

db_status db_drive_count_children(db_conn *c, long long account_id, long long parent_id,
                                  long long *n)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f)};
    return db_q_int(c, &st_count_children, 2, p, n, NULL);
}

static db_stmt st_name_taken = {"drive_name_taken",
    "SELECT count(*) FROM drive_items WHERE account_id = $1 AND COALESCE(parent_id, 0) = $2 "
    " AND name_key = lower($3::text COLLATE \"C\") AND id <> $4",
    0};

db_status db_drive_name_taken(db_conn *c, long long account_id, long long parent_id,
                              const char *name, long long except_id, bool *taken)
{
    char a[24], f[24], x[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f), name, db_ll(except_id, x)};
    long long n = 0;
    db_status st = db_q_int(c, &st_name_taken, 4, p, &n, NULL);
    *taken = n > 0;
    return st;
}

static db_stmt st_find_name = {"drive_find_name",
    "SELECT id, is_folder FROM drive_items WHERE account_id = $1 AND COALESCE(parent_id, 0) = $2 "
    " AND name_key = lower($3::text COLLATE \"C\")",
    0};

db_status db_drive_find_name(db_conn *c, long long account_id, long long parent_id,
                             const char *name, long long *id, bool *is_folder)
{
    char a[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f), name};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_find_name, 3, p, &res);
    *id = 0;
    *is_folder = false;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *is_folder = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_folder_insert = {"drive_folder_insert",
    "INSERT INTO drive_items (account_id, parent_id, is_folder, name, kind, created_by) "
    "VALUES ($1, NULLIF($2::bigint, 0), true, $3, 'folder', NULLIF($4::bigint, 0)) "
    "RETURNING id",
    0};

db_status db_drive_folder_insert(db_conn *c, long long account_id, long long parent_id,
                                 const char *name, long long user_id, long long *id)
{
    char a[24], f[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f), name, db_ll(user_id, u)};
    return db_q_int(c, &st_folder_insert, 4, p, id, NULL);
}

static db_stmt st_file_insert = {"drive_file_insert",
    "INSERT INTO drive_items (account_id, parent_id, is_folder, name, size, kind, content_type, "
    " sha256, created_by, blob_id) "
    "VALUES ($1, NULLIF($2::bigint, 0), false, $3, $4, $5, $6, decode($7, 'hex'), "
    " NULLIF($8::bigint, 0), $9) RETURNING id",
    0};

db_status db_drive_file_insert(db_conn *c, long long account_id, long long parent_id,
                               const char *name, long long size, const char *kind,
                               const char *content_type, const char *sha256_hex,
                               long long user_id, long long blob_id, long long *id)
{
    char a[24], f[24], sz[24], u[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(parent_id, f), name,     db_ll(size, sz),
                       kind,                 content_type,          sha256_hex, db_ll(user_id, u),
                       db_ll(blob_id, b)};
    return db_q_int(c, &st_file_insert, 9, p, id, NULL);
}

static db_stmt st_item_update = {"drive_item_update",
    "UPDATE drive_items SET name = COALESCE($3, name), "
    " parent_id = CASE WHEN $4::boolean THEN NULLIF($5::bigint, 0) ELSE parent_id END "
    "WHERE account_id = $1 AND id = $2",
    0};

db_status db_drive_item_update(db_conn *c, long long account_id, long long id,
                               const char *name, bool set_parent, long long parent_id,
                               bool *found)
{
    char a[24], i[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), name, set_parent ? "true" : "false",
                       db_ll(parent_id, f)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_item_update, 5, p, &changed);
    *found = changed > 0;
    return st;
}

static db_stmt st_item_delete = {"drive_item_delete",
    "DELETE FROM drive_items WHERE account_id = $1 AND id = $2", 0};

db_status db_drive_item_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long changed = 0;
    db_status st = db_q_exec(c, &st_item_delete, 2, p, &changed);
    *found = changed > 0;
    return st;
}

static db_stmt st_drive_bytes = {"drive_bytes",
    "SELECT COALESCE((SELECT drive_bytes FROM account_storage WHERE account_id = $1), 0)", 0};

db_status db_drive_bytes(db_conn *c, long long account_id, long long *bytes)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_int(c, &st_drive_bytes, 1, p, bytes, NULL);
}

/* -------------------------------------------------- retention and sweeps */

/* System job: every account with files older than $1. */
static db_stmt st_retention_accounts = {"drive_retention_accounts",
    "SELECT a.id, a.plan, to_char(a.licence_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') "
    "FROM accounts a WHERE EXISTS (SELECT 1 FROM drive_items f WHERE f.account_id = a.id "
    " AND NOT f.is_folder AND f.created_at < $1::timestamptz) ORDER BY a.id",
    0};

static const db_field account_fields[] = {
    {DBF_I64, offsetof(db_drive_account, id)},
    {DBF_STR, offsetof(db_drive_account, plan)},
    {DBF_STR, offsetof(db_drive_account, expiry)},
};
#define N_ACCOUNT (int)(sizeof account_fields / sizeof account_fields[0])

db_status db_drive_retention_accounts(db_conn *c, const char *cutoff, db_drive_account **out,
                                      int *n)
{
    const char *p[] = {cutoff};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_retention_accounts, 1, p, &res);
    *out = NULL;
    *n = 0;
    if (st == DB_OK) {
        st = db_rows_map(res, account_fields, N_ACCOUNT, sizeof(db_drive_account), (void **)out,
                         n);
    }
    PQclear(res);
    return st;
}

void db_drive_accounts_free(db_drive_account *rows, int n)
{
    db_rows_free(rows, n, account_fields, N_ACCOUNT, sizeof(db_drive_account));
}

static db_stmt st_delete_old = {"drive_delete_old",
    "DELETE FROM drive_items WHERE account_id = $1 AND NOT is_folder "
    " AND created_at < $2::timestamptz RETURNING id, size",
    0};

db_status db_drive_delete_old_files(db_conn *c, long long account_id, const char *cutoff,
                                    long long **ids, int *n, long long *bytes)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a), cutoff};
    return exec_ids(c, &st_delete_old, 2, p, ids, n, bytes);
}

static db_stmt st_account_exists = {"drive_account_exists",
    "SELECT count(*) FROM accounts WHERE id = $1", 0};

db_status db_drive_account_exists(db_conn *c, long long account_id, bool *exists)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    long long n = 0;
    db_status st = db_q_int(c, &st_account_exists, 1, p, &n, NULL);
    *exists = n > 0;
    return st;
}

static db_stmt st_test_data_bytes = {"drive_test_data_bytes",
    "INSERT INTO account_storage (account_id, data_bytes) VALUES ($1, $2) "
    "ON CONFLICT (account_id) DO UPDATE SET data_bytes = $2",
    0};

db_status db_drive_test_set_data_bytes(db_conn *c, long long account_id, long long bytes)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(bytes, b)};
    return db_q_exec(c, &st_test_data_bytes, 2, p, NULL);
}
