/* The audit log over HTTP: GET /api/v1/audit (http_routes_audit, http.h)
 * and the entries of sign-in events, written for the request's actor. */
#ifndef MTS_HTTP_AUDIT_H
#define MTS_HTTP_AUDIT_H

#include <cjson/cJSON.h>

#include "audit.h"
#include "http.h"

/* The actor of "req" as the audit log names it (its account, user, token
 * flag and client address). */
audit_who audit_who_of(const http_req *req);

/* audit_event() for the actor of "req" on a connection of its own: for
 * sign-in events only (svc/audit.h). Returns 0, or -1 (logged). */
int http_audit(http_req *req, const char *action, const char *target_type, long long target_id,
               const cJSON *detail);

#endif
