/* What the files of the drive share, not for its callers (they use
 * svc_drive.h):
 *
 *   svc_drive.c            names; transactions under the account lock, the
 *                          storage limit, a file's record and bytes
 *   svc_drive_list.c       listing a folder, an entry as JSON
 *   svc_drive_folders.c    folders: create, rename, move, delete
 *   svc_drive_files.c      files: delete, content, uploads
 *   svc_drive_channels.c   the channels of a HOK/HOK2/HIOKI CSV file
 *   svc_drive_import.c     imports of a file's channels
 *   svc_drive_retention.c  retention (L5) and sweeps */
#ifndef MTS_SVC_DRIVE_INTERNAL_H
#define MTS_SVC_DRIVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "db_drive.h"
#include "mt/plan.h"
#include "mt/status.h"
#include "svc.h"
#include "svc_drive.h"
#include "svc_files.h"
#include "svc_tx.h"

/* ----------------------------------------------------------------- errors */

static inline svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

static inline svc_status name_taken(svc_error *e)
{
    return svc_fail(e, SVC_CONFLICT, "name_taken", "name",
                   "an entry with this name already exists in this folder");
}

static inline svc_status no_folder(svc_error *e, const char *field)
{
    return svc_fail(e, SVC_NOT_FOUND, "not_found", field, "no such folder");
}

/* A database failure in "expr": rc set (a unique violation is a name clash)
 * and on to "out". */
#define TRY_DB(expr)                                                                         \
    do {                                                                                     \
        db_status st_ = (expr);                                                              \
        if (st_ != DB_OK) {                                                                  \
            rc = st_ == DB_CONFLICT ? name_taken(e) : fail_db(e, st_);                       \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* Acquire a connection, begin, and lock the account row. */
MT_MUSTCHECK
svc_status drive_tx_lock(db_pool *pool, long long account_id, db_conn **c, svc_error *e);

/* Commit when "rc" is SVC_OK (a unique violation at commit is a name clash),
 * release the connection (which rolls back otherwise). */
MT_MUSTCHECK
svc_status drive_tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e);

/* The P2 limit of "plan" in bytes (from core's table). */
long long drive_storage_limit(mt_plan plan);

/* ------------------------------------------------------------ the store */

/* A whole file read from memory by core: svc_files.h's map of a copy. */
typedef svc_file_map file_map;

/* The ready blob of drive item "it" into *f: SVC_NOT_FOUND (logged) when
 * its bytes are not in the store. */
MT_MUSTCHECK
svc_status drive_item_blob(db_pool *pool, long long account_id, const db_drive_item *it,
                           db_file *f, svc_error *e);

/* Map the whole of drive item "it" (a copy in DATA/tmp). */
MT_MUSTCHECK
svc_status drive_map_item(db_pool *pool, const char *data_dir, long long account_id,
                          const db_drive_item *it, file_map *m, svc_error *e);
void drive_map_close(file_map *m);

/* The file record "id" (any kind) of the account. */
MT_MUSTCHECK
svc_status drive_file_record(db_pool *pool, const svc_actor *a, long long id, db_drive_item *it,
                             svc_error *e);

/* drive_file_record() of a kind with channels (svc_drive_kind_viewable()),
 * else SVC_CONFLICT not_viewable (and "it" cleared). */
MT_MUSTCHECK
svc_status drive_viewable_record(db_pool *pool, const svc_actor *a, long long id,
                                 db_drive_item *it, svc_error *e);

/* ------------------------------------------- folders (svc_drive_folders.c) */

/* Inside a locked transaction: folder "parent_id" (0 = root) exists and has
 * room for one more entry. */
MT_MUSTCHECK
svc_status drive_check_parent(db_conn *c, const svc_actor *a, long long parent_id,
                              const char *field, svc_error *e);

/* A valid entry name, else SVC_INVALID invalid_name. */
MT_MUSTCHECK
svc_status drive_check_name(const char *name, svc_error *e);

/* ------------------------------------------------ listing (svc_drive_list.c) */

/* Compare with ASCII letters folded (the rule of name_key). */
int drive_fold_cmp(const char *a, const char *b);

/* The extension of "name" ("" when none) for sorting by kind. */
const char *drive_extension(const char *name);

/* ---------------------------------------------- channels (svc_drive_channels.c) */

/* Core refused the file: SVC_INVALID unreadable, with core's reason. */
svc_status drive_core_refused(svc_error *e, const mt_error *err);

#endif
