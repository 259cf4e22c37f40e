/* High-speed monitoring (M3; docs/ingest.md "High-speed monitoring").
 *
 * A user starts it for a measurement group (LIVE_MINUTES); the gateway apps
 * of the group see "live_until" in GET /api/v1/ingest/channels and send
 * 5-second samples (svc_live_ingest()); the monitor reads them
 * (svc_live_get()). Live samples are kept for display only (LIVE_MINUTES,
 * an UNLOGGED table); stored data stays at the regular one-minute batches
 * of the ingestion API. */
#ifndef MTS_SVC_LIVE_H
#define MTS_SVC_LIVE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "srv.h"
#include "svc.h"
#include "svc_ingest.h"

#define LIVE_MINUTES 10
#define LIVE_KEEP_US (LIVE_MINUTES * 60LL * 1000000LL)
#define LIVE_INTERVAL_S 5

/* Start (or extend) high-speed mode of group "group_id" for LIVE_MINUTES:
 * *until = its end (µs). SVC_NOT_FOUND when the actor cannot see the
 * group. */
MT_MUSTCHECK
svc_status svc_live_start(const svc_actor *a, long long group_id, long long *until,
                          svc_error *e);

/* Stop it (also when it was not on). */
MT_MUSTCHECK
svc_status svc_live_stop(const svc_actor *a, long long group_id, svc_error *e);

/* The group's live samples from "since_us" on (at most LIVE_KEEP_US old):
 * {"until": µs or null, "channels": [{"id", "t": [...], "v": [...]}]} in
 * *out (caller owns). */
MT_MUSTCHECK
svc_status svc_live_get(const svc_actor *a, long long group_id, long long since_us, cJSON **out,
                        svc_error *e);

/* Store the 5-second samples of the JSON batch "body" ("len" bytes,
 * NUL-terminated) sent by the app holding "credential", while high-speed
 * mode is on for its group: *account_id (for the access log), *samples
 * and *until. SVC_CONFLICT live_not_active when it is off; the refusals of
 * svc_ingest_app() and ingest_parse_json() otherwise. */
MT_MUSTCHECK
svc_status svc_live_ingest(srv *s, const char *credential, const char *body, size_t len,
                           long long *account_id, size_t *samples, long long *until,
                           svc_error *e);

/* The same for sender "who" (svc_ingest.h: a credential or an app id). */
MT_MUSTCHECK
svc_status svc_live_ingest_as(srv *s, const ingest_sender *who, const char *body, size_t len,
                              long long *account_id, size_t *samples, long long *until,
                              svc_error *e);

#endif
