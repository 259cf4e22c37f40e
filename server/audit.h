/* A9: the audit log of administrative actions. Every route that changes
 * sign-in state or administers the account calls audit() after the change
 * succeeded. Entries are per account; the actor is the request's user (or
 * API token), the address its client's. */
#ifndef MTS_AUDIT_H
#define MTS_AUDIT_H

#include <cjson/cJSON.h>

#include "http.h"

/* Record "action" (lower-case dotted: "auth.login", "user.create", ...) on
 * the target "target_kind"/"target_id" (NULL / 0 when none) with the JSON
 * object "detail" (borrowed; may be NULL; never put secrets in it), for
 * req->account_id by req->user_id. Nothing is written when req->account_id
 * is 0. Uses its own pooled connection: call it with none held. Returns 0,
 * or -1 when the row could not be written (logged; the action stands). */
int audit(http_req *req, const char *action, const char *target_kind, long long target_id,
          const cJSON *detail);

/* The route table of GET /api/v1/audit (admin, paged: ?limit=1..200,
 * ?before=<id>; answers {entries:[...], next_before}). */
extern const http_route http_routes_audit[];

#endif
