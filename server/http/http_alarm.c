/* Routes of alarm settings (R1-R7, P7; docs/alarms.md): list, create,
 * read, edit (enable/disable), copy, delete. Rules and access live in
 * svc_alarm.c. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"

#include "http.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "mt/alarm.h"
#include "svc_alarm.h"
#include "svc_alarm_eval.h"

/* Reply "status" with JSON text from svc (takes ownership of "json"). */
static int reply_text(http_req *req, int status, char *json)
{
    int rc = http_reply_json_text(req, status, json, strlen(json));
    free(json);
    return rc;
}

/* Reply "status" with rule "id" as it is now. */
static int reply_rule(http_req *req, int status, long long id)
{
    svc_error e;
    char *json = NULL;
    svc_error_clear(&e);
    if (svc_alarm_get(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, status, json);
}

/* An integer member within lo..hi: absent or null -> *present false.
 * Returns 0, or -1 after replying 400. */
static int json_int(http_req *req, const char *name, long long lo, long long hi, long long *out,
                    bool *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->body, name);
    char msg[160];
    *present = v != NULL && !cJSON_IsNull(v);
    if (!*present) {
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble) {
        snprintf(msg, sizeof msg, "'%s' must be an integer", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi) {
        snprintf(msg, sizeof msg, "'%s' must be %lld to %lld", name, lo, hi);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    *out = (long long)v->valuedouble;
    return 0;
}

/* An array member of positive ids ("min".."max" of them): absent or null
 * -> *present false. Returns 0, or -1 after replying 400. */
static int json_ids(http_req *req, const char *name, int min, int max, long long *ids, int *n,
                    bool *present)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req->body, name);
    const cJSON *item;
    char msg[160];
    *n = 0;
    *present = arr != NULL && !cJSON_IsNull(arr);
    if (!*present) {
        return 0;
    }
    if (!cJSON_IsArray(arr)) {
        snprintf(msg, sizeof msg, "'%s' must be an array of ids", name);
        return http_reply_error(req, 400, "wrong_type", msg, name), -1;
    }
    if (cJSON_GetArraySize(arr) < min || cJSON_GetArraySize(arr) > max) {
        snprintf(msg, sizeof msg, "'%s' holds %d to %d ids", name, min, max);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
    cJSON_ArrayForEach(item, arr)
    {
        long long id;
        if (!admb_json_id_value(item, &id)) {
            snprintf(msg, sizeof msg, "%s[%d] must be an id (a positive integer)", name, *n);
            return http_reply_error(req, 400, "wrong_type", msg, name), -1;
        }
        ids[(*n)++] = id;
    }
    return 0;
}

/* A string member that must be one of "values" (NULL-terminated): absent
 * -> *out NULL. Returns 0, or -1 after replying 400. */
static int json_enum(http_req *req, const char *name, const char *const *values,
                     const char *what, const char **out)
{
    if (http_json_string(req, req->body, name, 16, false, out) != 0) {
        return -1;
    }
    if (*out == NULL) {
        return 0;
    }
    for (int i = 0; values[i] != NULL; i++) {
        if (strcmp(*out, values[i]) == 0) {
            return 0;
        }
    }
    {
        char msg[200];
        snprintf(msg, sizeof msg, "'%s' must be %s", name, what);
        return http_reply_error(req, 400, "invalid_value", msg, name), -1;
    }
}

/* The definition members of the body into "d". */
static int read_def(http_req *req, svc_alarm_def *d)
{
    static const char *const allowed[] = {"name", "kind", "rule", "no_data_minutes", "channels",
                                          "enabled", "severity", "language", "notify_clear",
                                          "repeat_minutes", "special_notice", "check_files",
                                          "destinations", NULL};
    static const char *const kinds[] = {"condition", "no_data", NULL};
    static const char *const severities[] = {"alert", "warning", NULL};
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};
    long long v = 0;
    bool present = false;
    memset(d, 0, sizeof *d);
    d->enabled = d->notify_clear = d->special_notice = d->check_files = -1;
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", ALARM_NAME_MAX_CHARS, false, false, &d->name) !=
            0 ||
        json_enum(req, "kind", kinds, "condition or no_data", &d->kind) != 0 ||
        http_json_string(req, req->body, "rule", MT_ALARM_TEXT_MAX, false, &d->rule) != 0 ||
        json_int(req, "no_data_minutes", 1, ALARM_NO_DATA_MAX_MIN, &v, &present) != 0) {
        return -1;
    }
    d->has_no_data_minutes = present;
    d->no_data_minutes = (int)v;
    if (json_ids(req, "channels", 1, 2, d->channels, &d->n_channels, &d->has_channels) != 0 ||
        admb_json_bool(req, req->body, "enabled", &d->enabled) != 0 ||
        json_enum(req, "severity", severities, "alert or warning", &d->severity) != 0 ||
        json_enum(req, "language", langs, "one of zh-CN, ja, en, es, fr, de, it", &d->language) !=
            0 ||
        admb_json_bool(req, req->body, "notify_clear", &d->notify_clear) != 0 ||
        json_int(req, "repeat_minutes", 0, ALARM_REPEAT_MAX_MIN, &v, &d->has_repeat) != 0) {
        return -1;
    }
    d->repeat_minutes = (int)v;
    if (admb_json_bool(req, req->body, "special_notice", &d->special_notice) != 0 ||
        admb_json_bool(req, req->body, "check_files", &d->check_files) != 0 ||
        json_ids(req, "destinations", 0, ALARM_DEST_MAX, d->destinations, &d->n_destinations,
                 &d->has_destinations) != 0) {
        return -1;
    }
    if (d->has_channels && d->n_channels == 2 && d->channels[0] == d->channels[1]) {
        return http_reply_error(req, 400, "duplicate",
                                "channels[1] is channels[0]: a rule over one channel has one "
                                "channel (both conditions may name CH1)",
                                "channels"),
               -1;
    }
    return 0;
}

/* GET /api/v1/groups/{id}/alarms */
static int h_list(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_alarm_list(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/groups/{id}/alarms */
static int h_create(http_req *req)
{
    svc_error e;
    svc_alarm_def d;
    long long group_id, id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0 || read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_alarm_create(&req->actor, group_id, &d, &id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 201, id);
}

/* GET /api/v1/alarms/{id} */
static int h_get(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_rule(req, 200, id);
}

/* PATCH /api/v1/alarms/{id} */
static int h_update(http_req *req)
{
    svc_error e;
    svc_alarm_def d;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || read_def(req, &d) != 0) {
        return req->status;
    }
    if (svc_alarm_update(&req->actor, id, &d, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 200, id);
}

/* POST /api/v1/alarms/{id}/copy {name?} */
static int h_copy(http_req *req)
{
    static const char *const allowed[] = {"name", NULL};
    svc_error e;
    const char *name = NULL;
    long long id, new_id = 0;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "name", ALARM_NAME_MAX_CHARS, false, false, &name) != 0) {
        return req->status;
    }
    if (svc_alarm_copy(&req->actor, id, name, &new_id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_rule(req, 201, new_id);
}

/* DELETE /api/v1/alarms/{id} */
static int h_delete(http_req *req)
{
    svc_error e;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_alarm_delete(&req->actor, id, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return admb_reply_deleted(req, id);
}

/* Query parameter "name" as true/false into *out (-1 when absent).
 * Returns 0, or -1 after replying 400. */
static int query_bool(http_req *req, const char *name, int *out)
{
    char buf[8], msg[96];
    int n = http_query(req, name, buf, sizeof buf);
    *out = -1;
    if (n == -1) {
        return 0;
    }
    if (n >= 0 && strcmp(buf, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (n >= 0 && strcmp(buf, "false") == 0) {
        *out = 0;
        return 0;
    }
    snprintf(msg, sizeof msg, "'%s' must be true or false", name);
    return http_reply_error(req, 400, "invalid_value", msg, name), -1;
}

/* Query parameter "name" as one of "values" into "out" (NULL when absent).
 * Returns 0, or -1 after replying 400. */
static int query_enum(http_req *req, const char *name, const char *const *values,
                      const char *what, char *buf, size_t cap, const char **out)
{
    char msg[160];
    int n = http_query(req, name, buf, cap);
    *out = NULL;
    if (n == -1) {
        return 0;
    }
    for (int i = 0; n >= 0 && values[i] != NULL; i++) {
        if (strcmp(buf, values[i]) == 0) {
            *out = values[i];
            return 0;
        }
    }
    snprintf(msg, sizeof msg, "'%s' must be %s", name, what);
    return http_reply_error(req, 400, "invalid_value", msg, name), -1;
}

/* Whether query parameter "name" is present. */
static bool has_query(http_req *req, const char *name)
{
    char buf[32];
    return http_query(req, name, buf, sizeof buf) != -1;
}

/* GET /api/v1/alarm-events?group_id&rule_id&channel_id&kind&state&acked&late&from&to&limit&before */
static int h_events(http_req *req)
{
    static const char *const kinds[] = {"raise", "clear", "special", "special_end", NULL};
    static const char *const states[] = {"raised", "cleared", NULL};
    db_alarm_filter f;
    svc_error e;
    char kind[16], state[16], *json = NULL;
    long long v = 0;
    const long long big = 9007199254740991LL;
    svc_error_clear(&e);
    memset(&f, 0, sizeof f);
    if (admb_query_int(req, "group_id", 1, big, 0, &f.group_id) != 0 ||
        admb_query_int(req, "rule_id", 1, big, 0, &f.rule_id) != 0 ||
        admb_query_int(req, "channel_id", 1, big, 0, &f.channel_id) != 0 ||
        query_enum(req, "kind", kinds, "raise, clear, special or special_end", kind,
                   sizeof kind, &f.kind) != 0 ||
        query_enum(req, "state", states, "raised or cleared", state, sizeof state, &f.state) !=
            0 ||
        query_bool(req, "acked", &f.acked) != 0 || query_bool(req, "late", &f.late) != 0 ||
        admb_query_int(req, "from", 0, big, 0, &v) != 0) {
        return req->status;
    }
    f.has_from = has_query(req, "from");
    f.from = v;
    if (admb_query_int(req, "to", 0, big, 0, &v) != 0) {
        return req->status;
    }
    f.has_to = has_query(req, "to");
    f.to = v;
    if (admb_query_int(req, "before", 1, big, 0, &f.before) != 0 ||
        admb_query_int(req, "limit", 1, 200, 50, &v) != 0) {
        return req->status;
    }
    f.limit = (int)v;
    if (svc_alarm_events(&req->actor, &f, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* GET /api/v1/alarm-events/active?group_id=&limit= */
static int h_active(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id = 0, limit = 100;
    svc_error_clear(&e);
    if (admb_query_int(req, "group_id", 1, 9007199254740991LL, 0, &group_id) != 0 ||
        admb_query_int(req, "limit", 1, ALARM_ACTIVE_MAX, 100, &limit) != 0) {
        return req->status;
    }
    if (svc_alarm_active(&req->actor, group_id, (int)limit, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* GET /api/v1/alarm-events/{id} */
static int h_event(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_alarm_event(&req->actor, id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* POST /api/v1/alarm-events/{id}/ack {comment?} */
static int h_ack(http_req *req)
{
    static const char *const allowed[] = {"comment", NULL};
    svc_error e;
    const char *comment = NULL;
    char *json = NULL;
    long long id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_text(req, req->body, "comment", ALARM_ACK_COMMENT_MAX_CHARS, false, true,
                       &comment) != 0) {
        return req->status;
    }
    if (svc_alarm_event_ack(&req->actor, id, comment, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* GET /api/v1/groups/{id}/alarm-summary */
static int h_summary(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_alarm_summary(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* GET /api/v1/groups/{id}/alarm-settings */
static int h_settings_get(http_req *req)
{
    svc_error e;
    char *json = NULL;
    long long group_id;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &group_id) != 0) {
        return req->status;
    }
    if (svc_alarm_settings_get(&req->actor, group_id, &json, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return reply_text(req, 200, json);
}

/* PUT /api/v1/groups/{id}/alarm-settings {disconnect_notice, disconnect_minutes,
 * notice_language, notice_destinations} (all required: a PUT replaces) */
static int h_settings_put(http_req *req)
{
    static const char *const allowed[] = {"disconnect_notice", "disconnect_minutes",
                                          "notice_language", "notice_destinations", NULL};
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};
    db_alarm_settings st;
    svc_error e;
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(req->body, "notice_language");
    const char *l = NULL;
    long long minutes = 0, group_id;
    bool present = false;
    int notice = -1;
    svc_error_clear(&e);
    memset(&st, 0, sizeof st);
    if (admb_path_id(req, 0, &group_id) != 0 ||
        http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_bool(req, req->body, "disconnect_notice", &notice) != 0 ||
        json_int(req, "disconnect_minutes", 1, 1440, &minutes, &present) != 0) {
        return req->status;
    }
    if (notice < 0 || !present) {
        return http_reply_error(req, 400, "missing",
                                "'disconnect_notice' and 'disconnect_minutes' are required",
                                notice < 0 ? "disconnect_notice" : "disconnect_minutes");
    }
    if (lang != NULL && !cJSON_IsNull(lang) &&
        json_enum(req, "notice_language", langs, "one of zh-CN, ja, en, es, fr, de, it, or null",
                  &l) != 0) {
        return req->status;
    }
    if (json_ids(req, "notice_destinations", 0, ALARM_DEST_MAX, st.dest, &st.n_dest, &present) !=
        0) {
        return req->status;
    }
    st.disconnect_notice = notice == 1;
    st.disconnect_minutes = (int)minutes;
    snprintf(st.notice_language, sizeof st.notice_language, "%s", l != NULL ? l : "");
    if (svc_alarm_settings_put(&req->actor, group_id, &st, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    return h_settings_get(req);
}

/* POST /api/v1/auth/temporary {token} (public): the login link of an alarm
 * mail (A8) opens a view-only session until the link's end. */
static int h_temp_login(http_req *req)
{
    static const char *const allowed[] = {"token", NULL};
    alarm_temp_session ts;
    svc_error e;
    const char *token = NULL;
    char headers[300];
    cJSON *o;
    int rc;
    svc_error_clear(&e);
    if (http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "token", 64, true, &token) != 0) {
        return req->status;
    }
    if (svc_alarm_temp_login(req->srv, token, http_client_ip(req),
                             http_header(req, "User-Agent"), &ts, &e) != SVC_OK) {
        return http_reply_svc(req, &e);
    }
    snprintf(headers, sizeof headers, "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict%s\r\n",
             AUTH_COOKIE, ts.cookie, http_secure(req) ? "; Secure" : "");
    o = cJSON_CreateObject();
    if (o != NULL) {
        char when[32];
        time_t t = (time_t)ts.expires_s;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddBoolToObject(o, "view_only", true);
        cJSON_AddStringToObject(o, "expires_at", when);
        if (ts.event_id != 0) {
            cJSON_AddNumberToObject(o, "event_id", (double)ts.event_id);
        } else {
            cJSON_AddNullToObject(o, "event_id");
        }
        cJSON_AddNumberToObject(o, "user_id", (double)ts.user_id);
        cJSON_AddStringToObject(o, "csrf_token", ts.csrf);
    }
    rc = http_reply_json_headers(req, 200, o, headers);
    OPENSSL_cleanse(headers, sizeof headers);
    OPENSSL_cleanse(&ts, sizeof ts);
    return rc;
}

/* POST /api/v1/drive/files/{id}/alarm-check {group_id, channels: [{index,
 * channel_id}], utc_offset_minutes?} (R6, S4) */
static int h_file_check(http_req *req)
{
    static const char *const allowed[] = {"group_id", "channels", "utc_offset_minutes", NULL};
    static const char *const map_fields[] = {"index", "channel_id", NULL};
    svc_error e;
    const cJSON *chs, *item;
    size_t *index = NULL, n = 0;
    int64_t *channel = NULL;
    long long id, group_id = 0, off = 0;
    bool present = false;
    char *json = NULL;
    int rc;
    svc_error_clear(&e);
    if (admb_path_id(req, 0, &id) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        admb_json_id(req, req->body, "group_id", false, &group_id, &present) != 0 ||
        json_int(req, "utc_offset_minutes", -1080, 1080, &off, &present) != 0) {
        return req->status;
    }
    if (group_id == 0) {
        return http_reply_error(req, 400, "missing", "'group_id' is required", "group_id");
    }
    chs = cJSON_GetObjectItemCaseSensitive(req->body, "channels");
    if (chs == NULL || cJSON_IsNull(chs)) {
        /* A HOK/HOK2 file's own channel ids (svc_alarm_check_file()). */
        if (svc_alarm_check_file(&req->actor, id, group_id, NULL, NULL, 0, (int)off, &json,
                                 &e) != SVC_OK) {
            return http_reply_svc(req, &e);
        }
        rc = http_reply_json_text(req, 200, json, strlen(json));
        cJSON_free(json);
        return rc;
    }
    if (!cJSON_IsArray(chs) || cJSON_GetArraySize(chs) < 1 ||
        cJSON_GetArraySize(chs) > ALARM_FILE_MAP_MAX) {
        char msg[96];
        snprintf(msg, sizeof msg, "'channels' holds 1 to %d mappings {index, channel_id}",
                 ALARM_FILE_MAP_MAX);
        return http_reply_error(req, 400, "invalid_value", msg, "channels");
    }
    index = calloc((size_t)cJSON_GetArraySize(chs), sizeof *index);
    channel = calloc((size_t)cJSON_GetArraySize(chs), sizeof *channel);
    if (index == NULL || channel == NULL) {
        rc = http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                              NULL);
        goto out;
    }
    cJSON_ArrayForEach(item, chs)
    {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(item, "channel_id");
        long long cid = 0;
        if (!cJSON_IsObject(item)) {
            rc = http_reply_error(req, 400, "wrong_type",
                                  "channels[] holds {index, channel_id} objects", "channels");
            goto out;
        }
        if (http_json_fields(req, item, map_fields, "channels") != 0) {
            rc = req->status;
            goto out;
        }
        if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || ix->valuedouble > 1e6 ||
            ix->valuedouble != (double)(long long)ix->valuedouble ||
            !admb_json_id_value(ci, &cid)) {
            rc = http_reply_error(req, 400, "wrong_type",
                                  "channels[]: expected {index: file channel (0-based), "
                                  "channel_id}",
                                  "channels");
            goto out;
        }
        index[n] = (size_t)ix->valuedouble;
        channel[n] = cid;
        for (size_t k = 0; k < n; k++) {
            if (index[k] == index[n] || channel[k] == channel[n]) {
                rc = http_reply_error(req, 400, "invalid_value",
                                      "channels[]: a file channel or a channel is used twice",
                                      "channels");
                goto out;
            }
        }
        n++;
    }
    if (svc_alarm_check_file(&req->actor, id, group_id, index, channel, n, (int)off, &json,
                             &e) != SVC_OK) {
        rc = http_reply_svc(req, &e);
        goto out;
    }
    rc = http_reply_json_text(req, 200, json, strlen(json));
    cJSON_free(json);
out:
    free(index);
    free(channel);
    return rc;
}

const http_route http_routes_alarm[] = {
    {"GET", "/api/v1/groups/*/alarms", h_list, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/groups/*/alarms", h_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/alarms/*", h_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/alarms/*", h_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/alarms/*", h_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/alarms/*/copy", h_copy, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/alarm-events", h_events, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/alarm-events/active", h_active, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/alarm-events/*", h_event, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/alarm-events/*/ack", h_ack, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/groups/*/alarm-summary", h_summary, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/alarm-settings", h_settings_get, AUTH_USER, BODY_NONE, false},
    {"PUT", "/api/v1/groups/*/alarm-settings", h_settings_put, AUTH_USER, BODY_JSON, false},
    {"POST", "/api/v1/auth/temporary", h_temp_login, AUTH_PUBLIC, BODY_JSON, false},
    {"POST", "/api/v1/drive/files/*/alarm-check", h_file_check, AUTH_USER, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
