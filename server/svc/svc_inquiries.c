/* Inquiries (G5) (see svc_inquiries.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_inquiries.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_inquiries.h"
#include "json_out.h"

svc_status svc_inquiry_create(db_pool *pool, const svc_actor *a, const char *kind,
                           const char *subject, const char *body, bool allow_remote_access,
                           long long *id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    svc_status rc;
    if (strcmp(kind, "inquiry") != 0 && strcmp(kind, "fault_report") != 0 &&
        strcmp(kind, "investigation_request") != 0 && strcmp(kind, "account_deletion") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "kind",
                       "kind must be one of: inquiry, fault_report, investigation_request, "
                       "account_deletion");
    }
    if (strcmp(kind, "account_deletion") == 0 && a->role != ROLE_ADMIN) {
        return svc_fail(e, SVC_FORBIDDEN, "forbidden", "kind",
                       "only an administrator may request the account's deletion");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_inquiry_insert(c, a->account_id, a->user_id, kind, subject, body,
                             allow_remote_access, id),
           NULL);
    SVC_TRY_DB(audit_write_kv(c, &who, "inquiry.create", "inquiry", *id, "kind", kind), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------------ reads */

static cJSON *inquiry_json(const void *ctx, const void *row)
{
    const db_inquiry *q = row;
    cJSON *o = cJSON_CreateObject();
    (void)ctx;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", q->id);
    json_add_id(o, "user_id", q->user_id);
    json_add_str(o, "kind", q->kind);
    json_add_str(o, "subject", q->subject);
    json_add_str(o, "body", q->body);
    cJSON_AddBoolToObject(o, "allow_remote_access", q->allow_remote_access);
    json_add_str(o, "status", q->status);
    json_add_str(o, "created_at", q->created_at);
    return o;
}

svc_status svc_inquiries_list(const svc_actor *a, int limit, int offset, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_inquiry *rows = NULL;
    int n = 0;
    long long total = 0;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        /* Members see their own inquiries only. */
        st = db_inquiry_list(c, a->account_id, svc_viewer(a), limit, offset, &rows, &n, &total);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        db_inquiry_free(rows, n);
        return svc_fail_db(e, st, NULL);
    }
    o = json_items(rows, n, sizeof *rows, inquiry_json, a);
    db_inquiry_free(rows, n);
    if (o == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "limit", (double)limit);
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    *out = o;
    return SVC_OK;
}

svc_status svc_inquiry_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_inquiry q;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_inquiry_get(c, a->account_id, svc_viewer(a), id, &q, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such inquiry");
    }
    *out = inquiry_json(a, &q);
    db_inquiry_clear(&q);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}
