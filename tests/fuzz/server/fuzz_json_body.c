/* Fuzz target for a JSON request body as the HTTP layer takes it
 * (http_body.c http_take_json_body: strict UTF-8, no NUL byte, json_guard(), then cJSON) and
 * the readers the handlers use on the object (http_json_fields,
 * http_json_string, admin_int/bool/nullable_string, hq_json_range,
 * hq_json_channels). The handlers' replies go to a request without a
 * connection. Never a crash, and:
 *   - a text the guard passes parses (when it parses) into a tree at most
 *     JSON_MAX_DEPTH deep; a text it refuses as too deep is deeper;
 *   - a refusal's byte offset is inside the text;
 *   - what cJSON prints of a parsed body passes the guard again. */
#include <cjson/cJSON.h>
#include <civetweb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_request.h"
#include "http.h"
#include "http_admin_args.h"
#include "http_query.h"
#include "json_guard.h"
#include "svc_data.h"

/* The nesting depth of "root" (a lone number is 0), without recursion. */
static int depth_of(const cJSON *root)
{
    enum { MAX = 4096 };
    static const cJSON *stack[MAX];
    static int level[MAX];
    int top = 0, deepest = 0;
    stack[top] = root;
    level[top++] = 0;
    while (top > 0) {
        const cJSON *item = stack[--top];
        int lv = level[top];
        if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
            lv++;
            deepest = lv > deepest ? lv : deepest;
            for (const cJSON *c = item->child; c != NULL && top < MAX; c = c->next) {
                stack[top] = c;
                level[top++] = lv;
            }
        }
    }
    return deepest;
}

static void read_members(srv *s, cJSON *obj)
{
    static const char *const allowed[] = {"name", "channels", "from", "to", "limit", "enabled",
                                          "note", NULL};
    struct mg_request_info ri;
    http_req req;
    const char *str = NULL;
    long long v = 0, t0 = 0, t1 = 0;
    int64_t ids[DATA_MAX_CHANNELS];
    int flag = 0;
    bool present = false, set = false;
    int refused = 0; /* the readers' results (warn_unused_result): counted, not judged */

#define FRESH() fuzz_request(&req, s, &ri, "POST", NULL, obj)
    FRESH();
    refused += http_json_fields(&req, obj, allowed, NULL) != 0;
    FRESH();
    if (http_json_string(&req, obj, "name", 255, false, &str) == 0 && str != NULL &&
        !http_utf8_valid((const unsigned char *)str, strlen(str))) {
        abort();
    }
    FRESH();
    refused += admin_int(&req, "limit", false, 1, 200, &v, &present) != 0;
    FRESH();
    refused += admin_bool(&req, "enabled", &flag) != 0;
    FRESH();
    refused += admin_nullable_string(&req, "note", 100, &set, &str) != 0;
    (void)refused;
    FRESH();
    if (hq_json_range(&req, obj, &t0, &t1) == 0 && t1 <= t0) {
        abort();
    }
    FRESH();
    {
        int count = hq_json_channels(&req, obj, "channels", ids);
        for (int i = 0; i < count; i++) {
            if (ids[i] <= 0 || count > DATA_MAX_CHANNELS) {
                abort();
            }
        }
    }
#undef FRESH
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static srv s; /* plain HTTP, no pool: nothing reaches a service */
    const char *end = NULL;
    size_t at = 0;
    char *text;
    json_guard_status st;
    cJSON *root;
    if ((text = fuzz_text(data, size)) == NULL) {
        return 0;
    }
    st = json_guard(text, size, JSON_MAX_DEPTH, &at);
    if (st != JSON_GUARD_OK && at >= size) {
        abort();
    }
    if (!http_utf8_valid((const unsigned char *)text, size) || memchr(text, '\0', size) != NULL) {
        free(text);
        return 0;
    }
    /* cJSON recurses on nesting: only what the guard passed is parsed, as
     * in the server (the fuzzer's own stack would take more, the worker's
     * would not). */
    if (st != JSON_GUARD_OK) {
        free(text);
        return 0;
    }
    root = cJSON_ParseWithLengthOpts(text, size + 1, &end, 1);
    if (root != NULL) {
        char *printed;
        if (depth_of(root) > JSON_MAX_DEPTH) {
            abort();
        }
        printed = cJSON_PrintUnformatted(root);
        if (printed != NULL) {
            if (json_guard(printed, strlen(printed), JSON_MAX_DEPTH, NULL) != JSON_GUARD_OK) {
                abort();
            }
            cJSON_free(printed);
        }
        if (cJSON_IsObject(root)) {
            read_members(&s, root);
        }
        cJSON_Delete(root);
    }
    free(text);
    return 0;
}
