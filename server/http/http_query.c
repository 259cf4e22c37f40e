/* Parameters shared by the acquired-data routes (see http_query.h). */
#include "http_query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_data.h"

/* Range of "from" and "to" themselves: far enough either side of any
 * sample (ingestion starts at 2000-01-01) to give "invalid_value" rather than an
 * overflow. */
#define HQ_T_LIMIT (HQ_MAX_SPAN_US * 4)

int hq_int(http_req *req, const char *name, long long lo, long long hi, bool def_ok,
           long long def, long long *out)
{
    char buf[32], msg[160], *end = NULL;
    int n = http_query(req, name, buf, sizeof buf);
    long long v;
    if (n == -1 && def_ok) {
        *out = def;
        return 0;
    }
    if (n == -1) {
        snprintf(msg, sizeof msg, "%s is required", name);
        return http_reply_error(req, 400, "missing", msg, name), -1;
    }
    errno = 0;
    v = n > 0 ? strtoll(buf, &end, 10) : 0;
    if (n <= 0 || errno != 0 || end == NULL || *end != '\0' || v < lo || v > hi) {
        snprintf(msg, sizeof msg, "%s: expected an integer %lld..%lld", name, lo, hi);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    *out = v;
    return 0;
}

/* Add channel "v" as the "count"-th id of "ids", checking the list rules.
 * Returns 0, or -1 after replying. */
static int add_channel(http_req *req, const char *field, int64_t *ids, int count, long long v)
{
    char msg[160];
    if (v <= 0) {
        return http_reply_error(req, 400, "invalid_value",
                                "channels: expected positive channel ids", field),
               -1;
    }
    if (count == DATA_MAX_CHANNELS) {
        snprintf(msg, sizeof msg, "at most %d channels at once (V2)", DATA_MAX_CHANNELS);
        return http_reply_error(req, 400, "too_many_channels", msg, field), -1;
    }
    for (int k = 0; k < count; k++) {
        if (ids[k] == v) {
            snprintf(msg, sizeof msg, "channels: %lld is listed twice", v);
            return http_reply_error(req, 400, "invalid_value", msg, field), -1;
        }
    }
    ids[count] = v;
    return 0;
}

int hq_channels(http_req *req, int64_t *ids)
{
    char buf[32 * 21 + 64];
    int n = http_query(req, "channels", buf, sizeof buf), count = 0;
    char *p = buf;
    if (n == -1) {
        return http_reply_error(req, 400, "missing", "channels is required (ids, comma-separated)",
                                "channels"),
               -1;
    }
    if (n <= 0) {
        return http_reply_error(req, 400, "invalid_value", "channels: expected 1 to 32 channel ids",
                                "channels"),
               -1;
    }
    for (;;) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (end == p || errno != 0 || v <= 0 || (*end != ',' && *end != '\0')) {
            return http_reply_error(req, 400, "invalid_value",
                                    "channels: expected positive channel ids separated by commas",
                                    "channels"),
                   -1;
        }
        if (add_channel(req, "channels", ids, count, v) != 0) {
            return -1;
        }
        count++;
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    return count;
}

/* The rules of a range once both ends are integers. */
static int check_range(http_req *req, long long t0, long long t1)
{
    if (t1 <= t0) {
        return http_reply_error(req, 400, "invalid_value", "to must be after from", "to"), -1;
    }
    if (t1 - t0 > HQ_MAX_SPAN_US) {
        return http_reply_error(req, 400, "invalid_value", "a range spans at most 25 years", "to"), -1;
    }
    return 0;
}

int hq_range(http_req *req, long long *t0, long long *t1)
{
    if (hq_int(req, "from", -HQ_T_LIMIT, HQ_T_LIMIT, false, 0, t0) != 0 ||
        hq_int(req, "to", -HQ_T_LIMIT, HQ_T_LIMIT, false, 0, t1) != 0) {
        return -1;
    }
    return check_range(req, *t0, *t1);
}

/* A JSON number that is an integer in lo..hi. */
static bool json_int(const cJSON *item, long long lo, long long hi, long long *out)
{
    double d;
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    d = item->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi) {
        return false;
    }
    *out = (long long)d;
    return true;
}

int hq_json_channels(http_req *req, const cJSON *obj, const char *name, int64_t *ids)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, name), *item;
    char msg[160];
    int count = 0;
    if (arr == NULL || cJSON_IsNull(arr)) {
        snprintf(msg, sizeof msg, "%s is required (an array of channel ids)", name);
        return http_reply_error(req, 400, "missing", msg, name), -1;
    }
    if (!cJSON_IsArray(arr)) {
        snprintf(msg, sizeof msg, "%s: expected an array of channel ids", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (cJSON_GetArraySize(arr) == 0) {
        snprintf(msg, sizeof msg, "%s: expected 1 to %d channel ids", name, DATA_MAX_CHANNELS);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        long long v;
        if (!json_int(item, 1, INT64_MAX / 2, &v)) {
            snprintf(msg, sizeof msg, "%s: expected positive integer channel ids", name);
            return http_reply_error(req, 400, cJSON_IsNumber(item) ? "invalid_value" : "wrong_type", msg,
                                    name),
                   -1;
        }
        if (add_channel(req, name, ids, count, v) != 0) {
            return -1;
        }
        count++;
    }
    return count;
}

/* JSON member "name": an integer time (µs). */
static int json_time(http_req *req, const cJSON *obj, const char *name, long long *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    char msg[160];
    if (item == NULL || cJSON_IsNull(item)) {
        snprintf(msg, sizeof msg, "%s is required (µs since 1970-01-01 UTC)", name);
        return http_reply_error(req, 400, "missing", msg, name), -1;
    }
    if (!cJSON_IsNumber(item)) {
        snprintf(msg, sizeof msg, "%s: expected an integer (µs since 1970-01-01 UTC)", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (!json_int(item, -HQ_T_LIMIT, HQ_T_LIMIT, out)) {
        snprintf(msg, sizeof msg, "%s: expected an integer %lld..%lld", name, -HQ_T_LIMIT,
                 HQ_T_LIMIT);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    return 0;
}

int hq_json_range(http_req *req, const cJSON *obj, long long *t0, long long *t1)
{
    if (json_time(req, obj, "from", t0) != 0 || json_time(req, obj, "to", t1) != 0) {
        return -1;
    }
    return check_range(req, *t0, *t1);
}
