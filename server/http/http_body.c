/* HTTP request bodies: the body budget (--body-memory), reading and
 * discarding bodies, the JSON body of a route, headers and the query
 * (http.h). Split from http.c. */
#include "http.h"

#include <civetweb.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"
#include "json_guard.h"
#include "log.h"
#include "utf8.h"

/* -------------------------------------------------------------- bodies */

bool http_utf8_valid(const unsigned char *s, size_t len)
{
    return utf8_valid(s, len);
}

/* Whether the request carries a body (a length or chunked encoding). */
bool http_has_body(const http_req *req)
{
    return req->ri->content_length > 0 || http_header(req, "Transfer-Encoding") != NULL;
}

/* ------------------------------------------------------- body budget
 *
 * What every request body being read or held may take together
 * (--body-memory): a request reserves the bytes of its buffer as the
 * buffer grows with what the client actually sent (never the length it
 * declared), and gives them back when it ends (api_handler). A growth that
 * would pass the budget fails: the request is answered 503 server_busy with
 * Retry-After and its connection closed. */
static atomic_size_t g_body_held;

/* Reserve "n" bytes for "req"; false when the budget has no room. */
static bool budget_take(http_req *req, size_t n)
{
    size_t limit = req->srv->cfg.body_memory;
    size_t held = atomic_load(&g_body_held);
    do {
        if (n > limit || held > limit - n) {
            return false;
        }
    } while (!atomic_compare_exchange_weak(&g_body_held, &held, held + n));
    req->body_held += n;
    return true;
}

size_t http_body_held(void)
{
    return atomic_load(&g_body_held);
}

/* Give back everything "req" holds. */
void http_budget_release(http_req *req)
{
    if (req->body_held > 0) {
        atomic_fetch_sub(&g_body_held, req->body_held);
        req->body_held = 0;
    }
}

/* Seconds a client refused for lack of body memory is asked to wait. */
#define BUSY_RETRY_S 5

/* The first buffer of a body: its declared length when that is at most
 * BODY_SIZED_MAX (one allocation, no copy: an ingest batch of a week of a
 * channel is 231 kB of JSON), else BODY_FIRST_CAP, doubled as bytes arrive,
 * so that a large declared length is held (and charged to the budget) only
 * as it is sent: a client sending a large body again right after its
 * answer does not find the budget still held by its first one. */
#define BODY_FIRST_CAP (64 * 1024)
#define BODY_SIZED_MAX (1024 * 1024)

/* Bodies refused because they ended before their Content-Length (/metrics). */
static atomic_llong g_short;

long long http_bodies_short(void)
{
    return atomic_load(&g_short);
}

/* The body of "req" ended (the client half-closed, or its connection
 * failed) after req->body_got of the bytes its Content-Length announced:
 * what arrived is never used, the connection closes after the reply. */
static void body_short(http_req *req)
{
    atomic_fetch_add_explicit(&g_short, 1, memory_order_relaxed);
    req->must_close = true;
}

/* "Expect: 100-continue" (RFC 9110 §10.1.1): the client waits for the
 * interim "100 Continue" before it sends the body. CivetWeb sends it only
 * for its own file and CGI handlers; a route reads the body only after its
 * checks (credentials, quota, size) passed, so it is sent here, at the
 * first read, once. A refusal before that replies at once and closes
 * (must_close), and the client never sent the body. Without it curl (and
 * other clients) wait a second before every upload of more than 1 MB
 * (docs/benchmarks.md, "Files in the shared store"). */
static void continue_if_expected(http_req *req)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    const char *ex;
    if (req->continued) {
        return;
    }
    req->continued = true;
    http_deadline_begin(req); /* the body's deadline runs from here (http_deadline.c) */
    ex = mg_get_header(req->conn, "Expect");
    if (ex != NULL && mg_strcasecmp(ex, "100-continue") == 0 && req->ri->http_version != NULL &&
        strcmp(req->ri->http_version, "1.1") == 0) {
        if (http_write(req->conn, line, sizeof line - 1) != (int)(sizeof line - 1)) {
            req->must_close = true; /* the read below fails on the same socket */
        }
    }
}

/* Read the whole request body, at most "limit" bytes, into a buffer that
 * grows with what arrives and is charged to the body budget (it stays
 * charged until the request ends). Returns BODY_READ_OK with *out (caller
 * frees; NUL-terminated) and *len; BODY_READ_TOO_LARGE when it is over the
 * limit, BODY_READ_BUSY when the budget has no room (the rest is left
 * unread: req->must_close), BODY_READ_TIMEOUT past its deadline,
 * BODY_READ_SHORT when it ended before its Content-Length (req->body_got
 * bytes came), BODY_READ_ERROR on a read error or no memory. */
int http_read_body(http_req *req, size_t limit, char **out, size_t *len)
{
    long long declared = req->ri->content_length;
    size_t cap, n = 0;
    char *buf;

    *out = NULL;
    *len = 0;
    if (declared > (long long)limit) {
        req->must_close = true;
        return BODY_READ_TOO_LARGE;
    }
    cap = declared >= 0 && (size_t)declared <= BODY_SIZED_MAX ? (size_t)declared + 1
                                                               : BODY_FIRST_CAP;
    if (!budget_take(req, cap)) {
        req->must_close = true;
        return BODY_READ_BUSY;
    }
    buf = malloc(cap);
    if (buf == NULL) {
        req->must_close = true;
        return BODY_READ_ERROR;
    }
    for (;;) {
        int got;
        if (declared >= 0 && n == (size_t)declared) {
            break; /* all that was announced */
        }
        if (n + 1 >= cap) {
            char *grown;
            size_t next = cap * 2;
            if (cap > limit + 1) {
                free(buf);
                req->must_close = true;
                return BODY_READ_TOO_LARGE;
            }
            if (declared >= 0 && next > (size_t)declared + 1) {
                next = (size_t)declared + 1;
            }
            if (next > limit + 2) {
                next = limit + 2;
            }
            if (!budget_take(req, next - cap)) {
                free(buf);
                req->must_close = true;
                return BODY_READ_BUSY;
            }
            grown = realloc(buf, next);
            if (grown == NULL) {
                free(buf);
                req->must_close = true;
                return BODY_READ_ERROR;
            }
            buf = grown;
            cap = next;
        }
        continue_if_expected(req);
        got = mg_read(req->conn, buf + n, cap - 1 - n);
        if (http_deadline_passed(req)) { /* also when bytes came: see http_deadline.c */
            free(buf);
            req->must_close = true;
            return BODY_READ_TIMEOUT;
        }
        if (got <= 0 && declared >= 0) {
            /* n < declared (the loop ends at declared): the client ended
             * its side, or the connection failed, before the whole body. A
             * prefix of a body can be a valid body of its own ({"a":1} of
             * {"a":1,"b":2}, a batch's first samples): it is never used. */
            free(buf);
            req->body_got = (long long)n;
            body_short(req);
            return BODY_READ_SHORT;
        }
        if (got < 0) {
            /* Chunked: CivetWeb reads a stream cut before its last chunk
             * (or a chunk size it cannot read) as an error, never as the
             * end of the body. */
            free(buf);
            req->must_close = true;
            return BODY_READ_ERROR;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
        http_deadline_progress(req, (long long)n);
        if (n > limit) {
            free(buf);
            req->must_close = true;
            return BODY_READ_TOO_LARGE;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    req->body_got = (long long)n;
    http_deadline_done(req);
    return BODY_READ_OK;
}

/* Read and drop a body nobody wants (a route without one), at most
 * "limit" bytes, through a small buffer: nothing is held. Returns
 * BODY_READ_OK, BODY_READ_TOO_LARGE, BODY_READ_TIMEOUT, BODY_READ_SHORT (the
 * route does not run: a request cut short is not the request sent) or
 * BODY_READ_ERROR. */
int http_discard_body(http_req *req, size_t limit)
{
    char sink[2048];
    long long declared = req->ri->content_length;
    size_t n = 0;
    if (declared > (long long)limit) {
        req->must_close = true;
        return BODY_READ_TOO_LARGE;
    }
    http_deadline_begin(req);
    for (;;) {
        int got =
            declared >= 0 && n == (size_t)declared ? 0 : mg_read(req->conn, sink, sizeof sink);
        if (http_deadline_passed(req)) {
            req->must_close = true;
            return BODY_READ_TIMEOUT;
        }
        if (got <= 0 && declared >= 0 && n < (size_t)declared) {
            req->body_got = (long long)n; /* cut short: the route does not run */
            body_short(req);
            return BODY_READ_SHORT;
        }
        if (got < 0) {
            req->must_close = true;
            return BODY_READ_ERROR;
        }
        if (got == 0) {
            http_deadline_done(req);
            return BODY_READ_OK;
        }
        n += (size_t)got;
        http_deadline_progress(req, (long long)n);
        if (n > limit) {
            req->must_close = true;
            return BODY_READ_TOO_LARGE;
        }
    }
}

/* Reply to a body that could not be taken (http_read_body()'s status "rc"). */
int http_reply_body_refused(http_req *req, int rc, size_t limit)
{
    char msg[160], extra[40];
    /* http_read_body() freed its buffer: give its bytes back before replying, so
     * that a client told to retry (or the next one) finds them free. */
    http_budget_release(req);
    switch (rc) {
    case BODY_READ_TOO_LARGE:
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", limit);
        return http_reply_error(req, 413, "body_too_large", msg, NULL);
    case BODY_READ_TIMEOUT:
        /* The watchdog shut the socket's read side down: the reply goes
         * out, then the connection closes (http_deadline.c bounds the
         * write). The request ends and nothing is stored. */
        return http_reply_error(req, 408, "body_too_slow",
                                "the request body did not arrive in time: send it again "
                                "on a faster connection",
                                NULL);
    case BODY_READ_SHORT:
        snprintf(msg, sizeof msg,
                 "the request body ended after %lld of the %lld bytes its Content-Length "
                 "announced: nothing was done; send it whole",
                 req->body_got, req->ri->content_length);
        return http_reply_error(req, 400, "body_incomplete", msg, NULL);
    case BODY_READ_BUSY:
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", BUSY_RETRY_S);
        return http_reply_json_headers(
            req, 503,
            http_error_object("server_busy",
                         "the server is holding as many request bodies as it may; "
                         "send this one again in a few seconds",
                         NULL),
            extra);
    default:
        return http_reply_error(req, 400, "bad_body", "the request body could not be read",
                                NULL);
    }
}

void http_close_after_reply(http_req *req)
{
    req->must_close = true;
    mg_disable_connection_keep_alive(req->conn);
}

long http_body_read(http_req *req, void *buf, size_t cap)
{
    long long declared = req->ri->content_length;
    int got;
    if (declared >= 0 && req->body_got >= declared) {
        http_deadline_done(req);
        return 0; /* all that was announced */
    }
    continue_if_expected(req);
    got = mg_read(req->conn, buf, cap > INT_MAX ? INT_MAX : cap);
    if (http_deadline_passed(req)) {
        req->must_close = true; /* not the end of the body: the caller stores nothing */
        return -1;
    }
    if (got <= 0 && declared >= 0) {
        body_short(req); /* body_got < declared: the caller stores nothing */
        return -1;
    }
    if (got < 0) {
        req->must_close = true;
        return -1;
    }
    if (got > 0) {
        req->body_got += (long long)got;
        http_deadline_progress(req, req->body_got);
    } else {
        http_deadline_done(req); /* a chunked body's last chunk */
    }
    return got;
}

int http_reply_body_failed(http_req *req)
{
    long long declared = req->ri->content_length;
    if (http_deadline_passed(req)) {
        return http_reply_body_refused(req, BODY_READ_TIMEOUT, 0);
    }
    if (declared >= 0 && req->body_got < declared) {
        return http_reply_body_refused(req, BODY_READ_SHORT, 0);
    }
    return http_reply_error(req, 400, "bad_body",
                            "the request body could not be read: a chunk was cut off or its "
                            "size was not valid",
                            NULL);
}

long long http_content_length(const http_req *req)
{
    return req->ri->content_length;
}

/* mg_get_header()'s answer: the first header of that name, any case
 * (ASCII, as mg_strcasecmp() compares), from the same request_info, each
 * name compared from its length and first letter on (issue 16: five
 * look-ups of every request through mg_strcasecmp()'s tolower() per
 * character were 0.75 k instructions). */
const char *http_header(const http_req *req, const char *name)
{
    const struct mg_request_info *ri = req->ri;
    size_t len = strlen(name);
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++) {
        const char *h = ri->http_headers[i].name;
        if (h != NULL && ((unsigned char)h[0] | 0x20) == ((unsigned char)name[0] | 0x20) &&
            strncasecmp(h, name, len) == 0 && h[len] == '\0') {
            return ri->http_headers[i].value;
        }
    }
    return NULL;
}

int http_query(const http_req *req, const char *name, char *buf, size_t cap)
{
    const char *qs = req->ri->query_string;
    int n;
    if (qs == NULL) {
        return -1;
    }
    n = mg_get_var(qs, strlen(qs), name, buf, cap);
    return n >= 0 ? n : (n == -1 ? -1 : -2);
}

int http_json_guard(http_req *req, const char *text, size_t len)
{
    char msg[160];
    size_t at = 0;
    json_guard_status st = json_guard(text, len, JSON_MAX_DEPTH, &at);
    if (st == JSON_GUARD_OK) {
        return 0;
    }
    if (st == JSON_GUARD_DEEP) {
        snprintf(msg, sizeof msg,
                 "malformed JSON at byte %zu: arrays and objects may nest at most %d levels deep",
                 at, JSON_MAX_DEPTH);
    } else {
        snprintf(msg, sizeof msg, "malformed JSON at byte %zu: %s", at, json_guard_message(st));
    }
    return http_reply_error(req, 400, "malformed_json", msg, NULL), -1;
}

static bool is_json_type(const char *ct)
{
    size_t n = strlen("application/json");
    if (ct == NULL || strncasecmp(ct, "application/json", n) != 0) {
        return false;
    }
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Fill req->body for a JSON route; replies and returns -1 on any problem. */
int http_take_json_body(http_req *req)
{
    char *text = NULL, msg[160];
    size_t len = 0;
    const char *end = NULL;
    int rc;

    if (!is_json_type(mg_get_header(req->conn, "Content-Type"))) {
        req->must_close = http_has_body(req); /* the body stays unread */
        return http_reply_error(req, 415, "unsupported_media_type",
                                "send the body as application/json", NULL),
               -1;
    }
    rc = http_read_body(req, req->srv->cfg.max_body, &text, &len);
    if (rc != BODY_READ_OK) {
        return http_reply_body_refused(req, rc, req->srv->cfg.max_body), -1;
    }
    if (len == 0) {
        free(text);
        return http_reply_error(req, 400, "malformed_json", "the body is empty: send a JSON object",
                                NULL),
               -1;
    }
    if (!http_utf8_valid((const unsigned char *)text, len)) {
        free(text);
        return http_reply_error(req, 400, "malformed_json", "the body is not valid UTF-8", NULL),
               -1;
    }
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        return http_reply_error(req, 400, "malformed_json", "the body contains a NUL byte", NULL),
               -1;
    }
    if (http_json_guard(req, text, len) != 0) {
        free(text);
        return -1;
    }
    /* len + 1: cJSON's require_null_terminated wants the terminator inside
     * the length (http_read_body() always writes it). */
    req->body = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (req->body == NULL) {
        size_t at = (end != NULL && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
        free(text);
        snprintf(msg, sizeof msg, "malformed JSON at byte %zu", at);
        return http_reply_error(req, 400, "malformed_json", msg, NULL), -1;
    }
    free(text);
    if (!cJSON_IsObject(req->body)) {
        return http_reply_error(req, 400, "wrong_type", "the body must be a JSON object", NULL),
               -1;
    }
    return 0;
}
