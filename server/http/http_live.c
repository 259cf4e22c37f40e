/* High-speed monitoring (M3; docs/ingest.md "High-speed monitoring").
 *
 * A user starts it for a measurement group (10 minutes); the gateway apps of
 * the group see "live_until" in GET /api/v1/ingest/channels and send 5-second
 * samples to POST /api/v1/ingest/live; the monitor reads them with GET
 * /api/v1/groups/{id}/live. Live samples are kept for display only (10
 * minutes, an UNLOGGED table); stored data stays at the regular one-minute
 * batches of /api/v1/ingest/batches. */
#include "http.h"
#include "http_admin_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_svc.h"
#include "svc_live.h"

static int group_param(http_req *req, long long *id)
{
    if (!http_id_text(req->params[0], id)) {
        http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
        return -1;
    }
    return 0;
}

/* POST /api/v1/groups/{id}/live: start (or extend) high-speed mode. */
static int h_start(http_req *req)
{
    long long id, until = 0;
    svc_error err;
    cJSON *o;
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if (svc_live_start(&req->actor, id, &until, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "group_id", (double)id);
    cJSON_AddNumberToObject(o, "until", (double)until);
    cJSON_AddNumberToObject(o, "interval_s", LIVE_INTERVAL_S);
    return http_reply_json(req, 200, o);
}

/* DELETE /api/v1/groups/{id}/live: stop it. */
static int h_stop(http_req *req)
{
    long long id;
    svc_error err;
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if (svc_live_stop(&req->actor, id, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return http_reply_json(req, 200, cJSON_CreateObject());
}

/* GET /api/v1/groups/{id}/live?since=µs: the live samples of the group. */
static int h_get(http_req *req)
{
    long long id, since = 0;
    char buf[32];
    svc_error err;
    cJSON *o;
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if (http_query(req, "since", buf, sizeof buf) > 0) {
        char *end = NULL;
        since = strtoll(buf, &end, 10);
        if (*end != '\0') {
            return http_reply_error(req, 400, "invalid_value", "since: expected µs since 1970",
                                    "since");
        }
    }
    if (svc_live_get(&req->actor, id, since, &o, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/ingest/live: 5-second samples while high-speed mode is on. */
static int h_ingest_live(http_req *req)
{
    const char *authz = http_header(req, "Authorization");
    const char *cred = NULL;
    long long account = 0, until = 0;
    size_t samples = 0;
    svc_error err;
    cJSON *o;
    if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
        cred = authz + 7;
    }
    if (svc_live_ingest(req->srv, cred, (const char *)req->raw, req->raw_len, &account, &samples,
                        &until, &err) != SVC_OK) {
        req->account_id = account;
        return http_reply_svc(req, &err);
    }
    req->account_id = account;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "samples", (double)samples);
    cJSON_AddNumberToObject(o, "until", (double)until);
    return http_reply_json(req, 200, o);
}

const http_route http_routes_live[] = {
    {"POST", "/api/v1/groups/*/live", h_start, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/groups/*/live", h_stop, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/live", h_get, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/ingest/live", h_ingest_live, AUTH_APP, BODY_RAW, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
