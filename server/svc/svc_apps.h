/* Business rules of apps, devices and channels (G6, M4, I4): tenancy, the
 * quotas P3, P10, P11 and P12 (numbers from core's plan table, never copied
 * here), the supported-instrument list and app credentials.
 *
 * Every write runs in one transaction that first locks the account row
 * (db_apps_lock_account), then counts and inserts: two concurrent requests
 * can never both take the last slot of a quota. Failures are described in a
 * caller's svc_err, which the HTTP layer turns into a JSON error. Each change
 * writes its audit entry (audit.h) in its own transaction, before the
 * commit: the change and the entry are kept or lost together. */
#ifndef MTS_SVC_APPS_H
#define MTS_SVC_APPS_H

#include <stdbool.h>
#include <stddef.h>

#include "audit.h"
#include "db.h"
#include "mt/plan.h"
#include "svc.h"

typedef enum {
    SV_OK = 0,
    SV_INVALID = -1,   /* 400: bad input ("err_code", "field") */
    SV_NOT_FOUND = -2, /* 404: no such entity in this account */
    SV_LIMIT = -3,     /* 403 plan_limit ("quota", "plan") */
    SV_CONFLICT = -4,  /* 409 ("err_code") */
    SV_FORBIDDEN = -5, /* 403 forbidden: the role may not do this */
    SV_DB = -6         /* the database failed ("db") */
} sv_code;

typedef struct {
    sv_code code;
    db_status db;         /* SV_DB */
    const char *err_code; /* SV_INVALID / SV_CONFLICT: "invalid_value", "unsupported_model"... */
    const char *field;    /* the input at fault, or NULL */
    mt_quota quota;       /* SV_LIMIT */
    mt_plan plan;         /* SV_LIMIT */
    char msg[200];
} svc_err;

/* Who acts (svc.h). */
typedef svc_actor sv_actor;

/* The actor "a" as the audit log names it. */
audit_who sv_who(const sv_actor *a);

/* Fill "e" and return its code (printf-style message). */
sv_code sv_fail(svc_err *e, sv_code code, const char *err_code, const char *field,
                  const char *fmt, ...) MT_PRINTF(5, 6);

/* Fill "e" from a failed database call: SV_DB, or SV_CONFLICT for a
 * unique violation (with "conflict_msg"). */
sv_code sv_fail_db(svc_err *e, db_status st, const char *conflict_msg);

/* A write of the svc layer: take a connection and begin (SV_OK, or SV_DB in
 * "e" with *c NULL when none could be had) ... */
sv_code sv_tx_begin(db_pool *pool, db_conn **c, svc_err *e);

/* ... and end it: commit on SV_OK (a failing commit becomes the result,
 * DB_CONFLICT as SV_CONFLICT with "conflict_msg" when not NULL), otherwise
 * roll back; the connection is released. Returns the final code. */
sv_code sv_tx_end(db_pool *pool, db_conn *c, sv_code rc, svc_err *e, const char *conflict_msg);

/* Inside a function with "sv_code rc", "svc_err *e" and an "out:" label:
 * run the db_* call "expr"; on failure fill "e" (sv_fail_db() with
 * "conflict_msg") and go to out. */
#define SV_TRY_DB(expr, conflict_msg)                                                        \
    do {                                                                                     \
        db_status st_ = (expr);                                                              \
        if (st_ != DB_OK) {                                                                  \
            rc = sv_fail_db(e, st_, conflict_msg);                                           \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* The db_* deletion of one row by id (*found false when the account has
 * none). */
typedef db_status (*sv_delete_fn)(db_conn *c, long long account_id, long long id, bool *found);

/* Delete row "id" with "del" in a transaction of its own, audited as
 * "<type>.delete" on target "type"/"id"; SV_NOT_FOUND ("no such <what>")
 * when there is no such row. */
sv_code sv_delete_one(db_pool *pool, const sv_actor *a, sv_delete_fn del, long long id,
                      const char *type, const char *what, svc_err *e);

/* Check that "count_after_change" objects fit quota "q" on "plan" (core's
 * mt_plan_check). SV_OK, or SV_LIMIT with core's message in "e". */
sv_code sv_quota_check(svc_err *e, mt_plan plan, mt_quota q, long long count_after_change);

/* Check feature "q" at level "need" on "plan" (core's mt_plan_require). */
sv_code sv_feature_check(svc_err *e, mt_plan plan, mt_quota q, mt_access need);

/* ---------------------------------------------- supported instruments (I4) */

#define SVC_APP_ONE 1u
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
sv_code svc_app_create(db_pool *pool, const sv_actor *a, const char *kind,
                        const char *name, long long group_id, long long *id,
                        char credential[SVC_CREDENTIAL_CAP], svc_err *e);

/* Change name (NULL = keep), enabled (-1 = keep), group (set_group; 0 = none). */
sv_code svc_app_update(db_pool *pool, const sv_actor *a, long long app_id, const char *name,
                        int enabled, bool set_group, long long group_id, svc_err *e);

/* Delete an app with its devices and channels. */
sv_code svc_app_delete(db_pool *pool, const sv_actor *a, long long app_id, svc_err *e);

/* Replace the app's credential; the old one stops working at once. */
sv_code svc_app_regenerate(db_pool *pool, const sv_actor *a, long long app_id,
                            char credential[SVC_CREDENTIAL_CAP], svc_err *e);

/* Identify the app holding "credential" (for the ingestion API). SV_OK
 * with *account_id and *app_id; SV_NOT_FOUND for an unknown credential;
 * SV_FORBIDDEN for a disabled app. */
sv_code svc_app_authenticate(db_pool *pool, const char *credential, long long *account_id,
                              long long *app_id, svc_err *e);

/* --------------------------------------------------------------- devices */

/* Create a device under app "app_id" inside the caller's transaction on "c"
 * (the ingestion path uses this too): locks the account row, checks the
 * model against the app kind, P12 for One/Cross apps (an LR8450 direct app
 * is one instrument), then inserts. "firmware" and "name" may be "". */
sv_code svc_device_create_in(db_conn *c, long long account_id, mt_plan plan, long long app_id,
                              const char *model, const char *serial, const char *firmware,
                              const char *name, long long *id, svc_err *e);

/* The same in a transaction of its own. */
sv_code svc_device_create(db_pool *pool, const sv_actor *a, long long app_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, long long *id, svc_err *e);

/* Edit a device: NULL fields are kept. */
sv_code svc_device_update(db_pool *pool, const sv_actor *a, long long device_id,
                           const char *model, const char *serial, const char *firmware,
                           const char *name, svc_err *e);

sv_code svc_device_delete(db_pool *pool, const sv_actor *a, long long device_id, svc_err *e);

/* -------------------------------------------------------------- channels */

/* Whether "key" is a channel key ("CH1_1": letters, digits, _ . -, 1..32). */
bool svc_channel_key_valid(const char *key);

sv_code svc_channel_create(db_pool *pool, const sv_actor *a, long long device_id,
                            const char *key, const char *name, const char *unit, long long *id,
                            svc_err *e);

sv_code svc_channel_update(db_pool *pool, const sv_actor *a, long long channel_id,
                            const char *name, const char *unit, svc_err *e);

sv_code svc_channel_delete(db_pool *pool, const sv_actor *a, long long channel_id,
                            svc_err *e);

/* The largest selection accepted in one request (above every plan's limit). */
#define SVC_SELECTION_MAX 5000

/* Make exactly the "n" channels "ids" the acquisition selection of the
 * device, all or nothing: every id must be a distinct channel of this
 * device (SV_NOT_FOUND, field channel_ids), and a selection that adds a
 * channel must fit P10 (One/Cross apps) or P11 (LR8450 direct) for "plan"
 * (SV_LIMIT). Shrinking an over-quota selection (after a downgrade) is
 * always allowed. */
sv_code svc_selection_set(db_pool *pool, const sv_actor *a,
                           long long device_id, const long long *ids, int n, svc_err *e);

#endif
