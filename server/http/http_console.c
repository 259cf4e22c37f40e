/* The console (C1, C2, P18, P19; docs/console.md): open a console on an
 * instrument, stream its screens as server-sent events, operate it, give
 * it up. The checks and the relay are svc_console.c's. */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <civetweb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_admin_rows.h"
#include "http_internal.h"
#include "http_svc.h"
#include "console_svc.h"

/* The "session" query member or body member, checked: 0 and *out ("" when
 * absent and not "required"), or -1 after replying 400. */
static int session_of(http_req *req, const char *text, bool required, char *out)
{
    if (text == NULL) {
        if (required) {
            http_reply_error(req, 400, "missing", "session: the id POST .../console gave",
                             "session");
            return -1;
        }
        out[0] = '\0';
        return 0;
    }
    if (!svc_console_session_valid(text)) {
        http_reply_error(req, 400, "invalid_value",
                         "session: 32 lower-case hexadecimal digits, as POST .../console gave",
                         "session");
        return -1;
    }
    memcpy(out, text, CONSOLE_SESSION_LEN + 1);
    return 0;
}

static int query_session(http_req *req, bool required, char *out)
{
    char buf[CONSOLE_SESSION_LEN + 2];
    int n = http_query(req, "session", buf, sizeof buf);
    if (n == -2) {
        return http_reply_error(req, 400, "invalid_value",
                                "session: 32 lower-case hexadecimal digits", "session"),
               -1;
    }
    return session_of(req, n >= 0 ? buf : NULL, required, out);
}

/* A refusal that names who holds (or took) the console: the sentence and,
 * as data, {"holder": {"name", "login_id", "since"}} (the portal words it
 * in the person's language). */
static int reply_refusal(http_req *req, const svc_error *e, const db_console_holder *who)
{
    cJSON *o, *hold;
    if (!who->held || e->code == NULL) {
        return http_reply_svc(req, e);
    }
    o = http_error_object(e->code, e->message, NULL);
    hold = o != NULL ? cJSON_AddObjectToObject(o, "holder") : NULL;
    if (hold == NULL) {
        cJSON_Delete(o);
        return http_reply_svc(req, e);
    }
    cJSON_AddStringToObject(hold, "name", who->name);
    cJSON_AddStringToObject(hold, "login_id", who->login);
    cJSON_AddStringToObject(hold, "since", who->since);
    return http_reply_json(req, http_svc_status(e->status), o);
}

/* POST /api/v1/devices/{id}/console {"mode"?: "operate" | "view", "take_over"?,
 * "resume"?} */
static int h_open(http_req *req)
{
    static const char *const allowed[] = {"mode", "take_over", "resume", NULL};
    const char *mode = NULL, *resume = NULL;
    long long id;
    int take_over = -1;
    bool operate = true;
    svc_error e;
    db_console_holder who;
    cJSON *o = NULL;
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "mode", 16, false, &mode) != 0 ||
        admb_json_bool(req, req->body, "take_over", &take_over) != 0 ||
        http_json_string(req, req->body, "resume", CONSOLE_SESSION_LEN, false, &resume) != 0) {
        return req->status;
    }
    if (mode != NULL && strcmp(mode, "operate") != 0 && strcmp(mode, "view") != 0) {
        return http_reply_error(req, 400, "invalid_value", "mode is operate or view", "mode");
    }
    operate = mode == NULL || strcmp(mode, "operate") == 0;
    if (svc_console_open(&req->actor, id, operate, take_over == 1, resume, &o, &who, &e) != SVC_OK) {
        return reply_refusal(req, &e, &who);
    }
    return http_reply_json(req, 201, o);
}

/* POST /api/v1/devices/{id}/console/operations {"session", "op", "interval_s"?} */
static int h_operate(http_req *req)
{
    static const char *const allowed[] = {"session", "op", "interval_s", NULL};
    const char *session_text = NULL, *op = NULL;
    char session[CONSOLE_SESSION_LEN + 1], op_id[48];
    const cJSON *iv;
    int interval_s = 0;
    long long id;
    svc_error e;
    db_console_holder who;
    cJSON *o;
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "session", 40, true, &session_text) != 0 ||
        session_of(req, session_text, true, session) != 0 ||
        http_json_string(req, req->body, "op", 16, true, &op) != 0) {
        return req->status;
    }
    iv = cJSON_GetObjectItemCaseSensitive(req->body, "interval_s");
    if (iv != NULL) {
        if (!cJSON_IsNumber(iv)) {
            return http_reply_error(req, 400, "wrong_type", "interval_s: expected a number",
                                    "interval_s");
        }
        if (!(iv->valuedouble >= 1 && iv->valuedouble <= 3600) ||
            iv->valuedouble != floor(iv->valuedouble)) {
            return http_reply_error(req, 400, "invalid_value",
                                    "interval_s is whole seconds of 1 to 3600", "interval_s");
        }
        interval_s = (int)iv->valuedouble;
    }
    if (svc_console_operate(&req->actor, id, session, op, interval_s, op_id, &who, &e) !=
        SVC_OK) {
        return reply_refusal(req, &e, &who);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "id", op_id);
        cJSON_AddStringToObject(o, "op", op);
    }
    return http_reply_json(req, 202, o);
}

/* DELETE /api/v1/devices/{id}/console?session= */
static int h_close(http_req *req)
{
    char session[CONSOLE_SESSION_LEN + 1];
    long long id;
    bool released = false;
    svc_error e;
    cJSON *o;
    if (admb_path_id(req, 0, &id) != 0 || query_session(req, true, session) != 0) {
        return req->status;
    }
    if (svc_console_close(&req->actor, id, session, &released, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "released", released);
    }
    return http_reply_json(req, 200, o);
}

/* The stream's writer: CivetWeb's connection. */
static int sse_begin(void *ctx)
{
    http_req *req = ctx;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: text/event-stream; charset=utf-8\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "X-Accel-Buffering: no\r\n"
                     "%s%s"
                     "Connection: close\r\n\r\n"
                     ": the console of a Metron instrument (docs/console.md)\n\n",
                     req->cors,
                     req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "");
    req->status = 200;
    req->replied = true;
    if (n < 0 || (size_t)n >= sizeof head) {
        return -1;
    }
    return http_write(req->conn, head, (size_t)n) == n ? 0 : -1;
}

static int sse_write(void *ctx, const char *text, size_t len)
{
    http_req *req = ctx;
    return http_write(req->conn, text, len) == (int)len ? 0 : -1;
}

static bool sse_stopping(void *ctx)
{
    (void)ctx;
    return http_draining();
}

/* The stream's quiet time before a comment: 0 (CONSOLE_KEEPALIVE_MS), or in
 * the test build METRON_TEST_CONSOLE_KEEPALIVE_MS (100 to the default), so
 * that a test sees a keep-alive without waiting 15 s; production ignores it. */
static long long sse_keepalive_ms(void)
{
    const char *env = http_test_build ? getenv("METRON_TEST_CONSOLE_KEEPALIVE_MS") : NULL;
    char *end = NULL;
    long long v = env != NULL ? strtoll(env, &end, 10) : 0;
    if (env == NULL || *end != '\0' || v < 100 || v > CONSOLE_KEEPALIVE_MS) {
        return 0;
    }
    return v;
}

/* GET /api/v1/devices/{id}/console/stream?session= (text/event-stream) */
static int h_stream(http_req *req)
{
    char session[CONSOLE_SESSION_LEN + 1];
    svc_console_sink sink = {sse_begin, sse_write, sse_stopping, req, sse_keepalive_ms()};
    long long id;
    svc_error e;
    if (admb_path_id(req, 0, &id) != 0 || query_session(req, false, session) != 0) {
        return req->status;
    }
    http_close_after_reply(req);
    if (svc_console_stream(&req->actor, id, session[0] ? session : NULL, &sink, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return req->status;
}

const http_route http_routes_console[] = {
    {"POST", "/api/v1/devices/*/console", h_open, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/devices/*/console", h_close, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/devices/*/console/stream", h_stream, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/devices/*/console/operations", h_operate, AUTH_USER, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
