-- 034_hot_read_indexes: reads of the hot table that stay fast whatever plan
-- PostgreSQL cached for them (issue 16). The server's statements are
-- prepared once per connection; a generic plan made while series_hot was
-- small is kept while the table grows between two compactions. Measured:
-- the monitor's newest rows took a 25 ms sort of every hot row of the
-- account instead of a 0.04 ms index read; a day of the past read every
-- newer hot row and dropped it (3 ms for 20,000 rows).
-- * The monitor reads the newest rows in (t_max, id) order: an index in
--   that order gives them without a sort, whatever the plan.
-- * A read of a window [from, to) bounds t_min from both sides: a row that
--   overlaps it has t_min < to and t_min >= from - its span (t_max - t_min);
--   the largest span of the account's hot rows comes first from an index of
--   the spans. Hot rows are recent, so a window of the past reads few.
CREATE INDEX series_hot_account_newest ON series_hot (account_id, t_max, id);
DROP INDEX series_hot_account;
CREATE INDEX series_hot_account_start ON series_hot (account_id, t_min);
CREATE INDEX series_hot_account_span ON series_hot (account_id, (t_max - t_min));
