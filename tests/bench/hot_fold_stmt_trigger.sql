-- The design migration 081 did not take (docs/benchmarks.md "hotlog"): a
-- statement trigger on series_hot whose WHEN reads a setting of the
-- transaction, its function never called here. For
-- tests/bench/hot_fold_callgrind.mjs (BENCH_SQL=): what it costs an INSERT.
CREATE FUNCTION mt_hot_count_fold_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NULL; END $$;
CREATE TRIGGER series_hot_count_folded AFTER INSERT ON series_hot
    FOR EACH STATEMENT WHEN (current_setting('metron.hot_uncounted', true) = 'on')
    EXECUTE FUNCTION mt_hot_count_fold_stmt();
