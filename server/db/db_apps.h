/* Storage of apps, devices and channels (G6, M4), plus the small row mapper
 * (the row mapper they use is db_rows.h).
 *
 * Every function takes a connection the caller acquired (so the svc layer can
 * hold a transaction across calls) and the signed-in "account_id": every
 * statement filters by it, so an id of another account is simply not found.
 * "viewer" is the user whose visibility applies: 0 = an administrator (every
 * app of the account), otherwise a member, who sees only the apps of the
 * measurement groups they may view (group_user_access, or group_team_access
 * through a team), and the devices and channels of those apps.
 *
 * Rows come back as plain structs whose strings are heap copies; free lists
 * with the matching *_free() function. Times are ISO 8601 UTC strings
 * ("2025-01-10T09:30:00.000Z"); NULL string = SQL NULL. */
#ifndef MTS_DB_APPS_H
#define MTS_DB_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_rows.h"

/* Lock the account row (SELECT ... FOR UPDATE) inside the caller's
 * transaction: quota checks count and insert under this lock, so two
 * concurrent creations cannot both take the last slot. */
db_status db_apps_lock_account(db_conn *c, long long account_id);

/* ------------------------------------------------------------------ apps */

typedef struct {
    long long id;
    long long group_id;        /* 0 = none */
    char *kind;                /* one, cross, lr8450-direct */
    char *name;
    bool enabled;
    char *credential_prefix;   /* the non-secret start of the credential */
    char *credential_set_at;
    char *last_seen_at;        /* NULL = never */
    char *last_seen_ip;
    char *created_at;
    char *updated_at;
    long long device_count;
    /* S6 (docs/alarms.md): the connection as the server sees it. */
    bool connected;
    char *connected_at;        /* NULL = never */
    char *disconnected_at;     /* NULL = never */
    char *connection_cause;    /* data, app, timeout, mqtt; NULL = never connected */
    long long disconnect_after_s; /* no batch for this long = disconnected */
} db_app;

/* Every app of the account visible to "viewer", by id. */
db_status db_app_list(db_conn *c, long long account_id, long long viewer, db_app **out, int *n);

/* One app: DB_OK with *found. */
db_status db_app_get(db_conn *c, long long account_id, long long viewer, long long app_id,
                     db_app *out, bool *found);

void db_app_free(db_app *rows, int n);

/* Free the strings of one row filled by a *_get() (zeroed rows are fine). */
void db_app_clear(db_app *row);

/* How many apps the account has. */
db_status db_app_count(db_conn *c, long long account_id, long long *out);

/* Whether measurement group "group_id" belongs to the account. */
db_status db_group_exists(db_conn *c, long long account_id, long long group_id, bool *found);

/* Insert an app; "cred_hash_hex" is the SHA-256 of the credential in hex. */
db_status db_app_insert(db_conn *c, long long account_id, long long group_id, const char *kind,
                        const char *name, const char *cred_hash_hex, const char *cred_prefix,
                        long long *id);

/* Change name (NULL = keep), enabled (-1 = keep) and group (set_group: to
 * "group_id", 0 = none). *found false when the app is not the account's. */
db_status db_app_update(db_conn *c, long long account_id, long long app_id, const char *name,
                        int enabled, bool set_group, long long group_id, bool *found);

db_status db_app_delete(db_conn *c, long long account_id, long long app_id, bool *found);

/* Replace the app's credential (hash in hex and prefix). */
db_status db_app_set_credential(db_conn *c, long long account_id, long long app_id,
                                const char *cred_hash_hex, const char *cred_prefix, bool *found);

/* The app holding the credential whose SHA-256 is "cred_hash_hex". Not a
 * tenant query: the credential is what identifies the tenant (ingestion).
 * *found false when no app has it. */
db_status db_app_by_credential(db_conn *c, const char *cred_hash_hex, long long *account_id,
                               long long *app_id, bool *enabled, bool *found);

/* The kind of app "app_id" of the account ("kind" of at least 16 bytes). */
db_status db_app_kind(db_conn *c, long long account_id, long long app_id, char *kind,
                      size_t kind_cap, bool *found);

/* --------------------------------------------------------------- devices */

typedef struct {
    long long id;
    long long app_id;
    char *app_kind;
    char *model;
    char *serial;
    char *firmware;
    char *name;
    long long created_us; /* µs since the Unix epoch (the API writes ISO 8601) */
    long long updated_us;
    long long channel_count;
    long long selected_count;
} db_device;

/* Devices of the account visible to "viewer"; app_id 0 = of every app. */
db_status db_device_list(db_conn *c, long long account_id, long long viewer, long long app_id,
                         db_device **out, int *n);

db_status db_device_get(db_conn *c, long long account_id, long long viewer, long long device_id,
                        db_device *out, bool *found);

void db_device_free(db_device *rows, int n);
void db_device_clear(db_device *row);

/* How many devices app "app_id" has. */
db_status db_device_count(db_conn *c, long long account_id, long long app_id, long long *out);

db_status db_device_insert(db_conn *c, long long account_id, long long app_id, const char *model,
                           const char *serial, const char *firmware, const char *name,
                           long long *id);

/* Set every editable field (the caller merged the old values in). */
db_status db_device_update(db_conn *c, long long account_id, long long device_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, bool *found);

db_status db_device_delete(db_conn *c, long long account_id, long long device_id, bool *found);

/* -------------------------------------------------------------- channels */

typedef struct {
    long long id;
    long long device_id;
    char *key;
    char *name;
    char *unit;
    bool selected;
    long long position;
    long long decimals; /* how many decimals values are shown with; -1 automatic */
    char *created_at;
    char *updated_at;
} db_channel;

db_status db_channel_list(db_conn *c, long long account_id, long long viewer,
                          long long device_id, db_channel **out, int *n);

db_status db_channel_get(db_conn *c, long long account_id, long long viewer,
                         long long channel_id, db_channel *out, bool *found);

void db_channel_free(db_channel *rows, int n);
void db_channel_clear(db_channel *row);

db_status db_channel_insert(db_conn *c, long long account_id, long long device_id,
                            const char *key, const char *name, const char *unit, int decimals,
                            long long *id);

/* Change name and/or unit (NULL = keep), and the decimals when
 * "set_decimals" ("decimals" -1 = automatic). */
db_status db_channel_update(db_conn *c, long long account_id, long long channel_id,
                            const char *name, const char *unit, bool set_decimals, int decimals,
                            bool *found);

db_status db_channel_delete(db_conn *c, long long account_id, long long channel_id, bool *found);

/* For the selection of the "n" distinct channel ids "ids": how many of
 * them are channels of the device (*on_device) and how many of those are
 * not selected now (*added). */
db_status db_selection_inspect(db_conn *c, long long account_id, long long device_id,
                               const int64_t *ids, size_t n, long long *on_device,
                               long long *added);

/* Make exactly the "n" channels "ids" the selected channels of the device. */
db_status db_selection_apply(db_conn *c, long long account_id, long long device_id,
                             const int64_t *ids, size_t n);

#endif
