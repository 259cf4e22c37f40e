/* The job "ingest_batch_ids" (jobs.c): batch ids (ingest_batches) older
 * than --batch-id-days are deleted (docs/ingest.md "How long a batch id is
 * kept"). A batch id exists only so that a retried batch is answered as a
 * duplicate; a gateway resends within hours (docs/gateway.md), so after
 * the retention a batch sent again is stored again (its samples replace
 * the stored ones, so nothing is stored twice, but it is counted again). */
#ifndef MTS_BATCH_IDS_H
#define MTS_BATCH_IDS_H

#include <stdint.h>

#include "srv.h"

/* Steps (of DB_BATCH_IDS_STEP_BLOCKS pages each, one transaction each) one
 * round takes at most: 2,048 pages (16 MiB) of ingest_batches a round, well
 * ahead of the pages ingestion adds (one per ~100 batches). */
#define BATCH_IDS_STEPS_PER_ROUND 16

/* A pass over the table starts at most this often (seconds): a batch id is
 * deleted between --batch-id-days and about an hour (plus the pass) after. */
#define BATCH_IDS_PASS_EVERY_S 3600

/* One round at "now" (Unix seconds, auth_now()): up to
 * BATCH_IDS_STEPS_PER_ROUND steps of the pass (db_batch_ids_prune_step()),
 * each its own short transaction under the job's advisory lock, so that
 * several server processes share one pass and ingestion never waits for a
 * long one. *done = batch ids deleted (also added to the counter
 * metron_ingest_batch_ids_pruned_total). Nothing with --batch-id-days 0.
 * Returns 0, or -1 after logging a failure (the pass goes on next round). */
int batch_ids_job(srv *s, int64_t now, long long *done);

#endif
