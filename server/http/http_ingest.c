/* Routes of the ingestion API for gateway apps (S1, S6, M2; docs/ingest.md).
 *
 * Apps authenticate with their credential (Authorization: Bearer mta_...),
 * not with a user session: these routes are AUTH_APP in the route table, so
 * http.c checks the credential (http_auth_app(), below) before it reads a
 * byte of the body; the service checks it again with the batch. */
#include "http.h"
#include "http_svc.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbuf.h"
#include "svc_ingest.h"

static const char *credential_of(const http_req *req)
{
    const char *authz = http_header(req, "Authorization");
    if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0) {
        return NULL;
    }
    authz += 7;
    while (*authz == ' ') {
        authz++;
    }
    return authz;
}

int http_auth_app(http_req *req)
{
    ingest_sender who;
    svc_error e;
    if (svc_ingest_authenticate_app(req->srv, credential_of(req), &who, &e) != SVC_OK) {
        return http_reply_svc(req, &e), -1;
    }
    req->account_id = who.account_id;
    req->app_id = who.app_id;
    req->app_group_id = who.group_id;
    req->app_channels_version = who.channels_version;
    return 0;
}

static int reply_ingest_err(http_req *req, const svc_error *e)
{
    return http_reply_svc(req, e);
}

/* "application/json" or "application/vnd.metron.hok" (parameters allowed). */
static int body_kind(const char *ct, ingest_body_kind *kind)
{
    static const struct {
        const char *type;
        ingest_body_kind kind;
    } types[] = {{"application/json", INGEST_BODY_JSON},
                 {"application/vnd.metron.hok", INGEST_BODY_HOK}};
    for (size_t i = 0; ct != NULL && i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i].type);
        if (strncasecmp(ct, types[i].type, n) == 0 &&
            (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ')) {
            *kind = types[i].kind;
            return 0;
        }
    }
    return -1;
}

/* Counts below this are printed by cJSON ("%1.15g") as their plain
 * decimal digits, as put_count() writes them. */
#define COUNT_TEXT_MAX 1000000000000000ULL

/* Append "t" to out at n (the caller sized out); returns the new length. */
static size_t put_text(char *out, size_t n, const char *t)
{
    size_t len = strlen(t);
    memcpy(out + n, t, len);
    return n + len;
}

/* Append "v" (below COUNT_TEXT_MAX) in decimal. */
static size_t put_count(char *out, size_t n, unsigned long long v)
{
    return n + dec_text((long long)v, out + n);
}

/* POST /api/v1/ingest/batches: one batch (JSON or HOK/HOK2 body). */
static int h_batch(http_req *req)
{
    ingest_body_kind kind;
    ingest_result r;
    svc_error e;
    cJSON *o;
    /* The app was looked up by http_auth_app() before the body was read. */
    ingest_sender who = {.credential = credential_of(req),
                         .app_id = req->app_id,
                         .checked = req->app_id > 0,
                         .account_id = req->account_id,
                         .group_id = req->app_group_id,
                         .channels_version = req->app_channels_version};
    if (body_kind(http_header(req, "Content-Type"), &kind) != 0) {
        return http_reply_error(req, 415, "unsupported_media_type",
                                "send the batch as application/json or "
                                "application/vnd.metron.hok (a HOK or HOK2 file)",
                                NULL);
    }
    if (req->raw_len == 0) {
        return http_reply_error(req, 400, "empty_batch", "the body is empty", NULL);
    }
    /* The batch id of a HOK body is its header's; a JSON body has its own. */
    if (svc_ingest_batch_as(req->srv, &who, kind, req->raw, req->raw_len,
                            kind == INGEST_BODY_HOK ? http_header(req, "X-Batch-Id") : NULL,
                            http_client_ip(req), &r, &e) != SVC_OK) {
        return reply_ingest_err(req, &e);
    }
    req->account_id = r.account_id;
    if (r.n_samples < COUNT_TEXT_MAX && r.stored < COUNT_TEXT_MAX &&
        r.n_channels < COUNT_TEXT_MAX) {
        /* The reply cJSON would print, written directly (issue 16: a
         * tree, and printf() with a sscanf() back for each number, were a
         * tenth of a small batch's instructions). */
        char text[128];
        size_t n = 0;
        n = put_text(text, n, r.duplicate ? "{\"duplicate\":true,\"samples\":"
                                          : "{\"duplicate\":false,\"samples\":");
        n = put_count(text, n, r.n_samples);
        n = put_text(text, n, ",\"stored\":");
        n = put_count(text, n, r.stored);
        if (!r.duplicate) {
            n = put_text(text, n, ",\"channels\":");
            n = put_count(text, n, r.n_channels);
        }
        n = put_text(text, n, "}");
        return http_reply_json_text(req, r.duplicate ? 200 : 201, text, n);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddBoolToObject(o, "duplicate", r.duplicate);
        cJSON_AddNumberToObject(o, "samples", (double)r.n_samples);
        cJSON_AddNumberToObject(o, "stored", (double)r.stored);
        if (!r.duplicate) {
            cJSON_AddNumberToObject(o, "channels", (double)r.n_channels);
        }
    }
    return http_reply_json(req, r.duplicate ? 200 : 201, o);
}

/* POST /api/v1/ingest/status {"state": "connect" | "disconnect" | "heartbeat"} */
static int h_status(http_req *req)
{
    static const char *const allowed[] = {"state", NULL};
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(req->body, "state");
    ingest_result r;
    svc_error e;
    cJSON *o;
    if (credential_of(req) == NULL) {
        return http_reply_error(req, 401, "unauthenticated",
                                "send the app credential as Authorization: Bearer mta_...", NULL);
    }
    if (http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    if (!cJSON_IsString(state) ||
        (strcmp(state->valuestring, "connect") && strcmp(state->valuestring, "disconnect") &&
         strcmp(state->valuestring, "heartbeat"))) {
        return http_reply_error(req, 400, state == NULL ? "missing" : "invalid_value",
                                "state: expected \"connect\", \"disconnect\" or \"heartbeat\"",
                                "state");
    }
    if (svc_ingest_status(req->srv, credential_of(req), state->valuestring, http_client_ip(req),
                          &r, &e) != SVC_OK) {
        return reply_ingest_err(req, &e);
    }
    req->account_id = r.account_id;
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "state", state->valuestring);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/ingest/channels: the app's devices and channels (ids to send). */
static int h_channels(http_req *req)
{
    char *json = NULL;
    svc_error e;
    cJSON *o;
    if (svc_ingest_describe(req->srv, credential_of(req), &json, &e) != SVC_OK) {
        return reply_ingest_err(req, &e);
    }
    o = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    return http_reply_json(req, 200, o);
}

const http_route http_routes_ingest[] = {
    {"POST", "/api/v1/ingest/batches", h_batch, AUTH_APP, BODY_RAW, false},
    {"POST", "/api/v1/ingest/status", h_status, AUTH_APP, BODY_JSON, false},
    {"GET", "/api/v1/ingest/channels", h_channels, AUTH_APP, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
