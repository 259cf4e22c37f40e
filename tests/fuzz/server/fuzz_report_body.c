/* Fuzz target for the bodies of the report routes (http_report.h): a JSON
 * text as the HTTP layer takes it (strict UTF-8, no NUL, json_guard(), then
 * cJSON) read by http_report_read_def() and http_report_read_run(), with
 * the replies going to a request without a connection. Never a crash, and
 * what a reader accepts keeps its promises: channels 1..32 distinct
 * positive ids, recipients at most 32 distinct positive ids each, formats
 * 1..3 known bits, enums from their sets, flags -1/0/1, strings valid UTF-8
 * within their lengths. */
#include <cjson/cJSON.h>
#include <civetweb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_request.h"
#include "http.h"
#include "http_report.h"
#include "json_guard.h"

static bool one_of(const char *v, const char *const *set)
{
    for (int i = 0; set[i] != NULL; i++) {
        if (strcmp(v, set[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void ids_ok(const long long *ids, int n, int min, int max)
{
    if (n < min || n > max) {
        abort();
    }
    for (int i = 0; i < n; i++) {
        if (ids[i] <= 0) {
            abort();
        }
        for (int j = 0; j < i; j++) {
            if (ids[i] == ids[j]) {
                abort();
            }
        }
    }
}

static void text_ok(const char *s, size_t max_bytes)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (s != NULL && (n > max_bytes || !http_utf8_valid((const unsigned char *)s, n))) {
        abort();
    }
}

static void read_all(srv *s, cJSON *obj)
{
    static const char *const periods[] = {"day", "week", "month", NULL};
    static const char *const charts[] = {"none", "per_channel", "overlaid", NULL};
    static const char *const langs[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};
    struct mg_request_info ri;
    http_req req;
    svc_report_def d;
    const char *date, *from, *to;

    fuzz_request(&req, s, &ri, "POST", NULL, obj);
    if (http_report_read_def(&req, &d) == 0) {
        text_ok(d.name, 400);
        if ((d.period != NULL && !one_of(d.period, periods)) ||
            (d.charts != NULL && !one_of(d.charts, charts)) ||
            (d.language != NULL && !one_of(d.language, langs))) {
            abort();
        }
        if (d.has_channels) {
            ids_ok(d.channels, d.n_channels, 1, REPORT_CH_MAX);
        }
        if (d.has_users) {
            ids_ok(d.users, d.n_users, 0, REPORT_RCPT_MAX);
        }
        if (d.has_system) {
            ids_ok(d.system, d.n_system, 0, REPORT_RCPT_MAX);
        }
        if (d.has_formats && (d.formats < 1 || d.formats > 7)) {
            abort();
        }
        if (d.summary < -1 || d.summary > 1 || d.alarms < -1 || d.alarms > 1 ||
            d.auto_enabled < -1 || d.auto_enabled > 1) {
            abort();
        }
    } else if (req.status < 400) {
        abort(); /* a refusal always answers */
    }
    fuzz_request(&req, s, &ri, "POST", NULL, obj);
    if (http_report_read_run(&req, &date, &from, &to) == 0) {
        text_ok(date, 40);
        text_ok(from, 40);
        text_ok(to, 40);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static srv s; /* plain HTTP, no pool: nothing reaches a service */
    const char *end = NULL;
    char *text;
    cJSON *root;
    if ((text = fuzz_text(data, size)) == NULL) {
        return 0;
    }
    if (!http_utf8_valid((const unsigned char *)text, size) || memchr(text, '\0', size) != NULL ||
        json_guard(text, size, JSON_MAX_DEPTH, NULL) != JSON_GUARD_OK) {
        free(text);
        return 0;
    }
    root = cJSON_ParseWithLengthOpts(text, size + 1, &end, 1);
    if (root != NULL && cJSON_IsObject(root)) {
        read_all(&s, root);
    }
    cJSON_Delete(root);
    free(text);
    return 0;
}
