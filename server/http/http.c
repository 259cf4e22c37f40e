#define _DEFAULT_SOURCE /* realpath */
#include "http.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth.h"
#include "hdr_text.h"
#include "http_internal.h"
#include "http_libc.h"
#include "http_svc.h"
#include "json_guard.h"
#include "isotime.h"
#include "log.h"
#include "linelog.h"
#include "maintenance.h"
#include "sbuf.h"
#include "tls_compat.h"
#include "utf8.h"

/* Every route table, in matching order: one line each, so that adding a
 * table is a one-line change that merges cleanly. */
static const http_route *const route_tables[] = {
    http_routes_health,
    http_routes_auth,
    http_routes_auth_sessions,
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
    http_routes_console,
    http_routes_gateway,
    http_routes_alarm,
    http_routes_report,
    http_routes_notify,
    http_routes_mqtt,
    http_routes_ops,
    http_routes_metrics,
    http_routes_dashboard,
    http_routes_app_share,
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

/* Per worker thread: CivetWeb runs begin_request, the handler and
 * end_request of one request on the same thread. */
static _Thread_local struct {
    struct timespec start;
    long long account_id, user_id;
    int status;
    int route;    /* http_metrics_route() of the matched route, -1 = none (static) */
    long long bytes; /* written by http_write(); -1: none (CivetWeb's own reply) */
    bool counted; /* counted in g_inflight */
    char client_ip[NET_ADDR_CHARS]; /* the client behind a trusted proxy, or the peer */
    bool forwarded_https;           /* X-Forwarded-Proto: https from a trusted proxy */
} tl_req;

/* The per-route CPU account (issue 16, docs/operations.md "Metrics"):
 * METRON_ROUTE_CPU=N (read once at start; 0 or unset: off) measures one
 * request in N of each worker thread by its thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID: user and system time, exact to the
 * nanosecond) at begin_request, at end_request and once its access line
 * is written, and its thread's context switches (getrusage(RUSAGE_THREAD))
 * from the first to the last. Three parts by route: "read", the thread's
 * CPU from the end of its previous request to this one's begin_request
 * (CivetWeb's wait for and reading of this request's head: poll, recv, the
 * header scan); "handler", begin_request to end_request (routing, the
 * handler, the reply sent); "log", end_request to the access line written
 * (cb_end_request's own line). The readings cost about 3 us of CPU a
 * measured request on the 2-CPU test VM: one in 10 (N = 10) costs 0.3. */
static int g_route_cpu_every;
#ifndef RUSAGE_THREAD
#define RUSAGE_THREAD 1 /* Linux's, which <sys/resource.h> shows only under _GNU_SOURCE */
#endif
static _Thread_local struct {
    unsigned long long n;    /* requests begun on this thread */
    long long prev_end_ns;   /* thread CPU at the previous request's end; 0: not read */
    long long begin_ns;      /* this request's, when measured */
    long long read_ns;       /* the "read" part; -1: not known */
    long long end_ns;        /* at end_request; 0: not reached */
    long nvcsw, nivcsw;      /* at begin_request */
    bool measured;
} tl_cpu;

static long long thread_cpu_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) {
        return 0;
    }
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void route_cpu_begin(void)
{
    struct rusage ru;
    long long now;
    tl_cpu.measured = tl_cpu.n++ % (unsigned long long)g_route_cpu_every == 0;
    if (!tl_cpu.measured) {
        tl_cpu.prev_end_ns = 0;
        return;
    }
    now = thread_cpu_ns();
    tl_cpu.read_ns = tl_cpu.prev_end_ns > 0 && now >= tl_cpu.prev_end_ns
                         ? now - tl_cpu.prev_end_ns : -1;
    tl_cpu.prev_end_ns = 0;
    tl_cpu.begin_ns = now;
    tl_cpu.end_ns = 0;
    tl_cpu.nvcsw = tl_cpu.nivcsw = 0;
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        tl_cpu.nvcsw = ru.ru_nvcsw;
        tl_cpu.nivcsw = ru.ru_nivcsw;
    }
}

/* The end of a request's access line: its parts added to route "route". */
static void route_cpu_finish(int route)
{
    struct rusage ru;
    long long now = 0;
    bool next = tl_cpu.n % (unsigned long long)g_route_cpu_every == 0;
    if (tl_cpu.measured) {
        now = thread_cpu_ns();
        if (tl_cpu.end_ns == 0) {
            tl_cpu.end_ns = now;
        }
        if (getrusage(RUSAGE_THREAD, &ru) == 0) {
            http_metrics_cpu(route, tl_cpu.read_ns, tl_cpu.end_ns - tl_cpu.begin_ns,
                             now - tl_cpu.end_ns, ru.ru_nvcsw - tl_cpu.nvcsw,
                             ru.ru_nivcsw - tl_cpu.nivcsw);
        }
        tl_cpu.measured = false;
    } else if (next) {
        now = thread_cpu_ns();
    }
    tl_cpu.prev_end_ns = next ? now : 0;
}

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
                     status, http_reason(status), body_len, extra, body);
    mg_disable_connection_keep_alive(conn);
    if (n > 0 && (size_t)n < sizeof reply) {
        http_write(conn, reply, (size_t)n);
    }
    return status;
}

/* Whether the path of the request target "uri" (as sent: decode_url is
 * off) holds "%00", an escaped NUL byte: refused with a sentence, where
 * a decoded path would have been cut at it ("/api/v1/apps/1%00x" read as
 * "/api/v1/apps/1", another route than the one sent). */
static bool path_has_nul(const char *uri)
{
    for (const char *p = uri; p != NULL && *p != '\0' && *p != '?'; p++) {
        if (p[0] == '%' && p[1] == '0' && p[2] == '0') {
            return true;
        }
    }
    return false;
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
    if (path_has_nul(ri->request_uri)) {
        return static_refusal(conn, 400, "bad_path",
                              "the path holds an encoded NUL byte (%00), which no route or "
                              "file name has",
                              "");
    }
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

/* A request whose body's length is not clear is refused and its connection
 * closed (RFC 9112 §6.3: the bytes after it cannot be told apart from the
 * next request). CivetWeb 1.15 reads the first of two Content-Length headers
 * (2 and 3: a proxy in front that reads the last one sees another request
 * after it), lets Transfer-Encoding win over Content-Length and takes two
 * "chunked" as one, and reads "+2" or "2, 2" as 2; nginx refuses each of
 * them. Only the two names are compared (a request without a body pays a
 * character test a header). Returns 0, or the status of the refusal. */
static int framing_gate(struct mg_connection *conn, const struct mg_request_info *ri)
{
    const char *length = NULL, *why = NULL;
    int n_length = 0, n_coding = 0;
    size_t digits;
    for (int i = 0; i < ri->num_headers && i < MG_MAX_HEADERS; i++) {
        const char *name = ri->http_headers[i].name;
        int first = name != NULL ? (unsigned char)name[0] | 0x20 : 0;
        if (first == 'c' && strcasecmp(name, "Content-Length") == 0) {
            n_length++;
            length = ri->http_headers[i].value;
        } else if (first == 't' && strcasecmp(name, "Transfer-Encoding") == 0) {
            n_coding++;
        }
    }
    if (n_length + n_coding == 0) {
        return 0;
    }
    digits = length != NULL ? strspn(length, "0123456789") : 0;
    if (n_length > 1) {
        why = "the request has more than one Content-Length header: the length of its body is "
              "not clear";
    } else if (n_length > 0 && n_coding > 0) {
        why = "the request has both a Content-Length and a Transfer-Encoding header: the length "
              "of its body is not clear";
    } else if (n_coding > 1) {
        why = "the request has more than one Transfer-Encoding header: send one, chunked";
    } else if (n_length == 1 && (digits == 0 || digits > 18 || length[digits] != '\0')) {
        why = "the request's Content-Length is not a number of bytes (digits only)";
    }
    return why != NULL ? static_refusal(conn, 400, "bad_request", why, "") : 0;
}

/* snprintf(out, cap, "%s", text) by a copy: cut to cap - 1 bytes. */
static void copy_text(char *out, size_t cap, const char *text)
{
    size_t len = strnlen(text, cap - 1);
    memcpy(out, text, len);
    out[len] = '\0';
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
        copy_text(tl_req.client_ip, sizeof tl_req.client_ip, ri->remote_addr);
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

static void cb_connection_close(const struct mg_connection *conn)
{
    (void)conn;
    http_conns_closing();
}

static int cb_begin_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    int status;
    if (g_route_cpu_every > 0) {
        route_cpu_begin();
    }
    tl_req.bytes = -1;
    if (ri != NULL && !http_conns_request_begins(ri->remote_addr, ri->remote_port, ri->server_port)) {
        /* The watchdog shed this connection as idle just as its request
         * head arrived: its socket is gone, the request is not run (the
         * client sees the connection closed, as by any server that closes
         * an idle keep-alive connection, and may send it again). */
        tl_req.start.tv_sec = 0;
        tl_req.counted = false;
        tl_req.bytes = 0; /* nothing is sent */
        mg_disable_connection_keep_alive(conn);
        return 503;
    }
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
        http_write(conn, draining_reply, sizeof draining_reply - 1);
        return 503; /* handled here */
    }
    if (ri == NULL) {
        return 0; /* let CivetWeb handle it */
    }
    status = framing_gate(conn, ri);
    return status != 0 ? status : static_gate(conn, ri); /* 0: let CivetWeb handle it */
}

int http_write(struct mg_connection *conn, const void *buf, size_t len)
{
    int n = mg_write(conn, buf, len);
    if (tl_req.bytes < 0) {
        tl_req.bytes = 0;
    }
    if (n > 0) {
        tl_req.bytes += n; /* what CivetWeb adds to its own count */
    }
    return n;
}

/* Append "s" JSON-escaped (without quotes) to out[*n..cap). A run of
 * characters that need no escape is copied at once (issue 16). */
static void json_escape_into(char *out, size_t cap, size_t *n, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; s != NULL && *s != '\0' && *n + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        size_t run = 0;
        while (*n + run + 7 < cap && s[run] != '\0' && s[run] != '"' && s[run] != '\\' &&
               (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] != 0x7f) {
            run++;
        }
        if (run > 0) {
            memcpy(out + *n, s, run);
            *n += run;
            s += run - 1;
            continue;
        }
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

/* Append "len" bytes of "t" to line[*n..cap) as snprintf() would (cut to
 * fit, *n advanced by the whole length). */
static void line_put(char *line, size_t cap, size_t *n, const char *t, size_t len)
{
    if (*n < cap) {
        size_t room = cap - *n - 1, k = len < room ? len : room;
        memcpy(line + *n, t, k);
        line[*n + k] = '\0';
    }
    *n += len;
}

#define LINE_LIT(line, n, lit) line_put(line, sizeof line, n, lit, sizeof lit - 1)

/* Append "v" in decimal, as "%lld" would. */
static void line_dec(char *line, size_t cap, size_t *n, long long v)
{
    char tmp[24];
    line_put(line, cap, n, tmp, dec_text(v, tmp));
}

/* Append "ms" as "%.3f" writes it. Digit by digit when its thousandths
 * are surely the same as printf's: from 0 to 10^6 ms, where the product by
 * 1000 (below 10^9) is off the exact one by at most 6 x 10^-8, unless that
 * product is within 10^-6 of a half; snprintf() otherwise (issue 16: it
 * was 1.6 k instructions of every request). */
static void line_ms(char *line, size_t cap, size_t *n, double ms)
{
    double x = ms * 1000.0, f;
    if (ms >= 0 && ms <= 1e6 && (f = x - floor(x), fabs(f - 0.5) > 1e-6)) {
        long long r = (long long)floor(x) + (f > 0.5);
        char frac[3];
        line_dec(line, cap, n, r / 1000);
        frac[0] = (char)('0' + r / 100 % 10);
        frac[1] = (char)('0' + r / 10 % 10);
        frac[2] = (char)('0' + r % 10);
        line_put(line, cap, n, ".", 1);
        line_put(line, cap, n, frac, 3);
        return;
    }
    if (*n < cap) {
        *n += (size_t)snprintf(line + *n, cap - *n, "%.3f", ms);
    }
}

/* One JSON line per request (A9), written here at the request's end
 * rather than from CivetWeb's log_access callback: with that callback set
 * CivetWeb formatted an access line of its own for every request (strftime,
 * the peer's address, the referer and user-agent; 6.8 k instructions, 17 %
 * of the route mix, issue 16) only for the status and byte count to be read
 * back out of it. The status is CivetWeb's (the one its line held), the
 * bytes what http_write() sent: every reply the server writes, headers
 * included, as CivetWeb counted them. A reply CivetWeb writes itself (a
 * portal file, its 304 and 206 answers, its folder redirect) has "bytes":
 * null: CivetWeb's count of those was their headers only (sendfile()'s
 * body was never counted). No query string (it may carry secrets), no
 * headers, no bodies. Put together by copies, the time and integers written
 * digit by digit (issue 16); requests CivetWeb refuses before
 * begin_request (a malformed request line, headers over its limit) get no
 * end_request and no line, as they got none from log_access. */
static void cb_end_request(const struct mg_connection *conn, int status)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const srv *s = mg_get_user_data(mg_get_context(conn));
    struct timespec now;
    char line[MAX_PATH * 2 + 512], when[40];
    size_t n = 0;
    long long bytes = tl_req.bytes;
    double ms;

    tl_req.status = status;
    if (tl_cpu.measured) {
        tl_cpu.end_ns = thread_cpu_ns();
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    http_conns_request_ended((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    if (tl_req.start.tv_sec != 0) { /* a request begin_request saw */
        http_metrics_observe(tl_req.route, status,
                             (double)(now.tv_sec - tl_req.start.tv_sec) +
                                 (double)(now.tv_nsec - tl_req.start.tv_nsec) / 1e9);
    }
    if (tl_req.counted) {
        tl_req.counted = false;
        atomic_fetch_sub(&g_inflight, 1);
    }
    if (s == NULL || s->access_fd < 0 || ri == NULL) {
        goto done;
    }
    ms = (double)(now.tv_sec - tl_req.start.tv_sec) * 1e3 +
         (double)(now.tv_nsec - tl_req.start.tv_nsec) / 1e6;
    if (tl_req.start.tv_sec == 0) {
        ms = 0;
    }
    log_utc_now(when, sizeof when);

    LINE_LIT(line, &n, "{\"time\":\"");
    line_put(line, sizeof line, &n, when, strlen(when));
    LINE_LIT(line, &n, "\",\"method\":\"");
    json_escape_into(line, sizeof line - 300, &n, ri->request_method);
    LINE_LIT(line, &n, "\",\"path\":\"");
    json_escape_into(line, sizeof line - 300, &n, ri->local_uri_raw ? ri->local_uri_raw : "");
    LINE_LIT(line, &n, "\",\"status\":");
    line_dec(line, sizeof line, &n, status);
    LINE_LIT(line, &n, ",\"bytes\":");
    if (bytes >= 0) {
        line_dec(line, sizeof line, &n, bytes);
    } else {
        LINE_LIT(line, &n, "null");
    }
    LINE_LIT(line, &n, ",\"ms\":");
    line_ms(line, sizeof line, &n, ms);
    LINE_LIT(line, &n, ",\"ip\":\"");
    json_escape_into(line, sizeof line - 200, &n,
                     tl_req.client_ip[0] != '\0' ? tl_req.client_ip : ri->remote_addr);
    LINE_LIT(line, &n, "\",\"account\":");
    if (tl_req.account_id > 0) {
        line_dec(line, sizeof line, &n, tl_req.account_id);
    } else {
        LINE_LIT(line, &n, "null");
    }
    LINE_LIT(line, &n, ",\"user\":");
    if (tl_req.user_id > 0) {
        line_dec(line, sizeof line, &n, tl_req.user_id);
    } else {
        LINE_LIT(line, &n, "null");
    }
    LINE_LIT(line, &n, "}\n");
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* Copied into the access log's buffer, written by its one thread
     * (base/linelog.h: lines never mix, none is dropped). */
    linelog_put(s->access_fd, line, n);
done:
    if (g_route_cpu_every > 0) {
        route_cpu_finish(tl_req.route);
    }
    /* Whatever CivetWeb writes before the next begin_request (its refusal
     * of a request it cannot read) counts for no request's line. */
    memset(&tl_req, 0, sizeof tl_req);
    tl_req.bytes = -1;
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

/* ------------------------------------------------------------- routing */

/* Split "path" (a copy is made into "buf") into segments, NUL-terminated
 * in "buf", with their lengths in "len": what strtok_r(buf, "/") gives
 * (runs of '/' separate, empty segments are none). -1 when the path is
 * longer than "cap" - 1 or has more than MAX_SEGMENTS segments. */
static int split_path(const char *path, char *buf, size_t cap, char **seg, size_t *len)
{
    size_t n_path = strlen(path), i = 0;
    int n = 0;
    if (n_path >= cap) {
        return -1;
    }
    memcpy(buf, path, n_path + 1);
    while (i < n_path) {
        size_t start;
        while (i < n_path && buf[i] == '/') {
            i++;
        }
        if (i == n_path) {
            break;
        }
        if (n == MAX_SEGMENTS) {
            return -1;
        }
        start = i;
        while (i < n_path && buf[i] != '/') {
            i++;
        }
        buf[i] = '\0'; /* a '/' or the path's own end */
        seg[n] = buf + start;
        len[n] = i - start;
        n++;
        i++;
    }
    return n;
}

/* A route's pattern split once into its segments (a "*" segment matches
 * any one segment): matching a request is then a comparison of segment
 * counts and lengths before any bytes (issue 16: splitting every pattern
 * of every table again for each request cost more than the rest of
 * routing a small request). */
typedef struct {
    int n;           /* segments; -1: more than MAX_SEGMENTS (never matches) */
    const char *seg[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
} route_pat;

static route_pat *g_route_pats[N_ROUTE_TABLES];
static pthread_once_t g_route_pats_once = PTHREAD_ONCE_INIT;

static void route_pat_compile(const char *pattern, route_pat *rp)
{
    const char *p = pattern;
    rp->n = 0;
    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, "/");
        if (rp->n == MAX_SEGMENTS) {
            rp->n = -1;
            return;
        }
        rp->seg[rp->n] = p;
        rp->len[rp->n] = len;
        rp->n++;
        p += len;
        while (*p == '/') {
            p++;
        }
    }
}

/* The routes of each segment count, in matching order (table by table,
 * each table's order): a request looks only at those of its own count,
 * and of those only at the ones whose last segment, and third one (the
 * resource after "/api/v1"), is a parameter or has the key of the
 * request's (issue 16: each route of the count was compared, 0.9 k
 * instructions of every request, and a route ending in a parameter is
 * common). */
typedef struct {
    unsigned short t, i;
    uint32_t last;  /* seg_key() of the last segment; ROUTE_ANY_LAST for "*" */
    uint32_t third; /* of the third segment; ROUTE_ANY_LAST for "*" or none */
} route_ref;

#define ROUTE_ANY_LAST 0u

/* A key of segment "s" ("len" bytes): FNV-1a, never ROUTE_ANY_LAST. Equal
 * segments have equal keys. */
static uint32_t seg_key(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < len; k++) {
        h = (h ^ (unsigned char)s[k]) * 16777619u;
    }
    return h | 1u;
}

static route_ref *g_routes_by_n[MAX_SEGMENTS + 1];
static size_t g_routes_by_n_len[MAX_SEGMENTS + 1];
static bool g_routes_by_n_ok;

/* Compiled once; a table that cannot be had (out of memory at start) is
 * matched from its patterns' text by pattern_matches() instead, and then
 * every route is looked at as before. */
static void route_pats_compile(void)
{
    bool ok = true;
    for (size_t t = 0; t < N_ROUTE_TABLES; t++) {
        size_t n = 0;
        while (route_tables[t][n].method != NULL) {
            n++;
        }
        g_route_pats[t] = calloc(n ? n : 1, sizeof *g_route_pats[t]);
        ok = ok && g_route_pats[t] != NULL && n <= USHRT_MAX;
        for (size_t i = 0; g_route_pats[t] != NULL && i < n; i++) {
            route_pat_compile(route_tables[t][i].pattern, &g_route_pats[t][i]);
        }
    }
    for (int k = 0; ok && k <= MAX_SEGMENTS; k++) {
        size_t len = 0;
        for (size_t t = 0; t < N_ROUTE_TABLES; t++) {
            for (size_t i = 0; route_tables[t][i].method != NULL; i++) {
                len += g_route_pats[t][i].n == k;
            }
        }
        if ((g_routes_by_n[k] = calloc(len ? len : 1, sizeof *g_routes_by_n[k])) == NULL) {
            ok = false;
            break;
        }
        for (size_t t = 0; t < N_ROUTE_TABLES; t++) {
            for (size_t i = 0; route_tables[t][i].method != NULL; i++) {
                const route_pat *rp = &g_route_pats[t][i];
                if (rp->n == k) {
                    route_ref *ref = &g_routes_by_n[k][g_routes_by_n_len[k]++];
                    ref->t = (unsigned short)t;
                    ref->i = (unsigned short)i;
                    ref->last = k == 0 || (rp->len[k - 1] == 1 && rp->seg[k - 1][0] == '*')
                                    ? ROUTE_ANY_LAST
                                    : seg_key(rp->seg[k - 1], rp->len[k - 1]);
                    ref->third = k < 3 || (rp->len[2] == 1 && rp->seg[2][0] == '*')
                                     ? ROUTE_ANY_LAST
                                     : seg_key(rp->seg[2], rp->len[2]);
                }
            }
        }
    }
    g_routes_by_n_ok = ok;
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

/* pattern_matches() of route "r" (number "i" of table "t") on a compiled
 * pattern: the same answer and the same parameters. */
static bool route_matches(size_t t, size_t i, const http_route *r, char **seg,
                          const size_t *len, int n_seg, http_req *req)
{
    const route_pat *rp;
    int n_params = 0;
    if (g_route_pats[t] == NULL) {
        return pattern_matches(r->pattern, seg, n_seg, req);
    }
    rp = &g_route_pats[t][i];
    if (rp->n != n_seg) {
        return false;
    }
    /* The literal segments from the last one back (the first ones, "api"
     * and "v1", are every route's), then the parameters in order. */
    for (int k = n_seg - 1; k >= 0; k--) {
        if (!(rp->len[k] == 1 && rp->seg[k][0] == '*') &&
            (len[k] != rp->len[k] || memcmp(seg[k], rp->seg[k], len[k]) != 0)) {
            return false;
        }
    }
    for (int k = 0; k < n_seg; k++) {
        if (rp->len[k] == 1 && rp->seg[k][0] == '*') {
            if (n_params < HTTP_MAX_PARAMS && req != NULL) {
                req->params[n_params] = seg[k];
            }
            n_params++;
        }
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

/* Route "i" of table "t" for the request: the route when it is enabled
 * and its pattern and method match (its parameters and metrics label
 * set); NULL otherwise, with its method added to "allow" when only the
 * method differs. */
static const http_route *route_try(http_req *req, size_t t, size_t i, char **seg,
                                   const size_t *len, int n_seg, char *allow, size_t allow_cap)
{
    const http_route *r = &route_tables[t][i];
    if (!route_enabled(req->srv, r) || !route_matches(t, i, r, seg, len, n_seg, NULL)) {
        return NULL;
    }
    if (strcmp(r->method, req->ri->request_method) == 0) {
        tl_req.route = http_metrics_route(t, i);
        route_matches(t, i, r, seg, len, n_seg, req);
        return r;
    }
    if (strstr(allow, r->method) == NULL && strlen(allow) + strlen(r->method) + 3 < allow_cap) {
        if (allow[0] != '\0') {
            strcat(allow, ", ");
        }
        strcat(allow, r->method);
    }
    return NULL;
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
                                          http_header(req, "Origin"));
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
           http_header(req, "Origin") != NULL &&
           http_header(req, "Access-Control-Request-Method") != NULL;
}

static int cors_preflight(http_req *req)
{
    char reply[NET_ORIGIN_CHARS + 700];
    int n;
    req->must_close = http_has_body(req);
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
                 http_closing(req) ? "Connection: close\r\n" : "");
    if (n > 0 && (size_t)n < sizeof reply) {
        http_write(req->conn, reply, (size_t)n);
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
    req->must_close = http_has_body(req);
    http_reply_json_headers(req, 503, http_error_object("maintenance", msg, NULL), extra);
    return true;
}

static int api_handler(struct mg_connection *conn, void *cbdata)
{
    srv *s = cbdata;
    http_req req;
    char buf[MAX_PATH], *seg[MAX_SEGMENTS], allow[128] = "";
    size_t seg_len[MAX_SEGMENTS];
    const http_route *found = NULL;
    int n_seg, status;

    memset(&req, 0, sizeof req);
    req.conn = conn;
    req.ri = mg_get_request_info(conn);
    req.srv = s;
    tl_req.route = HTTP_METRICS_UNMATCHED;
    copy_text(req.client_ip, sizeof req.client_ip,
              tl_req.client_ip[0] != '\0' ? tl_req.client_ip : req.ri->remote_addr);
    req.forwarded_https = tl_req.forwarded_https;
    cors_prepare(&req);
    if (is_preflight(&req)) {
        status = cors_preflight(&req);
        goto out;
    }

    pthread_once(&g_route_pats_once, route_pats_compile);
    n_seg = split_path(req.ri->local_uri ? req.ri->local_uri : "", buf, sizeof buf, seg, seg_len);
    if (n_seg < 0) {
        req.must_close = http_has_body(&req);
        status = http_reply_error(&req, 404, "not_found", "no such route", NULL);
        goto out;
    }
    if (g_routes_by_n_ok) {
        uint32_t last = n_seg > 0 ? seg_key(seg[n_seg - 1], seg_len[n_seg - 1]) : ROUTE_ANY_LAST;
        uint32_t third = n_seg >= 3 ? seg_key(seg[2], seg_len[2]) : ROUTE_ANY_LAST;
        for (size_t k = 0; k < g_routes_by_n_len[n_seg] && found == NULL; k++) {
            const route_ref *ref = &g_routes_by_n[n_seg][k];
            if ((ref->last == ROUTE_ANY_LAST || ref->last == last) &&
                (ref->third == ROUTE_ANY_LAST || ref->third == third)) {
                found = route_try(&req, ref->t, ref->i, seg, seg_len, n_seg, allow, sizeof allow);
            }
        }
    } else {
        for (size_t t = 0; t < N_ROUTE_TABLES && !found; t++) {
            for (size_t i = 0; route_tables[t][i].method != NULL && !found; i++) {
                found = route_try(&req, t, i, seg, seg_len, n_seg, allow, sizeof allow);
            }
        }
    }
    if (found == NULL && allow[0] != '\0') {
        char extra[160];
        snprintf(extra, sizeof extra, "Allow: %s\r\n", allow);
        req.must_close = http_has_body(&req);
        status = http_reply_json_headers(
            &req, 405,
            http_error_object("method_not_allowed", "this route does not take this method", NULL),
            extra);
        goto out;
    }
    if (found == NULL) {
        req.must_close = http_has_body(&req);
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
        req.must_close = http_has_body(&req);
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
        if (http_take_json_body(&req) != 0) {
            status = req.status;
            goto out;
        }
    } else if (found->body == BODY_RAW) {
        int rc = http_read_body(&req, s->cfg.max_raw_body, (char **)&req.raw, &req.raw_len);
        if (rc != BODY_READ_OK) {
            status = http_reply_body_refused(&req, rc, s->cfg.max_raw_body);
            goto out;
        }
    } else if (found->body == BODY_STREAM) {
        /* the handler reads it, a bounded chunk at a time */
    } else if (http_has_body(&req)) {
        int rc = http_discard_body(&req, s->cfg.max_body);
        if (rc != BODY_READ_OK) {
            status = http_reply_body_refused(&req, rc, s->cfg.max_body);
            goto out;
        }
    }
    /* Every API request that may write moves the epoch of remembered
     * replies (http_state_moves(): its account's, or every account's for a
     * public one), so that they never outlive a change made through the
     * API. The apps' high-rate ingestion writes acquired data only, never
     * users or accounts. */
    req.may_write = strcmp(found->method, "GET") != 0 && strcmp(found->method, "HEAD") != 0 &&
                    strncmp(found->pattern, INGEST_PREFIX, sizeof INGEST_PREFIX - 1) != 0;
    http_actor_init(&req);
    status = found->fn(&req);
    http_state_moves(&req);
    if (!req.replied) {
        log_error("http: %s %s returned without a reply", found->method, found->pattern);
        status = http_reply_error(&req, 500, "internal_error", "internal error", NULL);
    }
out:
    tl_req.account_id = req.account_id;
    tl_req.user_id = req.user_id;
    cJSON_Delete(req.body);
    free(req.raw);
    http_budget_release(&req);
    http_deadline_end(&req); /* before CivetWeb may close the socket (http_deadline.c) */
    if (req.must_close) { /* a body left unread: CivetWeb would read it on */
        http_conns_reply_closes();
    }
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

/* CivetWeb 1.15 checks its stop flag only every 2 s while it waits in
 * poll(): in the listener and in every worker holding an idle keep-alive
 * connection (or a slow client's half-sent request). To stop at once, a
 * helper thread interrupts those poll() calls: it sends WAKE_SIGNAL (an
 * empty handler) to each of CivetWeb's threads, every 20 ms until mg_stop()
 * returns (a thread may enter poll() just after a signal). CivetWeb then
 * sees its stop flag and closes the connection itself.
 *
 * Each thread puts itself in g_wake.list in cb_init_thread() and takes
 * itself out in cb_exit_thread(), both under g_wake.mu, and the helper
 * signals under the same lock: it only ever signals a thread that is still
 * running. (It used to shut down the server's client sockets found in
 * /proc/self/fd by their local port: a worker could close a socket between
 * that check and the shutdown(2), and the number be reused at once by
 * another thread's socket, a PostgreSQL connection or a webhook's, which was
 * then cut. ThreadSanitizer reported it; docs/server-code.md.)
 *
 * SIGURG: ignored by default, so a stray one can never end the process,
 * and nothing here uses TCP urgent data. SA_RESTART: a thread still busy
 * with a request (the drain timed out) gets its read(2)s and write(2)s
 * restarted; poll(2) is never restarted, which is the point. */
#define WAKE_SIGNAL SIGURG

typedef struct wake_thread {
    pthread_t id;
    struct wake_thread *next;
} wake_thread;

static struct {
    pthread_mutex_t mu;
    wake_thread *list; /* CivetWeb's running threads, under mu */
} g_wake = {PTHREAD_MUTEX_INITIALIZER, NULL};
static _Thread_local wake_thread tl_wake;
static atomic_bool g_stopped;

static void on_wake_signal(int sig)
{
    (void)sig; /* only here to make poll(2) return EINTR */
}

static void wake_join(void)
{
    tl_wake.id = pthread_self();
    pthread_mutex_lock(&g_wake.mu);
    tl_wake.next = g_wake.list;
    g_wake.list = &tl_wake;
    pthread_mutex_unlock(&g_wake.mu);
}

static void wake_leave(void)
{
    pthread_mutex_lock(&g_wake.mu);
    for (wake_thread **p = &g_wake.list; *p != NULL; p = &(*p)->next) {
        if (*p == &tl_wake) {
            *p = tl_wake.next;
            break;
        }
    }
    pthread_mutex_unlock(&g_wake.mu);
}

static void *waker(void *arg)
{
    struct timespec tick = {0, 20 * 1000000L};
    (void)arg;
    for (int i = 0; i < 100 && !atomic_load(&g_stopped); i++) {
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&g_wake.mu);
        for (const wake_thread *t = g_wake.list; t != NULL; t = t->next) {
            (void)pthread_kill(t->id, WAKE_SIGNAL);
        }
        pthread_mutex_unlock(&g_wake.mu);
    }
    return NULL;
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
    wake_join();
    return NULL;
}

/* The JSON code of CivetWeb's own refusal of status "status". */
static const char *error_code_of(int status)
{
    switch (status) {
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_too_slow";
    case 411: return "length_required";
    case 413: return "request_too_large";
    case 431: return "headers_too_large";
    case 414: return "path_too_long";
    case 416: return "range_not_satisfiable";
    case 417: return "expectation_failed";
    case 501: return "not_implemented";
    case 505: return "http_version_not_supported";
    default: return status < 500 ? "bad_request" : "internal_error";
    }
}

/* CivetWeb's own refusals (a request it cannot read: an unknown method, a
 * header block over its limit, a bad Content-Length or chunk size; a
 * static file it cannot send) go out as JSON with a sentence, like every
 * other reply, instead of its plain-text "Error 400: Bad Request" page.
 * The connection closes after it: what follows on it cannot be trusted. */
static int cb_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    const char *msg;
    (void)errmsg; /* CivetWeb's own text may quote the request */
    switch (status) {
    case 400: msg = "the request could not be read: its request line, headers or body framing "
                    "are not valid HTTP/1.1 (or its method is not one the server knows)";
              break;
    case 404: msg = "no such file"; break;
    case 405: msg = "this path does not take this method"; break;
    case 408: msg = "the request did not arrive in time"; break;
    case 411: msg = "the request needs a Content-Length or a chunked body"; break;
    case 413: msg = "the request's headers or body are larger than the server accepts"; break;
    case 414: msg = "the request's path is longer than the server accepts"; break;
    case 416: msg = "the requested range is outside the file"; break;
    case 417: msg = "the server does not take this Expect header"; break;
    case 431: msg = "the request's headers are larger than the server accepts"; break;
    case 501: msg = "the server does not implement this method or transfer encoding"; break;
    case 505: msg = "the server speaks HTTP/1.0 and HTTP/1.1 only"; break;
    default:
        if (status < 400 || status > 599) {
            return 1; /* not an error page: CivetWeb's own */
        }
        msg = status < 500 ? "the request was refused" : "the server could not handle this request";
        break;
    }
    /* Each code says what its status says, as the API's own replies do
     * (docs/server.md, the error codes); a request CivetWeb could not read
     * at all is bad_request. */
    static_refusal(conn, status, error_code_of(status), msg, "");
    return 0;
}

static void cb_exit_thread(const struct mg_context *ctx, int thread_type, void *thread_pointer)
{
    (void)ctx;
    (void)thread_type;
    (void)thread_pointer;
    wake_leave();
}

void http_address_init(srv *s)
{
    const char *colon = strrchr(s->cfg.listen, ':');
    size_t len = colon ? (size_t)(colon - s->cfg.listen) : 0;
    s->tls = s->cfg.tls_cert != NULL;
    if (colon == NULL || len >= sizeof s->host) {
        snprintf(s->host, sizeof s->host, "0.0.0.0");
    } else {
        memcpy(s->host, s->cfg.listen, len);
        s->host[len] = '\0';
    }
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

    http_libc_init();
    {
        const char *every = getenv("METRON_ROUTE_CPU");
        long v = every != NULL ? strtol(every, NULL, 10) : 0;
        g_route_cpu_every = v > 0 && v <= 1000000 ? (int)v : 0;
    }
    if (http_metrics_init(route_tables, N_ROUTE_TABLES) != 0 || http_conns_init(s) != 0 ||
        http_deadline_init() != 0) {
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
    /* Paths are read as sent: CivetWeb would decode them into C strings,
     * so "/api/v1/apps/1%00x" would reach the routes as "/api/v1/apps/1"
     * (another route than the one sent, which a proxy's rule on the path
     * would not see). No route or portal file name needs an escape;
     * path_has_nul() answers a "%00" with a sentence. */
    opts[n++] = "decode_url";
    opts[n++] = "no";
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
    cb.exit_thread = cb_exit_thread;
    cb.begin_request = cb_begin_request;
    cb.end_request = cb_end_request;
    cb.connection_close = cb_connection_close;
    cb.log_message = cb_log_message;
    cb.http_error = cb_http_error;
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
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_wake_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        (void)sigaction(WAKE_SIGNAL, &sa, NULL);
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
        atomic_store(&s->port, ports[0].port); /* read by threads already running */
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

bool http_draining(void)
{
    return atomic_load(&g_draining);
}

void http_stop(srv *s)
{
    if (s->mg != NULL) {
        atomic_store(&g_draining, true); /* long-lived streams end (http_draining()) */
        pthread_t t;
        bool wake;
        atomic_store(&g_stopped, false);
        wake = pthread_create(&t, NULL, waker, NULL) == 0;
        mg_stop(s->mg);
        atomic_store(&g_stopped, true);
        if (wake) {
            pthread_join(t, NULL);
        }
        s->mg = NULL;
        mg_exit_library();
    }
}
