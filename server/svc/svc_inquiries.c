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
