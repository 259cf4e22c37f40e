/* Helpers every service shares (see svc_tx.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_tx.h"

#include <stdio.h>

audit_who svc_who(const svc_actor *a)
{
    audit_who w = {a->account_id, a->user_id, a->via_token, a->ip, 0};
    return w;
}

svc_status svc_quota_check(svc_error *e, mt_plan plan, mt_quota q, long long count_after_change)
{
    mt_error err;
    mt_status st = mt_plan_check(plan, q, (int64_t)count_after_change, &err);
    if (st == MT_OK) {
        return SVC_OK;
    }
    if (st == MT_ELIMIT) {
        return svc_fail_quota(e, plan, q, err.msg);
    }
    return svc_fail(e, SVC_DB, NULL, NULL, "quota check failed: %s", err.msg);
}

svc_status svc_feature_check(svc_error *e, mt_plan plan, mt_quota q, mt_access need)
{
    mt_error err;
    mt_status st = mt_plan_require(plan, q, need, &err);
    if (st == MT_OK) {
        return SVC_OK;
    }
    if (st == MT_ELIMIT) {
        return svc_fail_quota(e, plan, q, err.msg);
    }
    return svc_fail(e, SVC_DB, NULL, NULL, "feature check failed: %s", err.msg);
}

svc_status svc_tx_begin(db_pool *pool, db_conn **c, svc_error *e)
{
    db_status st = db_acquire(pool, DB_WAIT_MS, c);
    if (st != DB_OK) {
        *c = NULL;
        return svc_fail_db(e, st, NULL);
    }
    if ((st = db_begin(*c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return SVC_OK;
}

svc_status svc_tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e,
                      const char *conflict_msg)
{
    if (rc == SVC_OK && c != NULL) {
        db_status st = db_commit(c);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, conflict_msg);
        }
    }
    db_release(pool, c);
    return rc;
}

svc_status svc_delete_one(db_pool *pool, const svc_actor *a, svc_delete_fn del, long long id,
                          const char *type, const char *what, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    char action[48];
    bool found;
    svc_status rc;
    snprintf(action, sizeof action, "%s.delete", type);
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(del(c, a->account_id, id, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such %s", what);
        goto out;
    }
    SVC_TRY_DB(audit_write(c, &who, action, type, id, NULL), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}
