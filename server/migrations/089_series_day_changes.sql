-- metron: older servers compatible
-- 089_series_day_changes: every write of a day block moves its account's
-- change stamp (086's account_changes), so that a server may keep a raw
-- day's reply with the stamp and skip the day's versions check
-- (mt_raw_versions()) while the stamp has not moved (issue 16, rawstamp;
-- docs/benchmarks.md "The raw day's check skipped when nothing changed").
--
-- A raw day's reply is a function of the account's hot rows overlapping it,
-- its channels' day blocks and the viewer's right. Hot rows inserted or
-- deleted already move a series_hot_count row of the account (069, 081);
-- rights move account_rights (087, 088). Day blocks did not move anything
-- outside the fold (a computed channel's days rewritten, a day deleted,
-- retention, the demo, a channel deleted: its days go by cascade, and SQL
-- by hand); now every INSERT, UPDATE and DELETE of series_day notes its
-- accounts as 086's channel_latest triggers do (a statement trigger with a
-- transition table, accounts moved once each at the commit, in account
-- order). The fold's own writes note the account too: its channel_latest
-- writes already do, so the fold's transaction moves account_changes once,
-- as before. No ingest statement writes series_day.
-- On the partitioned table: statement triggers with transition tables on
-- the root see the rows of every partition.
CREATE TRIGGER series_day_inserted AFTER INSERT ON series_day
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
CREATE TRIGGER series_day_updated AFTER UPDATE ON series_day
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
CREATE TRIGGER series_day_deleted AFTER DELETE ON series_day
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
