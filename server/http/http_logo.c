/* The own logo (G7, P22): everybody may see it, administrators change it.
 * (docs/api/admin-b.md) */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "svc_logo.h"

/* GET /api/v1/account/logo: the image itself, with its type, nosniff and a
 * CSP that forbids any active content. Written here with one http_write()
 * because http.c's replies are JSON only. */
static int h_logo_get(http_req *req)
{
    unsigned char *data = NULL;
    size_t len = 0;
    char type[32], head[1024], *buf;
    svc_error e;
    int head_len;
    if (svc_logo_get(&req->actor, &data, &len, type, sizeof type, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    head_len = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: private, no-cache\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Content-Security-Policy: default-src 'none'; sandbox\r\n"
                        "Content-Disposition: inline; filename=\"logo.%s\"\r\n"
                        "%s%s\r\n",
                        type, len, strchr(type, '/') + 1,
                        req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
                        req->must_close ? "Connection: close\r\n" : "");
    buf = malloc((size_t)head_len + len);
    if (buf == NULL) {
        free(data);
        return http_reply_json(req, 500, NULL);
    }
    memcpy(buf, head, (size_t)head_len);
    memcpy(buf + head_len, data, len);
    http_write(req->conn, buf, (size_t)head_len + len);
    free(buf);
    free(data);
    req->status = 200;
    req->replied = true;
    return 200;
}

/* Whether the media type of header value "ct" (parameters after ';'
 * ignored, any case) is "want". */
static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct != NULL && strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Reply {content_type, bytes} after the logo was stored. */
static int reply_logo_set(http_req *req, const char *type, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "content_type", type);
        cJSON_AddNumberToObject(o, "bytes", (double)len);
    }
    return http_reply_json(req, 200, o);
}

static int too_large(http_req *req, const char *field)
{
    char msg[96];
    snprintf(msg, sizeof msg, "the logo is larger than %d bytes", SVC_LOGO_MAX);
    return http_reply_error(req, 413, "too_large", msg, field);
}

/* The raw form: the body is the image, "type" its declared type. */
static int logo_put_raw(http_req *req, const char *type)
{
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    if (svc_feature_check(&e, a.plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    if (req->raw_len > SVC_LOGO_MAX) {
        return too_large(req, NULL);
    }
    if (svc_logo_set(req->srv->pool, &a, req->raw, req->raw_len, type, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_logo_set(req, type, req->raw_len);
}

/* The JSON form {content_type?, data: base64}: the body is checked as
 * http.c checks every JSON body (the route takes raw bodies for the other
 * form), within --max-body. */
static int logo_put_json(http_req *req)
{
    static const char *const allowed[] = {"content_type", "data", NULL};
    const char *type = NULL, *b64 = NULL, *end = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    bool large = false;
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    char msg[96];
    if (req->raw_len > req->srv->cfg.max_body) {
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes",
                 req->srv->cfg.max_body);
        return http_reply_error(req, 413, "body_too_large", msg, NULL);
    }
    if (req->raw_len == 0) {
        return http_reply_error(req, 400, "malformed_json",
                                "the body is empty: send a JSON object", NULL);
    }
    if (!http_utf8_valid(req->raw, req->raw_len)) {
        return http_reply_error(req, 400, "malformed_json", "the body is not valid UTF-8", NULL);
    }
    if (memchr(req->raw, '\0', req->raw_len) != NULL) {
        return http_reply_error(req, 400, "malformed_json", "the body contains a NUL byte", NULL);
    }
    if (http_json_guard(req, (const char *)req->raw, req->raw_len) != 0) {
        return -1;
    }
    /* raw_len + 1: the NUL http.c writes after the body is inside the length. */
    req->body = cJSON_ParseWithLengthOpts((const char *)req->raw, req->raw_len + 1, &end, 1);
    if (req->body == NULL) {
        const char *text = (const char *)req->raw;
        size_t at = end != NULL && end >= text && end <= text + req->raw_len
                        ? (size_t)(end - text)
                        : 0;
        snprintf(msg, sizeof msg, "malformed JSON at byte %zu", at);
        return http_reply_error(req, 400, "malformed_json", msg, NULL);
    }
    if (!cJSON_IsObject(req->body)) {
        return http_reply_error(req, 400, "wrong_type", "the body must be a JSON object", NULL);
    }
    /* 4/3 of the cap, plus padding: longer text can only be too large. */
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "content_type", 32, false, &type) != 0 ||
        http_json_string(req, req->body, "data", (size_t)SVC_LOGO_MAX * 2, true, &b64) != 0) {
        return req->status;
    }
    if (svc_feature_check(&e, a.plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    if (svc_base64_decode(b64, SVC_LOGO_MAX, &data, &len, &large) != 0) {
        if (large) {
            return too_large(req, "data");
        }
        return http_reply_error(req, 400, "invalid_value", "'data' must be base64", "data");
    }
    if (svc_logo_set(req->srv->pool, &a, data, len, type, &e) != SVC_OK) {
        free(data);
        return admb_reply_err(req, &e);
    }
    type = svc_logo_sniff(data, len);
    free(data);
    return reply_logo_set(req, type, len);
}

/* PUT /api/v1/account/logo: the image as the body (Content-Type image/png,
 * image/jpeg, image/gif or image/webp, checked against its magic bytes),
 * or JSON {content_type?, data: base64}; at most SVC_LOGO_MAX bytes; P22. */
static int h_logo_put(http_req *req)
{
    const char *ct = http_header(req, "Content-Type");
    if (media_is(ct, "application/json")) {
        return logo_put_json(req);
    }
    for (const char *const *t = svc_logo_types; *t != NULL; t++) {
        if (media_is(ct, *t)) {
            return logo_put_raw(req, *t);
        }
    }
    return http_reply_error(req, 415, "unsupported_media_type",
                            "send the image as image/png, image/jpeg, image/gif or image/webp, "
                            "or JSON {\"data\": base64}",
                            NULL);
}

static int h_logo_delete(http_req *req)
{
    svc_error e = {0};
    svc_actor a = admb_actor(req);
    cJSON *o;
    if (svc_logo_delete(req->srv->pool, &a, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "deleted", true);
    }
    return http_reply_json(req, 200, o);
}

const http_route http_routes_logo[] = {
    {"GET", "/api/v1/account/logo", h_logo_get, AUTH_USER, BODY_NONE, false},
    {"PUT", "/api/v1/account/logo", h_logo_put, AUTH_ADMIN, BODY_RAW, false},
    {"DELETE", "/api/v1/account/logo", h_logo_delete, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
