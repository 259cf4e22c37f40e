/* Sign-in over HTTP (docs/auth.md): the /auth routes, the user's own
 * password and two-step settings (/me). Sessions, API tokens and the
 * account's IP allow-list are http_auth_sessions.c; the authentication of
 * every other request is http_request_auth.c; the test fixtures are
 * http/test/; the rules live in svc_auth.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "http_audit.h"
#include "http_auth_shared.h"
#include "auth.h"
#include "auth_password.h"
#include "hdr_text.h"
#include "http.h"
#include "http_admin_args.h"
#include "http_request_auth.h"
#include "http_svc.h"
#include "jobs.h"
#include "log.h"
#include "mt/plan.h"
#include "svc_auth.h"

#define MAX_CODE_CHARS 16

/* ------------------------------------------------------------- replies */

/* Refuse a function the plan lacks (403 plan_limit for quota "q"). */
int http_auth_reply_plan_limit(http_req *req, mt_quota q, int plan)
{
    svc_error f;
    svc_plan_refusal((mt_plan)plan, q, &f);
    return http_reply_svc(req, &f);
}

/* The user as the API shows them. */
static cJSON *user_json(const db_auth_user *u, int plan)
{
    cJSON *o = cJSON_CreateObject(), *a;
    cJSON_AddNumberToObject(o, "id", (double)u->user_id);
    cJSON_AddStringToObject(o, "login_id", u->login_id);
    cJSON_AddStringToObject(o, "name", u->name);
    if (u->email[0]) {
        cJSON_AddStringToObject(o, "email", u->email);
    } else {
        cJSON_AddNullToObject(o, "email");
    }
    cJSON_AddStringToObject(o, "role", u->role);
    cJSON_AddStringToObject(o, "file_access", u->file_access);
    cJSON_AddStringToObject(o, "two_step", u->two_step);
    a = cJSON_AddObjectToObject(o, "account");
    if (a != NULL) {
        cJSON_AddNumberToObject(a, "id", (double)u->account_id);
        if (u->account_login[0]) {
            cJSON_AddStringToObject(a, "login_id", u->account_login);
        } else {
            cJSON_AddNullToObject(a, "login_id");
        }
        cJSON_AddStringToObject(a, "plan", mt_plan_name((mt_plan)plan));
        if (u->trial_expires >= 0) {
            cJSON_AddNumberToObject(a, "trial_expires", (double)u->trial_expires);
        }
    }
    return o;
}

/* The request's User-Agent as text fit to store (it goes into the session
 * row and the user's session list): hdr_clean_text() into "out" (cap
 * USER_AGENT_CAP: the column's 512 bytes). NULL when none was sent. */
#define USER_AGENT_CAP 513
static const char *user_agent(const http_req *req, char *out, size_t cap)
{
    const char *ua = mg_get_header(req->conn, "User-Agent");
    if (ua == NULL) {
        return NULL;
    }
    hdr_clean_text(ua, strlen(ua), out, cap);
    return out;
}

/* The known-device cookie sent (svc_auth.h AUTH_DEVICE_COOKIE) into "out"
 * (AUTH_DEVICE_CAP); NULL when none. */
static const char *device_cookie(const http_req *req, char *out, size_t cap)
{
    const char *header = mg_get_header(req->conn, "Cookie");
    if (header == NULL || mg_get_cookie(header, AUTH_DEVICE_COOKIE, out, cap) <= 0) {
        return NULL;
    }
    return out;
}

/* Append the Set-Cookie line of a new known-device cookie "v" (none when
 * "v" is empty) to "out". It goes only to the sign-in routes. */
static void device_cookie_header(const http_req *req, const char *v, char *out, size_t cap)
{
    size_t n = strlen(out);
    if (v[0] != '\0' && n < cap) {
        snprintf(out + n, cap - n,
                 "Set-Cookie: %s=%s; Path=/api/v1/auth; HttpOnly; SameSite=Strict; "
                 "Max-Age=%d%s\r\n",
                 AUTH_DEVICE_COOKIE, v, AUTH_DEVICE_TTL_S, http_secure(req) ? "; Secure" : "");
    }
}

/* Set-Cookie for a new session (value "v") or, with v NULL, its removal. */
void http_auth_cookie_header(const http_req *req, const char *v, char *out, size_t cap)
{
    snprintf(out, cap, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s%s\r\n",
             AUTH_COOKIE, v ? v : "", http_secure(req) ? "; Secure" : "",
             v ? "" : "; Max-Age=0");
}

/* ------------------------------------------------------------ sign-in */

/* Read the login form of "body" into "in": {account, user, password} or
 * {email, password} (without the password for a reset request). Other
 * members are refused before anything is looked up, so such a body counts
 * no failed attempt. Returns 0 or -1 after replying. */
static int read_login(http_req *req, auth_login *in, bool need_password, char *ua_buf,
                      size_t ua_cap, char *device_buf, size_t device_cap)
{
    static const char *const login_fields[] = {"account", "user", "email", "password", NULL};
    static const char *const reset_fields[] = {"account", "user", "email", NULL};
    const cJSON *b = req->body;
    memset(in, 0, sizeof *in);
    if (http_json_fields(req, b, need_password ? login_fields : reset_fields, NULL) != 0 ||
        http_json_string(req, b, "email", AUTH_MAX_EMAIL_CHARS, false, &in->email) != 0) {
        return -1;
    }
    if (in->email == NULL &&
        (http_json_string(req, b, "account", AUTH_MAX_LOGIN_CHARS, true, &in->account) != 0 ||
         http_json_string(req, b, "user", AUTH_MAX_LOGIN_CHARS, true, &in->user) != 0)) {
        return -1;
    }
    if (need_password &&
        http_json_string(req, b, "password", PASSWORD_MAX_BYTES, true, &in->password) != 0) {
        return -1;
    }
    if (need_password && strlen(in->password) > PASSWORD_MAX_BYTES) {
        return http_reply_error(req, 400, "too_long", "the password is too long", "password"), -1;
    }
    in->ip = http_auth_client_ip(req);
    in->user_agent = user_agent(req, ua_buf, ua_cap);
    in->device = device_buf != NULL ? device_cookie(req, device_buf, device_cap) : NULL;
    return 0;
}

/* Reply to a successful sign-in step: a session (cookie + CSRF token), an
 * API token, or a two-step challenge. */
static int reply_signed_in(http_req *req, auth_grant *o, const char *action)
{
    cJSON *r = cJSON_CreateObject(), *detail = cJSON_CreateObject();
    char csrf[64], extra[400] = "";
    int rc;

    http_auth_set_identity(req, o, o->is_token);
    if (o->challenge) {
        /* The password was right: this device is known from now on. */
        device_cookie_header(req, o->device, extra, sizeof extra);
        OPENSSL_cleanse(o->device, sizeof o->device);
        cJSON_AddStringToObject(r, "two_step", o->user.two_step);
        cJSON_AddStringToObject(r, "challenge", o->secret);
        cJSON_AddNumberToObject(r, "expires_in", AUTH_CHALLENGE_TTL_S);
        cJSON_AddStringToObject(detail, "two_step", o->user.two_step);
        OPENSSL_cleanse(o->secret, sizeof o->secret);
        http_audit(req, "auth.password_ok", "user", o->user.user_id, detail);
        cJSON_Delete(detail);
        rc = http_reply_json_headers(req, 200, r, extra[0] ? extra : NULL);
        OPENSSL_cleanse(extra, sizeof extra);
        return rc;
    }
    if (o->is_token) {
        OPENSSL_cleanse(o->device, sizeof o->device);
        cJSON_AddStringToObject(r, "token", o->secret);
        cJSON_AddNumberToObject(r, "id", (double)o->user.session_id); /* for PATCH /me/tokens/{id} */
        cJSON_AddNumberToObject(r, "expires", (double)o->expires);
        cJSON_AddItemToObject(r, "user", user_json(&o->user, o->plan));
        OPENSSL_cleanse(o->secret, sizeof o->secret);
        req->via_token = false; /* the actor is the user who asked for it */
        http_audit(req, "auth.token_create", "api_token", o->user.session_id, NULL);
        cJSON_Delete(detail);
        rc = http_reply_json_headers(req, 200, r, extra[0] ? extra : NULL);
        OPENSSL_cleanse(extra, sizeof extra);
        return rc;
    }
    if (auth_csrf_token(o->secret, csrf, sizeof csrf) != 0) {
        cJSON_Delete(r);
        cJSON_Delete(detail);
        OPENSSL_cleanse(o->device, sizeof o->device);
        return http_reply_error(req, 500, "internal_error", "internal error", NULL);
    }
    cJSON_AddItemToObject(r, "user", user_json(&o->user, o->plan));
    cJSON_AddStringToObject(r, "csrf_token", csrf);
    http_auth_cookie_header(req, o->secret, extra, sizeof extra);
    device_cookie_header(req, o->device, extra, sizeof extra);
    OPENSSL_cleanse(o->device, sizeof o->device);
    OPENSSL_cleanse(o->secret, sizeof o->secret);
    OPENSSL_cleanse(csrf, sizeof csrf);
    cJSON_AddBoolToObject(detail, "via_alt_login", o->user.via_alt);
    http_audit(req, action, "user", o->user.user_id, detail);
    cJSON_Delete(detail);
    rc = http_reply_json_headers(req, 200, r, extra);
    OPENSSL_cleanse(extra, sizeof extra);
    return rc;
}

/* Reply to a refused sign-in step. A refusal that concerns the user it
 * identified (audited by the service) names them in the access log. */
static int reply_refused(http_req *req, const auth_grant *o, const svc_error *e)
{
    if (o->user.account_id > 0) {
        req->account_id = o->user.account_id;
        req->user_id = o->user.user_id;
    }
    return http_reply_svc(req, e);
}

static int login_common(http_req *req, bool want_token)
{
    char ua[USER_AGENT_CAP], device[AUTH_DEVICE_CAP];
    auth_login in;
    auth_grant o;
    svc_error e;
    if (read_login(req, &in, true, ua, sizeof ua, device, sizeof device) != 0) {
        return req->status;
    }
    if (svc_auth_login(req->srv, &in, want_token, &o, &e) != SVC_OK) {
        return reply_refused(req, &o, &e);
    }
    return reply_signed_in(req, &o, "auth.login");
}

/* POST /api/v1/auth/login {account, user, password} | {email, password} */
static int h_login(http_req *req)
{
    return login_common(req, false);
}

/* POST /api/v1/auth/token: the same credentials; a Web API token (A2, P20). */
static int h_token(http_req *req)
{
    return login_common(req, true);
}

/* POST /api/v1/auth/two-step {challenge, code} */
static int h_two_step(http_req *req)
{
    static const char *const allowed[] = {"challenge", "code", NULL};
    const char *challenge = NULL, *code = NULL;
    char ua[USER_AGENT_CAP];
    auth_grant o;
    svc_error e;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "challenge", 64, true, &challenge) != 0 ||
        http_json_string(req, req->body, "code", MAX_CODE_CHARS, true, &code) != 0) {
        return req->status;
    }
    if (svc_auth_two_step(req->srv, challenge, code, http_auth_client_ip(req),
                          user_agent(req, ua, sizeof ua), &o, &e) != SVC_OK) {
        return reply_refused(req, &o, &e);
    }
    return reply_signed_in(req, &o, "auth.login");
}

/* GET /api/v1/auth/session: who am I, and the CSRF token for cookie users. */
static int h_session(http_req *req)
{
    db_auth_user u;
    svc_error e;
    cJSON *r;
    char cookie[AUTH_SECRET_CHARS + 8], csrf[64];

    if (svc_auth_session_user(&req->actor, &u, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddItemToObject(r, "user", user_json(&u, req->plan));
    cJSON_AddBoolToObject(r, "via_token", req->via_token);
    if (!req->via_token && http_auth_session_cookie(req, cookie, sizeof cookie) &&
        auth_csrf_token(cookie, csrf, sizeof csrf) == 0) {
        cJSON_AddStringToObject(r, "csrf_token", csrf);
        cJSON_AddNumberToObject(r, "idle_timeout_s", AUTH_IDLE_TIMEOUT_S);
    }
    OPENSSL_cleanse(cookie, sizeof cookie);
    return http_reply_json(req, 200, r);
}

/* POST /api/v1/auth/logout: ends this session (or revokes nothing for a
 * token: tokens expire). */
static int h_logout(http_req *req)
{
    char extra[200];
    svc_error e;
    if (svc_auth_logout(&req->actor, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    http_auth_cookie_header(req, NULL, extra, sizeof extra);
    http_audit(req, "auth.logout", "user", req->user_id, NULL);
    return http_reply_json_headers(req, 200, cJSON_CreateObject(), extra);
}

/* ----------------------------------------------------------- password */

/* POST /api/v1/me/password {current, new} */
static int h_me_password(http_req *req)
{
    static const char *const allowed[] = {"current", "new", NULL};
    const char *current = NULL, *next = NULL;
    svc_error e;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "current", PASSWORD_MAX_BYTES, true, &current) != 0 ||
        http_json_string(req, req->body, "new", PASSWORD_MAX_BYTES + 1, true, &next) != 0) {
        return req->status;
    }
    if (svc_auth_change_password(&req->actor, current, next, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, cJSON_CreateObject());
}

/* POST /api/v1/auth/reset-request {account, user} | {email}: 202 whether or
 * not the user exists (a malformed body is 400). The reply leaves before
 * any look-up: whether a user exists, has an address or is over a limit,
 * the answer and its time are the same. The work (svc_auth_reset_request:
 * the link, and its mail into the outbox) runs after it, and the
 * connection closes, so no next request waits behind it. */
static int h_reset_request(http_req *req)
{
    auth_login in;
    char base[300], ua[USER_AGENT_CAP];
    svc_error e;
    int status;
    if (read_login(req, &in, false, ua, sizeof ua, NULL, 0) != 0) {
        return req->status;
    }
    /* The portal's origin for links in e-mails: METRON_PUBLIC_URL, else the
     * address the server listens on. Never the request's Host header (an
     * attacker could point a victim's reset link at their own site). */
    srv_public_url(req->srv, base, sizeof base);
    http_close_after_reply(req);
    status = http_reply_json(req, 202, cJSON_CreateObject());
    if (svc_auth_reset_request(req->srv, &in, base, &e) != SVC_OK) {
        log_warn("auth: a reset request failed after its reply: %s", e.message);
    }
    return status;
}

/* POST /api/v1/auth/reset {token, password} */
static int h_reset(http_req *req)
{
    static const char *const allowed[] = {"token", "password", NULL};
    const char *token = NULL, *password = NULL;
    svc_error e;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "token", 64, true, &token) != 0 ||
        http_json_string(req, req->body, "password", PASSWORD_MAX_BYTES + 1, true, &password) !=
            0) {
        return req->status;
    }
    if (svc_auth_reset(req->srv, token, password, http_auth_client_ip(req), &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, cJSON_CreateObject());
}

/* ----------------------------------------------------------- two-step */

/* POST /api/v1/me/totp/enrol -> {secret, otpauth_uri} */
static int h_totp_enrol(http_req *req)
{
    char secret[64], uri[SVC_AUTH_URI_CAP];
    svc_error e;
    cJSON *r;
    if (svc_auth_totp_enrol(&req->actor, secret, uri, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "secret", secret);
    cJSON_AddStringToObject(r, "otpauth_uri", uri);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(uri, sizeof uri);
    return http_reply_json(req, 200, r);
}

/* POST /api/v1/me/totp/confirm {code}: two_step becomes "totp". */
static int h_totp_confirm(http_req *req)
{
    static const char *const allowed[] = {"code", NULL};
    const char *code = NULL;
    svc_error e;
    cJSON *r;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "code", MAX_CODE_CHARS, true, &code) != 0) {
        return req->status;
    }
    if (svc_auth_totp_confirm(&req->actor, code, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "two_step", "totp");
    return http_reply_json(req, 200, r);
}

/* PUT /api/v1/me/two-step {mode: "off" | "email"} ("totp": enrol/confirm). */
static int h_two_step_set(http_req *req)
{
    static const char *const allowed[] = {"mode", NULL};
    const char *mode = NULL;
    svc_error e;
    cJSON *r;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "mode", 8, true, &mode) != 0) {
        return req->status;
    }
    if (svc_auth_set_two_step(&req->actor, mode, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "two_step", mode);
    return http_reply_json(req, 200, r);
}

const http_route http_routes_auth[] = {
    {"POST", "/api/v1/auth/login", h_login, AUTH_PUBLIC, BODY_JSON, false},
    {"POST", "/api/v1/auth/two-step", h_two_step, AUTH_PUBLIC, BODY_JSON, false},
    {"POST", "/api/v1/auth/token", h_token, AUTH_PUBLIC, BODY_JSON, false},
    {"POST", "/api/v1/auth/reset-request", h_reset_request, AUTH_PUBLIC, BODY_JSON, false},
    {"POST", "/api/v1/auth/reset", h_reset, AUTH_PUBLIC, BODY_JSON, false},
    {"GET", "/api/v1/auth/session", h_session, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/auth/logout", h_logout, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/me/password", h_me_password, AUTH_USER, BODY_JSON, false},
    {"POST", "/api/v1/me/totp/enrol", h_totp_enrol, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/me/totp/confirm", h_totp_confirm, AUTH_USER, BODY_JSON, false},
    {"PUT", "/api/v1/me/two-step", h_two_step_set, AUTH_USER, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
