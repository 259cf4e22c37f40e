/* Routes of computed channels (X1-X4, P8; docs/computed.md): list, create,
 * read, edit, copy, delete; and the test-only route that runs the
 * back-fill now. Rules and access live in svc_computed.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "svc_computed.h"

#define NAME_MAX_CHARS 100
#define UNIT_MAX_CHARS 16
#define EXPRESSION_MAX_CHARS 1000

/* Reply to a failed svc call (an expression error carries its position:
 * 400 expression_error with "position"). */
static int reply_err(http_req *req, const svc_error *e)
{
    return http_reply_svc(req, e);
}

/* Reply "status" with JSON text from svc (takes ownership of "json"). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

/* Reply "status" with computed channel "id" as it is now. */
static int reply_channel(http_req *req, int status, long long id)
{
    svc_actor a = admb_actor(req);
    svc_error e;
    char *json = NULL;
    memset(&e, 0, sizeof e);
    if (svc_cx_get(req->srv->pool, &a, id, &json, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_text(req, status, json);
}

/* "inputs": an array of 1..10 positive integer channel ids, without
 * repeats, into ids[] / *n. Absent (or null) and not "required": *present
 * false. Returns 0, or -1 after replying 400. */
static int json_inputs(http_req *req, bool required, int64_t ids[MT_EXPR_MAX_INPUTS], size_t *n,
                       bool *present)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, "inputs");
    const cJSON *item;
    char msg[160];
    size_t count = 0;
    *n = 0;
    *present = arr != NULL && !cJSON_IsNull(arr);
    if (!*present) {
        if (required) {
            return http_reply_error(req, 400, "missing", "'inputs' is required", "inputs"), -1;
        }
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return http_reply_error(req, 400, "wrong_type",
                                "'inputs' must be an array of channel ids", "inputs"),
               -1;
    }
    count = (size_t)cJSON_GetArraySize(arr);
    if (count < 1 || count > MT_EXPR_MAX_INPUTS) {
        snprintf(msg, sizeof msg, "an expression has 1 to %d input channels (X3), not %zu",
                 MT_EXPR_MAX_INPUTS, count);
        return http_reply_error(req, 400, "invalid_value", msg, "inputs"), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        double v = cJSON_IsNumber(item) ? item->valuedouble : 0;
        if (!(v >= 1 && v <= 9007199254740992.0) || v != (double)(long long)v) {
            snprintf(msg, sizeof msg, "inputs[%zu] must be a channel id (a positive integer)",
                     *n);
            return http_reply_error(req, 400, "wrong_type", msg, "inputs"), -1;
        }
        for (size_t k = 0; k < *n; k++) {
            if (ids[k] == (int64_t)v) {
                snprintf(msg, sizeof msg, "inputs[%zu]: channel %lld is already inputs[%zu]",
                         *n, (long long)v, k);
                return http_reply_error(req, 400, "duplicate", msg, "inputs"), -1;
            }
        }
        ids[(*n)++] = (int64_t)v;
    }
    return 0;
}

/* The definition members of the body into "d" (ids[] holds the inputs). */
static int read_def(http_req *req, bool create, svc_cx_def *d, int64_t ids[MT_EXPR_MAX_INPUTS])
{
    static const char *const allowed[] = {"name", "unit", "expression", "inputs", NULL};
    bool present = false;
    memset(d, 0, sizeof *d);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", NAME_MAX_CHARS, create, false, &d->name) != 0 ||
        admb_json_text(req, req->body, "unit", UNIT_MAX_CHARS, false, true, &d->unit) != 0 ||
        http_json_string(req, req->body, "expression", EXPRESSION_MAX_CHARS, create,
                         &d->expression) != 0 ||
        json_inputs(req, create, ids, &d->n_inputs, &present) != 0) {
        return -1;
    }
    d->inputs = present ? ids : NULL;
    return 0;
}

/* GET /api/v1/groups/{id}/computed */
static int h_list(http_req *req)
{
    svc_actor a = admb_actor(req);
    svc_error e;
    char *json = NULL;
    long long group_id;
    memset(&e, 0, sizeof e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_cx_list(req->srv->pool, &a, group_id, &json, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/groups/{id}/computed {name, unit?, expression, inputs} */
static int h_create(http_req *req)
{
    svc_actor a = admb_actor(req);
    svc_error e;
    svc_cx_def d;
    int64_t ids[MT_EXPR_MAX_INPUTS];
    long long group_id, id = 0;
    memset(&e, 0, sizeof e);
    if (admb_path_id(req, 0, &group_id) != 0 || read_def(req, true, &d, ids) != 0) {
        return req->status;
    }
    if (svc_cx_create(req->srv->pool, &a, group_id, &d, &id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_channel(req, 201, id);
}

/* GET /api/v1/computed/{id} */
static int h_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_channel(req, 200, id);
}

/* PATCH /api/v1/computed/{id} {name?, unit?, expression?, inputs?} */
static int h_update(http_req *req)
{
    svc_actor a = admb_actor(req);
    svc_error e;
    svc_cx_def d;
    int64_t ids[MT_EXPR_MAX_INPUTS];
    long long id;
    memset(&e, 0, sizeof e);
    if (admb_path_id(req, 0, &id) != 0 || read_def(req, false, &d, ids) != 0) {
        return req->status;
    }
    if (svc_cx_update(req->srv->pool, &a, id, &d, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_channel(req, 200, id);
}

/* POST /api/v1/computed/{id}/copy {name?} */
static int h_copy(http_req *req)
{
    static const char *const allowed[] = {"name", NULL};
    svc_actor a = admb_actor(req);
    svc_error e;
    const char *name = NULL;
    long long id, new_id = 0;
    memset(&e, 0, sizeof e);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", NAME_MAX_CHARS, false, false, &name) != 0) {
        return req->status;
    }
    if (svc_cx_copy(req->srv->pool, &a, id, name, &new_id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_channel(req, 201, new_id);
}

/* DELETE /api/v1/computed/{id} */
static int h_delete(http_req *req)
{
    svc_actor a = admb_actor(req);
    svc_error e;
    long long id;
    cJSON *o;
    memset(&e, 0, sizeof e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_cx_delete(req->srv->pool, &a, id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    if ((o = cJSON_CreateObject()) != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "deleted", true);
    }
    return http_reply_json(req, 200, o);
}

const http_route http_routes_computed[] = {
    {"GET", "/api/v1/groups/*/computed", h_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/computed", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/computed/*", h_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/computed/*", h_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/computed/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/computed/*/copy", h_copy, AUTH_USER, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
