/* The operator's API (/api/v1/ops/...; docs/operations.md): the token
 * checks of AUTH_OPS and AUTH_METRICS routes, and the routes. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_svc.h"

/* Whether "given" is "want", in time that does not depend on where they
 * differ (both are hashed first, so neither length leaks either). */
static bool token_equal(const char *given, const char *want)
{
    unsigned char a[32], b[32];
    unsigned int la = 0, lb = 0;
    if (EVP_Digest(given, strlen(given), a, &la, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(want, strlen(want), b, &lb, EVP_sha256(), NULL) != 1 || la != lb) {
        return false;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

int http_auth_operator(http_req *req, http_auth kind)
{
    const char *want = kind == AUTH_OPS ? req->srv->cfg.ops_token : req->srv->cfg.metrics_token;
    const char *h = http_header(req, "Authorization");
    if (want == NULL) {
        return http_reply_error(req, 404, "not_found",
                                kind == AUTH_OPS
                                    ? "the operator's API is off: set METRON_OPS_TOKEN"
                                    : "metrics are off: set METRON_METRICS_TOKEN",
                                NULL),
               -1;
    }
    if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || !token_equal(h + 7, want)) {
        return http_reply_json_headers(
                   req, 401,
                   cJSON_Parse(kind == AUTH_OPS
                                   ? "{\"code\":\"unauthenticated\",\"message\":\"send the "
                                     "operator's token as Authorization: Bearer ...\"}"
                                   : "{\"code\":\"unauthenticated\",\"message\":\"send the "
                                     "metrics token as Authorization: Bearer ...\"}"),
                   "WWW-Authenticate: Bearer\r\n"),
               -1;
    }
    return 0;
}

const http_route http_routes_ops[] = {
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
