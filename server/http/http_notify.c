/* Notification destinations (R8), test sends to destinations and system
 * notification recipients (G4), and the delivery log of the outbox
 * (docs/notify.md). Addresses of webhooks are always masked. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http_admin_rows.h"
#include "json_out.h"
#include "http_svc.h"
#include "svc_destinations.h"

/* ------------------------------------------------------------ destinations */

static int reply_destination(http_req *req, int status, long long id)
{
    svc_error e = {0};
    cJSON *o = NULL;
    if (svc_destination_get(&req->actor, id, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, status, o);
}

static int h_destinations_list(http_req *req)
{
    svc_error e = {0};
    cJSON *o = NULL;
    if (svc_destination_list(&req->actor, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* Read the destination members of the body ("required": create). */
static int destination_input(http_req *req, bool required, svc_destination_in *in)
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

static int h_destinations_create(http_req *req)
{
    svc_destination_in in;
    long long id = 0;
    svc_error e = {0};
    if (destination_input(req, true, &in) != 0) {
        return req->status;
    }
    if (svc_destination_create(&req->actor, &in, &id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_destination(req, 201, id);
}

static int h_destination_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_destination(req, 200, id);
}

static int h_destination_update(http_req *req)
{
    svc_destination_in in;
    long long id;
    svc_error e = {0};
    if (admb_path_id(req, 0, &id) != 0 || destination_input(req, false, &in) != 0) {
        return req->status;
    }
    if (svc_destination_update(&req->actor, id, &in, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_destination(req, 200, id);
}

static int h_destination_delete(http_req *req)
{
    long long id;
    svc_error e = {0};
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_destination_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* 202 {"message_id", "delivery_id", "state": "queued"}: follow it with
 * GET /api/v1/deliveries/{delivery_id}. */
static int reply_queued(http_req *req, const notify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        json_add_int(o, "message_id", r->message_id);
        json_add_int(o, "delivery_id", r->first_id);
        json_add_str(o, "state", "queued");
    }
    return http_reply_json(req, 202, o);
}

static int h_destination_test(http_req *req)
{
    long long id;
    svc_error e = {0};
    notify_result r;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_destination_test(&req->actor, id, &r, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_queued(req, &r);
}

static int h_recipient_test(http_req *req)
{
    long long id;
    svc_error e = {0};
    notify_result r;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_recipient_test(&req->actor, id, &r, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_queued(req, &r);
}

/* ------------------------------------------------------------ delivery log */

/* GET /api/v1/deliveries?destination_id=&recipient_id=&message_id=&state=
 * &kind=&before=&limit= (newest first; "next_before" pages on) */
static int h_deliveries_list(http_req *req)
{
    db_delivery_filter f;
    long long limit;
    char state[16], kind[72];
    svc_error e = {0};
    cJSON *o = NULL;
    memset(&f, 0, sizeof f);
    if (admb_query_int(req, "destination_id", 1, (1LL << 53), 0, &f.destination_id) != 0 ||
        admb_query_int(req, "recipient_id", 1, (1LL << 53), 0, &f.recipient_id) != 0 ||
        admb_query_int(req, "message_id", 1, (1LL << 53), 0, &f.message_id) != 0 ||
        admb_query_int(req, "before", 1, (1LL << 53), 0, &f.before_id) != 0 ||
        admb_query_int(req, "limit", 1, 200, 50, &limit) != 0) {
        return req->status;
    }
    admb_query_str(req, "state", state, sizeof state);
    admb_query_str(req, "kind", kind, sizeof kind);
    f.state = state[0] ? state : NULL;
    f.kind = kind[0] ? kind : NULL;
    f.limit = (int)limit;
    if (svc_delivery_list(&req->actor, &f, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/deliveries/{id}: the row, its text (not for a sensitive
 * one) and every attempt. */
static int h_delivery_get(http_req *req)
{
    long long id;
    svc_error e = {0};
    cJSON *o = NULL;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_delivery_get(&req->actor, id, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/deliveries/{id}/retry: send a dead or cancelled one again. */
static int h_delivery_retry(http_req *req)
{
    long long id;
    svc_error e = {0};
    cJSON *o;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_delivery_retry(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        json_add_int(o, "delivery_id", id);
        json_add_str(o, "state", "retry");
    }
    return http_reply_json(req, 202, o);
}

const http_route http_routes_notify[] = {
    {"GET", "/api/v1/destinations", h_destinations_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/destinations", h_destinations_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/destinations/*", h_destination_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/destinations/*", h_destination_update, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/destinations/*", h_destination_delete, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/destinations/*/test", h_destination_test, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/notification-recipients/*/test", h_recipient_test, AUTH_ADMIN, BODY_NONE,
     false},
    {"GET", "/api/v1/deliveries", h_deliveries_list, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/deliveries/*", h_delivery_get, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/deliveries/*/retry", h_delivery_retry, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
