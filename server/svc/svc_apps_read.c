/* Apps, devices and channels as the API shows them (svc_apps.h, "Reads"):
 * what a signed-in user may see of them, as JSON. A member sees only the
 * apps of the measurement groups granted to them (directly or through a
 * team) and their devices and channels (db_apps.h); an administrator sees
 * the whole account. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "db_apps.h"
#include "instruments.h"
#include "json_out.h"
#include "svc_apps.h"

/* ------------------------------------------------------------- to JSON */

static cJSON *app_json(const void *ctx, const void *row)
{
    const db_app *a = row;
    cJSON *o = cJSON_CreateObject();
    (void)ctx;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", a->id);
    json_add_str(o, "kind", a->kind);
    json_add_str(o, "name", a->name);
    cJSON_AddBoolToObject(o, "enabled", a->enabled);
    json_add_id(o, "group_id", a->group_id);
    json_add_str(o, "credential_prefix", a->credential_prefix);
    json_add_str(o, "credential_set_at", a->credential_set_at);
    json_add_str(o, "last_seen_at", a->last_seen_at);
    json_add_str(o, "last_seen_ip", a->last_seen_ip);
    json_add_int(o, "device_count", a->device_count);
    {
        /* S6: what the server knows of the app's connection (docs/alarms.md). */
        cJSON *cn = cJSON_AddObjectToObject(o, "connection");
        if (cn != NULL) {
            cJSON_AddBoolToObject(cn, "connected", a->connected);
            json_add_str(cn, "since", a->connected ? a->connected_at : a->disconnected_at);
            json_add_str(cn, "connected_at", a->connected_at);
            json_add_str(cn, "disconnected_at", a->disconnected_at);
            json_add_str(cn, "last_seen_at", a->last_seen_at);
            json_add_str(cn, "cause", a->connection_cause);
            json_add_int(cn, "disconnect_after_s", a->disconnect_after_s);
        }
    }
    json_add_str(o, "created_at", a->created_at);
    json_add_str(o, "updated_at", a->updated_at);
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
        json_add_int(o, "limit", e.limit);
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
        json_add_str(x, "min_firmware", need);
        v = instr_check(model, app, fw, (instr_function)f, why, sizeof why);
        if (v == INSTR_OK && (fw == NULL || fw[0] == '\0') && need != NULL) {
            cJSON_AddNullToObject(x, "allowed");
        } else {
            cJSON_AddBoolToObject(x, "allowed", v == INSTR_OK);
        }
        json_add_str(x, "why", v == INSTR_OK ? NULL : why);
        json_add_str(x, "note", row != NULL ? row->note[f] : NULL);
    }
    return o;
}

/* "ctx" is the actor: a device shows the selection limit of its plan. */
static cJSON *device_json(const void *ctx, const void *row)
{
    const svc_actor *a = ctx;
    const db_device *d = row;
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
    json_add_int(o, "id", d->id);
    json_add_int(o, "app_id", d->app_id);
    json_add_str(o, "app_kind", d->app_kind);
    json_add_str(o, "model", d->model);
    json_add_str(o, "serial", d->serial);
    json_add_str(o, "firmware", d->firmware);
    json_add_str(o, "name", d->name);
    json_add_str(o, "min_firmware", min_fw);
    if (min_fw != NULL && d->firmware != NULL && d->firmware[0] != '\0') {
        cJSON_AddBoolToObject(o, "firmware_supported", svc_firmware_cmp(d->firmware, min_fw) >= 0);
    } else {
        cJSON_AddNullToObject(o, "firmware_supported");
    }
    cJSON_AddItemToObject(o, "functions", functions_json(d->model, d->app_kind, d->firmware));
    json_add_int(o, "channel_count", d->channel_count);
    json_add_int(o, "selected_count", d->selected_count);
    cJSON_AddItemToObject(o, "selection_limit", selection_limit_json(a->plan, d->app_kind));
    json_add_str(o, "created_at", d->created_at);
    json_add_str(o, "updated_at", d->updated_at);
    return o;
}

static cJSON *channel_json(const void *ctx, const void *row)
{
    const db_channel *ch = row;
    cJSON *o = cJSON_CreateObject();
    (void)ctx;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", ch->id);
    json_add_int(o, "device_id", ch->device_id);
    json_add_str(o, "key", ch->key);
    json_add_str(o, "name", ch->name);
    json_add_str(o, "unit", ch->unit);
    cJSON_AddBoolToObject(o, "selected", ch->selected);
    json_add_int(o, "position", ch->position);
    if (ch->decimals >= 0) {
        json_add_int(o, "decimals", ch->decimals);
    } else {
        cJSON_AddNullToObject(o, "decimals");
    }
    json_add_str(o, "created_at", ch->created_at);
    json_add_str(o, "updated_at", ch->updated_at);
    return o;
}

/* *out = "o", or SVC_NOMEM when it is NULL. */
static svc_status give(cJSON *o, cJSON **out, svc_error *e)
{
    *out = o;
    return o != NULL ? SVC_OK : svc_fail_nomem(e);
}

/* ------------------------------------------------------------------ apps */

svc_status svc_apps_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_app *rows = NULL;
    int n = 0;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_app_list(c, a->account_id, svc_viewer(a), &rows, &n);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    o = json_items(rows, n, sizeof *rows, app_json, a);
    db_app_free(rows, n);
    return give(o, out, e);
}

svc_status svc_app_get(const svc_actor *a, long long app_id, bool as_admin, cJSON **out,
                       svc_error *e)
{
    db_conn *c = NULL;
    db_app row;
    bool found = false;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_app_get(c, a->account_id, as_admin ? 0 : svc_viewer(a), app_id, &row, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such app");
    }
    o = app_json(a, &row);
    db_app_clear(&row);
    return give(o, out, e);
}

/* --------------------------------------------------------------- devices */

svc_status svc_devices_list(const svc_actor *a, long long app_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_device *rows = NULL;
    int n = 0;
    bool found = true;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK && app_id > 0) {
        db_app app;
        st = db_app_get(c, a->account_id, svc_viewer(a), app_id, &app, &found);
        db_app_clear(&app);
    }
    if (st == DB_OK && found) {
        st = db_device_list(c, a->account_id, svc_viewer(a), app_id, &rows, &n);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such app");
    }
    o = json_items(rows, n, sizeof *rows, device_json, a);
    db_device_free(rows, n);
    return give(o, out, e);
}

svc_status svc_device_get(const svc_actor *a, long long device_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_device row;
    bool found = false;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_device_get(c, a->account_id, svc_viewer(a), device_id, &row, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such device");
    }
    o = device_json(a, &row);
    db_device_clear(&row);
    return give(o, out, e);
}

/* -------------------------------------------------------------- channels */

svc_status svc_channels_list(const svc_actor *a, long long device_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_device d;
    db_channel *rows = NULL;
    int n = 0, selected = 0;
    bool found = false;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    memset(&d, 0, sizeof d);
    if (st == DB_OK) {
        st = db_device_get(c, a->account_id, svc_viewer(a), device_id, &d, &found);
    }
    if (st == DB_OK && found) {
        st = db_channel_list(c, a->account_id, svc_viewer(a), device_id, &rows, &n);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK || !found) {
        db_device_clear(&d);
        return st != DB_OK ? svc_fail_db(e, st, NULL)
                           : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such device");
    }
    o = json_items(rows, n, sizeof *rows, channel_json, a);
    for (int i = 0; i < n; i++) {
        selected += rows[i].selected;
    }
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "selected_count", selected);
        cJSON_AddItemToObject(o, "selection_limit", selection_limit_json(a->plan, d.app_kind));
    }
    db_channel_free(rows, n);
    db_device_clear(&d);
    return give(o, out, e);
}

svc_status svc_channel_get(const svc_actor *a, long long channel_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_channel row;
    bool found = false;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_channel_get(c, a->account_id, svc_viewer(a), channel_id, &row, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such channel");
    }
    o = channel_json(a, &row);
    db_channel_clear(&row);
    return give(o, out, e);
}
