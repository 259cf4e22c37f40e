/* The HTTP side of the service contract (see http_svc.h). */
#define _POSIX_C_SOURCE 200809L
#include "http_svc.h"
#include "http_internal.h"

#include <civetweb.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"

int http_svc_status(svc_status st)
{
    switch (st) {
    case SVC_OK: return 200;
    case SVC_INVALID: return 400;
    case SVC_UNAUTHENTICATED: return 401;
    case SVC_FORBIDDEN:
    case SVC_PLAN_LIMIT: return 403;
    case SVC_NOT_FOUND: return 404;
    case SVC_CONFLICT: return 409;
    case SVC_TOO_LARGE: return 413;
    case SVC_UNPROCESSABLE: return 422;
    case SVC_THROTTLED: return 429;
    case SVC_NOT_IMPLEMENTED: return 501;
    case SVC_NOMEM:
    case SVC_UNAVAILABLE: return 503;
    default: return 500; /* SVC_DB (see svc_db_public()), SVC_INTERNAL */
    }
}

/* The plan_limit members of quota "q" on "plan" ("used" < 0: not told). */
static void add_quota(cJSON *o, mt_quota q, mt_plan plan, long long used)
{
    mt_plan_entry entry = {0};
    mt_error err;
    const char *plan_name = mt_plan_name(plan);
    if (mt_plan_get(plan, q, &entry, &err) != MT_OK) {
        entry.limit = 0;
        entry.available = true;
    }
    cJSON_AddStringToObject(o, "quota", mt_quota_id(q));
    cJSON_AddNumberToObject(o, "limit", (double)entry.limit);
    cJSON_AddStringToObject(o, "plan", plan_name != NULL ? plan_name : "free");
    if (!entry.available) {
        cJSON_AddBoolToObject(o, "available", false);
    }
    if (used >= 0) {
        cJSON_AddNumberToObject(o, "used", (double)used);
    }
}

int http_reply_svc(http_req *req, const svc_error *e)
{
    int status;
    cJSON *o;
    char header[64];
    const char *headers = NULL;
    if (e->status == SVC_DB) {
        const char *code, *message;
        svc_status as = svc_db_public(e, &code, &message);
        return http_reply_error(req, http_svc_status(as), code, message, NULL);
    }
    status = http_svc_status(e->status);
    if (status == 500) {
        return http_reply_error(req, 500, "internal_error", "internal error", NULL);
    }
    http_close_if_unreadable(req, status, e->code);
    o = cJSON_CreateObject();
    if (o == NULL) {
        return http_reply_json(req, status, NULL);
    }
    cJSON_AddStringToObject(o, "code", e->code != NULL ? e->code : svc_status_code(e->status));
    cJSON_AddStringToObject(o, "message", e->message[0] ? e->message : svc_strerror(e->status));
    if (e->field != NULL) {
        cJSON_AddStringToObject(o, "field", e->field);
    }
    if (e->has_pos) {
        cJSON_AddNumberToObject(o, "position", (double)e->pos);
    }
    if (e->extra_key != NULL && e->extra_key[0] != '\0') {
        cJSON_AddStringToObject(o, e->extra_key, e->extra_val);
    }
    if (e->has_quota) {
        add_quota(o, e->quota, e->plan, e->used);
    }
    if ((e->status == SVC_THROTTLED || e->status == SVC_UNAVAILABLE) && e->retry_after > 0) {
        cJSON_AddNumberToObject(o, "retry_after", (double)e->retry_after);
        snprintf(header, sizeof header, "Retry-After: %lld\r\n", e->retry_after);
        headers = header;
    }
    return http_reply_json_headers(req, status, o, headers);
}

void http_actor_init(http_req *req)
{
    svc_actor *a = &req->actor;
    memset(a, 0, sizeof *a);
    a->srv = req->srv;
    a->account_id = req->account_id;
    a->user_id = req->user_id;
    a->role = req->role;
    a->admin = req->role == ROLE_ADMIN;
    a->plan = (mt_plan)req->plan;
    a->file_access = req->file_access;
    a->via_token = req->via_token;
    a->session_id = req->via_token ? 0 : req->session_id;
    a->token_id = req->via_token ? req->session_id : 0;
    a->ip = http_client_ip(req);
}

bool http_body_pending(const http_req *req)
{
    return http_content_length(req) > 0 || http_header(req, "Transfer-Encoding") != NULL;
}

int http_refuse_unread(http_req *req, int status, const char *code, const char *msg,
                       const char *field)
{
    if (http_body_pending(req)) {
        req->must_close = true;
    }
    return http_reply_error(req, status, code, msg, field);
}

int http_reply_storage_limit(http_req *req, mt_plan plan, long long used, const char *msg)
{
    svc_error f;
    if (http_body_pending(req)) {
        req->must_close = true;
    }
    svc_fail(&f, SVC_TOO_LARGE, "plan_limit", NULL, "%s", msg);
    f.has_quota = true;
    f.quota = MT_Q_STORAGE;
    f.plan = plan;
    f.used = used;
    return http_reply_svc(req, &f);
}
