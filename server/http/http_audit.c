/* The audit log's routes and the audit entries of sign-in events (see
 * http_audit.h; the log itself is svc/audit.c). */
#define _POSIX_C_SOURCE 200809L
#include "http_audit.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_auth.h"

audit_who audit_who_of(const http_req *req)
{
    audit_who w;
    w.account_id = req->account_id;
    w.user_id = req->user_id;
    w.via_token = req->via_token;
    w.ip = req->ri != NULL ? req->ri->remote_addr : NULL;
    return w;
}

int http_audit(http_req *req, const char *action, const char *target_type, long long target_id,
               const cJSON *detail)
{
    audit_who who = audit_who_of(req);
    return audit_event(req->srv->pool, &who, action, target_type, target_id, detail);
}

/* Parse a positive integer query variable "name" into *out; absent leaves
 * *out. Returns -1 (after replying 400) when present but not a number in
 * [lo, hi]. */
static int query_int(http_req *req, const char *name, long long lo, long long hi,
                     long long *out)
{
    const char *qs = req->ri->query_string;
    char buf[32], msg[96], *end;
    long long v;
    int n;
    if (qs == NULL || (n = mg_get_var(qs, strlen(qs), name, buf, sizeof buf)) == -1) {
        return 0;
    }
    v = strtoll(buf, &end, 10);
    if (n <= 0 || *end != '\0' || v < lo || v > hi) {
        snprintf(msg, sizeof msg, "'%s' must be a whole number from %lld to %lld", name, lo, hi);
        http_reply_error(req, 400, "invalid_value", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

static int h_audit_list(http_req *req)
{
    long long limit = 50, before = 0;
    PGresult *r = NULL;
    db_conn *c = NULL;
    db_status st;
    cJSON *o = NULL, *arr;
    int rows, rc;

    if (query_int(req, "limit", 1, 200, &limit) != 0 ||
        query_int(req, "before", 1, 9223372036854775807LL, &before) != 0) {
        return req->status;
    }
    if ((st = db_acquire(req->srv->pool, DB_WAIT_MS, &c)) != DB_OK ||
        (st = db_audit_list(c, req->account_id, before, (int)limit, &r)) != DB_OK) {
        db_release(req->srv->pool, c);
        return http_reply_db(req, st);
    }
    db_release(req->srv->pool, c);
    o = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(o, "entries");
    rows = PQntuples(r);
    for (int i = 0; arr != NULL && i < rows; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON *detail = cJSON_Parse(PQgetvalue(r, i, 9));
        cJSON_AddNumberToObject(e, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        cJSON_AddStringToObject(e, "at", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(e, "actor_kind", PQgetvalue(r, i, 2));
        if (PQgetisnull(r, i, 3)) {
            cJSON_AddNullToObject(e, "user_id");
        } else {
            cJSON_AddNumberToObject(e, "user_id", (double)strtoll(PQgetvalue(r, i, 3), NULL, 10));
        }
        cJSON_AddStringToObject(e, "actor_login", PQgetvalue(r, i, 4));
        cJSON_AddStringToObject(e, "action", PQgetvalue(r, i, 5));
        if (PQgetisnull(r, i, 6)) {
            cJSON_AddNullToObject(e, "target_type");
        } else {
            cJSON_AddStringToObject(e, "target_type", PQgetvalue(r, i, 6));
        }
        if (PQgetisnull(r, i, 7)) {
            cJSON_AddNullToObject(e, "target_id");
        } else {
            cJSON_AddNumberToObject(e, "target_id",
                                    (double)strtoll(PQgetvalue(r, i, 7), NULL, 10));
        }
        if (PQgetisnull(r, i, 8)) {
            cJSON_AddNullToObject(e, "ip");
        } else {
            cJSON_AddStringToObject(e, "ip", PQgetvalue(r, i, 8));
        }
        cJSON_AddItemToObject(e, "detail", detail ? detail : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, e);
    }
    if (rows == limit && rows > 0) {
        cJSON_AddNumberToObject(o, "next_before",
                                (double)strtoll(PQgetvalue(r, rows - 1, 0), NULL, 10));
    } else {
        cJSON_AddNullToObject(o, "next_before");
    }
    PQclear(r);
    rc = http_reply_json(req, 200, o);
    return rc;
}

/* POST /api/v1/test/audit-fail {count}: the next "count" audit writes fail
 * (tests only). */
static int h_test_audit_fail(http_req *req)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(req->body, "count");
    cJSON *r;
    if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1000) {
        return http_reply_error(req, 400, "invalid_value", "'count' must be 0..1000", "count");
    }
    audit_fail_next((int)n->valuedouble);
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "count", n->valuedouble);
    return http_reply_json(req, 200, r);
}

const http_route http_routes_audit[] = {
    {"GET", "/api/v1/audit", h_audit_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/test/audit-fail", h_test_audit_fail, AUTH_PUBLIC, BODY_JSON, true},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
