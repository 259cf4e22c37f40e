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

/* GET /api/v1/debug/sleep?ms=N: answer after N ms (at most 10 s). Only with
 * METRON_TEST_ROUTES=1, to test graceful shutdown with a request in flight. */
static int h_debug_sleep(http_req *req)
{
    char val[16] = "";
    const char *qs = req->ri->query_string;
    long ms = 0;
    struct timespec ts;
    cJSON *o;
    if (qs != NULL && mg_get_var(qs, strlen(qs), "ms", val, sizeof val) > 0) {
        ms = strtol(val, NULL, 10);
    }
    if (ms < 0 || ms > 10000) {
        return http_reply_error(req, 400, "out_of_range", "ms must be 0..10000", "ms");
    }
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "slept_ms", (double)ms);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/debug/echo: the parsed JSON body back (test-only). */
static int h_debug_echo(http_req *req)
{
    const char *name = NULL;
    cJSON *o;
    if (http_json_string(req, req->body, "name", 20, false, &name) != 0) {
        return req->status;
    }
    o = cJSON_Duplicate(req->body, 1);
    return http_reply_json(req, 200, o);
}

const http_route http_routes_health[] = {
    {"GET", "/api/v1/health", h_health, AUTH_PUBLIC, BODY_NONE, false},
    {"GET", "/api/v1/debug/sleep", h_debug_sleep, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/debug/echo", h_debug_echo, AUTH_PUBLIC, BODY_JSON, true},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
