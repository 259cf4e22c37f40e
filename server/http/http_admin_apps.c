/* Administration API, part B: apps (G6, P3), devices (G6, P12, I4) and
 * channels with the acquisition-channel selection (M4, P10/P11).
 *
 * Reads are open to every signed-in user; a member sees only the apps of
 * the measurement groups granted to them (directly or through a team) and
 * their devices and channels (db_apps.h). Changes are for administrators
 * (AUTH_ADMIN) and are audited. Reads go straight to db_apps.c; writes go
 * through svc_apps.c (tenancy, quotas, transactions). */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "instruments.h"
#include "db_apps.h"
#include "http_admin_args.h"
#include "http_admin_rows.h"
#include "svc_apps.h"

/* The viewer for db_apps.c: 0 for administrators, else the member. */
static long long viewer_of(const http_req *req)
{
    return req->role == ROLE_ADMIN ? 0 : req->user_id;
}

/* ------------------------------------------------------------- to JSON */

static cJSON *app_json(const http_req *req, const void *row)
{
    const db_app *a = row;
    cJSON *o = cJSON_CreateObject();
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", a->id);
    admb_add_str(o, "kind", a->kind);
    admb_add_str(o, "name", a->name);
    cJSON_AddBoolToObject(o, "enabled", a->enabled);
    admb_add_id(o, "group_id", a->group_id);
    admb_add_str(o, "credential_prefix", a->credential_prefix);
    admb_add_str(o, "credential_set_at", a->credential_set_at);
    admb_add_str(o, "last_seen_at", a->last_seen_at);
    admb_add_str(o, "last_seen_ip", a->last_seen_ip);
    admb_add_int(o, "device_count", a->device_count);
    {
        /* S6: what the server knows of the app's connection (docs/alarms.md). */
        cJSON *cn = cJSON_AddObjectToObject(o, "connection");
        if (cn != NULL) {
            cJSON_AddBoolToObject(cn, "connected", a->connected);
            admb_add_str(cn, "since", a->connected ? a->connected_at : a->disconnected_at);
            admb_add_str(cn, "connected_at", a->connected_at);
            admb_add_str(cn, "disconnected_at", a->disconnected_at);
            admb_add_str(cn, "last_seen_at", a->last_seen_at);
            admb_add_str(cn, "cause", a->connection_cause);
            admb_add_int(cn, "disconnect_after_s", a->disconnect_after_s);
        }
    }
    admb_add_str(o, "created_at", a->created_at);
    admb_add_str(o, "updated_at", a->updated_at);
    return o;
}

/* The selection quota of a device on app kind "kind": P11 for LR8450 direct,
 * P10 otherwise. */
static mt_quota selection_quota(const char *kind)
{
    return svc_app_kind_bit(kind) == SVC_APP_DIRECT ? MT_Q_CHANNELS_LR8450 : MT_Q_CHANNELS_ONE;
}

/* {"quota":"P10","limit":30} for the plan; limit null where the table says
 * "-" (not available). */
static cJSON *selection_limit_json(mt_plan plan, const char *kind)
{
    mt_quota q = selection_quota(kind);
    mt_plan_entry e = {0};
    mt_error err;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "quota", mt_quota_id(q));
    if (mt_plan_get(plan, q, &e, &err) == MT_OK && e.available) {
        admb_add_int(o, "limit", e.limit);
    } else {
        cJSON_AddNullToObject(o, "limit");
    }
    return o;
}

/* What the supported-instrument table (I4) allows an instrument "model" of
 * firmware "fw" on an app of kind "kind": per function {min_firmware (null
 * for the table's "-"), allowed (null while the firmware is not known),
 * why (the refusal in words, or null), note}. */
static cJSON *functions_json(const char *model, const char *kind, const char *fw)
{
    unsigned app = instr_app_bit(kind);
    const instr_row *row = instr_find(model, app);
    cJSON *o = cJSON_CreateObject();
    for (int f = 0; o != NULL && f < INSTR_FUNCTIONS; f++) {
        cJSON *x = cJSON_AddObjectToObject(o, instr_function_name((instr_function)f));
        const char *need = instr_min(row, (instr_function)f);
        char why[240];
        instr_verdict v;
        if (x == NULL) {
            break;
        }
        admb_add_str(x, "min_firmware", need);
        v = instr_check(model, app, fw, (instr_function)f, why, sizeof why);
        if (v == INSTR_OK && (fw == NULL || fw[0] == '\0') && need != NULL) {
            cJSON_AddNullToObject(x, "allowed");
        } else {
            cJSON_AddBoolToObject(x, "allowed", v == INSTR_OK);
        }
        admb_add_str(x, "why", v == INSTR_OK ? NULL : why);
        admb_add_str(x, "note", row != NULL ? row->note[f] : NULL);
    }
    return o;
}

static cJSON *device_json(const http_req *req, const void *row)
{
    const db_device *d = row;
    mt_plan plan = (mt_plan)req->plan;
    cJSON *o = cJSON_CreateObject();
    const svc_model *m = svc_model_find(d->model);
    const char *min_fw = NULL;
    if (o == NULL) {
        return NULL;
    }
    if (m != NULL) {
        min_fw = svc_app_kind_bit(d->app_kind) == SVC_APP_DIRECT ? m->min_firmware_direct
                                                                 : m->min_firmware;
    }
    admb_add_int(o, "id", d->id);
    admb_add_int(o, "app_id", d->app_id);
    admb_add_str(o, "app_kind", d->app_kind);
    admb_add_str(o, "model", d->model);
    admb_add_str(o, "serial", d->serial);
    admb_add_str(o, "firmware", d->firmware);
    admb_add_str(o, "name", d->name);
    admb_add_str(o, "min_firmware", min_fw);
    if (min_fw != NULL && d->firmware != NULL && d->firmware[0] != '\0') {
        cJSON_AddBoolToObject(o, "firmware_supported", svc_firmware_cmp(d->firmware, min_fw) >= 0);
    } else {
        cJSON_AddNullToObject(o, "firmware_supported");
    }
    cJSON_AddItemToObject(o, "functions", functions_json(d->model, d->app_kind, d->firmware));
    admb_add_int(o, "channel_count", d->channel_count);
    admb_add_int(o, "selected_count", d->selected_count);
    cJSON_AddItemToObject(o, "selection_limit", selection_limit_json(plan, d->app_kind));
    admb_add_str(o, "created_at", d->created_at);
    admb_add_str(o, "updated_at", d->updated_at);
    return o;
}

static cJSON *channel_json(const http_req *req, const void *row)
{
    const db_channel *ch = row;
    cJSON *o = cJSON_CreateObject();
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", ch->id);
    admb_add_int(o, "device_id", ch->device_id);
    admb_add_str(o, "key", ch->key);
    admb_add_str(o, "name", ch->name);
    admb_add_str(o, "unit", ch->unit);
    cJSON_AddBoolToObject(o, "selected", ch->selected);
    admb_add_int(o, "position", ch->position);
    if (ch->decimals >= 0) {
        admb_add_int(o, "decimals", ch->decimals);
    } else {
        cJSON_AddNullToObject(o, "decimals");
    }
    admb_add_str(o, "created_at", ch->created_at);
    admb_add_str(o, "updated_at", ch->updated_at);
    return o;
}

/* The kinds of rows of this file (admb_kind): apps as the request may see
 * them, or as an administrator does; devices; channels. */
static db_status get_app(db_conn *c, const http_req *req, long long id, void *row, bool *found)
{
    return db_app_get(c, req->account_id, viewer_of(req), id, row, found);
}

static db_status get_app_admin(db_conn *c, const http_req *req, long long id, void *row,
                               bool *found)
{
    return db_app_get(c, req->account_id, 0, id, row, found);
}

static db_status get_device(db_conn *c, const http_req *req, long long id, void *row,
                            bool *found)
{
    return db_device_get(c, req->account_id, viewer_of(req), id, row, found);
}

static db_status get_channel(db_conn *c, const http_req *req, long long id, void *row,
                             bool *found)
{
    return db_channel_get(c, req->account_id, viewer_of(req), id, row, found);
}

static void clear_app(void *row)
{
    db_app_clear(row);
}

static void clear_device(void *row)
{
    db_device_clear(row);
}

static void clear_channel(void *row)
{
    db_channel_clear(row);
}

static const admb_kind k_app = {"app", get_app, app_json, clear_app};
static const admb_kind k_app_admin = {"app", get_app_admin, app_json, clear_app};
static const admb_kind k_device = {"device", get_device, device_json, clear_device};
static const admb_kind k_channel = {"channel", get_channel, channel_json, clear_channel};

/* Reply "status" with the app "id" as seen by an administrator, adding
 * "credential" when not NULL. */
static int reply_app(http_req *req, int status, long long id, const char *credential)
{
    db_app a;
    cJSON *o = admb_row_json(req, id, &k_app_admin, &a);
    if (o == NULL) {
        return req->status;
    }
    if (credential != NULL) {
        cJSON_AddStringToObject(o, "credential", credential);
    }
    return http_reply_json(req, status, o);
}

static int reply_device(http_req *req, int status, long long id)
{
    db_device d;
    return admb_reply_row(req, status, id, &k_device, &d);
}

static int reply_channel(http_req *req, int status, long long id)
{
    db_channel ch;
    return admb_reply_row(req, status, id, &k_channel, &ch);
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
        admb_add_str(it, "min_firmware", m[i].min_firmware);
        admb_add_str(it, "min_firmware_direct", m[i].min_firmware_direct);
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
                    admb_add_str(mins, instr_function_name((instr_function)f),
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
    db_conn *c = NULL;
    db_app *rows = NULL;
    int n = 0;
    db_status st;
    cJSON *o;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_app_list(c, req->account_id, viewer_of(req), &rows, &n);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, app_json);
    db_app_free(rows, n);
    return http_reply_json(req, 200, o);
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
    db_app a;
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return admb_reply_row(req, 200, id, &k_app, &a);
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
    db_conn *c = NULL;
    db_device *rows = NULL;
    int n = 0;
    db_status st;
    bool found = true;
    cJSON *o;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    if (app_id > 0) {
        db_app a;
        st = db_app_get(c, req->account_id, viewer_of(req), app_id, &a, &found);
        db_app_clear(&a);
        if (st != DB_OK || !found) {
            db_release(req->srv->pool, c);
            return st != DB_OK ? http_reply_db(req, st)
                               : http_reply_error(req, 404, "not_found", "no such app", NULL);
        }
    }
    st = db_device_list(c, req->account_id, viewer_of(req), app_id, &rows, &n);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, device_json);
    db_device_free(rows, n);
    return http_reply_json(req, 200, o);
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
    db_conn *c = NULL;
    db_device d;
    db_channel *rows = NULL;
    int n = 0, selected = 0;
    long long id;
    bool found = false;
    db_status st;
    cJSON *o;
    if (admb_path_id(req, 0, &id) != 0 || admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_device_get(c, req->account_id, viewer_of(req), id, &d, &found);
    if (st == DB_OK && found) {
        st = db_channel_list(c, req->account_id, viewer_of(req), id, &rows, &n);
    }
    db_release(req->srv->pool, c);
    if (st != DB_OK || !found) {
        db_device_clear(&d);
        return st != DB_OK ? http_reply_db(req, st)
                           : http_reply_error(req, 404, "not_found", "no such device", NULL);
    }
    o = admb_items(req, rows, n, sizeof *rows, channel_json);
    for (int i = 0; i < n; i++) {
        selected += rows[i].selected;
    }
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "selected_count", selected);
        cJSON_AddItemToObject(o, "selection_limit",
                              selection_limit_json((mt_plan)req->plan, d.app_kind));
    }
    db_channel_free(rows, n);
    db_device_clear(&d);
    return http_reply_json(req, 200, o);
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
