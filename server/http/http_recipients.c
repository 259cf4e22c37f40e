/* System notification recipients (G4): administrators only (they hold
 * addresses and webhook secrets).
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
#include "svc_recipients.h"

static int reply_recipient(http_req *req, int status, long long id)
{
    cJSON *o = NULL;
    svc_error e;
    if (svc_recipient_get(&req->actor, id, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, status, o);
}

static int h_recipients_list(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    if (svc_recipients_list(&req->actor, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* Read the recipient members of the body ("required": create). */
static int recipient_input(http_req *req, bool required, svc_recipient_in *in)
{
    static const char *const allowed[] = {"kind", "name", "address", "language", "enabled",
                                          NULL};
    memset(in, 0, sizeof *in);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "kind", 16, required, &in->kind) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, true, &in->name) != 0 ||
        admb_json_text(req, req->body, "address", 2000, required, false, &in->address) != 0 ||
        http_json_string(req, req->body, "language", 8, false, &in->language) != 0 ||
        admb_json_bool(req, req->body, "enabled", &in->enabled) != 0) {
        return -1;
    }
    return 0;
}

static int h_recipients_create(http_req *req)
{
    svc_recipient_in in;
    long long id = 0;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (recipient_input(req, true, &in) != 0) {
        return req->status;
    }
    if (svc_recipient_create(req->srv->pool, &a, &in, &id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_recipient(req, 201, id);
}

static int h_recipient_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_recipient(req, 200, id);
}

static int h_recipient_update(http_req *req)
{
    svc_recipient_in in;
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0 || recipient_input(req, false, &in) != 0) {
        return req->status;
    }
    if (svc_recipient_update(req->srv->pool, &a, id, &in, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_recipient(req, 200, id);
}

static int h_recipient_delete(http_req *req)
{
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_recipient_delete(req->srv->pool, &a, id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

const http_route http_routes_recipients[] = {
    {"GET", "/api/v1/notification-recipients", h_recipients_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/notification-recipients", h_recipients_create, AUTH_ADMIN, BODY_JSON,
     false},
    {"GET", "/api/v1/notification-recipients/*", h_recipient_get, AUTH_ADMIN, BODY_NONE, false},
    {"PATCH", "/api/v1/notification-recipients/*", h_recipient_update, AUTH_ADMIN, BODY_JSON,
     false},
    {"DELETE", "/api/v1/notification-recipients/*", h_recipient_delete, AUTH_ADMIN, BODY_NONE,
     false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
