/* What the gateway apps share through the cloud: K1 battery profiles, K2
 * battery thresholds, K3 photo-drawing templates, K4 equipment lists (see
 * svc_app_share.h; docs/app-share.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_app_share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "db_account.h"
#include "db_app_share.h"
#include "db_computed.h"
#include "db_storage.h"
#include "mt/plan.h"
#include "svc_account.h"
#include "svc_tx.h"
#include "utf8.h"

/* ---------------------------------------------------------------- kinds */

typedef struct {
    const char *stored;  /* app_files.kind */
    const char *what;    /* in sentences */
    const char *whats;   /* plural */
    mt_quota quota;
    bool cross_only;
    bool per_group;
} kind_info;

static const kind_info kinds[] = {
    [SHARE_BATTERY_PROFILE] = {"battery_profile", "battery profile", "battery profiles",
                               MT_Q_BATTERY_PROFILES, false, false},
    [SHARE_BATTERY_THRESHOLD] = {"battery_threshold", "battery threshold",
                                 "battery thresholds", MT_Q_BATTERY_THRESHOLDS, false, false},
    [SHARE_PHOTO_TEMPLATE] = {"photo_template", "photo-drawing template",
                              "photo-drawing templates", MT_Q_PHOTO_TEMPLATES, true, true},
    [SHARE_EQUIPMENT_LIST] = {NULL, "equipment list", "equipment lists", MT_Q_EQUIPMENT_LISTS,
                              true, false}};

/* ------------------------------------------------------------- who acts */

/* Resolved on the request's connection: the plan in force, the group of
 * K3, who is recorded as the author. */
typedef struct {
    mt_plan plan;
    long long group_id;
    db_share_by by;
    char app_name[DB_SHARE_APP_NAME]; /* the app's name (the audit log copies its own) */
} share_ctx;

static svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

static svc_status name_taken(svc_error *e, svc_share_kind kind)
{
    return svc_fail(e, SVC_CONFLICT, "name_taken", "name",
                    kinds[kind].per_group
                        ? "a %s with this name already exists in this measurement group"
                        : "a %s with this name already exists in this account",
                    kinds[kind].what);
}

/* The app "w.app_id" may use "kind": its kind, its group, the plan. */
static svc_status resolve_app(db_conn *c, svc_share_who w, svc_share_kind kind, share_ctx *x,
                              svc_error *e)
{
    char app_kind[16];
    long long group = 0, expiry = 0;
    bool found = false;
    db_account_row row;
    db_status st;
    memset(&row, 0, sizeof row);
    st = db_share_app(c, w.a->account_id, w.app_id, app_kind, &group, row.plan, &row.has_expiry,
                      &expiry, x->app_name, &found);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_FORBIDDEN, "app_disabled", NULL, "this app no longer exists");
    }
    if (strcmp(app_kind, "lr8450-direct") == 0 ||
        (kinds[kind].cross_only && strcmp(app_kind, "cross") != 0)) {
        return svc_fail(e, SVC_FORBIDDEN, "app_kind", NULL, "%s are shared with %s apps only",
                        kinds[kind].whats,
                        kinds[kind].cross_only ? "GENNECT Cross" : "GENNECT One and GENNECT Cross");
    }
    if (kinds[kind].per_group && group == 0) {
        return svc_fail(e, SVC_CONFLICT, "no_group", NULL,
                        "this app belongs to no measurement group: %s are kept per group; "
                        "put the app in a group first",
                        kinds[kind].whats);
    }
    /* The plan in force: svc_effective_plan() reads the stored plan and the
     * licence expiry only. */
    row.expiry = (mt_day)expiry;
    x->plan = svc_effective_plan(&row);
    x->group_id = kinds[kind].per_group ? group : 0;
    x->by.app_id = w.app_id;
    return SVC_OK;
}

/* The person "w.a" may read ("edit" false) or change "kind" (in group
 * "group_id" for K3). */
static svc_status resolve_person(db_conn *c, svc_share_who w, svc_share_kind kind,
                                 long long group_id, bool edit, share_ctx *x, svc_error *e)
{
    const svc_actor *a = w.a;
    x->plan = a->plan;
    x->by.user_id = a->user_id;
    if (kinds[kind].per_group) {
        cx_access acc = CX_ACCESS_NONE;
        db_status st = db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, &acc);
        bool found = false;
        if (st == DB_OK && a->admin) {
            st = db_share_group_exists(c, a->account_id, group_id, &found);
            acc = found ? acc : CX_ACCESS_NONE;
        }
        if (st != DB_OK) {
            return fail_db(e, st);
        }
        if (acc == CX_ACCESS_NONE) {
            return svc_fail(e, SVC_NOT_FOUND, "not_found", "group_id",
                            "no such measurement group");
        }
        if (edit && acc != CX_ACCESS_EDIT) {
            return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                            "changing %s needs edit access to the measurement group",
                            kinds[kind].whats);
        }
        x->group_id = group_id;
        return SVC_OK;
    }
    if (!a->admin && a->file_access < FILE_ACCESS_VIEW) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL, "your user has no access to shared %s",
                        kinds[kind].whats);
    }
    if (edit && !a->admin && a->file_access < FILE_ACCESS_EDIT) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "your user may only view shared %s (changing them needs file "
                        "access edit)",
                        kinds[kind].whats);
    }
    x->group_id = 0;
    return SVC_OK;
}

static svc_status resolve(db_conn *c, svc_share_who w, svc_share_kind kind, long long group_id,
                          bool edit, share_ctx *x, svc_error *e)
{
    memset(x, 0, sizeof *x);
    return w.app_id > 0 ? resolve_app(c, w, kind, x, e)
                        : resolve_person(c, w, kind, group_id, edit, x, e);
}

/* A connection, and with "lock" a transaction holding the account row. */
static svc_status open_conn(db_pool *pool, long long account_id, bool lock, db_conn **c,
                            svc_error *e)
{
    bool found = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, c);
    if (st != DB_OK) {
        *c = NULL;
        return fail_db(e, st);
    }
    if (!lock) {
        return SVC_OK;
    }
    if ((st = db_begin(*c)) != DB_OK || (st = db_account_lock(*c, account_id, &found)) != DB_OK) {
        return fail_db(e, st);
    }
    return found ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such account");
}

/* Commit on SVC_OK (a unique violation then is a name taken); release. */
static svc_status close_conn(db_pool *pool, db_conn *c, bool tx, svc_status rc,
                             svc_share_kind kind, svc_error *e)
{
    if (tx && rc == SVC_OK && c != NULL) {
        db_status st = db_commit(c);
        if (st == DB_CONFLICT) {
            rc = name_taken(e, kind);
        } else if (st != DB_OK) {
            rc = fail_db(e, st);
        }
    }
    db_release(pool, c);
    return rc;
}

#define TRY_DB(expr)                                                                         \
    do {                                                                                     \
        db_status st_ = (expr);                                                              \
        if (st_ != DB_OK) {                                                                  \
            rc = st_ == DB_CONFLICT ? name_taken(e, kind) : fail_db(e, st_);                 \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* A change in the audit log (A9), in the change's transaction, with the
 * file's or list's "name": a person's under their name, an app's under the
 * app (actor kind "app": audit.h), so that an administrator sees what the
 * gateways changed as well as what people did. */
static db_status audit_change(db_conn *c, svc_share_who w, const char *action,
                              const char *target, long long id, const char *name)
{
    audit_who who = svc_who(w.a);
    if (w.app_id > 0) {
        who.user_id = 0;
        who.via_token = false;
        who.app_id = w.app_id;
    }
    return audit_write_kv(c, &who, action, target, id, "name", name);
}

/* {"items": <the JSON array text>} (text freed). */
static svc_status items_of(char *text, cJSON **out, svc_error *e)
{
    cJSON *arr = cJSON_Parse(text != NULL ? text : "[]"), *o;
    free(text);
    if (arr == NULL || (o = cJSON_CreateObject()) == NULL) {
        cJSON_Delete(arr);
        return svc_fail_nomem(e);
    }
    cJSON_AddItemToObject(o, "items", arr);
    *out = o;
    return SVC_OK;
}

static svc_status object_of(char *text, const char *what, cJSON **out, svc_error *e)
{
    cJSON *o;
    if (text == NULL) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", what);
    }
    o = cJSON_Parse(text);
    free(text);
    if (o == NULL) {
        return svc_fail_nomem(e);
    }
    *out = o;
    return SVC_OK;
}

/* ---------------------------------------------------------------- names */

/* A name: 1..SHARE_NAME_MAX characters of UTF-8, no control characters,
 * no / or \, not . or .., no leading or trailing space. */
static svc_status check_name(const char *name, const char *what, svc_error *e)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name", "the %s needs a name", what);
    }
    if (!utf8_valid((const unsigned char *)name, len)) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name", "the name is not valid UTF-8");
    }
    if (utf8_chars(name) > SHARE_NAME_MAX) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name",
                        "the name may have at most %d characters", SHARE_NAME_MAX);
    }
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            return svc_fail(e, SVC_INVALID, "invalid_name", "name",
                            "the name may not hold control characters");
        }
        if (*p == '/' || *p == '\\') {
            return svc_fail(e, SVC_INVALID, "invalid_name", "name",
                            "the name may not hold / or \\");
        }
    }
    if (name[0] == ' ' || name[len - 1] == ' ') {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name",
                        "the name may not begin or end with a space");
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name", "the name may not be . or ..");
    }
    return SVC_OK;
}

svc_status svc_share_content_type(const char *in, char *out, svc_error *e)
{
    size_t n = in != NULL ? strlen(in) : 0;
    if (n == 0) {
        snprintf(out, SHARE_CTYPE_MAX + 1, "application/octet-stream");
        return SVC_OK;
    }
    if (n > SHARE_CTYPE_MAX) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "Content-Type",
                        "the content type may have at most %d characters", SHARE_CTYPE_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)in[i] < 0x20 || (unsigned char)in[i] >= 0x7F) {
            return svc_fail(e, SVC_INVALID, "invalid_value", "Content-Type",
                            "the content type may hold printable ASCII characters only");
        }
    }
    memcpy(out, in, n + 1);
    return SVC_OK;
}

/* ---------------------------------------------------------------- files */

svc_status svc_share_file_list(db_pool *pool, svc_share_who w, svc_share_kind kind,
                               long long group_id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    share_ctx x;
    char *json = NULL;
    svc_status rc;
    *out = NULL;
    if ((rc = open_conn(pool, w.a->account_id, false, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, group_id, false, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_share_file_list(c, w.a->account_id, kinds[kind].stored, x.group_id, &json));
    rc = items_of(json, out, e);
out:
    return close_conn(pool, c, false, rc, kind, e);
}

/* The bytes the account stores without the "old" bytes a file replaces
 * (*used) and the room the storage quota P2 leaves them (*room). */
static svc_status storage_room(db_conn *c, long long account_id, mt_plan plan, long long old,
                               long long *used, long long *room, svc_error *e)
{
    mt_plan_entry pe;
    mt_error err;
    long long limit = 0;
    db_status st = db_storage_used(c, account_id, used);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (mt_plan_get(plan, MT_Q_STORAGE, &pe, &err) == MT_OK && pe.available) {
        limit = (long long)pe.limit;
    }
    *used -= old;
    if (*used < 0) {
        *used = 0;
    }
    *room = *used < limit ? limit - *used : 0;
    return SVC_OK;
}

/* The checks of an upload on "c" (under the account lock at the commit):
 * *id the file "name" replaces (0 = a new one) with its *old size; *used
 * and *room as storage_room() says. */
static svc_status upload_checks(db_conn *c, svc_share_who w, svc_share_kind kind,
                                long long group_id, const char *name, bool replace,
                                share_ctx *x, long long *id, long long *old, long long *used,
                                long long *room, svc_error *e)
{
    bool found = false;
    long long n = 0;
    db_share_file f;
    svc_status rc;
    *id = 0;
    *old = 0;
    *room = 0;
    if ((rc = resolve(c, w, kind, group_id, true, x, e)) != SVC_OK) {
        return rc;
    }
    TRY_DB(db_share_file_by_name(c, w.a->account_id, kinds[kind].stored, x->group_id, name, id,
                                 &found));
    if (found && !replace) {
        return name_taken(e, kind);
    }
    if (found) {
        TRY_DB(db_share_file_get(c, w.a->account_id, kinds[kind].stored, *id, &f, &found));
        *old = f.size;
    } else {
        TRY_DB(db_share_file_count(c, w.a->account_id, kinds[kind].stored, x->group_id, &n));
        if ((rc = svc_quota_check(e, x->plan, kinds[kind].quota, n + 1)) != SVC_OK) {
            return rc;
        }
    }
    return storage_room(c, w.a->account_id, x->plan, *old, used, room, e);
out:
    return rc;
}

svc_status svc_share_upload_check(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                  long long group_id, const char *name, bool replace,
                                  long long *room, mt_plan *plan, svc_error *e)
{
    db_conn *c = NULL;
    share_ctx x;
    long long id = 0, old = 0, used = 0;
    svc_status rc;
    *room = 0;
    *plan = w.a->plan;
    memset(&x, 0, sizeof x);
    if ((rc = check_name(name, kinds[kind].what, e)) != SVC_OK ||
        (rc = open_conn(pool, w.a->account_id, false, &c, e)) != SVC_OK) {
        goto out;
    }
    rc = upload_checks(c, w, kind, group_id, name, replace, &x, &id, &old, &used, room, e);
    *plan = x.plan;
    if (*room > SHARE_FILE_MAX) {
        *room = SHARE_FILE_MAX;
    }
out:
    return close_conn(pool, c, false, rc, kind, e);
}

svc_status svc_share_upload_begin(db_pool *pool, long long account_id, svc_share_upload *u,
                                  svc_error *e)
{
    db_status st;
    memset(u, 0, sizeof *u);
    u->sha = EVP_MD_CTX_new();
    if (u->sha == NULL || EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "SHA-256 unavailable");
    }
    if ((st = db_file_begin(pool, account_id, &u->w)) != DB_OK) {
        return fail_db(e, st);
    }
    return SVC_OK;
}

svc_status svc_share_upload_write(svc_share_upload *u, const void *buf, size_t len, svc_error *e)
{
    db_status st;
    if (u->size + (long long)len > SHARE_FILE_MAX) {
        return svc_fail(e, SVC_TOO_LARGE, "too_large", NULL,
                        "a shared file may have at most %lld bytes", SHARE_FILE_MAX);
    }
    if (EVP_DigestUpdate(u->sha, buf, len) != 1) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "SHA-256 failed");
    }
    if ((st = db_file_write(&u->w, buf, len)) != DB_OK) {
        return fail_db(e, st);
    }
    u->size += (long long)len;
    return SVC_OK;
}

/* Flush the bytes and finish the digest. */
static svc_status upload_finish(svc_share_upload *u, svc_error *e)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    db_status st = db_file_flush(&u->w);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (EVP_DigestFinal_ex(u->sha, md, &md_len) != 1 || md_len != 32) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "SHA-256 failed");
    }
    for (unsigned i = 0; i < 32; i++) {
        u->sha256[2 * i] = hex[md[i] >> 4];
        u->sha256[2 * i + 1] = hex[md[i] & 15];
    }
    u->sha256[64] = '\0';
    return SVC_OK;
}

svc_status svc_share_upload_commit(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                   long long group_id, const char *name,
                                   const char *content_type, bool replace, svc_share_upload *u,
                                   cJSON **out, bool *created, svc_error *e)
{
    db_conn *c = NULL;
    share_ctx x;
    long long id = 0, old = 0, used = 0, room = 0;
    char *json = NULL;
    svc_status rc;

    *out = NULL;
    *created = false;
    if ((rc = check_name(name, kinds[kind].what, e)) != SVC_OK ||
        (rc = upload_finish(u, e)) != SVC_OK ||
        (rc = open_conn(pool, w.a->account_id, true, &c, e)) != SVC_OK ||
        (rc = upload_checks(c, w, kind, group_id, name, replace, &x, &id, &old, &used, &room,
                            e)) != SVC_OK) {
        goto out;
    }
    /* Under the account lock: no other upload can count in between. */
    if ((rc = svc_quota_check(e, x.plan, MT_Q_STORAGE, used + u->size)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_ready_tx(c, &u->w));
    if (id > 0) {
        TRY_DB(db_share_file_replace(c, w.a->account_id, id, content_type, u->size, u->sha256,
                                     u->w.blob_id, x.by));
    } else {
        TRY_DB(db_share_file_insert(c, w.a->account_id, kinds[kind].stored, x.group_id, name,
                                    content_type, u->size, u->sha256, u->w.blob_id, x.by, &id));
        *created = true;
    }
    TRY_DB(audit_change(c, w, "app_share.file.upload", kinds[kind].stored, id, name));
    TRY_DB(db_share_file_json(c, w.a->account_id, id, &json));
out:
    rc = close_conn(pool, c, true, rc, kind, e);
    if (rc == SVC_OK) {
        u->kept = true;
        return object_of(json, kinds[kind].what, out, e);
    }
    free(json);
    *created = false;
    return rc;
}

void svc_share_upload_end(svc_share_upload *u)
{
    db_file_writer_end(&u->w, !u->kept);
    EVP_MD_CTX_free(u->sha);
    u->sha = NULL;
}

/* The shared file "id" of "kind" that the caller may read ("write": change):
 * found, the caller's rights on its group resolved, and, for an app, in its
 * own group (an app reads the templates of its own group only). */
static svc_status find_file(db_conn *c, svc_share_who w, svc_share_kind kind, long long id,
                            bool write, db_share_file *f, share_ctx *x, svc_error *e)
{
    bool found = false;
    svc_status rc;
    TRY_DB(db_share_file_get(c, w.a->account_id, kinds[kind].stored, id, f, &found));
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", kinds[kind].what);
    }
    if ((rc = resolve(c, w, kind, f->group_id, write, x, e)) != SVC_OK) {
        return rc;
    }
    if (x->group_id != f->group_id) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", kinds[kind].what);
    }
    rc = SVC_OK;
out:
    return rc;
}

svc_status svc_share_file_content(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                  long long id, svc_share_content *out, svc_error *e)
{
    db_conn *c = NULL;
    db_share_file f;
    share_ctx x;
    bool found = false;
    svc_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = open_conn(pool, w.a->account_id, false, &c, e)) != SVC_OK ||
        (rc = find_file(c, w, kind, id, false, &f, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_get(c, w.a->account_id, f.blob_id, &out->blob, &found));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "the file's content is not available");
        goto out;
    }
    snprintf(out->name, sizeof out->name, "%s", f.name);
    snprintf(out->content_type, sizeof out->content_type, "%s", f.content_type);
out:
    return close_conn(pool, c, false, rc, kind, e);
}

svc_status svc_share_file_delete(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                 long long id, long long *bytes, svc_error *e)
{
    db_conn *c = NULL;
    db_share_file f;
    share_ctx x;
    bool found = false;
    svc_status rc;
    *bytes = 0;
    if ((rc = open_conn(pool, w.a->account_id, true, &c, e)) != SVC_OK ||
        (rc = find_file(c, w, kind, id, true, &f, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_share_file_delete(c, w.a->account_id, kinds[kind].stored, id, &found, bytes));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such %s", kinds[kind].what);
        goto out;
    }
    TRY_DB(audit_change(c, w, "app_share.file.delete", kinds[kind].stored, id, f.name));
out:
    rc = close_conn(pool, c, true, rc, kind, e);
    if (rc != SVC_OK) {
        *bytes = 0;
    }
    return rc;
}

/* ------------------------------------------------------ equipment lists */

/* Name the field of a failure "items[i].key" (or "items[i]" for NULL). */
static svc_status at_item(svc_error *e, int i, const char *key)
{
    if (key != NULL) {
        snprintf(e->field_buf, sizeof e->field_buf, "items[%d].%s", i, key);
    } else {
        snprintf(e->field_buf, sizeof e->field_buf, "items[%d]", i);
    }
    e->field = e->field_buf;
    return e->status;
}

/* A string member "key" of "item" of 1..max characters ("optional": may be
 * absent, then ""); its field named "items[i].key" in "e". */
static svc_status item_text(const cJSON *item, const char *key, size_t max, bool optional, int i,
                            const char **out, svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
    *out = "";
    if (v == NULL && optional) {
        return SVC_OK;
    }
    if (!cJSON_IsString(v)) {
        (void)svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                        "item %d needs '%s' as text", i + 1, key);
        return at_item(e, i, key);
    }
    if (!utf8_valid((const unsigned char *)v->valuestring, strlen(v->valuestring))) {
        (void)svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                        "'%s' of item %d is not valid UTF-8", key, i + 1);
        return at_item(e, i, key);
    }
    if (!optional && v->valuestring[0] == '\0') {
        (void)svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                        "'%s' of item %d may not be empty", key, i + 1);
        return at_item(e, i, key);
    }
    if (utf8_chars(v->valuestring) > max) {
        (void)svc_fail(e, SVC_INVALID, "too_long", NULL,
                        "'%s' of item %d may have at most %zu characters", key, i + 1, max);
        return at_item(e, i, key);
    }
    for (const unsigned char *p = (const unsigned char *)v->valuestring; *p != '\0'; p++) {
        if ((*p < 0x20 && !(optional && (*p == '\n' || *p == '\t'))) || *p == 0x7F) {
            (void)svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                            "'%s' of item %d may not hold control characters", key, i + 1);
            return at_item(e, i, key);
        }
    }
    *out = v->valuestring;
    return SVC_OK;
}

/* The items of "arr" checked, as the JSON text to store (caller frees). */
static svc_status check_items(const cJSON *arr, char **text, svc_error *e)
{
    static const char *const allowed[] = {"model", "serial", "note", NULL};
    cJSON *outa;
    const cJSON *item;
    int i = 0;
    svc_status rc;
    *text = NULL;
    if (!cJSON_IsArray(arr)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "items",
                        "'items' must be a list of {model, serial, note}");
    }
    if (cJSON_GetArraySize(arr) > EQUIP_ITEMS_MAX) {
        return svc_fail(e, SVC_INVALID, "too_many", "items",
                        "an equipment list holds at most %d items", EQUIP_ITEMS_MAX);
    }
    if ((outa = cJSON_CreateArray()) == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_ArrayForEach(item, arr)
    {
        const char *model, *serial, *note;
        const cJSON *m;
        cJSON *o;
        if (!cJSON_IsObject(item)) {
            cJSON_Delete(outa);
            (void)svc_fail(e, SVC_INVALID, "invalid_value", NULL,
                            "item %d must be an object {model, serial, note}", i + 1);
            return at_item(e, i, NULL);
        }
        cJSON_ArrayForEach(m, item)
        {
            bool known = false;
            for (int k = 0; allowed[k] != NULL; k++) {
                known = known || (m->string != NULL && strcmp(m->string, allowed[k]) == 0);
            }
            if (!known) {
                cJSON_Delete(outa);
                (void)svc_fail(e, SVC_INVALID, "unknown_field", NULL,
                                "item %d has a member this list does not take (model, serial "
                                "and note only)",
                                i + 1);
                return at_item(e, i, NULL);
            }
        }
        if ((rc = item_text(item, "model", EQUIP_MODEL_MAX, false, i, &model, e)) != SVC_OK ||
            (rc = item_text(item, "serial", EQUIP_SERIAL_MAX, false, i, &serial, e)) != SVC_OK ||
            (rc = item_text(item, "note", EQUIP_NOTE_MAX, true, i, &note, e)) != SVC_OK) {
            cJSON_Delete(outa);
            return rc;
        }
        if ((o = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(outa, o) ||
            cJSON_AddStringToObject(o, "model", model) == NULL ||
            cJSON_AddStringToObject(o, "serial", serial) == NULL ||
            cJSON_AddStringToObject(o, "note", note) == NULL) {
            cJSON_Delete(outa);
            return svc_fail_nomem(e);
        }
        i++;
    }
    *text = cJSON_PrintUnformatted(outa);
    cJSON_Delete(outa);
    return *text != NULL ? SVC_OK : svc_fail_nomem(e);
}

/* "name" of "body" (required, or NULL when absent and not "required"). */
static svc_status body_name(const cJSON *body, bool required, const char **name, svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "name");
    *name = NULL;
    if (v == NULL && !required) {
        return SVC_OK;
    }
    if (!cJSON_IsString(v)) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name",
                        "the equipment list needs a 'name' (text)");
    }
    *name = v->valuestring;
    return check_name(v->valuestring, "equipment list", e);
}

svc_status svc_equip_list(db_pool *pool, svc_share_who w, cJSON **out, svc_error *e)
{
    const svc_share_kind kind = SHARE_EQUIPMENT_LIST;
    db_conn *c = NULL;
    share_ctx x;
    char *json = NULL;
    svc_status rc;
    *out = NULL;
    if ((rc = open_conn(pool, w.a->account_id, false, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, 0, false, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_list(c, w.a->account_id, &json));
    rc = items_of(json, out, e);
out:
    return close_conn(pool, c, false, rc, kind, e);
}

svc_status svc_equip_get(db_pool *pool, svc_share_who w, long long id, cJSON **out, svc_error *e)
{
    const svc_share_kind kind = SHARE_EQUIPMENT_LIST;
    db_conn *c = NULL;
    share_ctx x;
    char *json = NULL;
    svc_status rc;
    *out = NULL;
    if ((rc = open_conn(pool, w.a->account_id, false, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, 0, false, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_json(c, w.a->account_id, id, &json));
    rc = object_of(json, kinds[kind].what, out, e);
out:
    return close_conn(pool, c, false, rc, kind, e);
}

svc_status svc_equip_create(db_pool *pool, svc_share_who w, const cJSON *body, cJSON **out,
                            svc_error *e)
{
    const svc_share_kind kind = SHARE_EQUIPMENT_LIST;
    db_conn *c = NULL;
    share_ctx x;
    const char *name = NULL;
    char *items = NULL, *json = NULL;
    long long n = 0, id = 0;
    svc_status rc;
    *out = NULL;
    if ((rc = body_name(body, true, &name, e)) != SVC_OK ||
        (rc = check_items(cJSON_GetObjectItemCaseSensitive(body, "items"), &items, e)) !=
            SVC_OK ||
        (rc = open_conn(pool, w.a->account_id, true, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, 0, true, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_count(c, w.a->account_id, &n));
    if ((rc = svc_quota_check(e, x.plan, MT_Q_EQUIPMENT_LISTS, n + 1)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_insert(c, w.a->account_id, name, items, x.by, &id));
    TRY_DB(db_equip_json(c, w.a->account_id, id, &json));
    TRY_DB(audit_change(c, w, "app_share.list.create", "equipment_list", id, name));
out:
    free(items);
    rc = close_conn(pool, c, c != NULL, rc, kind, e);
    if (rc == SVC_OK) {
        return object_of(json, kinds[kind].what, out, e);
    }
    free(json);
    return rc;
}

/* A list's update in the audit log with its name as the update left it
 * (read from "json", the list's record). */
static db_status audit_list_update(db_conn *c, svc_share_who w, long long id, const char *json)
{
    cJSON *o = cJSON_Parse(json != NULL ? json : "{}");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
    db_status st;
    if (o == NULL) {
        return DB_ERROR;
    }
    st = audit_change(c, w, "app_share.list.update", "equipment_list", id,
                      name != NULL ? name : "");
    cJSON_Delete(o);
    return st;
}

svc_status svc_equip_update(db_pool *pool, svc_share_who w, long long id, const cJSON *body,
                            cJSON **out, svc_error *e)
{
    const svc_share_kind kind = SHARE_EQUIPMENT_LIST;
    db_conn *c = NULL;
    share_ctx x;
    const char *name = NULL;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "items");
    char *items = NULL, *json = NULL;
    bool found = false;
    svc_status rc;
    *out = NULL;
    if ((rc = body_name(body, false, &name, e)) != SVC_OK) {
        goto out;
    }
    if (name == NULL && arr == NULL) {
        rc = svc_fail(e, SVC_INVALID, "missing", NULL,
                      "give the list's new 'name', its 'items', or both");
        goto out;
    }
    if (arr != NULL && (rc = check_items(arr, &items, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = open_conn(pool, w.a->account_id, true, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, 0, true, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_update(c, w.a->account_id, id, name, items, x.by, &found));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such equipment list");
        goto out;
    }
    TRY_DB(db_equip_json(c, w.a->account_id, id, &json));
    TRY_DB(audit_list_update(c, w, id, json));
out:
    free(items);
    rc = close_conn(pool, c, c != NULL, rc, kind, e);
    if (rc == SVC_OK) {
        return object_of(json, kinds[kind].what, out, e);
    }
    free(json);
    return rc;
}

svc_status svc_equip_delete(db_pool *pool, svc_share_who w, long long id, svc_error *e)
{
    const svc_share_kind kind = SHARE_EQUIPMENT_LIST;
    db_conn *c = NULL;
    share_ctx x;
    char *name = NULL;
    svc_status rc;
    if ((rc = open_conn(pool, w.a->account_id, true, &c, e)) != SVC_OK ||
        (rc = resolve(c, w, kind, 0, true, &x, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_equip_delete(c, w.a->account_id, id, &name));
    if (name == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such equipment list");
        goto out;
    }
    TRY_DB(audit_change(c, w, "app_share.list.delete", "equipment_list", id, name));
out:
    free(name);
    return close_conn(pool, c, true, rc, kind, e);
}
