-- metron: older servers compatible
-- 092_fold_heap_only: room on the pages of the two tables that the fold
-- (the compactor, server/store/series_compact.c) updates in place, so that
-- its updates are heap-only (issue 16, docs/benchmarks.md "Autovacuum and
-- the mix's churn").
--
-- Every compactor round rewrites the day block (series_day) and the latest
-- sample (channel_latest) of every channel whose hot rows it folds: under
-- the route mix, every channel in every round. Neither update changes an
-- indexed column (series_day: n, t_first, t_last, data, hours; its indexes
-- are (channel_id, day) and (account_id, day); channel_latest: t, v,
-- special; its index is channel_id), so each could stay on its page as a
-- heap-only tuple, with no new index entry, and be pruned on the page
-- without a vacuum. On full pages (fillfactor 100) they mostly did not: a
-- 60 s mix and its fold updated channel_latest 89,632 times of which 10 %
-- heap-only, and series_day 21 %; the 3,200 rows of channel_latest spread
-- over 447 pages and series_day's over 3,649. With fillfactor 50, in the
-- same alternated runs: 99.9 % and 94 % heap-only, 58 and 1,600 pages.
--
-- Storage parameters only (a SHARE UPDATE EXCLUSIVE lock, no rewrite): the
-- pages already full fill to 50 % as their rows move; older servers write
-- the same rows the same way. The partitions of this month and later get it
-- here, later ones from mt_series_partition() (same body as 004's and the
-- setting); older months are not rewritten by the fold of everyday data.
ALTER TABLE channel_latest SET (fillfactor = 50);

DO $$
DECLARE
    p text;
BEGIN
    FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'series_day'::regclass
               AND c.relname >= 'series_day_' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC'), 'YYYYMM')
    LOOP
        EXECUTE format('ALTER TABLE %I SET (fillfactor = 50)', p);
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION mt_series_partition(d integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m0   date := date_trunc('month', DATE '1970-01-01' + d)::date;
    m1   date := (m0 + interval '1 month')::date;
    name text := 'series_day_' || to_char(m0, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF series_day FOR VALUES FROM (%s) TO (%s) '
                           'WITH (fillfactor = 50)',
                           name, m0 - DATE '1970-01-01', m1 - DATE '1970-01-01');
            EXECUTE format('ALTER TABLE %I ALTER COLUMN data SET STORAGE EXTERNAL', name);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN hours SET STORAGE MAIN', name);
        EXCEPTION WHEN duplicate_table THEN
            NULL; -- created meanwhile by another transaction
        END;
    END IF;
    RETURN name;
END $$;
