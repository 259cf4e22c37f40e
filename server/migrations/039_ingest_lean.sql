-- 039_ingest_lean: one index fewer written by every ingest batch (issue 16:
-- each index of ingest_batches and series_hot is a B-tree insert and its
-- WAL per batch). ingest_batches_received (received_at) is read by no
-- statement: batch ids are kept and found by the primary key (account, app,
-- batch id), and a look-up by time of one account's batches (the gateway
-- benchmark) goes through that key's account prefix.
DROP INDEX IF EXISTS ingest_batches_received;
