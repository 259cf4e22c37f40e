/* The test-only routes (under /api/v1/test/ and /api/v1/debug/), all in this one
 * file, linked only into the test build of the server (metron-server-test;
 * server/CMakeLists.txt). The production binary links
 * http_test_routes_off.c instead, whose table is empty, so none of these
 * handlers exists in it. In the test build they are still served only
 * with METRON_TEST_ROUTES=1 (docs/server.md). */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "auth_password.h"
#include "http.h"
#include "http_admin_rows.h"
#include "json_out.h"
#include "jobs.h"
#include "svc_drive.h"
#include "svc_destinations.h"
#include "svc_export.h"
#include "http_svc.h"
#include "svc_report.h"
#include "svc_test_fixtures.h"
#include "report_worker.h"
#include "svc_mqtt.h"
#include "mqtt_ca.h"
#include "mqtt_bridge.h"

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

/* POST /api/v1/test/clock {offset_s}: shift auth_now() (tests only). */
static int h_test_clock(http_req *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, "offset_s");
    cJSON *r;
    if (!cJSON_IsNumber(v) || v->valuedouble < -1e10 || v->valuedouble > 1e10) {
        return http_reply_error(req, 400, "invalid_value", "'offset_s' must be a number of seconds",
                                "offset_s");
    }
    auth_set_clock_offset((int64_t)v->valuedouble);
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "offset_s", (double)auth_clock_offset());
    cJSON_AddNumberToObject(r, "now", (double)auth_now());
    return http_reply_json(req, 200, r);
}

/* POST /api/v1/test/jobs[?job=NAME]: run the background jobs (or one) now,
 * at the test clock (tests only) -> {now, jobs: [{name, done, ok, ms}]}. */
static int h_test_jobs(http_req *req)
{
    jobs_result res[JOBS_MAX];
    char only[64];
    int n, q = http_query(req, "job", only, sizeof only);
    cJSON *r, *arr;
    n = jobs_run(req->srv, q >= 0 ? only : NULL, res, JOBS_MAX);
    if (n < 0) {
        return http_reply_error(req, 400, "invalid_value", "no such job", "job");
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "now", (double)auth_now());
    arr = cJSON_AddArrayToObject(r, "jobs");
    for (int i = 0; arr != NULL && i < n && i < JOBS_MAX; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", res[i].name);
        cJSON_AddNumberToObject(j, "done", (double)res[i].done);
        cJSON_AddBoolToObject(j, "ok", res[i].ok);
        cJSON_AddNumberToObject(j, "ms", res[i].ms);
        cJSON_AddItemToArray(arr, j);
    }
    return http_reply_json(req, 200, r);
}

/* Insert a user from the test body "b" into "account_id". */
static int test_user(http_req *req, const cJSON *b, long long account_id, bool email_login,
                     long long *user_id)
{
    const char *login = NULL, *password = NULL, *name = NULL, *email = NULL, *role = NULL,
               *files = NULL;
    svc_error e;
    if (http_json_string(req, b, "user", AUTH_MAX_EMAIL_CHARS, !email_login, &login) != 0 ||
        http_json_string(req, b, "password", PASSWORD_MAX_BYTES, true, &password) != 0 ||
        http_json_string(req, b, "user_name", 100, false, &name) != 0 ||
        http_json_string(req, b, "email", AUTH_MAX_EMAIL_CHARS, email_login, &email) != 0 ||
        http_json_string(req, b, "role", 8, false, &role) != 0 ||
        http_json_string(req, b, "file_access", 8, false, &files) != 0) {
        return -1;
    }
    if (email_login && login == NULL) {
        login = email;
    }
    role = role ? role : "admin";
    files = files ? files : (strcmp(role, "admin") == 0 ? "edit" : "view");
    if (svc_test_user_create(req->srv, account_id, login, name ? name : login, email, email_login,
                             role, files, password, user_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e), -1;
    }
    return 0;
}

/* POST /api/v1/test/accounts {account?, alt_account?, name?, plan, user,
 * password, email?, role?, file_access?, licence_expires?, trial_expires?}
 * -> {account_id, user_id}: an account with its first user (tests only). */
static int h_test_account(http_req *req)
{
    const cJSON *b = req->body, *le, *te;
    const char *account = NULL, *alt = NULL, *name = NULL, *plan = NULL;
    long long account_id = 0, user_id = 0;
    int64_t now = auth_now();
    svc_error e;
    cJSON *r;
    if (http_json_string(req, b, "account", AUTH_MAX_LOGIN_CHARS, false, &account) != 0 ||
        http_json_string(req, b, "alt_account", AUTH_MAX_LOGIN_CHARS, false, &alt) != 0 ||
        http_json_string(req, b, "name", 200, false, &name) != 0 ||
        http_json_string(req, b, "plan", 16, true, &plan) != 0) {
        return req->status;
    }
    le = cJSON_GetObjectItemCaseSensitive(b, "licence_expires");
    te = cJSON_GetObjectItemCaseSensitive(b, "trial_expires");
    if (svc_test_account_create(req->srv, account, alt, name ? name : (account ? account : "Trial"),
                                plan,
                                cJSON_IsNumber(le) ? (int64_t)le->valuedouble : now + 365 * 86400,
                                cJSON_IsNumber(te) ? (int64_t)te->valuedouble : now + 93 * 86400,
                                &account_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    if (test_user(req, b, account_id, account == NULL, &user_id) != 0) {
        return req->status;
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "account_id", (double)account_id);
    cJSON_AddNumberToObject(r, "user_id", (double)user_id);
    return http_reply_json(req, 201, r);
}

/* POST /api/v1/test/users {account_id, user, password, email?, role?,
 * file_access?, user_name?} -> {user_id} (tests only). */
static int h_test_user(http_req *req)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(req->body, "account_id");
    long long user_id = 0;
    cJSON *r;
    if (!cJSON_IsNumber(a)) {
        return http_reply_error(req, 400, "missing", "'account_id' is required", "account_id");
    }
    if (test_user(req, req->body, (long long)a->valuedouble, false, &user_id) != 0) {
        return req->status;
    }
    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "user_id", (double)user_id);
    return http_reply_json(req, 201, r);
}

/* POST /api/v1/test/computed-backfill?rounds=&days= (tests only): run
 * back-fill rounds of at most "days" days (default 16) until no job is left
 * or "rounds" rounds did work (default: no limit). */
static int h_test_backfill(http_req *req)
{
    long long rounds, days;
    svc_error e;
    cJSON *o = NULL;
    if (admb_query_int(req, "rounds", 1, 1000000, 1000000, &rounds) != 0 ||
        admb_query_int(req, "days", 1, 10000, 16, &days) != 0) {
        return req->status;
    }
    if (svc_test_backfill(req->srv, rounds, days, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/test/compact: fold every hot row now, then build the month
 * rows due (tests only). */
static int h_test_compact(http_req *req)
{
    svc_error e;
    cJSON *o = NULL;
    if (svc_test_compact(req->srv, &o, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/test/storage {account_id, data_bytes}: set the account's
 * acquired-data bytes, to bring it near its quota. */
static int h_test_storage(http_req *req)
{
    long long account = 0;
    bool present = false;
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(req->body, "data_bytes");
    svc_error e = {0};
    cJSON *o;
    if (admb_json_id(req, req->body, "account_id", false, &account, &present) != 0) {
        return req->status;
    }
    if (!present || !cJSON_IsNumber(bytes) || bytes->valuedouble < 0 ||
        bytes->valuedouble > 9007199254740992.0) {
        return http_reply_error(req, 400, "invalid_value", "account_id and data_bytes >= 0 needed",
                                NULL);
    }
    if (svc_drive_test_set_data_bytes(req->srv->pool, account, (long long)bytes->valuedouble,
                                      &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "account_id", (double)account);
        cJSON_AddNumberToObject(o, "data_bytes", bytes->valuedouble);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/test/drive-retention {grace_s?}: run the drive's periodic
 * job now (L5 retention at the test clock, then the file store's sweep). */
static int h_test_retention(http_req *req)
{
    const cJSON *grace = cJSON_GetObjectItemCaseSensitive(req->body, "grace_s");
    svc_drive_cleanup_stats s;
    svc_error e = {0};
    cJSON *o;
    int64_t grace_s = DRIVE_SWEEP_GRACE_S;
    if (grace != NULL && !cJSON_IsNull(grace)) {
        if (!cJSON_IsNumber(grace) || grace->valuedouble < 0 || grace->valuedouble > 1e9) {
            return http_reply_error(req, 400, "invalid_value", "grace_s must be seconds >= 0",
                                    "grace_s");
        }
        grace_s = (int64_t)grace->valuedouble;
    }
    if (svc_drive_cleanup(req->srv->pool, auth_now() * 1000000, grace_s, &s, &e) != SVC_OK) {
        return admb_reply_err(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "accounts", (double)s.accounts);
        cJSON_AddNumberToObject(o, "files_deleted", (double)s.files_deleted);
        cJSON_AddNumberToObject(o, "bytes_freed", (double)s.bytes_freed);
        cJSON_AddNumberToObject(o, "orphans_removed", (double)s.orphans_removed);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/test/export-cleanup: one clean-up round now, at the test
 * clock (tests only). */
static int h_test_cleanup(http_req *req)
{
    long long done = 0;
    cJSON *o;
    if (svc_export_cleanup(req->srv, auth_now(), &done) != 0) {
        return http_reply_error(req, 503, "db_unavailable", "the clean-up failed", NULL);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "done", (double)done);
    return http_reply_json(req, 200, o);
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

/* POST /api/v1/test/notify {account_id, destination_ids?: [..] (none: the
 * system recipients), count?: 1, per_tx?: 1, key_prefix, kind?: "test",
 * severity?: "info", language?, title?, body?} -> 200 {queued, duplicates,
 * skipped, message_id, delivery_id, enqueue_ms, commit_ms}: the real
 * svc_notify_enqueue() inside real transactions, for the tests of
 * delivery and for scripts/bench-notify. */
static int h_test_notify(http_req *req)
{
    static const char *const allowed[] = {"account_id", "destination_ids", "count", "per_tx",
                                          "key_prefix", "kind", "severity", "language",
                                          "title", "body", NULL};
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(req->body, "destination_ids");
    const cJSON *x;
    long long account = 0, to[64];
    int n_to = 0;
    long long count = 1, per_tx = 1;
    const char *prefix = NULL, *kind = NULL, *severity = NULL, *language = NULL, *title = NULL,
               *body = NULL;
    bool present;
    notify_result r;
    double enq_ms = 0, commit_ms = 0;
    svc_error e = {0};
    cJSON *o;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_id(req, req->body, "account_id", false, &account, &present) != 0 ||
        http_json_string(req, req->body, "key_prefix", 100, true, &prefix) != 0 ||
        http_json_string(req, req->body, "kind", 64, false, &kind) != 0 ||
        http_json_string(req, req->body, "severity", 16, false, &severity) != 0 ||
        http_json_string(req, req->body, "language", 8, false, &language) != 0 ||
        http_json_string(req, req->body, "title", 200, false, &title) != 0 ||
        http_json_string(req, req->body, "body", 4000, false, &body) != 0) {
        return req->status;
    }
    if (!present) {
        return http_reply_error(req, 400, "missing", "'account_id' is required", "account_id");
    }
    x = cJSON_GetObjectItemCaseSensitive(req->body, "count");
    if (x != NULL && (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 100000)) {
        return http_reply_error(req, 400, "invalid_value", "count: 1..100000", "count");
    }
    count = x != NULL ? (long long)x->valuedouble : 1;
    x = cJSON_GetObjectItemCaseSensitive(req->body, "per_tx");
    if (x != NULL && (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 10000)) {
        return http_reply_error(req, 400, "invalid_value", "per_tx: 1..10000", "per_tx");
    }
    per_tx = x != NULL ? (long long)x->valuedouble : 1;
    if (ids != NULL) {
        cJSON_ArrayForEach(x, ids)
        {
            if (n_to == 64 || !admb_json_id_value(x, &to[n_to])) {
                return http_reply_error(req, 400, "invalid_value",
                                        "destination_ids: at most 64 ids", "destination_ids");
            }
            n_to++;
        }
    }
    if (svc_notify_load(req->srv->pool, account, to, n_to, (int)count, (int)per_tx, prefix,
                        kind ? kind : "test", severity ? severity : "info", language,
                        title ? title : "Metron load test", body ? body : "", &r, &enq_ms,
                        &commit_ms, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        json_add_int(o, "queued", r.queued);
        json_add_int(o, "duplicates", r.duplicates);
        json_add_int(o, "skipped", r.skipped);
        json_add_int(o, "message_id", r.message_id);
        json_add_int(o, "delivery_id", r.first_id);
        cJSON_AddNumberToObject(o, "enqueue_ms", enq_ms);
        cJSON_AddNumberToObject(o, "commit_ms", commit_ms);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/test/listen-barrier (tests only) -> 200 {heard: true,
 * waited_ms}: once it answers, the listener of announced changes has
 * handled every announcement committed before the request (db_listen.h);
 * 503 when it does not hear within 10 s. A GET: it changes no state a
 * reply shows, and a POST would move the state epoch of every account
 * (http_state_moves(), a public request that may write) after its reply
 * left, ending the remembered replies the test reads right after it.
 * For the same reason it first waits (up to BARRIER_OTHERS_MS) until no
 * other request is in flight: a request whose reply the client already
 * has (a sign-in, a token) moves the epoch once more after its handler
 * (api_handler()), and a worker held up between the two (ASan, a loaded
 * machine) ended a reply remembered after the barrier (me_cache.test,
 * once). A test with a request that stays open (a stream) only waits the
 * bound. */
#define BARRIER_OTHERS_MS 2000
static int h_test_listen_barrier(http_req *req)
{
    double ms = 0;
    svc_error e;
    cJSON *o;
    for (int waited = 0; http_inflight() > 1 && waited < BARRIER_OTHERS_MS; waited++) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    if (svc_test_listen_barrier(req->srv, &ms, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "heard", true);
        cJSON_AddNumberToObject(o, "waited_ms", ms);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/test/mqtt (tests only): this process's bridge. */
static int h_test_mqtt(http_req *req)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "configured", req->srv->cfg.mqtt_url != NULL);
        cJSON_AddBoolToObject(o, "connected", mqtt_bridge_connected());
        cJSON_AddNumberToObject(o, "messages", (double)mqtt_bridge_messages());
    }
    return http_reply_json(req, 200, o);
}

/* The test route's work, on a thread of its own: rendering (fontconfig,
 * pango, cairo) needs more stack than a CivetWeb worker's fixed 100 KiB. */
typedef struct {
    srv *s;
    int done;
    int rc;
} test_work;

static void *test_work_main(void *arg)
{
    test_work *w = arg;
    svc_report_config cfg;
    bool did = true;
    svc_report_config_load(&cfg);
    while (did && w->done < 100 && w->rc == 0) {
        w->rc = svc_report_work(w->s, &cfg, &did);
        w->done += did ? 1 : 0;
    }
    return NULL;
}

/* POST /api/v1/test/report-work: make every due run now and say how many
 * (tests only: deterministic, no waiting for the worker thread). */
static int h_test_work(http_req *req)
{
    test_work w = {req->srv, 0, 0};
    pthread_t th;
    cJSON *o;
    if (pthread_create(&th, NULL, test_work_main, &w) != 0) {
        return http_reply_error(req, 503, "server_busy", "no thread for the work", NULL);
    }
    pthread_join(th, NULL);
    if (w.rc != 0) {
        return http_reply_error(req, 503, "db_unavailable", "the database failed", NULL);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "runs", w.done);
    return http_reply_json(req, 200, o);
}

const bool http_test_build = true;

const http_route http_routes_test[] = {
    {"POST", "/api/v1/test/audit-fail", h_test_audit_fail, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/clock", h_test_clock, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/jobs", h_test_jobs, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/test/accounts", h_test_account, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/users", h_test_user, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/computed-backfill", h_test_backfill, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/test/compact", h_test_compact, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/test/storage", h_test_storage, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/drive-retention", h_test_retention, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/export-cleanup", h_test_cleanup, AUTH_PUBLIC, BODY_NONE, true},
    {"GET", "/api/v1/debug/sleep", h_debug_sleep, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/debug/echo", h_debug_echo, AUTH_PUBLIC, BODY_JSON, true},
    {"POST", "/api/v1/test/notify", h_test_notify, AUTH_PUBLIC, BODY_JSON, true},
    {"GET", "/api/v1/test/mqtt", h_test_mqtt, AUTH_PUBLIC, BODY_NONE, true},
    {"GET", "/api/v1/test/listen-barrier", h_test_listen_barrier, AUTH_PUBLIC, BODY_NONE, true},
    {"POST", "/api/v1/test/report-work", h_test_work, AUTH_PUBLIC, BODY_NONE, true},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
