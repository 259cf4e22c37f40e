#define _POSIX_C_SOURCE 200809L
#include "http_admin_args.h"

#include <civetweb.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmp.h"
#include "auth.h"
#include "http_svc.h"

#define ID_LIST_MAX 1000

svc_actor admin_actor(const http_req *req)
{
    return req->actor;
}

bool admin_language_known(const char *s)
{
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it"};
    for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
        if (strcmp(s, langs[i]) == 0) {
            return true;
        }
    }
    return false;
}

int admin_reply(http_req *req, int ok_status, svc_status st, cJSON **obj, const svc_error *e)
{
    cJSON *o = *obj;
    *obj = NULL;
    if (st != SVC_OK) {
        cJSON_Delete(o);
        return http_reply_svc(req, e);
    }
    if (o == NULL) {
        o = cJSON_CreateObject();
        if (o != NULL) {
            cJSON_AddBoolToObject(o, "ok", 1);
        }
    }
    return http_reply_json(req, ok_status, o);
}

bool http_id_text(const char *s, long long *out)
{
    long long v = 0;
    size_t n = 0;
    if (s == NULL || *s < '1' || *s > '9') {
        return false;
    }
    for (; s[n] != '\0'; n++) {
        if (n >= 18 || s[n] < '0' || s[n] > '9') {
            return false;
        }
        v = v * 10 + (s[n] - '0');
    }
    *out = v;
    return true;
}

int admin_id(http_req *req, int i, long long *out)
{
    if (!http_id_text(i < req->n_params ? req->params[i] : NULL, out)) {
        return http_reply_error(req, 404, "not_found", "no such object", NULL), -1;
    }
    return 0;
}

int admin_bool(http_req *req, const char *name, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(req->body, name);
    char msg[120];
    *out = -1;
    if (item == NULL) {
        return 0;
    }
    if (!cJSON_IsBool(item)) {
        snprintf(msg, sizeof msg, "'%.40s' must be true or false", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    *out = cJSON_IsTrue(item) ? 1 : 0;
    return 0;
}

int admin_int(http_req *req, const char *name, bool required, long long min, long long max,
              long long *out, bool *present)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(req->body, name);
    char msg[160];
    *present = false;
    *out = 0;
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            snprintf(msg, sizeof msg, "'%.40s' is required", name);
            return http_reply_error(req, 400, "missing", msg, name), -1;
        }
        return 0;
    }
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
        fabs(item->valuedouble) > 9.0e15) {
        snprintf(msg, sizeof msg, "'%.40s' must be an integer", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (item->valuedouble < (double)min || item->valuedouble > (double)max) {
        snprintf(msg, sizeof msg, "'%.40s' must be %lld..%lld", name, min, max);
        return http_reply_error(req, 400, "out_of_range", msg, name), -1;
    }
    *out = (long long)item->valuedouble;
    *present = true;
    return 0;
}

int admin_nullable_string(http_req *req, const char *name, size_t max_chars, bool *set,
                          const char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(req->body, name);
    *set = item != NULL;
    *out = NULL;
    if (item == NULL || cJSON_IsNull(item)) {
        return 0;
    }
    return http_json_string(req, req->body, name, max_chars, false, out);
}

int admin_id_list(http_req *req, const cJSON *arr, const char *field, int64_t **ids, size_t *n)
{
    int count = cJSON_GetArraySize(arr), i = 0;
    int64_t *sorted;
    char msg[160];
    const cJSON *item;
    *ids = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        snprintf(msg, sizeof msg, "'%.40s' must be an array of ids", field);
        return http_reply_error(req, 400, "wrong_type", msg, field), -1;
    }
    if (count > ID_LIST_MAX) {
        snprintf(msg, sizeof msg, "'%.40s' has more than %d ids", field, ID_LIST_MAX);
        return http_reply_error(req, 400, "too_long", msg, field), -1;
    }
    *ids = calloc((size_t)count + 1, sizeof **ids);
    sorted = calloc((size_t)count + 1, sizeof *sorted);
    if (*ids == NULL || sorted == NULL) {
        free(*ids);
        free(sorted);
        *ids = NULL;
        return http_reply_error(req, 500, "internal_error", "internal error", NULL), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) ||
            item->valuedouble < 1 || item->valuedouble > 9.0e15) {
            free(*ids);
            free(sorted);
            *ids = NULL;
            snprintf(msg, sizeof msg, "'%.40s' must be an array of positive integer ids",
                     field);
            return http_reply_error(req, 400, "wrong_type", msg, field), -1;
        }
        (*ids)[i] = sorted[i] = (int64_t)item->valuedouble;
        i++;
    }
    qsort(sorted, (size_t)count, sizeof *sorted, cmp_i64);
    for (int k = 1; k < count; k++) {
        if (sorted[k] == sorted[k - 1]) {
            long long dup = (long long)sorted[k];
            free(*ids);
            free(sorted);
            *ids = NULL;
            snprintf(msg, sizeof msg, "'%.40s' lists id %lld twice", field, dup);
            return http_reply_error(req, 400, "duplicate", msg, field), -1;
        }
    }
    free(sorted);
    *n = (size_t)count;
    return 0;
}
