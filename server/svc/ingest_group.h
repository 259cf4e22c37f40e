/* Group commit of small ingest batches (issue 16): batches that reach the
 * store while another batch's statement runs wait for it, and the first of
 * them then stores all that wait, in one statement, one transaction and one
 * commit (db_ingest_store_group()). Each caller is answered only after the
 * commit that holds its batch. A batch that finds no statement running is
 * stored at once, alone, as before (no timer, no waiting for company),
 * unless METRON_INGEST_GATHER_US is set and batches have been coming
 * steadily: the next group then gathers until that long after the last one
 * started (or until the flow pauses). Off by default.
 *
 * Every answer is the one db_ingest_store_small() would give: a batch whose
 * group's alarm sequence moved on comes back with seq_ok false (the caller
 * retries it as before); a second copy of a batch id in one group is
 * answered as a duplicate of the first; when the group's statement fails,
 * each of its batches is stored again alone, by its own caller on its own
 * connection, so that one bad batch fails only itself.
 *
 * A batch that waits holds no pooled connection: its caller's goes back to
 * the pool while it waits, and only the batch that then leads a group takes
 * one again, to store the group. */
#ifndef MTS_INGEST_GROUP_H
#define MTS_INGEST_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ingest_batch.h"

/* Most batches, and most bytes of records, in one statement: a bound on the
 * memory of a group (parameters built for it) whatever the load. */
#define INGEST_GROUP_MAX 64
#define INGEST_GROUP_BYTES (4u << 20)

/* In a steady flow (the last group of at least 4 batches), a group starts
 * no sooner than this many microseconds after the last one started, or
 * once no batch has come for a quarter of it, so that more batches share
 * its statement and commit (issue 16, grpfixed; 0: never wait).
 * METRON_INGEST_GATHER_US (0..1000000) sets it for the process. Off (0) by
 * default: with 6 ms, PostgreSQL's CPU per batch fell, but the final
 * figures' route mix and its ingest alone lost rate (closed-loop senders
 * wait; docs/benchmarks.md, "Final figures, session of 2026-12-07
 * 17:49"). */
#define INGEST_GATHER_US 0

/* db_ingest_store_small() of db_series.h, stored with whatever other
 * batches wait at the same time. *c is the caller's connection (outside a
 * transaction); when the batch had to wait it was given back to "pool" and
 * *c is NULL, or another connection of "pool" (the one its group was stored
 * on, or its own store alone after a failed group). The caller releases *c
 * when it is not NULL. DB_BUSY when no connection came in time. */
db_status ingest_group_store_small(db_pool *pool, db_conn **c, long long account_id, long long app_id,
                                   const char *batch_id, const ingest_rec *rec, size_t n,
                                   int64_t t_min, int64_t t_max, const char *ip,
                                   long long alarm_group, long long alarm_seq, bool *seq_ok,
                                   bool *fresh, long long *prev_samples);

#endif
