/* The per-request authentication of every non-public route (see
 * http_request_auth.h): the bearer token or the session cookie, the CSRF
 * check, the administrator check. The sign-in routes are http_auth.c. */
#define _POSIX_C_SOURCE 200809L
#include "http_request_auth.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "hdr_text.h"
#include "http_svc.h"

/* Fill the request's identity from a resolved or signed-in user. */
void http_auth_set_identity(http_req *req, const auth_grant *g, bool via_token)
{
    req->account_id = g->user.account_id;
    req->user_id = g->user.user_id;
    req->role = auth_role_from_name(g->user.role);
    req->plan = g->plan;
    req->file_access = auth_file_access_from_name(g->user.file_access);
    req->session_id = g->user.session_id;
    req->via_token = via_token;
    http_actor_init(req);
}

const char *http_auth_client_ip(const http_req *req)
{
    return http_client_ip(req);
}

/* The session cookie's value into "out" (cap > AUTH_SECRET_CHARS); false
 * when absent or not of the right length. */
bool http_auth_session_cookie(const http_req *req, char *out, size_t cap)
{
    const char *header = mg_get_header(req->conn, "Cookie");
    int n;
    if (header == NULL) {
        return false;
    }
    n = mg_get_cookie(header, AUTH_COOKIE, out, cap);
    return n == AUTH_SECRET_CHARS;
}


/* A second layer under the CSRF token for writes with the session cookie:
 * a browser says where a request comes from. Sec-Fetch-Site must be
 * "same-origin" (or "none": typed by the user) when sent, and Origin, when
 * sent, must name this server (its Host, or METRON_PUBLIC_URL behind a
 * proxy). A portal on another origin of the same site that --cors-origins
 * lists passes too (Sec-Fetch-Site "same-site" and its own Origin); another
 * site never does (docs/deploy.md: its cookie is SameSite=Strict). Clients
 * that send neither header (scripts, old browsers) rely on the token alone. */
static bool same_site_request(const http_req *req)
{
    const char *site = mg_get_header(req->conn, "Sec-Fetch-Site");
    const char *origin = mg_get_header(req->conn, "Origin");
    if (origin != NULL && req->cors[0] != '\0' &&
        (site == NULL || strcmp(site, "same-site") == 0 || strcmp(site, "same-origin") == 0)) {
        return true; /* cors[] is set only for an Origin on the list */
    }
    if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
        return false;
    }
    return origin == NULL || hdr_same_origin(origin, mg_get_header(req->conn, "Host"),
                                             getenv("METRON_PUBLIC_URL"));
}

int http_auth_resolve(http_req *req, const http_route *route)
{
    const char *authz = http_header(req, "Authorization");
    const char *method = req->ri->request_method;
    char cookie[AUTH_SECRET_CHARS + 8] = "";
    auth_grant o;
    svc_error e;
    svc_status st;
    bool token = false;

    if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
        const char *t = authz + 7;
        while (*t == ' ') {
            t++;
        }
        token = true;
        st = svc_auth_resolve_token(req->srv, t, http_auth_client_ip(req), &o, &e);
    } else if (authz != NULL) {
        return http_reply_error(req, 401, "unauthenticated",
                                "use Authorization: Bearer <token> or a session cookie", NULL),
               -1;
    } else if (http_auth_session_cookie(req, cookie, sizeof cookie)) {
        st = svc_auth_resolve_cookie(req->srv, cookie, http_auth_client_ip(req), &o, &e);
    } else {
        return http_reply_error(req, 401, "unauthenticated", "sign in first", NULL), -1;
    }
    if (st != SVC_OK) {
        /* A refusal names no user: the access log stays anonymous. */
        (void)http_reply_svc(req, &e);
        OPENSSL_cleanse(cookie, sizeof cookie);
        return -1;
    }
    http_auth_set_identity(req, &o, token);
    if (!token && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        if (!same_site_request(req)) {
            OPENSSL_cleanse(cookie, sizeof cookie);
            return http_reply_error(req, 403, "cross_site",
                                    "a change with the session cookie must come from the "
                                    "portal's own pages",
                                    NULL),
                   -1;
        }
        const char *sent = mg_get_header(req->conn, "X-CSRF-Token");
        char want[64];
        bool ok = auth_csrf_token(cookie, want, sizeof want) == 0 && sent != NULL &&
                  strlen(sent) == strlen(want) && auth_equal(sent, want, strlen(want));
        OPENSSL_cleanse(want, sizeof want);
        if (!ok) {
            OPENSSL_cleanse(cookie, sizeof cookie);
            return http_reply_error(req, 403, "csrf",
                                    "send the session's X-CSRF-Token header with every change",
                                    NULL),
                   -1;
        }
    }
    OPENSSL_cleanse(cookie, sizeof cookie);
    if (route->auth == AUTH_ADMIN && req->role != ROLE_ADMIN) {
        return http_reply_error(req, 403, "forbidden", "account administrators only", NULL), -1;
    }
    /* A8: the temporary sign-in of an alarm mail sees, changes nothing and
     * reaches no administrative function; it may sign out. */
    if (o.user.view_only &&
        (route->auth == AUTH_ADMIN ||
         (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
          strcmp(route->pattern, "/api/v1/auth/logout") != 0))) {
        return http_reply_error(req, 403, "view_only",
                                "a temporary sign-in from an alarm mail is view only: sign in "
                                "with your password to change anything",
                                NULL),
               -1;
    }
    return 0;
}
