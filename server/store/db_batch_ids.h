/* Storage of the pruning of old batch ids (045_batch_prune.sql,
 * docs/ingest.md "How long a batch id is kept"): one step of a pass over
 * ingest_batches' pages. Called by the job in server/jobs/batch_ids.c. */
#ifndef MTS_DB_BATCH_IDS_H
#define MTS_DB_BATCH_IDS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* Pages of ingest_batches one step reads at most (1 MiB of 8 KiB pages): a
 * step deletes at most the rows these pages hold (about 12,000 batch ids,
 * 17,000 at most with the shortest ids), so its transaction stays short. */
#define DB_BATCH_IDS_STEP_BLOCKS 128

/* What a step did. */
typedef struct {
    long long deleted; /* batch ids deleted */
    bool more;         /* a pass is under way: the next step has pages to read */
    bool pass_ended;   /* this step ended a pass */
} db_batch_ids_step;

/* One step of the pruning on "c", inside the caller's transaction (which
 * holds the job's advisory lock): lock the pass's row (ingest_batch_prune),
 * start a pass when none is under way and the last one ended at least
 * "pass_every_s" seconds before "now" (Unix seconds), then delete the rows
 * of ingest_batches received before "cutoff" (Unix seconds) in the next
 * DB_BATCH_IDS_STEP_BLOCKS pages and move the pass on (ending it past the
 * table's last page). Fills *out. Returns DB_OK or the failure (logged;
 * the caller rolls back, nothing moves). */
MT_MUSTCHECK
db_status db_batch_ids_prune_step(db_conn *c, int64_t now, int64_t cutoff, int64_t pass_every_s,
                                  db_batch_ids_step *out);

#endif
