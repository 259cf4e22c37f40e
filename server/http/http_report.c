/* Routes of reports (T1, T2, P17; docs/reports.md): settings per group,
 * reports by hand for a past period, runs and their files. Rules, access
 * and the work live in svc_report.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http.h"
#include "http_admin_rows.h"
#include "http_report.h"
#include "http_svc.h"
#include "jobs.h"
#include "report_worker.h"
#include "svc_report.h"

/* Reply "status" with JSON text from svc (takes ownership of "json"). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

static int reply_report(http_req *req, int status, long long id)
{
    svc_error e;
    char *json = NULL;
    svc_error_clear(&e);
    if (svc_report_get(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, status, json);
}

static int reply_run(http_req *req, int status, long long id)
{
    svc_error e;
    char *json = NULL;
    svc_error_clear(&e);
    if (svc_report_run_get(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, status, json);
}

/* An array member of 0..max positive ids of "obj": absent or null ->
 * *present false; duplicates refused. Returns 0, or -1 after replying. */
static int json_ids(http_req *req, const cJSON *obj, const char *name, const char *field,
                    int max, long long *ids, int *n, bool *present)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name);
    const cJSON *item;
    char msg[200];
    *n = 0;
    *present = arr != NULL && !cJSON_IsNull(arr);
    if (!*present) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        snprintf(msg, sizeof msg, "'%s' must be an array of ids", field);
        return http_reply_error(req, 400, "wrong_type", msg, field), -1;
    }
    if (cJSON_GetArraySize(arr) > max) {
        snprintf(msg, sizeof msg, "'%s' holds at most %d ids", field, max);
        return http_reply_error(req, 400, "invalid_value", msg, field), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        long long id;
        if (!admb_json_id_value(item, &id)) {
            snprintf(msg, sizeof msg, "%s[%d] must be an id (a positive integer)", field, *n);
            return http_reply_error(req, 400, "wrong_type", msg, field), -1;
        }
        for (int k = 0; k < *n; k++) {
            if (ids[k] == id) {
                snprintf(msg, sizeof msg, "%s[%d]: %lld is already %s[%d]", field, *n, id, field,
                         k);
                return http_reply_error(req, 400, "duplicate", msg, field), -1;
            }
        }
        ids[(*n)++] = id;
    }
    return 0;
}

/* A string member that must be one of "values" (NULL-terminated). */
static int json_enum(http_req *req, const char *name, const char *const *values,
                     const char *what, const char **out)
{
    char msg[200];
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
    snprintf(msg, sizeof msg, "'%s' must be %s", name, what);
    return http_reply_error(req, 400, "invalid_value", msg, name), -1;
}

/* "formats": ["pdf", "xlsx", "csv"] (1 to 3, no repeats). */
static int json_formats(http_req *req, svc_report_def *d)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, "formats");
    const cJSON *item;
    d->has_formats = arr != NULL && !cJSON_IsNull(arr);
    if (!d->has_formats) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        return http_reply_error(req, 400, "wrong_type",
                                "'formats' must be an array of pdf, xlsx, csv", "formats"),
               -1;
    }
    if (cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > 3) {
        return http_reply_error(req, 400, "invalid_value", "'formats' names 1 to 3 formats",
                                "formats"),
               -1;
    }
    d->formats = 0;
    cJSON_ArrayForEach(item, arr)
    {
        const char *s = cJSON_GetStringValue(item);
        int bit = s == NULL                  ? 0
                  : strcmp(s, "pdf") == 0  ? REPORT_FMT_PDF
                  : strcmp(s, "xlsx") == 0 ? REPORT_FMT_XLSX
                  : strcmp(s, "csv") == 0  ? REPORT_FMT_CSV
                                           : 0;
        if (bit == 0) {
            return http_reply_error(req, 400, "invalid_value",
                                    "each of 'formats' is pdf, xlsx or csv", "formats"),
                   -1;
        }
        if (d->formats & bit) {
            return http_reply_error(req, 400, "duplicate", "'formats' names a format twice",
                                    "formats"),
                   -1;
        }
        d->formats |= bit;
    }
    return 0;
}

/* "recipients": {"users": [ids], "system": [ids]}. */
static int json_recipients(http_req *req, svc_report_def *d)
{
    static const char *const allowed[] = {"users", "system", NULL};
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(req->body, "recipients");
    if (o == NULL || cJSON_IsNull(o)) {
        return 0;
    }
    if (!cJSON_IsObject(o)) {
        return http_reply_error(req, 400, "wrong_type",
                                "'recipients' must be an object {users, system}", "recipients"),
               -1;
    }
    if (http_json_fields(req, o, allowed, "recipients") != 0 ||
        json_ids(req, o, "users", "recipients.users", REPORT_RCPT_MAX, d->users, &d->n_users,
                 &d->has_users) != 0 ||
        json_ids(req, o, "system", "recipients.system", REPORT_RCPT_MAX, d->system,
                 &d->n_system, &d->has_system) != 0) {
        return -1;
    }
    return 0;
}

int http_report_read_def(http_req *req, svc_report_def *d)
{
    static const char *const allowed[] = {"name", "period", "channels", "summary", "charts",
                                          "alarms", "language", "formats", "recipients",
                                          "auto_enabled", NULL};
    static const char *const periods[] = {"day", "week", "month", NULL};
    static const char *const charts[] = {"none", "per_channel", "overlaid", NULL};
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};
    memset(d, 0, sizeof *d);
    d->summary = d->alarms = d->auto_enabled = -1;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", REPORT_NAME_MAX_CHARS, false, false, &d->name) !=
            0 ||
        json_enum(req, "period", periods, "day, week or month", &d->period) != 0 ||
        json_ids(req, req->body, "channels", "channels", REPORT_CH_MAX, d->channels,
                 &d->n_channels, &d->has_channels) != 0 ||
        admb_json_bool(req, req->body, "summary", &d->summary) != 0 ||
        json_enum(req, "charts", charts, "none, per_channel or overlaid", &d->charts) != 0 ||
        admb_json_bool(req, req->body, "alarms", &d->alarms) != 0 ||
        json_enum(req, "language", langs, "one of zh-CN, ja, en, es, fr, de, it", &d->language) !=
            0 ||
        json_formats(req, d) != 0 || json_recipients(req, d) != 0 ||
        admb_json_bool(req, req->body, "auto_enabled", &d->auto_enabled) != 0) {
        return -1;
    }
    if (d->has_channels && d->n_channels == 0) {
        return http_reply_error(req, 400, "invalid_value", "'channels' holds 1 to 32 channel ids",
                                "channels"),
               -1;
    }
    return 0;
}

/* GET /api/v1/groups/{id}/reports */
static int h_list(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_report_list(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/groups/{id}/reports */
static int h_create(http_req *req)
{
    svc_error e;
    svc_report_def d;
    long long group_id, id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0 || http_report_read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_report_create(&req->actor, group_id, &d, &id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_report(req, 201, id);
}

/* GET /api/v1/reports/{id} */
static int h_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_report(req, 200, id);
}

/* PATCH /api/v1/reports/{id} */
static int h_update(http_req *req)
{
    svc_error e;
    svc_report_def d;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_report_read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_report_update(&req->actor, id, &d, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_report(req, 200, id);
}

/* DELETE /api/v1/reports/{id} */
static int h_delete(http_req *req)
{
    svc_error e;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_report_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

int http_report_read_run(http_req *req, const char **date, const char **from, const char **to)
{
    static const char *const allowed[] = {"date", "from", "to", NULL};
    *date = *from = *to = NULL;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "date", 10, false, date) != 0 ||
        http_json_string(req, req->body, "from", 10, false, from) != 0 ||
        http_json_string(req, req->body, "to", 10, false, to) != 0) {
        return -1;
    }
    return 0;
}

/* POST /api/v1/reports/{id}/runs {date} | {from, to}: 202 with the run. */
static int h_run_create(http_req *req)
{
    svc_error e;
    const char *date = NULL, *from = NULL, *to = NULL;
    long long id, run_id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_report_read_run(req, &date, &from, &to) != 0) {
        return req->status;
    }
    if (svc_report_run_create(&req->actor, id, date, from, to, &run_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    report_worker_wake();
    return reply_run(req, 202, run_id);
}

/* GET /api/v1/reports/{id}/runs?before=&limit= */
static int h_runs(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long id, before = 0, limit = 20;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 ||
        admb_query_int(req, "before", 1, (1LL << 53), 0, &before) != 0 ||
        admb_query_int(req, "limit", 1, 100, 20, &limit) != 0) {
        return req->status;
    }
    if (svc_report_runs(&req->actor, id, before, (int)limit, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* GET /api/v1/report-runs/{id} */
static int h_run_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_run(req, 200, id);
}

/* POST /api/v1/report-runs/{id}/retry: a failed run queued again. */
static int h_run_retry(http_req *req)
{
    svc_error e;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_report_run_retry(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    report_worker_wake();
    return reply_run(req, 202, id);
}

const http_route http_routes_report[] = {
    {"GET", "/api/v1/groups/*/reports", h_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/reports", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/reports/*", h_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/reports/*", h_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/reports/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/reports/*/runs", h_run_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/reports/*/runs", h_runs, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/report-runs/*", h_run_get, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/report-runs/*/retry", h_run_retry, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
