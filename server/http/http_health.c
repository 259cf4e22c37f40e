/* GET /api/v1/health, and the test-only debug routes. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "isotime.h"
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
    {
        cJSON *b = cJSON_AddObjectToObject(o, "backup");
        cJSON *r = cJSON_AddObjectToObject(o, "replica");
        char at[ISO_TIME_LEN + 8];
        if (b != NULL) {
            cJSON_AddStringToObject(b, "state", h.backup);
            if (h.last_archived_at > 0 &&
                iso_time_format((int64_t)h.last_archived_at, at, sizeof at) == 0) {
                cJSON_AddStringToObject(b, "last_archived_at", at);
            } else {
                cJSON_AddNullToObject(b, "last_archived_at");
            }
        }
        if (r != NULL) {
            cJSON_AddBoolToObject(r, "configured", h.replica.configured);
            if (h.replica.configured) {
                cJSON_AddBoolToObject(r, "up", h.replica.up);
                cJSON_AddNumberToObject(r, "lag_seconds", h.replica.lag_seconds);
                cJSON_AddBoolToObject(r, "reads_on_primary", h.replica.reads_on_primary);
            }
        }
    }
    return http_reply_json(req, h.ok ? 200 : 503, o);
}

const http_route http_routes_health[] = {
    {"GET", "/api/v1/health", h_health, AUTH_PUBLIC, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
