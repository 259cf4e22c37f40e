/* Storage of apps, devices and channels: libpq only, prepared statements,
 * every statement filtered by account_id (see db_apps.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_apps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"

/* A timestamptz column as ISO 8601 UTC text. */

/* Whether app "a" is visible to the viewer in parameter "$p" (NULL = an
 * administrator: all apps; a member: the apps of the groups they may view,
 * directly or through a team). */
#define VISIBLE(a, p)                                                                        \
    "(" p "::bigint IS NULL OR " a ".group_id IN ("                                        \
    "SELECT gua.group_id FROM group_user_access gua WHERE gua.account_id = " a ".account_id " \
    "AND gua.user_id = " p " UNION SELECT gta.group_id FROM group_team_access gta "          \
    "JOIN team_members tm ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "   \
    "WHERE gta.account_id = " a ".account_id AND tm.user_id = " p "))"

/* A statement that applies VISIBLE() comes twice: for a member, and for an
 * administrator (viewer $2 NULL), without the clause. In one statement the
 * clause depends on the value of $2, and PostgreSQL then plans it again on
 * every execution (a custom plan per value looks cheaper than the generic
 * one) - the planning cost more than running the query. "head" ends where
 * the clause goes, "tail" follows it. */
typedef struct {
    db_stmt member;
    db_stmt admin;
} vis_stmt;

#define VIS_STMT(name, head, tail)                                                            \
    {                                                                                         \
        {name, head VISIBLE("a", "$2") tail, 0}, {name "_all", head "$2::bigint IS NULL" tail, 0} \
    }

/* The statement of "s" for "viewer" (0 = an administrator). */
static db_stmt *vis(vis_stmt *s, long long viewer)
{
    return viewer > 0 ? &s->member : &s->admin;
}


db_status db_apps_lock_account(db_conn *c, long long account_id)
{
    bool found = false;
    db_status st = db_account_lock(c, account_id, &found);
    return st == DB_OK && !found ? DB_ERROR : st;
}

/* ------------------------------------------------------------------ apps */

#define APP_COLS                                                                             \
    "SELECT a.id, a.group_id, a.kind, a.name, a.enabled, a.credential_prefix, "              \
    DB_ISO("a.credential_set_at") ", " DB_ISO("e.last_seen_at") ", host(e.last_seen_ip), "         \
    DB_ISO("a.created_at") ", " DB_ISO("a.updated_at") ", "                                        \
    "(SELECT count(*) FROM devices d WHERE d.account_id = a.account_id AND d.app_id = a.id), " \
    "COALESCE(e.connected, false), " DB_ISO("e.connected_at") ", "                          \
    DB_ISO("e.disconnected_at") ", "                                                           \
    "e.connection_cause, 60 * COALESCE((SELECT g.disconnect_minutes FROM alarm_groups g "     \
    " WHERE g.account_id = a.account_id AND g.group_id = a.group_id), 10) "                    \
    "FROM apps a LEFT JOIN app_seen e ON e.account_id = a.account_id AND e.app_id = a.id "

static const db_field app_fields[] = {
    {DBF_I64, offsetof(db_app, id)},
    {DBF_I64, offsetof(db_app, group_id)},
    {DBF_STR, offsetof(db_app, kind)},
    {DBF_STR, offsetof(db_app, name)},
    {DBF_BOOL, offsetof(db_app, enabled)},
    {DBF_STR, offsetof(db_app, credential_prefix)},
    {DBF_STR, offsetof(db_app, credential_set_at)},
    {DBF_STR, offsetof(db_app, last_seen_at)},
    {DBF_STR, offsetof(db_app, last_seen_ip)},
    {DBF_STR, offsetof(db_app, created_at)},
    {DBF_STR, offsetof(db_app, updated_at)},
    {DBF_I64, offsetof(db_app, device_count)},
    {DBF_BOOL, offsetof(db_app, connected)},
    {DBF_STR, offsetof(db_app, connected_at)},
    {DBF_STR, offsetof(db_app, disconnected_at)},
    {DBF_STR, offsetof(db_app, connection_cause)},
    {DBF_I64, offsetof(db_app, disconnect_after_s)},
};
#define N_APP_FIELDS (int)(sizeof app_fields / sizeof app_fields[0])

static vis_stmt st_app_list =
    VIS_STMT("adm_app_list", APP_COLS "WHERE a.account_id = $1 AND ", " ORDER BY a.id");
static vis_stmt st_app_get =
    VIS_STMT("adm_app_get", APP_COLS "WHERE a.account_id = $1 AND a.id = $3 AND ", "");
static db_stmt st_app_count = {"adm_app_count",
    "SELECT count(*) FROM apps WHERE account_id = $1", 0};
static db_stmt st_group_exists = {"adm_group_exists",
    "SELECT id FROM measurement_groups WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_app_insert = {"adm_app_insert",
    "INSERT INTO apps (account_id, group_id, kind, name, credential_hash, credential_prefix, "
    " credential_set_at) VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, now()) RETURNING id", 0};
static db_stmt st_app_update = {"adm_app_update",
    "UPDATE apps SET name = COALESCE($3, name), enabled = COALESCE($4::boolean, enabled), "
    " group_id = CASE WHEN $5::boolean THEN $6::bigint ELSE group_id END "
    "WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_app_delete = {"adm_app_delete",
    "DELETE FROM apps WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_app_set_cred = {"adm_app_set_cred",
    "UPDATE apps SET credential_hash = decode($3, 'hex'), credential_prefix = $4, "
    " credential_set_at = now() WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_app_by_cred = {"adm_app_by_cred",
    "SELECT account_id, id, enabled FROM apps WHERE credential_hash = decode($1, 'hex')", 0};
static db_stmt st_app_kind = {"adm_app_kind",
    "SELECT kind FROM apps WHERE account_id = $1 AND id = $2", 0};

/* The viewer parameter: NULL for an administrator (0). */
static const char *viewer_param(char *buf, size_t cap, long long viewer)
{
    if (viewer == 0) {
        return NULL;
    }
    snprintf(buf, cap, "%lld", viewer);
    return buf;
}

db_status db_app_list(db_conn *c, long long account_id, long long viewer, db_app **out, int *n)
{
    char a[24], v[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer)};
    DB_ID(a, account_id);
    return db_exec_rows(c, vis(&st_app_list, viewer), 2, p, app_fields, N_APP_FIELDS,
                        sizeof(db_app), (void **)out, n);
}

db_status db_app_get(db_conn *c, long long account_id, long long viewer, long long app_id,
                     db_app *out, bool *found)
{
    char a[24], v[24], id[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer), id};
    DB_ID(a, account_id);
    DB_ID(id, app_id);
    return db_exec_one(c, vis(&st_app_get, viewer), 3, p, app_fields, N_APP_FIELDS,
                       sizeof(db_app), out, found);
}

void db_app_free(db_app *rows, int n)
{
    db_rows_free(rows, n, app_fields, N_APP_FIELDS, sizeof(db_app));
}

void db_app_clear(db_app *row)
{
    db_row_clear(row, app_fields, N_APP_FIELDS);
}

db_status db_app_count(db_conn *c, long long account_id, long long *out)
{
    char a[24];
    const char *p[] = {a};
    DB_ID(a, account_id);
    return db_q_int(c, &st_app_count, 1, p, out, NULL);
}

db_status db_group_exists(db_conn *c, long long account_id, long long group_id, bool *found)
{
    char a[24], g[24];
    const char *p[] = {a, g};
    DB_ID(a, account_id);
    DB_ID(g, group_id);
    return db_exec_found(c, &st_group_exists, 2, p, found);
}

db_status db_app_insert(db_conn *c, long long account_id, long long group_id, const char *kind,
                        const char *name, const char *cred_hash_hex, const char *cred_prefix,
                        long long *id)
{
    char a[24], g[24];
    const char *p[] = {a, group_id > 0 ? g : NULL, kind, name, cred_hash_hex, cred_prefix};
    DB_ID(a, account_id);
    DB_ID(g, group_id);
    return db_q_int(c, &st_app_insert, 6, p, id, NULL);
}

db_status db_app_update(db_conn *c, long long account_id, long long app_id, const char *name,
                        int enabled, bool set_group, long long group_id, bool *found)
{
    char a[24], id[24], g[24];
    const char *p[] = {a, id, name, enabled < 0 ? NULL : (enabled ? "true" : "false"),
                       set_group ? "true" : "false", group_id > 0 ? g : NULL};
    DB_ID(a, account_id);
    DB_ID(id, app_id);
    DB_ID(g, group_id);
    return db_exec_found(c, &st_app_update, 6, p, found);
}

db_status db_app_delete(db_conn *c, long long account_id, long long app_id, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id};
    DB_ID(a, account_id);
    DB_ID(id, app_id);
    return db_exec_found(c, &st_app_delete, 2, p, found);
}

db_status db_app_set_credential(db_conn *c, long long account_id, long long app_id,
                                const char *cred_hash_hex, const char *cred_prefix, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id, cred_hash_hex, cred_prefix};
    DB_ID(a, account_id);
    DB_ID(id, app_id);
    return db_exec_found(c, &st_app_set_cred, 4, p, found);
}

db_status db_app_by_credential(db_conn *c, const char *cred_hash_hex, long long *account_id,
                               long long *app_id, bool *enabled, bool *found)
{
    const char *p[] = {cred_hash_hex};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_app_by_cred, 1, p, &res);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *app_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *enabled = PQgetvalue(res, 0, 2)[0] == 't';
        *found = true;
    }
    PQclear(res);
    return st;
}

db_status db_app_kind(db_conn *c, long long account_id, long long app_id, char *kind,
                      size_t kind_cap, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id};
    PGresult *res = NULL;
    db_status st;
    DB_ID(a, account_id);
    DB_ID(id, app_id);
    st = db_exec(c, &st_app_kind, 2, p, &res);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        snprintf(kind, kind_cap, "%s", PQgetvalue(res, 0, 0));
        *found = true;
    }
    PQclear(res);
    return st;
}

/* --------------------------------------------------------------- devices */

/* The times as µs since the Unix epoch (the service writes them as ISO
 * 8601: two to_char() per row were half the list's statement, issue 16). */
#define DEVICE_SELECT                                                                        \
    "SELECT d.id, d.app_id, a.kind, d.model, d.serial, d.firmware, d.name, "                 \
    "(extract(epoch FROM d.created_at) * 1000000)::bigint, "                                 \
    "(extract(epoch FROM d.updated_at) * 1000000)::bigint, "
/* One device: its channels counted by a subquery. */
#define DEVICE_COLS                                                                          \
    DEVICE_SELECT "n.channels, n.selected "                                                  \
    "FROM devices d JOIN apps a ON a.account_id = d.account_id AND a.id = d.app_id "         \
    "CROSS JOIN LATERAL (SELECT count(*) AS channels, count(*) FILTER (WHERE ch.selected) "  \
    " AS selected FROM channels ch WHERE ch.account_id = d.account_id "                      \
    " AND ch.device_id = d.id) n "
/* The list: the account's channels counted in one grouped scan (a subquery
 * per device was more than half of the rest). */
#define DEVICE_LIST_COLS                                                                     \
    DEVICE_SELECT "COALESCE(n.channels, 0), COALESCE(n.selected, 0) "                        \
    "FROM devices d JOIN apps a ON a.account_id = d.account_id AND a.id = d.app_id "         \
    "LEFT JOIN (SELECT ch.device_id, count(*) AS channels, "                                 \
    " count(*) FILTER (WHERE ch.selected) AS selected FROM channels ch "                     \
    " WHERE ch.account_id = $1 GROUP BY ch.device_id) n ON n.device_id = d.id "

static const db_field device_fields[] = {
    {DBF_I64, offsetof(db_device, id)},
    {DBF_I64, offsetof(db_device, app_id)},
    {DBF_STR, offsetof(db_device, app_kind)},
    {DBF_STR, offsetof(db_device, model)},
    {DBF_STR, offsetof(db_device, serial)},
    {DBF_STR, offsetof(db_device, firmware)},
    {DBF_STR, offsetof(db_device, name)},
    {DBF_I64, offsetof(db_device, created_us)},
    {DBF_I64, offsetof(db_device, updated_us)},
    {DBF_I64, offsetof(db_device, channel_count)},
    {DBF_I64, offsetof(db_device, selected_count)},
};
#define N_DEVICE_FIELDS (int)(sizeof device_fields / sizeof device_fields[0])

static vis_stmt st_device_list =
    VIS_STMT("adm_device_list",
             DEVICE_LIST_COLS "WHERE d.account_id = $1 AND ($3::bigint IS NULL OR d.app_id = $3) AND ",
             " ORDER BY d.id");
static vis_stmt st_device_get =
    VIS_STMT("adm_device_get", DEVICE_COLS "WHERE d.account_id = $1 AND d.id = $3 AND ", "");
static db_stmt st_device_count = {"adm_device_count",
    "SELECT count(*) FROM devices WHERE account_id = $1 AND app_id = $2", 0};
static db_stmt st_device_insert = {"adm_device_insert",
    "INSERT INTO devices (account_id, app_id, model, serial, firmware, name) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 0};
static db_stmt st_device_update = {"adm_device_update",
    "UPDATE devices SET model = $3, serial = $4, firmware = $5, name = $6 "
    "WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_device_delete = {"adm_device_delete",
    "DELETE FROM devices WHERE account_id = $1 AND id = $2", 0};

db_status db_device_list(db_conn *c, long long account_id, long long viewer, long long app_id,
                         db_device **out, int *n)
{
    char a[24], v[24], app[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer), app_id > 0 ? app : NULL};
    DB_ID(a, account_id);
    DB_ID(app, app_id);
    return db_exec_rows(c, vis(&st_device_list, viewer), 3, p, device_fields, N_DEVICE_FIELDS,
                        sizeof(db_device), (void **)out, n);
}

db_status db_device_get(db_conn *c, long long account_id, long long viewer, long long device_id,
                        db_device *out, bool *found)
{
    char a[24], v[24], id[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer), id};
    DB_ID(a, account_id);
    DB_ID(id, device_id);
    return db_exec_one(c, vis(&st_device_get, viewer), 3, p, device_fields, N_DEVICE_FIELDS,
                       sizeof(db_device), out, found);
}

void db_device_free(db_device *rows, int n)
{
    db_rows_free(rows, n, device_fields, N_DEVICE_FIELDS, sizeof(db_device));
}

void db_device_clear(db_device *row)
{
    db_row_clear(row, device_fields, N_DEVICE_FIELDS);
}

db_status db_device_count(db_conn *c, long long account_id, long long app_id, long long *out)
{
    char a[24], app[24];
    const char *p[] = {a, app};
    DB_ID(a, account_id);
    DB_ID(app, app_id);
    return db_q_int(c, &st_device_count, 2, p, out, NULL);
}

db_status db_device_insert(db_conn *c, long long account_id, long long app_id, const char *model,
                           const char *serial, const char *firmware, const char *name,
                           long long *id)
{
    char a[24], app[24];
    const char *p[] = {a, app, model, serial, firmware, name};
    DB_ID(a, account_id);
    DB_ID(app, app_id);
    return db_q_int(c, &st_device_insert, 6, p, id, NULL);
}

db_status db_device_update(db_conn *c, long long account_id, long long device_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id, model, serial, firmware, name};
    DB_ID(a, account_id);
    DB_ID(id, device_id);
    return db_exec_found(c, &st_device_update, 6, p, found);
}

db_status db_device_delete(db_conn *c, long long account_id, long long device_id, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id};
    DB_ID(a, account_id);
    DB_ID(id, device_id);
    return db_exec_found(c, &st_device_delete, 2, p, found);
}

/* -------------------------------------------------------------- channels */

#define CHANNEL_COLS                                                                         \
    "SELECT ch.id, ch.device_id, ch.ch_key, ch.name, ch.unit, ch.selected, ch.position, "    \
    "COALESCE(ch.decimals, -1), "                                                             \
    DB_ISO("ch.created_at") ", " DB_ISO("ch.updated_at") " "                                       \
    "FROM channels ch JOIN devices d ON d.account_id = ch.account_id AND d.id = ch.device_id " \
    "JOIN apps a ON a.account_id = d.account_id AND a.id = d.app_id "

static const db_field channel_fields[] = {
    {DBF_I64, offsetof(db_channel, id)},
    {DBF_I64, offsetof(db_channel, device_id)},
    {DBF_STR, offsetof(db_channel, key)},
    {DBF_STR, offsetof(db_channel, name)},
    {DBF_STR, offsetof(db_channel, unit)},
    {DBF_BOOL, offsetof(db_channel, selected)},
    {DBF_I64, offsetof(db_channel, position)},
    {DBF_I64, offsetof(db_channel, decimals)},
    {DBF_STR, offsetof(db_channel, created_at)},
    {DBF_STR, offsetof(db_channel, updated_at)},
};
#define N_CHANNEL_FIELDS (int)(sizeof channel_fields / sizeof channel_fields[0])

static vis_stmt st_channel_list =
    VIS_STMT("adm_channel_list", CHANNEL_COLS "WHERE ch.account_id = $1 AND ch.device_id = $3 AND ",
             " ORDER BY ch.position, ch.id");
static vis_stmt st_channel_get =
    VIS_STMT("adm_channel_get", CHANNEL_COLS "WHERE ch.account_id = $1 AND ch.id = $3 AND ", "");
static db_stmt st_channel_insert = {"adm_channel_insert",
    "INSERT INTO channels (account_id, device_id, ch_key, name, unit, position, decimals) "
    "VALUES ($1, $2, $3, $4, $5, (SELECT COALESCE(max(position) + 1, 0) FROM channels "
    " WHERE account_id = $1 AND device_id = $2), $6::smallint) RETURNING id", 0};
static db_stmt st_channel_update = {"adm_channel_update",
    "UPDATE channels SET name = COALESCE($3, name), unit = COALESCE($4, unit), "
    " decimals = CASE WHEN $5::boolean THEN $6::smallint ELSE decimals END "
    "WHERE account_id = $1 AND id = $2 AND device_id IS NOT NULL", 0};
static db_stmt st_channel_delete = {"adm_channel_delete",
    "DELETE FROM channels WHERE account_id = $1 AND id = $2 AND device_id IS NOT NULL", 0};
static db_stmt st_selection_inspect = {"adm_selection_inspect",
    "SELECT count(*), count(*) FILTER (WHERE NOT selected) FROM channels "
    "WHERE account_id = $1 AND device_id = $2 AND id = ANY ($3::bigint[])", 0};
static db_stmt st_selection_apply = {"adm_selection_apply",
    "UPDATE channels SET selected = (id = ANY ($3::bigint[])) "
    "WHERE account_id = $1 AND device_id = $2 AND selected <> (id = ANY ($3::bigint[]))", 0};

db_status db_channel_list(db_conn *c, long long account_id, long long viewer,
                          long long device_id, db_channel **out, int *n)
{
    char a[24], v[24], d[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer), d};
    DB_ID(a, account_id);
    DB_ID(d, device_id);
    return db_exec_rows(c, vis(&st_channel_list, viewer), 3, p, channel_fields, N_CHANNEL_FIELDS,
                        sizeof(db_channel), (void **)out, n);
}

db_status db_channel_get(db_conn *c, long long account_id, long long viewer,
                         long long channel_id, db_channel *out, bool *found)
{
    char a[24], v[24], id[24];
    const char *p[] = {a, viewer_param(v, sizeof v, viewer), id};
    DB_ID(a, account_id);
    DB_ID(id, channel_id);
    return db_exec_one(c, vis(&st_channel_get, viewer), 3, p, channel_fields, N_CHANNEL_FIELDS,
                       sizeof(db_channel), out, found);
}

void db_channel_free(db_channel *rows, int n)
{
    db_rows_free(rows, n, channel_fields, N_CHANNEL_FIELDS, sizeof(db_channel));
}

void db_channel_clear(db_channel *row)
{
    db_row_clear(row, channel_fields, N_CHANNEL_FIELDS);
}

db_status db_channel_insert(db_conn *c, long long account_id, long long device_id,
                            const char *key, const char *name, const char *unit, int decimals,
                            long long *id)
{
    char a[24], d[24], dec[12];
    const char *p[] = {a, d, key, name, unit, decimals >= 0 ? dec : NULL};
    DB_ID(a, account_id);
    DB_ID(d, device_id);
    snprintf(dec, sizeof dec, "%d", decimals);
    return db_q_int(c, &st_channel_insert, 6, p, id, NULL);
}

db_status db_channel_update(db_conn *c, long long account_id, long long channel_id,
                            const char *name, const char *unit, bool set_decimals, int decimals,
                            bool *found)
{
    char a[24], id[24], dec[12];
    const char *p[] = {a, id, name, unit, set_decimals ? "true" : "false",
                       set_decimals && decimals >= 0 ? dec : NULL};
    DB_ID(a, account_id);
    DB_ID(id, channel_id);
    snprintf(dec, sizeof dec, "%d", decimals);
    return db_exec_found(c, &st_channel_update, 6, p, found);
}

db_status db_channel_delete(db_conn *c, long long account_id, long long channel_id, bool *found)
{
    char a[24], id[24];
    const char *p[] = {a, id};
    DB_ID(a, account_id);
    DB_ID(id, channel_id);
    return db_exec_found(c, &st_channel_delete, 2, p, found);
}

db_status db_selection_inspect(db_conn *c, long long account_id, long long device_id,
                               const int64_t *ids, size_t n, long long *on_device,
                               long long *added)
{
    char a[24], d[24];
    char *arr = db_id_array(ids, n);
    PGresult *res = NULL;
    db_status st;
    *on_device = *added = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {a, d, arr};
        DB_ID(a, account_id);
        DB_ID(d, device_id);
        st = db_exec(c, &st_selection_inspect, 3, p, &res);
    }
    if (st == DB_OK && PQntuples(res) == 1) {
        *on_device = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *added = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    free(arr);
    return st;
}

db_status db_selection_apply(db_conn *c, long long account_id, long long device_id,
                             const int64_t *ids, size_t n)
{
    char a[24], d[24];
    char *arr = db_id_array(ids, n);
    db_status st;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {a, d, arr};
        DB_ID(a, account_id);
        DB_ID(d, device_id);
        st = db_exec(c, &st_selection_apply, 3, p, NULL);
    }
    free(arr);
    return st;
}
