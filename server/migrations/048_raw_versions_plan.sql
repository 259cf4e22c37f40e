-- 048_raw_versions_plan: mt_raw_versions() (047) planned without
-- sequential or bitmap scans (issue 16, pgreads).
--
-- 047 forced the function's generic plan, which PostgreSQL makes on a
-- connection's first call and again after each ANALYZE of a table it reads.
-- A plan made while series_hot was small (after a compaction emptied it, or
-- a fresh database) scans series_hot whole (and each day block partition),
-- and the connection keeps that plan while the hot table grows until the
-- next ANALYZE, which autovacuum runs a minute or more later under a burst
-- of batches. Measured (docs/benchmarks.md, pgreads): planned with 33 hot
-- rows, then 44 k hot rows added, 10.9-17.2 ms per call (every hot row
-- read and filtered out) against 0.08 ms with this plan; in the kept
-- benchmark right after its set-up the raw day alone cost PostgreSQL
-- 672-715 us per request (17 ms a version check) until the plans were
-- made again. Without sequential and bitmap scans the only plans left
-- are the index scans of the large-table plan: the channels by their key,
-- the window's hot rows on series_hot_account_newest bounded from both
-- sides, the largest span on the partial index series_hot_account_wide
-- (backward, one row), the day blocks by account and day. A bitmap scan
-- of series_hot_account_newest for the largest span would read every hot
-- row of the account.
--
-- enable_sort stays on: the rows' ORDER BY needs a sort whatever the plan,
-- and with sorts "disabled" its cost passes jit_above_cost (measured: JIT
-- compiled the query on every call, 165-250 ms a call).
--
-- The same rows as 047, in the same order, read with the calling
-- statement's snapshot (STABLE): kind 0 the channels (of "ch") of account
-- "acct" with the start of the postmaster as their version, kind 1 the hot
-- rows of the window [w0, w1) (their id; the version 0), kind 2 the day
-- blocks of the channels on the days d0..d1 with the xmin of their row.
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
    SELECT 2, s.channel_id, NULL::bytea, s.day, s.xmin::text::bigint FROM series_day s
    WHERE s.account_id = acct AND s.channel_id = ANY(ch) AND s.day BETWEEN d0 AND d1
    ORDER BY 1, 2, 4;
END $$;
