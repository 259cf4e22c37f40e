/* The drive: folders. Creating, renaming and moving entries (no cycles,
 * the depth and entry limits, unique names), deleting a folder and what it
 * holds, and the folders an import makes (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_drive.h"
#include "db_storage.h"
#include "svc_drive_internal.h"

/* Inside a locked transaction: folder "parent_id" (0 = root) exists and has
 * room for one more entry. */
svc_status drive_check_parent(db_conn *c, const svc_actor *a, long long parent_id,
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

svc_status drive_check_name(const char *name, svc_error *e)
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
    if ((rc = drive_check_name(name, e)) != SVC_OK ||
        (rc = drive_tx_lock(pool, a->account_id, &c, e)) != SVC_OK ||
        (rc = drive_check_parent(c, a, parent_id, "parent_id", e)) != SVC_OK) {
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
    return drive_tx_end(pool, c, rc, e);
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
    if ((name != NULL && (rc = drive_check_name(name, e)) != SVC_OK) ||
        (rc = drive_tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
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
            if ((rc = drive_check_parent(c, a, parent_id, field, e)) != SVC_OK) {
                goto out;
            }
            TRY_DB(db_drive_depth(c, a->account_id, parent_id, &depth));
            TRY_DB(db_drive_height(c, a->account_id, id, &height));
            if (depth + height > DRIVE_MAX_DEPTH) {
                rc = svc_fail(e, SVC_CONFLICT, "too_deep", field,
                             "folders nest at most %d levels deep", DRIVE_MAX_DEPTH);
                goto out;
            }
        } else if ((rc = drive_check_parent(c, a, parent_id, field, e)) != SVC_OK) {
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
    return drive_tx_end(pool, c, rc, e);
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
    if ((rc = drive_tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
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
    rc = drive_tx_end(pool, c, rc, e);
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
        if ((rc = drive_check_name(try_name, e)) != SVC_OK) {
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
