/* What the two halves of the auth routes share: http_auth.c (sign-in,
 * password, two-step) and http_auth_sessions.c (sessions, API tokens, the
 * IP allow-list). Not for other route files. */
#ifndef MTS_HTTP_AUTH_SHARED_H
#define MTS_HTTP_AUTH_SHARED_H

#include <stddef.h>

#include "http.h"
#include "mt/plan.h"

/* Refuse a function the plan lacks (403 plan_limit for quota "q"). */
int http_auth_reply_plan_limit(http_req *req, mt_quota q, int plan);

/* Set-Cookie for a new session (value "v") or, with v NULL, its removal,
 * into "out". */
void http_auth_cookie_header(const http_req *req, const char *v, char *out, size_t cap);

#endif
