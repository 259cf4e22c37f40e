#define _DEFAULT_SOURCE /* realpath */
#include "http.h"

#include <civetweb.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "hdr_text.h"
#include "http_svc.h"
#include "json_guard.h"
#include "isotime.h"
#include "log.h"
#include "maintenance.h"
#include "tls_compat.h"
#include "utf8.h"

/* Every route table, in matching order: one line each, so that adding a
 * table is a one-line change that merges cleanly. */
static const http_route *const route_tables[] = {
    http_routes_health,
    http_routes_auth,
    http_routes_audit,
    http_routes_admin_apps,
    http_routes_recipients,
    http_routes_inquiries,
    http_routes_logo,
    http_routes_notifications,
    http_routes_admin_account,
    http_routes_admin_users,
    http_routes_ingest,
    http_routes_data,
    http_routes_computed,
    http_routes_export,
    http_routes_drive,
    http_routes_live,
    http_routes_gateway,
    http_routes_alarm,
    http_routes_report,
    http_routes_notify,
    http_routes_mqtt,
    http_routes_ops,
    http_routes_metrics,
    http_routes_dashboard,
    http_routes_test,
};
#define N_ROUTE_TABLES (sizeof route_tables / sizeof route_tables[0])

#define MAX_SEGMENTS 16
/* Routes under this prefix never move the state epoch (api_handler). */
#define INGEST_PREFIX "/api/v1/ingest"
#define MAX_PATH 1024

/* Static files (CivetWeb's document_root) get these headers; API replies set
 * their own. The CSP allows no inline script; 'wasm-unsafe-eval' lets the
 * portal instantiate the core's WebAssembly module. */
#define STATIC_HEADERS                                                                   \
    "X-Content-Type-Options: nosniff\r\n"                                                \
    "X-Frame-Options: DENY\r\n"                                                          \
    "Referrer-Policy: same-origin\r\n"                                                   \
    "Content-Security-Policy: default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " \
    "style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; " \
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

/* ------------------------------------------------------------ access log */

/* Per worker thread: CivetWeb runs begin_request, the handler, end_request
 * and log_access of one request on the same thread. */
static _Thread_local struct {
    struct timespec start;
    long long account_id, user_id;
    int status;
    int route;    /* http_metrics_route() of the matched route, -1 = none (static) */
    bool counted; /* counted in g_inflight */
    char client_ip[NET_ADDR_CHARS]; /* the client behind a trusted proxy, or the peer */
    bool forwarded_https;           /* X-Forwarded-Proto: https from a trusted proxy */
} tl_req;

/* Graceful shutdown (http_drain): CivetWeb's mg_stop() stops writing at once,
 * so requests in flight are counted here and the server drains them before
 * it calls mg_stop(). While draining, new requests get 503 shutting_down. */
static atomic_int g_inflight;
static atomic_bool g_draining;

static const char draining_reply[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 64\r\n"
    "Cache-Control: no-store\r\n"
    "Connection: close\r\n"
    "\r\n"
    "{\"code\":\"shutting_down\",\"message\":\"the server is shutting down\"}";

static const char *reason(int status);

int http_inflight(void)
{
    return atomic_load(&g_inflight);
}

/* Whether "uri" (a decoded path) is one of our handlers': under /api, or
 * /metrics (O2, docs/operations.md). */
static bool is_api_path(const char *uri)
{
    return (strncmp(uri, "/api", 4) == 0 && (uri[4] == '/' || uri[4] == '\0')) ||
           strcmp(uri, "/metrics") == 0;
}

/* Refuse, before CivetWeb serves a static file: "status" with a small
 * JSON body ("extra": more header lines, or ""). Returns the status. */
static int static_refusal(struct mg_connection *conn, int status, const char *code,
                          const char *message, const char *extra)
{
    char reply[512];
    char body[200];
    int body_len = snprintf(body, sizeof body, "{\"code\":\"%s\",\"message\":\"%s\"}", code,
                            message);
    int n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %d\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "\r\n%s",
                     status, reason(status), body_len, extra, body);
    mg_disable_connection_keep_alive(conn);
    if (n > 0 && (size_t)n < sizeof reply) {
        mg_write(conn, reply, (size_t)n);
    }
    return status;
}

/* The portal folder serves files to read, nothing else: GET and HEAD only
 * (no PROPFIND, PUT, DELETE, MKCOL, OPTIONS: CivetWeb would answer them),
 * and only paths hdr_static_path_ok() takes (no build files such as
 * CMakeLists.txt or vendor.cmake, no dot files, no "//" whose redirect
 * a browser would read as another host). Returns 0 to let CivetWeb serve
 * the file, or the status of the refusal it wrote. */
static int static_gate(struct mg_connection *conn, const struct mg_request_info *ri)
{
    const char *method = ri->request_method ? ri->request_method : "";
    const char *path = ri->local_uri ? ri->local_uri : "";
    const char *raw = ri->local_uri_raw ? ri->local_uri_raw : path;
    if (is_api_path(path)) {
        return 0;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return static_refusal(conn, 405, "method_not_allowed",
                              "static files are read with GET or HEAD", "Allow: GET, HEAD\r\n");
    }
    if (!hdr_static_path_ok(path) || !hdr_static_path_ok(raw)) {
        return static_refusal(conn, 404, "not_found", "no such file", "");
    }
    return 0;
}

/* Who the request comes from (tl_req.client_ip, forwarded_https): the
 * connection's peer, unless that is one of --trusted-proxies, whose
 * X-Forwarded-For (every such header, in order) names the hops before it
 * (net_client_addr(): read from the right while the hops are trusted
 * proxies) and whose X-Forwarded-Proto (its last entry) says whether the
 * client spoke HTTPS to it. From anyone else both headers are ignored. */
static void find_client(const struct mg_request_info *ri, const srv *s)
{
    const char *xff[8];
    int n = 0;
    tl_req.forwarded_https = false;
    if (s == NULL || s->cfg.trusted_proxies.n == 0 ||
        !net_list_has(&s->cfg.trusted_proxies, ri->remote_addr)) {
        snprintf(tl_req.client_ip, sizeof tl_req.client_ip, "%s", ri->remote_addr);
        return;
    }
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++) {
        const char *name = ri->http_headers[i].name, *value = ri->http_headers[i].value;
        if (name == NULL || value == NULL) {
            continue;
        }
        if (strcasecmp(name, "X-Forwarded-For") == 0 && n < (int)(sizeof xff / sizeof xff[0])) {
            xff[n++] = value;
        } else if (strcasecmp(name, "X-Forwarded-Proto") == 0) {
            const char *last = strrchr(value, ',');
            last = last != NULL ? last + 1 : value;
            while (*last == ' ' || *last == '\t') {
                last++;
            }
            tl_req.forwarded_https = strncasecmp(last, "https", 5) == 0 &&
                                     (last[5] == '\0' || last[5] == ' ' || last[5] == '\t');
        }
    }
    (void)net_client_addr(&s->cfg.trusted_proxies, ri->remote_addr, xff, n, tl_req.client_ip,
                          sizeof tl_req.client_ip);
}

static int cb_begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    clock_gettime(CLOCK_MONOTONIC, &tl_req.start);
    tl_req.account_id = 0;
    tl_req.user_id = 0;
    tl_req.status = 0;
    tl_req.route = -1;
    tl_req.counted = true;
    tl_req.client_ip[0] = '\0';
    if (ri != NULL) {
        find_client(ri, mg_get_user_data(mg_get_context(conn)));
    }
    atomic_fetch_add(&g_inflight, 1);
    if (atomic_load(&g_draining)) {
        mg_disable_connection_keep_alive(conn);
        mg_write(conn, draining_reply, sizeof draining_reply - 1);
        return 503; /* handled here */
    }
    return ri != NULL ? static_gate(conn, ri) : 0; /* 0: let CivetWeb handle it */
}

static void cb_end_request(const struct mg_connection *conn, int status)
{
    struct timespec now;
    (void)conn;
    tl_req.status = status;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (tl_req.start.tv_sec != 0) { /* a request begin_request saw */
        http_metrics_observe(tl_req.route, status,
                             (double)(now.tv_sec - tl_req.start.tv_sec) +
                                 (double)(now.tv_nsec - tl_req.start.tv_nsec) / 1e9);
    }
    if (tl_req.counted) {
        tl_req.counted = false;
        atomic_fetch_sub(&g_inflight, 1);
    }
}

/* Append "s" JSON-escaped (without quotes) to out[*n..cap). */
static void json_escape_into(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; s != NULL && *s != '\0' && *n + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            out[(*n)++] = '\\';
            out[(*n)++] = 'u';
            out[(*n)++] = '0';
            out[(*n)++] = '0';
            out[(*n)++] = hex[ch >> 4];
            out[(*n)++] = hex[ch & 15];
        } else {
            out[(*n)++] = (char)ch;
        }
    }
}

/* CivetWeb's access line is
 *   ADDR - USER [DATE] "METHOD URI[?QS] HTTP/V" STATUS BYTES REFERER AGENT
 * The request part is known exactly, so STATUS and BYTES are read at the
 * offset right after it (URI and agent may hold any character, so the line
 * is not split on spaces). Returns -1 when the line is not as expected. */
static int parse_status_bytes(const struct mg_request_info *ri, const char *msg, int *status,
                              long long *bytes)
{
    const char *p = strstr(msg, "] \"");
    const char *parts[6];
    char *end;
    if (p == NULL) {
        return -1;
    }
    p += 3;
    parts[0] = ri->request_method ? ri->request_method : "-";
    parts[1] = " ";
    parts[2] = ri->request_uri ? ri->request_uri : "-";
    parts[3] = ri->query_string ? "?" : "";
    parts[4] = ri->query_string ? ri->query_string : "";
    parts[5] = " HTTP/";
    for (int i = 0; i < 6; i++) {
        size_t len = strlen(parts[i]);
        if (strncmp(p, parts[i], len) != 0) {
            return -1;
        }
        p += len;
    }
    p += strlen(ri->http_version ? ri->http_version : "");
    if (strncmp(p, "\" ", 2) != 0) {
        return -1;
    }
    p += 2;
    errno = 0;
    *status = (int)strtol(p, &end, 10);
    if (end == p || *end != ' ') {
        return -1;
    }
    p = end + 1;
    *bytes = strtoll(p, &end, 10);
    return (end == p || errno != 0) ? -1 : 0;
}

/* One JSON line per request (A9). No query string (it may carry secrets),
 * no headers, no bodies. */
static int cb_log_access(const struct mg_connection *conn, const char *message)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const srv *s = mg_get_user_data(mg_get_context(conn));
    struct timespec now;
    char line[MAX_PATH * 2 + 512], when[40];
    size_t n = 0;
    int status = tl_req.status;
    long long bytes = -1;
    double ms;

    if (s == NULL || s->access_fd < 0 || ri == NULL) {
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (double)(now.tv_sec - tl_req.start.tv_sec) * 1e3 +
         (double)(now.tv_nsec - tl_req.start.tv_nsec) / 1e6;
    if (tl_req.start.tv_sec == 0) {
        ms = 0;
    }
    (void)parse_status_bytes(ri, message, &status, &bytes);
    log_utc_now(when, sizeof when);

    n += (size_t)snprintf(line + n, sizeof line - n, "{\"time\":\"%s\",\"method\":\"", when);
    json_escape_into(line, sizeof line - 300, &n, ri->request_method);
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"path\":\"");
    json_escape_into(line, sizeof line - 300, &n, ri->local_uri_raw ? ri->local_uri_raw : "");
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"status\":%d,\"bytes\":", status);
    if (bytes >= 0) {
        n += (size_t)snprintf(line + n, sizeof line - n, "%lld", bytes);
    } else {
        n += (size_t)snprintf(line + n, sizeof line - n, "null");
    }
    n += (size_t)snprintf(line + n, sizeof line - n, ",\"ms\":%.3f,\"ip\":\"", ms);
    json_escape_into(line, sizeof line - 200, &n,
                     tl_req.client_ip[0] != '\0' ? tl_req.client_ip : ri->remote_addr);
    n += (size_t)snprintf(line + n, sizeof line - n, "\",\"account\":");
    if (tl_req.account_id > 0) {
        n += (size_t)snprintf(line + n, sizeof line - n, "%lld", tl_req.account_id);
    } else {
        n += (size_t)snprintf(line + n, sizeof line - n, "null");
    }
    n += (size_t)snprintf(line + n, sizeof line - n, ",\"user\":");
    if (tl_req.user_id > 0) {
        n += (size_t)snprintf(line + n, sizeof line - n, "%lld", tl_req.user_id);
    } else {
        n += (size_t)snprintf(line + n, sizeof line - n, "null");
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "}\n");
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write(2) per line on an O_APPEND descriptor: lines never mix. */
    (void)log_write_all(s->access_fd, line, n);
    /* A request CivetWeb refuses before begin_request must not inherit
     * this one's start time and ids. */
    memset(&tl_req, 0, sizeof tl_req);
    return 1; /* handled: CivetWeb writes no log of its own */
}

/* CivetWeb's own diagnostics, with every query string cut out: CivetWeb
 * puts whole request lines in some of them (e.g. "truncating vsnprintf
 * buffer: [<its access line>]" for a long query string), and query strings
 * may carry secrets (docs/server.md, "Access log"). From a "?" up to the
 * next blank or quote becomes "?(query removed)". */
static int cb_log_message(const struct mg_connection *conn, const char *message)
{
    static const char cut[] = "?(query removed)";
    size_t len = strlen(message), n = 0, parts = 1;
    char *clean;
    (void)conn;
    for (const char *q = strchr(message, '?'); q != NULL; q = strchr(q + 1, '?')) {
        parts++;
    }
    clean = malloc(len + parts * sizeof cut + 1);
    if (clean == NULL) {
        log_warn("http: (a CivetWeb message was dropped: out of memory)");
        return 1;
    }
    for (const char *p = message; *p != '\0';) {
        if (*p == '?') {
            memcpy(clean + n, cut, sizeof cut - 1);
            n += sizeof cut - 1;
            p += strcspn(p, " \t\r\n\"]");
            continue;
        }
        clean[n++] = *p++;
    }
    clean[n] = '\0';
    log_warn("http: %s", clean);
    free(clean);
    return 1;
}

/* --------------------------------------------------------------- replies */

static const char *reason(int status)
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
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
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
static bool closing(const http_req *req)
{
    const char *c = mg_get_header(req->conn, "Connection");
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
static void state_moves(const http_req *req)
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

/* The status line and fixed headers of a JSON reply, "extra" and the
 * optional lines included, written like snprintf() ("out" may be NULL with
 * "cap" 0 to measure); returns the length or -1. */
static int json_head(const http_req *req, int status, size_t body_len, const char *extra,
                     char *out, size_t cap)
{
    return snprintf(out, cap,
                    "HTTP/1.1 %d %s\r\n"
                    "Content-Type: %s\r\n"
                    "Content-Length: %zu\r\n"
                    "Cache-Control: no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "%s%s%s%s\r\n",
                    status, reason(status),
                    req->content_type ? req->content_type : "application/json; charset=utf-8",
                    body_len, extra ? extra : "", req->cors,
                    req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
                    closing(req) ? "Connection: close\r\n" : "");
}

/* Write status line, headers and "body" in one mg_write() call: with
 * tcp_nodelay and a single write, a reply leaves in one segment. The
 * buffer is sized from the headers and the body, whatever their length;
 * when it cannot be had, a fixed 503 out_of_memory goes out instead. */
static int send_reply(http_req *req, int status, const char *body, size_t body_len,
                      const char *extra_headers)
{
    char *buf = NULL;
    int head_len = json_head(req, status, body_len, extra_headers, NULL, 0);

    state_moves(req);
    if (head_len > 0) {
        buf = malloc((size_t)head_len + 1 + body_len);
    }
    if (buf == NULL ||
        json_head(req, status, body_len, extra_headers, buf, (size_t)head_len + 1) != head_len) {
        free(buf);
        log_error("http: no memory for a %zu-byte reply", body_len);
        mg_write(req->conn, nomem_reply, sizeof nomem_reply - 1);
        req->must_close = true;
        req->status = 503;
        req->replied = true;
        return 503;
    }
    memcpy(buf + head_len, body, body_len);
    mg_write(req->conn, buf, (size_t)head_len + body_len);
    free(buf);
    req->status = status;
    req->replied = true;
    return status;
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
        return send_reply(req, 500, internal_error_body, sizeof internal_error_body - 1, NULL);
    }
    rc = send_reply(req, status, text, strlen(text), extra);
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
    return send_reply(req, status, text, len, NULL);
}

int http_reply_json_text(http_req *req, int status, const char *text, size_t len)
{
    if (req->replied) {
        log_error("http: second reply to %s %s ignored", req->ri->request_method,
                  req->ri->local_uri);
        return req->status;
    }
    return send_reply(req, status, text, len, NULL);
}

static cJSON *error_object(const char *code, const char *message, const char *field);

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
                    status, reason(status), content_type, length, part, etag, modified,
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
        if (mg_write(o->req->conn, o->head, o->head_len) <= 0) {
            return -1;
        }
    }
    return mg_write(o->req->conn, data, len) <= 0 ? -1 : 0; /* the client went away */
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
        return http_reply_json_headers(req, 416, error_object("range_not_satisfiable", msg, NULL),
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
    state_moves(req);
    if (!out.head_sent) {
        (void)mg_write(req->conn, head, (size_t)head_len); /* an empty file or range */
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

static cJSON *error_object(const char *code, const char *message, const char *field)
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

int http_reply_error(http_req *req, int status, const char *code, const char *message,
                     const char *field)
{
    return http_reply_json(req, status, error_object(code, message, field));
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

/* -------------------------------------------------------------- bodies */

bool http_utf8_valid(const unsigned char *s, size_t len)
{
    return utf8_valid(s, len);
}

/* Whether the request carries a body (a length or chunked encoding). */
static bool has_body(const http_req *req)
{
    return req->ri->content_length > 0 || mg_get_header(req->conn, "Transfer-Encoding") != NULL;
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

/* Give back everything "req" holds. */
static void budget_release(http_req *req)
{
    if (req->body_held > 0) {
        atomic_fetch_sub(&g_body_held, req->body_held);
        req->body_held = 0;
    }
}

/* Seconds a client refused for lack of body memory is asked to wait. */
#define BUSY_RETRY_S 5

enum { BODY_READ_OK = 0, BODY_READ_TOO_LARGE = 1, BODY_READ_BUSY = 2, BODY_READ_ERROR = -1 };

/* The first buffer of a body: small, whatever length was declared; it
 * doubles as bytes arrive. */
#define BODY_FIRST_CAP (64 * 1024)

/* Read the whole request body, at most "limit" bytes, into a buffer that
 * grows with what arrives and is charged to the body budget (it stays
 * charged until the request ends). Returns BODY_READ_OK with *out (caller
 * frees; NUL-terminated) and *len; BODY_READ_TOO_LARGE when it is over the
 * limit, BODY_READ_BUSY when the budget has no room (the rest is left
 * unread: req->must_close), BODY_READ_ERROR on a read error or no memory. */
static int read_body(http_req *req, size_t limit, char **out, size_t *len)
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
    cap = declared >= 0 && (size_t)declared < BODY_FIRST_CAP ? (size_t)declared + 1
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
        got = mg_read(req->conn, buf + n, cap - 1 - n);
        if (got < 0) {
            free(buf);
            req->must_close = true;
            return BODY_READ_ERROR;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
        if (n > limit) {
            free(buf);
            req->must_close = true;
            return BODY_READ_TOO_LARGE;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BODY_READ_OK;
}

/* Read and drop a body nobody wants (a route without one), at most
 * "limit" bytes, through a small buffer: nothing is held. Returns
 * BODY_READ_OK, BODY_READ_TOO_LARGE or BODY_READ_ERROR. */
static int discard_body(http_req *req, size_t limit)
{
    char sink[2048];
    size_t n = 0;
    if (req->ri->content_length > (long long)limit) {
        req->must_close = true;
        return BODY_READ_TOO_LARGE;
    }
    for (;;) {
        int got = mg_read(req->conn, sink, sizeof sink);
        if (got < 0) {
            req->must_close = true;
            return BODY_READ_ERROR;
        }
        if (got == 0) {
            return BODY_READ_OK;
        }
        n += (size_t)got;
        if (n > limit) {
            req->must_close = true;
            return BODY_READ_TOO_LARGE;
        }
    }
}

/* Reply to a body that could not be taken (read_body()'s status "rc"). */
static int reply_body_refused(http_req *req, int rc, size_t limit)
{
    char msg[120], extra[40];
    /* read_body() freed its buffer: give its bytes back before replying, so
     * that a client told to retry (or the next one) finds them free. */
    budget_release(req);
    switch (rc) {
    case BODY_READ_TOO_LARGE:
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", limit);
        return http_reply_error(req, 413, "body_too_large", msg, NULL);
    case BODY_READ_BUSY:
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", BUSY_RETRY_S);
        return http_reply_json_headers(
            req, 503,
            error_object("server_busy",
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
    int got = mg_read(req->conn, buf, cap > INT_MAX ? INT_MAX : cap);
    if (got < 0) {
        req->must_close = true;
        return -1;
    }
    return got;
}

long long http_content_length(const http_req *req)
{
    return req->ri->content_length;
}

const char *http_header(const http_req *req, const char *name)
{
    return mg_get_header(req->conn, name);
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
static int take_json_body(http_req *req)
{
    char *text = NULL, msg[160];
    size_t len = 0;
    const char *end = NULL;
    int rc;

    if (!is_json_type(mg_get_header(req->conn, "Content-Type"))) {
        req->must_close = has_body(req); /* the body stays unread */
        return http_reply_error(req, 415, "unsupported_media_type",
                                "send the body as application/json", NULL),
               -1;
    }
    rc = read_body(req, req->srv->cfg.max_body, &text, &len);
    if (rc != BODY_READ_OK) {
        return reply_body_refused(req, rc, req->srv->cfg.max_body), -1;
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
     * the length (read_body() always writes it). */
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

/* ------------------------------------------------------------- routing */

/* Split "path" (a copy is made into "buf") into segments. */
static int split_path(const char *path, char *buf, size_t cap, char **seg)
{
    int n = 0;
    char *save = NULL, *tok;
    if (strlen(path) >= cap) {
        return -1;
    }
    strcpy(buf, path);
    for (tok = strtok_r(buf, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGMENTS) {
            return -1;
        }
        seg[n++] = tok;
    }
    return n;
}

static bool pattern_matches(const char *pattern, char **seg, int n_seg, http_req *req)
{
    const char *p = pattern;
    int i = 0, n_params = 0;
    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, "/");
        if (i >= n_seg) {
            return false;
        }
        if (len == 1 && *p == '*') {
            if (n_params < HTTP_MAX_PARAMS && req != NULL) {
                req->params[n_params] = seg[i];
            }
            n_params++;
        } else if (strlen(seg[i]) != len || strncmp(seg[i], p, len) != 0) {
            return false;
        }
        i++;
        p += len;
        while (*p == '/') {
            p++;
        }
    }
    if (i != n_seg) {
        return false;
    }
    if (req != NULL) {
        req->n_params = n_params < HTTP_MAX_PARAMS ? n_params : HTTP_MAX_PARAMS;
    }
    return true;
}

/* Whether "route" is active in this server (test-only routes need the flag). */
static bool route_enabled(const srv *s, const http_route *route)
{
    return !route->test_only || s->cfg.test_routes;
}

const char *http_client_ip(const http_req *req)
{
    if (req->client_ip[0] != '\0') {
        return req->client_ip;
    }
    return req->ri != NULL ? req->ri->remote_addr : NULL;
}

bool http_secure(const http_req *req)
{
    return req->srv->tls || req->forwarded_https;
}

/* CORS (docs/deploy.md, "Cross origin"). A request whose Origin is on
 * --cors-origins gets, on every reply, that origin as the one that may read
 * it with credentials, and the reply headers the portal reads; a preflight
 * from it (OPTIONS with Access-Control-Request-Method) gets the methods and
 * the request headers the portal sends, for CORS_MAX_AGE_S (Chromium's
 * ceiling). Any other Origin gets no CORS header, so the browser keeps every
 * reply from its page, and its preflight is refused (403
 * origin_not_allowed): its request never leaves the browser. Cookie writes
 * are still checked as before (http_request_auth.c): a listed origin passes
 * the Origin check, never the CSRF token. */
#define CORS_MAX_AGE_S 7200
#define CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE"
#define CORS_HEADERS "Accept, Content-Type, X-CSRF-Token, Authorization, X-Batch-Id"
#define CORS_EXPOSE "Retry-After, Content-Disposition, Content-Range, Accept-Ranges, ETag"

static void cors_prepare(http_req *req)
{
    const char *origin = origin_list_find(&req->srv->cfg.cors_origins,
                                          mg_get_header(req->conn, "Origin"));
    req->cors[0] = '\0';
    if (origin != NULL) {
        snprintf(req->cors, sizeof req->cors,
                 "Access-Control-Allow-Origin: %s\r\n"
                 "Access-Control-Allow-Credentials: true\r\n"
                 "Access-Control-Expose-Headers: " CORS_EXPOSE "\r\n"
                 "Vary: Origin\r\n",
                 origin);
    }
}

static bool is_preflight(const http_req *req)
{
    return strcmp(req->ri->request_method, "OPTIONS") == 0 &&
           mg_get_header(req->conn, "Origin") != NULL &&
           mg_get_header(req->conn, "Access-Control-Request-Method") != NULL;
}

static int cors_preflight(http_req *req)
{
    char reply[NET_ORIGIN_CHARS + 700];
    int n;
    req->must_close = has_body(req);
    if (req->cors[0] == '\0') {
        return http_reply_error(req, 403, "origin_not_allowed",
                                "this origin may not call the API: it is not one of the "
                                "server's --cors-origins",
                                NULL);
    }
    n = snprintf(reply, sizeof reply,
                 "HTTP/1.1 204 No Content\r\n"
                 "%s"
                 "Access-Control-Allow-Methods: " CORS_METHODS "\r\n"
                 "Access-Control-Allow-Headers: " CORS_HEADERS "\r\n"
                 "Access-Control-Max-Age: %d\r\n"
                 "Vary: Access-Control-Request-Method, Access-Control-Request-Headers\r\n"
                 "%s%s\r\n",
                 req->cors, CORS_MAX_AGE_S,
                 req->srv->tls ? "Strict-Transport-Security: max-age=31536000\r\n" : "",
                 closing(req) ? "Connection: close\r\n" : "");
    if (n > 0 && (size_t)n < sizeof reply) {
        mg_write(req->conn, reply, (size_t)n);
    }
    req->status = 204;
    req->replied = true;
    return 204;
}

/* O1: during a maintenance window (maintenance.h) every API route answers
 * 503 maintenance with Retry-After until the window's end, except what the
 * operator, the monitoring and the portal's banner need (and the test
 * routes, which move the clock). Returns true after replying. */
static bool maintenance_gate(http_req *req, const http_route *r)
{
    int64_t now = auth_now(), ends_at = 0;
    char extra[48], msg[160], end_text[ISO_TIME_LEN + 8];
    if (!maint_active(now, &ends_at) || r->auth == AUTH_OPS || r->auth == AUTH_METRICS ||
        strcmp(r->pattern, "/api/v1/health") == 0 ||
        strcmp(r->pattern, "/api/v1/maintenance") == 0 || r->test_only) {
        return false;
    }
    if (iso_time_format(ends_at, end_text, sizeof end_text) != 0) {
        snprintf(end_text, sizeof end_text, "its end");
    }
    snprintf(extra, sizeof extra, "Retry-After: %lld\r\n",
             (long long)(ends_at - now > 0 ? ends_at - now : 1));
    snprintf(msg, sizeof msg,
             "the service is in a scheduled maintenance window until %s: try again then",
             end_text);
    req->must_close = has_body(req);
    reply_json_headers(req, 503, error_object("maintenance", msg, NULL), extra);
    return true;
}

static int api_handler(struct mg_connection *conn, void *cbdata)
{
    srv *s = cbdata;
    http_req req;
    char buf[MAX_PATH], *seg[MAX_SEGMENTS], allow[128] = "";
    const http_route *found = NULL;
    int n_seg, status;

    memset(&req, 0, sizeof req);
    req.conn = conn;
    req.ri = mg_get_request_info(conn);
    req.srv = s;
    tl_req.route = HTTP_METRICS_UNMATCHED;
    snprintf(req.client_ip, sizeof req.client_ip, "%s",
             tl_req.client_ip[0] != '\0' ? tl_req.client_ip : req.ri->remote_addr);
    req.forwarded_https = tl_req.forwarded_https;
    cors_prepare(&req);
    if (is_preflight(&req)) {
        status = cors_preflight(&req);
        goto out;
    }

    n_seg = split_path(req.ri->local_uri ? req.ri->local_uri : "", buf, sizeof buf, seg);
    if (n_seg < 0) {
        req.must_close = has_body(&req);
        status = http_reply_error(&req, 404, "not_found", "no such route", NULL);
        goto out;
    }
    for (size_t t = 0; t < N_ROUTE_TABLES && !found; t++) {
        for (const http_route *r = route_tables[t]; r->method != NULL; r++) {
            if (!route_enabled(s, r) || !pattern_matches(r->pattern, seg, n_seg, NULL)) {
                continue;
            }
            if (strcmp(r->method, req.ri->request_method) == 0) {
                found = r;
                tl_req.route = http_metrics_route(t, (size_t)(r - route_tables[t]));
                pattern_matches(r->pattern, seg, n_seg, &req);
                break;
            }
            if (strstr(allow, r->method) == NULL &&
                strlen(allow) + strlen(r->method) + 3 < sizeof allow) {
                if (allow[0] != '\0') {
                    strcat(allow, ", ");
                }
                strcat(allow, r->method);
            }
        }
    }
    if (found == NULL && allow[0] != '\0') {
        char extra[160];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        req.must_close = has_body(&req);
        status = reply_json_headers(
            &req, 405,
            error_object("method_not_allowed", "this route does not take this method", NULL),
            extra);
        goto out;
    }
    if (found == NULL) {
        req.must_close = has_body(&req);
        status = http_reply_error(&req, 404, "not_found", "no such route", NULL);
        goto out;
    }
    if (maintenance_gate(&req, found)) {
        status = req.status;
        goto out;
    }
    if (found->auth != AUTH_PUBLIC) {
        /* Credentials first, on every route that has them: a refusal
         * leaves the body unread (and the connection closes after it), so
         * a client without one never makes the server hold its body. */
        req.must_close = has_body(&req);
        int rc = found->auth == AUTH_APP ? http_auth_app(&req)
                 : found->auth == AUTH_OPS || found->auth == AUTH_METRICS
                     ? http_auth_operator(&req, found->auth)
                     : http_auth_resolve(&req, found);
        if (rc != 0) {
            status = req.status;
            goto out;
        }
        req.must_close = false;
    }
    if (found->body == BODY_JSON) {
        if (take_json_body(&req) != 0) {
            status = req.status;
            goto out;
        }
    } else if (found->body == BODY_RAW) {
        int rc = read_body(&req, s->cfg.max_raw_body, (char **)&req.raw, &req.raw_len);
        if (rc != BODY_READ_OK) {
            status = reply_body_refused(&req, rc, s->cfg.max_raw_body);
            goto out;
        }
    } else if (found->body == BODY_STREAM) {
        /* the handler reads it, a bounded chunk at a time */
    } else if (has_body(&req)) {
        int rc = discard_body(&req, s->cfg.max_body);
        if (rc != BODY_READ_OK) {
            status = reply_body_refused(&req, rc, s->cfg.max_body);
            goto out;
        }
    }
    /* Every API request that may write moves the epoch of remembered
     * replies (state_moves(): its account's, or every account's for a
     * public one), so that they never outlive a change made through the
     * API. The apps' high-rate ingestion writes acquired data only, never
     * users or accounts. */
    req.may_write = strcmp(found->method, "GET") != 0 && strcmp(found->method, "HEAD") != 0 &&
                    strncmp(found->pattern, INGEST_PREFIX, sizeof INGEST_PREFIX - 1) != 0;
    http_actor_init(&req);
    status = found->fn(&req);
    state_moves(&req);
    if (!req.replied) {
        log_error("http: %s %s returned without a reply", found->method, found->pattern);
        status = http_reply_error(&req, 500, "internal_error", "internal error", NULL);
    }
out:
    tl_req.account_id = req.account_id;
    tl_req.user_id = req.user_id;
    cJSON_Delete(req.body);
    free(req.raw);
    budget_release(&req);
    return req.replied ? req.status : status;
}

/* ------------------------------------------------------------ start/stop */

/* CivetWeb's own HTTP authorization (a .htpasswd file looked up in the
 * document root: two stat(2) calls a request) runs for every URI without an
 * authorization handler. /api has its own (api_handler, http_auth.c). */
static int api_authorized(struct mg_connection *conn, void *cbdata)
{
    (void)conn;
    (void)cbdata;
    return 1;
}

/* CivetWeb's worker threads run at nice HTTP_WORKER_NICE: the server's
 * other threads (the refresher above all, refresher.h) get ahead of them
 * when every worker is busy, and a request never waits for a refresh that
 * cannot get the CPU. An unprivileged thread may lower its own priority;
 * if it cannot, it runs as it is. */
#define HTTP_WORKER_NICE 5

static void *cb_init_thread(const struct mg_context *ctx, int thread_type)
{
    (void)ctx;
    if (thread_type == 1) {
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HTTP_WORKER_NICE);
    }
    return NULL;
}

int http_start(srv *s, char *err, size_t err_cap)
{
    struct mg_callbacks cb;
    struct mg_init_data init;
    struct mg_error_data error;
    struct mg_server_port ports[4];
    char listen[300], threads[16], error_text[256] = "", portal[PATH_MAX];
    const char *opts[40];
    int n = 0;

    s->tls = s->cfg.tls_cert != NULL;
    if (http_metrics_init(route_tables, N_ROUTE_TABLES) != 0) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    snprintf(listen, sizeof listen, "%s%s", s->cfg.listen, s->tls ? "s" : "");
    snprintf(threads, sizeof threads, "%d", s->cfg.threads);

    opts[n++] = "listening_ports";
    opts[n++] = listen;
    opts[n++] = "num_threads";
    opts[n++] = threads;
    opts[n++] = "tcp_nodelay";
    opts[n++] = "1";
    opts[n++] = "enable_keep_alive";
    opts[n++] = "yes";
    opts[n++] = "keep_alive_timeout_ms";
    opts[n++] = "5000";
    opts[n++] = "request_timeout_ms";
    opts[n++] = "30000";
    opts[n++] = "enable_directory_listing";
    opts[n++] = "no";
    opts[n++] = "access_control_allow_origin";
    opts[n++] = "";
    opts[n++] = "additional_header";
    /* Under TLS static files carry HSTS too, as API replies do. */
    opts[n++] = s->tls ? STATIC_HEADERS "\r\nStrict-Transport-Security: max-age=31536000"
                       : STATIC_HEADERS;
    opts[n++] = "index_files";
    opts[n++] = "index.html";
    /* Every file is checked again on each use (ETag, Last-Modified: 304 when
     * unchanged), so a new release is picked up at once. Long caching is for
     * the release folder of scripts/portal-dist behind nginx or a CDN
     * (docs/deploy.md). */
    opts[n++] = "static_file_cache_control";
    opts[n++] = "no-cache";
    /* The portal's ES modules (.mjs) must be served as JavaScript: browsers
     * refuse module scripts of any other type. */
    opts[n++] = "extra_mime_types";
    opts[n++] = ".mjs=text/javascript,.wasm=application/wasm,.webp=image/webp";
    if (realpath(s->cfg.portal_dir, portal) != NULL) {
        opts[n++] = "document_root";
        opts[n++] = portal;
    } else {
        log_warn("portal folder %s not found: no static files are served", s->cfg.portal_dir);
    }
    if (s->tls) {
        opts[n++] = "ssl_certificate";
        opts[n++] = s->cfg.tls_cert;
        opts[n++] = "ssl_protocol_version";
        opts[n++] = "4"; /* TLS 1.2 and newer */
        opts[n++] = "ssl_short_trust";
        opts[n++] = "yes";
    }
    opts[n] = NULL;

    memset(&cb, 0, sizeof cb);
    cb.init_thread = cb_init_thread;
    cb.begin_request = cb_begin_request;
    cb.end_request = cb_end_request;
    cb.log_access = cb_log_access;
    cb.log_message = cb_log_message;
    memset(&init, 0, sizeof init);
    init.callbacks = &cb;
    init.user_data = s;
    init.configuration_options = opts;
    memset(&error, 0, sizeof error);
    error.text = error_text;
    error.text_buffer_size = sizeof error_text;

    if (s->tls) {
        (void)tls_compat_load();
    }
    if (s->tls && !(mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS)) {
        snprintf(err, err_cap, "CivetWeb cannot load OpenSSL for TLS (is "
                               "libmetron_ssl_shim.so next to the binary?)");
        return -1;
    }
    if (!s->tls) {
        mg_init_library(0);
    }
    s->mg = mg_start2(&init, &error);
    if (s->mg == NULL) {
        snprintf(err, err_cap, "cannot start HTTP on %s: %s", listen,
                 error_text[0] ? error_text : "unknown error");
        mg_exit_library();
        return -1;
    }
    mg_set_request_handler(s->mg, "/api", api_handler, s);
    mg_set_auth_handler(s->mg, "/api", api_authorized, NULL);
    mg_set_request_handler(s->mg, "/metrics$", api_handler, s);
    mg_set_auth_handler(s->mg, "/metrics$", api_authorized, NULL);
    memset(ports, 0, sizeof ports);
    if (mg_get_server_ports(s->mg, 4, ports) > 0) {
        s->port = ports[0].port;
    }
    {
        const char *colon = strrchr(s->cfg.listen, ':');
        size_t len = colon ? (size_t)(colon - s->cfg.listen) : 0;
        if (colon == NULL || len >= sizeof s->host) {
            snprintf(s->host, sizeof s->host, "0.0.0.0");
        } else {
            memcpy(s->host, s->cfg.listen, len);
            s->host[len] = '\0';
        }
    }
    return 0;
}

int http_drain(int timeout_ms)
{
    struct timespec tick = {0, 10 * 1000000L};
    atomic_store(&g_draining, true);
    for (int waited = 0; atomic_load(&g_inflight) > 0; waited += 10) {
        if (waited >= timeout_ms) {
            return atomic_load(&g_inflight);
        }
        nanosleep(&tick, NULL);
    }
    return 0;
}

/* CivetWeb 1.15 checks its stop flag only every 2 s while it waits in
 * poll(): in the listener and in every worker holding an idle keep-alive
 * connection. To stop at once, a helper thread wakes the listener with a
 * connection to our own port, and shuts down the server's remaining client
 * sockets: after http_drain() they are idle keep-alive connections, found
 * in /proc/self/fd by their local port (never the listening socket, never
 * PostgreSQL's sockets). */
static atomic_bool g_stopped;

static void shutdown_idle_connections(int port)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        struct stat st;
        int fd, listening = 0;
        socklen_t opt_len = sizeof listening;
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        fd = atoi(de->d_name);
        if (fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
            getsockname(fd, (struct sockaddr *)&a, &len) != 0 || a.sin_family != AF_INET ||
            ntohs(a.sin_port) != port ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &opt_len) != 0 || listening) {
            continue;
        }
        shutdown(fd, SHUT_RDWR);
    }
    closedir(d);
}

static void *waker(void *arg)
{
    const srv *s = arg;
    struct timespec tick = {0, 20 * 1000000L};
    for (int i = 0; i < 100 && !atomic_load(&g_stopped); i++) {
        struct sockaddr_in a;
        int fd;
        nanosleep(&tick, NULL);
        shutdown_idle_connections(s->port);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            continue;
        }
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)s->port);
        if (inet_pton(AF_INET, s->host, &a.sin_addr) != 1 ||
            a.sin_addr.s_addr == htonl(INADDR_ANY)) {
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        }
        (void)connect(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
    }
    return NULL;
}

void http_stop(srv *s)
{
    if (s->mg != NULL) {
        pthread_t t;
        bool wake;
        atomic_store(&g_stopped, false);
        wake = s->port > 0 && pthread_create(&t, NULL, waker, s) == 0;
        mg_stop(s->mg);
        atomic_store(&g_stopped, true);
        if (wake) {
            pthread_join(t, NULL);
        }
        s->mg = NULL;
        mg_exit_library();
    }
}
