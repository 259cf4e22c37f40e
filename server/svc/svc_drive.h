/* Business rules of the drive (D1, D4-D6, P2, P24, L5): names, folders,
 * uploads streamed into the file store, the storage quota, kind detection,
 * the channel list of HOK/HOK2/HIOKI CSV files and retention.
 * docs/drive.md describes the behaviour; the rules in short:
 *
 * - A file's bytes live in PostgreSQL (db_files.h: a blob of chunk rows),
 *   where every server process reaches them; no user input ever becomes a
 *   path.
 * - Every change runs in one transaction that first locks the account row
 *   (db_account_lock()): two uploads cannot both take the last bytes of the
 *   quota, and two folder moves cannot build a cycle together. The file
 *   record, its bytes in account_storage.drive_bytes and its blob change
 *   together: an upload's chunks are stored as they arrive (a blob
 *   "writing"), and the transaction that inserts the record makes the blob
 *   ready; deleting the record deletes the blob in the same transaction.
 *   An upload that fails leaves nothing (its blob is discarded, or removed
 *   by the sweep of svc_drive_cleanup() when its server died).
 *
 * Failures are described in a svc_error (svc_apps.h); the HTTP layer turns it
 * into the JSON error. */
#ifndef MTS_SVC_DRIVE_H
#define MTS_SVC_DRIVE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_files.h"
#include "ingest_batch.h"
#include "svc_apps.h"

#define DRIVE_NAME_MAX 255     /* bytes of UTF-8 in a name */
#define DRIVE_MAX_DEPTH 16     /* folder levels below the root */
#define DRIVE_MAX_ENTRIES 10000 /* entries directly inside one folder */
#define DRIVE_CSV_OPEN_MAX (64LL * 1000 * 1000) /* largest CSV whose channels are read */

/* Whether "name" ("len" bytes, which may hold a NUL: then it is refused)
 * is a valid drive name: 1..255 bytes of UTF-8, no '/', '\\', control
 * characters (C0, DEL, C1), not "." or "..", no leading or trailing space.
 * On refusal *why (may be NULL) says why in English. */
bool svc_drive_name_valid(const char *name, size_t len, const char **why);

/* The kind of entry names used in the API: folder, dataset, hok, hok2,
 * hioki_csv, other. */
bool svc_drive_kind_viewable(const char *kind);

/* --------------------------------------------------------------- listing */

typedef enum { DRIVE_SORT_NAME = 0, DRIVE_SORT_DATE, DRIVE_SORT_SIZE, DRIVE_SORT_KIND } drive_sort;

/* Parse "name", "date", "size", "kind" (NULL or "" = name). -1 when unknown. */
int svc_drive_sort_from_name(const char *s);
const char *svc_drive_sort_name(drive_sort s);

/* The listing of folder "folder_id" (0 = root) as a JSON object:
 *   {folder: null | {...}, path: [{id, name}], sort, order,
 *    items: [folders..., datasets... (root only), files...],
 *    storage: {used, limit, drive_bytes, plan}}
 * each group sorted by "sort" ("desc": descending), ties by name then id.
 * Datasets are the measurement groups the actor may see (members: the
 * groups granted to them). SVC_NOT_FOUND for an unknown folder. On success
 * *out is set (caller frees with cJSON_Delete()). */
MT_MUSTCHECK
svc_status svc_drive_list(db_pool *pool, const svc_actor *a, long long folder_id, drive_sort sort,
                       bool desc, cJSON **out, svc_error *e);

/* The JSON of entry "id" (a folder when "folder"); SVC_NOT_FOUND. */
MT_MUSTCHECK
svc_status svc_drive_item(db_pool *pool, const svc_actor *a, long long id, bool folder,
                       cJSON **out, svc_error *e);

/* --------------------------------------------------------------- folders */

/* Create folder "name" in "parent_id" (0 = root). Errors: SVC_INVALID
 * invalid_name; SVC_NOT_FOUND (parent); SVC_CONFLICT name_taken, too_deep,
 * folder_full. */
MT_MUSTCHECK
svc_status svc_drive_folder_create(db_pool *pool, const svc_actor *a, long long parent_id,
                                const char *name, long long *id, svc_error *e);

/* Rename ("name" NULL = keep) and/or move ("set_parent": into "parent_id",
 * 0 = root) folder or file "id" ("folder" says which). Moving a folder into
 * itself or below itself is SVC_CONFLICT move_into_itself; a move that would
 * nest deeper than DRIVE_MAX_DEPTH is SVC_CONFLICT too_deep; other errors as
 * svc_drive_folder_create(). */
MT_MUSTCHECK
svc_status svc_drive_item_update(db_pool *pool, const svc_actor *a, long long id, bool folder,
                              const char *name, bool set_parent, long long parent_id,
                              svc_error *e);

/* Delete folder "id": refused with SVC_CONFLICT folder_not_empty when it
 * holds anything, unless "recursive" (then everything inside goes, and the
 * bytes of its files are freed). *n_files and *bytes (may be NULL) receive
 * what was deleted. */
MT_MUSTCHECK
svc_status svc_drive_folder_delete(db_pool *pool, const svc_actor *a, long long id,
                                   bool recursive, long long *n_files, long long *bytes,
                                   svc_error *e);

/* ----------------------------------------------------------------- files */

/* Delete file "id": the record, its bytes in the quota and its blob go in
 * one transaction. SVC_NOT_FOUND. */
MT_MUSTCHECK
svc_status svc_drive_file_delete(db_pool *pool, const svc_actor *a, long long id,
                                 long long *bytes, svc_error *e);

/* What a download of file "id" needs: its name, kind, SHA-256 and blob. */
typedef struct {
    db_file blob;
    char name[DRIVE_NAME_MAX + 1];
    char kind[16];
    char sha256[65];
} svc_drive_content;

/* File "id" for a download. SVC_NOT_FOUND when there is no such file, or
 * when its bytes are not in the store (still on the disk of the server
 * that had them before the store: moved at that server's next start). */
MT_MUSTCHECK
svc_status svc_drive_content_get(db_pool *pool, const svc_actor *a, long long id,
                                 svc_drive_content *out, svc_error *e);

/* Before an upload: check that folder "folder_id" (0 = root) exists and
 * "name" is valid and free there, and give the bytes still free in the
 * storage quota in *room (0 when none). Not locked: the final word is
 * svc_drive_upload_commit()'s. Errors as svc_drive_folder_create(). */
MT_MUSTCHECK
svc_status svc_drive_upload_check(db_pool *pool, const svc_actor *a, long long folder_id,
                               const char *name, long long *room, svc_error *e);

/* An upload in progress: its blob being written (db_files.h), the byte
 * count, the running SHA-256, the first bytes (for the kind) and, for a
 * HOK file, an unlinked local copy that core checks at the end. */
typedef struct {
    db_file_writer w;
    long long size;
    void *sha;            /* EVP_MD_CTX */
    char sha256_hex[65];  /* set by svc_drive_upload_finish() */
    char kind[16];        /* set by svc_drive_upload_finish() */
    unsigned char *head;  /* the first DRIVE_SNIFF_BYTES */
    size_t head_len;
    int spool_fd;         /* -1, or the local copy of a HOK upload */
    char tmp_dir[4096];   /* DATA/tmp */
    bool kept;            /* recorded: the blob is the file's (never discarded) */
} svc_drive_upload;

/* How many of an upload's first bytes decide its kind. */
#define DRIVE_SNIFF_BYTES (256 * 1024)

/* Start an upload for "account_id": a blob in the store ("data_dir" holds
 * the local copy of a HOK upload while core checks it). On failure nothing
 * is left behind. */
MT_MUSTCHECK
svc_status svc_drive_upload_begin(db_pool *pool, const char *data_dir, long long account_id,
                                  svc_drive_upload *u, svc_error *e);

/* Append "len" bytes (stored in the blob chunk by chunk as they fill). On
 * failure the upload must be aborted. */
MT_MUSTCHECK
svc_status svc_drive_upload_write(svc_drive_upload *u, const void *buf, size_t len, svc_error *e);

/* Store the last chunk, finish the SHA-256 and detect the kind: "hok" /
 * "hok2" (the HOK magic and a file core's mt_hok_open() accepts),
 * "hioki_csv" (a .csv/.txt name whose start core's mt_csv_read() parses),
 * else "other". "name" is the user's file name (for the extension). The
 * blob waits for svc_drive_upload_commit() or svc_drive_upload_abort(). */
MT_MUSTCHECK
svc_status svc_drive_upload_finish(svc_drive_upload *u, const char *name, svc_error *e);

/* Free "u" and, unless it was recorded (kept), discard its blob (safe to
 * call twice). */
void svc_drive_upload_abort(svc_drive_upload *u);

/* After the caller's transaction that ran svc_drive_upload_commit_tx()
 * committed: the blob is the file's now. */
void svc_drive_upload_keep(svc_drive_upload *u);

/* Record the finished upload "u" as file "name" in "folder_id", in one
 * transaction under the account lock: the folder must still exist, the
 * name be free (SVC_CONFLICT name_taken), the folder not full, and the
 * storage used plus u->size fit P2 on the actor's plan (SVC_PLAN_LIMIT, quota
 * MT_Q_STORAGE); then the row is inserted with the blob made ready and
 * drive_bytes grows by u->size. On success *id is set and the upload is
 * kept; either way call svc_drive_upload_abort() afterwards. */
MT_MUSTCHECK
svc_status svc_drive_upload_commit(db_pool *pool, const svc_actor *a, long long folder_id,
                                   const char *name, const char *content_type,
                                   svc_drive_upload *u, long long *id, svc_error *e);

/* svc_drive_upload_commit() inside the caller's transaction on "c", for
 * files the server makes itself (reports): the caller has locked the
 * account row (db_account_lock()); "plan" is the account's plan in force
 * and "user_id" the creator (0 = none: the system). Checks the name
 * (SVC_CONFLICT name_taken), the folder's room (folder_full) and P2
 * (SVC_PLAN_LIMIT), inserts the record with the blob made ready and counts
 * the bytes. Once the caller's transaction committed it calls
 * svc_drive_upload_keep(); otherwise svc_drive_upload_abort() discards the
 * blob. "folder_id" must exist. */
MT_MUSTCHECK
svc_status svc_drive_upload_commit_tx(db_conn *c, long long account_id, mt_plan plan,
                                      long long user_id, long long folder_id, const char *name,
                                      const char *content_type, svc_drive_upload *u,
                                      long long *id, svc_error *e);

/* The folder named "name" in "parent_id" (0 = root), created (by the
 * system) when there is none, inside the caller's transaction; when a file
 * holds the name, "name (2)" .. "name (9)". *id = the folder. */
MT_MUSTCHECK
svc_status svc_drive_folder_ensure_tx(db_conn *c, long long account_id, long long parent_id,
                                      const char *name, long long *id, svc_error *e);

/* The channels of HOK/HOK2/HIOKI CSV file "id", read by core, as JSON:
 *   {file_id, kind, rows, first, last, first_us, last_us, meta?,
 *    channels: [{index, name, unit, samples, ...}]}
 * "utc_offset_minutes" is passed to the CSV reader (instrument clock).
 * Errors: SVC_NOT_FOUND; SVC_CONFLICT not_viewable (another kind);
 * SVC_INVALID unreadable (core refused the file; message from core) or
 * too_large (a CSV over DRIVE_CSV_OPEN_MAX). */
MT_MUSTCHECK
svc_status svc_drive_channels(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                           int utc_offset_minutes, cJSON **out, svc_error *e);

/* The most channel mappings of one import. */
#define DRIVE_IMPORT_MAX 1000

/* P24: import a HOK/HOK2/CSV file as acquired data. "body" is
 * {"channels": [{"index": file channel (0-based), "channel_id": Metron
 * channel}], "utc_offset_minutes"?: instrument clock of a CSV}. The mapped
 * columns go into the hot table in one transaction (the compactor folds
 * them); each target must be a measured channel of the account the actor
 * may see (selection is not required: an import is not acquisition).
 * Re-importing replaces samples at equal times, so nothing is duplicated.
 * *out: {file_id, samples, channels}. Errors: SVC_PLAN_LIMIT below Pro (P24),
 * SVC_NOT_FOUND (file or a target channel), SVC_CONFLICT not_importable,
 * SVC_INVALID (mapping, times, unreadable file: core's message). */
MT_MUSTCHECK
svc_status svc_drive_import(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                         const cJSON *body, int64_t now_us, cJSON **out, svc_error *e);

/* R6 (alarm file checks, svc_alarm_eval.c): the columns "index[k]" of
 * HOK/HOK2/HIOKI CSV file "id" as records of channels "channel[k]" ("n_map"
 * mappings), sorted by channel then time, a later row winning at equal
 * times, "missing" skipped; the file's name into "name". *rec: caller
 * frees. Errors as svc_drive_import() (no P24: nothing is stored). */
MT_MUSTCHECK
svc_status svc_drive_read_columns(db_pool *pool, const svc_actor *a, const char *data_dir,
                                  long long id, const size_t *index, const int64_t *channel,
                                  size_t n_map, int utc_offset_minutes, ingest_rec **rec,
                                  size_t *n_rec, char *name, size_t name_cap, svc_error *e);

/* ----------------------------------------------------- retention, sweeps */

typedef struct {
    long long accounts;       /* accounts whose old files were deleted */
    long long files_deleted;  /* L5: files past their retention */
    long long bytes_freed;
    long long orphans_removed; /* blobs of uploads that never finished */
} svc_drive_cleanup_stats;

/* The drive's periodic job (safe to run at any time, from one thread):
 * 1. L5: on accounts whose plan in force at "now_us" is Free, delete the
 *    files created on a UTC date before core's retention cutoff
 *    (mt_licence_retention_cutoff(today)), freeing their bytes;
 * 2. the sweep of the file store: remove blobs of uploads (and exports,
 *    report files) that were never recorded — a client that went away, a
 *    server that died — once no chunk arrived for "grace_s" seconds (so an
 *    upload in progress is never touched).
 * Fills "stats". */
MT_MUSTCHECK
svc_status svc_drive_cleanup(db_pool *pool, int64_t now_us, int64_t grace_s,
                             svc_drive_cleanup_stats *stats, svc_error *e);
/* The grace period of the orphan sweep used by the periodic job. */
#define DRIVE_SWEEP_GRACE_S 3600

/* Test route only: set the account's acquired-data bytes (to bring an
 * account near its quota). SVC_NOT_FOUND for an unknown account. */
MT_MUSTCHECK
svc_status svc_drive_test_set_data_bytes(db_pool *pool, long long account_id, long long bytes,
                                      svc_error *e);

#endif
