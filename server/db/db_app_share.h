/* Storage of what the gateway apps share through the cloud (K1-K4;
 * 072_app_share.sql, docs/app-share.md): the app files (battery profiles,
 * battery thresholds, photo-drawing templates), whose bytes are blobs of
 * the file store (db_files.h), and the equipment lists.
 *
 * Every statement filters on the account id it is given. Records leave as
 * JSON text built by PostgreSQL (the caller frees it); the bytes of a file
 * as its blob id. A unique violation (a name taken) is DB_CONFLICT. */
#ifndef MTS_DB_APP_SHARE_H
#define MTS_DB_APP_SHARE_H

#include <stdbool.h>

#include "db.h"

/* Who changes a record: a user (user_id) or an app (app_id); one is 0. */
typedef struct {
    long long user_id;
    long long app_id;
} db_share_by;

/* Bytes of an app's name with its NUL (apps.name: at most 100 characters,
 * each at most 4 bytes of UTF-8). */
#define DB_SHARE_APP_NAME (100 * 4 + 1)

/* App "app_id" of "account_id": its kind ("one", "cross", "lr8450-direct"),
 * measurement group (0 = none), and its account's stored plan (16 bytes)
 * and licence expiry (*has_expiry, *expiry_day: days since 1970, UTC): what
 * the plan in force needs, without db_account_get()'s counts; its "name"
 * (for the audit log). *found false when there is no such app. */
db_status db_share_app(db_conn *c, long long account_id, long long app_id, char kind[16],
                       long long *group_id, char plan[16], bool *has_expiry,
                       long long *expiry_day, char name[DB_SHARE_APP_NAME], bool *found);

/* Whether group "group_id" is one of the account's. */
db_status db_share_group_exists(db_conn *c, long long account_id, long long group_id,
                                bool *found);

/* ------------------------------------------------------------ app files */

/* "kind" is the stored kind ("battery_profile", "battery_threshold",
 * "photo_template"); "group_id" 0 for the two account-wide kinds. */

/* How many files of "kind" (in "group_id") the account holds. */
db_status db_share_file_count(db_conn *c, long long account_id, const char *kind,
                              long long group_id, long long *n);

/* The files of "kind" (in "group_id") as a JSON array, by name. */
db_status db_share_file_list(db_conn *c, long long account_id, const char *kind,
                             long long group_id, char **json);

/* File "id" of "kind": its JSON, its group (0 = none), its blob (0 when its
 * bytes are gone) and size. *found false when there is none of that kind. */
typedef struct {
    long long group_id;
    long long blob_id;
    long long size;
    char name[404];
    char content_type[104];
} db_share_file;
db_status db_share_file_get(db_conn *c, long long account_id, const char *kind, long long id,
                            db_share_file *out, bool *found);

/* The id of the file of "kind" named "name" (in "group_id"), locked for
 * the transaction; *found false when there is none. */
db_status db_share_file_by_name(db_conn *c, long long account_id, const char *kind,
                                long long group_id, const char *name, long long *id,
                                bool *found);

/* Record a new file (its blob ready in this transaction) into *id. */
db_status db_share_file_insert(db_conn *c, long long account_id, const char *kind,
                               long long group_id, const char *name, const char *content_type,
                               long long size, const char *sha256, long long blob_id,
                               db_share_by by, long long *id);

/* Give file "id" new bytes (its old blob is deleted by a trigger). */
db_status db_share_file_replace(db_conn *c, long long account_id, long long id,
                                const char *content_type, long long size, const char *sha256,
                                long long blob_id, db_share_by by);

/* One file's JSON (as in the list). NULL *json when there is none. */
db_status db_share_file_json(db_conn *c, long long account_id, long long id, char **json);

/* Delete file "id" of "kind" (its blob goes with it): *found, and *size the
 * bytes given back to the storage quota. */
db_status db_share_file_delete(db_conn *c, long long account_id, const char *kind, long long id,
                               bool *found, long long *size);

/* ------------------------------------------------------ equipment lists */

db_status db_equip_count(db_conn *c, long long account_id, long long *n);

/* The lists as a JSON array (with their item counts, not their items). */
db_status db_equip_list(db_conn *c, long long account_id, char **json);

/* List "id" with its items; NULL *json when there is none. */
db_status db_equip_json(db_conn *c, long long account_id, long long id, char **json);

/* Record a new list; "items" is the JSON array text the service checked. */
db_status db_equip_insert(db_conn *c, long long account_id, const char *name, const char *items,
                          db_share_by by, long long *id);

/* Change list "id": "name" and/or "items" (NULL = unchanged). */
db_status db_equip_update(db_conn *c, long long account_id, long long id, const char *name,
                          const char *items, db_share_by by, bool *found);

/* Delete list "id": *name its name (caller frees; NULL when there was none). */
db_status db_equip_delete(db_conn *c, long long account_id, long long id, char **name);

#endif
