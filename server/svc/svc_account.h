/* Accounts, plans and trials (FEATURES L2, L4, L7, P): the business rules of
 * the administration API, part A. Quotas and licence rules come from core
 * (mt/plan.h, mt/licence.h); this file keeps no numbers of its own.
 *
 * Every function works for one signed-in actor (svc_actor) and touches only
 * that actor's account: every statement filters on actor->account_id, and
 * an id of another account is "not found". A function that adds to a
 * counted quota locks the account row first (db_account_lock) and counts
 * and inserts in the same transaction, so that parallel requests cannot
 * pass a limit together. Administrative changes write their audit entry in
 * the same transaction (svc_audit), so the two are kept or lost together.
 *
 * Results come back in an svc_result: kind SVC_OK with "obj" (a cJSON value
 * the caller owns), or an error kind with the code/field/message that the
 * HTTP layer turns into a JSON error (http_admin_args.h: admin_reply). */
#ifndef MTS_SVC_ACCOUNT_H
#define MTS_SVC_ACCOUNT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "db_account.h"
#include "mt/plan.h"
#include "srv.h"
#include "svc.h"

/* A result: err.status SVC_OK with "obj" (a cJSON value the caller owns;
 * may be NULL), or the failure in "err" (svc.h). */
typedef struct {
    svc_error err;
    cJSON *obj;
} svc_result;

/* Fill "r" as an error and return -1 (helpers for svc_*.c). */
int svc_result_fail(svc_result *r, svc_status st, const char *code, const char *field,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int svc_result_fail_db(svc_result *r, db_status st);
int svc_result_fail_limit(svc_result *r, mt_plan plan, mt_quota q, const char *msg);

/* Write the audit entry (A9) of the change "a" made on "c", inside the
 * change's transaction (audit_write()): "action" ('user.create'), the
 * target's type and id (0 = none), "detail_json" a JSON object text or
 * NULL. Returns the database status: on failure the change fails too. */
db_status svc_audit(db_conn *c, const svc_actor *a, const char *action,
                    const char *target_type, long long target_id, const char *detail_json);

/* Now (auth_now(): the server clock plus the test clock offset) in core's
 * microseconds, and as 'YYYY-MM-DDTHH:MM:SSZ' for SQL parameters. */
int64_t svc_now_us(void);
void svc_format_time(int64_t t_us, char out[32]);

/* Begin a transaction on a fresh connection, lock the actor's account row
 * and read it with its counts (db_account.h): the way every change that
 * adds to a quota starts. On success *c is held (release it with
 * db_release(), which rolls back unless committed) and row->json must be
 * freed. Returns 0, or -1 with "r" filled (then *c is released). */
int svc_begin_locked(const svc_actor *a, db_conn **c, db_account_row *row, svc_result *r);

/* The plan in force for an account row (L3: a lapsed licence is Free). */
mt_plan svc_effective_plan(const db_account_row *row);

/* Syntax checks shared by the services. */
bool svc_valid_email(const char *s);
bool svc_valid_user_login(const char *s);

/* The account of the actor, for GET /api/v1/account: plan, effective plan,
 * licence, plan-change dates (next allowed change), trial expiry,
 * subscriber (administrators only), alternative login ID, time zone,
 * language, and "usage": for P2..P8 the amount used and the limit of the
 * effective plan. */
int svc_account_get(const svc_actor *a, svc_result *r);

/* Fields of PATCH /api/v1/account; NULL = unchanged. "alt_login_id_set"
 * with alt_login_id NULL clears it. */
typedef struct {
    const char *name;
    const char *subscriber[6]; /* company, name, email, phone, address, country */
    const char *time_zone;
    const char *language;
    bool alt_login_id_set;
    const char *alt_login_id;
} svc_account_patch;

int svc_account_update(const svc_actor *a, const svc_account_patch *p, svc_result *r);

/* The plan table (P1..P25) from core as JSON: {"plans":[...],"quotas":[...]}. */
cJSON *svc_plans_json(void);

/* Store a quotation request for "plan" (standard/pro) and "months" (P25). */
int svc_quotation_create(const svc_actor *a, const char *plan, int months, const char *note,
                         svc_result *r);
int svc_quotation_list(const svc_actor *a, svc_result *r);

/* Change the plan (L2): at most once a month; Standard <-> Pro converts the
 * remaining days (mt_licence_convert); Free -> paid needs "months" (P25);
 * a change to a plan whose quotas the account's current data exceeds is
 * refused with plan_limit. "months" 0 = not given. */
int svc_plan_change(const svc_actor *a, const char *plan, int months, svc_result *r);

/* Upgrade a trial (L4, L7) to "plan" keeping its data; the account gets the
 * account login ID "login_id" (P1) and the trial's user keeps signing in with
 * that account ID, their user ID and password. */
int svc_trial_upgrade(const svc_actor *a, const char *plan, int months, const char *login_id,
                      svc_result *r);

/* Create a trial account and its one user (public; throttled per "ip"). */
int svc_trial_create(srv *s, const char *email, const char *password, const char *ip,
                     svc_result *r);

#endif
