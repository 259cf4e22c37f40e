/* Fuzz target for the request parts the handlers read besides the body:
 * query strings (http_query(), and the data routes' hq_int, hq_range,
 * hq_channels), the Range header (http_parse_range()) and the Cookie header
 * (CivetWeb's mg_get_cookie(), as sign-in reads the session and device
 * cookies). Input: 8 bytes of a file size, then "query\nrange\ncookie".
 * The handlers' replies go to a request without a connection. Never a
 * crash, and every answer keeps its promise (a range inside the file, a
 * value within its buffer, channel ids positive and distinct). */
#include <civetweb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_request.h"
#include "http.h"
#include "http_query.h"
#include "svc_data.h"

static void check_query(srv *s, const char *qs)
{
    static const char *const names[] = {"name", "folder_id", "sort", "order", "sig", "account",
                                        "expires", "since", "job", "limit", "before", NULL};
    struct mg_request_info ri;
    http_req req;
    char buf[300];
    long long v = 0, t0 = 0, t1 = 0;
    int64_t ids[DATA_MAX_CHANNELS];
    int count;
    for (const char *const *n = names; *n != NULL; n++) {
        fuzz_request(&req, s, &ri, "GET", qs, NULL);
        int got = http_query(&req, *n, buf, sizeof buf);
        if (got < -2 || got >= (int)sizeof buf) {
            abort();
        }
    }
    fuzz_request(&req, s, &ri, "GET", qs, NULL);
    if (hq_int(&req, "limit", 1, 1000, true, 50, &v) == 0 && (v < 1 || v > 1000)) {
        abort();
    }
    fuzz_request(&req, s, &ri, "GET", qs, NULL);
    if (hq_range(&req, &t0, &t1) == 0 && (t1 <= t0 || t1 - t0 > HQ_MAX_SPAN_US)) {
        abort();
    }
    fuzz_request(&req, s, &ri, "GET", qs, NULL);
    count = hq_channels(&req, ids);
    if (count > DATA_MAX_CHANNELS) {
        abort();
    }
    for (int i = 0; i < count; i++) {
        if (ids[i] <= 0) {
            abort();
        }
        for (int k = 0; k < i; k++) {
            if (ids[k] == ids[i]) {
                abort();
            }
        }
    }
}

static void check_range(const char *value, long long size)
{
    long long first = -1, last = -1;
    switch (http_parse_range(value, size, &first, &last)) {
    case HTTP_RANGE_PART:
        if (first < 0 || last < first || last >= size) {
            abort();
        }
        break;
    case HTTP_RANGE_WHOLE:
    case HTTP_RANGE_UNSATISFIABLE:
        break;
    default:
        abort();
    }
}

static void check_cookie(const char *header)
{
    static const char *const names[] = {"metron_session", "metron_device", NULL};
    char buf[128];
    for (const char *const *n = names; *n != NULL; n++) {
        int got = mg_get_cookie(header, *n, buf, sizeof buf);
        if (got >= (int)sizeof buf || (got >= 0 && strlen(buf) != (size_t)got)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static srv s;
    char *text, *range, *cookie;
    uint64_t raw = 0;
    long long file_size;
    if (size < 8 || size > 65536) {
        return 0;
    }
    memcpy(&raw, data, 8);
    file_size = (long long)(raw % (1ULL << 50));
    text = malloc(size - 8 + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 8, size - 8);
    text[size - 8] = '\0';
    range = strchr(text, '\n');
    cookie = NULL;
    if (range != NULL) {
        *range++ = '\0';
        if ((cookie = strchr(range, '\n')) != NULL) {
            *cookie++ = '\0';
        }
    }
    check_query(&s, text);
    check_range(range != NULL ? range : text, file_size);
    check_cookie(cookie != NULL ? cookie : text);
    free(text);
    return 0;
}
