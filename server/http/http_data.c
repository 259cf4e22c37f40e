/* Routes of the acquired-data queries (M2, V1, V2, D2; docs/data-api.md). */
#include "http.h"
#include "http_admin_args.h"
#include "http_svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "http_query.h"
#include "svc_data.h"

/* Reply with what a query gave: its JSON text "json" ("len" bytes; freed
 * here), or its refusal "e". */
static int reply(http_req *req, svc_status st, char *json, size_t len, const svc_error *e)
{
    int rc;
    if (st != SVC_OK) {
        return http_reply_svc(req, e);
    }
    rc = http_reply_json_text(req, 200, json, len);
    free(json);
    return rc;
}

/* As reply(), for a query that gives its text at "room" bytes into the
 * block "json", the bytes before it free for the headers (issue 16: the
 * reply then leaves in one write without a copy of the text). */
static int reply_room(http_req *req, svc_status st, char *json, size_t room, size_t len,
                      const svc_error *e)
{
    int rc;
    if (st != SVC_OK) {
        return http_reply_svc(req, e);
    }
    rc = http_reply_json_room(req, 200, json + room, room, len);
    free(json);
    return rc;
}

/* GET /api/v1/data/graph?channels=&from=&to=&buckets= */
static int h_graph(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, buckets;
    int n = hq_channels(req, ids);
    char *json = NULL;
    size_t len = 0;
    svc_error e;
    svc_status st;
    if (n < 0 || hq_range(req, &t0, &t1) != 0 ||
        hq_int(req, "buckets", 1, DATA_MAX_BUCKETS, true, 1000, &buckets) != 0) {
        return req->status;
    }
    st = svc_data_graph(req->srv, &req->actor, ids, (size_t)n, t0, t1, (size_t)buckets, &json, &len,
                        &e);
    return reply(req, st, json, len, &e);
}

/* GET /api/v1/data/summary?channels=&from=&to= */
static int h_summary(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1;
    int n = hq_channels(req, ids);
    char *json = NULL;
    size_t len = 0;
    svc_error e;
    svc_status st;
    if (n < 0 || hq_range(req, &t0, &t1) != 0) {
        return req->status;
    }
    st = svc_data_summary(req->srv, &req->actor, ids, (size_t)n, t0, t1, &json, &len, &e);
    return reply(req, st, json, len, &e);
}

/* GET /api/v1/data/raw?channels=&from=&to=&limit= */
static int h_raw(http_req *req)
{
    int64_t ids[DATA_MAX_CHANNELS];
    long long t0, t1, limit;
    int n = hq_channels(req, ids);
    char *json = NULL;
    size_t room = 0, len = 0;
    raw_reply *kept = NULL;
    svc_error e;
    svc_status st;
    if (n < 0 || hq_range(req, &t0, &t1) != 0 ||
        hq_int(req, "limit", 1, DATA_MAX_PAGE, true, 1000, &limit) != 0) {
        return req->status;
    }
    st = svc_data_raw(req->srv, &req->actor, ids, (size_t)n, t0, t1, (size_t)limit, &json, &room,
                      &len, &kept, &e);
    if (kept != NULL) {
        /* The remembered page itself, with headers written before it once
         * (issue 16: no copy of a 33 KB day per request). */
        reply_head *head;
        const char *text = raw_reply_text(kept, &len, &head);
        int rc = http_reply_json_kept(req, 200, text, len, head);
        raw_reply_drop(kept);
        return rc;
    }
    return reply_room(req, st, json, room, len, &e);
}

/* GET /api/v1/groups/{id}/monitor */
static int h_monitor(http_req *req)
{
    long long id = 0;
    char *json = NULL;
    size_t room = 0, len = 0;
    svc_error e;
    svc_status st;
    if (!http_id_text(req->params[0], &id)) {
        return http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
    }
    st = svc_data_monitor(req->srv, &req->actor, id, &json, &room, &len, &e);
    return reply_room(req, st, json, room, len, &e);
}

/* GET /api/v1/me/channel-history */
static int h_history(http_req *req)
{
    char *json = NULL;
    size_t len = 0;
    svc_error e;
    svc_status st;
    st = svc_data_history(req->srv, &req->actor, &json, &len, &e);
    return reply(req, st, json, len, &e);
}

const http_route http_routes_data[] = {
    {"GET", "/api/v1/data/graph", h_graph, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/data/raw", h_raw, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/data/summary", h_summary, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/monitor", h_monitor, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/me/channel-history", h_history, AUTH_USER, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
