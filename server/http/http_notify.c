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
#include "http_svc.h"
#include "svc_destinations.h"

/* ------------------------------------------------------------ destinations */

static cJSON *destination_json(const db_destination *d)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", d->id);
    admb_add_str(o, "kind", d->kind);
    admb_add_str(o, "name", d->name);
    admb_add_str(o, "address", d->address);
    admb_add_str(o, "language", d->language);
    cJSON_AddBoolToObject(o, "enabled", d->enabled);
    if (d->last_state != NULL) {
        cJSON *l = cJSON_AddObjectToObject(o, "last_delivery");
        if (l != NULL) {
            admb_add_str(l, "state", d->last_state);
            admb_add_str(l, "at", d->last_at);
            admb_add_str(l, "error", d->last_error);
        }
    } else {
        cJSON_AddNullToObject(o, "last_delivery");
    }
    admb_add_str(o, "created_at", d->created_at);
    admb_add_str(o, "updated_at", d->updated_at);
    return o;
}

static int reply_destination(http_req *req, int status, long long id)
{
    db_destination d;
    svc_error e = {0};
    cJSON *o;
    if (svc_destination_get(&req->actor, id, &d, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = destination_json(&d);
    db_destination_clear(&d);
    return http_reply_json(req, status, o);
}

static int h_destinations_list(http_req *req)
{
    db_destination *rows = NULL;
    int n = 0;
    svc_error e = {0};
    cJSON *o, *items;
    if (svc_destination_list(&req->actor, &rows, &n, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    items = o != NULL ? cJSON_AddArrayToObject(o, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *x = destination_json(&rows[i]);
        if (x == NULL || !cJSON_AddItemToArray(items, x)) {
            cJSON_Delete(x);
            cJSON_Delete(o);
            o = NULL;
            break;
        }
    }
    if (items == NULL) {
        cJSON_Delete(o);
        o = NULL;
    }
    db_destination_free(rows, n);
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
        admb_add_int(o, "message_id", r->message_id);
        admb_add_int(o, "delivery_id", r->first_id);
        admb_add_str(o, "state", "queued");
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

static void add_id_or_null(cJSON *o, const char *name, long long v)
{
    if (v > 0) {
        admb_add_int(o, name, v);
    } else {
        cJSON_AddNullToObject(o, name);
    }
}

static cJSON *delivery_json(const db_delivery *d)
{
    cJSON *o = cJSON_CreateObject(), *t;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", d->id);
    admb_add_int(o, "message_id", d->message_id);
    admb_add_str(o, "kind", d->kind);
    admb_add_str(o, "key", d->key);
    t = cJSON_AddObjectToObject(o, "target");
    if (t != NULL) {
        admb_add_str(t, "type", d->target_type);
        add_id_or_null(t, "destination_id", d->destination_id);
        add_id_or_null(t, "recipient_id", d->recipient_id);
        add_id_or_null(t, "user_id", d->user_id);
        admb_add_str(t, "address", d->address);
    }
    admb_add_str(o, "channel", d->channel);
    admb_add_str(o, "language", d->language);
    admb_add_str(o, "severity", d->severity);
    admb_add_str(o, "title", d->title);
    admb_add_str(o, "state", d->state);
    admb_add_int(o, "attempts", d->attempts);
    admb_add_int(o, "failures", d->failures);
    admb_add_str(o, "next_at", d->next_at);
    admb_add_str(o, "created_at", d->created_at);
    admb_add_str(o, "sent_at", d->sent_at);
    admb_add_str(o, "last_error", d->last_error);
    cJSON_AddBoolToObject(o, "sensitive", d->sensitive);
    return o;
}

static cJSON *attempt_json(const db_attempt *a)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "n", a->n);
    admb_add_str(o, "started_at", a->started_at);
    admb_add_str(o, "ended_at", a->ended_at);
    if (a->duration_ms != NULL) {
        cJSON_AddNumberToObject(o, "duration_ms", strtod(a->duration_ms, NULL));
    } else {
        cJSON_AddNullToObject(o, "duration_ms");
    }
    admb_add_str(o, "outcome", a->outcome);
    add_id_or_null(o, "status", a->status);
    admb_add_str(o, "response", a->response);
    admb_add_str(o, "error", a->error);
    admb_add_str(o, "sender", a->owner);
    return o;
}

/* GET /api/v1/deliveries?destination_id=&recipient_id=&message_id=&state=
 * &kind=&before=&limit= (newest first; "next_before" pages on) */
static int h_deliveries_list(http_req *req)
{
    db_delivery_filter f;
    db_delivery *rows = NULL;
    int n = 0;
    long long limit;
    char state[16], kind[72];
    svc_error e = {0};
    cJSON *o, *items;
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
    if (svc_delivery_list(&req->actor, &f, &rows, &n, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    items = o != NULL ? cJSON_AddArrayToObject(o, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *x = delivery_json(&rows[i]);
        if (x == NULL || !cJSON_AddItemToArray(items, x)) {
            cJSON_Delete(x);
            items = NULL;
        }
    }
    if (items == NULL) {
        cJSON_Delete(o);
        o = NULL;
    } else if (n == f.limit) {
        admb_add_int(o, "next_before", rows[n - 1].id);
    } else {
        cJSON_AddNullToObject(o, "next_before");
    }
    db_delivery_free(rows, n);
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/deliveries/{id}: the row, its text (not for a sensitive
 * one) and every attempt. */
static int h_delivery_get(http_req *req)
{
    long long id;
    db_delivery d;
    db_attempt *att = NULL;
    int n = 0;
    svc_error e = {0};
    cJSON *o, *arr;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_delivery_get(&req->actor, id, &d, &att, &n, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = delivery_json(&d);
    if (o != NULL) {
        cJSON *fields = d.fields ? cJSON_Parse(d.fields) : NULL;
        admb_add_str(o, "body", d.body);
        if (fields != NULL) {
            cJSON_AddItemToObject(o, "fields", fields);
        } else {
            cJSON_AddArrayToObject(o, "fields");
        }
        admb_add_str(o, "link_url", d.link_url);
        admb_add_str(o, "link_label", d.link_label);
        arr = cJSON_AddArrayToObject(o, "log");
        for (int i = 0; arr != NULL && i < n; i++) {
            cJSON *x = attempt_json(&att[i]);
            if (x == NULL || !cJSON_AddItemToArray(arr, x)) {
                cJSON_Delete(x);
                arr = NULL;
            }
        }
        if (arr == NULL) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    db_delivery_clear(&d);
    db_attempt_free(att, n);
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
        admb_add_int(o, "delivery_id", id);
        admb_add_str(o, "state", "retry");
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
