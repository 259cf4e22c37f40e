-- 038_hot_span_partial: 034's reads of a window with one index fewer per
-- hot row (issue 16: every index is written by every ingest batch). A read
-- of [from, to) now bounds t_max on the index series_hot_account_newest:
-- a row that overlaps the window has t_max >= from and t_max < to + its
-- span. Everyday batches span less than an hour and are bounded by that
-- hour; only rows spanning more (back-fills) enter this partial index, from
-- which the read takes the account's largest such span.
DROP INDEX IF EXISTS series_hot_account_start;
DROP INDEX IF EXISTS series_hot_account_span;
CREATE INDEX series_hot_account_wide ON series_hot (account_id, (t_max - t_min))
    WHERE t_max - t_min > 3600000000;
