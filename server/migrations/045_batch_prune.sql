-- 045_batch_prune: batch ids (ingest_batches) older than METRON_BATCH_ID_DAYS
-- are deleted by the background job "ingest_batch_ids" (server/jobs/
-- batch_ids.c, docs/ingest.md "How long a batch id is kept").
--
-- No index is put back on the ingest path (039 dropped the one on
-- received_at to make every batch cheaper): the job walks the table's
-- pages in order, a bounded range of pages per statement (a TID range scan,
-- `ctid >= '(a,0)' AND ctid < '(b,0)'`), and deletes the rows of that range
-- received before the cut-off. A pass over the whole table reads each page
-- once; passes start at most once an hour. A BRIN index on received_at was
-- measured instead (docs/benchmarks.md "ingest_batches pruning"): pages
-- freed by pruning are filled again by new batches, so most inserts land in
-- an already summarised range and widen its summary (a write and its WAL
-- per batch), and the summaries keep their old minimum, so the index soon
-- matches every range.
--
-- This one row holds where the current pass stands, so that several server
-- processes on one database share one pass (each step runs under the job's
-- advisory lock and locks this row).
CREATE TABLE ingest_batch_prune (
    one              boolean PRIMARY KEY DEFAULT true CHECK (one),
    next_block       bigint NOT NULL DEFAULT 0 CHECK (next_block >= 0),
    pass_started_at  timestamptz,           -- NULL: between passes
    last_pass_at     timestamptz            -- when the last whole pass ended
);
INSERT INTO ingest_batch_prune DEFAULT VALUES;
