/* The gateway side of apps (see svc_gateway.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_gateway.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_apps.h"
#include "db_auth.h"
#include "db_gateway.h"
#include "db_series.h"
#include "instruments.h"
#include "svc_apps.h"
#include "svc_auth.h"
#include "svc_ingest.h"
#include "svc_tx.h"

/* Requests listed for a user. */
#define REQUESTS_LISTED 20

typedef struct {
    long long account_id;
    long long app_id;
} app_ref;

/* The app holding "credential" on connection "c" (SVC_OK), or why not:
 * the ingestion routes' rule (svc_ingest_app()). */
static svc_status identify(db_conn *c, const char *credential, app_ref *app, svc_error *e)
{
    ingest_result r;
    memset(&r, 0, sizeof r);
    if (svc_ingest_app(c, credential, svc_ingest_now_us(), &r, NULL, e) != SVC_OK) {
        return e->status != SVC_OK ? e->status : SVC_INTERNAL;
    }
    app->account_id = r.account_id;
    app->app_id = r.app_id;
    return SVC_OK;
}

/* The effective plan of the account (L3: an expired licence counts as Free). */
static svc_status account_plan(db_conn *c, long long account_id, mt_plan *plan, svc_error *e)
{
    db_auth_user u;
    db_status st;
    memset(&u, 0, sizeof u);
    st = db_gw_account_plan(c, account_id, u.plan, &u.licence_expires);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    *plan = (mt_plan)svc_auth_effective_plan(&u, auth_now());
    return SVC_OK;
}

/* The selection limit of a device of app kind "kind" on "plan": P11 for
 * LR8450 direct, P10 otherwise (0 where the plan does not have it). */
static long long selection_limit(mt_plan plan, const char *kind)
{
    mt_quota q = svc_app_kind_bit(kind) == SVC_APP_DIRECT ? MT_Q_CHANNELS_LR8450
                                                          : MT_Q_CHANNELS_ONE;
    mt_plan_entry entry = {0};
    mt_error err;
    if (mt_plan_get(plan, q, &entry, &err) != MT_OK || !entry.available) {
        return 0;
    }
    return entry.limit;
}

/* ---------------------------------------------------------------- report */

static svc_status field_fail(svc_error *e, const char *fmt_field, size_t i, long long j,
                             const char *msg)
{
    svc_fail(e, SVC_INVALID, NULL, NULL, "%s", msg);
    if (j >= 0) {
        snprintf(e->field_buf, sizeof e->field_buf, fmt_field, i, j);
    } else {
        snprintf(e->field_buf, sizeof e->field_buf, fmt_field, i);
    }
    e->field = e->field_buf;
    snprintf(e->message, sizeof e->message, "%s: %s", e->field_buf, msg);
    return SVC_INVALID;
}

/* What a report may hold before anything is looked up. */
static svc_status check_report(const svc_gw_device *dev, size_t n, svc_error *e)
{
    if (n > SVC_GW_DEVICES_MAX) {
        return svc_fail(e, SVC_TOO_LARGE, NULL, "devices", "a report holds at most %d devices",
                        SVC_GW_DEVICES_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        const svc_gw_device *d = &dev[i];
        if (d->firmware[0] != '\0' && !svc_firmware_valid(d->firmware)) {
            return field_fail(e, "devices[%zu].firmware", i, -1,
                              "firmware must be a version such as 1.50 or V2.20");
        }
        if (d->n_ch > SVC_GW_CHANNELS_MAX) {
            return field_fail(e, "devices[%zu].channels", i, -1,
                              "a device reports at most 1000 channels");
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(dev[k].model, d->model) == 0 && strcmp(dev[k].serial, d->serial) == 0) {
                return field_fail(e, "devices[%zu]", i, -1,
                                  "this model and serial number are reported twice");
            }
        }
        for (size_t j = 0; j < d->n_ch; j++) {
            if (!svc_channel_key_valid(d->ch[j].key)) {
                return field_fail(e, "devices[%zu].channels[%lld].key", i, (long long)j,
                                  "key must be 1 to 32 letters, digits, '_', '.' or '-'");
            }
        }
        /* Repeated keys: sorting would need a copy; the lists are short. */
        for (size_t j = 1; j < d->n_ch; j++) {
            for (size_t k = 0; k < j; k++) {
                if (strcmp(d->ch[j].key, d->ch[k].key) == 0) {
                    return field_fail(e, "devices[%zu].channels[%lld].key", i, (long long)j,
                                      "this key is reported twice");
                }
            }
        }
    }
    return SVC_OK;
}

/* The channels of "d" as JSON text [{"key", "name", "unit"}] (caller frees). */
static char *channels_json(const svc_gw_device *d)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;
    for (size_t j = 0; arr != NULL && j < d->n_ch; j++) {
        cJSON *o = cJSON_CreateObject();
        if (o == NULL) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "key", d->ch[j].key);
        cJSON_AddStringToObject(o, "name", d->ch[j].name[0] != '\0' ? d->ch[j].name : d->ch[j].key);
        cJSON_AddStringToObject(o, "unit", d->ch[j].unit);
    }
    text = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

svc_status svc_gw_report(srv *s, const char *credential, const char *ip,
                         const svc_gw_device *dev, size_t n, char **table_json, svc_error *e)
{
    db_conn *c = NULL;
    app_ref app = {0, 0};
    audit_who who;
    mt_plan plan = MT_PLAN_FREE;
    char kind[16];
    bool found = false;
    long long limit;
    svc_status rc;

    *table_json = NULL;
    svc_error_clear(e);
    if ((rc = check_report(dev, n, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = identify(c, credential, &app, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_apps_lock_account(c, app.account_id), NULL);
    SVC_TRY_DB(db_app_kind(c, app.account_id, app.app_id, kind, sizeof kind, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_UNAUTHENTICATED, NULL, NULL, "unknown app credential");
        goto out;
    }
    if ((rc = account_plan(c, app.account_id, &plan, e)) != SVC_OK) {
        goto out;
    }
    limit = selection_limit(plan, kind);
    who.account_id = app.account_id;
    who.user_id = 0; /* the app acts, not a user: the entries are the app's */
    who.via_token = false;
    who.ip = ip;
    who.app_id = app.app_id;
    for (size_t i = 0; i < n; i++) {
        const svc_gw_device *d = &dev[i];
        long long id = 0, added = 0, selected = 0;
        char fw[40] = "", *chj, count[48];
        SVC_TRY_DB(db_gw_device_find(c, app.account_id, app.app_id, d->model, d->serial, &id,
                                     fw, sizeof fw, &found),
                   NULL);
        if (!found) {
            rc = svc_device_create_in(c, app.account_id, plan, app.app_id, d->model, d->serial,
                                      d->firmware, d->name, &id, e);
            if (rc != SVC_OK) {
                /* Name the device in the report ("devices[2].model"), keep
                 * the service's words. */
                char inner[48];
                snprintf(inner, sizeof inner, "%s", e->field != NULL ? e->field : "");
                snprintf(e->field_buf, sizeof e->field_buf, "devices[%zu]%s%s", i,
                         inner[0] ? "." : "", inner);
                e->field = e->field_buf;
                goto out;
            }
            SVC_TRY_DB(audit_write_kv(c, &who, "device.create", "device", id, "model", d->model),
                       NULL);
        } else {
            SVC_TRY_DB(db_gw_device_report(c, app.account_id, id, d->firmware, d->name), NULL);
            if (d->firmware[0] != '\0' && strcmp(fw, d->firmware) != 0) {
                SVC_TRY_DB(audit_write_kv(c, &who, "device.firmware", "device", id, "firmware",
                                          d->firmware),
                           NULL);
            }
        }
        if (d->n_ch == 0) {
            continue;
        }
        chj = channels_json(d);
        if (chj == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        {
            db_status st = db_gw_channels_add(c, app.account_id, id, chj, limit, &added,
                                              &selected);
            free(chj);
            SVC_TRY_DB(st, NULL);
        }
        if (added > 0) {
            snprintf(count, sizeof count, "%lld added, %lld selected", added, selected);
            SVC_TRY_DB(audit_write_kv(c, &who, "device.channels", "device", id, "channels",
                                      count),
                       NULL);
        }
    }
    SVC_TRY_DB(db_app_seen(c, app.account_id, app.app_id, ip, NULL), NULL);
    SVC_TRY_DB(db_ingest_describe(c, app.account_id, app.app_id, table_json), NULL);
out:
    rc = svc_tx_end(s->pool, c, rc, e, "this app already has a device with this model and serial");
    if (rc != SVC_OK) {
        free(*table_json);
        *table_json = NULL;
    } else {
        /* Devices and channels changed: the account's remembered replies
         * (the device list, reply_cache.h) end now in this process, before
         * the reply leaves; other processes hear it from PostgreSQL. */
        auth_account_state_changed(app.account_id);
    }
    return rc;
}

/* -------------------------------------------------------- requests (app) */

svc_status svc_gw_pending(srv *s, const char *credential, char **json, svc_error *e)
{
    db_conn *c = NULL;
    app_ref app = {0, 0};
    db_status st;
    svc_status rc;
    *json = NULL;
    svc_error_clear(e);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((rc = identify(c, credential, &app, e)) == SVC_OK &&
        (st = db_gw_pending_json(c, app.account_id, app.app_id, json)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    }
    db_release(s->pool, c);
    return rc;
}

svc_status svc_gw_answer(srv *s, const char *credential, long long id, bool ok,
                         const char *message, const char *result_json, svc_error *e)
{
    db_conn *c = NULL;
    app_ref app = {0, 0};
    db_gw_answer outcome = DB_GW_NO_REQUEST;
    svc_status rc;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = identify(c, credential, &app, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_gw_request_answer(c, app.account_id, app.app_id, id, ok, message, result_json,
                                    &outcome),
               NULL);
    switch (outcome) {
    case DB_GW_ANSWERED:
        break;
    case DB_GW_ALREADY:
        rc = svc_fail(e, SVC_CONFLICT, "already_answered", NULL,
                      "request %lld was answered before", id);
        break;
    case DB_GW_EXPIRED:
        rc = svc_fail(e, SVC_CONFLICT, "request_expired", NULL,
                      "request %lld was not answered within 10 minutes and has expired", id);
        break;
    default:
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such request for this app");
        break;
    }
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc == SVC_OK) {
        /* An answer may set a device's firmware (as svc_gw_report()). */
        auth_account_state_changed(app.account_id);
    }
    return rc;
}

/* ------------------------------------------------------- requests (user) */

/* The app "app_id" as the actor may see it: SVC_OK with *enabled. */
static svc_status visible_app(db_conn *c, const svc_actor *a, long long app_id, bool *enabled,
                              svc_error *e)
{
    db_app row;
    bool found = false;
    db_status st;
    memset(&row, 0, sizeof row);
    st = db_app_get(c, a->account_id, a->admin ? 0 : a->user_id, app_id, &row, &found);
    *enabled = row.enabled;
    db_app_clear(&row);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such app");
    }
    return SVC_OK;
}

svc_status svc_gw_self_check(const svc_actor *a, long long app_id, char **json, svc_error *e)
{
    db_conn *c = NULL;
    bool enabled = false;
    long long id = 0;
    svc_status rc;
    *json = NULL;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = visible_app(c, a, app_id, &enabled, e)) != SVC_OK) {
        goto out;
    }
    if (!enabled) {
        rc = svc_fail(e, SVC_CONFLICT, "app_disabled", NULL,
                      "the app is disabled: it cannot run its self-check");
        goto out;
    }
    SVC_TRY_DB(db_gw_request_add(c, a->account_id, app_id, "self_check", 0, NULL, a->user_id,
                                 &id),
               NULL);
    if (id == 0) {
        rc = svc_fail(e, SVC_THROTTLED, "too_many_requests", NULL,
                      "the app has 32 requests it has not answered yet: wait for them");
        e->retry_after = 60;
        goto out;
    }
    SVC_TRY_DB(db_gw_request_json(c, a->account_id, app_id, id, json), NULL);
out:
    rc = svc_tx_end(a->srv->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_gw_requests(const svc_actor *a, long long app_id, long long request_id,
                           char **json, svc_error *e)
{
    db_conn *c = NULL;
    bool enabled = false;
    db_status st;
    svc_status rc;
    *json = NULL;
    svc_error_clear(e);
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((rc = visible_app(c, a, app_id, &enabled, e)) == SVC_OK) {
        st = request_id > 0 ? db_gw_request_json(c, a->account_id, app_id, request_id, json)
                            : db_gw_requests_json(c, a->account_id, app_id, REQUESTS_LISTED,
                                                  json);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        } else if (*json == NULL) {
            rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such request of this app");
        }
    }
    db_release(a->srv->pool, c);
    return rc;
}

svc_status svc_gw_firmware_upgrade(const svc_actor *a, long long device_id, const char *firmware,
                                   char **json, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_device d;
    bool found = false, enabled = false;
    long long id = 0;
    svc_status rc;
    *json = NULL;
    memset(&d, 0, sizeof d);
    svc_error_clear(e);
    if (firmware == NULL || firmware[0] == '\0' || !instr_firmware_valid(firmware)) {
        return svc_fail(e, SVC_INVALID, NULL, "firmware",
                        "firmware must be a version such as V2.30");
    }
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_device_get(c, a->account_id, a->admin ? 0 : a->user_id, device_id, &d, &found),
               NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such device");
        goto out;
    }
    if ((rc = visible_app(c, a, d.app_id, &enabled, e)) != SVC_OK) {
        goto out;
    }
    if (!enabled) {
        rc = svc_fail(e, SVC_CONFLICT, "app_disabled", NULL,
                      "the device's app is disabled: it cannot upgrade the firmware");
        goto out;
    }
    if (d.firmware != NULL && d.firmware[0] != '\0' &&
        instr_firmware_cmp(firmware, d.firmware) <= 0) {
        rc = svc_fail(e, SVC_CONFLICT, "not_newer", "firmware",
                      "the %s runs firmware %s already: choose a newer version", d.model,
                      d.firmware);
        goto out;
    }
    SVC_TRY_DB(db_gw_request_add(c, a->account_id, d.app_id, "firmware_upgrade", device_id,
                                 firmware, a->user_id, &id),
               NULL);
    if (id == 0) {
        rc = svc_fail(e, SVC_THROTTLED, "too_many_requests", NULL,
                      "the app has 32 requests it has not answered yet: wait for them");
        e->retry_after = 60;
        goto out;
    }
    SVC_TRY_DB(audit_write_kv(c, &who, "device.firmware_upgrade", "device", device_id,
                              "firmware", firmware),
               NULL);
    SVC_TRY_DB(db_gw_request_json(c, a->account_id, d.app_id, id, json), NULL);
out:
    db_device_clear(&d);
    rc = svc_tx_end(a->srv->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}
