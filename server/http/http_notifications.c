/* The notifications inbox (N1): each user's own.
 * (docs/api/admin-b.md) */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_notifications.h"
#include "http_admin_rows.h"

static cJSON *notification_json(const http_req *req, const void *row)
{
    const db_notification *n = row;
    cJSON *o = cJSON_CreateObject(), *data;
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", n->id);
    admb_add_str(o, "kind", n->kind);
    admb_add_str(o, "title", n->title);
    admb_add_str(o, "body", n->body);
    data = n->data != NULL ? cJSON_Parse(n->data) : NULL;
    cJSON_AddItemToObject(o, "data", data != NULL ? data : cJSON_CreateObject());
    admb_add_str(o, "created_at", n->created_at);
    admb_add_str(o, "read_at", n->read_at);
    cJSON_AddBoolToObject(o, "read", n->read_at != NULL);
    return o;
}

/* GET /api/v1/notifications?filter=all|unread&limit=1..100&offset= */
static int h_notifications_list(http_req *req)
{
    db_conn *c = NULL;
    db_notification *rows = NULL;
    int n = 0;
    long long limit, offset, total = 0, unread = 0;
    char filter[16];
    bool unread_only;
    db_status st;
    cJSON *o;
    admb_query_str(req, "filter", filter, sizeof filter);
    if (filter[0] != '\0' && strcmp(filter, "all") != 0 && strcmp(filter, "unread") != 0) {
        return http_reply_error(req, 400, "invalid_value", "'filter' must be all or unread", "filter");
    }
    unread_only = strcmp(filter, "unread") == 0;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0 ||
        admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_list(c, req->account_id, req->user_id, unread_only, (int)limit,
                              (int)offset, &rows, &n, &total, &unread);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, notification_json);
    db_notification_free(rows, n);
    if (o != NULL) {
        cJSON_AddStringToObject(o, "filter", unread_only ? "unread" : "all");
        cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "unread", (double)unread);
        cJSON_AddNumberToObject(o, "limit", (double)limit);
        cJSON_AddNumberToObject(o, "offset", (double)offset);
    }
    return http_reply_json(req, 200, o);
}

static int reply_unread(http_req *req, db_conn *c, long long marked, bool with_marked)
{
    long long unread = 0;
    db_status st = db_notification_unread(c, req->account_id, req->user_id, &unread);
    cJSON *o;
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "unread", (double)unread);
        if (with_marked) {
            cJSON_AddNumberToObject(o, "marked", (double)marked);
        }
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/notifications/unread-count -> {unread} */
static int h_notifications_unread(http_req *req)
{
    db_conn *c = NULL;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    return reply_unread(req, c, 0, false);
}

/* POST /api/v1/notifications/{id}/read -> {unread} */
static int h_notification_read(http_req *req)
{
    db_conn *c = NULL;
    long long id;
    bool found = false;
    db_status st;
    if (admb_path_id(req, 0, &id) != 0 || admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_mark(c, req->account_id, req->user_id, id, &found);
    if (st != DB_OK || !found) {
        db_release(req->srv->pool, c);
        return st != DB_OK ? http_reply_db(req, st)
                           : http_reply_error(req, 404, "not_found", "no such notification",
                                              NULL);
    }
    return reply_unread(req, c, 1, true);
}

/* POST /api/v1/notifications/read-all -> {marked, unread} */
static int h_notifications_read_all(http_req *req)
{
    db_conn *c = NULL;
    long long marked = 0;
    db_status st;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_mark_all(c, req->account_id, req->user_id, &marked);
    if (st != DB_OK) {
        db_release(req->srv->pool, c);
        return http_reply_db(req, st);
    }
    return reply_unread(req, c, marked, true);
}

const http_route http_routes_notifications[] = {
    {"GET", "/api/v1/notifications", h_notifications_list, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/notifications/unread-count", h_notifications_unread, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/read-all", h_notifications_read_all, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/*/read", h_notification_read, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
