/* Routes of the gateway side of apps (docs/gateway.md, docs/ingest.md):
 *
 *   app credential (Authorization: Bearer mta_...):
 *     PUT  /api/v1/ingest/devices        the app reports its instruments
 *     GET  /api/v1/ingest/requests       what the server asks of it, live_until
 *     POST /api/v1/ingest/requests/{id}  its answer to one request
 *   signed-in users:
 *     POST /api/v1/apps/{id}/self-check  ask the app for its self-check (M4)
 *     GET  /api/v1/apps/{id}/requests[/{rid}]  the requests and their answers
 *
 * App routes are AUTH_APP in the route table, like the ingestion routes:
 * http.c checks the credential before it reads the body, and the service
 * (svc_gateway.c) checks it again with the work. */
#include "http.h"
#include "http_admin_args.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_svc.h"
#include "svc_gateway.h"

static const char *credential_of(const http_req *req)
{
    const char *authz = http_header(req, "Authorization");
    if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0) {
        return NULL;
    }
    authz += 7;
    while (*authz == ' ') {
        authz++;
    }
    return authz;
}

/* Reply 200 with the JSON text "json" (taken and freed). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc;
    if (json == NULL) {
        return http_reply_error(req, 500, "internal_error", "no reply was made", NULL);
    }
    rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

/* Path parameter "i" as a positive id; anything else answers 404. */
static int path_id(http_req *req, int i, long long *out)
{
    if (!http_id_text(req->params[i], out)) {
        http_reply_error(req, 404, "not_found", "no such object", NULL);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------- instrument report */

/* Member "name" of "o" as a string of at most "max" bytes of printable text
 * into *out ("" when absent and not "required"). Replies 400 naming
 * "where.name" and returns -1 when it is not one. */
static int member_str(http_req *req, const cJSON *o, const char *name, size_t max,
                      bool required, const char *where, const char **out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    char field[96], msg[160];
    snprintf(field, sizeof field, "%s.%s", where, name);
    *out = "";
    if (m == NULL) {
        if (!required) {
            return 0;
        }
        snprintf(msg, sizeof msg, "%s: missing", field);
        http_reply_error(req, 400, "missing", msg, field);
        return -1;
    }
    if (!cJSON_IsString(m)) {
        snprintf(msg, sizeof msg, "%s: expected a string", field);
        http_reply_error(req, 400, "wrong_type", msg, field);
        return -1;
    }
    if (strlen(m->valuestring) > max) {
        snprintf(msg, sizeof msg, "%s: at most %zu bytes", field, max);
        http_reply_error(req, 400, "too_long", msg, field);
        return -1;
    }
    for (const unsigned char *p = (const unsigned char *)m->valuestring; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(msg, sizeof msg, "%s: control characters are not allowed", field);
            http_reply_error(req, 400, "invalid_value", msg, field);
            return -1;
        }
    }
    *out = m->valuestring;
    return 0;
}

/* Refuse members of "o" other than "allowed" (NULL-terminated), naming
 * "where.member". */
static int only_members(http_req *req, const cJSON *o, const char *const *allowed,
                        const char *where)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o) {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++) {
            ok = strcmp(m->string, allowed[i]) == 0;
        }
        if (!ok) {
            char field[128], msg[200];
            snprintf(field, sizeof field, "%s.%.40s", where, m->string);
            snprintf(msg, sizeof msg, "unknown field '%s'", field);
            return http_reply_error(req, 400, "unknown_field", msg, field), -1;
        }
    }
    return 0;
}

/* PUT /api/v1/ingest/devices {"devices": [{model, serial, firmware?, name?,
 * channels: [{key, name?, unit?}]}]} -> the channel table. */
static int h_report(http_req *req)
{
    static const char *const top[] = {"devices", NULL};
    static const char *const dev_members[] = {"model", "serial", "firmware", "name", "channels",
                                              NULL};
    static const char *const ch_members[] = {"key", "name", "unit", NULL};
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(req->body, "devices"), *d;
    svc_gw_device *dev = NULL;
    svc_gw_channel *chs = NULL;
    size_t n = 0, n_ch = 0, used = 0;
    char *table = NULL;
    svc_error err;
    int rc;

    if (credential_of(req) == NULL) {
        return http_reply_error(req, 401, "unauthenticated",
                                "send the app credential as Authorization: Bearer mta_...", NULL);
    }
    if (http_json_fields(req, req->body, top, NULL) != 0) {
        return req->status;
    }
    if (!cJSON_IsArray(devs)) {
        return http_reply_error(req, 400, devs == NULL ? "missing" : "wrong_type",
                                "devices: expected an array of instruments", "devices");
    }
    n = (size_t)cJSON_GetArraySize(devs);
    if (n > SVC_GW_DEVICES_MAX) {
        return http_reply_error(req, 413, "too_large",
                                "a report holds at most 100 devices", "devices");
    }
    /* Count the channels first: one allocation for all (never on the
     * worker's stack). */
    cJSON_ArrayForEach(d, devs) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "channels");
        size_t k = cJSON_IsArray(c) ? (size_t)cJSON_GetArraySize(c) : 0;
        if (k > SVC_GW_CHANNELS_MAX) {
            return http_reply_error(req, 413, "too_large",
                                    "a device reports at most 1000 channels", "devices");
        }
        n_ch += k;
    }
    dev = calloc(n > 0 ? n : 1, sizeof *dev);
    chs = calloc(n_ch > 0 ? n_ch : 1, sizeof *chs);
    if (dev == NULL || chs == NULL) {
        rc = http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                              NULL);
        goto out;
    }
    n = 0;
    cJSON_ArrayForEach(d, devs) {
        svc_gw_device *x = &dev[n];
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(d, "channels"), *c;
        char where[48];
        snprintf(where, sizeof where, "devices[%zu]", n);
        if (!cJSON_IsObject(d)) {
            rc = http_reply_error(req, 400, "wrong_type", "expected an object", where);
            goto out;
        }
        if (only_members(req, d, dev_members, where) != 0 ||
            member_str(req, d, "model", 32, true, where, &x->model) != 0 ||
            member_str(req, d, "serial", 64, true, where, &x->serial) != 0 ||
            member_str(req, d, "firmware", 32, false, where, &x->firmware) != 0 ||
            member_str(req, d, "name", 100, false, where, &x->name) != 0) {
            rc = req->status;
            goto out;
        }
        if (list != NULL && !cJSON_IsArray(list)) {
            char field[64];
            snprintf(field, sizeof field, "%s.channels", where);
            rc = http_reply_error(req, 400, "wrong_type", "expected an array of channels",
                                  field);
            goto out;
        }
        x->ch = chs + used;
        cJSON_ArrayForEach(c, list) {
            svc_gw_channel *y = &chs[used];
            char cw[64];
            snprintf(cw, sizeof cw, "%s.channels[%zu]", where, x->n_ch);
            if (!cJSON_IsObject(c)) {
                rc = http_reply_error(req, 400, "wrong_type", "expected an object", cw);
                goto out;
            }
            if (only_members(req, c, ch_members, cw) != 0 ||
                member_str(req, c, "key", 32, true, cw, &y->key) != 0 ||
                member_str(req, c, "name", 100, false, cw, &y->name) != 0 ||
                member_str(req, c, "unit", 16, false, cw, &y->unit) != 0) {
                rc = req->status;
                goto out;
            }
            used++;
            x->n_ch++;
        }
        n++;
    }
    if (svc_gw_report(req->srv, credential_of(req), http_client_ip(req), dev, n, &table,
                      &err) != SVC_OK) {
        rc = http_reply_svc(req, &err);
        goto out;
    }
    rc = reply_text(req, 200, table);
out:
    free(dev);
    free(chs);
    return rc;
}

/* --------------------------------------------------------- requests (app) */

/* GET /api/v1/ingest/requests */
static int h_pending(http_req *req)
{
    char *json = NULL;
    svc_error err;
    if (svc_gw_pending(req->srv, credential_of(req), &json, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/ingest/requests/{id} {"ok": bool, "message"?: text, "result"?: object} */
static int h_answer(http_req *req)
{
    static const char *const allowed[] = {"ok", "message", "result", NULL};
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(req->body, "ok");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(req->body, "result");
    const char *message = NULL;
    char *result_text = NULL;
    long long id;
    svc_error err;
    int rc;
    if (credential_of(req) == NULL) {
        return http_reply_error(req, 401, "unauthenticated",
                                "send the app credential as Authorization: Bearer mta_...", NULL);
    }
    if (path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "message", 300, false, &message) != 0) {
        return req->status;
    }
    if (!cJSON_IsBool(ok)) {
        return http_reply_error(req, 400, ok == NULL ? "missing" : "wrong_type",
                                "ok: true when the request was carried out, else false", "ok");
    }
    if (result != NULL && !cJSON_IsObject(result)) {
        return http_reply_error(req, 400, "wrong_type", "result: expected an object", "result");
    }
    if (result != NULL && (result_text = cJSON_PrintUnformatted(result)) == NULL) {
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    if (svc_gw_answer(req->srv, credential_of(req), id, cJSON_IsTrue(ok),
                      message != NULL ? message : "", result_text, &err) != SVC_OK) {
        rc = http_reply_svc(req, &err);
    } else {
        cJSON *o = cJSON_CreateObject();
        if (o != NULL) {
            cJSON_AddNumberToObject(o, "id", (double)id);
            cJSON_AddStringToObject(o, "state", cJSON_IsTrue(ok) ? "done" : "failed");
        }
        rc = http_reply_json(req, 200, o);
    }
    free(result_text);
    return rc;
}

/* -------------------------------------------------------- requests (user) */

/* POST /api/v1/apps/{id}/self-check */
static int h_self_check(http_req *req)
{
    long long app_id;
    char *json = NULL;
    svc_error err;
    if (path_id(req, 0, &app_id) != 0) {
        return req->status;
    }
    if (svc_gw_self_check(&req->actor, app_id, &json, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return reply_text(req, 202, json);
}

/* GET /api/v1/apps/{id}/requests and /api/v1/apps/{id}/requests/{rid} */
static int h_requests(http_req *req)
{
    long long app_id, rid = 0;
    char *json = NULL;
    svc_error err;
    if (path_id(req, 0, &app_id) != 0 || (req->n_params > 1 && path_id(req, 1, &rid) != 0)) {
        return req->status;
    }
    if (svc_gw_requests(&req->actor, app_id, rid, &json, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/devices/{id}/firmware-upgrade {"firmware": "V2.40"} (M6) */
static int h_firmware(http_req *req)
{
    static const char *const allowed[] = {"firmware", NULL};
    const char *firmware = NULL;
    long long device_id;
    char *json = NULL;
    svc_error err;
    if (path_id(req, 0, &device_id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "firmware", 32, true, &firmware) != 0) {
        return req->status;
    }
    if (svc_gw_firmware_upgrade(&req->actor, device_id, firmware, &json, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return reply_text(req, 202, json);
}

const http_route http_routes_gateway[] = {
    {"POST", "/api/v1/devices/*/firmware-upgrade", h_firmware, AUTH_ADMIN, BODY_JSON, false},
    {"PUT", "/api/v1/ingest/devices", h_report, AUTH_APP, BODY_JSON, false},
    {"GET", "/api/v1/ingest/requests", h_pending, AUTH_APP, BODY_NONE, false},
    {"POST", "/api/v1/ingest/requests/*", h_answer, AUTH_APP, BODY_JSON, false},
    {"POST", "/api/v1/apps/*/self-check", h_self_check, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/apps/*/requests", h_requests, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/apps/*/requests/*", h_requests, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
