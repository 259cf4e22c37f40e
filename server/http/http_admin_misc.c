/* Administration API, part B: system notification recipients (G4),
 * inquiries (G5), the own logo (G7, P22) and the notifications inbox (N1).
 *
 * Who may do what (docs/api/admin-b.md): recipients are administrators'
 * business (they hold addresses and webhook secrets); any signed-in user may
 * send an inquiry and read their own (administrators read all of the
 * account's; only an administrator may ask for the account's deletion);
 * everybody may see the logo, administrators change it; the inbox is each
 * user's own. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_misc.h"
#include "http_admin_rows.h"
#include "svc_misc.h"

/* ------------------------------------------------------------ recipients */

static cJSON *recipient_json(const http_req *req, const void *row)
{
    const db_recipient *r = row;
    cJSON *o = cJSON_CreateObject();
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", r->id);
    admb_add_str(o, "kind", r->kind);
    admb_add_str(o, "name", r->name);
    admb_add_str(o, "address", r->address);
    admb_add_str(o, "language", r->language);
    cJSON_AddBoolToObject(o, "enabled", r->enabled);
    admb_add_str(o, "created_at", r->created_at);
    admb_add_str(o, "updated_at", r->updated_at);
    return o;
}

static db_status get_recipient(db_conn *c, const http_req *req, long long id, void *row,
                               bool *found)
{
    return db_recipient_get(c, req->account_id, id, row, found);
}

static void clear_recipient(void *row)
{
    db_recipient_clear(row);
}

static const admb_kind k_recipient = {"recipient", get_recipient, recipient_json,
                                      clear_recipient};

static int reply_recipient(http_req *req, int status, long long id)
{
    db_recipient r;
    return admb_reply_row(req, status, id, &k_recipient, &r);
}

static int h_recipients_list(http_req *req)
{
    db_conn *c = NULL;
    db_recipient *rows = NULL;
    int n = 0;
    db_status st;
    cJSON *o;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_recipient_list(c, req->account_id, &rows, &n);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, recipient_json);
    db_recipient_free(rows, n);
    return http_reply_json(req, 200, o);
}

/* Read the recipient members of the body ("required": create). */
static int recipient_input(http_req *req, bool required, svc_recipient_in *in)
{
    static const char *const allowed[] = {"kind", "name", "address", "language", "enabled",
                                          NULL};
    memset(in, 0, sizeof *in);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "kind", 16, required, &in->kind) != 0 ||
        admb_json_text(req, req->body, "name", 100, false, true, &in->name) != 0 ||
        admb_json_text(req, req->body, "address", 2000, required, false, &in->address) != 0 ||
        http_json_string(req, req->body, "language", 8, false, &in->language) != 0 ||
        admb_json_bool(req, req->body, "enabled", &in->enabled) != 0) {
        return -1;
    }
    return 0;
}

static int h_recipients_create(http_req *req)
{
    svc_recipient_in in;
    long long id = 0;
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    if (recipient_input(req, true, &in) != 0) {
        return req->status;
    }
    if (svc_recipient_create(req->srv->pool, &a, &in, &id, &e) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_recipient(req, 201, id);
}

static int h_recipient_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_recipient(req, 200, id);
}

static int h_recipient_update(http_req *req)
{
    svc_recipient_in in;
    long long id;
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0 || recipient_input(req, false, &in) != 0) {
        return req->status;
    }
    if (svc_recipient_update(req->srv->pool, &a, id, &in, &e) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_recipient(req, 200, id);
}

static int h_recipient_delete(http_req *req)
{
    long long id;
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_recipient_delete(req->srv->pool, &a, id, &e) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* ------------------------------------------------------------- inquiries */

static cJSON *inquiry_json(const http_req *req, const void *row)
{
    const db_inquiry *q = row;
    cJSON *o = cJSON_CreateObject();
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", q->id);
    admb_add_id(o, "user_id", q->user_id);
    admb_add_str(o, "kind", q->kind);
    admb_add_str(o, "subject", q->subject);
    admb_add_str(o, "body", q->body);
    cJSON_AddBoolToObject(o, "allow_remote_access", q->allow_remote_access);
    admb_add_str(o, "status", q->status);
    admb_add_str(o, "created_at", q->created_at);
    return o;
}

/* Members see their own inquiries only. */
static long long inquiry_owner(const http_req *req)
{
    return req->role == ROLE_ADMIN ? 0 : req->user_id;
}

static db_status get_inquiry(db_conn *c, const http_req *req, long long id, void *row,
                             bool *found)
{
    return db_inquiry_get(c, req->account_id, inquiry_owner(req), id, row, found);
}

static void clear_inquiry(void *row)
{
    db_inquiry_clear(row);
}

static const admb_kind k_inquiry = {"inquiry", get_inquiry, inquiry_json, clear_inquiry};

static int reply_inquiry(http_req *req, int status, long long id)
{
    db_inquiry q;
    return admb_reply_row(req, status, id, &k_inquiry, &q);
}

/* GET /api/v1/inquiries?limit=1..100&offset= (newest first) */
static int h_inquiries_list(http_req *req)
{
    db_conn *c = NULL;
    db_inquiry *rows = NULL;
    int n = 0;
    long long limit, offset, total = 0;
    db_status st;
    cJSON *o;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0 ||
        admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_inquiry_list(c, req->account_id, inquiry_owner(req), (int)limit, (int)offset, &rows,
                         &n, &total);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        db_inquiry_free(rows, n);
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, inquiry_json);
    db_inquiry_free(rows, n);
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "limit", (double)limit);
        cJSON_AddNumberToObject(o, "offset", (double)offset);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/inquiries {kind, subject, body, allow_remote_access?} */
static int h_inquiries_create(http_req *req)
{
    static const char *const allowed[] = {"kind", "subject", "body", "allow_remote_access",
                                          NULL};
    const char *kind = NULL, *subject = NULL, *body = NULL;
    int remote;
    long long id = 0;
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "kind", 32, true, &kind) != 0 ||
        admb_json_text(req, req->body, "subject", 200, true, false, &subject) != 0 ||
        http_json_string(req, req->body, "body", 10000, true, &body) != 0 ||
        admb_json_bool(req, req->body, "allow_remote_access", &remote) != 0) {
        return req->status;
    }
    if (body[strspn(body, " \t\r\n")] == '\0') {
        return http_reply_error(req, 400, "invalid", "'body' must not be empty", "body");
    }
    if (svc_inquiry_create(req->srv->pool, &a, kind, subject, body, remote == 1, &id, &e) !=
        SV_OK) {
        return admb_reply_err(req, &e);
    }
    return reply_inquiry(req, 201, id);
}

static int h_inquiry_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_inquiry(req, 200, id);
}

/* ------------------------------------------------------------------ logo */

/* GET /api/v1/account/logo: the image itself, with its type, nosniff and a
 * CSP that forbids any active content. Written here with one mg_write()
 * because http.c's replies are JSON only. */
static int h_logo_get(http_req *req)
{
    db_conn *c = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    char type[32], head[512], *buf;
    bool found = false;
    db_status st;
    int head_len;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_logo_get(c, req->account_id, &data, &len, type, sizeof type, &found);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    if (!found) {
        return http_reply_error(req, 404, "not_found", "the account has no logo", NULL);
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
    mg_write(req->conn, buf, (size_t)head_len + len);
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
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    if (sv_feature_check(&e, a.plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    if (req->raw_len > SVC_LOGO_MAX) {
        return too_large(req, NULL);
    }
    if (svc_logo_set(req->srv->pool, &a, req->raw, req->raw_len, type, &e) != SV_OK) {
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
    svc_err e = {0};
    sv_actor a = admb_actor(req);
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
    if (sv_feature_check(&e, a.plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    if (svc_base64_decode(b64, SVC_LOGO_MAX, &data, &len, &large) != 0) {
        if (large) {
            return too_large(req, "data");
        }
        return http_reply_error(req, 400, "invalid", "'data' must be base64", "data");
    }
    if (svc_logo_set(req->srv->pool, &a, data, len, type, &e) != SV_OK) {
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
    svc_err e = {0};
    sv_actor a = admb_actor(req);
    cJSON *o;
    if (svc_logo_delete(req->srv->pool, &a, &e) != SV_OK) {
        return admb_reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "deleted", true);
    }
    return http_reply_json(req, 200, o);
}

/* --------------------------------------------------------- notifications */

static cJSON *notification_json(const http_req *req, const void *row)
{
    const db_notification *n = row;
    cJSON *o = cJSON_CreateObject(), *data;
    (void)req;
    if (o == NULL) {
        return NULL;
    }
    admb_add_int(o, "id", n->id);
    admb_add_str(o, "kind", n->kind);
    admb_add_str(o, "title", n->title);
    admb_add_str(o, "body", n->body);
    data = n->data != NULL ? cJSON_Parse(n->data) : NULL;
    cJSON_AddItemToObject(o, "data", data != NULL ? data : cJSON_CreateObject());
    admb_add_str(o, "created_at", n->created_at);
    admb_add_str(o, "read_at", n->read_at);
    cJSON_AddBoolToObject(o, "read", n->read_at != NULL);
    return o;
}

/* GET /api/v1/notifications?filter=all|unread&limit=1..100&offset= */
static int h_notifications_list(http_req *req)
{
    db_conn *c = NULL;
    db_notification *rows = NULL;
    int n = 0;
    long long limit, offset, total = 0, unread = 0;
    char filter[16];
    bool unread_only;
    db_status st;
    cJSON *o;
    admb_query_str(req, "filter", filter, sizeof filter);
    if (filter[0] != '\0' && strcmp(filter, "all") != 0 && strcmp(filter, "unread") != 0) {
        return http_reply_error(req, 400, "invalid", "'filter' must be all or unread", "filter");
    }
    unread_only = strcmp(filter, "unread") == 0;
    if (admb_query_int(req, "limit", 1, 100, 20, &limit) != 0 ||
        admb_query_int(req, "offset", 0, 1000000000, 0, &offset) != 0 ||
        admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_list(c, req->account_id, req->user_id, unread_only, (int)limit,
                              (int)offset, &rows, &n, &total, &unread);
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = admb_items(req, rows, n, sizeof *rows, notification_json);
    db_notification_free(rows, n);
    if (o != NULL) {
        cJSON_AddStringToObject(o, "filter", unread_only ? "unread" : "all");
        cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "unread", (double)unread);
        cJSON_AddNumberToObject(o, "limit", (double)limit);
        cJSON_AddNumberToObject(o, "offset", (double)offset);
    }
    return http_reply_json(req, 200, o);
}

static int reply_unread(http_req *req, db_conn *c, long long marked, bool with_marked)
{
    long long unread = 0;
    db_status st = db_notification_unread(c, req->account_id, req->user_id, &unread);
    cJSON *o;
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return http_reply_db(req, st);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "unread", (double)unread);
        if (with_marked) {
            cJSON_AddNumberToObject(o, "marked", (double)marked);
        }
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/notifications/unread-count -> {unread} */
static int h_notifications_unread(http_req *req)
{
    db_conn *c = NULL;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    return reply_unread(req, c, 0, false);
}

/* POST /api/v1/notifications/{id}/read -> {unread} */
static int h_notification_read(http_req *req)
{
    db_conn *c = NULL;
    long long id;
    bool found = false;
    db_status st;
    if (admb_path_id(req, 0, &id) != 0 || admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_mark(c, req->account_id, req->user_id, id, &found);
    if (st != DB_OK || !found) {
        db_release(req->srv->pool, c);
        return st != DB_OK ? http_reply_db(req, st)
                           : http_reply_error(req, 404, "not_found", "no such notification",
                                              NULL);
    }
    return reply_unread(req, c, 1, true);
}

/* POST /api/v1/notifications/read-all -> {marked, unread} */
static int h_notifications_read_all(http_req *req)
{
    db_conn *c = NULL;
    long long marked = 0;
    db_status st;
    if (admb_acquire(req, &c) != 0) {
        return req->status;
    }
    st = db_notification_mark_all(c, req->account_id, req->user_id, &marked);
    if (st != DB_OK) {
        db_release(req->srv->pool, c);
        return http_reply_db(req, st);
    }
    return reply_unread(req, c, marked, true);
}

const http_route http_routes_admin_misc[] = {
    {"GET", "/api/v1/notification-recipients", h_recipients_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/notification-recipients", h_recipients_create, AUTH_ADMIN, BODY_JSON,
     false},
    {"GET", "/api/v1/notification-recipients/*", h_recipient_get, AUTH_ADMIN, BODY_NONE, false},
    {"PATCH", "/api/v1/notification-recipients/*", h_recipient_update, AUTH_ADMIN, BODY_JSON,
     false},
    {"DELETE", "/api/v1/notification-recipients/*", h_recipient_delete, AUTH_ADMIN, BODY_NONE,
     false},
    {"GET", "/api/v1/inquiries", h_inquiries_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/inquiries", h_inquiries_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/inquiries/*", h_inquiry_get, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/account/logo", h_logo_get, AUTH_USER, BODY_NONE, false},
    {"PUT", "/api/v1/account/logo", h_logo_put, AUTH_ADMIN, BODY_RAW, false},
    {"DELETE", "/api/v1/account/logo", h_logo_delete, AUTH_ADMIN, BODY_NONE, false},
    {"GET", "/api/v1/notifications", h_notifications_list, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/notifications/unread-count", h_notifications_unread, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/read-all", h_notifications_read_all, AUTH_USER, BODY_NONE,
     false},
    {"POST", "/api/v1/notifications/*/read", h_notification_read, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
