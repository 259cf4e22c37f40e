/* Inquiries (G5): any signed-in user may send one and read their own;
 * administrators read all of the account's; only an administrator may ask
 * for the account's deletion.
 * (docs/api/admin-b.md) */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "svc_inquiries.h"

static int reply_inquiry(http_req *req, int status, long long id)
{
    cJSON *o = NULL;
    svc_error e;
    if (svc_inquiry_get(&req->actor, id, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, status, o);
}

/* GET /api/v1/inquiries?limit=1..100&offset= (newest first) */
static int h_inquiries_list(http_req *req)
{
    long long limit, offset;
    cJSON *o = NULL;
    svc_error e;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0) {
        return req->status;
    }
    if (svc_inquiries_list(&req->actor, (int)limit, (int)offset, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/inquiries {kind, subject, body, allow_remote_access?} */
static int h_inquiries_create(http_req *req)
{
    static const char *const allowed[] = {"kind", "subject", "body", "allow_remote_access",
                                          NULL};
    const char *kind = NULL, *subject = NULL, *body = NULL;
    int remote;
    long long id = 0;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "kind", 32, true, &kind) != 0 ||
        admb_json_text(req, req->body, "subject", 200, true, false, &subject) != 0 ||
        http_json_string(req, req->body, "body", 10000, true, &body) != 0 ||
        admb_json_bool(req, req->body, "allow_remote_access", &remote) != 0) {
        return req->status;
    }
    if (body[strspn(body, " \t\r\n")] == '\0') {
        return http_reply_error(req, 400, "invalid_value", "'body' must not be empty", "body");
    }
    if (svc_inquiry_create(req->srv->pool, &a, kind, subject, body, remote == 1, &id, &e) !=
        SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_inquiry(req, 201, id);
}

static int h_inquiry_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_inquiry(req, 200, id);
}

const http_route http_routes_inquiries[] = {
    {"GET", "/api/v1/inquiries", h_inquiries_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/inquiries", h_inquiries_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/inquiries/*", h_inquiry_get, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
