/* Dashboards and their pictures: rights, P9, the panels checked against the
 * account, pictures once per account and P2 (see svc_dashboard.h). The
 * refresh (svc_dash_data()) is in svc_dash_data.c. */
#define _POSIX_C_SOURCE 200809L
#include "svc_dashboard.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash_panels.h"
#include "db_account.h"
#include "db_computed.h"
#include "db_dashboard.h"
#include "db_storage.h"
#include "picture_info.h"
#include "svc_tx.h"

#define COPY_SUFFIX " (copy)"

/* ------------------------------------------------------------- access */

static svc_status access_of(db_conn *c, const svc_actor *a, long long group_id, cx_access *acc,
                            svc_error *e)
{
    db_status st = db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, acc);
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

/* SVC_OK when "acc" allows it ("edit": a change), else 404 / 403. */
static svc_status require(cx_access acc, bool edit, const char *what, svc_error *e)
{
    if (acc == CX_ACCESS_NONE) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such %s", what);
    }
    if (edit && acc != CX_ACCESS_EDIT) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "changing dashboards needs edit access to the measurement group");
    }
    return SVC_OK;
}

/* Dashboard "id" into "row" with the actor's access to its group. */
static svc_status load(db_conn *c, const svc_actor *a, long long id, bool edit, bool lock,
                       db_dash_row *row, cx_access *acc, svc_error *e)
{
    bool found = false;
    db_status st = db_dash_get(c, a->account_id, id, lock, row, &found);
    svc_status rc;
    *acc = CX_ACCESS_NONE;
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (found && (rc = access_of(c, a, row->group_id, acc, e)) != SVC_OK) {
        return rc;
    }
    return require(*acc, edit, "dashboard", e);
}

/* P9: one more dashboard in "group_id". The caller holds the account lock. */
static svc_status check_quota(db_conn *c, const svc_actor *a, long long group_id, svc_error *e)
{
    long long n = 0;
    db_status st = db_dash_count(c, a->account_id, group_id, &n);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return svc_quota_check(e, a->plan, MT_Q_DASHBOARDS_PER_GROUP, n + 1);
}

/* ------------------------------------------------------------- checking */

/* Characters of UTF-8 text. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

static svc_status check_name(const char *name, svc_error *e)
{
    bool blank = true;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            return svc_fail(e, SVC_INVALID, NULL, "name",
                            "'name' may not hold control characters");
        }
        blank = blank && *p == ' ';
    }
    if (blank) {
        return svc_fail(e, SVC_INVALID, NULL, "name", "'name' may not be empty");
    }
    if (utf8_chars(name) > DASH_NAME_MAX) {
        return svc_fail(e, SVC_INVALID, "too_long", "name",
                        "'name' may have at most %d characters", DASH_NAME_MAX);
    }
    return SVC_OK;
}

/* The panels as they will be stored: channels of the group and pictures of
 * the account, at most DASH_MAX_CHANNELS channels; then the canonical text
 * and the id lists (caller frees *text, *ch, *pic). */
typedef struct {
    char *text;
    int64_t ch[DASH_MAX_CHANNELS];
    size_t n_ch;
    int64_t pic[DASH_MAX_PANELS];
    size_t n_pic;
} dash_stored;

/* A picture that the dashboard as stored ("was", NULL for a new one)
 * already names and that is gone since (deleted with everything the
 * account stored at the end of an over-quota period, S8/L3) may stay named:
 * its panel says that the picture is no longer available, and the
 * dashboard can still be renamed, rearranged and copied. */
static bool named_before(const dash_panels *was, int64_t picture_id)
{
    for (size_t p = 0; was != NULL && p < was->n; p++) {
        if (was->p[p].picture_id == picture_id) {
            return true;
        }
    }
    return false;
}

static svc_status check_refs(db_conn *c, const svc_actor *a, long long group_id,
                             const dash_panels *ps, const dash_panels *was, dash_stored *out,
                             svc_error *e)
{
    int64_t *ok = NULL;
    size_t n_ok = 0, n_ch;
    char field[96];
    cJSON *json;
    db_status st;
    memset(out, 0, sizeof *out);
    n_ch = dash_panels_channel_ids(ps, out->ch, DASH_MAX_CHANNELS);
    if (n_ch > DASH_MAX_CHANNELS) {
        return svc_fail(e, SVC_INVALID, "too_many", "panels",
                        "a dashboard shows at most %d different channels, not %zu",
                        DASH_MAX_CHANNELS, n_ch);
    }
    out->n_ch = n_ch;
    out->n_pic = dash_panels_picture_ids(ps, out->pic, DASH_MAX_PANELS);
    if (out->n_ch > 0) {
        if ((st = db_dash_group_channels(c, a->account_id, group_id, out->ch, out->n_ch, &ok,
                                         &n_ok)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        for (size_t i = 0; i < out->n_ch; i++) {
            bool found = false;
            for (size_t k = 0; k < n_ok && !found; k++) {
                found = ok[k] == out->ch[i];
            }
            if (!found) {
                /* Name the first panel member that holds it. */
                for (size_t p = 0; p < ps->n; p++) {
                    for (int k = 0; k < ps->p[p].n_channels; k++) {
                        if (ps->p[p].channels[k] == out->ch[i]) {
                            snprintf(field, sizeof field, "panels[%zu].channels", p);
                            goto named;
                        }
                    }
                    for (int k = 0; k < ps->p[p].n_values; k++) {
                        if (ps->p[p].values[k].channel_id == out->ch[i]) {
                            snprintf(field, sizeof field, "panels[%zu].values[%d].channel_id",
                                     p, k);
                            goto named;
                        }
                    }
                }
                snprintf(field, sizeof field, "panels");
            named:
                free(ok);
                svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                         "channel %lld is not a channel of this measurement group",
                         (long long)out->ch[i]);
                snprintf(e->field_buf, sizeof e->field_buf, "%s", field);
                e->field = e->field_buf;
                return SVC_INVALID;
            }
        }
        free(ok);
        ok = NULL;
    }
    if (out->n_pic > 0) {
        if ((st = db_dash_picture_ids(c, a->account_id, out->pic, out->n_pic, &ok, &n_ok)) !=
            DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        for (size_t i = 0; i < out->n_pic; i++) {
            bool found = false;
            for (size_t k = 0; k < n_ok && !found; k++) {
                found = ok[k] == out->pic[i];
            }
            if (!found && !named_before(was, out->pic[i])) {
                snprintf(field, sizeof field, "panels");
                for (size_t p = 0; p < ps->n; p++) {
                    if (ps->p[p].picture_id == out->pic[i]) {
                        snprintf(field, sizeof field, "panels[%zu].picture_id", p);
                        break;
                    }
                }
                free(ok);
                svc_fail(e, SVC_INVALID, "invalid_value", NULL, "no such picture (%lld)",
                         (long long)out->pic[i]);
                snprintf(e->field_buf, sizeof e->field_buf, "%s", field);
                e->field = e->field_buf;
                return SVC_INVALID;
            }
        }
        free(ok);
    }
    if ((json = dash_panels_json(ps)) == NULL ||
        (out->text = cJSON_PrintUnformatted(json)) == NULL) {
        cJSON_Delete(json);
        return svc_fail_nomem(e);
    }
    cJSON_Delete(json);
    return SVC_OK;
}

/* Remove the account's pictures that no dashboard shows any more. */
static svc_status sweep_pictures(db_conn *c, const svc_actor *a, svc_error *e)
{
    long long freed = 0;
    db_status st = db_dash_picture_sweep(c, a->account_id, DASH_PICTURE_GRACE_S, &freed);
    if (st == DB_OK && freed > 0) {
        st = db_storage_add_pictures(c, a->account_id, -freed);
    }
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

static db_status audit_dash(db_conn *c, const svc_actor *a, const char *action, long long id,
                            const char *name)
{
    audit_who who = svc_who(a);
    return audit_write_kv(c, &who, action, "dashboard", id, "name", name);
}

/* ------------------------------------------------------------- JSON */

static void add_row(cJSON *o, const db_dash_row *r, bool with_panels, bool can_edit)
{
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddNumberToObject(o, "group_id", (double)r->group_id);
    cJSON_AddStringToObject(o, "name", r->name != NULL ? r->name : "");
    if (with_panels) {
        cJSON *p = cJSON_Parse(r->panels != NULL ? r->panels : "[]");
        cJSON_AddItemToObject(o, "panels", p != NULL ? p : cJSON_CreateArray());
    } else {
        cJSON_AddNumberToObject(o, "panel_count", (double)r->n_panels);
    }
    cJSON_AddNumberToObject(o, "version", (double)r->version);
    if (with_panels) {
        cJSON_AddBoolToObject(o, "can_edit", can_edit);
    }
    cJSON_AddStringToObject(o, "created_at", r->created_at != NULL ? r->created_at : "");
    cJSON_AddStringToObject(o, "updated_at", r->updated_at != NULL ? r->updated_at : "");
}

static svc_status print_json(cJSON *o, char **json, svc_error *e)
{
    *json = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *json != NULL ? SVC_OK : svc_fail_nomem(e);
}

/* ------------------------------------------------------------- reads */

svc_status svc_dash_list(const svc_actor *a, long long group_id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row *rows = NULL;
    int n = 0;
    cx_access acc = CX_ACCESS_NONE;
    mt_plan_entry pe;
    mt_error err;
    cJSON *o = NULL, *items, *quota;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = access_of(c, a, group_id, &acc, e)) != SVC_OK ||
        (rc = require(acc, false, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_list(c, a->account_id, group_id, &rows, &n), NULL);
    memset(&pe, 0, sizeof pe);
    if (mt_plan_get(a->plan, MT_Q_DASHBOARDS_PER_GROUP, &pe, &err) != MT_OK) {
        pe.limit = 0;
    }
    o = cJSON_CreateObject();
    items = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *d = cJSON_CreateObject();
        if (d != NULL) {
            add_row(d, &rows[i], false, false);
            cJSON_AddItemToArray(items, d);
        }
    }
    cJSON_AddNumberToObject(o, "total", n);
    cJSON_AddBoolToObject(o, "can_edit", acc == CX_ACCESS_EDIT);
    quota = cJSON_AddObjectToObject(o, "quota");
    cJSON_AddStringToObject(quota, "id", "P9");
    cJSON_AddNumberToObject(quota, "limit", (double)pe.limit);
    cJSON_AddNumberToObject(quota, "used", n);
    rc = print_json(o, json, e);
out:
    db_dash_rows_free(rows, n);
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_dash_get(const svc_actor *a, long long id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    cx_access acc;
    cJSON *o;
    svc_status rc;
    memset(&row, 0, sizeof row);
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = load(c, a, id, false, false, &row, &acc, e)) != SVC_OK) {
        goto out;
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        add_row(o, &row, true, acc == CX_ACCESS_EDIT);
    }
    rc = print_json(o, json, e);
out:
    db_dash_row_clear(&row);
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------- changes */

svc_status svc_dash_create(const svc_actor *a, long long group_id, const svc_dash_def *d,
                           long long *id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    dash_panels ps = {0};
    dash_stored stored = {0};
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    svc_status rc;
    *id = 0;
    if (d->name == NULL) {
        return svc_fail(e, SVC_INVALID, "missing", "name", "'name' is required");
    }
    if ((rc = check_name(d->name, e)) != SVC_OK ||
        (d->panels != NULL && (rc = dash_panels_read(d->panels, &ps, e)) != SVC_OK)) {
        dash_panels_free(&ps);
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* The account first: two creations cannot both take the last slot. */
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    if ((rc = access_of(c, a, group_id, &acc, e)) != SVC_OK ||
        (rc = require(acc, true, "measurement group", e)) != SVC_OK ||
        (rc = check_quota(c, a, group_id, e)) != SVC_OK ||
        (rc = check_refs(c, a, group_id, &ps, NULL, &stored, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_insert(c, a->account_id, group_id, d->name, stored.text, stored.ch,
                              stored.n_ch, stored.pic, stored.n_pic, a->user_id, id),
               NULL);
    SVC_TRY_DB(audit_dash(c, a, "dashboard.create", *id, d->name), NULL);
out:
    free(stored.text);
    dash_panels_free(&ps);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}

/* Read the stored panels of "row" back into "ps" (written by this server:
 * a failure is an internal error). */
static svc_status stored_panels(const db_dash_row *row, dash_panels *ps, svc_error *e)
{
    cJSON *arr = cJSON_Parse(row->panels != NULL ? row->panels : "[]");
    svc_status rc;
    if (arr == NULL) {
        return svc_fail_nomem(e);
    }
    rc = dash_panels_read(arr, ps, e);
    cJSON_Delete(arr);
    if (rc == SVC_INVALID) {
        log_error("dashboards: stored panels of dashboard %lld refused: %s", row->id, e->message);
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "the stored dashboard cannot be read");
    }
    return rc;
}

/* Inside the transaction "c": check the references of "ps" (in group
 * "group_id"; "was": the panels stored before) and write them, with
 * "name", over dashboard "id". */
static svc_status write_panels(db_conn *c, const svc_actor *a, long long id, long long group_id,
                               const char *name, const dash_panels *ps, const dash_panels *was,
                               svc_error *e)
{
    dash_stored stored = {0};
    long long version = 0;
    svc_status rc;
    if ((rc = check_refs(c, a, group_id, ps, was, &stored, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_update(c, a->account_id, id, name, stored.text, stored.ch,
                              stored.n_ch, stored.pic, stored.n_pic, &version),
               NULL);
out:
    free(stored.text);
    return rc;
}

svc_status svc_dash_update(const svc_actor *a, long long id, const svc_dash_def *d, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    dash_panels ps = {0}, was = {0};
    cx_access acc;
    svc_status rc;
    memset(&row, 0, sizeof row);
    if ((d->name != NULL && (rc = check_name(d->name, e)) != SVC_OK) ||
        (d->panels != NULL && (rc = dash_panels_read(d->panels, &ps, e)) != SVC_OK)) {
        dash_panels_free(&ps);
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = load(c, a, id, true, true, &row, &acc, e)) != SVC_OK) {
        goto out;
    }
    if (d->has_version && d->version != row.version) {
        rc = svc_fail(e, SVC_CONFLICT, "version_conflict", "version",
                      "the dashboard was changed meanwhile (it is at version %lld, not %lld): "
                      "load it again",
                      row.version, d->version);
        goto out;
    }
    if ((rc = stored_panels(&row, d->panels == NULL ? &ps : &was, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = write_panels(c, a, id, row.group_id, d->name != NULL ? d->name : row.name, &ps,
                           d->panels == NULL ? &ps : &was, e)) != SVC_OK) {
        goto out;
    }
    if (d->name != NULL && row.name != NULL && strcmp(d->name, row.name) != 0) {
        SVC_TRY_DB(audit_dash(c, a, "dashboard.rename", id, d->name), NULL);
    }
    rc = sweep_pictures(c, a, e);
out:
    dash_panels_free(&ps);
    dash_panels_free(&was);
    db_dash_row_clear(&row);
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_dash_add_panel(const svc_actor *a, long long id, const cJSON *panel, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    dash_panels ps = {0}, was = {0};
    cx_access acc;
    svc_status rc;
    memset(&row, 0, sizeof row);
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = load(c, a, id, true, true, &row, &acc, e)) != SVC_OK ||
        (rc = stored_panels(&row, &ps, e)) != SVC_OK ||
        (rc = stored_panels(&row, &was, e)) != SVC_OK ||
        (rc = dash_panels_add(&ps, panel, true, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = write_panels(c, a, id, row.group_id, row.name, &ps, &was, e)) != SVC_OK) {
        /* A refusal names the new panel as the client sent it. */
        if (e->field != NULL && strncmp(e->field, "panels[", 7) == 0) {
            e->field = "panel";
        }
        goto out;
    }
out:
    dash_panels_free(&ps);
    dash_panels_free(&was);
    db_dash_row_clear(&row);
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_dash_copy(const svc_actor *a, long long id, const char *name, long long *new_id,
                         svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    dash_panels ps = {0};
    dash_stored stored = {0};
    cx_access acc;
    bool found = false;
    char copy_name[DASH_NAME_MAX * 4 + sizeof COPY_SUFFIX];
    svc_status rc;
    memset(&row, 0, sizeof row);
    *new_id = 0;
    if (name != NULL && (rc = check_name(name, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    if ((rc = load(c, a, id, true, false, &row, &acc, e)) != SVC_OK ||
        (rc = check_quota(c, a, row.group_id, e)) != SVC_OK ||
        (rc = stored_panels(&row, &ps, e)) != SVC_OK ||
        (rc = check_refs(c, a, row.group_id, &ps, &ps, &stored, e)) != SVC_OK) {
        goto out;
    }
    if (name == NULL) {
        /* The name + " (copy)", cut on a character boundary to fit. */
        const char *src = row.name != NULL ? row.name : "";
        size_t keep = strlen(src);
        for (;;) {
            snprintf(copy_name, sizeof copy_name, "%.*s%s", (int)keep, src, COPY_SUFFIX);
            if (keep == 0 || utf8_chars(copy_name) <= DASH_NAME_MAX) {
                break;
            }
            do {
                keep--;
            } while (keep > 0 && ((unsigned char)src[keep] & 0xC0) == 0x80);
        }
        name = copy_name;
    }
    SVC_TRY_DB(db_dash_insert(c, a->account_id, row.group_id, name, stored.text, stored.ch,
                              stored.n_ch, stored.pic, stored.n_pic, a->user_id, new_id),
               NULL);
    SVC_TRY_DB(audit_dash(c, a, "dashboard.copy", *new_id, name), NULL);
out:
    free(stored.text);
    dash_panels_free(&ps);
    db_dash_row_clear(&row);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *new_id = 0;
    }
    return rc;
}

svc_status svc_dash_delete(const svc_actor *a, long long id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    cx_access acc;
    bool found = false;
    svc_status rc;
    memset(&row, 0, sizeof row);
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = load(c, a, id, true, true, &row, &acc, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_delete(c, a->account_id, id, &found), NULL);
    SVC_TRY_DB(audit_dash(c, a, "dashboard.delete", id, row.name != NULL ? row.name : ""), NULL);
    rc = sweep_pictures(c, a, e);
out:
    db_dash_row_clear(&row);
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------- pictures */

static cJSON *picture_json(const db_dash_picture *p)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)p->id);
    cJSON_AddStringToObject(o, "sha256", p->sha256 != NULL ? p->sha256 : "");
    cJSON_AddStringToObject(o, "content_type", p->content_type != NULL ? p->content_type : "");
    cJSON_AddNumberToObject(o, "width", (double)p->width);
    cJSON_AddNumberToObject(o, "height", (double)p->height);
    cJSON_AddNumberToObject(o, "size", (double)p->size);
    cJSON_AddStringToObject(o, "name", p->name != NULL ? p->name : "");
    cJSON_AddStringToObject(o, "created_at", p->created_at != NULL ? p->created_at : "");
    cJSON_AddNumberToObject(o, "used_by", (double)p->used_by);
    return o;
}

/* The storage quota's limit of the actor's plan (P2, bytes). */
static long long storage_limit(mt_plan plan)
{
    mt_plan_entry pe;
    mt_error err;
    memset(&pe, 0, sizeof pe);
    if (mt_plan_get(plan, MT_Q_STORAGE, &pe, &err) != MT_OK) {
        return 0;
    }
    return (long long)pe.limit;
}

/* A refusal of the storage quota: 413 plan_limit with P2 (as the drive). */
static svc_status quota_refusal(svc_error *e, mt_plan plan, long long used, long long size,
                                long long limit)
{
    long long room = used < limit ? limit - used : 0;
    svc_fail(e, SVC_TOO_LARGE, "plan_limit", NULL,
             "P2 cloud storage: the picture (%lld bytes) is larger than the %lld bytes left",
             size, room);
    e->has_quota = true;
    e->quota = MT_Q_STORAGE;
    e->plan = plan;
    e->used = used;
    return SVC_TOO_LARGE;
}

static svc_status may_upload(db_conn *c, const svc_actor *a, svc_error *e)
{
    bool may = false;
    db_status st = db_dash_may_edit_some(c, a->account_id, svc_viewer(a), &may);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!may) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "pictures for dashboards need edit access to a measurement group");
    }
    return SVC_OK;
}

svc_status svc_dash_picture_precheck(const svc_actor *a, long long length, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    long long used = 0, limit = storage_limit(a->plan);
    db_status st;
    svc_status rc;
    if (length > DASH_PICTURE_MAX) {
        return svc_fail(e, SVC_TOO_LARGE, "too_large", NULL,
                        "a picture may have at most %d bytes (5 MiB), not %lld",
                        DASH_PICTURE_MAX, length);
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((rc = may_upload(c, a, e)) == SVC_OK) {
        if ((st = db_storage_used(c, a->account_id, &used)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        } else if (length >= 0 && used + length > limit) {
            rc = quota_refusal(e, a->plan, used, length, limit);
        }
    }
    db_release(pool, c);
    return rc;
}

svc_status svc_dash_picture_add(const svc_actor *a, const unsigned char *data, size_t len,
                                const char *name, char **json, bool *created, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    picture_info info;
    unsigned char sha[32];
    unsigned int sha_len = 0;
    char msg[160];
    db_dash_picture pic;
    bool found = false;
    long long used = 0, limit = storage_limit(a->plan), id = 0;
    svc_status rc;
    memset(&pic, 0, sizeof pic);
    *json = NULL;
    *created = false;
    if (len > DASH_PICTURE_MAX) {
        return svc_fail(e, SVC_TOO_LARGE, "too_large", NULL,
                        "a picture may have at most %d bytes (5 MiB)", DASH_PICTURE_MAX);
    }
    if (picture_info_read(data, len, &info, msg, sizeof msg) != 0) {
        return svc_fail(e, SVC_INVALID, "not_a_picture", NULL, "%s", msg);
    }
    if (name != NULL && (utf8_chars(name) > 255 || strlen(name) > 1020)) {
        return svc_fail(e, SVC_INVALID, "too_long", "name",
                        "'name' may have at most 255 characters");
    }
    for (const unsigned char *p = (const unsigned char *)(name != NULL ? name : ""); *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            return svc_fail(e, SVC_INVALID, NULL, "name", "'name' may not hold control characters");
        }
    }
    if (EVP_Digest(data, len, sha, &sha_len, EVP_sha256(), NULL) != 1 || sha_len != 32) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "the picture's SHA-256 failed");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Under the account lock: no other upload counts in between, and two
     * uploads of the same bytes find each other. */
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    if ((rc = may_upload(c, a, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_picture_by_sha(c, a->account_id, sha, &pic, &found), NULL);
    if (!found) {
        SVC_TRY_DB(db_storage_used(c, a->account_id, &used), NULL);
        if (used + (long long)len > limit) {
            rc = quota_refusal(e, a->plan, used, (long long)len, limit);
            goto out;
        }
        SVC_TRY_DB(db_dash_picture_insert(c, a->account_id, sha, info.content_type, info.width,
                                          info.height, data, len, name != NULL ? name : "",
                                          a->user_id, &id),
                   NULL);
        SVC_TRY_DB(db_storage_add_pictures(c, a->account_id, (long long)len), NULL);
        SVC_TRY_DB(db_dash_picture_get(c, a->account_id, id, &pic, &found), NULL);
        *created = true;
    }
    {
        cJSON *o = picture_json(&pic);
        rc = print_json(o, json, e);
    }
out:
    db_dash_picture_clear(&pic);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
        *created = false;
    }
    return rc;
}

svc_status svc_dash_picture_list(const svc_actor *a, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_picture *rows = NULL;
    int n = 0;
    long long used = 0, pictures = 0;
    cJSON *o = NULL, *items, *storage;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK || (rc = may_upload(c, a, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_dash_picture_list(c, a->account_id, &rows, &n), NULL);
    SVC_TRY_DB(db_storage_used(c, a->account_id, &used), NULL);
    for (int i = 0; i < n; i++) {
        pictures += rows[i].size;
    }
    o = cJSON_CreateObject();
    items = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON_AddItemToArray(items, picture_json(&rows[i]));
    }
    storage = cJSON_AddObjectToObject(o, "storage");
    cJSON_AddNumberToObject(storage, "used", (double)used);
    cJSON_AddNumberToObject(storage, "limit", (double)storage_limit(a->plan));
    cJSON_AddNumberToObject(storage, "picture_bytes", (double)pictures);
    rc = print_json(o, json, e);
out:
    db_dash_pictures_free(rows, n);
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_dash_picture_content(const svc_actor *a, long long id, unsigned char **data,
                                    size_t *len, char *type, char *sha, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_picture pic;
    bool visible = false, found = false;
    db_status st;
    svc_status rc = SVC_OK;
    memset(&pic, 0, sizeof pic);
    *data = NULL;
    *len = 0;
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_dash_picture_visible(c, a->account_id, svc_viewer(a), id, &visible);
    if (st == DB_OK && visible) {
        st = db_dash_picture_get(c, a->account_id, id, &pic, &found);
    }
    if (st == DB_OK && found) {
        st = db_dash_picture_data(c, a->account_id, id, data, len, &found);
    }
    db_release(pool, c);
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    } else if (!visible || !found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such picture");
    } else {
        snprintf(type, 32, "%s", pic.content_type != NULL ? pic.content_type : "");
        snprintf(sha, 65, "%s", pic.sha256 != NULL ? pic.sha256 : "");
    }
    db_dash_picture_clear(&pic);
    if (rc != SVC_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return rc;
}

svc_status svc_dash_picture_delete(const svc_actor *a, long long id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    bool found = false, in_use = false;
    long long bytes = 0;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK || (rc = may_upload(c, a, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    SVC_TRY_DB(db_dash_picture_delete(c, a->account_id, id, &found, &in_use, &bytes), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such picture");
        goto out;
    }
    if (in_use) {
        rc = svc_fail(e, SVC_CONFLICT, "in_use", NULL,
                      "the picture is shown on a dashboard: take it off its panels first");
        goto out;
    }
    SVC_TRY_DB(db_storage_add_pictures(c, a->account_id, -bytes), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}
