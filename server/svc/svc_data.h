/* Queries of acquired data (M2, V1, V2, D2; docs/data-api.md): decimated
 * graphs of up to 32 channels, raw pages for the list mode, the monitor's
 * latest values, the channel history. Answers are JSON text built here
 * (large arrays of numbers are written directly, not through cJSON). */
#ifndef MTS_SVC_DATA_H
#define MTS_SVC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "srv.h"
#include "svc.h"

#define DATA_MAX_CHANNELS 32  /* V2 */
#define DATA_MAX_BUCKETS 20000
#define DATA_MAX_PAGE 100000  /* raw rows per page */

/* A query's answer or its refusal: err.status SVC_OK with "json" (the
 * answer, "len" bytes; caller frees), or the refusal in "err". */
typedef struct {
    svc_error err;
    char *json;
    size_t len;
} data_reply;


/* Graph mode: channels "ch" over [t0, t1) in about "buckets" buckets. */
void svc_data_graph(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                    int64_t t1, size_t buckets, data_reply *r);

/* List mode: up to "limit" distinct times from "t0" (inclusive) before
 * "t1", one row per time with one value per channel (null where a channel
 * has no sample). "next" in the answer continues the page. */
void svc_data_raw(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                  int64_t t1, size_t limit, data_reply *r);

/* The monitor of a measurement group: apps, devices, channels, latest
 * values (stored and still hot). */
void svc_data_monitor(srv *s, const svc_actor *a, long long group_id, data_reply *r);

/* The 10 most recently viewed channels of the user (D2). */
void svc_data_history(srv *s, const svc_actor *a, data_reply *r);

#endif
