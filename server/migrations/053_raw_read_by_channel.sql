-- 053_raw_read_by_channel: the raw data route's functions mt_raw_read()
-- (049) and mt_raw_versions() (047, 048) given 052's two changes (issue
-- 16, rawread): rows returned in no particular order, and day blocks read
-- channel by channel on each partition's key (channel_id, day).
--
-- No ORDER BY: the server puts the rows in order itself (series_read.c:
-- samples_from() the samples, hot rows by id so that the later arrival
-- still wins at an equal time; seen_rows() the versions, by kind, id and
-- day, the order 049 returned them in). Sorted in the function, a raw
-- hour of today (3,134 hot rows with their bytes) cost PostgreSQL 2.6-3.0
-- ms of CPU a call against 2.0-2.15 without (docs/benchmarks.md, rawread).
--
-- Day blocks channel by channel: a generic plan of "channel_id = ANY(ch)"
-- took the index (account_id, day) and read every channel of the account
-- on those days (30 days of one channel of an account of 256: 7,680 rows
-- read for 30, 1.1-1.4 ms against 0.1). The subquery, kept apart by OFFSET 0,
-- takes one channel at a time; its only conditions are the channel and
-- the days, so that the index (account_id, day) has none on its first
-- column: 052's form (the account inside the subquery) still took that
-- index, filtered by channel, once per channel asked for, in a partition
-- of 160 rows (5 days of 32 channels: the current month's early in it).
-- The account is checked on the rows the subquery returns.
--
-- The same rows as 049 (kind 0 the channels of "ch" of account "acct"
-- with the start of the postmaster as their version, kind 1 the hot rows
-- of the window [w0, w1) with the version 0, kind 2 the day blocks of
-- those channels on the days d0..d1 with the xmin of their row; with
-- their bytes from mt_raw_read()), the same SET clauses and plan safety,
-- read with the calling statement's snapshot (STABLE).
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
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(3600000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 3600000000)),
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
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(3600000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 3600000000)),
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
