/* Business rules of apps, devices and channels (G6, M4, I4): tenancy, the
 * quotas P3, P10, P11 and P12 (numbers from core's plan table, never copied
 * here), the supported-instrument list and app credentials.
 *
 * Every write runs in one transaction that first locks the account row
 * (db_apps_lock_account), then counts and inserts: two concurrent requests
 * can never both take the last slot of a quota. Failures are described in a
 * caller's svc_error, which the HTTP layer turns into a JSON error. Each change
 * writes its audit entry (audit.h) in its own transaction, before the
 * commit: the change and the entry are kept or lost together. */
#ifndef MTS_SVC_APPS_H
#define MTS_SVC_APPS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "svc_tx.h"
#include "db.h"
#include "mt/plan.h"
#include "reply_cache.h"
#include "svc.h"

/* ---------------------------------------------- supported instruments (I4) */

#define SVC_APP_ONE 1u    /* = INSTR_APP_ONE (instruments.h, the one table) */
#define SVC_APP_CROSS 2u
#define SVC_APP_DIRECT 4u

/* One model of the specification's supported-instrument table: the app
 * kinds it works with and the minimum firmware for monitoring through a
 * One/Cross app and through the LR8450 direct connection (NULL = n/a). */
typedef struct {
    const char *model;
    unsigned apps;
    const char *min_firmware;
    const char *min_firmware_direct;
    bool console;
} svc_model;

/* The whole table (static) and its length. */
const svc_model *svc_models(size_t *n);

/* The model named exactly "name", or NULL. */
const svc_model *svc_model_find(const char *name);

/* The SVC_APP_* bit of app kind "kind" (0 when unknown). */
unsigned svc_app_kind_bit(const char *kind);

/* Whether "fw" is a firmware version ("", "1.50", "V2.20"). */
bool svc_firmware_valid(const char *fw);

/* Compare versions "a" and "b" numerically (a leading V is ignored):
 * <0, 0, >0. */
int svc_firmware_cmp(const char *a, const char *b);

/* ------------------------------------------------------------------ apps */

/* A fresh credential: "mta_" + 43 base64url characters (256 random bits). */
#define SVC_CREDENTIAL_CAP 64

/* Register an app (P3; kind lr8450-direct also needs P11 on the plan).
 * "group_id" 0 = none. On success *id and "credential" (the only time it is
 * ever visible; only its SHA-256 is stored). */
MT_MUSTCHECK
svc_status svc_app_create(db_pool *pool, const svc_actor *a, const char *kind,
                        const char *name, long long group_id, long long *id,
                        char credential[SVC_CREDENTIAL_CAP], svc_error *e);

/* Change name (NULL = keep), enabled (-1 = keep), group (set_group; 0 = none). */
MT_MUSTCHECK
svc_status svc_app_update(db_pool *pool, const svc_actor *a, long long app_id, const char *name,
                        int enabled, bool set_group, long long group_id, svc_error *e);

/* Delete an app with its devices and channels. */
MT_MUSTCHECK
svc_status svc_app_delete(db_pool *pool, const svc_actor *a, long long app_id, svc_error *e);

/* Replace the app's credential; the old one stops working at once. */
MT_MUSTCHECK
svc_status svc_app_regenerate(db_pool *pool, const svc_actor *a, long long app_id,
                            char credential[SVC_CREDENTIAL_CAP], svc_error *e);

/* Identify the app holding "credential" (for the ingestion API). SVC_OK
 * with *account_id and *app_id; SVC_NOT_FOUND for an unknown credential;
 * SVC_FORBIDDEN for a disabled app. */
MT_MUSTCHECK
svc_status svc_app_authenticate(db_pool *pool, const char *credential, long long *account_id,
                              long long *app_id, svc_error *e);

/* --------------------------------------------------------------- devices */

/* Create a device under app "app_id" inside the caller's transaction on "c"
 * (the ingestion path uses this too): locks the account row, checks the
 * model against the app kind, P12 for One/Cross apps (an LR8450 direct app
 * is one instrument), then inserts. "firmware" and "name" may be "". */
MT_MUSTCHECK
svc_status svc_device_create_in(db_conn *c, long long account_id, mt_plan plan, long long app_id,
                              const char *model, const char *serial, const char *firmware,
                              const char *name, long long *id, svc_error *e);

/* The same in a transaction of its own. */
MT_MUSTCHECK
svc_status svc_device_create(db_pool *pool, const svc_actor *a, long long app_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, long long *id, svc_error *e);

/* Edit a device: NULL fields are kept. */
MT_MUSTCHECK
svc_status svc_device_update(db_pool *pool, const svc_actor *a, long long device_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, svc_error *e);

MT_MUSTCHECK
svc_status svc_device_delete(db_pool *pool, const svc_actor *a, long long device_id, svc_error *e);

/* -------------------------------------------------------------- channels */

/* Whether "key" is a channel key ("CH1_1": letters, digits, _ . -, 1..32). */
bool svc_channel_key_valid(const char *key);

/* "decimals": how many decimals its values are shown with, 0..9, or -1
 * automatic (the update changes it only when "set_decimals"). */
MT_MUSTCHECK
svc_status svc_channel_create(db_pool *pool, const svc_actor *a, long long device_id,
                            const char *key, const char *name, const char *unit, int decimals,
                            long long *id, svc_error *e);

MT_MUSTCHECK
svc_status svc_channel_update(db_pool *pool, const svc_actor *a, long long channel_id,
                            const char *name, const char *unit, bool set_decimals, int decimals,
                            svc_error *e);

MT_MUSTCHECK
svc_status svc_channel_delete(db_pool *pool, const svc_actor *a, long long channel_id,
                            svc_error *e);

/* The largest selection accepted in one request (above every plan's limit). */
#define SVC_SELECTION_MAX 5000

/* Make exactly the "n" channels "ids" the acquisition selection of the
 * device, all or nothing: every id must be a distinct channel of this
 * device (SVC_NOT_FOUND, field channel_ids), and a selection that adds a
 * channel must fit P10 (One/Cross apps) or P11 (LR8450 direct) for "plan"
 * (SVC_PLAN_LIMIT). Shrinking an over-quota selection (after a downgrade) is
 * always allowed. */
MT_MUSTCHECK
svc_status svc_selection_set(db_pool *pool, const svc_actor *a,
                           long long device_id, const long long *ids, int n, svc_error *e);

/* ----------------------------------------------- reads (svc_apps_read.c)
 *
 * What actor "a" may see, as the API shows it (docs/api/admin-b.md): a
 * member sees the apps of the measurement groups granted to them (directly
 * or through a team) and their devices and channels, an administrator the
 * whole account. On success *out is the JSON (caller owns); on failure
 * *out is NULL and "e" says why: SVC_NOT_FOUND ("no such app", "no such
 * device", "no such channel") for what does not exist or is not visible,
 * SVC_DB, SVC_NOMEM. */

/* {"items": [app, ...]} by id. */
MT_MUSTCHECK
svc_status svc_apps_list(const svc_actor *a, cJSON **out, svc_error *e);

/* App "app_id"; "as_admin": as an administrator sees it (after a change by
 * one, whatever the groups). */
MT_MUSTCHECK
svc_status svc_app_get(const svc_actor *a, long long app_id, bool as_admin, cJSON **out,
                       svc_error *e);

/* {"items": [device, ...]} of app "app_id" (0 = of every visible app; a
 * named app must be visible) as JSON text in *out (written straight into
 * one buffer, issue 16; the list of every app's devices may be the
 * remembered one itself, not a copy): the caller frees it with
 * reply_body_text_free(), also after a failure. A device shows the selection
 * limit of the actor's plan and what the supported-instrument table (I4)
 * allows it. */
MT_MUSTCHECK
svc_status svc_devices_list(const svc_actor *a, long long app_id, reply_body_text *out,
                            svc_error *e);

MT_MUSTCHECK
svc_status svc_device_get(const svc_actor *a, long long device_id, cJSON **out, svc_error *e);

/* {"items": [channel, ...], "selected_count", "selection_limit"} of device
 * "device_id". */
MT_MUSTCHECK
svc_status svc_channels_list(const svc_actor *a, long long device_id, cJSON **out, svc_error *e);

MT_MUSTCHECK
svc_status svc_channel_get(const svc_actor *a, long long channel_id, cJSON **out, svc_error *e);

#endif
