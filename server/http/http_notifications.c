/* The notifications inbox (N1): each user's own.
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
#include "svc_notifications.h"

/* Reply 200 with what "st" gave: "o", or the failure "e". */
static int reply(http_req *req, svc_status st, cJSON *o, const svc_error *e)
{
    return st == SVC_OK ? http_reply_json(req, 200, o) : http_reply_svc(req, e);
}

/* GET /api/v1/notifications?filter=all|unread&limit=1..100&offset= */
static int h_notifications_list(http_req *req)
{
    long long limit, offset;
    char filter[16];
    bool unread_only;
    cJSON *o = NULL;
    svc_error e;
    svc_status st;
    admb_query_str(req, "filter", filter, sizeof filter);
    if (filter[0] != '\0' && strcmp(filter, "all") != 0 && strcmp(filter, "unread") != 0) {
        return http_reply_error(req, 400, "invalid_value", "'filter' must be all or unread", "filter");
    }
    unread_only = strcmp(filter, "unread") == 0;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0) {
        return req->status;
    }
    st = svc_notifications_list(&req->actor, unread_only, (int)limit, (int)offset, &o, &e);
    return reply(req, st, o, &e);
}

/* GET /api/v1/notifications/unread-count -> {unread} */
static int h_notifications_unread(http_req *req)
{
    char *text = NULL;
    size_t len = 0;
    svc_error e;
    int rc;
    if (svc_notifications_unread_text(&req->actor, &text, &len, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    rc = http_reply_json_text(req, 200, text, len);
    free(text);
    return rc;
}

/* POST /api/v1/notifications/{id}/read -> {unread, marked} */
static int h_notification_read(http_req *req)
{
    long long id;
    cJSON *o = NULL;
    svc_error e;
    svc_status st;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    st = svc_notification_read(&req->actor, id, &o, &e);
    return reply(req, st, o, &e);
}

/* POST /api/v1/notifications/read-all -> {marked, unread} */
static int h_notifications_read_all(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    svc_status st = svc_notifications_read_all(&req->actor, &o, &e);
    return reply(req, st, o, &e);
}

const http_route http_routes_notifications[] = {
    {"GET", "/api/v1/notifications", h_notifications_list, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/notifications/unread-count", h_notifications_unread, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/read-all", h_notifications_read_all, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/*/read", h_notification_read, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
