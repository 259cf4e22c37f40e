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
#include "db_inquiries.h"
#include "http_admin_rows.h"
#include "svc_inquiries.h"

static cJSON *inquiry_json(const http_req *req, const void *row)
{
    const db_inquiry *q = row;
    cJSON *o = cJSON_CreateObject();
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", q->id);
    admb_add_id(o, "user_id", q->user_id);
    admb_add_str(o, "kind", q->kind);
    admb_add_str(o, "subject", q->subject);
    admb_add_str(o, "body", q->body);
    cJSON_AddBoolToObject(o, "allow_remote_access", q->allow_remote_access);
    admb_add_str(o, "status", q->status);
    admb_add_str(o, "created_at", q->created_at);
    return o;
}

/* Members see their own inquiries only. */
static long long inquiry_owner(const http_req *req)
{
    return req->role == ROLE_ADMIN ? 0 : req->user_id;
}

static db_status get_inquiry(db_conn *c, const http_req *req, long long id, void *row,
                             bool *found)
{
    return db_inquiry_get(c, req->account_id, inquiry_owner(req), id, row, found);
}

static void clear_inquiry(void *row)
{
    db_inquiry_clear(row);
}

static const admb_kind k_inquiry = {"inquiry", get_inquiry, inquiry_json, clear_inquiry};

static int reply_inquiry(http_req *req, int status, long long id)
{
    db_inquiry q;
    return admb_reply_row(req, status, id, &k_inquiry, &q);
}

/* GET /api/v1/inquiries?limit=1..100&offset= (newest first) */
static int h_inquiries_list(http_req *req)
{
    db_conn *c = NULL;
    db_inquiry *rows = NULL;
    int n = 0;
    long long limit, offset, total = 0;
    db_status st;
    cJSON *o;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0 ||
        admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_inquiry_list(c, req->account_id, inquiry_owner(req), (int)limit, (int)offset, &rows,
                         &n, &total);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        db_inquiry_free(rows, n);
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, inquiry_json);
    db_inquiry_free(rows, n);
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "limit", (double)limit);
        cJSON_AddNumberToObject(o, "offset", (double)offset);
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
