/* HTTP replies: the status line and headers, JSON and text bodies in one
 * write, files with ranges, errors, and the JSON member readers
 * (http.h). Split from http.c. */
#define _DEFAULT_SOURCE /* gmtime_r, st_mtim */
#include "http.h"

#include <civetweb.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "hdr_text.h"
#include "http_internal.h"
#include "http_svc.h"
#include "log.h"
#include "sbuf.h"
#include "utf8.h"

/* --------------------------------------------------------------- replies */

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* Whether the comma-separated header value "v" contains "token" (any case). */
static bool has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    while (*v != '\0') {
        while (*v == ' ' || *v == ',') {
            v++;
        }
        if (strncasecmp(v, token, n) == 0 && (v[n] == '\0' || v[n] == ',' || v[n] == ' ')) {
            return true;
        }
        v += strcspn(v, ",");
    }
    return false;
}

/* Whether the connection will be closed after this reply: the client asked
 * for it, HTTP/1.0 without keep-alive, or the body was left unread. */
bool http_closing(const http_req *req)
{
    const char *c = http_header(req, "Connection");
    if (req->must_close) {
        return true;
    }
    if (c != NULL) {
        return has_token(c, "close") ||
               (strcmp(req->ri->http_version, "1.1") != 0 && !has_token(c, "keep-alive"));
    }
    return strcmp(req->ri->http_version, "1.1") != 0;
}

/* A request that may have written: move the state epoch (auth.h) before
 * its reply leaves, so that the client's next request, on any connection,
 * finds no remembered reply from before the change. api_handler() moves it
 * again after the handler, for work done after the reply. */
/* A request that may write moves the epoch of remembered replies (auth.h):
 * a signed-in user's request that of their account only (it cannot change
 * another account's rows), a public one (a login sets last_login_at) the
 * epoch of every account. */
void http_state_moves(const http_req *req)
{
    if (!req->may_write) {
        return;
    }
    if (req->account_id > 0) {
        auth_account_state_changed(req->account_id);
    } else {
        auth_state_changed();
    }
}

/* What is written when not even a reply fits in memory: never nothing. */
static const char nomem_reply[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 68\r\n"
    "Cache-Control: no-store\r\n"
    "Retry-After: 5\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"code\":\"out_of_memory\",\"message\":\"the server is out of memory: retry\"}";

/* Write status line, headers and "body" in one http_write() call: with
 * tcp_nodelay and a single write, a reply leaves in one segment. The
 * status line and fixed headers, "extra" and the optional lines included,
 * are
 *   HTTP/1.1 STATUS REASON, Content-Type, Content-Length, Cache-Control:
 *   no-store, X-Content-Type-Options: nosniff, EXTRA, CORS, HSTS, close
 * put together by copies (issue 16: two snprintf() calls, one to measure
 * and one to write, were a twentieth of a small request's instructions).
 * The buffer is sized from the headers and the body, whatever their
 * length; when it cannot be had, a fixed 503 out_of_memory goes out
 * instead. */
/* Bodies above this go in a write of their own after the headers (which
 * then fit REPLY_HEAD_MAX bytes on the stack); smaller ones with them. */
#define REPLY_ONE_WRITE_MAX (16 * 1024)
#define REPLY_HEAD_MAX 2048

/* Send "head" ("head_len" bytes) and "body" of a remembered reply whose
 * room is "kept" (reply_head.h) in one write without a copy: when the
 * headers written there are these bytes, or when this request is the
 * first and writes them. False when the room holds other headers (or
 * another request is writing them, or they do not fit): the caller
 * copies. */
static bool send_kept(http_req *req, const char *head, size_t head_len, const char *body,
                      size_t body_len, reply_head *kept)
{
    char *at;
    int state = atomic_load_explicit(&kept->state, memory_order_acquire);
    if (head_len > kept->room) {
        return false;
    }
    at = (char *)body - head_len; /* inside the room */
    if (state == REPLY_HEAD_FREE &&
        atomic_compare_exchange_strong(&kept->state, &state, REPLY_HEAD_WRITING)) {
        memcpy(at, head, head_len);
        kept->len = head_len;
        atomic_store_explicit(&kept->state, REPLY_HEAD_WRITTEN, memory_order_release);
        state = REPLY_HEAD_WRITTEN;
    }
    if (state != REPLY_HEAD_WRITTEN || kept->len != head_len || memcmp(at, head, head_len) != 0) {
        return false;
    }
    http_write(req->conn, at, head_len + body_len);
    return true;
}

/* "room": the bytes before "body" that may be written (the caller's
 * buffer, http_reply_json_room()): when the headers fit there they are put
 * right before the body and the reply leaves in one write without a copy
 * of the body, whatever its length. "kept": the room of a remembered reply
 * shared by its senders (http_reply_json_kept()), or NULL. */
static int send_reply_kept(http_req *req, int status, const char *body, size_t body_len,
                           const char *extra_headers, size_t room, reply_head *kept)
{
    static const char hsts[] = "Strict-Transport-Security: max-age=31536000\r\n";
    static const char closing[] = "Connection: close\r\n";
    char status_text[24], length_text[24];
    const char *parts[16];
    size_t lens[16], n_parts = 0, head_len = 0, at = 0;
    char *buf;

#define PART(text, len_)                                                                           \
    do {                                                                                           \
        parts[n_parts] = (text);                                                                   \
        lens[n_parts] = (len_);                                                                    \
        head_len += lens[n_parts++];                                                               \
    } while (0)
#define PART_LIT(lit) PART(lit, sizeof lit - 1)
#define PART_STR(str) PART(str, strlen(str))
    PART_LIT("HTTP/1.1 ");
    PART(status_text, dec_text(status, status_text));
    PART_LIT(" ");
    PART_STR(http_reason(status));
    PART_LIT("\r\nContent-Type: ");
    PART_STR(req->content_type ? req->content_type : "application/json; charset=utf-8");
    PART_LIT("\r\nContent-Length: ");
    PART(length_text, dec_text((long long)body_len, length_text));
    PART_LIT("\r\nCache-Control: no-store\r\n"
             "X-Content-Type-Options: nosniff\r\n");
    PART_STR(extra_headers ? extra_headers : "");
    PART_STR(req->cors);
    PART(hsts, req->srv->tls ? sizeof hsts - 1 : 0);
    PART(closing, http_closing(req) ? sizeof closing - 1 : 0);
    PART_LIT("\r\n");
#undef PART_STR
#undef PART_LIT
#undef PART

    http_state_moves(req);
    if (head_len <= room) {
        /* The body's own buffer has room for the headers (issue 16: a
         * remembered raw day went in two writes, the headers alone in a
         * segment of their own). */
        char *head = (char *)body - head_len;
        for (size_t i = 0; i < n_parts; i++) {
            memcpy(head + at, parts[i], lens[i]);
            at += lens[i];
        }
        http_write(req->conn, head, head_len + body_len);
        req->status = status;
        req->replied = true;
        return status;
    }
    if (kept != NULL && head_len <= REPLY_HEAD_MAX) {
        char head[REPLY_HEAD_MAX];
        for (size_t i = 0; i < n_parts; i++) {
            memcpy(head + at, parts[i], lens[i]);
            at += lens[i];
        }
        at = 0;
        if (send_kept(req, head, head_len, body, body_len, kept)) {
            req->status = status;
            req->replied = true;
            return status;
        }
        /* Other headers than the remembered ones: copied below, one write
         * (two writes cost more than the copy: docs/benchmarks.md, mixgap). */
    }
    if (kept == NULL && body_len > REPLY_ONE_WRITE_MAX && head_len <= REPLY_HEAD_MAX) {
        /* A large body leaves in many segments anyway: the headers go in
         * one write and the body in the next, without copying it (issue
         * 16: a remembered 70 KB device list was copied twice per
         * request, the second time here). */
        char head[REPLY_HEAD_MAX];
        for (size_t i = 0; i < n_parts; i++) {
            memcpy(head + at, parts[i], lens[i]);
            at += lens[i];
        }
        http_write(req->conn, head, head_len);
        http_write(req->conn, body, body_len);
        req->status = status;
        req->replied = true;
        return status;
    }
    buf = head_len < (size_t)INT_MAX ? malloc(head_len + body_len + 1) : NULL;
    if (buf == NULL) {
        log_error("http: no memory for a %zu-byte reply", body_len);
        http_write(req->conn, nomem_reply, sizeof nomem_reply - 1);
        req->must_close = true;
        req->status = 503;
        req->replied = true;
        return 503;
    }
    for (size_t i = 0; i < n_parts; i++) {
        memcpy(buf + at, parts[i], lens[i]);
        at += lens[i];
    }
    memcpy(buf + head_len, body, body_len);
    http_write(req->conn, buf, head_len + body_len);
    free(buf);
    req->status = status;
    req->replied = true;
    return status;
}

static int send_reply(http_req *req, int status, const char *body, size_t body_len,
                      const char *extra_headers, size_t room)
{
    return send_reply_kept(req, status, body, body_len, extra_headers, room, NULL);
}

static const char internal_error_body[] =
    "{\"code\":\"internal_error\",\"message\":\"internal error\"}";

static int reply_json_headers(http_req *req, int status, cJSON *obj, const char *extra)
{
    char *text;
    int rc;
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        cJSON_Delete(obj);
        return req->status;
    }
    text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (text == NULL) {
        return send_reply(req, 500, internal_error_body, sizeof internal_error_body - 1, NULL, 0);
    }
    rc = send_reply(req, status, text, strlen(text), extra, 0);
    cJSON_free(text);
    return rc;
}

int http_reply_text(http_req *req, int status, const char *content_type, const char *text,
                    size_t len)
{
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        return req->status;
    }
    req->content_type = content_type;
    return send_reply(req, status, text, len, NULL, 0);
}

int http_reply_json_text(http_req *req, int status, const char *text, size_t len)
{
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        return req->status;
    }
    return send_reply(req, status, text, len, NULL, 0);
}

int http_reply_json_room(http_req *req, int status, char *text, size_t room, size_t len)
{
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        return req->status;
    }
    return send_reply(req, status, text, len, NULL, room);
}

int http_reply_json_kept(http_req *req, int status, const char *text, size_t len,
                         reply_head *head)
{
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        return req->status;
    }
    return send_reply_kept(req, status, text, len, NULL, 0, head);
}

/* A decimal of at most 18 digits from *p (advanced); -1 if none or longer. */
static long long range_number(const char **p)
{
    long long v = 0;
    int n = 0;
    while (**p >= '0' && **p <= '9') {
        if (++n > 18) {
            return -1;
        }
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return n > 0 ? v : -1;
}

http_range http_parse_range(const char *value, long long size, long long *first, long long *last)
{
    const char *p = value;
    long long a = -1, b = -1;
    if (p == NULL) {
        return HTTP_RANGE_WHOLE;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (strncasecmp(p, "bytes=", 6) != 0) {
        return HTTP_RANGE_WHOLE;
    }
    p += 6;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p == '-') { /* the last "b" bytes */
        p++;
        if ((b = range_number(&p)) < 0) {
            return HTTP_RANGE_WHOLE;
        }
    } else {
        if ((a = range_number(&p)) < 0 || *p++ != '-') {
            return HTTP_RANGE_WHOLE;
        }
        if (*p >= '0' && *p <= '9' && (b = range_number(&p)) < 0) {
            return HTTP_RANGE_WHOLE;
        }
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (*p != '\0' || (a >= 0 && b >= 0 && a > b)) {
        return HTTP_RANGE_WHOLE; /* several ranges, or not a range */
    }
    if (a < 0) { /* suffix */
        if (b == 0 || size == 0) {
            return HTTP_RANGE_UNSATISFIABLE;
        }
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return HTTP_RANGE_PART;
    }
    if (a >= size) {
        return HTTP_RANGE_UNSATISFIABLE;
    }
    *first = a;
    *last = b < 0 || b >= size ? size - 1 : b;
    return HTTP_RANGE_PART;
}

/* The headers of a file reply (see http_reply_blob()), written like
 * snprintf(); returns the length or -1. */
static int file_head(const http_req *req, int status, const char *content_type,
                     long long length, const char *part, const char *etag,
                     const char *modified, const char *disposition, char *out, size_t cap)
{
    return snprintf(out, cap,
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: %s\r\n"
                    "Content-Length: %lld\r\n"
                    "%s"
                    "Accept-Ranges: bytes\r\n"
                    "ETag: %s\r\n"
                    "Last-Modified: %s\r\n"
                    "Content-Disposition: %s\r\n"
                    "Cache-Control: private, no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "Content-Security-Policy: default-src 'none'; sandbox\r\n"
                    "Referrer-Policy: no-referrer\r\n"
                    "%s%s%s\r\n",
                    status, http_reason(status), content_type, length, part, etag, modified,
                    disposition, req->cors,
                    req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
                    req->must_close ? "Connection: close\r\n" : "");
}

/* The reply's bytes as they come from the store: the headers go out with
 * the first piece, so that a store that fails before it still gets a
 * proper error reply. */
typedef struct {
    http_req *req;
    const char *head;
    size_t head_len;
    bool head_sent;
} blob_out;

static int blob_sink(void *arg, const void *data, size_t len)
{
    blob_out *o = arg;
    if (!o->head_sent) {
        o->head_sent = true;
        if (http_write(o->req->conn, o->head, o->head_len) <= 0) {
            return -1;
        }
    }
    return http_write(o->req->conn, data, len) <= 0 ? -1 : 0; /* the client went away */
}

int http_reply_blob(http_req *req, const db_file *f, const char *content_type,
                    const char *download_name)
{
    struct tm tm;
    char etag[64], modified[40], part[128] = "";
    char *disposition = NULL, *head = NULL;
    const char *if_range;
    long long first = 0, last = -1;
    time_t secs = (time_t)(f->created_us / 1000000);
    http_range range;
    size_t disp_len;
    int head_len, status = 200;
    blob_out out;
    svc_error err;
    svc_status st;

    /* The headers are sized from their content (a 255-byte name takes up
     * to 1 KiB percent-encoded): every part is allocated, none is cut. */
    disp_len = hdr_disposition(download_name, NULL, 0);
    if ((disposition = malloc(disp_len + 1)) == NULL) {
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    hdr_disposition(download_name, disposition, disp_len + 1);
    /* Validators of these bytes: a blob never changes and its id is never
     * used again, so its id and size name them exactly; a download resumed
     * with If-Range gets the rest only if the file is the one it began
     * with. */
    snprintf(etag, sizeof etag, "\"b%llx-%llx\"", (unsigned long long)f->id,
             (unsigned long long)f->size);
    gmtime_r(&secs, &tm);
    strftime(modified, sizeof modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    range = http_parse_range(mg_get_header(req->conn, "Range"), f->size, &first, &last);
    if_range = mg_get_header(req->conn, "If-Range");
    if (range != HTTP_RANGE_WHOLE && if_range != NULL && strcmp(if_range, etag) != 0 &&
        strcmp(if_range, modified) != 0) {
        range = HTTP_RANGE_WHOLE; /* the file changed since: send it all */
    }
    if (range == HTTP_RANGE_UNSATISFIABLE) {
        char extra[80], msg[100];
        free(disposition);
        snprintf(extra, sizeof extra, "Content-Range: bytes */%lld\r\n", f->size);
        snprintf(msg, sizeof msg, "the range is outside the file's %lld bytes", f->size);
        return http_reply_json_headers(req, 416, http_error_object("range_not_satisfiable", msg, NULL),
                                       extra);
    }
    if (range == HTTP_RANGE_PART) {
        status = 206;
        snprintf(part, sizeof part, "Content-Range: bytes %lld-%lld/%lld\r\n", first, last,
                 f->size);
    } else {
        first = 0;
        last = f->size - 1;
    }
    head_len = file_head(req, status, content_type, last - first + 1, part, etag, modified,
                         disposition, NULL, 0);
    if (head_len <= 0 || (head = malloc((size_t)head_len + 1)) == NULL ||
        file_head(req, status, content_type, last - first + 1, part, etag, modified, disposition,
                  head, (size_t)head_len + 1) != head_len) {
        free(disposition);
        free(head);
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    out.req = req;
    out.head = head;
    out.head_len = (size_t)head_len;
    out.head_sent = false;
    st = last >= first ? svc_file_read(req->srv, f, first, last, blob_sink, &out, &err) : SVC_OK;
    if (!out.head_sent && st != SVC_OK) {
        /* Nothing sent yet: a real answer (the database away, or the file
         * deleted meanwhile). */
        free(disposition);
        free(head);
        return http_reply_svc(req, &err);
    }
    req->status = status;
    req->replied = true;
    http_state_moves(req);
    if (!out.head_sent) {
        (void)http_write(req->conn, head, (size_t)head_len); /* an empty file or range */
    } else if (st != SVC_OK) {
        log_error("http: a download of blob %lld stopped: %s (the client resumes it)", f->id,
                  err.message);
    }
    free(disposition);
    free(head);
    return status;
}

int http_reply_json(http_req *req, int status, cJSON *obj)
{
    return reply_json_headers(req, status, obj, NULL);
}

int http_reply_json_headers(http_req *req, int status, cJSON *obj, const char *extra_headers)
{
    return reply_json_headers(req, status, obj, extra_headers);
}

cJSON *http_error_object(const char *code, const char *message, const char *field)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !cJSON_AddStringToObject(o, "code", code) ||
        !cJSON_AddStringToObject(o, "message", message) ||
        (field != NULL && !cJSON_AddStringToObject(o, "field", field))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void http_close_if_unreadable(http_req *req, int status, const char *code)
{
    if (status == 400 && code != NULL &&
        (strcmp(code, "malformed_json") == 0 || strcmp(code, "body_incomplete") == 0 ||
         strcmp(code, "bad_body") == 0)) {
        http_close_after_reply(req);
    }
}

int http_reply_error(http_req *req, int status, const char *code, const char *message,
                     const char *field)
{
    http_close_if_unreadable(req, status, code);
    return http_reply_json(req, status, http_error_object(code, message, field));
}

int http_json_string(http_req *req, const cJSON *obj, const char *name, size_t max_chars,
                     bool required, const char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    char msg[160];
    *out = NULL;
    if (item == NULL || cJSON_IsNull(item)) {
        if (required) {
            snprintf(msg, sizeof msg, "'%.40s' is required", name);
            http_reply_error(req, 400, "missing", msg, name);
            return -1;
        }
        return 0;
    }
    if (!cJSON_IsString(item) || item->valuestring == NULL) {
        snprintf(msg, sizeof msg, "'%.40s' must be a string", name);
        http_reply_error(req, 400, "wrong_type", msg, name);
        return -1;
    }
    if (utf8_chars(item->valuestring) > max_chars) {
        snprintf(msg, sizeof msg, "'%.40s' is longer than %zu characters", name, max_chars);
        http_reply_error(req, 400, "too_long", msg, name);
        return -1;
    }
    *out = item->valuestring;
    return 0;
}

int http_json_fields(http_req *req, const cJSON *obj, const char *const *allowed,
                     const char *within)
{
    const cJSON *item;
    char msg[160];
    cJSON_ArrayForEach(item, obj)
    {
        const char *name = item->string != NULL ? item->string : "";
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++) {
            ok = strcmp(name, *a) == 0;
        }
        if (ok) {
            continue;
        }
        if (within != NULL) {
            snprintf(msg, sizeof msg, "unknown field '%.60s' in '%.40s'", name, within);
        } else {
            snprintf(msg, sizeof msg, "unknown field '%.60s'", name);
        }
        http_reply_error(req, 400, "unknown_field", msg, within != NULL ? within : name);
        return -1;
    }
    return 0;
}
