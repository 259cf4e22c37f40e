/* Authentication of each request (the middleware that http.c runs before
 * every non-public route: http_auth_resolve(), declared in http.h) and the
 * pieces the sign-in routes (http_auth.c) share with it. */
#ifndef MTS_HTTP_REQUEST_AUTH_H
#define MTS_HTTP_REQUEST_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "svc_auth.h"

/* Fill the request's identity (account, user, role, plan, file rights,
 * session or token) and its actor from a resolved or signed-in user. */
void http_auth_set_identity(http_req *req, const auth_grant *g, bool via_token);

/* The client's address (borrowed from the request). */
const char *http_auth_client_ip(const http_req *req);

/* The session cookie's value into "out" (cap > AUTH_SECRET_CHARS); false
 * when absent or not of the right length. */
bool http_auth_session_cookie(const http_req *req, char *out, size_t cap);

#endif
