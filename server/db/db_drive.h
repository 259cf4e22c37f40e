/* Storage of the drive (D1, D4-D6): folders and file records in
 * drive_items (005_drive.sql), the acquired-data sets listed beside them,
 * and what the L5 retention job and the orphan sweep need.
 *
 * libpq only, prepared statements with parameters; every statement of a
 * tenant filters on the account id it is given (the retention and sweep
 * statements, which serve every account, say so). Rows are mapped with
 * db_rows_map() (db_apps.h): strings are heap copies, times ISO 8601 UTC.
 * Folder ids of 0 mean the drive root. */
#ifndef MTS_DB_DRIVE_H
#define MTS_DB_DRIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* One entry of a folder: a folder, a file, or (root only) an acquired-data
 * set (a measurement group). */
typedef struct {
    long long id;
    long long parent_id;  /* 0 = the root */
    bool is_folder;
    bool is_dataset;      /* a measurement group (db_drive_datasets()) */
    char *name;
    long long size;       /* files: bytes; datasets: channel count; folders: 0 */
    char *kind;           /* folder, dataset, hok, hok2, hioki_csv, other */
    char *content_type;   /* files: the media type given at upload */
    char *sha256;         /* files: hex; NULL otherwise */
    long long created_by; /* files and folders: the user; 0 = unknown / deleted */
    char *created_at;
    char *updated_at;
    long long n_children; /* folders: direct entries */
    long long blob_id;    /* files: the bytes (db_files.h); 0 = still on a server's disk */
} db_drive_item;

/* Free "n" items made by the functions below ("rows" may be NULL), or the
 * strings of one item. */
void db_drive_items_free(db_drive_item *rows, int n);
void db_drive_item_clear(db_drive_item *row);

/* The folder or file "id" of the account into *out (*found false when
 * absent, also when "folder" says the other kind). Free with
 * db_drive_item_clear(). */
db_status db_drive_item_get(db_conn *c, long long account_id, long long id, bool folder,
                            db_drive_item *out, bool *found);

/* Folders and files directly inside "parent_id" (0 = root), unsorted. */
db_status db_drive_list(db_conn *c, long long account_id, long long parent_id,
                        db_drive_item **out, int *n);

/* The acquired-data sets the viewer may see: the measurement groups of the
 * account ("member_user_id" 0 = an administrator, all of them; else only
 * the groups granted to that user directly or through a team), with their
 * acquired channel count in "size" (selected measured channels of the
 * group's apps plus its computed channels). */
db_status db_drive_datasets(db_conn *c, long long account_id, long long member_user_id,
                            db_drive_item **out, int *n);

/* The folders from the root down to "folder_id" included (id, parent_id
 * and name only), root-most first, into *out / *n. */
db_status db_drive_path(db_conn *c, long long account_id, long long folder_id,
                        db_drive_item **out, int *n);

/* The depth of folder "folder_id": 1 for a folder in the root (0 for the
 * root itself, "folder_id" 0). */
db_status db_drive_depth(db_conn *c, long long account_id, long long folder_id, int *depth);

/* The levels of the folder tree under and including "folder_id" (1 for a
 * folder without subfolders). */
db_status db_drive_height(db_conn *c, long long account_id, long long folder_id, int *height);

/* Whether "ancestor" is "folder_id" itself or one of its ancestors. */
db_status db_drive_is_within(db_conn *c, long long account_id, long long ancestor,
                             long long folder_id, bool *within);

/* Entries directly inside "parent_id" (0 = root). */
db_status db_drive_count_children(db_conn *c, long long account_id, long long parent_id,
                                  long long *n);

/* Whether a name equal to "name" (ASCII case folded) is used in
 * "parent_id" by another entry than "except_id" (0 = none). */
db_status db_drive_name_taken(db_conn *c, long long account_id, long long parent_id,
                              const char *name, long long except_id, bool *taken);

/* The entry named "name" (ASCII case folded) in "parent_id" (0 = root):
 * *id (0 when none) and whether it is a folder. */
db_status db_drive_find_name(db_conn *c, long long account_id, long long parent_id,
                             const char *name, long long *id, bool *is_folder);

/* Insert a folder. DB_CONFLICT when the name is taken in "parent_id". */
db_status db_drive_folder_insert(db_conn *c, long long account_id, long long parent_id,
                                 const char *name, long long user_id, long long *id);

/* Insert a file record whose bytes are blob "blob_id" (db_files.h, made
 * ready in the same transaction). "sha256_hex" is 64 hex digits.
 * DB_CONFLICT when the name is taken. */
db_status db_drive_file_insert(db_conn *c, long long account_id, long long parent_id,
                               const char *name, long long size, const char *kind,
                               const char *content_type, const char *sha256_hex,
                               long long user_id, long long blob_id, long long *id);

/* Rename ("name" NULL = keep) and/or move ("set_parent": to "parent_id",
 * 0 = root) entry "id". *found false when absent. DB_CONFLICT on a clash. */
db_status db_drive_item_update(db_conn *c, long long account_id, long long id,
                               const char *name, bool set_parent, long long parent_id,
                               bool *found);

/* Delete entry "id" (a folder takes everything inside with it). */
db_status db_drive_item_delete(db_conn *c, long long account_id, long long id, bool *found);

/* The files inside folder "folder_id", at any depth: their ids (malloc'd
 * array into *ids, caller frees; NULL when none), count and total bytes. */
db_status db_drive_subtree_files(db_conn *c, long long account_id, long long folder_id,
                                 long long **ids, int *n, long long *bytes);

/* The account's file bytes as counted (account_storage.drive_bytes). */
db_status db_drive_bytes(db_conn *c, long long account_id, long long *bytes);

/* -------------------------------------------------- retention and sweeps */

/* Accounts (every account: a system job) that have files created before
 * "cutoff" (timestamptz text): ids, stored plan names and licence expiry
 * dates ('YYYY-MM-DD' or NULL) in parallel malloc'd arrays. Free with
 * db_drive_accounts_free(). */
typedef struct {
    long long id;
    char *plan;
    char *expiry;
} db_drive_account;

db_status db_drive_retention_accounts(db_conn *c, const char *cutoff, db_drive_account **out,
                                      int *n);
void db_drive_accounts_free(db_drive_account *rows, int n);

/* Delete the account's files created before "cutoff": their ids into *ids
 * (caller frees), count and total bytes. */
db_status db_drive_delete_old_files(db_conn *c, long long account_id, const char *cutoff,
                                    long long **ids, int *n, long long *bytes);

/* Whether the account exists. */
db_status db_drive_account_exists(db_conn *c, long long account_id, bool *exists);

/* Test route only: set the account's acquired-data bytes. */
db_status db_drive_test_set_data_bytes(db_conn *c, long long account_id, long long bytes);

#endif
