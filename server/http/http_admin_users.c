/* Administration API, part A: users (G2), teams (G3), measurement groups
 * (G1) and the signed-in user's own information and current group (M1).
 * docs/api/openapi.yaml. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "http_admin_args.h"
#include "svc_users.h"

/* ----------------------------------------------------------------- users */

/* Read the user fields of the body into "in" (create: login_id, password
 * required). */
static int read_user(http_req *req, bool create, svc_user_input *in)
{
    static const char *const allowed_create[] = {"login_id", "name", "email", "role",
                                                 "file_access", "two_step", "password", NULL};
    static const char *const allowed_update[] = {"name", "email", "role", "file_access",
                                                 "two_step", "password", "disabled", NULL};
    memset(in, 0, sizeof *in);
    in->disabled = -1;
    if (http_json_fields(req, req->body, create ? allowed_create : allowed_update, NULL) != 0 ||
        (create && http_json_string(req, req->body, "login_id", 64, true, &in->login_id) != 0) ||
        http_json_string(req, req->body, "name", 100, create, &in->name) != 0 ||
        admin_nullable_string(req, "email", 254, &in->email_set, &in->email) != 0 ||
        http_json_string(req, req->body, "role", 16, false, &in->role) != 0 ||
        http_json_string(req, req->body, "file_access", 16, false, &in->file_access) != 0 ||
        http_json_string(req, req->body, "two_step", 16, false, &in->two_step) != 0 ||
        http_json_string(req, req->body, "password", 256, create, &in->password) != 0 ||
        (!create && admin_bool(req, "disabled", &in->disabled) != 0)) {
        return -1;
    }
    return 0;
}

static int h_users_list(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_users_list(&a, &o, &e), &o, &e);
}

static int h_user_create(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    svc_user_input in;
    if (read_user(req, true, &in) != 0) {
        return req->status;
    }
    return admin_reply(req, 201, svc_user_create(&a, &in, &o, &e), &o, &e);
}

static int h_user_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_user_get(&a, id, &o, &e), &o, &e);
}

static int h_user_patch(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    svc_user_input in;
    long long id;
    if (admin_id(req, 0, &id) != 0 || read_user(req, false, &in) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_user_update(&a, id, &in, &o, &e), &o, &e);
}

static int h_user_delete(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_user_delete(&a, id, &o, &e), &o, &e);
}

/* ----------------------------------------------------------------- teams */

/* name, description and optional member_ids of a team body. */
static int read_team(http_req *req, bool create, const char **name, const char **description,
                     int64_t **members, size_t *n_members)
{
    static const char *const allowed[] = {"name", "description", "member_ids", NULL};
    const cJSON *m;
    *members = NULL;
    *n_members = 0;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "name", 100, create, name) != 0 ||
        http_json_string(req, req->body, "description", 1000, false, description) != 0) {
        return -1;
    }
    m = cJSON_GetObjectItemCaseSensitive(req->body, "member_ids");
    if (m != NULL && admin_id_list(req, m, "member_ids", members, n_members) != 0) {
        return -1;
    }
    return 0;
}

static int h_teams_list(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_teams_list(&a, &o, &e), &o, &e);
}

static int h_team_create(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *name = NULL, *desc = NULL;
    int64_t *members = NULL;
    size_t n = 0;
    svc_status rc;
    if (read_team(req, true, &name, &desc, &members, &n) != 0) {
        return req->status;
    }
    rc = svc_team_create(&a, name, desc, members, n, &o, &e);
    free(members);
    return admin_reply(req, 201, rc, &o, &e);
}

static int h_team_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_team_get(&a, id, &o, &e), &o, &e);
}

static int h_team_patch(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *name = NULL, *desc = NULL;
    int64_t *members = NULL;
    size_t n = 0;
    long long id;
    svc_status rc;
    if (admin_id(req, 0, &id) != 0 || read_team(req, false, &name, &desc, &members, &n) != 0) {
        return req->status;
    }
    rc = svc_team_update(&a, id, name, desc, members, n, &o, &e);
    free(members);
    return admin_reply(req, 200, rc, &o, &e);
}

static int h_team_delete(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_team_delete(&a, id, &o, &e), &o, &e);
}

/* POST /api/v1/teams/{id}/members {user_id} */
static int h_team_member_add(http_req *req)
{
    static const char *const allowed[] = {"user_id", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id, user_id;
    bool present;
    if (admin_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admin_int(req, "user_id", true, 1, 9000000000000000LL, &user_id, &present) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_team_add_member(&a, id, user_id, &o, &e), &o, &e);
}

/* DELETE /api/v1/teams/{id}/members/{user_id} */
static int h_team_member_remove(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id, user_id;
    if (admin_id(req, 0, &id) != 0 || admin_id(req, 1, &user_id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_team_remove_member(&a, id, user_id, &o, &e), &o, &e);
}

/* ---------------------------------------------------------------- groups */

static int read_group(http_req *req, bool create, const char **name, const char **description)
{
    static const char *const allowed[] = {"name", "description", NULL};
    static const char *const allowed_patch[] = {"name", "description", "time_zone", NULL};
    if (http_json_fields(req, req->body, create ? allowed : allowed_patch, NULL) != 0 ||
        http_json_string(req, req->body, "name", 100, create, name) != 0 ||
        http_json_string(req, req->body, "description", 1000, false, description) != 0) {
        return -1;
    }
    return 0;
}

static int h_groups_list(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_groups_list(&a, &o, &e), &o, &e);
}

static int h_group_create(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *name = NULL, *desc = NULL;
    if (read_group(req, true, &name, &desc) != 0) {
        return req->status;
    }
    return admin_reply(req, 201, svc_group_create(&a, name, desc, &o, &e), &o, &e);
}

static int h_group_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_group_get(&a, id, &o, &e), &o, &e);
}

static int h_group_patch(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *name = NULL, *desc = NULL, *tz = NULL;
    bool set_tz = false;
    long long id;
    if (admin_id(req, 0, &id) != 0 || read_group(req, false, &name, &desc) != 0 ||
        admin_nullable_string(req, "time_zone", 64, &set_tz, &tz) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_group_update(&a, id, name, desc, set_tz, tz, &o, &e), &o, &e);
}

static int h_group_delete(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long id;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_group_delete(&a, id, &o, &e), &o, &e);
}

/* One access list of PUT /groups/{id}/access: [{"<key>": id, "access":
 * "view"|"edit"}] -> the ids and their grants (static strings), in order;
 * the caller frees both arrays. */
static int read_access_list(http_req *req, const char *field, const char *key, int64_t **ids,
                            const char ***acc, size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, field), *item;
    cJSON *id_arr;
    size_t k = 0;
    *ids = NULL;
    *acc = NULL;
    *n = 0;
    if (arr != NULL && !cJSON_IsArray(arr)) {
        return http_reply_error(req, 400, "wrong_type", "must be an array", field), -1;
    }
    id_arr = cJSON_CreateArray();
    *acc = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **acc);
    if (id_arr == NULL || *acc == NULL) {
        cJSON_Delete(id_arr);
        free(*acc);
        *acc = NULL;
        return http_reply_error(req, 500, "internal_error", "internal error", NULL), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        const cJSON *idv = cJSON_GetObjectItemCaseSensitive(item, key);
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, "access");
        const char *access = cJSON_IsString(av) ? av->valuestring : NULL;
        if (!cJSON_IsObject(item) || cJSON_GetArraySize(item) != 2 || idv == NULL ||
            access == NULL || (strcmp(access, "view") != 0 && strcmp(access, "edit") != 0)) {
            cJSON_Delete(id_arr);
            free(*acc);
            *acc = NULL;
            return http_reply_error(req, 400, "wrong_type",
                                    "each entry is {id, \"access\": \"view\"|\"edit\"}", field),
                   -1;
        }
        cJSON_AddItemToArray(id_arr, cJSON_Duplicate(idv, 1));
        (*acc)[k++] = strcmp(access, "view") == 0 ? "view" : "edit";
    }
    if (admin_id_list(req, id_arr, field, ids, n) != 0) {
        cJSON_Delete(id_arr);
        free(*acc);
        *acc = NULL;
        return -1;
    }
    cJSON_Delete(id_arr);
    return 0;
}

/* PUT /api/v1/groups/{id}/access {users:[{user_id, access}], teams:[{team_id, access}]} */
static int h_group_access(http_req *req)
{
    static const char *const allowed[] = {"users", "teams", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    svc_group_access in;
    int64_t *uids = NULL, *tids = NULL;
    const char **uacc = NULL, **tacc = NULL;
    long long id;
    svc_status rc;
    memset(&in, 0, sizeof in);
    if (admin_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        read_access_list(req, "users", "user_id", &uids, &uacc, &in.n_users) != 0) {
        return req->status;
    }
    if (read_access_list(req, "teams", "team_id", &tids, &tacc, &in.n_teams) != 0) {
        free(uids);
        free((void *)uacc);
        return req->status;
    }
    in.user_ids = uids;
    in.user_access = uacc;
    in.team_ids = tids;
    in.team_access = tacc;
    rc = svc_group_set_access(&a, id, &in, &o, &e);
    free(uids);
    free((void *)uacc);
    free(tids);
    free((void *)tacc);
    return admin_reply(req, 200, rc, &o, &e);
}

/* -------------------------------------------------------------------- me */

static int h_me_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    svc_error e;
    char *text = NULL;
    size_t len = 0;
    int status;
    if (svc_me_get_text(&a, &text, &len, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    status = http_reply_json_text(req, 200, text, len);
    free(text);
    return status;
}

static int h_me_patch(http_req *req)
{
    static const char *const allowed[] = {"name", "email", "language", "time_zone",
                                          "language_if_unset", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    svc_user_input in;
    memset(&in, 0, sizeof in);
    in.disabled = -1;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "name", 100, false, &in.name) != 0 ||
        admin_nullable_string(req, "email", 254, &in.email_set, &in.email) != 0 ||
        admin_nullable_string(req, "language", 8, &in.language_set, &in.language) != 0 ||
        admin_nullable_string(req, "time_zone", 64, &in.time_zone_set, &in.time_zone) != 0 ||
        http_json_string(req, req->body, "language_if_unset", 8, false,
                         &in.language_if_unset) != 0) {
        return req->status;
    }
    if (in.language != NULL && !admin_language_known(in.language)) {
        return http_reply_error(req, 400, "invalid_value",
                                "'language' is one of zh-CN, ja, en, es, fr, de, it",
                                "language");
    }
    /* null would mean "no language if it has none": nothing to do, and
     * most likely a mistake. */
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(req->body, "language_if_unset")) ||
        (in.language_if_unset != NULL && !admin_language_known(in.language_if_unset))) {
        return http_reply_error(req, 400, "invalid_value",
                                "'language_if_unset' is one of zh-CN, ja, en, es, fr, de, it",
                                "language_if_unset");
    }
    if (in.language_set && in.language_if_unset != NULL) {
        return http_reply_error(req, 400, "invalid_value",
                                "send either 'language' or 'language_if_unset', not both",
                                "language_if_unset");
    }
    return admin_reply(req, 200, svc_me_update(&a, &in, &o, &e), &o, &e);
}

static int h_me_group_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_me_group_get(&a, &o, &e), &o, &e);
}

/* PUT /api/v1/me/group {group_id} (null clears) */
static int h_me_group_put(http_req *req)
{
    static const char *const allowed[] = {"group_id", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    long long gid = 0;
    bool present;
    if (http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    if (cJSON_GetObjectItemCaseSensitive(req->body, "group_id") == NULL) {
        return http_reply_error(req, 400, "missing", "'group_id' is required (null clears)",
                                "group_id");
    }
    if (admin_int(req, "group_id", false, 1, 9000000000000000LL, &gid, &present) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_me_group_set(&a, present ? gid : 0, &o, &e), &o, &e);
}

const http_route http_routes_admin_users[] = {
    {"GET", "/api/v1/groups", h_groups_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups", h_group_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/groups/*", h_group_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/groups/*", h_group_patch, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/groups/*", h_group_delete, AUTH_ADMIN, BODY_NONE, false},
    {"PUT", "/api/v1/groups/*/access", h_group_access, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/me", h_me_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/me", h_me_patch, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/me/group", h_me_group_get, AUTH_USER, BODY_NONE, false},
    {"PUT", "/api/v1/me/group", h_me_group_put, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/teams", h_teams_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/teams", h_team_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/teams/*", h_team_get, AUTH_ADMIN, BODY_NONE, false},
    {"PATCH", "/api/v1/teams/*", h_team_patch, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/teams/*", h_team_delete, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/teams/*/members", h_team_member_add, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/teams/*/members/*", h_team_member_remove, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/users", h_users_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/users", h_user_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/users/*", h_user_get, AUTH_ADMIN, BODY_NONE, false},
    {"PATCH", "/api/v1/users/*", h_user_patch, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/users/*", h_user_delete, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
