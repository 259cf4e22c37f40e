/* Alarm events: history, acknowledgement, the raised alarms of the
 * monitor and the panel summary (see svc_alarm.h, docs/alarms.md). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_alarm.h"
#include "db_computed.h"
#include "svc_alarm.h"
#include "svc_tx.h"

svc_status svc_alarm_events(const svc_actor *a, const db_alarm_filter *f, char **json,
                            svc_error *e)
{
    db_conn *c = NULL;
    svc_status rc;
    db_status st;
    *json = NULL;
    if (f->limit < 1 || f->limit > 200) {
        return svc_fail(e, SVC_INVALID, NULL, "limit", "'limit' must be 1 to 200");
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_alarm_events_json(c, a->account_id, svc_viewer(a), f, json);
    db_release(a->srv->pool, c);
    rc = st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
    if (rc == SVC_OK && *json == NULL) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "the event list could not be read");
    }
    return rc;
}

svc_status svc_alarm_event(const svc_actor *a, long long id, char **json, svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    *json = NULL;
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_alarm_event_json(c, a->account_id, svc_viewer(a), id, json);
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (*json == NULL) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such alarm event");
    }
    return SVC_OK;
}

svc_status svc_alarm_event_ack(const svc_actor *a, long long id, const char *comment,
                               char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    audit_who who = svc_who(a);
    long long group_id = 0;
    bool found = false, done = false, already = false;
    cx_access acc = CX_ACCESS_NONE;
    svc_status rc;
    *json = NULL;
    if (a->user_id == 0) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL, "acknowledging needs a signed-in user");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_event_group(c, a->account_id, id, &group_id, &found), NULL);
    if (found && (group_id != 0 || a->admin)) {
        if (group_id == 0) {
            acc = CX_ACCESS_EDIT;
        } else {
            SVC_TRY_DB(db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, &acc),
                       NULL);
        }
    }
    if (acc == CX_ACCESS_NONE) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such alarm event");
        goto out;
    }
    SVC_TRY_DB(db_alarm_event_ack(c, a->account_id, id, a->user_id, comment, &done, &already),
               NULL);
    if (!done) {
        rc = already ? svc_fail(e, SVC_CONFLICT, "already_acknowledged", NULL,
                                "this alarm was already acknowledged")
                     : svc_fail(e, SVC_INVALID, NULL, NULL,
                                "only a raise or a special-value event is acknowledged");
        goto out;
    }
    SVC_TRY_DB(audit_write_kv(c, &who, "alarm.ack", "alarm_event", id, "comment", comment),
               NULL);
    SVC_TRY_DB(db_alarm_event_json(c, a->account_id, svc_viewer(a), id, json), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_alarm_active(const svc_actor *a, long long group_id, int limit, char **json,
                            svc_error *e)
{
    db_conn *c = NULL;
    char *items = NULL;
    bool visible = true;
    cx_access acc = CX_ACCESS_EDIT;
    db_status st;
    *json = NULL;
    if (limit < 1 || limit > ALARM_ACTIVE_MAX) {
        return svc_fail(e, SVC_INVALID, NULL, "limit", "'limit' must be 1 to %d",
                        ALARM_ACTIVE_MAX);
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (group_id != 0) {
        st = db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, &acc);
        visible = acc != CX_ACCESS_NONE;
    }
    if (st == DB_OK && visible) {
        st = db_alarm_active_json(c, a->account_id, svc_viewer(a), group_id, limit, &items);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!visible) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
    }
    {
        size_t cap = strlen(items ? items : "[]") + 16;
        if ((*json = malloc(cap)) == NULL) {
            free(items);
            return svc_fail_nomem(e);
        }
        snprintf(*json, cap, "{\"items\":%s}", items ? items : "[]");
    }
    free(items);
    return SVC_OK;
}

svc_status svc_alarm_summary(const svc_actor *a, long long group_id, char **json,
                             svc_error *e)
{
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    db_status st;
    *json = NULL;
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, &acc);
    if (st == DB_OK && acc != CX_ACCESS_NONE) {
        st = db_alarm_summary_json(c, a->account_id, group_id, json);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (acc == CX_ACCESS_NONE || *json == NULL) {
        free(*json);
        *json = NULL;
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
    }
    return SVC_OK;
}
