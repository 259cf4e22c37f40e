/* The audit log's routes and the audit entries of sign-in events (see
 * http_audit.h; the log itself is svc/audit.c). */
#define _POSIX_C_SOURCE 200809L
#include "http_audit.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_svc.h"

audit_who audit_who_of(const http_req *req)
{
    audit_who w;
    w.account_id = req->account_id;
    w.user_id = req->user_id;
    w.via_token = req->via_token;
    w.ip = http_client_ip(req);
    w.app_id = 0;
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

/* The action filter: an action ("user.update") or the start of one ending
 * with a dot ("user."): lower-case letters, underscores and dots, at most 64
 * characters. Absent leaves *out NULL. Returns -1 (after replying 400) when
 * it is anything else. */
static int query_action(http_req *req, char *buf, size_t cap, const char **out)
{
    const char *qs = req->ri->query_string;
    int n;
    *out = NULL;
    if (qs == NULL || (n = mg_get_var(qs, strlen(qs), "action", buf, cap)) == -1) {
        return 0;
    }
    if (n <= 0 || (size_t)n > 64 || buf[0] == '.') {
        http_reply_error(req, 400, "invalid_value",
                         "'action' must be an action or its start up to a dot, such as user.",
                         "action");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char ch = buf[i];
        if (!((ch >= 'a' && ch <= 'z') || ch == '_' || ch == '.')) {
            http_reply_error(req, 400, "invalid_value",
                             "'action' may hold lower-case letters, '_' and '.' only", "action");
            return -1;
        }
    }
    *out = buf;
    return 0;
}

/* The actor kind filter: user, api_token, app or system. Absent leaves
 * *out NULL. Returns -1 (after replying 400) when it is anything else. */
static int query_actor_kind(http_req *req, const char **out)
{
    static const char *const kinds[] = {"user", "api_token", "app", "system"};
    const char *qs = req->ri->query_string;
    char buf[16];
    int n;
    *out = NULL;
    if (qs == NULL || (n = mg_get_var(qs, strlen(qs), "actor_kind", buf, sizeof buf)) == -1) {
        return 0;
    }
    for (size_t i = 0; n > 0 && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(buf, kinds[i]) == 0) {
            *out = kinds[i];
            return 0;
        }
    }
    http_reply_error(req, 400, "invalid_value",
                     "'actor_kind' must be user, api_token, app or system", "actor_kind");
    return -1;
}

/* GET /api/v1/audit?limit&before&user_id&actor_kind&app_id&action&from&to:
 * newest first. user_id: the acting user; actor_kind: user, api_token, app
 * or system; app_id: the acting gateway app; action: an action or its start
 * ending with a dot; from/to: microseconds since 1970 (at >= from, at < to;
 * alone, the list is in time order: db_audit_list()). */
static int h_audit_list(http_req *req)
{
    long long limit = 50;
    char action_buf[72];
    db_audit_filter f = {0, 0, NULL, -1, -1, NULL, 0};
    svc_error err;
    cJSON *o;
    if (query_int(req, "limit", 1, 200, &limit) != 0 ||
        query_int(req, "before", 1, 9223372036854775807LL, &f.before) != 0 ||
        query_int(req, "user_id", 1, 9223372036854775807LL, &f.user_id) != 0 ||
        query_int(req, "app_id", 1, 9223372036854775807LL, &f.app_id) != 0 ||
        query_actor_kind(req, &f.actor_kind) != 0 ||
        query_int(req, "from", 0, 9223372036854775807LL, &f.from_us) != 0 ||
        query_int(req, "to", 0, 9223372036854775807LL, &f.to_us) != 0 ||
        query_action(req, action_buf, sizeof action_buf, &f.action) != 0) {
        return req->status;
    }
    if (audit_list(&req->actor, &f, (int)limit, &o, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    return http_reply_json(req, 200, o);
}

const http_route http_routes_audit[] = {
    {"GET", "/api/v1/audit", h_audit_list, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
