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
 * A function returns the service contract's status (svc.h): SVC_OK with its
 * result in *out (a cJSON value the caller owns; NULL for a change that
 * answers nothing), or the failure in the caller's svc_error, which the
 * HTTP layer answers with http_reply_svc() (http_admin_args.h:
 * admin_reply()). */
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

/* Write the audit entry (A9) of the change "a" made on "c", inside the
 * change's transaction (audit_write()): "action" ('user.create'), the
 * target's type and id (0 = none), "detail_json" a JSON object text or
 * NULL. Returns the database status: on failure the change fails too. */
db_status svc_audit(db_conn *c, const svc_actor *a, const char *action, const char *target_type,
                    long long target_id, const char *detail_json);

/* Now (auth_now(): the server clock plus the test clock offset) in core's
 * microseconds, and as 'YYYY-MM-DDTHH:MM:SSZ' for SQL parameters. */
int64_t svc_now_us(void);
void svc_format_time(int64_t t_us, char out[32]);

/* Begin a transaction on a fresh connection, lock the actor's account row
 * and read it with its counts (db_account.h): the way every change that
 * adds to a quota starts. On success *c is held (release it with
 * db_release(), which rolls back unless committed) and row->json must be
 * freed. Returns SVC_OK, or the failure in "e" (then *c is released). */
MT_MUSTCHECK
svc_status svc_begin_locked(const svc_actor *a, db_conn **c, db_account_row *row, svc_error *e);

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
MT_MUSTCHECK
svc_status svc_account_get(const svc_actor *a, cJSON **out, svc_error *e);

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

MT_MUSTCHECK
svc_status svc_account_update(const svc_actor *a, const svc_account_patch *p, cJSON **out,
                              svc_error *e);

/* The plan table (P1..P25) from core as JSON: {"plans":[...],"quotas":[...]}. */
cJSON *svc_plans_json(void);

/* Store a quotation request for "plan" (standard/pro) and "months" (P25). */
MT_MUSTCHECK
svc_status svc_quotation_create(const svc_actor *a, const char *plan, int months, const char *note,
                                cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_quotation_list(const svc_actor *a, cJSON **out, svc_error *e);

/* Change the plan (L2): at most once a month; Standard <-> Pro converts the
 * remaining days (mt_licence_convert); Free -> paid needs "months" (P25);
 * a change to a plan whose quotas the account's current data exceeds is
 * refused with plan_limit. "months" 0 = not given. */
MT_MUSTCHECK
svc_status svc_plan_change(const svc_actor *a, const char *plan, int months, cJSON **out,
                           svc_error *e);

/* Upgrade a trial (L4, L7) to "plan" keeping its data; the account gets the
 * account login ID "login_id" (P1) and the trial's user keeps signing in with
 * that account ID, their user ID and password. */
MT_MUSTCHECK
svc_status svc_trial_upgrade(const svc_actor *a, const char *plan, int months, const char *login_id,
                             cJSON **out, svc_error *e);

/* Create a trial account and its one user (public; throttled per "ip"). */
MT_MUSTCHECK
svc_status svc_trial_create(srv *s, const char *email, const char *password, const char *ip,
                            cJSON **out, svc_error *e);

#endif
