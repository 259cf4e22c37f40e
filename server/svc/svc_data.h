/* Queries of acquired data (M2, V1, V2, D2; docs/data-api.md): decimated
 * graphs of up to 32 channels, raw pages for the list mode, the monitor's
 * latest values, the channel history. Answers are JSON text built here
 * (large arrays of numbers are written directly, not through cJSON). */
#ifndef MTS_SVC_DATA_H
#define MTS_SVC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mt/decimate.h"
#include "mt/stats.h"
#include "raw_cache.h"
#include "srv.h"
#include "svc.h"

#define DATA_MAX_CHANNELS 32  /* V2 */
#define DATA_MAX_BUCKETS 20000
#define DATA_MAX_PAGE 100000  /* raw rows per page */

/* The queries answer with JSON text built directly (cheaper than cJSON
 * for thousands of numbers): SVC_OK with *json ("len" bytes; caller
 * frees), or the refusal in "e" and *json NULL. */

/* Graph mode: channels "ch" over [t0, t1) in about "buckets" buckets. */
MT_MUSTCHECK
svc_status svc_data_graph(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                          int64_t t1, size_t buckets, char **json, size_t *len, svc_error *e);

/* Summary: per channel, the statistics of core's mt_stats over [t0, t1)
 * (count, min and max with their times, mean, special values by kind).
 * The figures of a report's summary table come from svc_data_stats(), the
 * same code. */
MT_MUSTCHECK
svc_status svc_data_summary(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                            int64_t t1, char **json, size_t *len, svc_error *e);

/* The buckets that graph mode computes: for the requested [t0, t1) and
 * "buckets", the grid actually used (whole UTC hours from the stored
 * summaries when a bucket is an hour or wider: t0 rounded down to the
 * hour, the width rounded up) ... */
typedef struct {
    int64_t t0, t1;  /* the grid's range */
    size_t nb;       /* its buckets */
    bool from_hours; /* "source": "hours" (else "samples") */
    bool stable;     /* every channel's buckets stay valid until the last
                      * callback returns (else each only until its own does) */
} data_grid;

/* ... and, per channel, its "nb" buckets handed to a callback (borrowed
 * until it returns); the callback returns 0, or -1 to stop (out of
 * memory). */
typedef int (*data_bucket_fn)(void *arg, size_t i, const mt_bucket *bk);

/* Decimate channels "ch" of "account_id" (not checked for visibility:
 * callers do that) over [t0, t1) into about "buckets" buckets, on the
 * caller's connection "c": "g" receives the grid before the first
 * callback, then "fn" is called once per channel in order. One channel's
 * samples are held at a time after the read. The graph API and the
 * report charts both draw from this function. */
MT_MUSTCHECK svc_status svc_data_decimate(srv *s, db_conn *c, long long account_id,
                                          const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                                          size_t buckets, data_grid *g, data_bucket_fn fn,
                                          void *arg, svc_error *e);

/* The statistics (mt/stats.h) of channels "ch" of "account_id" over
 * [t0, t1) into out[0..n_ch), read one UTC day at a time (day blocks
 * merged with hot rows; a dense day in parts), on the caller's connection
 * "c". Visibility is the caller's business. */
MT_MUSTCHECK svc_status svc_data_stats(db_conn *c, long long account_id, const int64_t *ch,
                                       size_t n_ch, int64_t t0, int64_t t1, mt_stats *out,
                                       svc_error *e);

/* List mode: up to "limit" distinct times from "t0" (inclusive) before
 * "t1", one row per time with one value per channel (null where a channel
 * has no sample). "next" in the answer continues the page. *json is the
 * block to free; the answer (*len bytes and a NUL) is at *json + *room,
 * and the *room bytes before it (0 or DATA_REPLY_ROOM) are the caller's
 * to write (the reply's headers: http_reply_json_room()). Or, for a page
 * answered from the remembered reply (raw_cache.h), *json is NULL and
 * *kept a reference to that reply (its text: raw_reply_text()), which the
 * caller drops (raw_reply_drop()). */
#define DATA_REPLY_ROOM 1024
MT_MUSTCHECK
svc_status svc_data_raw(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                        int64_t t1, size_t limit, char **json, size_t *room, size_t *len,
                        raw_reply **kept, svc_error *e);

/* The monitor of a measurement group: apps, devices, channels, latest
 * values (stored and still hot). *json, *room and *len as
 * svc_data_raw() gives them. */
MT_MUSTCHECK
svc_status svc_data_monitor(srv *s, const svc_actor *a, long long group_id, char **json,
                            size_t *room, size_t *len, svc_error *e);

/* The 10 most recently viewed channels of the user (D2). */
MT_MUSTCHECK
svc_status svc_data_history(srv *s, const svc_actor *a, char **json, size_t *len, svc_error *e);

#endif
