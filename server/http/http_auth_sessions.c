/* The user's sessions and API tokens (/me/sessions, /me/tokens), an
 * administrator ending another user's sessions, and the account's IP
 * allow-list, over HTTP (docs/auth.md). Sign-in itself is http_auth.c; the
 * rules live in svc_auth.c. */
#include <stdbool.h>

#include "http.h"
#include "http_admin_args.h"
#include "http_auth_shared.h"
#include "http_svc.h"
#include "mt/plan.h"
#include "svc_auth.h"

/* ------------------------------------------------- sessions and tokens */

/* GET /api/v1/me/sessions: the user's live sessions, the current one marked. */
static int h_sessions_list(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    if (svc_auth_sessions_list(&req->actor, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* DELETE /api/v1/me/sessions/{id}: end one of the user's sessions (the
 * current one too: then the cookie is cleared, as by logout). */
static int h_session_end(http_req *req)
{
    long long id;
    bool current;
    char extra[200] = "";
    svc_error e;
    cJSON *r;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_auth_session_end(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    current = id == req->actor.session_id;
    if (current) {
        http_auth_cookie_header(req, NULL, extra, sizeof extra);
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "id", (double)id);
    cJSON_AddBoolToObject(r, "ended", true);
    cJSON_AddBoolToObject(r, "current", current);
    return http_reply_json_headers(req, 200, r, current ? extra : NULL);
}

/* DELETE /api/v1/me/sessions: end every session of the user but the
 * current one (all of them for a token request). */
static int h_sessions_end_others(http_req *req)
{
    long long n = 0;
    svc_error e;
    cJSON *r;
    if (svc_auth_sessions_end_all(&req->actor, &n, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "ended", (double)n);
    return http_reply_json(req, 200, r);
}

/* API tokens are a Pro function (P20): their list and revocation too. */
static bool plan_allows_tokens(const http_req *req)
{
    mt_error err;
    return mt_plan_require((mt_plan)req->plan, MT_Q_WEB_API, MT_ACCESS_FULL, &err) == MT_OK;
}

/* GET /api/v1/me/tokens (P20): the user's live API tokens. */
static int h_tokens_list(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    if (!plan_allows_tokens(req)) {
        return http_auth_reply_plan_limit(req, MT_Q_WEB_API, req->plan);
    }
    if (svc_auth_tokens_list(&req->actor, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* DELETE /api/v1/me/tokens/{id} (P20): revoke one of the user's tokens. */
static int h_token_revoke(http_req *req)
{
    long long id;
    svc_error e;
    cJSON *r;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (!plan_allows_tokens(req)) {
        return http_auth_reply_plan_limit(req, MT_Q_WEB_API, req->plan);
    }
    if (svc_auth_token_revoke(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "id", (double)id);
    cJSON_AddBoolToObject(r, "revoked", true);
    return http_reply_json(req, 200, r);
}

/* PATCH /api/v1/me/tokens/{id} {name} (P20): name one of the user's tokens. */
static int h_token_rename(http_req *req)
{
    static const char *const allowed[] = {"name", NULL};
    const char *name = NULL;
    long long id;
    svc_error e;
    cJSON *r;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (!plan_allows_tokens(req)) {
        return http_auth_reply_plan_limit(req, MT_Q_WEB_API, req->plan);
    }
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "name", 100, true, &name) != 0) {
        return req->status;
    }
    if (svc_auth_token_rename(&req->actor, id, name, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "id", (double)id);
    cJSON_AddStringToObject(r, "name", name);
    return http_reply_json(req, 200, r);
}

/* DELETE /api/v1/users/{id}/sessions (administrators): end every session
 * of a user of the account and revoke their API tokens. Naming oneself
 * keeps the current session. */
static int h_user_sessions_end(http_req *req)
{
    long long id, n_sessions = 0, n_tokens = 0;
    svc_error e;
    cJSON *r;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_auth_user_sessions_end(&req->actor, id, &n_sessions, &n_tokens, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "user_id", (double)id);
    cJSON_AddNumberToObject(r, "sessions_ended", (double)n_sessions);
    cJSON_AddNumberToObject(r, "tokens_revoked", (double)n_tokens);
    return http_reply_json(req, 200, r);
}

/* ---------------------------------------------------- IP allow-list */

static bool plan_allows_ip_list(http_req *req)
{
    mt_error err;
    return mt_plan_require((mt_plan)req->plan, MT_Q_IP_RESTRICTION, MT_ACCESS_FULL, &err) ==
           MT_OK;
}

/* GET /api/v1/account/ip-allow-list (admin, Pro) */
static int h_ip_get(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    if (!plan_allows_ip_list(req)) {
        return http_auth_reply_plan_limit(req, MT_Q_IP_RESTRICTION, req->plan);
    }
    if (svc_auth_ip_list_get(&req->actor, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* PUT /api/v1/account/ip-allow-list {ip_allow_list: ["203.0.113.0/24", ...]}
 * (admin, Pro). An empty list allows every address. The list must keep the
 * caller's own address allowed, so that an administrator cannot lock
 * themselves out by mistake. */
static int h_ip_put(http_req *req)
{
    static const char *const allowed[] = {"ip_allow_list", NULL};
    cJSON *o = NULL;
    svc_error e;
    if (!plan_allows_ip_list(req)) {
        return http_auth_reply_plan_limit(req, MT_Q_IP_RESTRICTION, req->plan);
    }
    if (http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    if (svc_auth_ip_list_set(&req->actor,
                             cJSON_GetObjectItemCaseSensitive(req->body, "ip_allow_list"), &o,
                             &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}
const http_route http_routes_auth_sessions[] = {
    {"GET", "/api/v1/me/sessions", h_sessions_list, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/me/sessions", h_sessions_end_others, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/me/sessions/*", h_session_end, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/me/tokens", h_tokens_list, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/me/tokens/*", h_token_revoke, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/me/tokens/*", h_token_rename, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/users/*/sessions", h_user_sessions_end, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/account/ip-allow-list", h_ip_get, AUTH_ADMIN, BODY_NONE, false},
    {"PUT", "/api/v1/account/ip-allow-list", h_ip_put, AUTH_ADMIN, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
