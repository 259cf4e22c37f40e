/* server/http/http_reply.c: http_parse_range(), the Range header of file downloads
 * (RFC 9110 14.1.2), one range or none. */
#include "http.h"
#include "t.h"

typedef struct {
    const char *value;
    long long size;
    http_range want;
    long long first, last; /* for HTTP_RANGE_PART */
} range_case;

/* Every case of "cases" gives what it says. */
static void check(const range_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const range_case *c = &cases[i];
        long long f = -7, l = -7;
        http_range got = http_parse_range(c->value, c->size, &f, &l);
        T_EQ_INT(got, c->want);
        if (c->want == HTTP_RANGE_PART) {
            T_TRUE(f == c->first && l == c->last);
        }
    }
}

static void http_range_reads_the_three_forms(void)
{
    static const range_case cases[] = {
        {"bytes=0-9", 100, HTTP_RANGE_PART, 0, 9},
        {"bytes=10-19", 100, HTTP_RANGE_PART, 10, 19},
        {"bytes=90-", 100, HTTP_RANGE_PART, 90, 99},
        {"bytes=-10", 100, HTTP_RANGE_PART, 90, 99},
        {"bytes=0-0", 1, HTTP_RANGE_PART, 0, 0},
        {"bytes=5-5", 100, HTTP_RANGE_PART, 5, 5},
        {"  BYTES= 3-4 ", 100, HTTP_RANGE_PART, 3, 4}, /* any case, blanks around */
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void http_range_cuts_what_runs_past_the_end(void)
{
    static const range_case cases[] = {
        {"bytes=50-1000", 100, HTTP_RANGE_PART, 50, 99},
        {"bytes=0-999999999999999999", 100, HTTP_RANGE_PART, 0, 99},
        {"bytes=-1000", 100, HTTP_RANGE_PART, 0, 99},
        {"bytes=99-", 100, HTTP_RANGE_PART, 99, 99},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void http_range_refuses_what_cannot_be_satisfied(void)
{
    static const range_case cases[] = {
        {"bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=100-200", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

static void http_range_ignores_anything_else(void)
{
    const char *ignored[] = {
        NULL,
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=5",
        "bytes=9-5",            /* first after last */
        "bytes=0-1,5-6",        /* several ranges: the whole file */
        "bytes=0-1, -5",
        "items=0-5",            /* another unit */
        "bytes=+1-5",
        "bytes=1--5",
        "bytes=0-5x",
        "bytes=1234567890123456789-",   /* 19 digits */
        "bytes=-1234567890123456789",
        "bytes 0-5",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        long long f = -7, l = -7;
        T_EQ_INT(http_parse_range(ignored[i], 100, &f, &l), HTTP_RANGE_WHOLE);
        T_TRUE(f == -7 && l == -7); /* untouched */
    }
}

void suite_http_range(void)
{
    T_RUN(http_range_reads_the_three_forms);
    T_RUN(http_range_cuts_what_runs_past_the_end);
    T_RUN(http_range_refuses_what_cannot_be_satisfied);
    T_RUN(http_range_ignores_anything_else);
}
