/* Business rules of notification destinations (R8) and of the test send of
 * destinations and system notification recipients (G4): which addresses
 * are accepted, who may change them, how a webhook URL is shown (never
 * whole: svc_notify_mask()), and the audited writes. docs/notify.md. */
#ifndef MTS_SVC_DESTINATIONS_H
#define MTS_SVC_DESTINATIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "db_destinations.h"
#include "db_outbox.h"
#include "svc.h"
#include "svc_notify.h"

/* The most destinations an account may have. The specification has no
 * plan quota for destinations (FEATURES P); this bound keeps the table and
 * the alarm editor's list small. */
#define DESTINATIONS_MAX 50

/* "address" as the API shows it: an e-mail address whole; a webhook URL
 * (every other kind) as its scheme and host (with port), then "/…" and its
 * last 4 characters: "https://hooks.slack.com/…Xy9Z". Writes at most "cap"
 * bytes (NUL included) into "out" and returns out. */
char *svc_notify_mask(const char *kind, const char *address, char *out, size_t cap);

/* A destination as given in a request; NULL members = keep (update) or the
 * default (create: name "", language "en", enabled true). An "address"
 * equal to the masked form of the stored one means "keep". */
typedef struct {
    const char *kind;
    const char *name;
    const char *address;
    const char *language;
    int enabled; /* -1 = not given */
} svc_destination_in;

/* The account's destinations as the API shows them, addresses masked:
 * {"items": [...]} into *out (caller owns). Any signed-in user. SVC_DB,
 * SVC_NOMEM. */
MT_MUSTCHECK
svc_status svc_destination_list(const svc_actor *a, cJSON **out, svc_error *e);
/* One destination, address masked, into *out (caller owns); SVC_NOT_FOUND. */
MT_MUSTCHECK
svc_status svc_destination_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);

/* Administrators only (SVC_FORBIDDEN); SVC_INVALID with the field at
 * fault; SVC_CONFLICT "this destination already exists" (same kind and
 * address) or "too_many" past DESTINATIONS_MAX; audited. */
MT_MUSTCHECK
svc_status svc_destination_create(const svc_actor *a, const svc_destination_in *in,
                                  long long *id, svc_error *e);
MT_MUSTCHECK
svc_status svc_destination_update(const svc_actor *a, long long id,
                                  const svc_destination_in *in, svc_error *e);
MT_MUSTCHECK
svc_status svc_destination_delete(const svc_actor *a, long long id, svc_error *e);

/* Queue a test message (kind "test", in the target's language) to
 * destination "id" or system notification recipient "id" (G4).
 * Administrators only. SVC_NOT_FOUND; SVC_CONFLICT "disabled" when it is
 * disabled. On SVC_OK "out" tells the message and outbox row (poll it with
 * the delivery routes). */
MT_MUSTCHECK
svc_status svc_destination_test(const svc_actor *a, long long id, notify_result *out,
                                svc_error *e);
MT_MUSTCHECK
svc_status svc_recipient_test(const svc_actor *a, long long id, notify_result *out,
                              svc_error *e);

/* ------------------------------------------------------------ delivery log */

/* The outbox rows of the account as the filter "f" selects them (limit
 * 1..200; SVC_INVALID for another limit or an unknown state), addresses
 * masked: {"items": [...], "next_before": the id to page on after a full
 * page, else null} into *out (caller owns). Administrators only
 * (SVC_FORBIDDEN). */
MT_MUSTCHECK
svc_status svc_delivery_list(const svc_actor *a, const db_delivery_filter *f, cJSON **out,
                             svc_error *e);

/* One outbox row with its text ("body", "fields", "link_url",
 * "link_label") and every attempt ("log"), addresses masked, into *out
 * (caller owns). Administrators only; SVC_NOT_FOUND. */
MT_MUSTCHECK
svc_status svc_delivery_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);

/* Send delivery "id" again after it died or was cancelled (an operator who
 * fixed the webhook): due now, failures counted from 0, the same
 * X-Metron-Delivery. Administrators only; audited ("delivery.retry").
 * SVC_NOT_FOUND; SVC_CONFLICT "not_failed" for a row that is queued, being
 * sent or sent, "erased" for a sensitive row (its text is gone). */
MT_MUSTCHECK
svc_status svc_delivery_retry(const svc_actor *a, long long id, svc_error *e);

/* Tests and benchmarks only (POST /api/v1/test/notify): enqueue "count"
 * messages of kind "kind" for account "account_id", message i going to
 * destination to_ids[i % n_to] (or, with n_to 0, to the account's system
 * recipients), "per_tx" messages per transaction, with keys
 * "<key_prefix>:<i>" and the fixed text "title"/"body" (language NULL =
 * each target's). Sets the totals in "out" (first_id: the first row
 * inserted) and the wall time spent inside svc_notify_enqueue() calls and
 * their commits in *enqueue_ms / *commit_ms. */
MT_MUSTCHECK
svc_status svc_notify_load(db_pool *pool, long long account_id, const long long *to_ids,
                           int n_to, int count, int per_tx, const char *key_prefix,
                           const char *kind, const char *severity, const char *language,
                           const char *title, const char *body, notify_result *out,
                           double *enqueue_ms, double *commit_ms, svc_error *e);

#endif
