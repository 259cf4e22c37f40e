/* Routes of exports of acquired data (M5, D3, V3; docs/export.md and
 * docs/api/openapi.yaml):
 *
 *   POST   /api/v1/exports                 start one: 202 {id, status, progress, ...}
 *   GET    /api/v1/exports                 the user's recent exports
 *   GET    /api/v1/exports/{id}            status, progress, download_url when done
 *   DELETE /api/v1/exports/{id}            cancel and remove
 *   GET    /api/v1/exports/{id}/download   public: the file, for a signed URL
 *
 * The download is written here with mg_write() (http.c's replies are JSON
 * only): the headers, then the file in chunks. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "http.h"
#include "http_admin_args.h"
#include "http_svc.h"
#include "http_query.h"
#include "log.h"
#include "svc_export.h"

#define CHUNK (64 * 1024)

static int reply_err(http_req *req, const svc_error *e)
{
    return http_reply_svc(req, e);
}

/* Path parameter 0 as a positive id; -1 after replying 404 otherwise. */
static int path_id(http_req *req, long long *out)
{
    long long id = 0;
    if (!http_id_text(req->params[0], &id)) {
        return http_reply_error(req, 404, "not_found", "no such export", NULL), -1;
    }
    *out = id;
    return 0;
}

/* POST /api/v1/exports {channels, from, to, format, time_zone?} */
static int h_create(http_req *req)
{
    static const char *const allowed[] = {"channels", "from", "to", "format", "time_zone", NULL};
    int64_t ids[EXPORT_MAX_CHANNELS];
    long long t0, t1;
    const char *format = NULL, *tz = NULL;
    const svc_actor *a = &req->actor;
    export_request rq;
    svc_error e = {0};
    cJSON *out = NULL;
    int n;

    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        (n = hq_json_channels(req, req->body, "channels", ids)) < 0 ||
        hq_json_range(req, req->body, &t0, &t1) != 0 ||
        http_json_string(req, req->body, "format", 8, true, &format) != 0 ||
        http_json_string(req, req->body, "time_zone", 64, false, &tz) != 0) {
        return req->status;
    }
    if (strcmp(format, "csv") != 0 && strcmp(format, "hok") != 0 && strcmp(format, "hok2") != 0) {
        return http_reply_error(req, 400, "invalid_value",
                                "format: expected \"csv\", \"hok\" or \"hok2\"", "format");
    }
    rq.format = format;
    rq.ch = ids;
    rq.n_ch = (size_t)n;
    rq.t0 = t0;
    rq.t1 = t1;
    rq.time_zone = tz;
    if (svc_export_create(req->srv, a, &rq, &out, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 202, out);
}

/* GET /api/v1/exports */
static int h_list(http_req *req)
{
    const svc_actor *a = &req->actor;
    svc_error e = {0};
    cJSON *out = NULL;
    if (svc_export_list(req->srv, a, &out, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* GET /api/v1/exports/{id} */
static int h_get(http_req *req)
{
    const svc_actor *a = &req->actor;
    svc_error e = {0};
    cJSON *out = NULL;
    long long id;
    if (path_id(req, &id) != 0) {
        return req->status;
    }
    if (svc_export_get(req->srv, a, id, &out, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* DELETE /api/v1/exports/{id} */
static int h_delete(http_req *req)
{
    const svc_actor *a = &req->actor;
    svc_error e = {0};
    cJSON *o;
    long long id;
    if (path_id(req, &id) != 0) {
        return req->status;
    }
    if (svc_export_delete(req->srv, a, id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddBoolToObject(o, "deleted", true);
    return http_reply_json(req, 200, o);
}

/* A query integer for the signed URL; false when absent or malformed. */
static bool q_ll(const http_req *req, const char *name, long long *out)
{
    char buf[32], *end = NULL;
    int n = http_query(req, name, buf, sizeof buf);
    if (n <= 0) {
        return false;
    }
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno == 0 && end != NULL && *end == '\0' && *out > 0;
}

/* GET /api/v1/exports/{id}/download?account=&expires=&sig= (public: the
 * signature is the authority). */
static int h_download(http_req *req)
{
    long long id = 0, account = 0, expires = 0;
    char sig[80];
    export_file f;
    svc_error e = {0};

    if (path_id(req, &id) != 0) {
        return req->status;
    }
    if (!q_ll(req, "account", &account) || !q_ll(req, "expires", &expires) ||
        http_query(req, "sig", sig, sizeof sig) != 64) {
        return http_reply_error(req, 403, "invalid_signature",
                                "this download link is not valid (account, expires and sig are "
                                "required)",
                                NULL);
    }
    if (svc_export_download(req->srv, id, account, expires, sig, &f, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_blob(req, &f.blob, f.content_type, f.filename);
}

const http_route http_routes_export[] = {
    {"POST", "/api/v1/exports", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/exports", h_list, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/exports/*", h_get, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/exports/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/exports/*/download", h_download, AUTH_PUBLIC, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
