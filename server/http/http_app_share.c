/* What the gateway apps share through the cloud (K1-K4; docs/app-share.md,
 * docs/api/openapi.yaml): battery profiles, battery thresholds,
 * photo-drawing templates (files the apps define, opaque here) and
 * equipment lists, each reachable by a signed-in person
 * (/api/v1/app-share/..., photo-drawing templates of a group under
 * /api/v1/groups/{id}/photo-templates) and by a gateway app with its
 * credential (/api/v1/ingest/app-share/..., AUTH_APP like the ingestion
 * routes). The rights and the app kinds are the service's
 * (svc_app_share.h).
 *
 * Uploads are BODY_STREAM routes (POST ...?name=...[&replace=1], the body
 * is the file): the body goes into the file store in chunks, never whole
 * into memory, refused with 413 as soon as it is larger than a shared file
 * may be or than the storage quota's room. Downloads are streamed from the
 * store (http_reply_blob()). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "svc_app_share.h"

#define CHUNK (64 * 1024)

/* ----------------------------------------------------------------- helpers */

static int reply_err(http_req *req, const svc_error *e)
{
    if (http_body_pending(req)) {
        req->must_close = true;
    }
    if (e->status == SVC_PLAN_LIMIT && e->has_quota && e->quota == MT_Q_STORAGE) {
        return http_reply_storage_limit(req, e->plan, -1, e->message);
    }
    return http_reply_svc(req, e);
}

/* Who acts: the signed-in person, or the app of an AUTH_APP route. */
static svc_share_who who_of(http_req *req, bool app, svc_actor *a)
{
    svc_share_who w;
    if (app) {
        memset(a, 0, sizeof *a);
        a->srv = req->srv;
        a->account_id = req->account_id;
        a->plan = MT_PLAN_FREE; /* the service reads the account's own */
        a->ip = http_client_ip(req);
        w.app_id = req->app_id;
    } else {
        *a = admb_actor(req);
        w.app_id = 0;
    }
    w.a = a;
    return w;
}

/* ?group_id=N of a person's photo-drawing templates, or the path's. */
static int group_of(http_req *req, bool app, svc_share_kind kind, bool in_path, long long *g)
{
    *g = 0;
    if (app || kind != SHARE_PHOTO_TEMPLATE || !in_path) {
        return 0;
    }
    return admb_path_id(req, 0, g);
}

/* ?replace=1|true|0|false (absent: false). */
static int query_replace(http_req *req, bool *out)
{
    char val[8];
    int n = http_query(req, "replace", val, sizeof val);
    *out = false;
    if (n == -1) {
        return 0;
    }
    if (n > 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)) {
        *out = true;
        return 0;
    }
    if (n >= 0 && (strcmp(val, "0") == 0 || strcmp(val, "false") == 0)) {
        return 0;
    }
    http_refuse_unread(req, 400, "invalid_value",
                       "'replace' takes 1 (replace a file of that name) or 0", "replace");
    return -1;
}

/* ------------------------------------------------------------------ files */

static int file_list(http_req *req, svc_share_kind kind, bool app)
{
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o = NULL;
    long long g = 0;
    if (group_of(req, app, kind, true, &g) != 0) {
        return req->status;
    }
    if (svc_share_file_list(req->srv->pool, w, kind, g, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* 413 for a body larger than "room": a shared file's limit, or the room
 * the storage quota of "plan" leaves. */
static int too_large(http_req *req, long long room, mt_plan plan)
{
    char msg[200];
    req->must_close = true;
    if (room >= SHARE_FILE_MAX) {
        snprintf(msg, sizeof msg, "a shared file may have at most %lld bytes", SHARE_FILE_MAX);
        return http_reply_error(req, 413, "too_large", msg, NULL);
    }
    snprintf(msg, sizeof msg, "P2 cloud storage: the file is larger than the %lld bytes left",
             room);
    return http_reply_storage_limit(req, plan, -1, msg);
}

static int file_upload(http_req *req, svc_share_kind kind, bool app)
{
    char name[SHARE_NAME_MAX * 4 + 2], ctype[SHARE_CTYPE_MAX + 1];
    long long g = 0, room = 0, declared;
    bool replace = false, created = false;
    mt_plan plan = MT_PLAN_FREE;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    svc_share_upload up;
    unsigned char *buf = NULL;
    cJSON *o = NULL;
    int n, status;

    memset(&up, 0, sizeof up);
    if (group_of(req, app, kind, true, &g) != 0 || query_replace(req, &replace) != 0) {
        return req->status;
    }
    n = http_query(req, "name", name, sizeof name);
    if (n == -1 || n == 0) {
        return http_refuse_unread(req, 400, "missing", "'name' is required (in the query string)",
                                  "name");
    }
    if (n < 0) {
        return http_refuse_unread(req, 400, "invalid_name",
                                  "the name may have at most 100 characters", "name");
    }
    if (svc_share_content_type(http_header(req, "Content-Type"), ctype, &e) != SVC_OK ||
        svc_share_upload_check(req->srv->pool, w, kind, g, name, replace, &room, &plan, &e) !=
            SVC_OK) {
        return reply_err(req, &e);
    }
    declared = http_content_length(req);
    if (declared > room) {
        return too_large(req, room, plan);
    }
    if ((buf = malloc(CHUNK)) == NULL) {
        return http_refuse_unread(req, 503, "out_of_memory", "the server is out of memory: retry",
                                  NULL);
    }
    if (svc_share_upload_begin(req->srv->pool, req->account_id, &up, &e) != SVC_OK) {
        status = reply_err(req, &e);
        goto done;
    }
    for (;;) {
        long got = http_body_read(req, buf, CHUNK);
        if (got < 0) { /* cut short, too slow, or unreadable: nothing is kept */
            status = http_reply_body_failed(req);
            goto done;
        }
        if (got == 0) {
            break;
        }
        if (up.size + got > room) {
            status = too_large(req, room, plan);
            goto done;
        }
        if (svc_share_upload_write(&up, buf, (size_t)got, &e) != SVC_OK) {
            req->must_close = true;
            status = reply_err(req, &e);
            goto done;
        }
    }
    if (svc_share_upload_commit(req->srv->pool, w, kind, g, name, ctype, replace, &up, &o,
                                &created, &e) != SVC_OK) {
        status = reply_err(req, &e);
        goto done;
    }
    status = http_reply_json(req, created ? 201 : 200, o);
done:
    svc_share_upload_end(&up);
    free(buf);
    return status;
}

static int file_content(http_req *req, svc_share_kind kind, bool app)
{
    long long id;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    svc_share_content *f;
    int rc;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if ((f = malloc(sizeof *f)) == NULL) {
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    if (svc_share_file_content(req->srv->pool, w, kind, id, f, &e) != SVC_OK) {
        free(f);
        return reply_err(req, &e);
    }
    /* Always as bytes (the record keeps the type the uploader gave): an
     * uploaded type is never served. */
    rc = http_reply_blob(req, &f->blob, "application/octet-stream", f->name);
    free(f);
    return rc;
}

static int file_delete(http_req *req, svc_share_kind kind, bool app)
{
    long long id, bytes = 0;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_share_file_delete(req->srv->pool, w, kind, id, &bytes, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "deleted", true);
        cJSON_AddNumberToObject(o, "bytes_freed", (double)bytes);
    }
    return http_reply_json(req, 200, o);
}

/* -------------------------------------------------------- equipment lists */

static const char *const equip_fields[] = {"name", "items", NULL};

static int equip_list(http_req *req, bool app)
{
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o = NULL;
    if (svc_equip_list(req->srv->pool, w, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

static int equip_get(http_req *req, bool app)
{
    long long id;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o = NULL;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_equip_get(req->srv->pool, w, id, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

static int equip_create(http_req *req, bool app)
{
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o = NULL;
    if (http_json_fields(req, req->body, equip_fields, NULL) != 0) {
        return req->status;
    }
    if (svc_equip_create(req->srv->pool, w, req->body, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 201, o);
}

static int equip_update(http_req *req, bool app)
{
    long long id;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    cJSON *o = NULL;
    if (admb_path_id(req, 0, &id) != 0 ||
        http_json_fields(req, req->body, equip_fields, NULL) != 0) {
        return req->status;
    }
    if (svc_equip_update(req->srv->pool, w, id, req->body, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

static int equip_delete(http_req *req, bool app)
{
    long long id;
    svc_actor a;
    svc_share_who w = who_of(req, app, &a);
    svc_error e = {0};
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_equip_delete(req->srv->pool, w, id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* ----------------------------------------------------------------- routes */

/* The handlers of one file kind, for a person (p) and an app (a). */
#define FILE_HANDLERS(tag, kind)                                                             \
    static int h_##tag##_list_p(http_req *req) { return file_list(req, kind, false); }       \
    static int h_##tag##_list_a(http_req *req) { return file_list(req, kind, true); }        \
    static int h_##tag##_up_p(http_req *req) { return file_upload(req, kind, false); }       \
    static int h_##tag##_up_a(http_req *req) { return file_upload(req, kind, true); }        \
    static int h_##tag##_get_p(http_req *req) { return file_content(req, kind, false); }     \
    static int h_##tag##_get_a(http_req *req) { return file_content(req, kind, true); }      \
    static int h_##tag##_del_p(http_req *req) { return file_delete(req, kind, false); }      \
    static int h_##tag##_del_a(http_req *req) { return file_delete(req, kind, true); }

FILE_HANDLERS(bp, SHARE_BATTERY_PROFILE)
FILE_HANDLERS(bt, SHARE_BATTERY_THRESHOLD)
FILE_HANDLERS(pt, SHARE_PHOTO_TEMPLATE)

static int h_eq_list_p(http_req *req) { return equip_list(req, false); }
static int h_eq_list_a(http_req *req) { return equip_list(req, true); }
static int h_eq_get_p(http_req *req) { return equip_get(req, false); }
static int h_eq_get_a(http_req *req) { return equip_get(req, true); }
static int h_eq_new_p(http_req *req) { return equip_create(req, false); }
static int h_eq_new_a(http_req *req) { return equip_create(req, true); }
static int h_eq_edit_p(http_req *req) { return equip_update(req, false); }
static int h_eq_edit_a(http_req *req) { return equip_update(req, true); }
static int h_eq_del_p(http_req *req) { return equip_delete(req, false); }
static int h_eq_del_a(http_req *req) { return equip_delete(req, true); }

#define P "/api/v1/app-share/"
#define A "/api/v1/ingest/app-share/"

const http_route http_routes_app_share[] = {
    /* K1 battery profiles */
    {"GET", P "battery-profiles", h_bp_list_p, AUTH_USER, BODY_NONE, false},
    {"POST", P "battery-profiles", h_bp_up_p, AUTH_USER, BODY_STREAM, false},
    {"GET", P "battery-profiles/*/content", h_bp_get_p, AUTH_USER, BODY_NONE, false},
    {"DELETE", P "battery-profiles/*", h_bp_del_p, AUTH_USER, BODY_NONE, false},
    {"GET", A "battery-profiles", h_bp_list_a, AUTH_APP, BODY_NONE, false},
    {"POST", A "battery-profiles", h_bp_up_a, AUTH_APP, BODY_STREAM, false},
    {"GET", A "battery-profiles/*/content", h_bp_get_a, AUTH_APP, BODY_NONE, false},
    {"DELETE", A "battery-profiles/*", h_bp_del_a, AUTH_APP, BODY_NONE, false},
    /* K2 battery thresholds */
    {"GET", P "battery-thresholds", h_bt_list_p, AUTH_USER, BODY_NONE, false},
    {"POST", P "battery-thresholds", h_bt_up_p, AUTH_USER, BODY_STREAM, false},
    {"GET", P "battery-thresholds/*/content", h_bt_get_p, AUTH_USER, BODY_NONE, false},
    {"DELETE", P "battery-thresholds/*", h_bt_del_p, AUTH_USER, BODY_NONE, false},
    {"GET", A "battery-thresholds", h_bt_list_a, AUTH_APP, BODY_NONE, false},
    {"POST", A "battery-thresholds", h_bt_up_a, AUTH_APP, BODY_STREAM, false},
    {"GET", A "battery-thresholds/*/content", h_bt_get_a, AUTH_APP, BODY_NONE, false},
    {"DELETE", A "battery-thresholds/*", h_bt_del_a, AUTH_APP, BODY_NONE, false},
    /* K3 photo-drawing templates: a person names the group in the path */
    {"GET", "/api/v1/groups/*/photo-templates", h_pt_list_p, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/photo-templates", h_pt_up_p, AUTH_USER, BODY_STREAM, false},
    {"GET", P "photo-templates/*/content", h_pt_get_p, AUTH_USER, BODY_NONE, false},
    {"DELETE", P "photo-templates/*", h_pt_del_p, AUTH_USER, BODY_NONE, false},
    {"GET", A "photo-templates", h_pt_list_a, AUTH_APP, BODY_NONE, false},
    {"POST", A "photo-templates", h_pt_up_a, AUTH_APP, BODY_STREAM, false},
    {"GET", A "photo-templates/*/content", h_pt_get_a, AUTH_APP, BODY_NONE, false},
    {"DELETE", A "photo-templates/*", h_pt_del_a, AUTH_APP, BODY_NONE, false},
    /* K4 equipment lists */
    {"GET", P "equipment-lists", h_eq_list_p, AUTH_USER, BODY_NONE, false},
    {"POST", P "equipment-lists", h_eq_new_p, AUTH_USER, BODY_JSON, false},
    {"GET", P "equipment-lists/*", h_eq_get_p, AUTH_USER, BODY_NONE, false},
    {"PATCH", P "equipment-lists/*", h_eq_edit_p, AUTH_USER, BODY_JSON, false},
    {"DELETE", P "equipment-lists/*", h_eq_del_p, AUTH_USER, BODY_NONE, false},
    {"GET", A "equipment-lists", h_eq_list_a, AUTH_APP, BODY_NONE, false},
    {"POST", A "equipment-lists", h_eq_new_a, AUTH_APP, BODY_JSON, false},
    {"GET", A "equipment-lists/*", h_eq_get_a, AUTH_APP, BODY_NONE, false},
    {"PATCH", A "equipment-lists/*", h_eq_edit_a, AUTH_APP, BODY_JSON, false},
    {"DELETE", A "equipment-lists/*", h_eq_del_a, AUTH_APP, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
