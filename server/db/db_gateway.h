/* Storage of the gateway side of apps (docs/gateway.md): the instruments an
 * app reports, the channel table it reads, and the requests the server
 * makes of it (014_app_requests.sql). Prepared statements only; every
 * statement filters by account id. */
#ifndef MTS_DB_GATEWAY_H
#define MTS_DB_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A request not answered within this time counts as expired. */
#define DB_GW_REQUEST_TTL_S 600
/* Pending requests handed to an app in one reply. */
#define DB_GW_PENDING_MAX 32

/* The account's stored plan name ("pro") and licence expiry (Unix s; -1 =
 * none), for the effective plan of an app's account. */
db_status db_gw_account_plan(db_conn *c, long long account_id, char plan[16],
                             int64_t *licence_expires);

/* The device (model, serial) of app "app_id": *id and its firmware ("" when
 * not known) into "firmware" ("cap" bytes); *found false when none. */
db_status db_gw_device_find(db_conn *c, long long account_id, long long app_id,
                            const char *model, const char *serial, long long *id,
                            char *firmware, size_t cap, bool *found);

/* Set the device's firmware (and its name, when it has none yet). */
db_status db_gw_device_report(db_conn *c, long long account_id, long long device_id,
                              const char *firmware, const char *name);

/* Add the channels of "channels_json" (a JSON array [{"key", "name",
 * "unit"}]) that the device lacks, after its last position; of the new
 * ones, as many as keep the device's selection within "select_limit" are
 * selected for acquisition, in the array's order. *added new channels,
 * *selected of them selected. Existing channels are left as they are. */
db_status db_gw_channels_add(db_conn *c, long long account_id, long long device_id,
                             const char *channels_json, long long select_limit,
                             long long *added, long long *selected);

/* A new request of "kind" ("self_check", "firmware_upgrade" with
 * "device_id" and "firmware") for app "app_id" by user "user_id" (0 =
 * none): its id, or 0 when the app already has DB_GW_PENDING_MAX requests
 * pending. */
db_status db_gw_request_add(db_conn *c, long long account_id, long long app_id,
                            const char *kind, long long device_id, const char *firmware,
                            long long user_id, long long *id);

/* Request "id" of app "app_id" as JSON text (caller frees; NULL when there
 * is none): {id, app_id, kind, device_id, firmware, state ("pending",
 * "done", "failed", "expired"), ok, message, result, created_at,
 * answered_at}. */
db_status db_gw_request_json(db_conn *c, long long account_id, long long app_id, long long id,
                             char **json);

/* The app's last "limit" requests, newest first: {"items": [...]}. */
db_status db_gw_requests_json(db_conn *c, long long account_id, long long app_id, int limit,
                              char **json);

/* What the app has to do: {"live_until": µs | null, "requests": [{id, kind,
 * device_id?, firmware?}]} (pending, not expired, oldest first, at most
 * DB_GW_PENDING_MAX). */
db_status db_gw_pending_json(db_conn *c, long long account_id, long long app_id, char **json);

typedef enum {
    DB_GW_ANSWERED = 0,
    DB_GW_NO_REQUEST,   /* no such request of this app */
    DB_GW_ALREADY,      /* answered before */
    DB_GW_EXPIRED       /* not answered in time */
} db_gw_answer;

/* Record the app's answer to request "id": "ok", "message" and "result"
 * (JSON text of an object, or NULL). *outcome says what happened; only
 * DB_GW_ANSWERED changes the row. For a firmware upgrade answered ok the
 * device's firmware becomes the requested version in the same statement. */
db_status db_gw_request_answer(db_conn *c, long long account_id, long long app_id, long long id,
                               bool ok, const char *message, const char *result_json,
                               db_gw_answer *outcome);

/* Jobs: delete at most "limit" requests answered or expired more than 30
 * days before "now" (Unix s); *n deleted. */
db_status db_gw_requests_sweep(db_conn *c, int64_t now, int limit, long long *n);

#endif
