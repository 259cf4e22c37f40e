-- 047_raw_versions: the raw data route's version check of an
-- administrator (series_read.c, st_vers_seen_admin) with its plan made once
-- per connection (issue 16).
--
-- The check runs for most raw reads that the server's copy of the answer
-- could serve (raw_cache.h): the ids of the visible channels, the ids of the
-- window's hot rows and the versions of its day blocks, no bytes. As a
-- prepared statement PostgreSQL planned it again on most executions (a
-- custom plan, about 0.4 ms of PostgreSQL CPU against 0.05 ms to run it):
-- it keeps the generic plan only while that costs less than the mean of
-- the custom plans made so far on the connection, and each ANALYZE of a
-- growing series_hot raises the generic plan's cost above a mean made when
-- the table was smaller (measured in the route mix with the window's
-- parameters hidden from the planner: 35-70 % of the executions still
-- planned; with the values in view all of them once series_hot had grown;
-- docs/benchmarks.md, issue 16, ingpg). Here the generic plan is forced, as
-- in mt_monitor_hot() (046). It reads with the calling statement's
-- snapshot (STABLE).
--
-- The same rows as the statement it replaces, in the same order: kind 0
-- the channels (of "ch") of account "acct" with the start of the
-- postmaster as their version, kind 1 the hot rows of the window [w0, w1)
-- (their id; the version 0), kind 2 the day blocks of the channels on the
-- days d0..d1 with the xmin of their row.
CREATE FUNCTION mt_raw_versions(acct bigint, ch bigint[], w0 bigint, w1 bigint, d0 integer,
                                d1 integer)
RETURNS TABLE (r_kind integer, r_id bigint, r_payload bytea, r_day integer, r_ver bigint)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
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
    SELECT 2, s.channel_id, NULL::bytea, s.day, s.xmin::text::bigint FROM series_day s
    WHERE s.account_id = acct AND s.channel_id = ANY(ch) AND s.day BETWEEN d0 AND d1
    ORDER BY 1, 2, 4;
END $$;
