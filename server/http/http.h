/* HTTP: CivetWeb set-up, the /api route table, JSON replies, errors, request
 * bodies and the access log.
 *
 * Routes are static tables, one per http_<area>.c file, listed in http.c:
 *
 *     const http_route http_routes_health[] = {
 *         {"GET", "/api/v1/health", h_health, AUTH_PUBLIC, BODY_NONE, false},
 *         {NULL}};
 *
 * A "*" segment of a pattern matches one non-empty path segment; the matched
 * segments are in req->params[] in order. An unknown path answers 404, a
 * known path with another method 405 with Allow; a JSON route answers 415
 * to another content type, 413 to a body over --max-body and 400 to
 * malformed JSON or to anything but an object. Every reply is one JSON
 * object written with one mg_write() call (headers and body together).
 *
 * A handler validates its input, does its work through svc_* (never db_*:
 * the HTTP layer includes no db/ header), and ends with exactly one
 * http_reply_*() call whose value it returns. A handler
 * that returns without replying gets a 500 internal_error. */
#ifndef MTS_HTTP_H
#define MTS_HTTP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "netaddr.h"
#include "reply_head.h"
#include "srv.h"
#include "svc.h"
#include "svc_files.h"

struct mg_connection;
struct mg_request_info;

#define HTTP_MAX_PARAMS 4

/* mg_write() whose bytes count in the request's access line ("bytes"):
 * every reply byte the server writes goes through it (http.c). */
int http_write(struct mg_connection *conn, const void *buf, size_t len);

typedef enum {
    AUTH_PUBLIC = 0, /* anyone */
    AUTH_USER,       /* a signed-in user (session or API token) */
    AUTH_ADMIN,      /* an account administrator */
    AUTH_APP,        /* a gateway app: its credential (Authorization: Bearer mta_...) */
    AUTH_OPS,        /* the service's operator: Authorization: Bearer METRON_OPS_TOKEN */
    AUTH_METRICS     /* a metrics scraper: Authorization: Bearer METRON_METRICS_TOKEN */
} http_auth;

typedef enum {
    BODY_NONE = 0, /* any body is read and ignored (within --max-body) */
    BODY_JSON,     /* a JSON object: req->body */
    BODY_RAW,      /* any bytes, read whole (at most --max-raw-body): req->raw, req->raw_len */
    BODY_STREAM    /* left unread: the handler reads it with http_body_read() */
} http_body;

typedef struct {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    srv *srv;
    const char *params[HTTP_MAX_PARAMS]; /* "*" segments, URL-decoded */
    int n_params;
    cJSON *body;         /* BODY_JSON routes: the parsed object (owned by http.c) */
    unsigned char *raw;  /* BODY_RAW routes: the body (owned by http.c; NUL after the end) */
    size_t raw_len;
    long long account_id; /* the signed-in account (set by auth before the handler runs);
                           * 0 = none. Every tenant query filters on it. */
    long long user_id;    /* the signed-in user; 0 = none (e.g. an app credential) */
    long long app_id;     /* AUTH_APP: the app the credential names (0 = none), with its
                           * measurement group and the version of its channel table
                           * when http_auth_app() looked it up, so that the handler
                           * need not look it up again */
    long long app_group_id;
    long long app_channels_version;
    int role;             /* the user's role (auth.h ROLE_*); 0 = none */
    int plan;             /* the account's effective plan (mt_plan of core's plan.h) */
    bool via_token;       /* authenticated by an API bearer token: no CSRF check */
    long long session_id; /* the session (or, via_token, the API token) row; 0 = none */
    int file_access;      /* a member's file rights (auth.h FILE_ACCESS_*) */
    svc_actor actor;      /* who acts, for the services: built from the fields above once
                           * they are known (http_actor_init(), http_svc.h) */
    int status;          /* set by http_reply_*() */
    bool replied;
    bool must_close;     /* the request body was not read: close after replying */
    bool continued;      /* "100 Continue" was considered (http_body.c): once */
    int deadline_slot;   /* the body's deadline entry + 1 (http_deadline.c); 0 = none
                          * yet, -1 = not watched */
    long long body_got;  /* body bytes read so far (http_body.c) */
    bool may_write;      /* a route that may change state: the state epoch (auth.h)
                          * moves before its reply and after its handler */
    size_t body_held;    /* bytes of the server-wide body budget this request holds
                          * (http.c; given back when the request ends) */
    const char *content_type; /* of the reply: NULL = JSON (http_reply_text() sets it) */
    char client_ip[NET_ADDR_CHARS]; /* the client: the connection's peer, or behind a
                                     * trusted proxy the address it forwards (netaddr.h) */
    bool forwarded_https; /* a trusted proxy says the client spoke HTTPS to it */
    char cors[NET_ORIGIN_CHARS + 160]; /* the CORS header lines of every reply: the
                                        * request's Origin is on --cors-origins ("" else) */
} http_req;

typedef int (*http_handler)(http_req *req);

typedef struct {
    const char *method;
    const char *pattern;
    http_handler fn;
    http_auth auth;
    http_body body;
    bool test_only; /* only with METRON_TEST_ROUTES=1 */
} http_route;

/* Set s->tls and s->host from s->cfg (--tls-cert, --listen). Call before
 * any thread starts: every thread then reads them without a lock (the
 * public URL of links in mails and reports). */
void http_address_init(srv *s);

/* Start CivetWeb for "s" (listen address, threads, TLS, portal folder from
 * s->cfg; http_address_init() done) and set s->mg and s->port (atomic: the
 * threads started before read it; 0 until then). Returns 0, or -1 with
 * "err" filled. */
int http_start(srv *s, char *err, size_t err_cap);

/* Begin a graceful shutdown: new requests get 503 shutting_down (and the
 * connection is closed); wait up to "timeout_ms" for the requests in flight
 * to finish. Returns how many are still running (0 = all done). */
int http_drain(int timeout_ms);

/* Whether the server drains or stops: long-lived replies (the console's
 * event streams) end when it does. Thread-safe. */
bool http_draining(void);

/* Stop CivetWeb: close the listening sockets and every connection, join the
 * workers. Call http_drain() first: mg_stop() cuts replies still being
 * written. */
void http_stop(srv *s);

/* The client's address (req->client_ip): what the IP allow-list, the
 * throttles, the audit log and the access log see. */
const char *http_client_ip(const http_req *req);

/* Whether the client reached us over HTTPS: our own TLS, or a trusted
 * proxy's (X-Forwarded-Proto: https). Cookies get "Secure" then. */
bool http_secure(const http_req *req);

/* Reply "status" with the JSON object "obj" (takes ownership; NULL gives a
 * 500). Returns "status". */
int http_reply_json(http_req *req, int status, cJSON *obj);

/* Reply "status" with JSON text already built ("len" bytes, borrowed), for
 * large answers that are cheaper to write directly than through cJSON. */
int http_reply_json_text(http_req *req, int status, const char *text, size_t len);

/* As http_reply_json_text(), with "room" bytes before "text" in the
 * caller's buffer that may be overwritten: the headers go there when they
 * fit, so that the reply leaves in one write without a copy of the body
 * (otherwise it is sent as http_reply_json_text() sends it). */
int http_reply_json_room(http_req *req, int status, char *text, size_t room, size_t len);

/* As http_reply_json_text(), for a remembered reply "text" shared by the
 * requests that send it, with room before it described by "head"
 * (reply_head.h): the first request writes its headers there, once, and
 * every request whose headers are those bytes sends them and the text in
 * one write, copying nothing; another copies the text behind its own
 * headers (one write). */
int http_reply_json_kept(http_req *req, int status, const char *text, size_t len,
                         reply_head *head);

/* What a Range header asks of a representation of "size" bytes. */
typedef enum {
    HTTP_RANGE_WHOLE,        /* no Range, or one to ignore: send it all (200) */
    HTTP_RANGE_PART,         /* bytes *first..*last, both inclusive (206) */
    HTTP_RANGE_UNSATISFIABLE /* 416 */
} http_range;

/* Parse the value of a Range header (NULL: none) against "size": a single
 * "bytes=first-last", "bytes=first-" or "bytes=-suffix" (RFC 9110 14.1.2;
 * the unit case-insensitive, blanks around the value allowed). A last past
 * the end is cut to size - 1; a suffix longer than the file is the whole
 * file. A first at or past the end, or a suffix of 0, cannot be satisfied.
 * Anything else (another unit, several ranges, first > last, not digits,
 * over 18 digits) is ignored: HTTP_RANGE_WHOLE. */
http_range http_parse_range(const char *value, long long size, long long *first, long long *last);

/* Reply 200 with the bytes of blob "f" (svc_file_read()) streamed from the
 * store one chunk at a time (never whole in memory), each chunk read on a
 * pooled connection taken for that read alone: "content_type", a
 * Content-Disposition that offers it as a download named "download_name"
 * (any length or bytes: hdr_disposition() encodes it, and the headers are
 * sized from their content), no-store, nosniff, a sandboxing CSP,
 * Referrer-Policy no-referrer, Accept-Ranges: bytes, and an ETag (the blob's id and size: a blob never
 * changes) and Last-Modified (when it was stored). A
 * request with one byte range (Range: bytes=a-b, a- or -n; see
 * http_parse_range()) gets 206 with that part and Content-Range, so an
 * interrupted download resumes; one that cannot be satisfied gets 416
 * range_not_satisfiable with a Content-Range that gives the size; several ranges,
 * a malformed Range or an If-Range that is not this ETag or Last-Modified
 * get the whole file (RFC 9110 lets a server ignore Range). A store that
 * fails before the first byte answers 503 db_unavailable / db_busy, or 404
 * not_found when the blob was deleted meanwhile; after it, the reply stops
 * short (the client resumes with Range). Returns the status. */
int http_reply_blob(http_req *req, const db_file *f, const char *content_type,
                    const char *download_name);

/* Reply "status" with "len" bytes of "text" (borrowed) as "content_type"
 * (static), headers as for JSON replies: for the few routes whose answer is
 * not JSON (GET /metrics). Returns "status". */
int http_reply_text(http_req *req, int status, const char *content_type, const char *text,
                    size_t len);

/* http_reply_json() with "extra_headers" (each line ending in "\r\n", e.g.
 * "Set-Cookie: ...\r\n"; may be NULL) added to the reply. */
int http_reply_json_headers(http_req *req, int status, cJSON *obj, const char *extra_headers);

/* Reply "status" with {"code", "message", "field"?} ("field" may be NULL).
 * Returns "status". */
int http_reply_error(http_req *req, int status, const char *code, const char *message,
                     const char *field);

/* Read string member "name" of "obj" into *out (borrowed from obj): absent
 * -> 0 with *out NULL unless "required" (then 400 missing); not a string ->
 * 400 wrong_type; longer than "max_chars" UTF-8 characters -> 400 too_long.
 * Returns 0, or -1 after replying. */
MT_MUSTCHECK
int http_json_string(http_req *req, const cJSON *obj, const char *name, size_t max_chars,
                     bool required, const char **out);

/* Refuse the members of "obj" whose names are not in "allowed" (NULL-
 * terminated): 400 {"code": "unknown_field", "message": "unknown field
 * 'x'", "field": "x"}. For a nested object give its member name as
 * "within": the reply then names that member in "field" (the message names
 * both). Call it before acting on the body, so that a refused body changes
 * nothing. Returns 0, or -1 after replying. */
MT_MUSTCHECK
int http_json_fields(http_req *req, const cJSON *obj, const char *const *allowed,
                     const char *within);

/* Close the connection after the reply ("Connection: close"), also when
 * the body was read: for a handler that goes on working after it replied,
 * so that no next request on the connection waits behind that work (and
 * learns something from its time). Call before replying. */
void http_close_after_reply(http_req *req);

/* BODY_STREAM routes: read up to "cap" bytes of the body into "buf".
 * Returns the count (0 = end of the body: all its Content-Length, or a
 * chunked body's last chunk) or -1 when the body cannot be had whole: its
 * deadline passed, it ended before its Content-Length, or a read error (the
 * connection is then closed after the reply; answer with
 * http_reply_body_failed()). */
long http_body_read(http_req *req, void *buf, size_t cap);

/* Reply to a body http_body_read() gave up on (it returned -1): 408
 * body_too_slow (its deadline passed), 400 body_incomplete (it ended
 * before its Content-Length) or 400 bad_body. */
int http_reply_body_failed(http_req *req);

/* Check a client's JSON text before it is parsed (json_guard.h: nesting
 * deeper than JSON_MAX_DEPTH, an escaped NUL in a string). Returns 0 when
 * it may be parsed, or replies 400 malformed_json and returns -1. */
int http_json_guard(http_req *req, const char *text, size_t len);

/* The declared Content-Length, or -1 when none was sent (chunked). */
long long http_content_length(const http_req *req);

/* Whether "len" bytes at "s" are strict UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF), as JSON bodies must be. */
bool http_utf8_valid(const unsigned char *s, size_t len);

/* Request header "name" (case-insensitive), or NULL. */
const char *http_header(const http_req *req, const char *name);

/* Query-string variable "name" URL-decoded into "buf" ("cap" bytes).
 * Returns its length, -1 when absent, -2 when longer than cap - 1. */
int http_query(const http_req *req, const char *name, char *buf, size_t cap);

/* Authenticate "req" for "route" (http_auth.c; called by http.c before the
 * handler of every non-public route, before the body is read): resolve the
 * `Authorization: Bearer` token or the session cookie, fill account_id,
 * user_id, role, plan, file_access, session_id and via_token, refuse 401
 * unauthenticated (none, unknown, expired), 403 forbidden (AUTH_ADMIN route,
 * not an administrator), 403 csrf (cookie-authenticated write without the
 * session's X-CSRF-Token), 403 trial_expired / account_frozen /
 * ip_not_allowed / plan_limit (P20, a token after a downgrade), 503 when
 * the database is away. Returns 0, or -1 after replying. */
MT_MUSTCHECK
int http_auth_resolve(http_req *req, const http_route *route);

/* Authenticate a gateway app's request for an AUTH_APP route
 * (http_ingest.c; called by http.c before the body is read): the
 * credential of `Authorization: Bearer mta_...` must name an enabled app of
 * an active account. Sets req->account_id; refuses 401 unauthenticated,
 * 403 app_disabled / account_inactive, 503 when the database is away.
 * Returns 0, or -1 after replying. */
int http_auth_app(http_req *req);

/* Per-route request counts and latency histograms (http_metrics.c, GET
 * /metrics). http_metrics_init() sizes them for the route tables (call once,
 * before the server starts; 0 or -1 when out of memory); http_metrics_route()
 * is the index of route "offset" of table "table"; http_metrics_observe()
 * records a finished request of route index "route" (-1: not an API route,
 * counted as static files). */
#define HTTP_METRICS_STATIC (-1)    /* a static file of the portal */
#define HTTP_METRICS_UNMATCHED (-2) /* an API path no route takes (404, 405) */
int http_metrics_init(const http_route *const *tables, size_t n_tables);
int http_metrics_route(size_t table, size_t offset);
void http_metrics_observe(int route, int status, double seconds);
/* Add a measured request's CPU to route "route" (http.c's per-route CPU
 * account, METRON_ROUTE_CPU): "read_ns" (-1: not known), "handler_ns" and
 * "log_ns" of its thread's CPU clock, and its thread's voluntary and
 * involuntary context switches. */
void http_metrics_cpu(int route, long long read_ns, long long handler_ns, long long log_ns,
                      long vcsw, long ivcsw);

/* Requests being handled now (metron_http_requests_in_flight). */
int http_inflight(void);

/* Bytes of request bodies charged to the --body-memory budget now
 * (metron_http_body_bytes_held): 0 once every body read has been given
 * back (http_body.c). */
size_t http_body_held(void);

/* Check the operator's or the metrics scraper's token (AUTH_OPS,
 * AUTH_METRICS; http_ops.c) before the body is read: `Authorization: Bearer
 * <METRON_OPS_TOKEN or METRON_METRICS_TOKEN>`; 401 unauthenticated (with
 * WWW-Authenticate) for a missing or wrong one, and when that token is not
 * configured (the function is off: the message says so). Returns 0, or -1
 * after replying. */
int http_auth_operator(http_req *req, http_auth kind);

/* The route tables (one per http_<area>.c); http.c lists them in
 * route_tables[]. */
extern const http_route http_routes_health[];
extern const http_route http_routes_auth[];  /* http_auth.c: /auth, /me password, two-step */
extern const http_route http_routes_auth_sessions[]; /* http_auth_sessions.c: /me sessions, tokens, /account/ip-... */
extern const http_route http_routes_audit[]; /* http_audit.c: /audit */
extern const http_route http_routes_admin_apps[]; /* http_admin_apps.c: /apps, /devices, ... */
extern const http_route http_routes_recipients[]; /* http_recipients.c: /notification-recipients */
extern const http_route http_routes_inquiries[];  /* http_inquiries.c: /inquiries */
extern const http_route http_routes_logo[];       /* http_logo.c: /account/logo */
extern const http_route http_routes_notifications[]; /* http_notifications.c: /notifications */
extern const http_route http_routes_admin_account[]; /* http_admin_account.c: /account, /plans, /trial */
extern const http_route http_routes_admin_users[]; /* http_admin_users.c: /users, /teams, /groups, /me */
extern const http_route http_routes_ingest[]; /* http_ingest.c: /ingest (app credential) */
extern const http_route http_routes_data[];   /* http_data.c: latest, ranges, history */
extern const http_route http_routes_computed[]; /* http_computed.c: computed channels */
extern const http_route http_routes_export[]; /* http_export.c: export jobs, downloads */
extern const http_route http_routes_drive[];  /* http_drive.c: folders and files */
extern const http_route http_routes_notify[]; /* http_notify.c: /destinations, /deliveries */
extern const http_route http_routes_live[];   /* http_live.c: high-speed monitoring (M3) */
extern const http_route http_routes_console[]; /* http_console.c: the console (C1, C2) */
extern const http_route http_routes_gateway[]; /* http_gateway.c: instrument reports, app requests */
extern const http_route http_routes_alarm[];  /* http_alarm.c: alarm settings, events */
extern const http_route http_routes_mqtt[];    /* http_mqtt.c: app certificates (MQTTS) */
extern const http_route http_routes_report[]; /* http_report.c: reports, runs */
extern const http_route http_routes_ops[];    /* http_ops.c: the operator's API (/ops) */
extern const http_route http_routes_metrics[]; /* http_metrics.c: GET /metrics */
extern const http_route http_routes_app_share[]; /* http_app_share.c: K1-K4 (apps and people) */
extern const http_route http_routes_dashboard[]; /* http_dashboard.c: dashboards, pictures */
/* The test-only routes (http/test/http_test_routes.c), in the test build
 * only (an empty table in production). */
extern const http_route http_routes_test[];
/* true in metron-server-test only: test-only settings are read there. */
extern const bool http_test_build;

#endif
