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

#endif
