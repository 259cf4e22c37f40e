#define _POSIX_C_SOURCE 200809L
#include "db_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"

/* The shapes most statements here share: (account, id) -> one JSON text or
 * a row count; (account, name, description) -> the new id; (account, id,
 * name, description) -> a row count. */
static db_status text_by_id(db_conn *c, db_stmt *st, long long account_id, long long id,
                            char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, st, 2, p, json);
}

static db_status exec_by_id(db_conn *c, db_stmt *st, long long account_id, long long id,
                            long long *changed)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_exec(c, st, 2, p, changed);
}

static db_status insert_named(db_conn *c, db_stmt *st, long long account_id, const char *name,
                              const char *description, long long *id)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a), name, description};
    return db_q_int(c, st, 3, p, id, NULL);
}

static db_status update_named(db_conn *c, db_stmt *st, long long account_id, long long id,
                              const char *name, const char *description, long long *changed)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), name, description};
    return db_q_exec(c, st, 4, p, changed);
}

/* ----------------------------------------------------------------- users */

#define USER_JSON                                                                         \
    "json_build_object('id', u.id, 'login_id', u.login_id, 'name', u.name, "              \
    " 'email', u.email, 'role', u.role, 'file_access', u.file_access, "                   \
    " 'two_step', u.two_step, 'totp_enrolled', u.totp_secret IS NOT NULL, "               \
    " 'language', u.language, 'time_zone', u.time_zone, 'disabled', u.disabled, "         \
    " 'current_group_id', u.current_group_id, "                                           \
    " 'team_ids', (SELECT COALESCE(json_agg(tm.team_id ORDER BY tm.team_id), '[]') "      \
    "   FROM team_members tm WHERE tm.account_id = u.account_id AND tm.user_id = u.id), " \
    " 'last_login_at', mt_utc(u.last_login_at), 'created_at', mt_utc(u.created_at), "     \
    " 'updated_at', mt_utc(u.updated_at))"

static db_stmt st_users_list = {"users_list",
    "SELECT COALESCE(json_agg(" USER_JSON " ORDER BY u.id), '[]')::text "
    "FROM users u WHERE u.account_id = $1", 0};

db_status db_users_list(db_conn *c, long long account_id, char **json)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_text(c, &st_users_list, 1, p, json);
}

static db_stmt st_user_get = {"user_get",
    "SELECT " USER_JSON "::text FROM users u WHERE u.account_id = $1 AND u.id = $2", 0};

db_status db_user_get(db_conn *c, long long account_id, long long id, char **json)
{
    return text_by_id(c, &st_user_get, account_id, id, json);
}

static db_stmt st_user_facts = {"user_facts",
    "SELECT role = 'admin', email IS NOT NULL, totp_secret IS NOT NULL, login_id "
    "FROM users WHERE account_id = $1 AND id = $2", 0};

db_status db_user_facts_get(db_conn *c, long long account_id, long long id, db_user_facts *out)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_user_facts, 2, p, &res);
    memset(out, 0, sizeof *out);
    if (st == DB_OK && PQntuples(res) > 0) {
        out->found = true;
        out->admin = PQgetvalue(res, 0, 0)[0] == 't';
        out->has_email = PQgetvalue(res, 0, 1)[0] == 't';
        out->has_totp = PQgetvalue(res, 0, 2)[0] == 't';
        snprintf(out->login_id, sizeof out->login_id, "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return st;
}

static db_stmt st_count_admins = {"users_count_admins",
    "SELECT count(*) FROM users WHERE account_id = $1 AND role = 'admin' AND NOT disabled", 0};

db_status db_users_count_admins(db_conn *c, long long account_id, long long *n)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_int(c, &st_count_admins, 1, p, n, NULL);
}

static db_stmt st_user_insert = {"user_insert",
    "INSERT INTO users (account_id, login_id, name, email, role, file_access, two_step, "
    " password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id", 0};

db_status db_user_insert(db_conn *c, long long account_id, const char *login_id,
                         const char *name, const char *email, const char *role,
                         const char *file_access, const char *two_step, const char *hash,
                         long long *id)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a), login_id, name, email, role, file_access,
                       two_step, hash};
    return db_q_int(c, &st_user_insert, 8, p, id, NULL);
}

static db_stmt st_user_update = {"user_update",
    "UPDATE users SET name = COALESCE($3, name), "
    " email = CASE WHEN $4::boolean THEN $5 ELSE email END, "
    " role = COALESCE($6, role), file_access = COALESCE($7, file_access), "
    " two_step = COALESCE($8, two_step), disabled = COALESCE($9::boolean, disabled), "
    " language = CASE WHEN $10::boolean THEN $11 ELSE language END, "
    " time_zone = CASE WHEN $12::boolean THEN $13 ELSE time_zone END, "
    " password_hash = COALESCE($14, password_hash), "
    " password_changed_at = CASE WHEN $14 IS NULL THEN password_changed_at ELSE now() END "
    "WHERE account_id = $1 AND id = $2", 0};

db_status db_user_update(db_conn *c, long long account_id, long long id, const db_user_patch *u,
                         long long *changed)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), u->name,
                       u->set_email ? "true" : "false", u->email, u->role, u->file_access,
                       u->two_step, u->disabled, u->set_language ? "true" : "false",
                       u->language, u->set_time_zone ? "true" : "false", u->time_zone,
                       u->password_hash};
    return db_q_exec(c, &st_user_update, 14, p, changed);
}

static db_stmt st_user_language_if_unset = {"user_language_if_unset",
    "UPDATE users SET language = $3 "
    "WHERE account_id = $1 AND id = $2 AND language IS NULL", 0};

db_status db_user_language_if_unset(db_conn *c, long long account_id, long long id,
                                    const char *language, long long *changed)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), language};
    return db_q_exec(c, &st_user_language_if_unset, 3, p, changed);
}

static db_stmt st_user_delete = {"user_delete",
    "DELETE FROM users WHERE account_id = $1 AND id = $2", 0};

db_status db_user_delete(db_conn *c, long long account_id, long long id, long long *changed)
{
    return exec_by_id(c, &st_user_delete, account_id, id, changed);
}

static db_stmt st_users_count_ids = {"users_count_ids",
    "SELECT count(*) FROM users WHERE account_id = $1 AND id = ANY ($2::bigint[])", 0};
static db_stmt st_teams_count_ids = {"teams_count_ids",
    "SELECT count(*) FROM teams WHERE account_id = $1 AND id = ANY ($2::bigint[])", 0};

/* Run "stmt" with the account id and "ids" as a bigint[] parameter; its one
 * integer into *out. */
static db_status count_ids(db_conn *c, db_stmt *stmt, long long account_id, const int64_t *ids,
                           size_t n, long long *out)
{
    char a[24];
    char *arr = db_id_array(ids, n);
    db_status st;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(account_id, a), arr};
        st = db_q_int(c, stmt, 2, p, out, NULL);
    }
    free(arr);
    return st;
}

db_status db_users_count_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                             long long *found)
{
    return count_ids(c, &st_users_count_ids, account_id, ids, n, found);
}

db_status db_teams_count_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                             long long *found)
{
    return count_ids(c, &st_teams_count_ids, account_id, ids, n, found);
}

/* ----------------------------------------------------------------- teams */

#define TEAM_JSON                                                                           \
    "json_build_object('id', t.id, 'name', t.name, 'description', t.description, "          \
    " 'member_ids', (SELECT COALESCE(json_agg(tm.user_id ORDER BY tm.user_id), '[]') "      \
    "   FROM team_members tm WHERE tm.account_id = t.account_id AND tm.team_id = t.id), "   \
    " 'created_at', mt_utc(t.created_at), 'updated_at', mt_utc(t.updated_at))"

static db_stmt st_teams_list = {"teams_list",
    "SELECT COALESCE(json_agg(" TEAM_JSON " ORDER BY t.id), '[]')::text "
    "FROM teams t WHERE t.account_id = $1", 0};

db_status db_teams_list(db_conn *c, long long account_id, char **json)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    return db_q_text(c, &st_teams_list, 1, p, json);
}

static db_stmt st_team_get = {"team_get",
    "SELECT " TEAM_JSON "::text FROM teams t WHERE t.account_id = $1 AND t.id = $2", 0};

db_status db_team_get(db_conn *c, long long account_id, long long id, char **json)
{
    return text_by_id(c, &st_team_get, account_id, id, json);
}

static db_stmt st_team_insert = {"team_insert",
    "INSERT INTO teams (account_id, name, description) VALUES ($1, $2, COALESCE($3, '')) "
    "RETURNING id", 0};

db_status db_team_insert(db_conn *c, long long account_id, const char *name,
                         const char *description, long long *id)
{
    return insert_named(c, &st_team_insert, account_id, name, description, id);
}

static db_stmt st_team_update = {"team_update",
    "UPDATE teams SET name = COALESCE($3, name), description = COALESCE($4, description) "
    "WHERE account_id = $1 AND id = $2", 0};

db_status db_team_update(db_conn *c, long long account_id, long long id, const char *name,
                         const char *description, long long *changed)
{
    return update_named(c, &st_team_update, account_id, id, name, description, changed);
}

static db_stmt st_team_delete = {"team_delete",
    "DELETE FROM teams WHERE account_id = $1 AND id = $2", 0};

db_status db_team_delete(db_conn *c, long long account_id, long long id, long long *changed)
{
    return exec_by_id(c, &st_team_delete, account_id, id, changed);
}

static db_stmt st_team_clear = {"team_members_clear",
    "DELETE FROM team_members WHERE account_id = $1 AND team_id = $2", 0};
static db_stmt st_team_fill = {"team_members_fill",
    "INSERT INTO team_members (account_id, team_id, user_id) "
    "SELECT $1, $2, x FROM unnest($3::bigint[]) AS x ON CONFLICT DO NOTHING", 0};

db_status db_team_set_members(db_conn *c, long long account_id, long long id,
                              const int64_t *ids, size_t n)
{
    char a[24], i[24];
    char *arr = db_id_array(ids, n);
    db_status st;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(account_id, a), db_ll(id, i), arr};
        st = db_q_exec(c, &st_team_clear, 2, p, NULL);
        if (st == DB_OK) {
            st = db_q_exec(c, &st_team_fill, 3, p, NULL);
        }
    }
    free(arr);
    return st;
}

static db_stmt st_team_add = {"team_member_add",
    "INSERT INTO team_members (account_id, team_id, user_id) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING", 0};

db_status db_team_add_member(db_conn *c, long long account_id, long long id, long long user_id)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(user_id, u)};
    return db_q_exec(c, &st_team_add, 3, p, NULL);
}

static db_stmt st_team_remove = {"team_member_remove",
    "DELETE FROM team_members WHERE account_id = $1 AND team_id = $2 AND user_id = $3", 0};

db_status db_team_remove_member(db_conn *c, long long account_id, long long id,
                                long long user_id, long long *changed)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(user_id, u)};
    return db_q_exec(c, &st_team_remove, 3, p, changed);
}

/* ---------------------------------------------------------------- groups */

/* The best grant of user $2 on group g (directly or through a team), NULL
 * when none; 'edit' for administrators ($3). */
#define GROUP_MY_ACCESS                                                                    \
    "CASE WHEN $3::boolean THEN 'edit' ELSE ("                                             \
    " SELECT CASE WHEN bool_or(x.access = 'edit') THEN 'edit' "                            \
    "             WHEN count(*) > 0 THEN 'view' END FROM ("                               \
    "  SELECT ua.access FROM group_user_access ua WHERE ua.account_id = g.account_id "     \
    "   AND ua.group_id = g.id AND ua.user_id = $2 "                                       \
    "  UNION ALL SELECT ta.access FROM group_team_access ta JOIN team_members tm "         \
    "   ON tm.account_id = ta.account_id AND tm.team_id = ta.team_id "                    \
    "   WHERE ta.account_id = g.account_id AND ta.group_id = g.id AND tm.user_id = $2) x"  \
    ") END"

#define GROUP_JSON                                                                       \
    "json_build_object('id', g.id, 'name', g.name, 'description', g.description, "       \
    " 'time_zone', g.time_zone, "                                                         \
    " 'my_access', g.my_access, 'created_at', mt_utc(g.created_at), "                     \
    " 'updated_at', mt_utc(g.updated_at))"

#define GROUP_ACCESS_JSON                                                                    \
    "json_build_object("                                                                     \
    " 'users', (SELECT COALESCE(json_agg(json_build_object('user_id', ua.user_id, "         \
    "   'access', ua.access) ORDER BY ua.user_id), '[]') FROM group_user_access ua "         \
    "   WHERE ua.account_id = g.account_id AND ua.group_id = g.id), "                       \
    " 'teams', (SELECT COALESCE(json_agg(json_build_object('team_id', ta.team_id, "         \
    "   'access', ta.access) ORDER BY ta.team_id), '[]') FROM group_team_access ta "         \
    "   WHERE ta.account_id = g.account_id AND ta.group_id = g.id))"

static db_stmt st_groups_list = {"groups_list",
    "SELECT COALESCE(json_agg(" GROUP_JSON " ORDER BY g.id), '[]')::text FROM ("
    " SELECT g.*, " GROUP_MY_ACCESS " AS my_access FROM measurement_groups g "
    " WHERE g.account_id = $1) g WHERE g.my_access IS NOT NULL", 0};

db_status db_groups_list(db_conn *c, long long account_id, long long user_id, bool admin,
                         char **json)
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), admin ? "true" : "false"};
    return db_q_text(c, &st_groups_list, 3, p, json);
}

static db_stmt st_group_get = {"group_get",
    "SELECT (" GROUP_JSON "::jsonb || CASE WHEN $3::boolean THEN "
    " jsonb_build_object('access', " GROUP_ACCESS_JSON ") ELSE '{}' END)::text FROM ("
    " SELECT g.*, " GROUP_MY_ACCESS " AS my_access FROM measurement_groups g "
    " WHERE g.account_id = $1 AND g.id = $4) g WHERE g.my_access IS NOT NULL", 0};

db_status db_group_get(db_conn *c, long long account_id, long long user_id, bool admin,
                       long long id, char **json)
{
    char a[24], u[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), admin ? "true" : "false",
                       db_ll(id, i)};
    return db_q_text(c, &st_group_get, 4, p, json);
}

static db_stmt st_group_insert = {"group_insert",
    "INSERT INTO measurement_groups (account_id, name, description) "
    "VALUES ($1, $2, COALESCE($3, '')) RETURNING id", 0};

db_status db_group_insert(db_conn *c, long long account_id, const char *name,
                          const char *description, long long *id)
{
    return insert_named(c, &st_group_insert, account_id, name, description, id);
}

static db_stmt st_group_update = {"group_update",
    "UPDATE measurement_groups SET name = COALESCE($3, name), "
    " description = COALESCE($4, description) WHERE account_id = $1 AND id = $2", 0};

db_status db_group_update(db_conn *c, long long account_id, long long id, const char *name,
                          const char *description, long long *changed)
{
    return update_named(c, &st_group_update, account_id, id, name, description, changed);
}

static db_stmt st_group_tz = {"group_set_time_zone",
    "UPDATE measurement_groups SET time_zone = $3 WHERE account_id = $1 AND id = $2", 0};

db_status db_group_set_time_zone(db_conn *c, long long account_id, long long id,
                                 const char *time_zone, long long *changed)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), time_zone};
    return db_q_exec(c, &st_group_tz, 3, p, changed);
}

static db_stmt st_group_delete = {"group_delete",
    "DELETE FROM measurement_groups WHERE account_id = $1 AND id = $2", 0};

db_status db_group_delete(db_conn *c, long long account_id, long long id, long long *changed)
{
    return exec_by_id(c, &st_group_delete, account_id, id, changed);
}

static db_stmt st_gua_clear = {"group_user_access_clear",
    "DELETE FROM group_user_access WHERE account_id = $1 AND group_id = $2", 0};
static db_stmt st_gta_clear = {"group_team_access_clear",
    "DELETE FROM group_team_access WHERE account_id = $1 AND group_id = $2", 0};
static db_stmt st_gua_fill = {"group_user_access_fill",
    "INSERT INTO group_user_access (account_id, group_id, user_id, access) "
    "SELECT $1, $2, x.id, x.access FROM unnest($3::bigint[], $4::text[]) AS x (id, access)", 0};
static db_stmt st_gta_fill = {"group_team_access_fill",
    "INSERT INTO group_team_access (account_id, group_id, team_id, access) "
    "SELECT $1, $2, x.id, x.access FROM unnest($3::bigint[], $4::text[]) AS x (id, access)", 0};

db_status db_group_set_access(db_conn *c, long long account_id, long long id,
                              const int64_t *uids, const char *const *uacc, size_t n_users,
                              const int64_t *tids, const char *const *tacc, size_t n_teams)
{
    char a[24], i[24];
    char *ua = db_id_array(uids, n_users), *ut = db_text_array(uacc, n_users);
    char *ta = db_id_array(tids, n_teams), *tt = db_text_array(tacc, n_teams);
    db_status st = DB_ERROR;
    if (ua != NULL && ut != NULL && ta != NULL && tt != NULL) {
        const char *pu[] = {db_ll(account_id, a), db_ll(id, i), ua, ut};
        const char *pt[] = {a, i, ta, tt};
        st = db_q_exec(c, &st_gua_clear, 2, pu, NULL);
        if (st == DB_OK) {
            st = db_q_exec(c, &st_gta_clear, 2, pu, NULL);
        }
        if (st == DB_OK) {
            st = db_q_exec(c, &st_gua_fill, 4, pu, NULL);
        }
        if (st == DB_OK) {
            st = db_q_exec(c, &st_gta_fill, 4, pt, NULL);
        }
    }
    free(ua);
    free(ut);
    free(ta);
    free(tt);
    return st;
}

/* ------------------------------------------------------------------- me */

static db_stmt st_me_get = {"me_get",
    "SELECT " USER_JSON "::text, json_build_object('id', a.id, 'login_id', a.login_id, "
    " 'alt_login_id', a.alt_login_id, 'name', a.name, 'plan', a.plan, "
    " 'time_zone', a.time_zone, 'language', a.language, "
    " 'trial_expires_at', mt_utc(a.trial_expires_at))::text "
    "FROM users u JOIN accounts a ON a.id = u.account_id "
    "WHERE u.account_id = $1 AND u.id = $2", 0};

db_status db_me_get(db_conn *c, long long account_id, long long user_id, char **user_json,
                    char **account_json)
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_me_get, 2, p, &res);
    *user_json = *account_json = NULL;
    if (st == DB_OK && PQntuples(res) == 1) {
        *user_json = strdup(PQgetvalue(res, 0, 0));
        *account_json = strdup(PQgetvalue(res, 0, 1));
        if (*user_json == NULL || *account_json == NULL) {
            free(*user_json);
            free(*account_json);
            *user_json = *account_json = NULL;
            st = DB_ERROR;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_me_group = {"me_current_group",
    "SELECT COALESCE(current_group_id, 0) FROM users WHERE account_id = $1 AND id = $2", 0};

db_status db_me_current_group(db_conn *c, long long account_id, long long user_id,
                              long long *group_id)
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u)};
    return db_q_int(c, &st_me_group, 2, p, group_id, NULL);
}

static db_stmt st_me_set_group = {"me_set_current_group",
    "UPDATE users SET current_group_id = NULLIF($3, '0')::bigint "
    "WHERE account_id = $1 AND id = $2", 0};

db_status db_me_set_current_group(db_conn *c, long long account_id, long long user_id,
                                  long long group_id)
{
    char a[24], u[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), db_ll(group_id, g)};
    return db_q_exec(c, &st_me_set_group, 3, p, NULL);
}
