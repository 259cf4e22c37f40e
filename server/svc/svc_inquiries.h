/* Business rules of inquiries (G5): who may send which kind. Errors in an
 * svc_error (svc_apps.h); every change writes its audit entry in its own
 * transaction (audit_write). */
#ifndef MTS_SVC_INQUIRIES_H
#define MTS_SVC_INQUIRIES_H

#include <stdbool.h>
#include <stddef.h>

#include "svc_apps.h"

/* Create an inquiry of kind inquiry / fault_report / investigation_request /
 * account_deletion (the last one: administrators only, SVC_FORBIDDEN). */
MT_MUSTCHECK
svc_status svc_inquiry_create(db_pool *pool, const svc_actor *a, const char *kind,
                           const char *subject, const char *body, bool allow_remote_access,
                           long long *id, svc_error *e);

/* The inquiries actor "a" may read (an administrator all of the account's,
 * a member their own), newest first: {"items": [...], "total", "limit",
 * "offset"} into *out (caller owns). SVC_DB, SVC_NOMEM. */
MT_MUSTCHECK
svc_status svc_inquiries_list(const svc_actor *a, int limit, int offset, cJSON **out, svc_error *e);

/* Inquiry "id" into *out (caller owns); SVC_NOT_FOUND ("no such inquiry")
 * when "a" may not read it. */
MT_MUSTCHECK
svc_status svc_inquiry_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);

#endif
