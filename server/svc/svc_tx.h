/* Helpers every service shares (on the contract of svc.h): its writes as
 * one transaction, the audit log's name of the actor, one-row deletions,
 * and the plan checks of core's table. */
#ifndef MTS_SVC_TX_H
#define MTS_SVC_TX_H

#include <stdbool.h>

#include "audit.h"
#include "db.h"
#include "mt/plan.h"
#include "svc.h"

/* The actor "a" as the audit log names it. */
audit_who svc_who(const svc_actor *a);

/* A write of the svc layer: take a connection and begin (SVC_OK, or SVC_DB
 * in "e" with *c NULL when none could be had) ... */
MT_MUSTCHECK
svc_status svc_tx_begin(db_pool *pool, db_conn **c, svc_error *e);

/* ... and end it: commit on SVC_OK (a failing commit becomes the result,
 * DB_CONFLICT as SVC_CONFLICT with "conflict_msg" when not NULL), otherwise
 * roll back; the connection is released. Returns the final status. */
MT_MUSTCHECK
svc_status svc_tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e,
                      const char *conflict_msg);

/* Inside a function with "svc_status rc", "svc_error *e" and an "out:"
 * label: run the db_* call "expr"; on failure fill "e" (svc_fail_db() with
 * "conflict_msg") and go to out. */
#define SVC_TRY_DB(expr, conflict_msg)                                                       \
    do {                                                                                     \
        db_status st_ = (expr);                                                              \
        if (st_ != DB_OK) {                                                                  \
            rc = svc_fail_db(e, st_, conflict_msg);                                          \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* The db_* deletion of one row by id (*found false when the account has
 * none). */
typedef db_status (*svc_delete_fn)(db_conn *c, long long account_id, long long id, bool *found);

/* Delete row "id" with "del" in a transaction of its own, audited as
 * "<type>.delete" on target "type"/"id"; SVC_NOT_FOUND ("no such <what>")
 * when there is no such row. */
MT_MUSTCHECK
svc_status svc_delete_one(db_pool *pool, const svc_actor *a, svc_delete_fn del, long long id,
                          const char *type, const char *what, svc_error *e);

/* Check that "count_after_change" objects fit quota "q" on "plan" (core's
 * mt_plan_check). SVC_OK, or SVC_PLAN_LIMIT with core's message in "e". */
MT_MUSTCHECK
svc_status svc_quota_check(svc_error *e, mt_plan plan, mt_quota q, long long count_after_change);

/* Check feature "q" at level "need" on "plan" (core's mt_plan_require):
 * SVC_OK, or SVC_PLAN_LIMIT with core's message in "e". */
MT_MUSTCHECK
svc_status svc_feature_check(svc_error *e, mt_plan plan, mt_quota q, mt_access need);

#endif
