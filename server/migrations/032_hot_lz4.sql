-- 032_hot_lz4: the payload of a hot row (24-byte records of one batch,
-- 004_data.sql) was stored EXTERNAL, uncompressed: an everyday batch of
-- 2,000 channels is 48 kB, which PostgreSQL cut into 25 TOAST rows, each a
-- heap row, an index entry and WAL of its own. Its channel ids and times
-- are mostly zero bytes and repeats: lz4 takes it to about a third
-- (48,000 -> ~15,300 bytes for a realistic minute) and PostgreSQL's CPU per
-- hot row from about 300 to about 170 us (issue 16, docs/benchmarks.md).
-- Readers read whole payloads, so lz4's fast decompression is all they see.
-- Rows already stored stay as they are; pglz where lz4 was not built in.
ALTER TABLE series_hot ALTER COLUMN payload SET STORAGE EXTENDED;
DO $$
BEGIN
    ALTER TABLE series_hot ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END $$;
