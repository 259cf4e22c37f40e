/* Routes of MQTTS with mutual TLS (docs/mqtt.md):
 *
 *   app credential (AUTH_APP: checked before the body is read):
 *     POST /api/v1/ingest/certificate {"csr": PEM}  a client certificate and the broker
 *   signed-in users:
 *     GET  /api/v1/apps/{id}/certificates           the app's certificates
 *     POST /api/v1/apps/{id}/certificates/{cid}/revoke   (administrators) */
#define _POSIX_C_SOURCE 200809L
#include "http.h"
#include "http_admin_args.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_svc.h"
#include "mqtt_bridge.h"
#include "mqtt_ca.h"
#include "svc_mqtt.h"

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

static int path_id(http_req *req, int i, long long *out)
{
    if (!http_id_text(req->params[i], out)) {
        http_reply_error(req, 404, "not_found", "no such object", NULL);
        return -1;
    }
    return 0;
}

static void add_time(cJSON *o, const char *name, long long t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(o, name, buf);
}

/* POST /api/v1/ingest/certificate */
static int h_certificate(http_req *req)
{
    static const char *const allowed[] = {"csr", NULL};
    const char *csr = NULL;
    svc_mqtt_issued out;
    svc_error err;
    cJSON *o, *m, *t;
    char topic[96];
    if (credential_of(req) == NULL) {
        return http_reply_error(req, 401, "unauthenticated",
                                "send the app credential as Authorization: Bearer mta_...", NULL);
    }
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "csr", MQTT_CA_CSR_MAX, true, &csr) != 0) {
        return req->status;
    }
    if (svc_mqtt_issue(req->srv, credential_of(req), csr, strlen(csr), &out, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)out.cert_id);
        cJSON_AddNumberToObject(o, "app_id", (double)out.app_id);
        cJSON_AddStringToObject(o, "serial", out.serial);
        add_time(o, "not_after", out.not_after);
        cJSON_AddStringToObject(o, "certificate", out.cert_pem);
        cJSON_AddStringToObject(o, "ca", out.ca_pem);
        m = cJSON_AddObjectToObject(o, "mqtt");
        if (m != NULL) {
            cJSON_AddStringToObject(m, "url", req->srv->cfg.mqtt_public != NULL
                                                  ? req->srv->cfg.mqtt_public
                                                  : req->srv->cfg.mqtt_url);
            t = cJSON_AddObjectToObject(m, "topics");
            if (t != NULL) {
                static const char *const names[][2] = {{"batch", "up/batch"},
                                                       {"live", "up/live"},
                                                       {"status", "up/status"},
                                                       {"reply", "down/reply"}};
                for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                    snprintf(topic, sizeof topic, "metron/v1/app/%lld/%s", out.app_id,
                             names[i][1]);
                    cJSON_AddStringToObject(t, names[i][0], topic);
                }
            }
        }
    }
    free(out.cert_pem);
    return http_reply_json(req, 201, o);
}

/* GET /api/v1/apps/{id}/certificates */
static int h_certs(http_req *req)
{
    long long app_id;
    char *json = NULL;
    svc_error err;
    int rc;
    if (path_id(req, 0, &app_id) != 0) {
        return req->status;
    }
    if (svc_mqtt_certs(&req->actor, app_id, &json, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    rc = http_reply_json_text(req, 200, json, strlen(json));
    free(json);
    return rc;
}

/* POST /api/v1/apps/{id}/certificates/{cid}/revoke */
static int h_revoke(http_req *req)
{
    long long app_id, cert_id;
    svc_error err;
    cJSON *o;
    if (path_id(req, 0, &app_id) != 0 || path_id(req, 1, &cert_id) != 0) {
        return req->status;
    }
    if (svc_mqtt_revoke(&req->actor, app_id, cert_id, &err) != SVC_OK) {
        return http_reply_svc(req, &err);
    }
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)cert_id);
        cJSON_AddStringToObject(o, "state", "revoked");
    }
    return http_reply_json(req, 200, o);
}

const http_route http_routes_mqtt[] = {
    {"POST", "/api/v1/ingest/certificate", h_certificate, AUTH_APP, BODY_JSON, false},
    {"GET", "/api/v1/apps/*/certificates", h_certs, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/apps/*/certificates/*/revoke", h_revoke, AUTH_ADMIN, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
