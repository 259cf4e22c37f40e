/* The drive: listing a folder (sorted: folders, data sets, files; by name,
 * date, size or kind), an entry as JSON, the account's storage
 * (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_drive.h"
#include "db_storage.h"
#include "svc_drive_internal.h"

int svc_drive_sort_from_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || strcmp(s, "name") == 0) {
        return DRIVE_SORT_NAME;
    }
    if (strcmp(s, "date") == 0) {
        return DRIVE_SORT_DATE;
    }
    if (strcmp(s, "size") == 0) {
        return DRIVE_SORT_SIZE;
    }
    if (strcmp(s, "kind") == 0) {
        return DRIVE_SORT_KIND;
    }
    return -1;
}

const char *svc_drive_sort_name(drive_sort s)
{
    static const char *const names[] = {"name", "date", "size", "kind"};
    return (unsigned)s < 4 ? names[s] : "name";
}

/* Compare with ASCII letters folded (the rule of name_key). */
int drive_fold_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (;; x++, y++) {
        int cx = *x >= 'A' && *x <= 'Z' ? *x + 32 : *x;
        int cy = *y >= 'A' && *y <= 'Z' ? *y + 32 : *y;
        if (cx != cy) {
            return cx < cy ? -1 : 1;
        }
        if (*x == '\0') {
            return 0;
        }
    }
}

/* drive_fold_cmp(), then exactly (a stable order for names differing in case). */
static int name_cmp(const char *a, const char *b)
{
    int c = drive_fold_cmp(a, b);
    return c != 0 ? c : strcmp(a, b);
}

/* The drive_extension of "name" ("" when none) for sorting by kind. */
const char *drive_extension(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL && dot != name ? dot + 1 : "";
}

typedef struct {
    const db_drive_item *it;
    drive_sort sort;
    bool desc;
} sort_ref;

static int group_of(const db_drive_item *it)
{
    return it->is_folder ? 0 : it->is_dataset ? 1 : 2;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const sort_ref *ra = pa, *rb = pb;
    const db_drive_item *a = ra->it, *b = rb->it;
    int ga = group_of(a), gb = group_of(b), c = 0;
    if (ga != gb) {
        return ga < gb ? -1 : 1;
    }
    switch (ra->sort) {
    case DRIVE_SORT_DATE:
        c = strcmp(a->updated_at ? a->updated_at : "", b->updated_at ? b->updated_at : "");
        break;
    case DRIVE_SORT_SIZE:
        c = a->size < b->size ? -1 : a->size > b->size;
        break;
    case DRIVE_SORT_KIND:
        c = strcmp(a->kind ? a->kind : "", b->kind ? b->kind : "");
        if (c == 0) {
            c = name_cmp(drive_extension(a->name), drive_extension(b->name));
        }
        break;
    case DRIVE_SORT_NAME:
    default:
        break;
    }
    if (c == 0) {
        c = name_cmp(a->name, b->name);
    }
    if (ra->desc) {
        c = -c;
    }
    if (c == 0) {
        c = a->id < b->id ? -1 : a->id > b->id;
    }
    return c;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v != NULL) {
        cJSON_AddStringToObject(o, key, v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static void add_id_or_null(cJSON *o, const char *key, long long v)
{
    if (v > 0) {
        cJSON_AddNumberToObject(o, key, (double)v);
    } else {
        cJSON_AddNullToObject(o, key);
    }
}

static cJSON *item_json(const db_drive_item *it)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)it->id);
    cJSON_AddStringToObject(o, "type", it->is_folder ? "folder" : it->is_dataset ? "dataset"
                                                                                 : "file");
    add_str_or_null(o, "kind", it->kind);
    add_str_or_null(o, "name", it->name);
    if (it->is_folder) {
        add_id_or_null(o, "parent_id", it->parent_id);
        cJSON_AddNumberToObject(o, "entries", (double)it->n_children);
        add_id_or_null(o, "created_by", it->created_by);
    } else if (it->is_dataset) {
        cJSON_AddNumberToObject(o, "channels", (double)it->size);
        cJSON_AddBoolToObject(o, "read_only", true);
    } else {
        add_id_or_null(o, "folder_id", it->parent_id);
        cJSON_AddNumberToObject(o, "size", (double)it->size);
        add_str_or_null(o, "content_type", it->content_type);
        add_str_or_null(o, "sha256", it->sha256);
        cJSON_AddBoolToObject(o, "viewable", svc_drive_kind_viewable(it->kind));
        add_id_or_null(o, "created_by", it->created_by);
    }
    add_str_or_null(o, "created_at", it->created_at);
    add_str_or_null(o, "updated_at", it->updated_at);
    return o;
}

svc_status svc_drive_item(db_pool *pool, const svc_actor *a, long long id, bool folder,
                       cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_item it;
    bool found = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_drive_item_get(c, a->account_id, id, folder, &it, &found);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, folder ? "no such folder"
                                                                   : "no such file");
    }
    *out = item_json(&it);
    db_drive_item_clear(&it);
    if (*out == NULL) {
        return svc_fail(e, SVC_DB, NULL, NULL, "out of memory");
    }
    return SVC_OK;
}

/* {used, limit, drive_bytes, plan} of the account. */
static cJSON *storage_json(db_conn *c, const svc_actor *a, db_status *st)
{
    long long used = 0, drive = 0;
    cJSON *o;
    if ((*st = db_storage_used(c, a->account_id, &used)) != DB_OK ||
        (*st = db_drive_bytes(c, a->account_id, &drive)) != DB_OK) {
        return NULL;
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "quota", mt_quota_id(MT_Q_STORAGE));
        cJSON_AddNumberToObject(o, "used", (double)used);
        cJSON_AddNumberToObject(o, "limit", (double)drive_storage_limit(a->plan));
        cJSON_AddNumberToObject(o, "drive_bytes", (double)drive);
        cJSON_AddStringToObject(o, "plan", mt_plan_name(a->plan));
    }
    return o;
}

svc_status svc_drive_list(db_pool *pool, const svc_actor *a, long long folder_id, drive_sort sort,
                       bool desc, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_item folder, *items = NULL, *sets = NULL, *path = NULL;
    int n_items = 0, n_sets = 0, n_path = 0;
    bool found = true;
    sort_ref *refs = NULL;
    cJSON *o = NULL, *arr, *storage = NULL;
    svc_status rc = SVC_OK;
    db_status st = db_acquire(pool, DB_WAIT_MS, &c);

    *out = NULL;
    memset(&folder, 0, sizeof folder);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (folder_id != 0) {
        TRY_DB(db_drive_item_get(c, a->account_id, folder_id, true, &folder, &found));
        if (!found) {
            rc = no_folder(e, NULL);
            goto out;
        }
        TRY_DB(db_drive_path(c, a->account_id, folder_id, &path, &n_path));
    } else {
        TRY_DB(db_drive_datasets(c, a->account_id, a->role == ROLE_ADMIN ? 0 : a->user_id,
                                 &sets, &n_sets));
    }
    TRY_DB(db_drive_list(c, a->account_id, folder_id, &items, &n_items));
    storage = storage_json(c, a, &st);
    if (storage == NULL) {
        rc = fail_db(e, st != DB_OK ? st : DB_ERROR);
        goto out;
    }

    refs = calloc((size_t)(n_items + n_sets) + 1, sizeof *refs);
    o = cJSON_CreateObject();
    if (refs == NULL || o == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    for (int i = 0; i < n_items; i++) {
        refs[i] = (sort_ref){&items[i], sort, desc};
    }
    for (int i = 0; i < n_sets; i++) {
        refs[n_items + i] = (sort_ref){&sets[i], sort, desc};
    }
    qsort(refs, (size_t)(n_items + n_sets), sizeof *refs, ref_cmp);

    if (folder_id != 0) {
        cJSON_AddItemToObject(o, "folder", item_json(&folder));
    } else {
        cJSON_AddNullToObject(o, "folder");
    }
    arr = cJSON_AddArrayToObject(o, "path");
    for (int i = 0; arr != NULL && i < n_path; i++) {
        cJSON *p = cJSON_CreateObject();
        if (p != NULL) {
            cJSON_AddNumberToObject(p, "id", (double)path[i].id);
            add_str_or_null(p, "name", path[i].name);
            cJSON_AddItemToArray(arr, p);
        }
    }
    cJSON_AddStringToObject(o, "sort", svc_drive_sort_name(sort));
    cJSON_AddStringToObject(o, "order", desc ? "desc" : "asc");
    arr = cJSON_AddArrayToObject(o, "items");
    for (int i = 0; arr != NULL && i < n_items + n_sets; i++) {
        cJSON_AddItemToArray(arr, item_json(refs[i].it));
    }
    cJSON_AddItemToObject(o, "storage", storage);
    storage = NULL;
    if (arr == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    *out = o;
    o = NULL;
out:
    db_release(pool, c);
    cJSON_Delete(o);
    cJSON_Delete(storage);
    free(refs);
    db_drive_item_clear(&folder);
    db_drive_items_free(items, n_items);
    db_drive_items_free(sets, n_sets);
    db_drive_items_free(path, n_path);
    return rc;
}
