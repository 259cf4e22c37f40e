/* Routes of the acquired-data queries (M2, V1, V2, D2; docs/data-api.md). */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "series_store.h"
#include "svc_data.h"

#define MAX_SPAN_US (25LL * 366 * 86400 * 1000000) /* 25 years */

static data_actor actor_of(const http_req *req)
{
    data_actor a = {req->account_id, req->user_id, req->role == ROLE_ADMIN ? 0 : req->user_id};
    return a;
}

static int reply(http_req *req, data_reply *r)
{
    int rc;
    if (r->status >= 400) {
        return http_reply_error(req, r->status, r->code, r->msg, r->field);
    }
    rc = http_reply_json_text(req, r->status, r->json, r->len);
    free(r->json);
    return rc;
}

/* Query integer "name" in lo..hi; "def" when absent (required when
 * def_ok is false). Returns 0, or -1 after replying 400. */
static int q_int(http_req *req, const char *name, long long lo, long long hi, bool def_ok,
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
        return http_reply_error(req, 400, "invalid", msg, name), -1;
    }
    *out = v;
    return 0;
}

/* "channels=1,2,3": 1..32 distinct channel ids. Returns the count, or -1
 * after replying 400. */
static int q_channels(http_req *req, int64_t *ids)
{
    char buf[32 * 21 + 64], msg[160];
    int n = http_query(req, "channels", buf, sizeof buf), count = 0;
    char *p = buf;
    if (n == -1) {
        return http_reply_error(req, 400, "missing", "channels is required (ids, comma-separated)",
                                "channels"),
               -1;
    }
    if (n <= 0) {
        return http_reply_error(req, 400, "invalid", "channels: expected 1 to 32 channel ids",
                                "channels"),
               -1;
    }
    for (;;) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (end == p || errno != 0 || v <= 0 || (*end != ',' && *end != '\0')) {
            return http_reply_error(req, 400, "invalid",
                                    "channels: expected positive channel ids separated by commas",
                                    "channels"),
                   -1;
        }
        if (count == DATA_MAX_CHANNELS) {
            snprintf(msg, sizeof msg, "at most %d channels at once (V2)", DATA_MAX_CHANNELS);
            return http_reply_error(req, 400, "too_many_channels", msg, "channels"), -1;
        }
        for (int k = 0; k < count; k++) {
            if (ids[k] == v) {
                snprintf(msg, sizeof msg, "channels: %lld is listed twice", v);
                return http_reply_error(req, 400, "invalid", msg, "channels"), -1;
            }
        }
        ids[count++] = v;
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    return count;
}

/* from/to (µs since 1970-01-01 UTC, from < to). */
static int q_range(http_req *req, long long *t0, long long *t1)
{
    if (q_int(req, "from", -MAX_SPAN_US * 4, MAX_SPAN_US * 4, false, 0, t0) != 0 ||
        q_int(req, "to", -MAX_SPAN_US * 4, MAX_SPAN_US * 4, false, 0, t1) != 0) {
        return -1;
    }
    if (*t1 <= *t0) {
        return http_reply_error(req, 400, "invalid", "to must be after from", "to"), -1;
    }
    if (*t1 - *t0 > MAX_SPAN_US) {
        return http_reply_error(req, 400, "invalid", "a range spans at most 25 years", "to"), -1;
    }
    return 0;
}

/* GET /api/v1/data/graph?channels=&from=&to=&buckets= */
static int h_graph(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, buckets;
    int n = q_channels(req, ids);
    data_actor a = actor_of(req);
    data_reply r;
    if (n < 0 || q_range(req, &t0, &t1) != 0 ||
        q_int(req, "buckets", 1, DATA_MAX_BUCKETS, true, 1000, &buckets) != 0) {
        return req->status;
    }
    svc_data_graph(req->srv, &a, ids, (size_t)n, t0, t1, (size_t)buckets, &r);
    return reply(req, &r);
}

/* GET /api/v1/data/raw?channels=&from=&to=&limit= */
static int h_raw(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, limit;
    int n = q_channels(req, ids);
    data_actor a = actor_of(req);
    data_reply r;
    if (n < 0 || q_range(req, &t0, &t1) != 0 ||
        q_int(req, "limit", 1, DATA_MAX_PAGE, true, 1000, &limit) != 0) {
        return req->status;
    }
    svc_data_raw(req->srv, &a, ids, (size_t)n, t0, t1, (size_t)limit, &r);
    return reply(req, &r);
}

/* GET /api/v1/groups/{id}/monitor */
static int h_monitor(http_req *req)
{
    char *end = NULL;
    long long id = strtoll(req->params[0], &end, 10);
    data_actor a = actor_of(req);
    data_reply r;
    if (end == req->params[0] || *end != '\0' || id <= 0) {
        return http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
    }
    svc_data_monitor(req->srv, &a, id, &r);
    return reply(req, &r);
}

/* GET /api/v1/me/channel-history */
static int h_history(http_req *req)
{
    data_actor a = actor_of(req);
    data_reply r;
    svc_data_history(req->srv, &a, &r);
    return reply(req, &r);
}

/* POST /api/v1/test/compact: fold every hot row now (tests only). */
static int h_test_compact(http_req *req)
{
    series_compact_stats st = {0};
    cJSON *o;
    if (series_compact_all(req->srv->pool, &st) != 0) {
        return http_reply_error(req, 503, "db_unavailable", "compaction failed", NULL);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "hot_rows", (double)st.hot_rows);
    cJSON_AddNumberToObject(o, "samples", (double)st.samples);
    cJSON_AddNumberToObject(o, "blocks", (double)st.blocks);
    cJSON_AddNumberToObject(o, "dropped", (double)st.dropped);
    return http_reply_json(req, 200, o);
}

const http_route http_routes_data[] = {
    {"GET", "/api/v1/data/graph", h_graph, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/data/raw", h_raw, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/monitor", h_monitor, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/me/channel-history", h_history, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/test/compact", h_test_compact, AUTH_PUBLIC, BODY_NONE, true},
    {NULL}};
