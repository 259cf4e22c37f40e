/* What http.c, http_reply.c and http_body.c share: the request pipeline's
 * own functions, not for route handlers (they use http.h). */
#ifndef MTS_HTTP_INTERNAL_H
#define MTS_HTTP_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* ---- http_reply.c */

/* The reason phrase of "status" ("Not Found"); "Status" for one not listed. */
const char *http_reason(int status);

/* Whether the connection closes after this reply: the client asked for it,
 * HTTP/1.0 without keep-alive, or the body was left unread. */
bool http_closing(const http_req *req);

/* A request that may write moves the epoch of remembered replies (auth.h)
 * before its reply leaves: its account's, or every account's for a public
 * one. */
void http_state_moves(const http_req *req);

/* {"code", "message", "field"?} (caller owns it), or NULL without memory. */
cJSON *http_error_object(const char *code, const char *message, const char *field);

/* ---- http_conns.c: connections per client address (accept() and
 * close() of this executable count them; past the cap a connection is
 * answered 503 and closed as it is accepted) */

/* Set the cap from s->cfg (--threads, --conns-per-address) and start
 * counting: 0, or -1 without memory. Before CivetWeb starts. */
int http_conns_init(const srv *s);

/* The open accepted socket whose peer is remote_addr:remote_port and
 * whose local port is server_port, or -1 when none or more than one is
 * (the body deadline, http_deadline.c). */
int http_conns_fd_of(const char *remote_addr, int remote_port, int server_port);

/* Idle connections (http_conns.c's header: "Idle connections are shed").
 * begin_request, with the connection's peer address and port and local
 * port: its request is in progress (never shed until it ends); false when
 * the watchdog shed the connection just before: do not run it. */
bool http_conns_request_begins(const char *remote_addr, int remote_port, int server_port);
/* The reply of this worker's request was written and closes its
 * connection: closing from now (what CivetWeb still reads after it, such
 * as an unread body, is cut after a grace). */
void http_conns_reply_closes(void);
/* end_request, with CLOCK_MONOTONIC now in ms: idle from then (unless
 * closing). */
void http_conns_request_ended(long long now_ms);
/* connection_close: CivetWeb is closing it (cut after a grace). */
void http_conns_closing(void);
/* The watchdog's tick: cut connections closing past their grace, and while
 * more than half of the threads hold a connection, shed the idle ones past
 * theirs, oldest first. */
void http_conns_shed(void);
/* Since the start: idle connections shed, closes cut, and connections cut
 * at their write deadline (a reply their client stopped reading). */
void http_conns_shed_counts(long long *idle, long long *closing, long long *write_cut);
/* The write deadline's floor in ms (the watchdog ticks at least twice in
 * it). */
long long http_conns_write_floor_ms(void);

/* ---- http_deadline.c: a request body's deadline (a watchdog thread
 * shuts down the read side of the socket of a body that passed it, and the
 * whole socket if its 408 does not leave within a grace) */

/* Start the watchdog (once): 0, or -1 when it cannot run. */
int http_deadline_init(void);
/* Register the request's socket and its body's deadline: before its first
 * body read (once; a request whose socket is not found is not watched). */
void http_deadline_begin(http_req *req);
/* A body without a declared length: "received" bytes so far extend it. */
void http_deadline_progress(http_req *req, long long received);
/* Whether the watchdog cut the request's body (its socket's read side is
 * shut): check after every read, also one that returned bytes. No lock. */
bool http_deadline_passed(const http_req *req);
/* The body was read whole: its deadline no longer applies (a long handler
 * after it is never cut). No lock. */
void http_deadline_done(http_req *req);
/* Unregister: before the request returns to CivetWeb. */
void http_deadline_end(http_req *req);
/* Since the start: bodies cut at their deadline, and bodies read without
 * one (their socket could not be told apart). */
void http_deadline_counts(long long *cut, long long *unwatched);

/* The cap in force, and the connections refused since the start. */
int http_conns_cap(void);
long long http_conns_refused(void);

/* ---- http_body.c */

enum { BODY_READ_OK = 0, BODY_READ_TOO_LARGE = 1, BODY_READ_BUSY = 2, BODY_READ_TIMEOUT = 3,
       BODY_READ_SHORT = 4, BODY_READ_ERROR = -1 };

/* Bodies refused since the start because they ended before their
 * Content-Length (BODY_READ_SHORT, and http_body_read()'s). */
long long http_bodies_short(void);

/* Whether the request carries a body (a length or chunked encoding). */
bool http_has_body(const http_req *req);

/* Read the whole body, at most "limit" bytes, charged to the body budget
 * until the request ends: BODY_READ_OK with *out (caller frees;
 * NUL-terminated) and *len, BODY_READ_TOO_LARGE, BODY_READ_BUSY (no room in
 * the budget), BODY_READ_TIMEOUT (its deadline passed), BODY_READ_SHORT (it
 * ended before its Content-Length; req->body_got says where) or
 * BODY_READ_ERROR. */
int http_read_body(http_req *req, size_t limit, char **out, size_t *len);

/* Read and drop a body the route does not take, at most "limit" bytes:
 * BODY_READ_OK, BODY_READ_TOO_LARGE, BODY_READ_TIMEOUT, BODY_READ_SHORT or
 * BODY_READ_ERROR. */
int http_discard_body(http_req *req, size_t limit);

/* Reply to a body that could not be taken (http_read_body()'s "rc"). */
int http_reply_body_refused(http_req *req, int rc, size_t limit);

/* Close the connection after a reply that says the request could not be
 * read (docs/server.md "Connections"): 400 malformed_json (a body that is
 * not JSON at all), body_incomplete and bad_body. The bytes after such a
 * body cannot be trusted to start the next request (a Content-Length under
 * what was sent leaves the rest to be read as one), and a client sending
 * garbage does not keep its worker for the keep-alive wait. A well-formed
 * body refused for what it holds (wrong_type, missing, invalid_value...)
 * keeps its connection. Call before the reply is written. */
void http_close_if_unreadable(http_req *req, int status, const char *code);

/* Fill req->body for a JSON route; replies and returns -1 on any problem. */
int http_take_json_body(http_req *req);

/* Give back the body budget "req" holds (at the end of every request). */
void http_budget_release(http_req *req);

#endif
