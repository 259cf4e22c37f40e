/* server/json_guard.c: the nesting and escaped-NUL check that runs before
 * cJSON sees a client's JSON. */
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "t.h"

typedef struct {
    const char *text;
    int max_depth;
    json_guard_status want;
    size_t at; /* for a refusal */
} guard_case;

static void check(const guard_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = 12345;
        json_guard_status got =
            json_guard(cases[i].text, strlen(cases[i].text), cases[i].max_depth, &at);
        T_EQ_INT(got, cases[i].want);
        if (cases[i].want != JSON_GUARD_OK) {
            T_EQ_INT(at, cases[i].at);
        }
    }
}

static void json_guard_counts_arrays_and_objects(void)
{
    static const guard_case cases[] = {
        {"{}", 1, JSON_GUARD_OK, 0},
        {"[[]]", 1, JSON_GUARD_DEEP, 1},
        {"[[]]", 2, JSON_GUARD_OK, 0},
        {"{\"a\":[{\"b\":1}]}", 3, JSON_GUARD_OK, 0},
        {"{\"a\":[{\"b\":1}]}", 2, JSON_GUARD_DEEP, 6},
        {"[[],[],[[]]]", 2, JSON_GUARD_DEEP, 8},
        {"[1,2,3]", 1, JSON_GUARD_OK, 0},
        {"]]]][", 1, JSON_GUARD_OK, 0}, /* wrong, but the parser says so */
        {"", 0, JSON_GUARD_OK, 0},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void json_guard_skips_strings_and_their_escapes(void)
{
    static const guard_case cases[] = {
        {"[\"[[[[\"]", 1, JSON_GUARD_OK, 0},
        {"[\"\\\"[[[\"]", 1, JSON_GUARD_OK, 0},     /* an escaped quote does not end it */
        {"[\"\\\\\",[]]", 1, JSON_GUARD_DEEP, 6},  /* an escaped backslash does */
        {"{\"k}\":{}}", 2, JSON_GUARD_OK, 0},
        {"[\"unterminated [[[[", 1, JSON_GUARD_OK, 0},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void json_guard_refuses_escaped_nul(void)
{
    static const guard_case cases[] = {
        {"{\"p\":\"a\\u0000b\"}", 8, JSON_GUARD_NUL, 7},
        {"[\"\\u0000\"]", 8, JSON_GUARD_NUL, 2},
        {"[\"\\u00000\"]", 8, JSON_GUARD_NUL, 2},
        {"[\"\\u0001\"]", 8, JSON_GUARD_OK, 0},
        {"[\"\\\\u0000\"]", 8, JSON_GUARD_OK, 0}, /* a backslash, then text */
        {"[\"\\u000\"]", 8, JSON_GUARD_OK, 0},    /* cut: cJSON refuses it */
        {"\\u0000", 8, JSON_GUARD_OK, 0},          /* outside a string: not JSON */
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void json_guard_walks_a_million_levels_without_recursion(void)
{
    size_t n = 1000000;
    char *text = malloc(2 * n);
    size_t at = 0;
    T_TRUE(text != NULL);
    if (text == NULL) {
        return;
    }
    memset(text, '[', n);
    memset(text + n, ']', n);
    T_EQ_INT(json_guard(text, 2 * n, JSON_MAX_DEPTH, &at), JSON_GUARD_DEEP);
    T_EQ_INT(at, JSON_MAX_DEPTH);
    T_EQ_INT(json_guard(text, 2 * n, (int)n, NULL), JSON_GUARD_OK);
    free(text);
}

void suite_json_guard(void)
{
    T_RUN(json_guard_counts_arrays_and_objects);
    T_RUN(json_guard_skips_strings_and_their_escapes);
    T_RUN(json_guard_refuses_escaped_nul);
    T_RUN(json_guard_walks_a_million_levels_without_recursion);
}
