-- 054_ser_read_by_channel: the server's own read of samples, mt_ser_read()
-- (052: series_read.c series_read(): dashboards, exports, statistics,
-- reports, computed days, alarm notices), given 053's form of the day
-- blocks (issue 16, serform).
--
-- 052's subquery held the account with the channel and the days, and in a
-- small partition (160 rows: 5 days of 32 channels, the current month's
-- early in it) the planner still took the index (account_id, day) for it,
-- filtered by channel: every row of the account in that partition read
-- once per channel asked for. Here the subquery, kept apart by OFFSET 0,
-- holds only the channel and the days, so that the index (account_id, day)
-- has no condition on its first column and the partition's key
-- (channel_id, day) is taken; the account is checked on the rows the
-- subquery returns (docs/benchmarks.md, serform).
--
-- The same rows as 052 (kind 1 the hot rows of the window [w0, w1) of
-- account "acct", kind 2 the day blocks of the channels "ch" of that
-- account on the days d0..d1), in no particular order, the same SET
-- clauses and plan safety, read with the calling statement's snapshot
-- (STABLE).
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
      AND h.t_max < LEAST(w1::numeric + 1 + GREATEST(3600000000,
            (SELECT max(x.t_max - x.t_min) FROM series_hot x
             WHERE x.account_id = acct AND x.t_max - x.t_min > 3600000000)),
          9223372036854775807)::bigint
    UNION ALL
    SELECT 2, s.channel_id, s.data, s.day
    FROM (SELECT DISTINCT u.c FROM unnest(ch) AS u(c)) q
    CROSS JOIN LATERAL (SELECT y.account_id, y.channel_id, y.data, y.day FROM series_day y
                        WHERE y.channel_id = q.c AND y.day BETWEEN d0 AND d1 OFFSET 0) s
    WHERE s.account_id = acct;
END $$;
