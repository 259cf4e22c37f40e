/* GET /api/v1/health, and the test-only debug routes. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "svc_health.h"

/* 200 {"status":"ok","db":"ok","changes_heard":true}, or 503
 * {"status":"unavailable","db":"down",...} while PostgreSQL cannot be
 * reached (svc_health.h). */
static int h_health(http_req *req)
{
    svc_health h;
    cJSON *o = cJSON_CreateObject();
    svc_health_check(req->srv, &h);
    if (o == NULL) {
        return http_reply_json(req, 500, NULL);
    }
    cJSON_AddStringToObject(o, "status", h.ok ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "db", h.db);
    cJSON_AddBoolToObject(o, "changes_heard", h.changes_heard);
    return http_reply_json(req, h.ok ? 200 : 503, o);
}

const http_route http_routes_health[] = {
    {"GET", "/api/v1/health", h_health, AUTH_PUBLIC, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
