-- 057_hot_narrow_bound: the reads of a window walk the index entries of 5
-- minutes after it instead of an hour (issue 16, readbench).
--
-- The reads of a window [w0, w1) (mt_hot_read() (052), mt_ser_read() (054),
-- mt_raw_read() and mt_raw_versions() (053), on the index of 055) take the
-- hot rows with t_max from w0 to w1 plus a bound, and t_min < w1 checked on
-- the index entries. The bound must cover every row that starts before w1
-- and ends after it: the account's largest span. Nothing bounds a hot row's
-- span (the ingest writes a batch's first and last time), so the rows wider
-- than a threshold are in the partial index series_hot_account_wide, whose
-- largest span for the account is read backward, one entry; the bound is
-- that span or the threshold, whichever is larger. The threshold was an
-- hour (038): every read of a window walked the index entries of the hour
-- after its end, checking t_min on each (055). A stored day of an account
-- with a backlog of 40,000 hot rows of the next day, one a second, walked
-- 3,600 entries (about 40 leaf pages) for none.
--
-- With a threshold of 5 minutes the walk is 5 minutes of entries. The rows
-- the reads return are the same (tests/bench/read_bench.mjs md5: rows of
-- 1 µs, 4 min, exactly 5 min, 30 min, 59 min, exactly 1 h, 2 h and 30 h
-- across the windows' ends). An account whose hot rows are all narrower
-- than 5 minutes (everyday batches: a snapshot, a minute of samples) reads
-- 5 minutes past the window; one with a row wider than that reads its span
-- past it, at most an hour while no row is wider than an hour, never more
-- than before. The price: an ingest batch whose samples span more than 5
-- minutes (and at most an hour) now adds an entry to the partial index too
-- (wider ones already did); a batch that spans 5 minutes carries at least
-- 5 minutes of samples.
--
-- The functions keep their text but for the threshold (both in GREATEST()
-- and in the subquery's condition, which must be the index's predicate for
-- the planner to take it), their signatures and SET clauses (plan safety:
-- scripts/bench-reads' trap check).
DROP INDEX series_hot_account_wide;
CREATE INDEX series_hot_account_wide ON series_hot (account_id, (t_max - t_min))
    WHERE t_max - t_min > 300000000;

CREATE OR REPLACE FUNCTION mt_hot_read(acct bigint, w0 bigint, w1 bigint)
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
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(300000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 300000000)),
          9223372036854775807)::bigint;
END $$;

CREATE OR REPLACE FUNCTION mt_ser_read(acct bigint, ch bigint[], w0 bigint, w1 bigint,
                                       d0 integer, d1 integer)
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
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(300000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 300000000)),
          9223372036854775807)::bigint
    UNION ALL
    SELECT 2, s.channel_id, s.data, s.day
    FROM (SELECT DISTINCT u.c FROM unnest(ch) AS u(c)) q
    CROSS JOIN LATERAL (SELECT y.account_id, y.channel_id, y.data, y.day FROM series_day y
                        WHERE y.channel_id = q.c AND y.day BETWEEN d0 AND d1 OFFSET 0) s
    WHERE s.account_id = acct;
END $$;

CREATE OR REPLACE FUNCTION mt_raw_versions(acct bigint, ch bigint[], w0 bigint, w1 bigint,
                                           d0 integer, d1 integer)
RETURNS TABLE (r_kind integer, r_id bigint, r_payload bytea, r_day integer, r_ver bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN QUERY
    SELECT 0, c.id, NULL::bytea, 0,
           (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint
    FROM channels c WHERE c.account_id = acct AND c.id = ANY(ch)
    UNION ALL
    SELECT 1, h.id, NULL::bytea, 0, 0::bigint FROM series_hot h
    WHERE h.account_id = acct AND h.t_max >= w0 AND h.t_min < w1
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(300000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 300000000)),
          9223372036854775807)::bigint
    UNION ALL
    SELECT 2, s.channel_id, NULL::bytea, s.day, s.ver
    FROM (SELECT DISTINCT u.c FROM unnest(ch) AS u(c)) q
    CROSS JOIN LATERAL (SELECT y.account_id, y.channel_id, y.day, y.xmin::text::bigint AS ver
                        FROM series_day y
                        WHERE y.channel_id = q.c AND y.day BETWEEN d0 AND d1 OFFSET 0) s
    WHERE s.account_id = acct;
END $$;

CREATE OR REPLACE FUNCTION mt_raw_read(acct bigint, ch bigint[], w0 bigint, w1 bigint,
                                       d0 integer, d1 integer)
RETURNS TABLE (r_kind integer, r_id bigint, r_payload bytea, r_day integer, r_ver bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    RETURN QUERY
    SELECT 0, c.id, NULL::bytea, 0,
           (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint
    FROM channels c WHERE c.account_id = acct AND c.id = ANY(ch)
    UNION ALL
    SELECT 1, h.id, h.payload, 0, 0::bigint FROM series_hot h
    WHERE h.account_id = acct AND h.t_max >= w0 AND h.t_min < w1
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(300000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 300000000)),
          9223372036854775807)::bigint
    UNION ALL
    SELECT 2, s.channel_id, s.data, s.day, s.ver
    FROM (SELECT DISTINCT u.c FROM unnest(ch) AS u(c)) q
    CROSS JOIN LATERAL (SELECT y.account_id, y.channel_id, y.data, y.day,
                               y.xmin::text::bigint AS ver
                        FROM series_day y
                        WHERE y.channel_id = q.c AND y.day BETWEEN d0 AND d1 OFFSET 0) s
    WHERE s.account_id = acct;
END $$;
