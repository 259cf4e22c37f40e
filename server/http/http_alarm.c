/* Routes of alarm settings (R1-R7, P7; docs/alarms.md): list, create,
 * read, edit (enable/disable), copy, delete. Rules and access live in
 * svc_alarm.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "mt/alarm.h"
#include "svc_alarm.h"

/* Reply "status" with JSON text from svc (takes ownership of "json"). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

/* Reply "status" with rule "id" as it is now. */
static int reply_rule(http_req *req, int status, long long id)
{
    svc_error e;
    char *json = NULL;
    svc_error_clear(&e);
    if (svc_alarm_get(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, status, json);
}

/* An integer member within lo..hi: absent or null -> *present false.
 * Returns 0, or -1 after replying 400. */
static int json_int(http_req *req, const char *name, long long lo, long long hi, long long *out,
                    bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, name);
    char msg[160];
    *present = v != NULL && !cJSON_IsNull(v);
    if (!*present) {
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble) {
        snprintf(msg, sizeof msg, "'%s' must be an integer", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        snprintf(msg, sizeof msg, "'%s' must be %lld to %lld", name, lo, hi);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

/* An array member of positive ids ("min".."max" of them): absent or null
 * -> *present false. Returns 0, or -1 after replying 400. */
static int json_ids(http_req *req, const char *name, int min, int max, long long *ids, int *n,
                    bool *present)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, name);
    const cJSON *item;
    char msg[160];
    *n = 0;
    *present = arr != NULL && !cJSON_IsNull(arr);
    if (!*present) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        snprintf(msg, sizeof msg, "'%s' must be an array of ids", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (cJSON_GetArraySize(arr) < min || cJSON_GetArraySize(arr) > max) {
        snprintf(msg, sizeof msg, "'%s' holds %d to %d ids", name, min, max);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        long long id;
        if (!admb_json_id_value(item, &id)) {
            snprintf(msg, sizeof msg, "%s[%d] must be an id (a positive integer)", name, *n);
            return http_reply_error(req, 400, "wrong_type", msg, name), -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

/* A string member that must be one of "values" (NULL-terminated): absent
 * -> *out NULL. Returns 0, or -1 after replying 400. */
static int json_enum(http_req *req, const char *name, const char *const *values,
                     const char *what, const char **out)
{
    if (http_json_string(req, req->body, name, 16, false, out) != 0) {
        return -1;
    }
    if (*out == NULL) {
        return 0;
    }
    for (int i = 0; values[i] != NULL; i++) {
        if (strcmp(*out, values[i]) == 0) {
            return 0;
        }
    }
    {
        char msg[200];
        snprintf(msg, sizeof msg, "'%s' must be %s", name, what);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
}

/* The definition members of the body into "d". */
static int read_def(http_req *req, svc_alarm_def *d)
{
    static const char *const allowed[] = {"name", "kind", "rule", "no_data_minutes", "channels",
                                          "enabled", "severity", "language", "notify_clear",
                                          "repeat_minutes", "special_notice", "check_files",
                                          "destinations", NULL};
    static const char *const kinds[] = {"condition", "no_data", NULL};
    static const char *const severities[] = {"alert", "warning", NULL};
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};
    long long v = 0;
    bool present = false;
    memset(d, 0, sizeof *d);
    d->enabled = d->notify_clear = d->special_notice = d->check_files = -1;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", ALARM_NAME_MAX_CHARS, false, false, &d->name) !=
            0 ||
        json_enum(req, "kind", kinds, "condition or no_data", &d->kind) != 0 ||
        http_json_string(req, req->body, "rule", MT_ALARM_TEXT_MAX, false, &d->rule) != 0 ||
        json_int(req, "no_data_minutes", 1, ALARM_NO_DATA_MAX_MIN, &v, &present) != 0) {
        return -1;
    }
    d->has_no_data_minutes = present;
    d->no_data_minutes = (int)v;
    if (json_ids(req, "channels", 1, 2, d->channels, &d->n_channels, &d->has_channels) != 0 ||
        admb_json_bool(req, req->body, "enabled", &d->enabled) != 0 ||
        json_enum(req, "severity", severities, "alert or warning", &d->severity) != 0 ||
        json_enum(req, "language", langs, "one of zh-CN, ja, en, es, fr, de, it", &d->language) !=
            0 ||
        admb_json_bool(req, req->body, "notify_clear", &d->notify_clear) != 0 ||
        json_int(req, "repeat_minutes", 0, ALARM_REPEAT_MAX_MIN, &v, &d->has_repeat) != 0) {
        return -1;
    }
    d->repeat_minutes = (int)v;
    if (admb_json_bool(req, req->body, "special_notice", &d->special_notice) != 0 ||
        admb_json_bool(req, req->body, "check_files", &d->check_files) != 0 ||
        json_ids(req, "destinations", 0, ALARM_DEST_MAX, d->destinations, &d->n_destinations,
                 &d->has_destinations) != 0) {
        return -1;
    }
    if (d->has_channels && d->n_channels == 2 && d->channels[0] == d->channels[1]) {
        return http_reply_error(req, 400, "duplicate",
                                "channels[1] is channels[0]: a rule over one channel has one "
                                "channel (both conditions may name CH1)",
                                "channels"),
               -1;
    }
    return 0;
}

/* GET /api/v1/groups/{id}/alarms */
static int h_list(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_alarm_list(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/groups/{id}/alarms */
static int h_create(http_req *req)
{
    svc_error e;
    svc_alarm_def d;
    long long group_id, id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0 || read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_alarm_create(&req->actor, group_id, &d, &id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 201, id);
}

/* GET /api/v1/alarms/{id} */
static int h_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_rule(req, 200, id);
}

/* PATCH /api/v1/alarms/{id} */
static int h_update(http_req *req)
{
    svc_error e;
    svc_alarm_def d;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_alarm_update(&req->actor, id, &d, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 200, id);
}

/* POST /api/v1/alarms/{id}/copy {name?} */
static int h_copy(http_req *req)
{
    static const char *const allowed[] = {"name", NULL};
    svc_error e;
    const char *name = NULL;
    long long id, new_id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", ALARM_NAME_MAX_CHARS, false, false, &name) != 0) {
        return req->status;
    }
    if (svc_alarm_copy(&req->actor, id, name, &new_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 201, new_id);
}

/* DELETE /api/v1/alarms/{id} */
static int h_delete(http_req *req)
{
    svc_error e;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_alarm_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

const http_route http_routes_alarm[] = {
    {"GET", "/api/v1/groups/*/alarms", h_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/alarms", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/alarms/*", h_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/alarms/*", h_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/alarms/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/alarms/*/copy", h_copy, AUTH_USER, BODY_JSON, false},
    {NULL}};
