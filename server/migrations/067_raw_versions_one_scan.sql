-- 067_raw_versions_one_scan: the raw data route's version check
-- mt_raw_versions() (047, 048, 053, 057) reads the day blocks of the
-- channels asked for by one index scan instead of a join (issue 16,
-- rawcheck).
--
-- Its plan is generic and kept (plan_cache_mode), so what a call costs
-- beyond its few rows is mostly the executor's start and end of that plan:
-- in the route mix about half the raw day's requests reach PostgreSQL, and
-- a profile put a quarter of PostgreSQL's CPU there (docs/benchmarks.md,
-- mixgap). 053's day-block branch was four nodes over the index: the
-- distinct ids of "ch" (a function scan under a hash aggregate, whose
-- table is made on every call), a nested loop and, per id, a subquery scan
-- over the partition's index. Now it is one index scan of each partition
-- left after pruning, on its key (channel_id, day), with "channel_id =
-- ANY(ch)" as an index condition: the index reads each distinct id once,
-- in order (a repeated id in "ch" still gives its rows once).
--
-- 053 kept the account out of the index's conditions because a generic
-- plan with "account_id = acct" took the index (account_id, day) and read
-- every channel of the account on those days. "y.account_id + 0 = acct"
-- keeps it a filter on the rows the key finds, so that index cannot serve
-- the account (scripts/bench-reads' plans and trap check).
--
-- The same rows as 057 (scripts/bench-reads md5 with this file): kind 0
-- the channels of "ch" of account "acct" with the start of the postmaster
-- as their version, kind 1 the hot rows of the window [w0, w1) with the
-- version 0 (unchanged), kind 2 the day blocks of those channels of that
-- account on the days d0..d1 with the xmin of their row; in no order, the
-- same signature and SET clauses, read with the calling statement's
-- snapshot (STABLE). mt_raw_read() (the same check with the bytes, whose
-- cost is its rows) is left as it is.
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
    SELECT 2, y.channel_id, NULL::bytea, y.day, y.xmin::text::bigint
    FROM series_day y
    WHERE y.channel_id = ANY(ch) AND y.day BETWEEN d0 AND d1 AND y.account_id + 0 = acct;
END $$;
