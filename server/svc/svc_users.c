#define _POSIX_C_SOURCE 200809L
#include "svc_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_password.h"
#include "db_auth.h"
#include "db_users.h"
#include "mt/plan.h"
#include "refresher.h"
#include "reply_cache.h"
#include "svc_share.h"
#include "stripes.h"

/* Parse JSON text "json" from the database into *out, wrapped as
 * {"<wrap>": value} when "wrap" is set; frees "json". NULL json = not found. */
static svc_status take_json(char *json, const char *wrap, const char *what, cJSON **out,
                            svc_error *e)
{
    cJSON *v;
    if (json == NULL) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", what);
    }
    v = cJSON_Parse(json);
    free(json);
    if (v == NULL) {
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    if (wrap == NULL) {
        *out = v;
        return SVC_OK;
    }
    *out = cJSON_CreateObject();
    if (*out == NULL) {
        cJSON_Delete(v);
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    cJSON_AddItemToObject(*out, wrap, v);
    return SVC_OK;
}

/* A read on one pooled connection: "fn" fills *json. */
typedef db_status (*reader)(db_conn *c, const svc_actor *a, long long id, char **json);

static svc_status read_one(const svc_actor *a, long long id, reader fn, const char *wrap,
                           const char *what, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = fn(c, a, id, &json);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        free(json);
        return svc_fail_db(e, st, NULL);
    }
    return take_json(json, wrap, what, out, e);
}

/* Audit, commit and release; then read the result with "fn" (id "id"). */
static svc_status finish(const svc_actor *a, db_conn *c, const char *action, const char *type,
                         long long id, const char *detail, reader fn, const char *what, cJSON **out,
                         svc_error *e)
{
    db_status st = svc_audit(c, a, action, type, id, detail);
    if (st == DB_OK) {
        st = db_commit(c);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    /* Roles, disabled users, ended sessions: a remembered identity must
     * not outlive the change. */
    auth_forget_identities();
    if (fn == NULL) {
        *out = NULL;
        return SVC_OK;
    }
    return read_one(a, id, fn, NULL, what, out, e);
}

/* Give up a change begun with svc_begin_locked() whose failure "e" holds:
 * free the row, roll back. Returns the failure's status. */
static svc_status fail_release(const svc_actor *a, db_conn *c, db_account_row *row,
                               const svc_error *e)
{
    free(row->json);
    row->json = NULL;
    db_release(a->srv->pool, c);
    return e->status;
}

/* ----------------------------------------------------------------- users */

static db_status rd_users(db_conn *c, const svc_actor *a, long long id, char **json)
{
    (void)id;
    return db_users_list(c, a->account_id, json);
}

static db_status rd_user(db_conn *c, const svc_actor *a, long long id, char **json)
{
    return db_user_get(c, a->account_id, id, json);
}

svc_status svc_users_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    return read_one(a, 0, rd_users, "users", "user", out, e);
}

svc_status svc_user_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    return read_one(a, id, rd_user, NULL, "user", out, e);
}

static const char *two_step_value(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return strcmp(s, "none") == 0 ? "off" : s;
}

/* Checks of the values themselves (no database). */
static svc_status validate_user(const svc_user_input *in, svc_error *e)
{
    const char *ts = two_step_value(in->two_step);
    if (in->login_id != NULL && !svc_valid_user_login(in->login_id)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "login_id",
                        "the user ID is 1 to 64 characters: letters, digits, '.', '_', '@', "
                        "'-', starting with a letter or digit");
    }
    if (in->name != NULL && in->name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, "invalid_value", "name", "'name' must not be empty");
    }
    if (in->email_set && in->email != NULL && !svc_valid_email(in->email)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "email",
                        "'email' must be an e-mail address");
    }
    if (in->role != NULL && strcmp(in->role, "admin") != 0 && strcmp(in->role, "member") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "role", "'role' is 'admin' or 'member'");
    }
    if (in->file_access != NULL && strcmp(in->file_access, "none") != 0 &&
        strcmp(in->file_access, "view") != 0 && strcmp(in->file_access, "edit") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "file_access",
                        "'file_access' is 'none', 'view' or 'edit'");
    }
    if (ts != NULL && strcmp(ts, "off") != 0 && strcmp(ts, "email") != 0 &&
        strcmp(ts, "totp") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "two_step",
                        "'two_step' is 'off' (or 'none'), 'email' or 'totp'");
    }
    return SVC_OK;
}

/* The password of "in" checked (A6) against "login" and hashed into "hash". */
static svc_status hash_password(const char *password, const char *login, char *hash, svc_error *e)
{
    pw_policy pw = password_check_policy(password, login);
    if (pw != PW_OK) {
        return svc_fail(e, SVC_INVALID, password_policy_code(pw), "password", "%s",
                        password_policy_message(pw));
    }
    switch (password_hash(password, hash, PASSWORD_HASH_CAP)) {
    case 0: return SVC_OK;
    case PASSWORD_BUSY: return svc_fail_hash_busy(e);
    default: return svc_fail_db(e, DB_ERROR, NULL);
    }
}

svc_status svc_user_create(const svc_actor *a, const svc_user_input *in, cJSON **out, svc_error *e)
{
    char hash[PASSWORD_HASH_CAP];
    const char *role = in->role ? in->role : "member";
    const char *fa = strcmp(role, "admin") == 0 ? "edit" : (in->file_access ? in->file_access
                                                                            : "view");
    const char *ts = two_step_value(in->two_step) ? two_step_value(in->two_step) : "off";
    db_conn *c = NULL;
    db_account_row row;
    mt_error err;
    mt_plan plan;
    long long id = 0;
    db_status st;

    if (validate_user(in, e) != SVC_OK) {
        return e->status;
    }
    if (in->role != NULL && strcmp(role, "admin") == 0 && in->file_access != NULL &&
        strcmp(in->file_access, "edit") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "file_access",
                        "administrators have file access 'edit'");
    }
    if (strcmp(ts, "totp") == 0) {
        return svc_fail(e, SVC_CONFLICT, "totp_not_enrolled", "two_step",
                        "the user enrols an authenticator app first (A3)");
    }
    if (strcmp(ts, "email") == 0 && in->email == NULL) {
        return svc_fail(e, SVC_INVALID, "missing", "email",
                        "two-step verification by e-mail needs an e-mail address");
    }
    if (hash_password(in->password, in->login_id, hash, e) != SVC_OK) {
        return e->status;
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    plan = svc_effective_plan(&row);
    if (mt_plan_check(plan, MT_Q_USERS, row.n_users + 1, &err) != MT_OK) {
        svc_fail_quota(e, plan, MT_Q_USERS, err.msg);
        return fail_release(a, c, &row, e);
    }
    free(row.json);
    row.json = NULL;
    st = db_user_insert(c, a->account_id, in->login_id, in->name, in->email, role, fa, ts, hash,
                        &id);
    if (st == DB_CONFLICT) {
        svc_fail(e, SVC_CONFLICT, "login_id_taken", "login_id",
                 "this user ID is already used in the account");
        return fail_release(a, c, &row, e);
    }
    if (st != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    return finish(a, c, "user.create", "user", id, NULL, rd_user, "user", out, e);
}

svc_status svc_user_update(const svc_actor *a, long long id, const svc_user_input *in, cJSON **out,
                           svc_error *e)
{
    char hash[PASSWORD_HASH_CAP], detail[96] = "";
    db_conn *c = NULL;
    db_account_row row;
    db_user_facts f;
    db_user_patch p = {0};
    long long admins = 0, changed = 0;
    const char *ts = two_step_value(in->two_step);
    bool demote;
    db_status st;

    if (validate_user(in, e) != SVC_OK) {
        return e->status;
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    if ((st = db_user_facts_get(c, a->account_id, id, &f)) != DB_OK ||
        (st = db_users_count_admins(c, a->account_id, &admins)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    if (!f.found) {
        svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such user");
        return fail_release(a, c, &row, e);
    }
    demote = f.admin && ((in->role != NULL && strcmp(in->role, "member") == 0) ||
                         in->disabled == 1);
    if (demote && admins <= 1) {
        svc_fail(e, SVC_CONFLICT, "last_admin", in->disabled == 1 ? "disabled" : "role",
                 "the account keeps at least one administrator");
        return fail_release(a, c, &row, e);
    }
    if (id == a->user_id && (in->disabled == 1 ||
                             (in->role != NULL && strcmp(in->role, "member") == 0))) {
        svc_fail(e, SVC_CONFLICT, "cannot_change_self", in->disabled == 1 ? "disabled" : "role",
                 "administrators cannot demote or disable themselves");
        return fail_release(a, c, &row, e);
    }
    if (ts != NULL && strcmp(ts, "totp") == 0 && !f.has_totp) {
        svc_fail(e, SVC_CONFLICT, "totp_not_enrolled", "two_step",
                 "the user enrols an authenticator app first (A3)");
        return fail_release(a, c, &row, e);
    }
    if (ts != NULL && strcmp(ts, "email") == 0 &&
        (in->email_set ? in->email == NULL : !f.has_email)) {
        svc_fail(e, SVC_INVALID, "missing", "email",
                 "two-step verification by e-mail needs an e-mail address");
        return fail_release(a, c, &row, e);
    }
    {
        bool becomes_admin = in->role ? strcmp(in->role, "admin") == 0 : f.admin;
        if (becomes_admin && in->file_access != NULL && strcmp(in->file_access, "edit") != 0) {
            svc_fail(e, SVC_INVALID, "invalid_value", "file_access",
                     "administrators have file access 'edit'");
            return fail_release(a, c, &row, e);
        }
        p.file_access = becomes_admin && in->role != NULL ? "edit" : in->file_access;
    }
    if (in->password != NULL && hash_password(in->password, f.login_id, hash, e) != SVC_OK) {
        return fail_release(a, c, &row, e);
    }
    p.name = in->name;
    p.set_email = in->email_set;
    p.email = in->email;
    p.role = in->role;
    p.two_step = ts;
    p.disabled = in->disabled < 0 ? NULL : (in->disabled ? "true" : "false");
    p.password_hash = in->password ? hash : NULL;
    st = db_user_update(c, a->account_id, id, &p, &changed);
    if (st == DB_CONSTRAINT) {
        svc_fail(e, SVC_CONFLICT, "constraint", NULL,
                 "this change does not fit the user's settings (e-mail needed by two-step "
                 "verification?)");
        return fail_release(a, c, &row, e);
    }
    if (st != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    /* A disabled user is signed out everywhere (tokens revoked too); a new
     * password ends the user's sessions (but the administrator's own
     * current one when they set their own). */
    if (in->disabled == 1 || in->password != NULL) {
        long long keep = id == a->user_id ? a->session_id : 0, ended = 0, revoked = 0;
        if ((st = db_auth_sessions_delete_user(c, a->account_id, id, keep, &ended)) != DB_OK ||
            (in->disabled == 1 &&
             (st = db_auth_tokens_revoke_user(c, a->account_id, id, auth_now(), &revoked)) !=
                 DB_OK)) {
            svc_fail_db(e, st, NULL);
            return fail_release(a, c, &row, e);
        }
        snprintf(detail, sizeof detail, "{\"sessions_ended\":%lld,\"tokens_revoked\":%lld}",
                 ended, revoked);
    }
    free(row.json);
    return finish(a, c, "user.update", "user", id, detail[0] ? detail : NULL, rd_user, "user", out,
                  e);
}

svc_status svc_user_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row;
    db_user_facts f;
    long long admins = 0, changed = 0;
    db_status st;

    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    free(row.json);
    row.json = NULL;
    if ((st = db_user_facts_get(c, a->account_id, id, &f)) != DB_OK ||
        (st = db_users_count_admins(c, a->account_id, &admins)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    if (!f.found) {
        svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such user");
        return fail_release(a, c, &row, e);
    }
    if (id == a->user_id) {
        svc_fail(e, SVC_CONFLICT, "cannot_delete_self", NULL, "you cannot delete yourself");
        return fail_release(a, c, &row, e);
    }
    if (f.admin && admins <= 1) {
        svc_fail(e, SVC_CONFLICT, "last_admin", NULL,
                 "the account keeps at least one administrator");
        return fail_release(a, c, &row, e);
    }
    if ((st = db_user_delete(c, a->account_id, id, &changed)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    return finish(a, c, "user.delete", "user", id, NULL, NULL, "user", out, e);
}

/* ----------------------------------------------------------------- teams */

static db_status rd_teams(db_conn *c, const svc_actor *a, long long id, char **json)
{
    (void)id;
    return db_teams_list(c, a->account_id, json);
}

static db_status rd_team(db_conn *c, const svc_actor *a, long long id, char **json)
{
    return db_team_get(c, a->account_id, id, json);
}

svc_status svc_teams_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    return read_one(a, 0, rd_teams, "teams", "team", out, e);
}

svc_status svc_team_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    return read_one(a, id, rd_team, NULL, "team", out, e);
}

/* Whether every one of "n" distinct ids in "ids" is a user of the account. */
static svc_status check_users(const svc_actor *a, db_conn *c, const int64_t *ids, size_t n,
                              const char *field, svc_error *e)
{
    long long found = 0;
    db_status st;
    if (ids == NULL || n == 0) {
        return SVC_OK;
    }
    if ((st = db_users_count_ids(c, a->account_id, ids, n, &found)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (found != (long long)n) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", field, "no such user");
    }
    return SVC_OK;
}

static svc_status name_conflict(svc_error *e, const char *what)
{
    return svc_fail(e, SVC_CONFLICT, "name_taken", "name", "a %s with this name exists already",
                    what);
}

svc_status svc_team_create(const svc_actor *a, const char *name, const char *description,
                           const int64_t *member_ids, size_t n_members, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row;
    mt_error err;
    mt_plan plan;
    long long id = 0;
    db_status st;

    if (name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, "invalid_value", "name", "'name' must not be empty");
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    plan = svc_effective_plan(&row);
    if (mt_plan_check(plan, MT_Q_TEAMS, row.n_teams + 1, &err) != MT_OK) {
        svc_fail_quota(e, plan, MT_Q_TEAMS, err.msg);
        return fail_release(a, c, &row, e);
    }
    if (check_users(a, c, member_ids, n_members, "member_ids", e) != SVC_OK) {
        return fail_release(a, c, &row, e);
    }
    st = db_team_insert(c, a->account_id, name, description, &id);
    if (st == DB_OK && member_ids != NULL) {
        st = db_team_set_members(c, a->account_id, id, member_ids, n_members);
    }
    if (st == DB_CONFLICT) {
        name_conflict(e, "team");
        return fail_release(a, c, &row, e);
    }
    if (st != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    free(row.json);
    return finish(a, c, "team.create", "team", id, NULL, rd_team, "team", out, e);
}

svc_status svc_team_update(const svc_actor *a, long long id, const char *name,
                           const char *description, const int64_t *member_ids, size_t n_members,
                           cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row;
    long long changed = 0;
    db_status st;

    if (name != NULL && name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, "invalid_value", "name", "'name' must not be empty");
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    st = db_team_update(c, a->account_id, id, name, description, &changed);
    if (st == DB_CONFLICT) {
        name_conflict(e, "team");
        return fail_release(a, c, &row, e);
    }
    if (st != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    if (changed == 0) {
        svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such team");
        return fail_release(a, c, &row, e);
    }
    if (member_ids != NULL) {
        if (check_users(a, c, member_ids, n_members, "member_ids", e) != SVC_OK) {
            return fail_release(a, c, &row, e);
        }
        if ((st = db_team_set_members(c, a->account_id, id, member_ids, n_members)) != DB_OK) {
            svc_fail_db(e, st, NULL);
            return fail_release(a, c, &row, e);
        }
    }
    free(row.json);
    return finish(a, c, "team.update", "team", id, NULL, rd_team, "team", out, e);
}

/* Run a change of one row ("changed" 0 = not found) and finish it. */
typedef db_status (*changer)(db_conn *c, long long account_id, long long id, long long *changed);

static svc_status change_one(const svc_actor *a, long long id, changer fn, const char *action,
                             const char *type, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    long long changed = 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK) {
        st = fn(c, a->account_id, id, &changed);
    }
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (changed == 0) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", type);
    }
    return finish(a, c, action, type, id, NULL, NULL, type, out, e);
}

svc_status svc_team_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    return change_one(a, id, db_team_delete, "team.delete", "team", out, e);
}

svc_status svc_team_add_member(const svc_actor *a, long long id, long long user_id, cJSON **out,
                               svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL, detail[64];
    int64_t member = user_id;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st != DB_OK || (st = db_begin(c)) != DB_OK ||
        (st = db_team_get(c, a->account_id, id, &json)) != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (json == NULL) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such team");
    }
    free(json);
    if (check_users(a, c, &member, 1, "user_id", e) != SVC_OK) {
        db_release(a->srv->pool, c);
        return e->status;
    }
    if ((st = db_team_add_member(c, a->account_id, id, user_id)) != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    snprintf(detail, sizeof detail, "{\"user_id\":%lld}", user_id);
    return finish(a, c, "team.member_add", "team", id, detail, rd_team, "team", out, e);
}

svc_status svc_team_remove_member(const svc_actor *a, long long id, long long user_id, cJSON **out,
                                  svc_error *e)
{
    db_conn *c = NULL;
    long long changed = 0;
    char detail[64];
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK) {
        st = db_team_remove_member(c, a->account_id, id, user_id, &changed);
    }
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (changed == 0) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such team member");
    }
    snprintf(detail, sizeof detail, "{\"user_id\":%lld}", user_id);
    return finish(a, c, "team.member_remove", "team", id, detail, NULL, "team", out, e);
}

/* ---------------------------------------------------------------- groups */

static db_status rd_groups(db_conn *c, const svc_actor *a, long long id, char **json)
{
    (void)id;
    return db_groups_list(c, a->account_id, a->user_id, a->admin, json);
}

static db_status rd_group(db_conn *c, const svc_actor *a, long long id, char **json)
{
    return db_group_get(c, a->account_id, a->user_id, a->admin, id, json);
}

svc_status svc_groups_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    return read_one(a, 0, rd_groups, "groups", "group", out, e);
}

svc_status svc_group_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    return read_one(a, id, rd_group, NULL, "measurement group", out, e);
}

svc_status svc_group_create(const svc_actor *a, const char *name, const char *description,
                            cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row;
    mt_error err;
    mt_plan plan;
    long long id = 0;
    db_status st;

    if (name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, "invalid_value", "name", "'name' must not be empty");
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        return e->status;
    }
    plan = svc_effective_plan(&row);
    if (mt_plan_check(plan, MT_Q_GROUPS, row.n_groups + 1, &err) != MT_OK) {
        svc_fail_quota(e, plan, MT_Q_GROUPS, err.msg);
        return fail_release(a, c, &row, e);
    }
    st = db_group_insert(c, a->account_id, name, description, &id);
    if (st == DB_CONFLICT) {
        name_conflict(e, "measurement group");
        return fail_release(a, c, &row, e);
    }
    if (st != DB_OK) {
        svc_fail_db(e, st, NULL);
        return fail_release(a, c, &row, e);
    }
    free(row.json);
    return finish(a, c, "group.create", "group", id, NULL, rd_group, "measurement group", out, e);
}

svc_status svc_group_update(const svc_actor *a, long long id, const char *name,
                            const char *description, bool set_tz, const char *time_zone,
                            cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    long long changed = 0;
    bool known = true;
    db_status st;
    if (name != NULL && name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, "invalid_value", "name", "'name' must not be empty");
    }
    st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && set_tz && time_zone != NULL) {
        st = db_time_zone_known(c, time_zone, &known);
    }
    if (st == DB_OK && !known) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_INVALID, "invalid_value", "time_zone",
                        "'time_zone' is not a known time zone (e.g. 'UTC', 'Asia/Tokyo')");
    }
    if (st == DB_OK && (st = db_begin(c)) == DB_OK) {
        st = db_group_update(c, a->account_id, id, name, description, &changed);
    }
    if (st == DB_OK && changed > 0 && set_tz) {
        st = db_group_set_time_zone(c, a->account_id, id, time_zone, &changed);
    }
    if (st == DB_CONFLICT) {
        db_release(a->srv->pool, c);
        return name_conflict(e, "measurement group");
    }
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (changed == 0) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such measurement group");
    }
    return finish(a, c, "group.update", "group", id, NULL, rd_group, "measurement group", out, e);
}

svc_status svc_group_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    return change_one(a, id, db_group_delete, "group.delete", "group", out, e);
}

svc_status svc_group_set_access(const svc_actor *a, long long id, const svc_group_access *in,
                                cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL;
    long long found = 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st != DB_OK || (st = db_begin(c)) != DB_OK ||
        (st = db_group_get(c, a->account_id, a->user_id, true, id, &json)) != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (json == NULL) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such measurement group");
    }
    free(json);
    if (check_users(a, c, in->user_ids, in->n_users, "users", e) != SVC_OK) {
        db_release(a->srv->pool, c);
        return e->status;
    }
    if (in->n_teams > 0) {
        if ((st = db_teams_count_ids(c, a->account_id, in->team_ids, in->n_teams, &found)) !=
            DB_OK) {
            db_release(a->srv->pool, c);
            return svc_fail_db(e, st, NULL);
        }
        if (found != (long long)in->n_teams) {
            db_release(a->srv->pool, c);
            return svc_fail(e, SVC_NOT_FOUND, "not_found", "teams", "no such team");
        }
    }
    st = db_group_set_access(c, a->account_id, id, in->user_ids, in->user_access, in->n_users,
                             in->team_ids, in->team_access, in->n_teams);
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    return finish(a, c, "group.access", "group", id, NULL, rd_group, "measurement group", out, e);
}

/* -------------------------------------------------------------------- me */

svc_status svc_me_get(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL, *account = NULL;
    cJSON *acc;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_me_get(c, a->account_id, a->user_id, &json, &account);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (take_json(json, NULL, "user", out, e) != SVC_OK) {
        free(account);
        return e->status;
    }
    /* The plan in force is the one the request was authenticated with. */
    acc = cJSON_Parse(account);
    free(account);
    if (acc != NULL) {
        cJSON_AddStringToObject(acc, "effective_plan", mt_plan_name(a->plan));
        cJSON_AddItemToObject(*out, "account", acc);
    }
    return SVC_OK;
}

/* The epoch of a remembered GET /me body of the account (reply_cache.h):
 * a sum of epochs that only grow, so it moves when any of them does. */
static unsigned long long me_epoch(long long account_id)
{
    return auth_state_epoch() + auth_account_epoch(account_id) +
           auth_account_state_epoch(account_id);
}

/* Read the GET /me body of "a" and remember it (at "now_ms", under the
 * state epoch read before the read: a racing commit makes it stale). */
static svc_status me_read_put(const svc_actor *a, int64_t now_ms, char **text, size_t *len,
                              svc_error *e)
{
    reply_key key = {REPLY_ME, a->account_id, a->user_id, (int)a->plan, 0};
    unsigned long long epoch = me_epoch(a->account_id);
    cJSON *me = NULL;
    char *printed;

    if (svc_me_get(a, &me, e) != SVC_OK) {
        return e->status;
    }
    printed = cJSON_PrintUnformatted(me);
    cJSON_Delete(me);
    if (printed == NULL) {
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    *len = strlen(printed);
    reply_cache_put(&key, epoch, now_ms, printed, *len);
    *text = printed; /* cJSON allocates with malloc (no hooks installed): free() it */
    return SVC_OK;
}

/* What a refresh of a remembered GET /me body needs (the server is the
 * job's context). */
typedef struct {
    long long account_id, user_id;
    mt_plan plan;
} me_refresh_arg;

/* The refresher's job (refresher.h): read the body again and put it. On a
 * failure the remembered body ends at its TTL. */
static void me_refresh(void *ctx, const void *arg)
{
    const me_refresh_arg *m = arg;
    svc_actor a = {.srv = ctx, .account_id = m->account_id, .user_id = m->user_id,
                   .plan = m->plan};
    svc_error e;
    char *text = NULL;
    size_t len = 0;
    if (me_read_put(&a, auth_now_ms(), &text, &len, &e) == SVC_OK) {
        free(text);
    }
}

/* A remembered body found: have it read again off the request when it is
 * due (reply_cache.h). */
static void me_hit(const svc_actor *a, bool due)
{
    if (due) {
        me_refresh_arg m = {a->account_id, a->user_id, a->plan};
        (void)refresher_submit(me_refresh, a->srv, &m, sizeof m);
    }
}

/* METRON_ME_SHARE=0: every request that misses its body reads it alone. */
static env_switch g_me_share = ENV_SWITCH("METRON_ME_SHARE");

static bool me_read_fn(void *ctx, sread *rd, char **text, size_t *len)
{
    svc_share_req *m = ctx;
    /* The body's read takes its connection inside svc_me_get(): closed to
     * followers now (those that come next share the next read). */
    reply_share_start(rd);
    return me_read_put(m->a, m->now_ms, text, len, m->e) == SVC_OK;
}

svc_status svc_me_get_text(const svc_actor *a, char **text, size_t *len, svc_error *e)
{
    /* The body depends on the user and account rows and on the plan the
     * request was authenticated with (effective_plan). */
    reply_key key = {REPLY_ME, a->account_id, a->user_id, (int)a->plan, 0};
    int64_t now_ms = auth_now_ms();
    bool due = false;
    reply_body_text t;

    if (reply_cache_get(&key, me_epoch(a->account_id), now_ms, text, len, &due)) {
        me_hit(a, due);
        return SVC_OK;
    }
    /* Not remembered (a first request, or the first after a change of the
     * account): one read for the requests that miss it at the same moment
     * (reply_share.h), as GET /devices' list (svc_apps_read.c; issue 16,
     * devstall). */
    if (svc_share_miss(a, now_ms, e, &key, me_epoch, &g_me_share, me_read_fn, &t, &due) !=
        SVC_OK) {
        return e->status;
    }
    me_hit(a, due);
    if ((*text = reply_body_text_take(&t, len)) == NULL) {
        return svc_fail_nomem(e);
    }
    return SVC_OK;
}

svc_status svc_me_update(const svc_actor *a, const svc_user_input *in, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_user_patch p = {0};
    db_user_facts f;
    long long changed = 0;
    bool known = true;
    db_status st;
    if (validate_user(in, e) != SVC_OK) {
        return e->status;
    }
    st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK) {
        st = db_user_facts_get(c, a->account_id, a->user_id, &f);
    }
    if (st == DB_OK && in->time_zone_set && in->time_zone != NULL) {
        st = db_time_zone_known(c, in->time_zone, &known);
    }
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (!known) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_INVALID, "invalid_value", "time_zone",
                        "'time_zone' is not a known time zone (e.g. 'UTC', 'Asia/Tokyo')");
    }
    p.name = in->name;
    p.set_email = in->email_set;
    p.email = in->email;
    p.set_language = in->language_set;
    p.language = in->language;
    p.set_time_zone = in->time_zone_set;
    p.time_zone = in->time_zone;
    /* A request with only language_if_unset writes no other row version. */
    if (in->name != NULL || in->email_set || in->language_set || in->time_zone_set ||
        in->language_if_unset == NULL) {
        st = db_user_update(c, a->account_id, a->user_id, &p, &changed);
    }
    if (st == DB_OK && in->language_if_unset != NULL) {
        st = db_user_language_if_unset(c, a->account_id, a->user_id, in->language_if_unset,
                                       &changed);
    }
    if (st == DB_CONSTRAINT) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_CONFLICT, "constraint", "email",
                        "the e-mail address is needed (two-step verification or e-mail login)");
    }
    if (st != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    (void)f;
    st = db_commit(c);
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return svc_me_get(a, out, e);
}

svc_status svc_me_group_get(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL;
    long long gid = 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_me_current_group(c, a->account_id, a->user_id, &gid)) == DB_OK &&
        gid > 0) {
        st = db_group_get(c, a->account_id, a->user_id, a->admin, gid, &json);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        free(json);
        return svc_fail_db(e, st, NULL);
    }
    *out = cJSON_CreateObject();
    if (*out == NULL) {
        free(json);
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    /* A selection the user lost access to reads as none. */
    cJSON_AddItemToObject(*out, "group", json ? cJSON_Parse(json) : cJSON_CreateNull());
    free(json);
    return SVC_OK;
}

svc_status svc_me_group_set(const svc_actor *a, long long group_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && group_id > 0) {
        st = db_group_get(c, a->account_id, a->user_id, a->admin, group_id, &json);
    }
    if (st == DB_OK && group_id > 0 && json == NULL) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", "group_id", "no such measurement group");
    }
    free(json);
    if (st == DB_OK) {
        st = db_me_set_current_group(c, a->account_id, a->user_id, group_id);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return svc_me_group_get(a, out, e);
}
