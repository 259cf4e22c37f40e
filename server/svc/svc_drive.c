/* The drive (svc_drive.h; docs/drive.md): names, and what its files share
 * (svc_drive_internal.h): transactions under the account lock, the plan's
 * storage limit, a file's record and its bytes from the store. The rest:
 * listing (svc_drive_list.c), folders (svc_drive_folders.c), files and
 * uploads (svc_drive_files.c), a file's channels (svc_drive_channels.c),
 * imports (svc_drive_import.c), retention and sweeps
 * (svc_drive_retention.c). */
#define _DEFAULT_SOURCE
#include "svc_drive.h"

#include <string.h>

#include "db_account.h"
#include "db_drive.h"
#include "log.h"
#include "svc_drive_internal.h"
#include "utf8.h"

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

/* ------------------------------------------------ transactions, the plan */

/* Acquire a connection, begin, and lock the account row. */
svc_status drive_tx_lock(db_pool *pool, long long account_id, db_conn **c, svc_error *e)
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
svc_status drive_tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e)
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

/* The P2 limit of "plan" in bytes (from core's table). */
long long drive_storage_limit(mt_plan plan)
{
    mt_plan_entry entry;
    mt_error err;
    if (mt_plan_get(plan, MT_Q_STORAGE, &entry, &err) != MT_OK || !entry.available) {
        return 0;
    }
    return (long long)entry.limit;
}

/* ------------------------------------------------------------ the store */

/* The ready blob of drive item "it" into *f: SVC_NOT_FOUND (logged) when
 * its bytes are not in the store. */
svc_status drive_item_blob(db_pool *pool, long long account_id, const db_drive_item *it, db_file *f,
                           svc_error *e)
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

/* Map the whole of drive item "it" (a copy in DATA/tmp). */
svc_status drive_map_item(db_pool *pool, const char *data_dir, long long account_id,
                          const db_drive_item *it, file_map *m, svc_error *e)
{
    db_file f;
    svc_status rc;
    m->fd = -1;
    m->data = NULL;
    m->len = 0;
    if ((rc = drive_item_blob(pool, account_id, it, &f, e)) != SVC_OK) {
        return rc;
    }
    return svc_file_map_open(pool, data_dir, &f, m, e);
}

void drive_map_close(file_map *m)
{
    svc_file_map_close(m);
}

/* The file record "id" (any kind) of the account. */
svc_status drive_file_record(db_pool *pool, const svc_actor *a, long long id, db_drive_item *it,
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

svc_status drive_viewable_record(db_pool *pool, const svc_actor *a, long long id,
                                 db_drive_item *it, svc_error *e)
{
    svc_status rc = drive_file_record(pool, a, id, it, e);
    if (rc == SVC_OK && !svc_drive_kind_viewable(it->kind)) {
        rc = svc_fail(e, SVC_CONFLICT, "not_viewable", NULL,
                      "only HOK, HOK2 and HIOKI CSV files have channels (this file is '%s')",
                      it->kind ? it->kind : "other");
        db_drive_item_clear(it);
    }
    return rc;
}
