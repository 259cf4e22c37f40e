/* The HTTP side of the service contract (svc.h): the one mapping from a
 * service status to an HTTP status and JSON error body, and the one place
 * the actor of a request is built. */
#ifndef MTS_HTTP_SVC_H
#define MTS_HTTP_SVC_H

#include "http.h"
#include "svc.h"

/* The HTTP status that answers "st": SVC_INVALID 400, SVC_UNAUTHENTICATED
 * 401, SVC_FORBIDDEN and SVC_PLAN_LIMIT 403, SVC_NOT_FOUND 404,
 * SVC_CONFLICT 409, SVC_TOO_LARGE 413, SVC_UNPROCESSABLE 422, SVC_THROTTLED
 * 429, SVC_NOT_IMPLEMENTED 501, SVC_NOMEM and SVC_UNAVAILABLE 503, anything
 * else 500 (an SVC_DB failure is first read by svc_db_public()). */
int http_svc_status(svc_status st);

/* Reply to the failure "e": {"code", "message", "field"?} with the status
 * of http_svc_status(), plus
 *   - "position" when e->has_pos,
 *   - e->extra_key: e->extra_val when set,
 *   - for a quota (e->has_quota: SVC_PLAN_LIMIT, or SVC_TOO_LARGE for the
 *     storage quota) the plan_limit members: "quota" (core's id, "P4"),
 *     "limit" (the plan's limit from core's table, 0 where it says "-"),
 *     "plan", "available": false when the plan lacks the function, and
 *     "used" when e->used >= 0 — the only place this body is built;
 *   - for SVC_THROTTLED with e->retry_after > 0: "retry_after" and a
 *     Retry-After header;
 *   - SVC_DB: the reply svc_db_public() gives it: 503 db_unavailable /
 *     db_busy, 409 conflict / constraint, 500 internal_error.
 * Returns the status. */
int http_reply_svc(http_req *req, const svc_error *e);

/* Whether the request still has an unread body (a refusal then closes the
 * connection after its reply). */
bool http_body_pending(const http_req *req);

/* http_reply_error() for a request whose body may still be unread: the
 * connection is closed after the reply. Returns the status. */
int http_refuse_unread(http_req *req, int status, const char *code, const char *msg,
                       const char *field);

/* 413 {"code":"plan_limit","quota":"P2",...} for an upload that does not
 * fit the storage quota of "plan" ("used" when >= 0), built by
 * http_reply_svc() with the status that names an over-large request; the
 * connection is closed if the body is still unread. The drive's and the
 * app share's uploads answer it. Returns the status. */
int http_reply_storage_limit(http_req *req, mt_plan plan, long long used, const char *msg);

/* Fill req->actor from the authenticated request (account, user, role,
 * plan, file rights, session or token, client address). http.c calls it
 * once, after authentication and before the handler. */
void http_actor_init(http_req *req);

#endif
