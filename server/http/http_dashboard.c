/* Routes of dashboards (B1-B3, M6, P9; docs/dashboards.md): list, create,
 * read, change, copy, delete, add a panel; the one request of a refresh;
 * the pictures of picture panels (upload, list, content, delete). Rules
 * and access live in svc_dashboard.c and svc_dash_data.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "svc_dashboard.h"

#define CHUNK 65536

/* Reply "status" with JSON text from svc (takes ownership of "json"). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

/* Reply "status" with dashboard "id" as it is now. */
static int reply_dashboard(http_req *req, int status, long long id)
{
    svc_error e;
    char *json = NULL;
    if (svc_dash_get(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, status, json);
}

/* The members of a dashboard body: name, panels, version. */
static int read_def(http_req *req, bool create, svc_dash_def *d)
{
    static const char *const allowed[] = {"name", "panels", "version", NULL};
    const cJSON *v;
    memset(d, 0, sizeof *d);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", DASH_NAME_MAX, create, false, &d->name) != 0) {
        return -1;
    }
    v = cJSON_GetObjectItemCaseSensitive(req->body, "panels");
    d->panels = v != NULL && !cJSON_IsNull(v) ? v : NULL;
    v = cJSON_GetObjectItemCaseSensitive(req->body, "version");
    if (v != NULL && !cJSON_IsNull(v)) {
        if (create) {
            return http_reply_error(req, 400, "unknown_field",
                                    "a new dashboard has no 'version' yet", "version"),
                   -1;
        }
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 2147483647.0) ||
            v->valuedouble != (double)(long long)v->valuedouble) {
            return http_reply_error(req, 400, "wrong_type",
                                    "'version' must be the version the change starts from",
                                    "version"),
                   -1;
        }
        d->has_version = true;
        d->version = (long long)v->valuedouble;
    }
    return 0;
}

/* GET /api/v1/groups/{id}/dashboards */
static int h_list(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_dash_list(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/groups/{id}/dashboards {name, panels?} */
static int h_create(http_req *req)
{
    svc_error e;
    svc_dash_def d;
    long long group_id, id = 0;
    if (admb_path_id(req, 0, &group_id) != 0 || read_def(req, true, &d) != 0) {
        return req->status;
    }
    if (svc_dash_create(&req->actor, group_id, &d, &id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_dashboard(req, 201, id);
}

/* GET /api/v1/dashboards/{id} */
static int h_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_dashboard(req, 200, id);
}

/* PATCH /api/v1/dashboards/{id} {name?, panels?, version?} */
static int h_update(http_req *req)
{
    svc_error e;
    svc_dash_def d;
    long long id;
    if (admb_path_id(req, 0, &id) != 0 || read_def(req, false, &d) != 0) {
        return req->status;
    }
    if (svc_dash_update(&req->actor, id, &d, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_dashboard(req, 200, id);
}

/* POST /api/v1/dashboards/{id}/panels {panel} (M6) */
static int h_add_panel(http_req *req)
{
    static const char *const allowed[] = {"panel", NULL};
    svc_error e;
    const cJSON *panel;
    long long id;
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    panel = cJSON_GetObjectItemCaseSensitive(req->body, "panel");
    if (panel == NULL || cJSON_IsNull(panel)) {
        return http_reply_error(req, 400, "missing", "'panel' is required", "panel");
    }
    if (svc_dash_add_panel(&req->actor, id, panel, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_dashboard(req, 201, id);
}

/* POST /api/v1/dashboards/{id}/copy {name?} */
static int h_copy(http_req *req)
{
    static const char *const allowed[] = {"name", NULL};
    svc_error e;
    const char *name = NULL;
    long long id, new_id = 0;
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", DASH_NAME_MAX, false, false, &name) != 0) {
        return req->status;
    }
    if (svc_dash_copy(&req->actor, id, name, &new_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_dashboard(req, 201, new_id);
}

/* DELETE /api/v1/dashboards/{id} */
static int h_delete(http_req *req)
{
    svc_error e;
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_dash_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* GET /api/v1/dashboards/{id}/data?since=<µs>&version=<n> */
static int h_data(http_req *req)
{
    svc_error e;
    char *json = NULL;
    size_t len = 0;
    long long id, since, version;
    int rc;
    if (admb_path_id(req, 0, &id) != 0 ||
        admb_query_int(req, "since", 0, 9007199254740991LL, 0, &since) != 0 ||
        admb_query_int(req, "version", 0, 2147483647LL, 0, &version) != 0) {
        return req->status;
    }
    if (svc_dash_data(&req->actor, id, since, version, &json, &len, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    rc = http_reply_json_text(req, 200, json, len);
    free(json);
    return rc;
}

/* ------------------------------------------------------------- pictures */

/* GET /api/v1/dashboard-pictures */
static int h_pictures(http_req *req)
{
    svc_error e;
    char *json = NULL;
    if (svc_dash_picture_list(&req->actor, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/dashboard-pictures?name= (body: the picture, any type
 * header: the bytes decide). Read into memory up to DASH_PICTURE_MAX. */
static int h_picture_upload(http_req *req)
{
    svc_error e;
    char name[1024], *json = NULL;
    unsigned char *data = NULL;
    size_t len = 0;
    long long declared = http_content_length(req);
    bool created = false;
    int name_len, status;
    name_len = http_query(req, "name", name, sizeof name);
    if (name_len == -2) {
        req->must_close = true;
        return http_reply_error(req, 400, "too_long", "'name' may have at most 255 characters",
                                "name");
    }
    if (name_len < 0) {
        name[0] = '\0';
    }
    if (!http_utf8_valid((const unsigned char *)name, strlen(name))) {
        req->must_close = true;
        return http_reply_error(req, 400, "invalid_value", "'name' is not valid UTF-8", "name");
    }
    if (svc_dash_picture_precheck(&req->actor, declared, &e) != SVC_OK) {
        req->must_close = true; /* the body is left unread */
        return http_reply_svc(req, &e);
    }
    data = malloc(DASH_PICTURE_MAX + 1);
    if (data == NULL) {
        req->must_close = true;
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    for (;;) {
        size_t room = DASH_PICTURE_MAX + 1 - len;
        long got = http_body_read(req, data + len, room < CHUNK ? room : CHUNK);
        if (got < 0) { /* cut short, too slow, or unreadable: nothing is kept */
            free(data);
            return http_reply_body_failed(req);
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
        if (len > DASH_PICTURE_MAX) {
            free(data);
            req->must_close = true;
            return http_reply_error(req, 413, "too_large",
                                    "a picture may have at most 5242880 bytes (5 MiB)", NULL);
        }
    }
    if (svc_dash_picture_add(&req->actor, data, len, name, &json, &created, &e) != SVC_OK) {
        free(data);
        return http_reply_svc(req, &e);
    }
    free(data);
    status = created ? 201 : 200;
    return reply_text(req, status, json);
}

/* GET /api/v1/dashboard-pictures/{id}/content[?v=<sha256>]: the picture,
 * with its type, nosniff and a CSP that forbids any active content. Its
 * address with ?v= names one content for ever (pictures never change), so
 * the browser keeps it; without it, the ETag lets it ask cheaply. */
static int h_picture_content(http_req *req)
{
    svc_error e;
    unsigned char *data = NULL;
    size_t len = 0;
    char type[32], sha[65], v[80], head[640], *buf;
    const char *inm;
    long long id;
    int head_len;
    bool pinned;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_dash_picture_content(&req->actor, id, &data, &len, type, sha, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    pinned = http_query(req, "v", v, sizeof v) > 0 && strcmp(v, sha) == 0;
    inm = http_header(req, "If-None-Match");
    if (inm != NULL && strstr(inm, sha) != NULL) {
        head_len = snprintf(head, sizeof head,
                            "HTTP/1.1 304 Not Modified\r\n"
                            "ETag: \"%s\"\r\n"
                            "Cache-Control: %s\r\n"
                            "%s\r\n",
                            sha, pinned ? "private, max-age=31536000, immutable" : "private, no-cache",
                            req->must_close ? "Connection: close\r\n" : "");
        http_write(req->conn, head, (size_t)head_len);
        free(data);
        req->status = 304;
        req->replied = true;
        return 304;
    }
    head_len = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: %s\r\n"
                        "Content-Length: %zu\r\n"
                        "ETag: \"%s\"\r\n"
                        "Cache-Control: %s\r\n"
                        "X-Content-Type-Options: nosniff\r\n"
                        "Content-Security-Policy: default-src 'none'; sandbox\r\n"
                        "Content-Disposition: inline; filename=\"picture-%lld.%s\"\r\n"
                        "%s%s\r\n",
                        type, len, sha,
                        pinned ? "private, max-age=31536000, immutable" : "private, no-cache", id,
                        strchr(type, '/') != NULL ? strchr(type, '/') + 1 : "bin",
                        req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
                        req->must_close ? "Connection: close\r\n" : "");
    buf = malloc((size_t)head_len + len);
    if (buf == NULL) {
        free(data);
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
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

/* DELETE /api/v1/dashboard-pictures/{id} */
static int h_picture_delete(http_req *req)
{
    svc_error e;
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_dash_picture_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

const http_route http_routes_dashboard[] = {
    {"GET", "/api/v1/groups/*/dashboards", h_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/dashboards", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/dashboards/*", h_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/dashboards/*", h_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/dashboards/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/dashboards/*/copy", h_copy, AUTH_USER, BODY_JSON, false},
    {"POST", "/api/v1/dashboards/*/panels", h_add_panel, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/dashboards/*/data", h_data, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/dashboard-pictures", h_pictures, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/dashboard-pictures", h_picture_upload, AUTH_USER, BODY_STREAM, false},
    {"GET", "/api/v1/dashboard-pictures/*/content", h_picture_content, AUTH_USER, BODY_NONE,
     false},
    {"DELETE", "/api/v1/dashboard-pictures/*", h_picture_delete, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
