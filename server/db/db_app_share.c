/* Storage of what the gateway apps share (see db_app_share.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_app_share.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"

/* The id text of "v", NULL (SQL NULL) for 0. */
static const char *opt_id(long long v, char buf[24])
{
    return v > 0 ? db_ll(v, buf) : NULL;
}

static db_stmt st_app = {"share_app",
    "SELECT p.kind, COALESCE(p.group_id, 0), a.plan, "
    " ((a.licence_expires_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'), p.name "
    "FROM apps p JOIN accounts a ON a.id = p.account_id WHERE p.account_id = $1 AND p.id = $2", 0};

db_status db_share_app(db_conn *c, long long account_id, long long app_id, char kind[16],
                       long long *group_id, char plan[16], bool *has_expiry,
                       long long *expiry_day, char name[DB_SHARE_APP_NAME], bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_app, 2, p, &res);
    *found = false;
    *group_id = 0;
    *has_expiry = false;
    *expiry_day = 0;
    kind[0] = '\0';
    plan[0] = '\0';
    name[0] = '\0';
    if (st == DB_OK && PQntuples(res) == 1) {
        *found = true;
        snprintf(kind, 16, "%s", PQgetvalue(res, 0, 0));
        *group_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(plan, 16, "%s", PQgetvalue(res, 0, 2));
        *has_expiry = !PQgetisnull(res, 0, 3);
        *expiry_day = *has_expiry ? strtoll(PQgetvalue(res, 0, 3), NULL, 10) : 0;
        snprintf(name, DB_SHARE_APP_NAME, "%s", PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    return st;
}

static db_stmt st_group = {"share_group",
    "SELECT 1 FROM measurement_groups WHERE account_id = $1 AND id = $2", 0};

db_status db_share_group_exists(db_conn *c, long long account_id, long long group_id, bool *found)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_exec_found(c, &st_group, 2, p, found);
}

/* ------------------------------------------------------------ app files */

#define FILE_JSON                                                                            \
    "json_build_object('id', f.id, 'kind', f.kind, 'group_id', f.group_id, 'name', f.name, " \
    " 'content_type', f.content_type, 'size', f.size, 'sha256', f.sha256, "                 \
    " 'uploaded_by', json_build_object('user_id', f.by_user_id, 'app_id', f.by_app_id, "    \
    "   'name', COALESCE(u.name, ap.name)), "                                               \
    " 'created_at', mt_utc(f.created_at), 'updated_at', mt_utc(f.updated_at))"
#define FILE_FROM                                                                            \
    " FROM app_files f LEFT JOIN users u ON u.id = f.by_user_id "                          \
    " LEFT JOIN apps ap ON ap.id = f.by_app_id "

static db_stmt st_file_count = {"share_file_count",
    "SELECT count(*) FROM app_files WHERE account_id = $1 AND kind = $2 "
    "AND COALESCE(group_id, 0) = $3", 0};

db_status db_share_file_count(db_conn *c, long long account_id, const char *kind,
                              long long group_id, long long *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), kind, db_ll(group_id, g)};
    *n = 0;
    return db_q_int(c, &st_file_count, 3, p, n, NULL);
}

static db_stmt st_file_list = {"share_file_list",
    "SELECT COALESCE(json_agg(" FILE_JSON " ORDER BY f.name, f.id), '[]')::text" FILE_FROM
    "WHERE f.account_id = $1 AND f.kind = $2 AND COALESCE(f.group_id, 0) = $3", 0};

db_status db_share_file_list(db_conn *c, long long account_id, const char *kind,
                             long long group_id, char **json)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), kind, db_ll(group_id, g)};
    return db_q_text(c, &st_file_list, 3, p, json);
}

static db_stmt st_file_get = {"share_file_get",
    "SELECT COALESCE(group_id, 0), COALESCE(blob_id, 0), size, name, content_type "
    "FROM app_files WHERE account_id = $1 AND kind = $2 AND id = $3", 0};

db_status db_share_file_get(db_conn *c, long long account_id, const char *kind, long long id,
                            db_share_file *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), kind, db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_file_get, 3, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *found = true;
        out->group_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->blob_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->size = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(res, 0, 3));
        snprintf(out->content_type, sizeof out->content_type, "%s", PQgetvalue(res, 0, 4));
    }
    PQclear(res);
    return st;
}

static db_stmt st_file_by_name = {"share_file_by_name",
    "SELECT id FROM app_files WHERE account_id = $1 AND kind = $2 "
    "AND COALESCE(group_id, 0) = $3 AND name = $4 FOR UPDATE", 0};

db_status db_share_file_by_name(db_conn *c, long long account_id, const char *kind,
                                long long group_id, const char *name, long long *id,
                                bool *found)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), kind, db_ll(group_id, g), name};
    *id = 0;
    return db_q_int(c, &st_file_by_name, 4, p, id, found);
}

static db_stmt st_file_insert = {"share_file_insert",
    "INSERT INTO app_files (account_id, kind, group_id, name, content_type, size, sha256, "
    " blob_id, by_user_id, by_app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "RETURNING id", 0};

db_status db_share_file_insert(db_conn *c, long long account_id, const char *kind,
                               long long group_id, const char *name, const char *content_type,
                               long long size, const char *sha256, long long blob_id,
                               db_share_by by, long long *id)
{
    char a[24], g[24], s[24], b[24], u[24], ap[24];
    const char *p[] = {db_ll(account_id, a), kind, opt_id(group_id, g), name, content_type,
                       db_ll(size, s), sha256, db_ll(blob_id, b), opt_id(by.user_id, u),
                       opt_id(by.app_id, ap)};
    *id = 0;
    return db_q_int(c, &st_file_insert, 10, p, id, NULL);
}

static db_stmt st_file_replace = {"share_file_replace",
    "UPDATE app_files SET content_type = $3, size = $4, sha256 = $5, blob_id = $6, "
    " by_user_id = $7, by_app_id = $8, updated_at = now() WHERE account_id = $1 AND id = $2", 0};

db_status db_share_file_replace(db_conn *c, long long account_id, long long id,
                                const char *content_type, long long size, const char *sha256,
                                long long blob_id, db_share_by by)
{
    char a[24], i[24], s[24], b[24], u[24], ap[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), content_type, db_ll(size, s), sha256,
                       db_ll(blob_id, b), opt_id(by.user_id, u), opt_id(by.app_id, ap)};
    return db_q_exec(c, &st_file_replace, 8, p, NULL);
}

static db_stmt st_file_json = {"share_file_json",
    "SELECT " FILE_JSON "::text" FILE_FROM "WHERE f.account_id = $1 AND f.id = $2", 0};

db_status db_share_file_json(db_conn *c, long long account_id, long long id, char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_file_json, 2, p, json);
}

static db_stmt st_file_delete = {"share_file_delete",
    "DELETE FROM app_files WHERE account_id = $1 AND kind = $2 AND id = $3 RETURNING size", 0};

db_status db_share_file_delete(db_conn *c, long long account_id, const char *kind, long long id,
                               bool *found, long long *size)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), kind, db_ll(id, i)};
    *size = 0;
    return db_q_int(c, &st_file_delete, 3, p, size, found);
}

/* ------------------------------------------------------ equipment lists */

#define EQUIP_JSON(items)                                                                    \
    "json_build_object('id', l.id, 'name', l.name, " items                                  \
    " 'item_count', jsonb_array_length(l.items), "                                          \
    " 'updated_by', json_build_object('user_id', l.by_user_id, 'app_id', l.by_app_id, "     \
    "   'name', COALESCE(u.name, ap.name)), "                                               \
    " 'created_at', mt_utc(l.created_at), 'updated_at', mt_utc(l.updated_at))"
#define EQUIP_FROM                                                                           \
    " FROM equipment_lists l LEFT JOIN users u ON u.id = l.by_user_id "                    \
    " LEFT JOIN apps ap ON ap.id = l.by_app_id "

static db_stmt st_equip_count = {"equip_count",
    "SELECT count(*) FROM equipment_lists WHERE account_id = $1", 0};

db_status db_equip_count(db_conn *c, long long account_id, long long *n)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    *n = 0;
    return db_q_int(c, &st_equip_count, 1, p, n, NULL);
}

static db_stmt st_equip_list = {"equip_list",
    "SELECT COALESCE(json_agg(" EQUIP_JSON("") " ORDER BY l.name, l.id), '[]')::text" EQUIP_FROM
    "WHERE l.account_id = $1", 0};

db_status db_equip_list(db_conn *c, long long account_id, char **json)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_text(c, &st_equip_list, 1, p, json);
}

static db_stmt st_equip_json = {"equip_json",
    "SELECT " EQUIP_JSON("'items', l.items,") "::text" EQUIP_FROM
    "WHERE l.account_id = $1 AND l.id = $2", 0};

db_status db_equip_json(db_conn *c, long long account_id, long long id, char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_equip_json, 2, p, json);
}

static db_stmt st_equip_insert = {"equip_insert",
    "INSERT INTO equipment_lists (account_id, name, items, by_user_id, by_app_id) "
    "VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING id", 0};

db_status db_equip_insert(db_conn *c, long long account_id, const char *name, const char *items,
                          db_share_by by, long long *id)
{
    char a[24], u[24], ap[24];
    const char *p[] = {db_ll(account_id, a), name, items, opt_id(by.user_id, u),
                       opt_id(by.app_id, ap)};
    *id = 0;
    return db_q_int(c, &st_equip_insert, 5, p, id, NULL);
}

static db_stmt st_equip_update = {"equip_update",
    "UPDATE equipment_lists SET name = COALESCE($3, name), items = COALESCE($4::jsonb, items), "
    " by_user_id = $5, by_app_id = $6, updated_at = now() WHERE account_id = $1 AND id = $2", 0};

db_status db_equip_update(db_conn *c, long long account_id, long long id, const char *name,
                          const char *items, db_share_by by, bool *found)
{
    char a[24], i[24], u[24], ap[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), name, items, opt_id(by.user_id, u),
                       opt_id(by.app_id, ap)};
    return db_exec_found(c, &st_equip_update, 6, p, found);
}

static db_stmt st_equip_delete = {"equip_delete",
    "DELETE FROM equipment_lists WHERE account_id = $1 AND id = $2 RETURNING name", 0};

db_status db_equip_delete(db_conn *c, long long account_id, long long id, char **name)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_equip_delete, 2, p, name);
}
