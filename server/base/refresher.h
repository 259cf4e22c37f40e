/* The refresher (issue #3): one background thread that reads again what a
 * request found in a cache and due for a refresh, so that no request waits
 * on the database for it.
 *
 * The remembered identities (svc_auth.c) and replies (reply_cache.h) count
 * for AUTH_CACHE_TTL_MS (2 s) and are due for a refresh once they are
 * AUTH_CACHE_REFRESH_MS (500 ms) old. The one request that finds an entry
 * due (the caches hand that out once per entry) submits a job here and
 * answers from the entry it has; the job reads the database and stores the
 * fresh entry well before the old one expires. Under load, a request that
 * went to the database itself waited for PostgreSQL's share of the CPUs
 * against every busy HTTP thread: 100 ms to 2 s, every 500 ms.
 *
 * A job is a function and a copy of up to REFRESH_ARG_MAX bytes of
 * argument, run once, in submission order, on the refresher thread. The
 * queue holds REFRESH_QUEUE jobs; refresher_submit() never blocks: when the
 * refresher is not running or the queue is full it returns false, and the
 * entry simply expires at its TTL (the next request reads the database
 * itself, as with no refresher). Every function is thread-safe. */
#ifndef MTS_REFRESHER_H
#define MTS_REFRESHER_H

#include <stdbool.h>
#include <stddef.h>

#define REFRESH_ARG_MAX 192
#define REFRESH_QUEUE 512

/* A job: "ctx" as given to refresher_submit(), "arg" its copy of the
 * argument (valid during the call only). */
typedef void (*refresh_fn)(void *ctx, const void *arg);

/* Start the thread. Returns 0, or -1 (already running, or no thread). */
int refresher_start(void);

/* Stop the thread after the job it is running; jobs still queued are
 * dropped (their entries expire). Does nothing when not running. */
void refresher_stop(void);

/* Queue "fn"(ctx, copy of "len" bytes at "arg"). Returns true when queued;
 * false when not running, the queue is full or len > REFRESH_ARG_MAX. */
bool refresher_submit(refresh_fn fn, void *ctx, const void *arg, size_t len);

/* Jobs run so far and submissions refused (full or not running), for
 * tests and the log. */
void refresher_counts(unsigned long long *run, unsigned long long *refused);

#endif
