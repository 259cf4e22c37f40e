/* Apps, devices and channels as the API shows them (svc_apps.h, "Reads"):
 * what a signed-in user may see of them, as JSON. A member sees only the
 * apps of the measurement groups granted to them (directly or through a
 * team) and their devices and channels (db_apps.h); an administrator sees
 * the whole account. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_apps.h"
#include "instruments.h"
#include "json_out.h"
#include "mt/caltime.h"
#include "refresher.h"
#include "reply_cache.h"
#include "sbuf.h"
#include "svc_share.h"
#include "stripes.h"
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
static void selection_limit_write(sbuf *b, mt_plan plan, const char *kind)
{
    mt_quota q = selection_quota(kind);
    mt_plan_entry e = {0};
    mt_error err;
    sb_put(b, "{\"quota\":");
    sb_json_str(b, mt_quota_id(q));
    sb_put(b, ",\"limit\":");
    if (mt_plan_get(plan, q, &e, &err) == MT_OK && e.available) {
        sb_i64(b, e.limit);
    } else {
        sb_put(b, "null");
    }
    sb_add(b, "}", 1);
}

/* The same as a cJSON object (the channels list). */
static cJSON *selection_limit_json(mt_plan plan, const char *kind)
{
    sbuf b = {0};
    cJSON *o = NULL;
    selection_limit_write(&b, plan, kind);
    if (!b.failed) {
        o = cJSON_Parse(b.p);
    }
    free(b.p);
    return o;
}

/* What the supported-instrument table (I4) allows an instrument "model" of
 * firmware "fw" on an app of kind "kind": per function {min_firmware (null
 * for the table's "-"), allowed (null while the firmware is not known),
 * why (the refusal in words, or null), note}. */
static void functions_write(sbuf *b, const char *model, const char *kind, const char *fw)
{
    unsigned app = instr_app_bit(kind);
    const instr_row *row = instr_find(model, app);
    sb_add(b, "{", 1);
    for (int f = 0; f < INSTR_FUNCTIONS; f++) {
        const char *need = instr_min(row, (instr_function)f);
        char why[240];
        instr_verdict v = instr_check(model, app, fw, (instr_function)f, why, sizeof why);
        if (f > 0) {
            sb_add(b, ",", 1);
        }
        sb_json_str(b, instr_function_name((instr_function)f));
        sb_put(b, ":{\"min_firmware\":");
        sb_json_str(b, need);
        sb_put(b, ",\"allowed\":");
        if (v == INSTR_OK && (fw == NULL || fw[0] == '\0') && need != NULL) {
            sb_put(b, "null");
        } else {
            sb_put(b, v == INSTR_OK ? "true" : "false");
        }
        sb_put(b, ",\"why\":");
        sb_json_str(b, v == INSTR_OK ? NULL : why);
        sb_put(b, ",\"note\":");
        sb_json_str(b, row != NULL ? row->note[f] : NULL);
        sb_add(b, "}", 1);
    }
    sb_add(b, "}", 1);
}

/* "us" (µs since the Unix epoch) as "YYYY-MM-DDTHH:MM:SS.mmmZ", the
 * milliseconds truncated as to_char()'s MS did; null outside the years
 * 1970..9999. Digits written by hand: snprintf() here was a sixth of an
 * uncached list's CPU. */
static void iso_ms_write(sbuf *b, long long us)
{
    long long ms = us / 1000, day = ms / 86400000, rem = ms % 86400000;
    int y, mo, d, v[6];
    char t[26], *o = t;
    if (us < 0) {
        sb_put(b, "null");
        return;
    }
    mt_cal_to_civil((mt_day)day, &y, &mo, &d);
    if (y > 9999) {
        sb_put(b, "null");
        return;
    }
    v[0] = mo;
    v[1] = d;
    v[2] = (int)(rem / 3600000);
    v[3] = (int)(rem / 60000 % 60);
    v[4] = (int)(rem / 1000 % 60);
    v[5] = (int)(rem % 1000);
    *o++ = '"';
    *o++ = (char)('0' + y / 1000);
    *o++ = (char)('0' + y / 100 % 10);
    *o++ = (char)('0' + y / 10 % 10);
    *o++ = (char)('0' + y % 10);
    for (int i = 0; i < 5; i++) {
        *o++ = "--T::"[i];
        *o++ = (char)('0' + v[i] / 10);
        *o++ = (char)('0' + v[i] % 10);
    }
    *o++ = '.';
    *o++ = (char)('0' + v[5] / 100);
    *o++ = (char)('0' + v[5] / 10 % 10);
    *o++ = (char)('0' + v[5] % 10);
    *o++ = 'Z';
    *o++ = '"';
    sb_add(b, t, (size_t)(o - t));
}

/* The function tables already written in one list: devices of one (model,
 * app kind, firmware) have the same table, copied from the first one's
 * text instead of checked again. */
#define FN_MEMO 8
typedef struct {
    int n;
    struct {
        const char *model, *kind, *fw;
        size_t off, len;
    } e[FN_MEMO];
} fn_memo;

static bool same_str(const char *x, const char *y)
{
    return x == NULL ? y == NULL : y != NULL && strcmp(x, y) == 0;
}

/* functions_write() through "memo" (NULL: none). */
static void functions_write_memo(sbuf *b, fn_memo *memo, const char *model, const char *kind,
                                 const char *fw)
{
    size_t off = b->len;
    if (memo != NULL) {
        for (int i = 0; i < memo->n; i++) {
            if (same_str(memo->e[i].model, model) && same_str(memo->e[i].kind, kind) &&
                same_str(memo->e[i].fw, fw)) {
                size_t from = memo->e[i].off, n = memo->e[i].len;
                sb_reserve(b, n);
                if (!b->failed) {
                    memcpy(b->p + b->len, b->p + from, n);
                    b->len += n;
                    b->p[b->len] = '\0';
                }
                return;
            }
        }
    }
    functions_write(b, model, kind, fw);
    if (memo != NULL && memo->n < FN_MEMO && !b->failed) {
        memo->e[memo->n].model = model;
        memo->e[memo->n].kind = kind;
        memo->e[memo->n].fw = fw;
        memo->e[memo->n].off = off;
        memo->e[memo->n].len = b->len - off;
        memo->n++;
    }
}

/* A device as JSON text, written straight into "b" (issue 16: the list of
 * 100 devices built as a cJSON tree cost about 4,500 nodes, three mallocs
 * per string member, and spent half its CPU time in malloc and free). The
 * actor's plan gives the selection limit. */
static void device_write(sbuf *b, const svc_actor *a, const db_device *d, fn_memo *memo)
{
    const svc_model *m = svc_model_find(d->model);
    const char *min_fw = NULL;
    if (m != NULL) {
        min_fw = svc_app_kind_bit(d->app_kind) == SVC_APP_DIRECT ? m->min_firmware_direct
                                                                 : m->min_firmware;
    }
    sb_put(b, "{\"id\":");
    sb_i64(b, d->id);
    sb_put(b, ",\"app_id\":");
    sb_i64(b, d->app_id);
    sb_put(b, ",\"app_kind\":");
    sb_json_str(b, d->app_kind);
    sb_put(b, ",\"model\":");
    sb_json_str(b, d->model);
    sb_put(b, ",\"serial\":");
    sb_json_str(b, d->serial);
    sb_put(b, ",\"firmware\":");
    sb_json_str(b, d->firmware);
    sb_put(b, ",\"name\":");
    sb_json_str(b, d->name);
    sb_put(b, ",\"min_firmware\":");
    sb_json_str(b, min_fw);
    sb_put(b, ",\"firmware_supported\":");
    if (min_fw != NULL && d->firmware != NULL && d->firmware[0] != '\0') {
        sb_put(b, svc_firmware_cmp(d->firmware, min_fw) >= 0 ? "true" : "false");
    } else {
        sb_put(b, "null");
    }
    sb_put(b, ",\"functions\":");
    functions_write_memo(b, memo, d->model, d->app_kind, d->firmware);
    sb_put(b, ",\"channel_count\":");
    sb_i64(b, d->channel_count);
    sb_put(b, ",\"selected_count\":");
    sb_i64(b, d->selected_count);
    sb_put(b, ",\"selection_limit\":");
    selection_limit_write(b, a->plan, d->app_kind);
    sb_put(b, ",\"created_at\":");
    iso_ms_write(b, d->created_us);
    sb_put(b, ",\"updated_at\":");
    iso_ms_write(b, d->updated_us);
    sb_add(b, "}", 1);
}

/* One device (the single-row route) as a cJSON object. */
static cJSON *device_json(const svc_actor *a, const db_device *d)
{
    sbuf b = {0};
    cJSON *o = NULL;
    device_write(&b, a, d, NULL);
    if (!b.failed) {
        o = cJSON_Parse(b.p);
    }
    free(b.p);
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

/* The list of devices (all apps when app_id is 0) read from the database
 * and written as JSON into *json (malloc'd, *len bytes and a NUL). "rd":
 * the shared read this one leads (reply_share.h), closed to
 * followers once a connection is held; NULL for a read alone. */
static svc_status devices_read(const svc_actor *a, long long app_id, char **json, size_t *len,
                               sread *rd, svc_error *e)
{
    db_conn *c = NULL;
    db_device *rows = NULL;
    int n = 0;
    bool found = true;
    sbuf b = {0};
    fn_memo memo = {0};
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *json = NULL;
    *len = 0;
    if (st == DB_OK) {
        reply_share_start(rd);
    }
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
    sb_put(&b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        if (i > 0) {
            sb_add(&b, ",", 1);
        }
        device_write(&b, a, &rows[i], &memo);
    }
    sb_put(&b, "]}");
    db_device_free(rows, n);
    if (b.failed) {
        free(b.p);
        return svc_fail_nomem(e);
    }
    *json = b.p;
    *len = b.len;
    return SVC_OK;
}

/* The remembered list of every app's devices (reply_cache.h, REPLY_DEVICES,
 * issue 16), as GET /me's: its epoch moves on every API write of the
 * account in this process (http.c) and on every commit anywhere that
 * PostgreSQL announces for the account (migrations 012 and 031: devices,
 * apps, channels, group grants, team members, users, the account). The
 * variant holds what else the list depends on and the actor carries: the
 * plan (selection limits) and the role (an administrator sees every
 * device, a member the granted groups'), so a request authenticated before
 * a change of either never puts its list where the changed user finds it. */
static unsigned long long devices_epoch(long long account_id)
{
    return auth_state_epoch() + auth_account_epoch(account_id) +
           auth_account_state_epoch(account_id);
}

static reply_key devices_key(const svc_actor *a)
{
    reply_key k = {REPLY_DEVICES, a->account_id, a->user_id,
                   (int)a->plan * 64 + (a->role & 31) * 2 + (a->admin ? 1 : 0), 0};
    return k;
}

/* Read the list, remember it under the epoch read before the read ("rd":
 * as devices_read()). */
static svc_status devices_read_put(const svc_actor *a, int64_t now_ms, char **json, size_t *len,
                                   sread *rd, svc_error *e)
{
    reply_key key = devices_key(a);
    unsigned long long epoch = devices_epoch(a->account_id);
    if (devices_read(a, 0, json, len, rd, e) != SVC_OK) {
        return e->status;
    }
    reply_cache_put(&key, epoch, now_ms, *json, *len);
    return SVC_OK;
}

/* What a refresh of a remembered list needs (the server is the job's
 * context). */
typedef struct {
    long long account_id, user_id;
    int role;
    bool admin;
    mt_plan plan;
} devices_refresh_arg;

static void devices_refresh(void *ctx, const void *arg)
{
    const devices_refresh_arg *m = arg;
    svc_actor a = {.srv = ctx, .account_id = m->account_id, .user_id = m->user_id,
                   .role = m->role, .admin = m->admin, .plan = m->plan};
    svc_error e;
    char *json = NULL;
    size_t len = 0;
    if (devices_read_put(&a, auth_now_ms(), &json, &len, NULL, &e) == SVC_OK) {
        free(json);
    }
}

/* A remembered list found: have it read again off the request when it is
 * due (reply_cache.h). */
static void devices_hit(const svc_actor *a, bool due)
{
    if (due) {
        devices_refresh_arg m = {a->account_id, a->user_id, a->role, a->admin, a->plan};
        (void)refresher_submit(devices_refresh, a->srv, &m, sizeof m);
    }
}

/* METRON_DEVICES_SHARE=0: every request that misses the list reads it alone. */
static env_switch g_devices_share = ENV_SWITCH("METRON_DEVICES_SHARE");

static bool devices_read_fn(void *ctx, sread *rd, char **text, size_t *len)
{
    svc_share_req *d = ctx;
    return devices_read_put(d->a, d->now_ms, text, len, rd, d->e) == SVC_OK;
}

svc_status svc_devices_list(const svc_actor *a, long long app_id, reply_body_text *out,
                            svc_error *e)
{
    reply_key key;
    int64_t now_ms;
    bool due = false;
    svc_status rc;
    memset(out, 0, sizeof *out);
    /* One app's devices (a rarer page) and actors that are not a signed-in
     * user are read every time. */
    if (app_id > 0 || a->user_id <= 0) {
        rc = devices_read(a, app_id, &out->owned, &out->len, NULL, e);
        out->text = out->owned;
        return rc;
    }
    key = devices_key(a);
    now_ms = auth_now_ms();
    /* The remembered list itself, not a copy (reply_cache.h). */
    if (reply_cache_get_shared(&key, devices_epoch(a->account_id), now_ms, &out->shared, &out->text,
                               &out->len, &due)) {
        devices_hit(a, due);
        return SVC_OK;
    }
    /* Not remembered (the first request of a user, or the first after any
     * change of the account moved its epoch): read once for the requests
     * that miss it at the same moment (reply_share.h; issue 16, devstall:
     * the 50 connections of a benchmark's run that begins just after a
     * change, its fold moving every epoch, sent 50 reads of the 101
     * devices to a pool of 8 connections, and the last waited 0.2-0.8 s
     * for its turn). */
    if (svc_share_miss(a, now_ms, e, &key, devices_epoch, &g_devices_share, devices_read_fn, out,
                       &due) != SVC_OK) {
        return e->status;
    }
    devices_hit(a, due);
    return SVC_OK;
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
