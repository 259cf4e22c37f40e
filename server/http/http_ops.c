/* The operator's API (/api/v1/ops/...; docs/operations.md): the token
 * checks of AUTH_OPS and AUTH_METRICS routes, and the routes. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_admin_args.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "auth.h"
#include "isotime.h"
#include "svc_ops.h"

/* Whether "given" is "want", in time that does not depend on where they
 * differ (both are hashed first, so neither length leaks either). */
static bool token_equal(const char *given, const char *want)
{
    unsigned char a[32], b[32];
    unsigned int la = 0, lb = 0;
    if (EVP_Digest(given, strlen(given), a, &la, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(want, strlen(want), b, &lb, EVP_sha256(), NULL) != 1 || la != lb) {
        return false;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

int http_auth_operator(http_req *req, http_auth kind)
{
    const char *want = kind == AUTH_OPS ? req->srv->cfg.ops_token : req->srv->cfg.metrics_token;
    const char *h = http_header(req, "Authorization");
    const char *msg;
    if (want != NULL && h != NULL && strncmp(h, "Bearer ", 7) == 0 && token_equal(h + 7, want)) {
        return 0;
    }
    if (want == NULL) { /* off: no token opens it */
        msg = kind == AUTH_OPS ? "the operator's API is off: set METRON_OPS_TOKEN"
                               : "metrics are off: set METRON_METRICS_TOKEN";
    } else {
        msg = kind == AUTH_OPS ? "send the operator's token as Authorization: Bearer ..."
                               : "send the metrics token as Authorization: Bearer ...";
    }
    {
        cJSON *o = cJSON_CreateObject();
        if (o != NULL) {
            cJSON_AddStringToObject(o, "code", "unauthenticated");
            cJSON_AddStringToObject(o, "message", msg);
        }
        http_reply_json_headers(req, 401, o, "WWW-Authenticate: Bearer\r\n");
    }
    return -1;
}

/* ------------------------------------------------------------ accounts */

/* Query "name" as one of "words" (NULL-terminated) into "buf"; absent:
 * *out NULL. 400 invalid_value otherwise. Returns 0, or -1 after replying. */
static int query_word(http_req *req, const char *name, const char *const *words, char *buf,
                      size_t cap, const char **out)
{
    int n = http_query(req, name, buf, cap);
    *out = NULL;
    if (n == -1 || (n == 0 && buf[0] == '\0')) {
        return 0;
    }
    for (size_t i = 0; n > 0 && words[i] != NULL; i++) {
        if (strcmp(buf, words[i]) == 0) {
            *out = buf;
            return 0;
        }
    }
    return http_reply_error(req, 400, "invalid_value", "not one of the values this filter takes",
                            name),
           -1;
}

/* GET /api/v1/ops/accounts?status=&plan=&q=&after=&limit= */
static int h_accounts(http_req *req)
{
    static const char *const statuses[] = {"active", "frozen", NULL};
    static const char *const plans[] = {"trial", "free", "standard", "pro", NULL};
    char st_buf[16], plan_buf[16], q_buf[128];
    const char *status = NULL, *plan = NULL, *q = NULL;
    long long after = 0, limit = 50;
    int n;
    cJSON *out = NULL;
    svc_error e;
    if (query_word(req, "status", statuses, st_buf, sizeof st_buf, &status) != 0 ||
        query_word(req, "plan", plans, plan_buf, sizeof plan_buf, &plan) != 0 ||
        admb_query_int(req, "after", 0, 9223372036854775807LL, 0, &after) != 0 ||
        admb_query_int(req, "limit", 1, 200, 50, &limit) != 0) {
        return req->status;
    }
    n = http_query(req, "q", q_buf, sizeof q_buf);
    if (n == -2 || (n > 0 && !http_utf8_valid((const unsigned char *)q_buf, (size_t)n))) {
        return http_reply_error(req, 400, "invalid_value",
                                "'q' must be UTF-8 text of at most 100 bytes", "q");
    }
    if (n > 100) {
        return http_reply_error(req, 400, "too_long", "'q' must be at most 100 bytes", "q");
    }
    q = n > 0 ? q_buf : NULL;
    svc_error_clear(&e);
    if (svc_ops_accounts(req->srv, after, (int)limit, status, plan, q, &out, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* A route of one account: the id from the path, then the account as the
 * operator sees it ("unfreeze": after lifting its freeze), answered as
 * JSON. (Direct calls, not a function pointer: tests/server/stack.test.mjs
 * follows only those.) */
static int account_route(http_req *req, bool unfreeze)
{
    long long id;
    cJSON *out = NULL;
    svc_error e;
    svc_status st;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    svc_error_clear(&e);
    st = unfreeze ? svc_ops_freeze(req->srv, id, NULL, &out, &e)
                  : svc_ops_account(req->srv, id, &out, &e);
    if (st != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* GET /api/v1/ops/accounts/{id} */
static int h_account(http_req *req)
{
    return account_route(req, false);
}

/* POST /api/v1/ops/accounts/{id}/freeze {reason} (L8) */
static int h_freeze(http_req *req)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL;
    long long id;
    cJSON *out = NULL;
    svc_error e;
    if (admin_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "reason", 500, true, &reason) != 0) {
        return req->status;
    }
    if (reason[0] == '\0') {
        return http_reply_error(req, 400, "missing", "say why the account is frozen", "reason");
    }
    svc_error_clear(&e);
    if (svc_ops_freeze(req->srv, id, reason, &out, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* POST /api/v1/ops/accounts/{id}/unfreeze */
static int h_unfreeze(http_req *req)
{
    return account_route(req, true);
}

/* PUT /api/v1/ops/accounts/{id}/contract-end {at: RFC 3339 | null} (O4) */
static int h_contract_end(http_req *req)
{
    static const char *const allowed[] = {"at", NULL};
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(req->body, "at");
    long long id;
    int64_t when = 0;
    cJSON *out = NULL;
    svc_error e;
    if (admin_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    if (at == NULL) {
        return http_reply_error(req, 400, "missing", "'at' is the contract's end, or null", "at");
    }
    if (!cJSON_IsNull(at)) {
        if (!cJSON_IsString(at)) {
            return http_reply_error(req, 400, "wrong_type", "'at' must be a string or null", "at");
        }
        if (iso_time_parse(at->valuestring, strlen(at->valuestring), &when) != 0 || when == 0) {
            return http_reply_error(req, 400, "invalid_value",
                                    "'at' must be an instant such as 2027-03-31T16:00:00Z", "at");
        }
    }
    svc_error_clear(&e);
    if (svc_ops_contract_end(req->srv, id, (long long)when, &out, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* POST /api/v1/ops/accounts/{id}/delete {confirm, reason} (O4) */
static int h_delete(http_req *req)
{
    static const char *const allowed[] = {"confirm", "reason", NULL};
    static const char *const reasons[] = {"request", "terms", "operator", NULL};
    const char *confirm = NULL, *reason = NULL;
    char *record = NULL;
    long long id;
    bool known = false;
    int status;
    svc_error e;
    if (admin_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "confirm", 64, true, &confirm) != 0 ||
        http_json_string(req, req->body, "reason", 16, true, &reason) != 0) {
        return req->status;
    }
    for (size_t i = 0; reasons[i] != NULL; i++) {
        known = known || strcmp(reason, reasons[i]) == 0;
    }
    if (!known) {
        return http_reply_error(req, 400, "invalid_value",
                                "'reason' must be request, terms or operator", "reason");
    }
    svc_error_clear(&e);
    if (svc_ops_delete(req->srv, id, confirm, reason, &record, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    status = http_reply_json_text(req, 200, record, strlen(record));
    free(record);
    return status;
}

/* GET /api/v1/ops/deletions?before=&limit= */
static int h_deletions(http_req *req)
{
    long long before = 0, limit = 50;
    char *json = NULL, *body;
    size_t len;
    int status;
    svc_error e;
    if (admb_query_int(req, "before", 1, 9223372036854775807LL, 0, &before) != 0 ||
        admb_query_int(req, "limit", 1, 200, 50, &limit) != 0) {
        return req->status;
    }
    svc_error_clear(&e);
    if (svc_ops_deletions(req->srv, before, (int)limit, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    /* {"items": [...]}: the records are already JSON text. */
    len = strlen(json) + 16;
    body = malloc(len);
    if (body == NULL) {
        free(json);
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    snprintf(body, len, "{\"items\":%s}", json);
    status = http_reply_json_text(req, 200, body, strlen(body));
    free(body);
    free(json);
    return status;
}

/* ------------------------------------------------- maintenance windows (O1) */

/* GET /api/v1/maintenance: what the portal's banner shows (public). */
static int h_maintenance_now(http_req *req)
{
    cJSON *o = svc_ops_maintenance_now(auth_now());
    if (o == NULL) {
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/ops/maintenance */
static int h_maintenance_list(http_req *req)
{
    cJSON *out = NULL;
    svc_error e;
    svc_error_clear(&e);
    if (svc_ops_maintenance_list(req->srv, &out, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, out);
}

/* Body field "name" as an instant into *out; absent or null: *out -1 (and
 * "required" refuses that). Returns 0, or -1 after replying. */
static int body_instant(http_req *req, const char *name, bool required, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, name);
    char msg[120];
    *out = -1;
    if (v == NULL || cJSON_IsNull(v)) {
        if (required) {
            snprintf(msg, sizeof msg, "'%s' is needed (or 'date' for the default window)", name);
            return http_reply_error(req, 400, "missing", msg, name), -1;
        }
        return 0;
    }
    if (!cJSON_IsString(v) ||
        iso_time_parse(v->valuestring, strlen(v->valuestring), out) != 0) {
        snprintf(msg, sizeof msg, "'%s' must be an instant such as 2027-03-31T22:30:00Z", name);
        *out = -1;
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    return 0;
}

/* POST /api/v1/ops/maintenance {date} | {starts_at, ends_at} [+ announce_at]:
 * "date" (YYYY-MM-DD) is the specification's window, 06:30-07:30 China
 * Standard Time (UTC+8) of that day. */
static int h_maintenance_add(http_req *req)
{
    static const char *const allowed[] = {"date", "starts_at", "ends_at", "announce_at", NULL};
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(req->body, "date");
    int64_t announce = -1, start = -1, end = -1;
    cJSON *out = NULL;
    svc_error e;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        body_instant(req, "announce_at", false, &announce) != 0) {
        return req->status;
    }
    if (date != NULL && !cJSON_IsNull(date)) {
        char text[40];
        if (cJSON_GetObjectItemCaseSensitive(req->body, "starts_at") != NULL ||
            cJSON_GetObjectItemCaseSensitive(req->body, "ends_at") != NULL) {
            return http_reply_error(req, 400, "invalid_value",
                                    "give either 'date' or 'starts_at' and 'ends_at'", "date");
        }
        if (!cJSON_IsString(date) || strlen(date->valuestring) != 10 ||
            snprintf(text, sizeof text, "%sT06:30:00+08:00", date->valuestring) >=
                (int)sizeof text ||
            iso_time_parse(text, strlen(text), &start) != 0) {
            return http_reply_error(req, 400, "invalid_value",
                                    "'date' must be a day such as 2027-03-31", "date");
        }
        end = start + 3600;
    } else if (body_instant(req, "starts_at", true, &start) != 0 ||
               body_instant(req, "ends_at", true, &end) != 0) {
        return req->status;
    }
    svc_error_clear(&e);
    if (svc_ops_maintenance_add(req->srv, announce, start, end, &out, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 201, out);
}

/* POST /api/v1/ops/maintenance/{id}/cancel */
static int h_maintenance_cancel(http_req *req)
{
    long long id;
    cJSON *o;
    svc_error e;
    if (admin_id(req, 0, &id) != 0) {
        return req->status;
    }
    svc_error_clear(&e);
    if (svc_ops_maintenance_cancel(req->srv, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "cancelled", true);
    }
    return http_reply_json(req, 200, o);
}

const http_route http_routes_ops[] = {
    {"GET", "/api/v1/maintenance", h_maintenance_now, AUTH_PUBLIC, BODY_NONE, false},
    {"GET", "/api/v1/ops/maintenance", h_maintenance_list, AUTH_OPS, BODY_NONE, false},
    {"POST", "/api/v1/ops/maintenance", h_maintenance_add, AUTH_OPS, BODY_JSON, false},
    {"POST", "/api/v1/ops/maintenance/*/cancel", h_maintenance_cancel, AUTH_OPS, BODY_NONE,
     false},
    {"GET", "/api/v1/ops/accounts", h_accounts, AUTH_OPS, BODY_NONE, false},
    {"GET", "/api/v1/ops/accounts/*", h_account, AUTH_OPS, BODY_NONE, false},
    {"POST", "/api/v1/ops/accounts/*/freeze", h_freeze, AUTH_OPS, BODY_JSON, false},
    {"POST", "/api/v1/ops/accounts/*/unfreeze", h_unfreeze, AUTH_OPS, BODY_NONE, false},
    {"PUT", "/api/v1/ops/accounts/*/contract-end", h_contract_end, AUTH_OPS, BODY_JSON, false},
    {"POST", "/api/v1/ops/accounts/*/delete", h_delete, AUTH_OPS, BODY_JSON, false},
    {"GET", "/api/v1/ops/deletions", h_deletions, AUTH_OPS, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
