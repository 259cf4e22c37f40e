/* Administration API, part A: the account (L7), plans (P), quotation
 * requests, plan change (L2) and trials (L4). docs/api/openapi.yaml. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <string.h>

#include "http_admin_args.h"
#include "svc_account.h"

/* GET /api/v1/account */
static int h_account_get(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_account_get(&a, &o, &e), &o, &e);
}

/* NULL-terminated for http_json_fields(). */
static const char *const subscriber_keys[7] = {"company", "name",    "email", "phone",
                                               "address", "country", NULL};
static const size_t subscriber_max[6] = {200, 200, 254, 40, 500, 64};

/* PATCH /api/v1/account (administrators) */
static int h_account_patch(http_req *req)
{
    static const char *const allowed[] = {"name", "subscriber", "time_zone", "language",
                                          "alt_login_id", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    svc_account_patch p;
    const cJSON *sub;
    memset(&p, 0, sizeof p);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "name", 200, false, &p.name) != 0 ||
        http_json_string(req, req->body, "time_zone", 64, false, &p.time_zone) != 0 ||
        http_json_string(req, req->body, "language", 8, false, &p.language) != 0 ||
        admin_nullable_string(req, "alt_login_id", 64, &p.alt_login_id_set, &p.alt_login_id) !=
            0) {
        return req->status;
    }
    if (p.name != NULL && p.name[0] == '\0') {
        return http_reply_error(req, 400, "invalid_value", "'name' must not be empty", "name");
    }
    if (p.language != NULL && !admin_language_known(p.language)) {
        return http_reply_error(req, 400, "invalid_value",
                                "'language' is one of zh-CN, ja, en, es, fr, de, it",
                                "language");
    }
    if (p.alt_login_id != NULL) {
        size_t n = strlen(p.alt_login_id);
        bool ok = n >= 3 && n <= 64 &&
                  strspn(p.alt_login_id, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
                  p.alt_login_id[0] != '.' && p.alt_login_id[0] != '_' &&
                  p.alt_login_id[0] != '-';
        if (!ok) {
            return http_reply_error(req, 400, "invalid_value",
                                    "'alt_login_id' is 3 to 64 characters: a-z, 0-9, '.', '_', "
                                    "'-', starting with a letter or digit",
                                    "alt_login_id");
        }
    }
    sub = cJSON_GetObjectItemCaseSensitive(req->body, "subscriber");
    if (sub != NULL) {
        if (!cJSON_IsObject(sub)) {
            return http_reply_error(req, 400, "wrong_type", "'subscriber' must be an object",
                                    "subscriber");
        }
        if (http_json_fields(req, sub, subscriber_keys, "subscriber") != 0) {
            return req->status;
        }
        for (int i = 0; i < 6; i++) {
            if (http_json_string(req, sub, subscriber_keys[i], subscriber_max[i], false,
                                 &p.subscriber[i]) != 0) {
                return req->status;
            }
        }
    }
    return admin_reply(req, 200, svc_account_update(&a, &p, &o, &e), &o, &e);
}

/* GET /api/v1/plans (public: the plan table from core) */
static int h_plans(http_req *req)
{
    return http_reply_json(req, 200, svc_plans_json());
}

/* POST /api/v1/account/quotation {plan, months, note?} (administrators) */
static int h_quotation_create(http_req *req)
{
    static const char *const allowed[] = {"plan", "months", "note", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *plan = NULL, *note = NULL;
    long long months = 0;
    bool has_months;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "plan", 16, true, &plan) != 0 ||
        admin_int(req, "months", true, 1, 1200, &months, &has_months) != 0 ||
        http_json_string(req, req->body, "note", 2000, false, &note) != 0) {
        return req->status;
    }
    return admin_reply(req, 201, svc_quotation_create(&a, plan, (int)months, note, &o, &e), &o, &e);
}

/* GET /api/v1/account/quotation (administrators): the requests made */
static int h_quotation_list(http_req *req)
{
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    return admin_reply(req, 200, svc_quotation_list(&a, &o, &e), &o, &e);
}

/* POST /api/v1/account/plan {plan, months?} (administrators) */
static int h_plan_change(http_req *req)
{
    static const char *const allowed[] = {"plan", "months", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *plan = NULL;
    long long months = 0;
    bool has_months;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "plan", 16, true, &plan) != 0 ||
        admin_int(req, "months", false, 1, 1200, &months, &has_months) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_plan_change(&a, plan, (int)months, &o, &e), &o, &e);
}

/* POST /api/v1/account/upgrade {plan, login_id, months?} (the trial's user) */
static int h_upgrade(http_req *req)
{
    static const char *const allowed[] = {"plan", "login_id", "months", NULL};
    svc_actor a = admin_actor(req);
    cJSON *o = NULL;
    svc_error e;
    const char *plan = NULL, *login_id = NULL;
    long long months = 0;
    bool has_months;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "plan", 16, true, &plan) != 0 ||
        http_json_string(req, req->body, "login_id", 32, true, &login_id) != 0 ||
        admin_int(req, "months", false, 1, 1200, &months, &has_months) != 0) {
        return req->status;
    }
    return admin_reply(req, 200, svc_trial_upgrade(&a, plan, (int)months, login_id, &o, &e), &o,
                       &e);
}

/* POST /api/v1/trial {email, password} (public; throttled per address) */
static int h_trial_create(http_req *req)
{
    static const char *const allowed[] = {"email", "password", NULL};
    cJSON *o = NULL;
    svc_error e;
    const char *email = NULL, *password = NULL;
    svc_status rc;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "email", 254, true, &email) != 0 ||
        http_json_string(req, req->body, "password", 256, true, &password) != 0) {
        return req->status;
    }
    rc = svc_trial_create(req->srv, email, password, http_client_ip(req), &o, &e);
    if (rc == SVC_OK && o != NULL) {
        /* The access log names the new account and its user. */
        req->account_id =
            (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "account_id"));
        req->user_id =
            (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "user_id"));
    }
    return admin_reply(req, 201, rc, &o, &e);
}

const http_route http_routes_admin_account[] = {
    {"GET", "/api/v1/account", h_account_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/account", h_account_patch, AUTH_ADMIN, BODY_JSON, false},
    {"POST", "/api/v1/account/plan", h_plan_change, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/account/quotation", h_quotation_list, AUTH_ADMIN, BODY_NONE, false},
    {"POST", "/api/v1/account/quotation", h_quotation_create, AUTH_ADMIN, BODY_JSON, false},
    {"POST", "/api/v1/account/upgrade", h_upgrade, AUTH_ADMIN, BODY_JSON, false},
    {"GET", "/api/v1/plans", h_plans, AUTH_PUBLIC, BODY_NONE, false},
    {"POST", "/api/v1/trial", h_trial_create, AUTH_PUBLIC, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
