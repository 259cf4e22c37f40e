/* Helpers shared by the administration routes (see http_admin_rows.h). */
#define _POSIX_C_SOURCE 200809L
#include "http_admin_rows.h"

#include <civetweb.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http_admin_args.h"
#include "http_svc.h"

svc_actor admb_actor(const http_req *req)
{
    return req->actor;
}

static bool parse_id(const char *s, long long *out)
{
    char *end;
    long long v;
    if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 19) {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0) {
        return false;
    }
    *out = v;
    return true;
}

int admb_path_id(http_req *req, int i, long long *out)
{
    if (i >= req->n_params || !parse_id(req->params[i], out)) {
        http_reply_error(req, 404, "not_found", "no such item", NULL);
        return -1;
    }
    return 0;
}

int admb_reply_err(http_req *req, const svc_error *e)
{
    return http_reply_svc(req, e);
}

int admb_json_bool(http_req *req, const cJSON *obj, const char *name, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    char msg[96];
    *out = -1;
    if (item == NULL || cJSON_IsNull(item)) {
        return 0;
    }
    if (!cJSON_IsBool(item)) {
        snprintf(msg, sizeof msg, "'%.40s' must be true or false", name);
        http_reply_error(req, 400, "wrong_type", msg, name);
        return -1;
    }
    *out = cJSON_IsTrue(item) ? 1 : 0;
    return 0;
}

/* Whether the JSON number "item" is an integer in 1..2^53. */
bool admb_json_id_value(const cJSON *item, long long *out)
{
    double d;
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    d = item->valuedouble;
    if (!(d >= 1 && d <= 9007199254740992.0) || d != (double)(long long)d) {
        return false;
    }
    *out = (long long)d;
    return true;
}

int admb_json_id(http_req *req, const cJSON *obj, const char *name, bool nullable,
                 long long *out, bool *present)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    char msg[96];
    *out = 0;
    *present = item != NULL;
    if (item == NULL || (nullable && cJSON_IsNull(item))) {
        return 0;
    }
    if (!admb_json_id_value(item, out)) {
        snprintf(msg, sizeof msg, "'%.40s' must be a positive integer id%s", name,
                 nullable ? " or null" : "");
        http_reply_error(req, 400, "wrong_type", msg, name);
        return -1;
    }
    return 0;
}

int admb_json_text(http_req *req, const cJSON *obj, const char *name, size_t max_chars,
                   bool required, bool allow_empty, const char **out)
{
    char msg[96];
    bool blank = true;
    if (http_json_string(req, obj, name, max_chars, required, out) != 0) {
        return -1;
    }
    if (*out == NULL) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)*out; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(msg, sizeof msg, "'%.40s' must not contain control characters", name);
            http_reply_error(req, 400, "invalid_value", msg, name);
            return -1;
        }
        blank = blank && *p == ' ';
    }
    if (!allow_empty && blank) {
        snprintf(msg, sizeof msg, "'%.40s' must not be empty", name);
        http_reply_error(req, 400, "invalid_value", msg, name);
        return -1;
    }
    return 0;
}

void admb_query_str(const http_req *req, const char *name, char *out, size_t cap)
{
    const char *qs = req->ri->query_string;
    out[0] = '\0';
    if (qs == NULL || mg_get_var(qs, strlen(qs), name, out, cap) < 0) {
        out[0] = '\0';
    }
}

int admb_query_int(http_req *req, const char *name, long long lo, long long hi, long long def,
                   long long *out)
{
    char val[32], *end, msg[120];
    long long v;
    admb_query_str(req, name, val, sizeof val);
    if (val[0] == '\0') {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtoll(val, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        snprintf(msg, sizeof msg, "'%.20s' must be an integer from %lld to %lld", name, lo, hi);
        http_reply_error(req, 400, "invalid_value", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

int admb_reply_deleted(http_req *req, long long id)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "deleted", true);
    }
    return http_reply_json(req, 200, o);
}
