/* The drive: names, folders, uploads, quota, kinds, channels, retention
 * (svc_drive.h; docs/drive.md). */
#define _DEFAULT_SOURCE
#include "svc_drive.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmp.h"
#include "auth.h"
#include "db_account.h"
#include "db_drive.h"
#include "db_series.h"
#include "db_storage.h"
#include "ingest_parse.h"
#include "utf8.h"
#include "svc_files.h"
#include "log.h"
#include "mt/caltime.h"
#include "mt/csv.h"
#include "mt/hok.h"
#include "mt/licence.h"


/* How much of a .csv/.txt upload the kind check parses (cut at a line end). */
#define CSV_SNIFF_BYTES (256 * 1024)

/* ------------------------------------------------------------------ names */

bool svc_drive_name_valid(const char *name, size_t len, const char **why)
{
    const unsigned char *s = (const unsigned char *)name;
    const char *dummy;
    size_t i = 0;
    if (why == NULL) {
        why = &dummy;
    }
    if (len == 0) {
        return *why = "the name is empty", false;
    }
    if (len > DRIVE_NAME_MAX) {
        return *why = "the name is longer than 255 bytes", false;
    }
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
        return *why = "'.' and '..' are not names", false;
    }
    if (s[0] == ' ' || s[len - 1] == ' ') {
        return *why = "the name begins or ends with a space", false;
    }
    while (i < len) {
        unsigned c = s[i];
        uint32_t cp;
        size_t need;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return *why = "the name holds a control character", false;
            }
            if (c == '/' || c == '\\') {
                return *why = "the name holds '/' or '\\'", false;
            }
            i++;
            continue;
        }
        if ((need = utf8_decode(s + i, len - i, &cp)) == 0) {
            return *why = "the name is not valid UTF-8", false;
        }
        /* C1 controls, and the bidirectional overrides that can make
         * "exe.txt" display as "txt.exe". */
        if ((cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
            (cp >= 0x2066 && cp <= 0x2069)) {
            return *why = "the name holds a control character", false;
        }
        i += need;
    }
    return true;
}

bool svc_drive_kind_viewable(const char *kind)
{
    return kind != NULL &&
           (strcmp(kind, "hok") == 0 || strcmp(kind, "hok2") == 0 ||
            strcmp(kind, "hioki_csv") == 0);
}

/* ----------------------------------------------------------------- errors */

static svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

static svc_status name_taken(svc_error *e)
{
    return svc_fail(e, SVC_CONFLICT, "name_taken", "name",
                   "an entry with this name already exists in this folder");
}

static svc_status no_folder(svc_error *e, const char *field)
{
    return svc_fail(e, SVC_NOT_FOUND, "not_found", field, "no such folder");
}

/* Acquire a connection, begin, and lock the account row. */
static svc_status tx_lock(db_pool *pool, long long account_id, db_conn **c, svc_error *e)
{
    bool found = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, c);
    if (st != DB_OK) {
        *c = NULL;
        return fail_db(e, st);
    }
    if ((st = db_begin(*c)) != DB_OK || (st = db_account_lock(*c, account_id, &found)) != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such account");
    }
    return SVC_OK;
}

/* Commit when "rc" is SVC_OK (a unique violation at commit is a name clash),
 * release the connection (which rolls back otherwise). */
static svc_status tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e)
{
    if (rc == SVC_OK && c != NULL) {
        db_status st = db_commit(c);
        if (st == DB_CONFLICT) {
            rc = name_taken(e);
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
            rc = st_ == DB_CONFLICT ? name_taken(e) : fail_db(e, st_);                       \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* The P2 limit of "plan" in bytes (from core's table). */
static long long storage_limit(mt_plan plan)
{
    mt_plan_entry entry;
    mt_error err;
    if (mt_plan_get(plan, MT_Q_STORAGE, &entry, &err) != MT_OK || !entry.available) {
        return 0;
    }
    return (long long)entry.limit;
}

/* ------------------------------------------------------------ the store */

/* A whole file read from memory by core: svc_files.h's map of a copy. */
typedef svc_file_map file_map;

/* The ready blob of drive item "it" into *f: SVC_NOT_FOUND (logged) when
 * its bytes are not in the store. */
static svc_status item_blob(db_pool *pool, long long account_id, const db_drive_item *it,
                            db_file *f, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st;
    if (it->blob_id == 0) {
        log_warn("drive: file %lld of account %lld: its bytes are still on the disk of the "
                 "server that had them (moved into the database at its next start)",
                 it->id, account_id);
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL,
                        "the file's content is not available");
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_file_get(c, account_id, it->blob_id, f, &found);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL,
                        "the file's content is not available");
    }
    return SVC_OK;
}

static svc_status file_record(db_pool *pool, const svc_actor *a, long long id, db_drive_item *it,
                              svc_error *e);

/* Map the whole of drive item "it" (a copy in DATA/tmp). */
static svc_status map_item(db_pool *pool, const char *data_dir, long long account_id,
                           const db_drive_item *it, file_map *m, svc_error *e)
{
    db_file f;
    svc_status rc;
    m->fd = -1;
    m->data = NULL;
    m->len = 0;
    if ((rc = item_blob(pool, account_id, it, &f, e)) != SVC_OK) {
        return rc;
    }
    return svc_file_map_open(pool, data_dir, &f, m, e);
}

static void map_close(file_map *m)
{
    svc_file_map_close(m);
}

/* ---------------------------------------------------------------- listing */

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
static int fold_cmp(const char *a, const char *b)
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

/* fold_cmp(), then exactly (a stable order for names differing in case). */
static int name_cmp(const char *a, const char *b)
{
    int c = fold_cmp(a, b);
    return c != 0 ? c : strcmp(a, b);
}

/* The extension of "name" ("" when none) for sorting by kind. */
static const char *extension(const char *name)
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
            c = name_cmp(extension(a->name), extension(b->name));
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
        cJSON_AddNumberToObject(o, "limit", (double)storage_limit(a->plan));
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

/* ---------------------------------------------------------------- folders */

/* Inside a locked transaction: folder "parent_id" (0 = root) exists and has
 * room for one more entry. */
static svc_status check_parent(db_conn *c, const svc_actor *a, long long parent_id,
                            const char *field, svc_error *e)
{
    long long n = 0;
    db_status st;
    if (parent_id != 0) {
        db_drive_item p;
        bool found = false;
        if ((st = db_drive_item_get(c, a->account_id, parent_id, true, &p, &found)) != DB_OK) {
            return fail_db(e, st);
        }
        db_drive_item_clear(&p);
        if (!found) {
            return no_folder(e, field);
        }
    }
    if ((st = db_drive_count_children(c, a->account_id, parent_id, &n)) != DB_OK) {
        return fail_db(e, st);
    }
    if (n >= DRIVE_MAX_ENTRIES) {
        return svc_fail(e, SVC_CONFLICT, "folder_full", field,
                       "a folder holds at most %d entries", DRIVE_MAX_ENTRIES);
    }
    return SVC_OK;
}

static svc_status check_name(const char *name, svc_error *e)
{
    const char *why = NULL;
    if (!svc_drive_name_valid(name, strlen(name), &why)) {
        return svc_fail(e, SVC_INVALID, "invalid_name", "name", "%s", why);
    }
    return SVC_OK;
}

svc_status svc_drive_folder_create(db_pool *pool, const svc_actor *a, long long parent_id,
                                const char *name, long long *id, svc_error *e)
{
    db_conn *c = NULL;
    bool taken = false;
    int depth = 0;
    svc_status rc;
    *id = 0;
    if ((rc = check_name(name, e)) != SVC_OK || (rc = tx_lock(pool, a->account_id, &c, e)) != SVC_OK ||
        (rc = check_parent(c, a, parent_id, "parent_id", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_depth(c, a->account_id, parent_id, &depth));
    if (depth + 1 > DRIVE_MAX_DEPTH) {
        rc = svc_fail(e, SVC_CONFLICT, "too_deep", "parent_id",
                     "folders nest at most %d levels deep", DRIVE_MAX_DEPTH);
        goto out;
    }
    TRY_DB(db_drive_name_taken(c, a->account_id, parent_id, name, 0, &taken));
    if (taken) {
        rc = name_taken(e);
        goto out;
    }
    TRY_DB(db_drive_folder_insert(c, a->account_id, parent_id, name, a->user_id, id));
out:
    return tx_end(pool, c, rc, e);
}

svc_status svc_drive_item_update(db_pool *pool, const svc_actor *a, long long id, bool folder,
                              const char *name, bool set_parent, long long parent_id,
                              svc_error *e)
{
    const char *field = folder ? "parent_id" : "folder_id";
    db_conn *c = NULL;
    db_drive_item it;
    bool found = false, taken = false, moves;
    svc_status rc;

    memset(&it, 0, sizeof it);
    if ((name != NULL && (rc = check_name(name, e)) != SVC_OK) ||
        (rc = tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_item_get(c, a->account_id, id, folder, &it, &found));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, folder ? "no such folder"
                                                                 : "no such file");
        goto out;
    }
    moves = set_parent && parent_id != it.parent_id;
    if (moves) {
        if (folder) {
            bool within = false;
            int depth = 0, height = 0;
            TRY_DB(db_drive_is_within(c, a->account_id, id, parent_id, &within));
            if (parent_id == id || within) {
                rc = svc_fail(e, SVC_CONFLICT, "move_into_itself", field,
                             "a folder cannot move into itself or into a folder inside it");
                goto out;
            }
            if ((rc = check_parent(c, a, parent_id, field, e)) != SVC_OK) {
                goto out;
            }
            TRY_DB(db_drive_depth(c, a->account_id, parent_id, &depth));
            TRY_DB(db_drive_height(c, a->account_id, id, &height));
            if (depth + height > DRIVE_MAX_DEPTH) {
                rc = svc_fail(e, SVC_CONFLICT, "too_deep", field,
                             "folders nest at most %d levels deep", DRIVE_MAX_DEPTH);
                goto out;
            }
        } else if ((rc = check_parent(c, a, parent_id, field, e)) != SVC_OK) {
            goto out;
        }
    }
    if (moves || name != NULL) {
        TRY_DB(db_drive_name_taken(c, a->account_id, moves ? parent_id : it.parent_id,
                                   name != NULL ? name : it.name, id, &taken));
        if (taken) {
            rc = name_taken(e);
            goto out;
        }
        TRY_DB(db_drive_item_update(c, a->account_id, id, name, moves, parent_id, &found));
    }
out:
    db_drive_item_clear(&it);
    return tx_end(pool, c, rc, e);
}

svc_status svc_drive_folder_delete(db_pool *pool, const svc_actor *a, long long id,
                                   bool recursive, long long *n_files, long long *bytes,
                                   svc_error *e)
{
    db_conn *c = NULL;
    long long *ids = NULL, freed = 0, children = 0;
    int n = 0;
    bool found = false;
    svc_status rc;
    db_drive_item it;

    memset(&it, 0, sizeof it);
    if ((rc = tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_item_get(c, a->account_id, id, true, &it, &found));
    if (!found) {
        rc = no_folder(e, NULL);
        goto out;
    }
    TRY_DB(db_drive_count_children(c, a->account_id, id, &children));
    if (children > 0 && !recursive) {
        rc = svc_fail(e, SVC_CONFLICT, "folder_not_empty", NULL,
                     "the folder is not empty (%lld entries); delete with recursive=1 to "
                     "delete everything inside it",
                     children);
        goto out;
    }
    TRY_DB(db_drive_subtree_files(c, a->account_id, id, &ids, &n, &freed));
    /* The rows cascade; each file's blob goes with its row (a trigger). */
    TRY_DB(db_drive_item_delete(c, a->account_id, id, &found));
    if (freed > 0) {
        TRY_DB(db_storage_add_drive(c, a->account_id, -freed));
    }
out:
    rc = tx_end(pool, c, rc, e);
    if (n_files != NULL) {
        *n_files = rc == SVC_OK ? n : 0;
    }
    if (bytes != NULL) {
        *bytes = rc == SVC_OK ? freed : 0;
    }
    free(ids);
    db_drive_item_clear(&it);
    return rc;
}

/* ------------------------------------------------------------------ files */

svc_status svc_drive_file_delete(db_pool *pool, const svc_actor *a, long long id,
                                 long long *bytes, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_item it;
    bool found = false;
    svc_status rc;

    memset(&it, 0, sizeof it);
    if ((rc = tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_item_get(c, a->account_id, id, false, &it, &found));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such file");
        goto out;
    }
    TRY_DB(db_drive_item_delete(c, a->account_id, id, &found));
    if (it.size > 0) {
        TRY_DB(db_storage_add_drive(c, a->account_id, -it.size));
    }
out:
    rc = tx_end(pool, c, rc, e);
    if (bytes != NULL) {
        *bytes = rc == SVC_OK ? it.size : 0;
    }
    db_drive_item_clear(&it);
    return rc;
}

svc_status svc_drive_upload_check(db_pool *pool, const svc_actor *a, long long folder_id,
                               const char *name, long long *room, svc_error *e)
{
    db_conn *c = NULL;
    bool taken = false;
    long long used = 0, limit = storage_limit(a->plan);
    svc_status rc;
    db_status st;

    *room = 0;
    if ((rc = check_name(name, e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    if ((rc = check_parent(c, a, folder_id, "folder_id", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_name_taken(c, a->account_id, folder_id, name, 0, &taken));
    if (taken) {
        rc = name_taken(e);
        goto out;
    }
    TRY_DB(db_storage_used(c, a->account_id, &used));
    *room = used < limit ? limit - used : 0;
out:
    db_release(pool, c);
    return rc;
}

svc_status svc_drive_content_get(db_pool *pool, const svc_actor *a, long long id,
                                 svc_drive_content *out, svc_error *e)
{
    db_drive_item it;
    svc_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    snprintf(out->name, sizeof out->name, "%s", it.name ? it.name : "");
    snprintf(out->kind, sizeof out->kind, "%s", it.kind ? it.kind : "other");
    snprintf(out->sha256, sizeof out->sha256, "%s", it.sha256 ? it.sha256 : "");
    rc = item_blob(pool, a->account_id, &it, &out->blob, e);
    db_drive_item_clear(&it);
    return rc;
}

svc_status svc_drive_upload_begin(db_pool *pool, const char *data_dir, long long account_id,
                                  svc_drive_upload *u, svc_error *e)
{
    db_status st;
    memset(u, 0, sizeof *u);
    u->spool_fd = -1;
    snprintf(u->tmp_dir, sizeof u->tmp_dir, "%s", data_dir);
    if ((u->head = malloc(DRIVE_SNIFF_BYTES)) == NULL) {
        return svc_fail_nomem(e);
    }
    u->sha = EVP_MD_CTX_new();
    if (u->sha == NULL || EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
        svc_drive_upload_abort(u);
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 unavailable");
    }
    if ((st = db_file_begin(pool, account_id, &u->w)) != DB_OK) {
        svc_drive_upload_abort(u);
        return fail_db(e, st);
    }
    return SVC_OK;
}

static const uint8_t hok_magic[8] = {'M', 'T', 'H', 'O', 'K', '\r', '\n', 0x1a};

/* Write "len" bytes to the local copy of a HOK upload. */
static int spool_write(svc_drive_upload *u, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(u->spool_fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            log_error("drive: cannot write the local copy of an upload: %s", strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

svc_status svc_drive_upload_write(svc_drive_upload *u, const void *buf, size_t len, svc_error *e)
{
    db_status st;
    if (EVP_DigestUpdate(u->sha, buf, len) != 1) {
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 failed");
    }
    if (u->head_len < DRIVE_SNIFF_BYTES) {
        size_t k = DRIVE_SNIFF_BYTES - u->head_len < len ? DRIVE_SNIFF_BYTES - u->head_len : len;
        bool was_short = u->head_len < sizeof hok_magic;
        memcpy(u->head + u->head_len, buf, k);
        u->head_len += k;
        /* A HOK file is checked whole by core at the end: it is also kept
         * in a local copy (never on the heap), started once its magic is
         * known. */
        if (was_short && u->head_len >= sizeof hok_magic &&
            memcmp(u->head, hok_magic, sizeof hok_magic) == 0) {
            if ((u->spool_fd = svc_files_tmp(u->tmp_dir)) < 0 ||
                spool_write(u, u->head, u->head_len) != 0) {
                return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
            }
            if (k < len && spool_write(u, (const char *)buf + k, len - k) != 0) {
                return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
            }
        } else if (!was_short && u->spool_fd >= 0 && spool_write(u, buf, len) != 0) {
            return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
        }
    } else if (u->spool_fd >= 0 && spool_write(u, buf, len) != 0) {
        return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
    }
    if ((st = db_file_write(&u->w, buf, len)) != DB_OK) {
        return fail_db(e, st);
    }
    u->size += (long long)len;
    return SVC_OK;
}

/* Whether "name" ends in .csv or .txt (any case). */
static bool text_export_name(const char *name)
{
    const char *ext = extension(name);
    return fold_cmp(ext, "csv") == 0 || fold_cmp(ext, "txt") == 0;
}

/* The kind of the finished upload "u" (see svc_drive_upload_finish()). */
static const char *detect_kind(svc_drive_upload *u, const char *name)
{
    const char *kind = "other";
    mt_error err;
    if (u->spool_fd >= 0) {
        /* The HOK magic: core checks the whole file (header, index,
         * trailers), mapped from the local copy. */
        void *p = u->size > 0 ? mmap(NULL, (size_t)u->size, PROT_READ, MAP_PRIVATE,
                                     u->spool_fd, 0)
                              : MAP_FAILED;
        mt_hok *h = NULL;
        if (p == MAP_FAILED) {
            log_warn("drive: cannot map the local copy of an upload: %s", strerror(errno));
            return kind;
        }
        if (mt_hok_open(p, (size_t)u->size, &h, &err) == MT_OK) {
            kind = mt_hok_version(h) == MT_HOK_V1 ? "hok" : "hok2";
        }
        mt_hok_close(h);
        munmap(p, (size_t)u->size);
    } else if (u->head_len > 0 && text_export_name(name)) {
        /* Parse the start of the file, cut after its last complete line:
         * a bounded cost that still tells a HIOKI export from other text. */
        size_t len = u->head_len;
        mt_csv *csv = NULL;
        if ((long long)len < u->size) {
            while (len > 0 && u->head[len - 1] != '\n') {
                len--;
            }
        }
        if (len > 0 && mt_csv_read((const char *)u->head, len, NULL, &csv, &err) == MT_OK) {
            kind = "hioki_csv";
        }
        mt_csv_free(csv);
    }
    return kind;
}

svc_status svc_drive_upload_finish(svc_drive_upload *u, const char *name, svc_error *e)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    db_status st;
    if ((st = db_file_flush(&u->w)) != DB_OK) {
        return fail_db(e, st);
    }
    if (EVP_DigestFinal_ex(u->sha, md, &md_len) != 1 || md_len != 32) {
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 failed");
    }
    for (unsigned i = 0; i < 32; i++) {
        u->sha256_hex[2 * i] = hex[md[i] >> 4];
        u->sha256_hex[2 * i + 1] = hex[md[i] & 15];
    }
    u->sha256_hex[64] = '\0';
    snprintf(u->kind, sizeof u->kind, "%s", detect_kind(u, name));
    if (u->spool_fd >= 0) {
        close(u->spool_fd);
        u->spool_fd = -1;
    }
    return SVC_OK;
}

void svc_drive_upload_abort(svc_drive_upload *u)
{
    if (u->spool_fd >= 0) {
        close(u->spool_fd);
        u->spool_fd = -1;
    }
    db_file_writer_end(&u->w, !u->kept);
    free(u->head);
    u->head = NULL;
    EVP_MD_CTX_free(u->sha);
    u->sha = NULL;
}

void svc_drive_upload_keep(svc_drive_upload *u)
{
    u->kept = true;
}

svc_status svc_drive_upload_commit(db_pool *pool, const svc_actor *a, long long folder_id,
                                   const char *name, const char *content_type,
                                   svc_drive_upload *u, long long *id, svc_error *e)
{
    db_conn *c = NULL;
    bool taken = false;
    long long used = 0;
    svc_status rc;

    *id = 0;
    if ((rc = check_name(name, e)) != SVC_OK || (rc = tx_lock(pool, a->account_id, &c, e)) != SVC_OK ||
        (rc = check_parent(c, a, folder_id, "folder_id", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_name_taken(c, a->account_id, folder_id, name, 0, &taken));
    if (taken) {
        rc = name_taken(e);
        goto out;
    }
    /* Under the account lock: no other upload can count in between. */
    TRY_DB(db_storage_used(c, a->account_id, &used));
    if ((rc = svc_quota_check(e, a->plan, MT_Q_STORAGE, used + u->size)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_ready_tx(c, &u->w));
    TRY_DB(db_drive_file_insert(c, a->account_id, folder_id, name, u->size, u->kind,
                                content_type, u->sha256_hex, a->user_id, u->w.blob_id, id));
    TRY_DB(db_storage_add_drive(c, a->account_id, u->size));
out:
    rc = tx_end(pool, c, rc, e);
    if (rc == SVC_OK) {
        svc_drive_upload_keep(u);
    } else {
        *id = 0;
    }
    return rc;
}

svc_status svc_drive_upload_commit_tx(db_conn *c, long long account_id, mt_plan plan,
                                      long long user_id, long long folder_id, const char *name,
                                      const char *content_type, svc_drive_upload *u,
                                      long long *id, svc_error *e)
{
    bool taken = false;
    long long used = 0, n = 0;
    svc_status rc = SVC_OK;

    *id = 0;
    if ((rc = check_name(name, e)) != SVC_OK) {
        return rc;
    }
    TRY_DB(db_drive_name_taken(c, account_id, folder_id, name, 0, &taken));
    if (taken) {
        rc = name_taken(e);
        goto out;
    }
    TRY_DB(db_drive_count_children(c, account_id, folder_id, &n));
    if (n >= DRIVE_MAX_ENTRIES) {
        rc = svc_fail(e, SVC_CONFLICT, "folder_full", "folder_id",
                      "a folder holds at most %d entries", DRIVE_MAX_ENTRIES);
        goto out;
    }
    TRY_DB(db_storage_used(c, account_id, &used));
    if ((rc = svc_quota_check(e, plan, MT_Q_STORAGE, used + u->size)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_ready_tx(c, &u->w));
    TRY_DB(db_drive_file_insert(c, account_id, folder_id, name, u->size, u->kind, content_type,
                                u->sha256_hex, user_id, u->w.blob_id, id));
    TRY_DB(db_storage_add_drive(c, account_id, u->size));
out:
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}

svc_status svc_drive_folder_ensure_tx(db_conn *c, long long account_id, long long parent_id,
                                      const char *name, long long *id, svc_error *e)
{
    char try_name[DRIVE_NAME_MAX + 16];
    svc_status rc = SVC_OK;
    *id = 0;
    /* "name", or "name (2)" .. "name (9)" when a file holds the name. */
    for (int k = 1; k <= 9; k++) {
        long long found = 0, n = 0;
        bool is_folder = false;
        if (k == 1) {
            snprintf(try_name, sizeof try_name, "%s", name);
        } else {
            snprintf(try_name, sizeof try_name, "%s (%d)", name, k);
        }
        if ((rc = check_name(try_name, e)) != SVC_OK) {
            return rc;
        }
        TRY_DB(db_drive_find_name(c, account_id, parent_id, try_name, &found, &is_folder));
        if (found != 0 && is_folder) {
            *id = found;
            return SVC_OK;
        }
        if (found != 0) {
            continue;
        }
        TRY_DB(db_drive_count_children(c, account_id, parent_id, &n));
        if (n >= DRIVE_MAX_ENTRIES) {
            return svc_fail(e, SVC_CONFLICT, "folder_full", "folder_id",
                            "a folder holds at most %d entries", DRIVE_MAX_ENTRIES);
        }
        TRY_DB(db_drive_folder_insert(c, account_id, parent_id, try_name, 0, id));
        return SVC_OK;
    }
    rc = name_taken(e);
out:
    return rc;
}

/* --------------------------------------------------------------- channels */

static void add_time(cJSON *o, const char *key, const char *key_us, bool have, mt_time t)
{
    char buf[MT_CAL_INSTANT_LEN];
    mt_error err;
    if (have && mt_cal_format_instant(t, buf, sizeof buf, &err) == MT_OK) {
        cJSON_AddStringToObject(o, key, buf);
        cJSON_AddNumberToObject(o, key_us, (double)t);
    } else {
        cJSON_AddNullToObject(o, key);
        cJSON_AddNullToObject(o, key_us);
    }
}

static svc_status core_refused(svc_error *e, const mt_error *err)
{
    return svc_fail(e, SVC_INVALID, "unreadable", NULL, "the file cannot be read: %s (at byte %zu)",
                   err->msg, err->pos);
}

static svc_status hok_channels(const file_map *m, cJSON *o, svc_error *e)
{
    mt_hok *h = NULL;
    mt_error err;
    const mt_hok_meta *meta;
    const mt_hok_channel *ch;
    uint64_t rows;
    mt_time t0 = 0, t1 = 0;
    bool have = false;
    cJSON *mo, *arr;
    if (mt_hok_open(m->data, m->len, &h, &err) != MT_OK) {
        return core_refused(e, &err);
    }
    rows = mt_hok_row_count(h);
    if (rows > 0) {
        if (mt_hok_read_times(h, 0, 1, &t0, &err) != MT_OK ||
            mt_hok_read_times(h, rows - 1, 1, &t1, &err) != MT_OK) {
            mt_hok_close(h);
            return core_refused(e, &err);
        }
        have = true;
    }
    meta = mt_hok_get_meta(h);
    cJSON_AddNumberToObject(o, "rows", (double)rows);
    add_time(o, "first", "first_us", have, t0);
    add_time(o, "last", "last_us", have, t1);
    mo = cJSON_AddObjectToObject(o, "meta");
    if (mo != NULL) {
        cJSON_AddStringToObject(mo, "title", meta->title);
        cJSON_AddStringToObject(mo, "app", meta->app);
        cJSON_AddStringToObject(mo, "device", meta->device);
        cJSON_AddStringToObject(mo, "model", meta->model);
        cJSON_AddStringToObject(mo, "timezone", meta->timezone);
        add_time(mo, "created", "created_us", true, meta->created);
    }
    arr = cJSON_AddArrayToObject(o, "channels");
    ch = mt_hok_channels(h);
    for (size_t i = 0; arr != NULL && i < mt_hok_channel_count(h); i++) {
        cJSON *c = cJSON_CreateObject();
        if (c == NULL) {
            break;
        }
        cJSON_AddNumberToObject(c, "index", (double)i);
        cJSON_AddNumberToObject(c, "id", (double)ch[i].id);
        cJSON_AddStringToObject(c, "name", ch[i].name);
        cJSON_AddStringToObject(c, "unit", ch[i].unit);
        cJSON_AddStringToObject(c, "kind", ch[i].kind == MT_HOK_COMPUTED ? "computed"
                                                                         : "measured");
        cJSON_AddStringToObject(c, "model", ch[i].model);
        cJSON_AddNumberToObject(c, "samples", (double)rows);
        cJSON_AddItemToArray(arr, c);
    }
    mt_hok_close(h);
    return SVC_OK;
}

static svc_status csv_channels(const file_map *m, int utc_offset_minutes, cJSON *o, svc_error *e)
{
    static const char *const kinds[] = {"analog", "integer", "event"};
    static const char *const styles[] = {"bare", "column", "row"};
    static const char *const formats[] = {"seconds", "clock", "absolute"};
    mt_csv_options opt;
    mt_csv *csv = NULL;
    mt_error err;
    const mt_csv_meta *meta;
    const mt_time *t;
    size_t rows;
    cJSON *mo, *arr;
    char delim[2] = {0, 0}, mark[2] = {0, 0};

    if ((long long)m->len > DRIVE_CSV_OPEN_MAX) {
        return svc_fail(e, SVC_INVALID, "too_large", NULL,
                       "the server reads the channels of CSV files up to %lld bytes; "
                       "download this one and open it in the viewer",
                       DRIVE_CSV_OPEN_MAX);
    }
    memset(&opt, 0, sizeof opt);
    opt.utc_offset_minutes = utc_offset_minutes;
    if (mt_csv_read((const char *)m->data, m->len, &opt, &csv, &err) != MT_OK) {
        return core_refused(e, &err);
    }
    meta = mt_csv_meta_of(csv);
    rows = mt_csv_row_count(csv);
    t = mt_csv_times(csv);
    cJSON_AddNumberToObject(o, "rows", (double)rows);
    add_time(o, "first", "first_us", rows > 0, rows > 0 ? t[0] : 0);
    add_time(o, "last", "last_us", rows > 0, rows > 0 ? t[rows - 1] : 0);
    mo = cJSON_AddObjectToObject(o, "meta");
    if (mo != NULL) {
        delim[0] = meta->delimiter;
        mark[0] = meta->decimal_mark;
        cJSON_AddStringToObject(mo, "file_name", meta->file_name);
        cJSON_AddStringToObject(mo, "version", meta->version);
        cJSON_AddStringToObject(mo, "title", meta->title);
        add_time(mo, "trigger", "trigger_us", meta->has_trigger != 0, meta->trigger);
        cJSON_AddStringToObject(mo, "style", (unsigned)meta->style < 3 ? styles[meta->style]
                                                                        : "bare");
        cJSON_AddStringToObject(mo, "delimiter", delim);
        cJSON_AddStringToObject(mo, "decimal_mark", mark);
        cJSON_AddStringToObject(mo, "time_format", (unsigned)meta->time_format < 3
                                                       ? formats[meta->time_format]
                                                       : "seconds");
        cJSON_AddNumberToObject(mo, "utc_offset_minutes", utc_offset_minutes);
    }
    arr = cJSON_AddArrayToObject(o, "channels");
    for (size_t i = 0; arr != NULL && i < mt_csv_channel_count(csv); i++) {
        const mt_csv_channel *ch = mt_csv_channel_at(csv, i);
        cJSON *c = cJSON_CreateObject();
        if (c == NULL || ch == NULL) {
            cJSON_Delete(c);
            break;
        }
        cJSON_AddNumberToObject(c, "index", (double)i);
        cJSON_AddStringToObject(c, "name", ch->name);
        cJSON_AddStringToObject(c, "unit", ch->unit);
        cJSON_AddStringToObject(c, "kind", (unsigned)ch->kind < 3 ? kinds[ch->kind] : "analog");
        cJSON_AddStringToObject(c, "mode", ch->mode);
        cJSON_AddStringToObject(c, "range", ch->range);
        cJSON_AddStringToObject(c, "comment", ch->comment);
        cJSON_AddNumberToObject(c, "samples", (double)rows);
        cJSON_AddItemToArray(arr, c);
    }
    mt_csv_free(csv);
    return SVC_OK;
}

/* The file record "id" (any kind) of the account. */
static svc_status file_record(db_pool *pool, const svc_actor *a, long long id, db_drive_item *it,
                           svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, &c);
    memset(it, 0, sizeof *it);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_drive_item_get(c, a->account_id, id, false, it, &found);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such file");
    }
    return SVC_OK;
}

svc_status svc_drive_channels(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                           int utc_offset_minutes, cJSON **out, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    cJSON *o = NULL;
    svc_status rc;

    *out = NULL;
    if ((rc = file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    if (!svc_drive_kind_viewable(it.kind)) {
        rc = svc_fail(e, SVC_CONFLICT, "not_viewable", NULL,
                     "only HOK, HOK2 and HIOKI CSV files have channels (this file is '%s')",
                     it.kind ? it.kind : "other");
        goto out;
    }
    if (strcmp(it.kind, "hioki_csv") == 0 && it.size > DRIVE_CSV_OPEN_MAX) {
        rc = svc_fail(e, SVC_INVALID, "too_large", NULL,
                      "the server reads the channels of CSV files up to %lld bytes; "
                      "download this one and open it in the viewer",
                      DRIVE_CSV_OPEN_MAX);
        goto out;
    }
    if ((rc = map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((o = cJSON_CreateObject()) == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    cJSON_AddNumberToObject(o, "file_id", (double)id);
    cJSON_AddStringToObject(o, "kind", it.kind);
    if (strcmp(it.kind, "hioki_csv") == 0) {
        rc = csv_channels(&m, utc_offset_minutes, o, e);
    } else {
        rc = hok_channels(&m, o, e);
    }
    if (rc == SVC_OK) {
        *out = o;
        o = NULL;
    }
out:
    cJSON_Delete(o);
    map_close(&m);
    db_drive_item_clear(&it);
    return rc;
}

/* One mapping of an import: file channel "index" -> Metron channel "id". */
typedef struct {
    size_t index;
    int64_t channel;
} import_map;

static int cmp_rec_ct(const void *a, const void *b)
{
    const ingest_rec *x = a, *y = b;
    if (x->ch != y->ch) {
        return x->ch < y->ch ? -1 : 1;
    }
    return (x->t > y->t) - (x->t < y->t);
}

/* Append file channel "col" (times "t", values "v", "n" rows) as records of
 * Metron channel "ch", skipping "missing" values. */
static int push_column(ingest_rec **rec, size_t *n_rec, size_t *cap, int64_t ch, const mt_time *t,
                       const double *v, size_t n)
{
    if (*n_rec + n > *cap) {
        size_t nc = (*n_rec + n) * 2;
        ingest_rec *grown = realloc(*rec, nc * sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        *rec = grown;
        *cap = nc;
    }
    for (size_t i = 0; i < n; i++) {
        if (mt_sv_kind(v[i]) == MT_SV_MISSING) {
            continue;
        }
        (*rec)[*n_rec].ch = ch;
        (*rec)[*n_rec].t = t[i];
        (*rec)[*n_rec].v = v[i];
        (*n_rec)++;
    }
    return 0;
}

/* Read the mapped columns of the file into records. */
static svc_status import_read(const file_map *m, const char *kind, int utc_offset_minutes,
                           const import_map *map, size_t n_map, ingest_rec **rec, size_t *n_rec,
                           svc_error *e)
{
    size_t cap = 0;
    mt_error err;
    *rec = NULL;
    *n_rec = 0;
    if (strcmp(kind, "hioki_csv") == 0) {
        mt_csv_options opt;
        mt_csv *csv = NULL;
        memset(&opt, 0, sizeof opt);
        opt.utc_offset_minutes = utc_offset_minutes;
        if (mt_csv_read((const char *)m->data, m->len, &opt, &csv, &err) != MT_OK) {
            return core_refused(e, &err);
        }
        for (size_t k = 0; k < n_map; k++) {
            if (map[k].index >= mt_csv_channel_count(csv)) {
                mt_csv_free(csv);
                return svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                               "channels[%zu].index: the file has %zu channels", k,
                               mt_csv_channel_count(csv));
            }
            if (push_column(rec, n_rec, &cap, map[k].channel, mt_csv_times(csv),
                            mt_csv_values(csv, map[k].index), mt_csv_row_count(csv)) != 0) {
                mt_csv_free(csv);
                return fail_db(e, DB_ERROR);
            }
        }
        mt_csv_free(csv);
        return SVC_OK;
    }
    {
        mt_hok *h = NULL;
        uint64_t rows;
        mt_time *t = NULL;
        double *v = NULL;
        svc_status rc = SVC_OK;
        if (mt_hok_open(m->data, m->len, &h, &err) != MT_OK) {
            return core_refused(e, &err);
        }
        rows = mt_hok_row_count(h);
        if (rows > INGEST_MAX_SAMPLES) {
            mt_hok_close(h);
            return svc_fail(e, SVC_INVALID, "too_large", NULL,
                           "an import holds at most %d rows", INGEST_MAX_SAMPLES);
        }
        t = malloc((rows ? rows : 1) * sizeof *t);
        v = malloc((rows ? rows : 1) * sizeof *v);
        if (t == NULL || v == NULL) {
            rc = fail_db(e, DB_ERROR);
        } else if (rows > 0 && mt_hok_read_times(h, 0, (size_t)rows, t, &err) != MT_OK) {
            rc = core_refused(e, &err);
        }
        for (size_t k = 0; rc == SVC_OK && k < n_map; k++) {
            if (map[k].index >= mt_hok_channel_count(h)) {
                rc = svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                             "channels[%zu].index: the file has %zu channels", k,
                             mt_hok_channel_count(h));
            } else if (rows > 0 &&
                       mt_hok_read_values(h, map[k].index, 0, (size_t)rows, v, &err) != MT_OK) {
                rc = core_refused(e, &err);
            } else if (push_column(rec, n_rec, &cap, map[k].channel, t, v, (size_t)rows) != 0) {
                rc = fail_db(e, DB_ERROR);
            }
        }
        free(t);
        free(v);
        mt_hok_close(h);
        return rc;
    }
}

svc_status svc_drive_import(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                         const cJSON *body, int64_t now_us, cJSON **out, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    import_map *map = NULL; /* DRIVE_IMPORT_MAX entries: 16 KB, not on a worker's stack */
    size_t n_map = 0, n_rec = 0;
    ingest_rec *rec = NULL;
    int64_t *ids = NULL, *ok_ids = NULL;
    size_t n_ok = 0;
    int utc_offset = 0;
    const cJSON *chs, *item, *off;
    db_conn *c = NULL;
    db_status st;
    svc_status rc;

    *out = NULL;
    if ((rc = file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_feature_check(e, a->plan, MT_Q_IMPORT, MT_ACCESS_FULL)) != SVC_OK) {
        goto out;
    }
    if (!svc_drive_kind_viewable(it.kind)) {
        rc = svc_fail(e, SVC_CONFLICT, "not_importable", NULL,
                     "only HOK, HOK2 and HIOKI CSV files can be imported (this file is '%s')",
                     it.kind ? it.kind : "other");
        goto out;
    }
    /* {"channels": [{"index": i, "channel_id": id}, ...], "utc_offset_minutes": m} */
    chs = cJSON_GetObjectItemCaseSensitive(body, "channels");
    if (!cJSON_IsArray(chs) || cJSON_GetArraySize(chs) < 1 ||
        cJSON_GetArraySize(chs) > DRIVE_IMPORT_MAX) {
        rc = svc_fail(e, SVC_INVALID, chs == NULL ? "missing" : "invalid_value", "channels",
                     "channels: 1 to %d mappings {index, channel_id}", DRIVE_IMPORT_MAX);
        goto out;
    }
    map = calloc(DRIVE_IMPORT_MAX, sizeof *map);
    if (map == NULL) {
        rc = svc_fail_db(e, DB_ERROR, NULL); /* out of memory: 500 */
        goto out;
    }
    cJSON_ArrayForEach(item, chs) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(item, "channel_id");
        if (!cJSON_IsNumber(ix) || !cJSON_IsNumber(ci) || ix->valuedouble < 0 ||
            ix->valuedouble != (double)(long long)ix->valuedouble || ix->valuedouble > 1e6 ||
            ci->valuedouble < 1 || ci->valuedouble != (double)(long long)ci->valuedouble ||
            ci->valuedouble > 9e15) {
            rc = svc_fail(e, SVC_INVALID, "wrong_type", "channels",
                         "channels[%zu]: expected {index: file channel (0-based), channel_id}",
                         n_map);
            goto out;
        }
        map[n_map].index = (size_t)ix->valuedouble;
        map[n_map].channel = (int64_t)ci->valuedouble;
        for (size_t k = 0; k < n_map; k++) {
            if (map[k].index == map[n_map].index || map[k].channel == map[n_map].channel) {
                rc = svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                             "channels[%zu]: a file channel or a target channel is used twice",
                             n_map);
                goto out;
            }
        }
        n_map++;
    }
    off = cJSON_GetObjectItemCaseSensitive(body, "utc_offset_minutes");
    if (off != NULL) {
        if (!cJSON_IsNumber(off) || off->valuedouble < -1080 || off->valuedouble > 1080 ||
            off->valuedouble != (double)(int)off->valuedouble) {
            rc = svc_fail(e, SVC_INVALID, "invalid_value", "utc_offset_minutes",
                         "utc_offset_minutes: an integer -1080..1080");
            goto out;
        }
        utc_offset = (int)off->valuedouble;
    }
    if ((rc = map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = import_read(&m, it.kind, utc_offset, map, n_map, &rec, &n_rec, e)) != SVC_OK) {
        goto out;
    }
    if (n_rec == 0) {
        rc = svc_fail(e, SVC_INVALID, "empty_batch", NULL, "the mapped channels hold no samples");
        goto out;
    }
    if (n_rec > INGEST_MAX_SAMPLES) {
        rc = svc_fail(e, SVC_INVALID, "too_large", NULL, "an import holds at most %d samples",
                     INGEST_MAX_SAMPLES);
        goto out;
    }
    /* Sort; at equal times the later row wins; times inside the ingest range. */
    qsort(rec, n_rec, sizeof *rec, cmp_rec_ct);
    {
        size_t w = 0;
        for (size_t i = 0; i < n_rec; i++) {
            if (rec[i].t < INGEST_T_MIN || rec[i].t > now_us + INGEST_FUTURE_US) {
                rc = svc_fail(e, SVC_INVALID, "time_out_of_range", NULL,
                             "a sample at %lld µs lies before 2000 or in the future",
                             (long long)rec[i].t);
                goto out;
            }
            if (w > 0 && rec[w - 1].ch == rec[i].ch && rec[w - 1].t == rec[i].t) {
                rec[w - 1] = rec[i];
            } else {
                rec[w++] = rec[i];
            }
        }
        n_rec = w;
    }
    /* Every target: a measured channel of the account the user may see. */
    ids = malloc(n_map * sizeof *ids);
    if (ids == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        ids[k] = map[k].channel;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK ||
        (st = db_channels_measured(c, a->account_id, a->role == ROLE_ADMIN ? 0 : a->user_id, ids,
                                   n_map, &ok_ids, &n_ok)) != DB_OK) {
        rc = fail_db(e, st);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        bool found = false;
        for (size_t j = 0; j < n_ok && !found; j++) {
            found = ok_ids[j] == ids[k];
        }
        if (!found) {
            rc = svc_fail(e, SVC_NOT_FOUND, "not_found", "channels",
                         "channels[%zu].channel_id: %lld is not a measured channel you can see",
                         k, (long long)ids[k]);
            goto out;
        }
    }
    /* Into the hot table, in one transaction (the compactor folds it). A
     * second import of the same file stores the same samples again at the
     * same times: they replace themselves, nothing is duplicated. */
    st = db_begin(c);
    for (size_t i = 0; st == DB_OK && i < n_rec; i += 4096) {
        size_t n = n_rec - i < 4096 ? n_rec - i : 4096;
        int64_t t0 = rec[i].t, t1 = rec[i].t;
        for (size_t j = i; j < i + n; j++) {
            t0 = rec[j].t < t0 ? rec[j].t : t0;
            t1 = rec[j].t > t1 ? rec[j].t : t1;
        }
        st = db_hot_insert(c, a->account_id, rec + i, n, t0, t1);
    }
    if (st == DB_OK) {
        st = db_commit(c);
    }
    if (st != DB_OK) {
        db_rollback(c);
        rc = fail_db(e, st);
        goto out;
    }
    *out = cJSON_CreateObject();
    if (*out != NULL) {
        cJSON_AddNumberToObject(*out, "file_id", (double)id);
        cJSON_AddNumberToObject(*out, "samples", (double)n_rec);
        cJSON_AddNumberToObject(*out, "channels", (double)n_map);
    }
    rc = SVC_OK;
out:
    db_release(pool, c);
    map_close(&m);
    free(map);
    free(rec);
    free(ids);
    free(ok_ids);
    db_drive_item_clear(&it);
    return rc;
}

/* ------------------------------------------------------ retention, sweeps */

/* L5 for one account: delete its files created before "cutoff". */
svc_status svc_drive_read_columns(db_pool *pool, const svc_actor *a, const char *data_dir,
                                  long long id, const size_t *index, const int64_t *channel,
                                  size_t n_map, int utc_offset_minutes, ingest_rec **rec,
                                  size_t *n_rec, char *name, size_t name_cap, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    import_map *map = NULL;
    svc_status rc;
    *rec = NULL;
    *n_rec = 0;
    if ((rc = file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    if (!svc_drive_kind_viewable(it.kind)) {
        rc = svc_fail(e, SVC_CONFLICT, "not_viewable", NULL,
                      "only HOK, HOK2 and HIOKI CSV files have channels (this file is '%s')",
                      it.kind ? it.kind : "other");
        goto out;
    }
    snprintf(name, name_cap, "%s", it.name ? it.name : "");
    if ((map = calloc(n_map ? n_map : 1, sizeof *map)) == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        map[k].index = index[k];
        map[k].channel = channel[k];
    }
    if ((rc = map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = import_read(&m, it.kind, utc_offset_minutes, map, n_map, rec, n_rec, e)) != SVC_OK) {
        goto out;
    }
    qsort(*rec, *n_rec, sizeof **rec, cmp_rec_ct);
    {
        /* At equal times the later row wins, as in an import. */
        size_t w = 0;
        for (size_t i = 0; i < *n_rec; i++) {
            if (w > 0 && (*rec)[w - 1].ch == (*rec)[i].ch && (*rec)[w - 1].t == (*rec)[i].t) {
                (*rec)[w - 1] = (*rec)[i];
            } else {
                (*rec)[w++] = (*rec)[i];
            }
        }
        *n_rec = w;
    }
out:
    if (rc != SVC_OK) {
        free(*rec);
        *rec = NULL;
        *n_rec = 0;
    }
    free(map);
    map_close(&m);
    db_drive_item_clear(&it);
    return rc;
}

static svc_status retention_account(db_pool *pool, long long account_id, const char *cutoff,
                                    svc_drive_cleanup_stats *stats, svc_error *e)
{
    db_conn *c = NULL;
    long long *ids = NULL, freed = 0;
    int n = 0;
    svc_status rc;
    if ((rc = tx_lock(pool, account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Each file's blob goes with its row (a trigger). */
    TRY_DB(db_drive_delete_old_files(c, account_id, cutoff, &ids, &n, &freed));
    if (freed > 0) {
        TRY_DB(db_storage_add_drive(c, account_id, -freed));
    }
out:
    rc = tx_end(pool, c, rc, e);
    if (rc == SVC_OK && n > 0) {
        stats->accounts++;
        stats->files_deleted += n;
        stats->bytes_freed += freed;
        log_info("drive: retention deleted %d files (%lld bytes) of account %lld", n, freed,
                 account_id);
    }
    free(ids);
    return rc;
}

/* Whether the account's plan in force at "now_us" is Free. */
static bool free_now(const db_drive_account *acc, int64_t now_us)
{
    mt_plan stored, eff;
    mt_day expiry;
    mt_error err;
    if (mt_plan_from_name(acc->plan, &stored, &err) != MT_OK) {
        return false;
    }
    eff = stored;
    if (acc->expiry != NULL && mt_cal_parse_date(acc->expiry, &expiry, &err) == MT_OK &&
        mt_licence_effective_plan(stored, expiry, now_us, &eff, &err) != MT_OK) {
        eff = stored;
    }
    return eff == MT_PLAN_FREE;
}

/* Blobs swept per statement (the next round goes on). */
#define SWEEP_LIMIT 1000

svc_status svc_drive_cleanup(db_pool *pool, int64_t now_us, int64_t grace_s,
                             svc_drive_cleanup_stats *stats, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_account *accs = NULL;
    int n_accs = 0;
    mt_day today, cutoff_day;
    mt_error err;
    char cutoff[MT_CAL_INSTANT_LEN];
    svc_status rc = SVC_OK;
    db_status st;
    long long swept = 0;

    memset(stats, 0, sizeof *stats);
    if (mt_cal_day_of(now_us, &today, &err) != MT_OK ||
        mt_licence_retention_cutoff(today, &cutoff_day, &err) != MT_OK ||
        mt_cal_format_instant(mt_cal_day_start(cutoff_day), cutoff, sizeof cutoff, &err) !=
            MT_OK) {
        return svc_fail(e, SVC_DB, NULL, NULL, "retention cutoff: %s", err.msg);
    }

    /* 1. L5 retention on accounts that are Free now. */
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_drive_retention_accounts(c, cutoff, &accs, &n_accs);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    for (int i = 0; i < n_accs && rc == SVC_OK; i++) {
        if (free_now(&accs[i], now_us)) {
            rc = retention_account(pool, accs[i].id, cutoff, stats, e);
        }
    }
    db_drive_accounts_free(accs, n_accs);
    if (rc != SVC_OK) {
        return rc;
    }

    /* 2. Blobs nobody recorded (uploads, exports and report files that
     *    never finished). */
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_file_sweep(c, grace_s, SWEEP_LIMIT, &swept);
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    stats->orphans_removed = swept;
    if (swept > 0) {
        log_info("drive: the sweep removed %lld unfinished files from the database", swept);
    }
    return SVC_OK;
}

svc_status svc_drive_test_set_data_bytes(db_pool *pool, long long account_id, long long bytes,
                                      svc_error *e)
{
    db_conn *c = NULL;
    bool exists = false;
    db_status st = db_acquire(pool, DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if ((st = db_drive_account_exists(c, account_id, &exists)) == DB_OK && exists) {
        st = db_drive_test_set_data_bytes(c, account_id, bytes);
    }
    db_release(pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    return exists ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, "not_found", "account_id", "no such account");
}
