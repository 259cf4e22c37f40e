/* The service contract: what every svc_*.c function returns and whom it acts
 * for. One table of statuses, one error struct, one actor. The HTTP layer
 * turns a failure into a reply in one place (http_reply_svc(), http_svc.h);
 * services never know HTTP status numbers.
 *
 * A fallible service function returns an svc_status and, on failure, fills
 * the caller's svc_error (never a global):
 *
 *     svc_error err;
 *     if (svc_thing_create(&req->actor, name, &id, &err) != SVC_OK)
 *         return http_reply_svc(req, &err);
 *
 * svc_fail() and its siblings fill the struct and return its status, so a
 * service writes "return svc_fail(e, SVC_INVALID, NULL, "name", "...")". */
#ifndef MTS_SVC_H
#define MTS_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "log.h"
#include "mt/plan.h"
#include "srv.h"

/* X(name, default public code, default message). The public code is what
 * the API answers in "code" unless the failure names a more precise one
 * (e.g. SVC_CONFLICT with "name_taken"); the HTTP layer alone decides the
 * status number of each entry (http_svc.c). */
#define SVC_STATUS_TABLE(X)                                                                  \
    X(OK, "ok", "done")                                                                      \
    X(INVALID, "invalid_value", "a value is not allowed")                                    \
    X(UNAUTHENTICATED, "unauthenticated", "sign in first")                                   \
    X(FORBIDDEN, "forbidden", "this user may not do that")                                   \
    X(PLAN_LIMIT, "plan_limit", "the account's plan does not allow it")                      \
    X(NOT_FOUND, "not_found", "no such object in this account")                              \
    X(CONFLICT, "conflict", "the current state does not allow it")                           \
    X(TOO_LARGE, "too_large", "the request is too large")                                    \
    X(UNPROCESSABLE, "unprocessable", "the content cannot be taken as it is")                \
    X(THROTTLED, "throttled", "too many requests: retry later")                              \
    X(NOMEM, "out_of_memory", "the server is out of memory: retry")                          \
    X(UNAVAILABLE, "unavailable", "not available now: retry later")                          \
    X(DB, "internal_error", "the database failed")                                           \
    X(NOT_IMPLEMENTED, "not_implemented", "not implemented")                                 \
    X(INTERNAL, "internal_error", "internal error")

typedef enum {
#define SVC_ENUM_(name, code, msg) SVC_##name,
    SVC_STATUS_TABLE(SVC_ENUM_)
#undef SVC_ENUM_
    SVC_STATUS_COUNT_
} svc_status;

/* The default public code ("invalid_value") and message of "st"; the name
 * of its enum entry ("INVALID"). Static strings; an unknown value gives
 * "internal_error" / "internal error" / "?". */
const char *svc_status_code(svc_status st);
const char *svc_strerror(svc_status st);
const char *svc_status_name(svc_status st);

/* A failure, filled by the service that refused or failed. */
typedef struct {
    svc_status status;
    const char *code;   /* public code (static string); NULL = svc_status_code(status) */
    const char *field;  /* the input at fault (static, or field_buf), or NULL */
    char message[240];  /* one English sentence for the log and for clients */
    /* SVC_PLAN_LIMIT, or a TOO_LARGE refusal of the storage quota: which
     * quota of core's plan table and which plan; "used" the amount in use
     * (-1 = not told). The HTTP layer adds the plan's limit. */
    bool has_quota;
    mt_quota quota;
    mt_plan plan;
    long long used;
    db_status db;        /* SVC_DB: what the database said */
    long long retry_after; /* SVC_THROTTLED, SVC_UNAVAILABLE: seconds to wait (0 = not told) */
    bool has_pos;        /* an error in a text the client sent, at byte "pos" */
    size_t pos;
    const char *extra_key; /* one more string member of the reply (static), or NULL */
    char extra_val[40];
    char field_buf[96];  /* room for a field name built at run time */
} svc_error;

/* Who acts: built once per request from the authenticated request
 * (http.c, after authentication) and handed to every service by pointer.
 * An anonymous request has account_id 0. "ip" is borrowed from the
 * request and may be NULL. */
typedef struct {
    srv *srv;
    long long account_id;
    long long user_id;    /* 0 = none (e.g. an app credential) */
    int role;             /* auth.h ROLE_*; 0 = none */
    bool admin;           /* role == ROLE_ADMIN */
    mt_plan plan;         /* the account's effective plan */
    int file_access;      /* a member's file rights (auth.h FILE_ACCESS_*) */
    bool via_token;       /* authenticated by an API token */
    long long session_id; /* the session row; 0 when via_token */
    long long token_id;   /* the API token row when via_token, else 0 */
    const char *ip;
} svc_actor;

/* The viewer whose grants limit what "a" sees, as the db_* queries take
 * it: 0 for an administrator (sees the whole account), else the user. */
static inline long long svc_viewer(const svc_actor *a)
{
    return a->admin ? 0 : a->user_id;
}

/* Fill "e" with "st", "code" (NULL: the table's) and "field" (may be NULL)
 * and a printf-style message (NULL "fmt": the table's). Returns "st". */
svc_status svc_fail(svc_error *e, svc_status st, const char *code, const char *field,
                    const char *fmt, ...) MT_PRINTF(5, 6);

/* Fill "e" from a failed database call: SVC_DB with "st", or SVC_CONFLICT
 * for a unique violation when "conflict_msg" is not NULL. Returns the
 * status. */
svc_status svc_fail_db(svc_error *e, db_status st, const char *conflict_msg);

/* How the SVC_DB failure "e" reads to a client, by its database status:
 * SVC_UNAVAILABLE "db_unavailable" (PostgreSQL cannot be reached) or
 * "db_busy" (no free connection in time), SVC_CONFLICT "conflict" (a
 * unique violation) or "constraint" (a check or foreign key), else
 * SVC_INTERNAL "internal_error" (the details are in the server's log).
 * Sets *code and *message (static strings) and returns that status, so
 * that callers map statuses only, never database ones. */
svc_status svc_db_public(const svc_error *e, const char **code, const char **message);

/* SVC_NOMEM with the table's message. */
svc_status svc_fail_nomem(svc_error *e);

/* SVC_UNAVAILABLE "server_busy" with Retry-After: a password hash that
 * found no slot of the hashing gate in time (auth_password.h). */
svc_status svc_fail_hash_busy(svc_error *e);

/* SVC_PLAN_LIMIT for quota "q" on "plan" with the message "msg" (core's
 * words). */
svc_status svc_fail_quota(svc_error *e, mt_plan plan, mt_quota q, const char *msg);

/* Clear "e" to SVC_OK (no code, no field, no quota, used -1). */
void svc_error_clear(svc_error *e);

#endif
