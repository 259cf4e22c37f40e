/* Routes of the acquired-data queries (M2, V1, V2, D2; docs/data-api.md). */
#include "http.h"
#include "http_svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http_query.h"
#include "series_store.h"
#include "svc_data.h"

static int reply(http_req *req, data_reply *r)
{
    int rc;
    if (r->err.status != SVC_OK) {
        return http_reply_svc(req, &r->err);
    }
    rc = http_reply_json_text(req, 200, r->json, r->len);
    free(r->json);
    return rc;
}

/* GET /api/v1/data/graph?channels=&from=&to=&buckets= */
static int h_graph(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, buckets;
    int n = hq_channels(req, ids);
    data_reply r;
    if (n < 0 || hq_range(req, &t0, &t1) != 0 ||
        hq_int(req, "buckets", 1, DATA_MAX_BUCKETS, true, 1000, &buckets) != 0) {
        return req->status;
    }
    svc_data_graph(req->srv, &req->actor, ids, (size_t)n, t0, t1, (size_t)buckets, &r);
    return reply(req, &r);
}

/* GET /api/v1/data/summary?channels=&from=&to= */
static int h_summary(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1;
    int n = hq_channels(req, ids);
    data_reply r;
    if (n < 0 || hq_range(req, &t0, &t1) != 0) {
        return req->status;
    }
    svc_data_summary(req->srv, &req->actor, ids, (size_t)n, t0, t1, &r);
    return reply(req, &r);
}

/* GET /api/v1/data/raw?channels=&from=&to=&limit= */
static int h_raw(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, limit;
    int n = hq_channels(req, ids);
    data_reply r;
    if (n < 0 || hq_range(req, &t0, &t1) != 0 ||
        hq_int(req, "limit", 1, DATA_MAX_PAGE, true, 1000, &limit) != 0) {
        return req->status;
    }
    svc_data_raw(req->srv, &req->actor, ids, (size_t)n, t0, t1, (size_t)limit, &r);
    return reply(req, &r);
}

/* GET /api/v1/groups/{id}/monitor */
static int h_monitor(http_req *req)
{
    char *end = NULL;
    long long id = strtoll(req->params[0], &end, 10);
    data_reply r;
    if (end == req->params[0] || *end != '\0' || id <= 0) {
        return http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
    }
    svc_data_monitor(req->srv, &req->actor, id, &r);
    return reply(req, &r);
}

/* GET /api/v1/me/channel-history */
static int h_history(http_req *req)
{
    data_reply r;
    svc_data_history(req->srv, &req->actor, &r);
    return reply(req, &r);
}

const http_route http_routes_data[] = {
    {"GET", "/api/v1/data/graph", h_graph, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/data/raw", h_raw, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/data/summary", h_summary, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/monitor", h_monitor, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/me/channel-history", h_history, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
