/* Administration API, part B: apps (G6, P3), devices (G6, P12, I4) and
 * channels with the acquisition-channel selection (M4, P10/P11).
 *
 * Reads are open to every signed-in user; a member sees only the apps of
 * the measurement groups granted to them (directly or through a team) and
 * their devices and channels. Changes are for administrators (AUTH_ADMIN)
 * and are audited. Reads are svc_apps_read.c (the JSON of each kind),
 * writes svc_apps.c (tenancy, quotas, transactions). */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "instruments.h"
#include "http_admin_args.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "json_out.h"
#include "svc_apps.h"

/* Reply "status" with what "st" gave: "o", or the failure "e". */
static int reply_read(http_req *req, int status, svc_status st, cJSON *o, const svc_error *e)
{
    return st == SVC_OK ? http_reply_json(req, status, o) : http_reply_svc(req, e);
}

/* Reply "status" with the app "id" as seen by an administrator, adding
 * "credential" when not NULL. */
static int reply_app(http_req *req, int status, long long id, const char *credential)
{
    cJSON *o = NULL;
    svc_error e;
    if (svc_app_get(&req->actor, id, true, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    if (credential != NULL) {
        cJSON_AddStringToObject(o, "credential", credential);
    }
    return http_reply_json(req, status, o);
}

static int reply_device(http_req *req, int status, long long id)
{
    cJSON *o = NULL;
    svc_error e;
    svc_status st = svc_device_get(&req->actor, id, &o, &e);
    return reply_read(req, status, st, o, &e);
}

static int reply_channel(http_req *req, int status, long long id)
{
    cJSON *o = NULL;
    svc_error e;
    svc_status st = svc_channel_get(&req->actor, id, &o, &e);
    return reply_read(req, status, st, o, &e);
}

/* ----------------------------------------------------- instrument models */

/* GET /api/v1/instrument-models: the supported-instrument table (I4). */
static int h_models(http_req *req)
{
    size_t n;
    const svc_model *m = svc_models(&n);
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    if (items == NULL) {
        cJSON_Delete(o);
        return http_reply_json(req, 500, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *it = cJSON_CreateObject(), *apps = cJSON_AddArrayToObject(it, "apps");
        if (apps == NULL) {
            cJSON_Delete(it);
            cJSON_Delete(o);
            return http_reply_json(req, 500, NULL);
        }
        cJSON_AddStringToObject(it, "model", m[i].model);
        if (m[i].apps & SVC_APP_ONE) {
            cJSON_AddItemToArray(apps, cJSON_CreateString("one"));
        }
        if (m[i].apps & SVC_APP_CROSS) {
            cJSON_AddItemToArray(apps, cJSON_CreateString("cross"));
        }
        if (m[i].apps & SVC_APP_DIRECT) {
            cJSON_AddItemToArray(apps, cJSON_CreateString("lr8450-direct"));
        }
        json_add_str(it, "min_firmware", m[i].min_firmware);
        json_add_str(it, "min_firmware_direct", m[i].min_firmware_direct);
        cJSON_AddBoolToObject(it, "console", m[i].console);
        {
            /* The table's rows of the model: per app kind, every function's
             * minimum and the notes (I4). */
            size_t nt = 0;
            const instr_row *t = instr_table(&nt);
            cJSON *rows = cJSON_AddArrayToObject(it, "table");
            for (size_t r = 0; rows != NULL && r < nt; r++) {
                cJSON *x, *kinds, *mins, *notes;
                if (strcmp(t[r].model, m[i].model) != 0 || (x = cJSON_CreateObject()) == NULL) {
                    continue;
                }
                cJSON_AddItemToArray(rows, x);
                kinds = cJSON_AddArrayToObject(x, "apps");
                mins = cJSON_AddObjectToObject(x, "min_firmware");
                notes = cJSON_AddObjectToObject(x, "notes");
                if (kinds == NULL || mins == NULL || notes == NULL) {
                    continue;
                }
                if (t[r].apps & INSTR_APP_ONE) {
                    cJSON_AddItemToArray(kinds, cJSON_CreateString("one"));
                }
                if (t[r].apps & INSTR_APP_CROSS) {
                    cJSON_AddItemToArray(kinds, cJSON_CreateString("cross"));
                }
                if (t[r].apps & INSTR_APP_DIRECT) {
                    cJSON_AddItemToArray(kinds, cJSON_CreateString("lr8450-direct"));
                }
                for (int f = 0; f < INSTR_FUNCTIONS; f++) {
                    json_add_str(mins, instr_function_name((instr_function)f),
                                 instr_min(&t[r], (instr_function)f));
                    if (t[r].note[f] != NULL) {
                        cJSON_AddStringToObject(notes, instr_function_name((instr_function)f),
                                                t[r].note[f]);
                    }
                }
            }
        }
        cJSON_AddItemToArray(items, it);
    }
    return http_reply_json(req, 200, o);
}

/* ------------------------------------------------------------------ apps */

/* GET /api/v1/apps */
static int h_apps_list(http_req *req)
{
    cJSON *o = NULL;
    svc_error e;
    svc_status st = svc_apps_list(&req->actor, &o, &e);
    return reply_read(req, 200, st, o, &e);
}

/* POST /api/v1/apps {kind, name, group_id?}: 201 with the one-time
 * "credential". */
static int h_apps_create(http_req *req)
{
    static const char *const allowed[] = {"kind", "name", "group_id", NULL};
    const char *kind = NULL, *name = NULL;
    long long group_id = 0, id = 0;
    bool has_group;
    char credential[SVC_CREDENTIAL_CAP];
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    int rc;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "kind", 16, true, &kind) != 0 ||
        admb_json_text(req, req->body, "name", 100, true, false, &name) != 0 ||
        admb_json_id(req, req->body, "group_id", true, &group_id, &has_group) != 0) {
        return req->status;
    }
    if (svc_app_create(req->srv->pool, &a, kind, name, group_id, &id, credential, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    rc = reply_app(req, 201, id, credential);
    memset(credential, 0, sizeof credential);
    return rc;
}

/* GET /api/v1/apps/{id} */
static int h_app_get(http_req *req)
{
    long long id;
    cJSON *o = NULL;
    svc_error e;
    svc_status st;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    st = svc_app_get(&req->actor, id, false, &o, &e);
    return reply_read(req, 200, st, o, &e);
}

/* PATCH /api/v1/apps/{id} {name?, enabled?, group_id?} */
static int h_app_update(http_req *req)
{
    static const char *const allowed[] = {"name", "enabled", "group_id", NULL};
    const char *name = NULL;
    long long id, group_id = 0;
    bool has_group;
    int enabled;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, false, &name) != 0 ||
        admb_json_bool(req, req->body, "enabled", &enabled) != 0 ||
        admb_json_id(req, req->body, "group_id", true, &group_id, &has_group) != 0) {
        return req->status;
    }
    if (svc_app_update(req->srv->pool, &a, id, name, enabled, has_group, group_id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_app(req, 200, id, NULL);
}

/* DELETE /api/v1/apps/{id} (with its devices and channels) */
static int h_app_delete(http_req *req)
{
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_app_delete(req->srv->pool, &a, id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* POST /api/v1/apps/{id}/credentials: a new credential, shown once. */
static int h_app_credentials(http_req *req)
{
    long long id;
    char credential[SVC_CREDENTIAL_CAP];
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    int rc;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_app_regenerate(req->srv->pool, &a, id, credential, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    rc = reply_app(req, 200, id, credential);
    memset(credential, 0, sizeof credential);
    return rc;
}

/* --------------------------------------------------------------- devices */

/* GET /api/v1/devices?app_id= and GET /api/v1/apps/{id}/devices */
static int devices_list(http_req *req, long long app_id)
{
    reply_body_text list;
    svc_error e;
    int rc;
    if (svc_devices_list(&req->actor, app_id, &list, &e) != SVC_OK) {
        reply_body_text_free(&list);
        return http_reply_svc(req, &e);
    }
    if (reply_body_head(list.shared) != NULL) {
        /* The remembered list itself, its headers written before it once
         * (issue 16, srvcpu: one write instead of the headers' and the
         * body's). */
        rc = http_reply_json_kept(req, 200, list.text, list.len, reply_body_head(list.shared));
    } else {
        rc = http_reply_json_text(req, 200, list.text, list.len);
    }
    reply_body_text_free(&list);
    return rc;
}

static int h_devices_list(http_req *req)
{
    long long app_id;
    if (admb_query_int(req, "app_id", 1, 9007199254740992LL, 0, &app_id) != 0) {
        return req->status;
    }
    return devices_list(req, app_id);
}

static int h_app_devices_list(http_req *req)
{
    long long app_id;
    if (admb_path_id(req, 0, &app_id) != 0) {
        return req->status;
    }
    return devices_list(req, app_id);
}

/* POST /api/v1/apps/{id}/devices {model, serial, firmware?, name?} */
static int h_app_devices_create(http_req *req)
{
    static const char *const allowed[] = {"model", "serial", "firmware", "name", NULL};
    const char *model = NULL, *serial = NULL, *firmware = NULL, *name = NULL;
    long long app_id, id = 0;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &app_id) != 0 ||
        http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "model", 32, true, &model) != 0 ||
        http_json_string(req, req->body, "serial", 64, true, &serial) != 0 ||
        http_json_string(req, req->body, "firmware", 32, false, &firmware) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, true, &name) != 0) {
        return req->status;
    }
    if (svc_device_create(req->srv->pool, &a, app_id, model, serial, firmware, name, &id, &e) !=
        SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_device(req, 201, id);
}

static int h_device_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_device(req, 200, id);
}

/* PATCH /api/v1/devices/{id} {model?, serial?, firmware?, name?} */
static int h_device_update(http_req *req)
{
    static const char *const allowed[] = {"model", "serial", "firmware", "name", NULL};
    const char *model = NULL, *serial = NULL, *firmware = NULL, *name = NULL;
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "model", 32, false, &model) != 0 ||
        http_json_string(req, req->body, "serial", 64, false, &serial) != 0 ||
        http_json_string(req, req->body, "firmware", 32, false, &firmware) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, true, &name) != 0) {
        return req->status;
    }
    if (svc_device_update(req->srv->pool, &a, id, model, serial, firmware, name, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_device(req, 200, id);
}

static int h_device_delete(http_req *req)
{
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_device_delete(req->srv->pool, &a, id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* -------------------------------------------------------------- channels */

/* GET /api/v1/devices/{id}/channels: {items, selected_count, selection_limit} */
static int h_channels_list(http_req *req)
{
    long long id;
    cJSON *o = NULL;
    svc_error e;
    svc_status st;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    st = svc_channels_list(&req->actor, id, &o, &e);
    return reply_read(req, 200, st, o, &e);
}

/* "decimals": absent (*set false), null (automatic: -1) or a whole number
 * 0..9. Returns 0, or -1 after replying 400. */
static int json_decimals(http_req *req, bool *set, int *out)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(req->body, "decimals");
    *set = false;
    *out = -1;
    if (d == NULL) {
        return 0;
    }
    *set = true;
    if (cJSON_IsNull(d)) {
        return 0;
    }
    if (!cJSON_IsNumber(d)) {
        http_reply_error(req, 400, "wrong_type", "'decimals' must be a whole number or null",
                         "decimals");
        return -1;
    }
    if (d->valuedouble < 0 || d->valuedouble > 9 || d->valuedouble != (double)(int)d->valuedouble) {
        http_reply_error(req, 400, "invalid_value", "'decimals' must be a whole number from 0 to 9",
                         "decimals");
        return -1;
    }
    *out = (int)d->valuedouble;
    return 0;
}

/* POST /api/v1/devices/{id}/channels {key, name, unit?, decimals?} (not selected) */
static int h_channels_create(http_req *req)
{
    static const char *const allowed[] = {"key", "name", "unit", "decimals", NULL};
    const char *key = NULL, *name = NULL, *unit = NULL;
    bool dec_set = false;
    int decimals = -1;
    long long device_id, id = 0;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &device_id) != 0 ||
        http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "key", 32, true, &key) != 0 ||
        admb_json_text(req, req->body, "name", 100, true, false, &name) != 0 ||
        admb_json_text(req, req->body, "unit", 16, false, true, &unit) != 0 ||
        json_decimals(req, &dec_set, &decimals) != 0) {
        return req->status;
    }
    if (svc_channel_create(req->srv->pool, &a, device_id, key, name, unit, decimals, &id, &e) !=
        SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_channel(req, 201, id);
}

static int h_channel_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_channel(req, 200, id);
}

/* PATCH /api/v1/channels/{id} {name?, unit?, decimals?} */
static int h_channel_update(http_req *req)
{
    static const char *const allowed[] = {"name", "unit", "decimals", NULL};
    const char *name = NULL, *unit = NULL;
    bool dec_set = false;
    int decimals = -1;
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, false, &name) != 0 ||
        admb_json_text(req, req->body, "unit", 16, false, true, &unit) != 0 ||
        json_decimals(req, &dec_set, &decimals) != 0) {
        return req->status;
    }
    if (svc_channel_update(req->srv->pool, &a, id, name, unit, dec_set, decimals, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_channel(req, 200, id);
}

static int h_channel_delete(http_req *req)
{
    long long id;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_channel_delete(req->srv->pool, &a, id, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* PUT /api/v1/devices/{id}/selection {channel_ids: [...]}: the whole
 * acquisition selection, all or nothing. */
static int h_selection_put(http_req *req)
{
    static const char *const allowed[] = {"channel_ids", NULL};
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, "channel_ids"), *item;
    long long device_id, *ids = NULL;
    int n = 0, rc;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &device_id) != 0 ||
        http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    if (arr == NULL || cJSON_IsNull(arr)) {
        return http_reply_error(req, 400, "missing", "'channel_ids' is required", "channel_ids");
    }
    if (!cJSON_IsArray(arr)) {
        return http_reply_error(req, 400, "wrong_type", "'channel_ids' must be an array of ids",
                                "channel_ids");
    }
    if (cJSON_GetArraySize(arr) > SVC_SELECTION_MAX) {
        return http_reply_error(req, 400, "too_long", "'channel_ids' has too many ids",
                                "channel_ids");
    }
    ids = malloc(sizeof *ids * (size_t)(cJSON_GetArraySize(arr) + 1));
    if (ids == NULL) {
        return http_reply_json(req, 500, NULL);
    }
    cJSON_ArrayForEach(item, arr)
    {
        if (!admb_json_id_value(item, &ids[n])) {
            free(ids);
            return http_reply_error(req, 400, "wrong_type",
                                    "'channel_ids' must be an array of positive integer ids",
                                    "channel_ids");
        }
        n++;
    }
    if (svc_selection_set(req->srv->pool, &a, device_id, ids, n, &e) != SVC_OK) {
        free(ids);
        return admb_reply_err(req, &e);
    }
    free(ids);
    rc = h_channels_list(req);
    return rc;
}

const http_route http_routes_admin_apps[] = {
    {"GET", "/api/v1/instrument-models", h_models, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/apps", h_apps_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/apps", h_apps_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/apps/*", h_app_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/apps/*", h_app_update, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/apps/*", h_app_delete, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/apps/*/credentials", h_app_credentials, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/apps/*/devices", h_app_devices_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/apps/*/devices", h_app_devices_create, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/devices", h_devices_list, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/devices/*", h_device_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/devices/*", h_device_update, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/devices/*", h_device_delete, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/devices/*/channels", h_channels_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/devices/*/channels", h_channels_create, AUTH_ADMIN, BODY_JSON, false},
    {"PUT", "/api/v1/devices/*/selection", h_selection_put, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/channels/*", h_channel_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/channels/*", h_channel_update, AUTH_ADMIN, BODY_JSON, false},
    {"DELETE", "/api/v1/channels/*", h_channel_delete, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
