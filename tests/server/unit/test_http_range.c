/* server/http/http_reply.c: http_parse_range(), the Range header of file downloads
 * (RFC 9110 14.1.2), one range or none; server/http/http_body.c:
 * http_header(), a request header by name as mg_get_header() finds it. */
#include <civetweb.h>
#include <string.h>
#include <strings.h>

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
        "bytes=9-5",     /* first after last */
        "bytes=0-1,5-6", /* several ranges: the whole file */
        "bytes=0-1, -5",
        "items=0-5", /* another unit */
        "bytes=+1-5",
        "bytes=1--5",
        "bytes=0-5x",
        "bytes=1234567890123456789-", /* 19 digits */
        "bytes=-1234567890123456789",
        "bytes 0-5",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        long long f = -7, l = -7;
        T_EQ_INT(http_parse_range(ignored[i], 100, &f, &l), HTTP_RANGE_WHOLE);
        T_TRUE(f == -7 && l == -7); /* untouched */
    }
}

/* mg_get_header()'s way: the first header whose name equals "name" with
 * mg_strcasecmp() (ASCII, any case). */
static const char *reference_header(const struct mg_request_info *ri, const char *name)
{
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(name, ri->http_headers[i].name) == 0) {
            return ri->http_headers[i].value;
        }
    }
    return NULL;
}

static void http_header_finds_what_mg_get_header_finds(void)
{
    static const char *const names[] = {"Host",   "Authorization", "origin", "ORIGIN-x",
                                        "Origin", "Connection",    "",       "x-Forwarded-For"};
    static const char *const asked[] = {"Host",
                                        "host",
                                        "Origin",
                                        "ORIGIN",
                                        "Origin-X",
                                        "Orig",
                                        "Connection",
                                        "Connect",
                                        "Authorization",
                                        "Cookie",
                                        "X-Forwarded-For",
                                        "",
                                        "Transfer-Encoding",
                                        "Access-Control-Request-Method"};
    struct mg_request_info ri;
    http_req req;
    memset(&ri, 0, sizeof ri);
    memset(&req, 0, sizeof req);
    req.ri = &ri;
    for (int n = 0; n <= (int)(sizeof names / sizeof names[0]); n++) {
        ri.num_headers = n;
        for (int i = 0; i < n; i++) {
            ri.http_headers[i].name = names[i];
            ri.http_headers[i].value = names[(i + 3) % 8];
        }
        for (size_t k = 0; k < sizeof asked / sizeof asked[0]; k++) {
            T_TRUE(http_header(&req, asked[k]) == reference_header(&ri, asked[k]));
        }
    }
    /* The first of two of one name. */
    ri.num_headers = 2;
    ri.http_headers[0].name = "Origin";
    ri.http_headers[0].value = "a";
    ri.http_headers[1].name = "origin";
    ri.http_headers[1].value = "b";
    T_EQ_STR(http_header(&req, "ORIGIN"), "a");
}

void suite_http_range(void)
{
    T_RUN(http_header_finds_what_mg_get_header_finds);
    T_RUN(http_range_reads_the_three_forms);
    T_RUN(http_range_cuts_what_runs_past_the_end);
    T_RUN(http_range_refuses_what_cannot_be_satisfied);
    T_RUN(http_range_ignores_anything_else);
}
