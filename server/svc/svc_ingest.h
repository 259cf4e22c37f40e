/* Ingestion (S1, M2): authenticate a gateway app by its credential, check a
 * batch against the app's channels and store it exactly once, all or
 * nothing (docs/ingest.md). */
#ifndef MTS_SVC_INGEST_H
#define MTS_SVC_INGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "ingest_parse.h"
#include "srv.h"

typedef enum {
    INGEST_BODY_JSON = 0,
    INGEST_BODY_HOK = 1
} ingest_body_kind;

typedef struct {
    long long account_id;
    long long app_id;
    long long group_id;  /* the app's measurement group (0 = none) */
    size_t stored;       /* samples stored by this request (0 for a duplicate) */
    size_t n_samples;    /* samples in the batch (for a duplicate: as first stored) */
    size_t n_channels;
    bool duplicate;      /* the batch id was already stored: nothing was added */
} ingest_result;

/* Who sends: the app holding "credential" (HTTPS: the text after "Bearer
 * ", may be NULL), or, with "credential" NULL and "app_id" > 0, the app the
 * MQTT broker authenticated by its client certificate (mqtt/; never built
 * from anything a client sends over HTTP). */
typedef struct {
    const char *credential;
    long long app_id;
    /* "checked": the caller already found the app of "credential" enabled,
     * in an active account, during this request (the HTTP layer does so
     * before it reads the body: svc_ingest_authenticate_app()), with the
     * fields below: the batch is stored without a second lookup. */
    bool checked;
    long long account_id;
    long long group_id;
    long long channels_version;
} ingest_sender;

/* Store one batch sent by the app holding "credential" (the text after
 * "Bearer "; may be NULL). "body"/"len" is the request body, "batch_id" the
 * X-Batch-Id header (HOK bodies only), "ip" the client address. Returns SVC_OK
 * with "r" filled, or the failure in "e" (SVC_UNAUTHENTICATED,
 * SVC_FORBIDDEN, SVC_INVALID, SVC_TOO_LARGE, SVC_UNPROCESSABLE, SVC_DB,
 * ...); on a failure nothing was stored. */
MT_MUSTCHECK
svc_status svc_ingest_batch(srv *s, const char *credential, ingest_body_kind kind,
                            const unsigned char *body, size_t len, const char *batch_id,
                            const char *ip, ingest_result *r, svc_error *e);

/* Who holds "credential" (the text after "Bearer "; may be NULL): SVC_OK
 * with *account_id and *app_id of an enabled app of an active account;
 * SVC_UNAUTHENTICATED (none, malformed, unknown), SVC_FORBIDDEN
 * (app_disabled, account_inactive), SVC_DB. One lookup, no side effect:
 * the HTTP layer calls it before it reads a request body, so that a
 * client without a credential never makes the server hold one. */
MT_MUSTCHECK
svc_status svc_ingest_authenticate(srv *s, const char *credential, long long *account_id,
                                   long long *app_id, svc_error *e);
/* The same, filling "who" (its credential included) as a checked sender
 * for svc_ingest_batch_as() in the same request. */
MT_MUSTCHECK
svc_status svc_ingest_authenticate_app(srv *s, const char *credential, ingest_sender *who,
                                       svc_error *e);
/* The same for sender "who". */
MT_MUSTCHECK
svc_status svc_ingest_batch_as(srv *s, const ingest_sender *who, ingest_body_kind kind,
                               const unsigned char *body, size_t len, const char *batch_id,
                               const char *ip, ingest_result *r, svc_error *e);

/* Record a connect / disconnect / heartbeat ("state") of the app. */
MT_MUSTCHECK
svc_status svc_ingest_status(srv *s, const char *credential, const char *state, const char *ip,
                             ingest_result *r, svc_error *e);
MT_MUSTCHECK
svc_status svc_ingest_status_as(srv *s, const ingest_sender *who, const char *state, const char *ip,
                                ingest_result *r, svc_error *e);

/* The app's devices and channels as JSON text (caller frees), for the
 * gateway to learn the ids it sends. */
MT_MUSTCHECK
svc_status svc_ingest_describe(srv *s, const char *credential, char **json, svc_error *e);

/* Find the app of "credential" (an "mta_" credential) on connection "c" at
 * "now" (µs): r->account_id and r->app_id, and *version (may be NULL) the
 * version of its channel table. SVC_OK, or the failure in "e": SVC_UNAUTHENTICATED
 * (malformed or unknown credential), SVC_FORBIDDEN app_disabled /
 * account_inactive, the database's failure. */
MT_MUSTCHECK
svc_status svc_ingest_app(db_conn *c, const char *credential, int64_t now, ingest_result *r,
                          long long *version, svc_error *e);

/* svc_ingest_app() for sender "who" (a credential, or an app id). */
MT_MUSTCHECK
svc_status svc_ingest_app_as(db_conn *c, const ingest_sender *who, int64_t now, ingest_result *r,
                             long long *version, svc_error *e);

/* Now in µs on the test-shiftable clock of auth_now(), with the
 * microseconds of the system clock. */
int64_t svc_ingest_now_us(void);

#endif
