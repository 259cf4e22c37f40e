-- 052_hot_read: the server's own reads of samples (series_read.c:
-- series_read(), series_read_hot(): dashboards, exports, statistics,
-- reports, computed days, alarm notices) planned without sequential or
-- bitmap scans, as the raw data route's are (048, 049; issue 16, serread).
--
-- They were the prepared statements ser_read and ser_read_hot, and fell
-- into the trap 048 and 049 took the raw data route out of: a generic plan
-- made while series_hot was small (after a compaction emptied it, or a
-- fresh database) scans it whole, and a connection keeps that plan while
-- the hot table grows until the next ANALYZE. Measured (docs/benchmarks.md,
-- serread): planned with 33 hot rows, then 87,589 added, 7-12 ms of
-- PostgreSQL CPU a read (every hot row read and filtered out) against
-- 0.5-1.3 ms with these functions.
--
-- Both return their rows in no particular order (no ORDER BY): the server
-- puts them in order itself. In a function the sort of the rows with
-- their bytes cost more than the read (an hour of 3,134 hot rows: 3.2 ms
-- against 1.0 without it), and a read of every hot row of an account was
-- sorted on disk beyond work_mem before RETURN QUERY put it in its
-- tuplestore, on disk as well.
--
-- The hot rows of a window [w0, w1) of account "acct": the index
-- series_hot_account_newest bounded from both sides, the largest span
-- backward on series_hot_account_wide (049's hot rows).
CREATE FUNCTION mt_hot_read(acct bigint, w0 bigint, w1 bigint)
RETURNS TABLE (r_id bigint, r_payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN QUERY
    SELECT h.id, h.payload FROM series_hot h
    WHERE h.account_id = acct AND h.t_max >= w0 AND h.t_min < w1
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(3600000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 3600000000)),
          9223372036854775807)::bigint;
END $$;

-- A window's samples in one statement, so in one snapshot (a compaction is
-- seen wholly or not at all): rows of kind 1, the hot rows of the window
-- (id, payload), and of kind 2, the day blocks of the channels "ch" on the
-- days d0..d1 (channel, data, day). The day blocks are read channel by
-- channel on each partition's key (channel_id, day): the subquery, kept
-- apart by OFFSET 0, takes one channel at a time. A generic plan of
-- "channel_id = ANY(ch)" took instead the index (account_id, day) and read
-- every channel of the account on those days (a year of one channel of
-- 32: 11,680 rows read for 365, 3 ms against 0.7).
CREATE FUNCTION mt_ser_read(acct bigint, ch bigint[], w0 bigint, w1 bigint, d0 integer,
                            d1 integer)
RETURNS TABLE (r_kind integer, r_id bigint, r_payload bytea, r_day integer)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN QUERY
    SELECT 1, h.id, h.payload, 0 FROM series_hot h
    WHERE h.account_id = acct AND h.t_max >= w0 AND h.t_min < w1
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(3600000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 3600000000)),
          9223372036854775807)::bigint
    UNION ALL
    SELECT 2, s.channel_id, s.data, s.day
    FROM (SELECT DISTINCT u.c FROM unnest(ch) AS u(c)) q
    CROSS JOIN LATERAL (SELECT y.channel_id, y.data, y.day FROM series_day y
                        WHERE y.channel_id = q.c AND y.account_id = acct
                          AND y.day BETWEEN d0 AND d1 OFFSET 0) s;
END $$;
