-- 049_raw_read: the raw data route's reads with bytes planned without
-- sequential or bitmap scans, as its administrator's version check is
-- (mt_raw_versions(), 047 and 048; issue 16, pgchecks).
--
-- The route's other statements (series_read.c: a member's version check
-- ser_vers_seen, and the reads with bytes ser_read_seen and
-- ser_read_seen_admin) were prepared statements, and fell into the trap
-- 048 took mt_raw_versions() out of: a generic plan made while series_hot
-- was small (after a compaction emptied it, or a fresh database) scans it
-- whole (and each day block partition), and a connection keeps that plan
-- while the hot table grows until the next ANALYZE. Measured
-- (docs/benchmarks.md, pgchecks): planned with 33 hot rows, then 87 k hot
-- rows added, 16-22 ms a call (87,622 rows removed by the filter) against
-- well under 1 ms with the index scans.
--
-- mt_raw_read() is mt_raw_versions() with the bytes: the payload of each
-- hot row and the data of each day block in the third column. The same
-- plan (the channels by their key, the window's hot rows on
-- series_hot_account_newest bounded from both sides, the largest span
-- backward on series_hot_account_wide, the day blocks by account and
-- day), made once per connection, and enable_sort left on (048: with sorts
-- "disabled" the query passed jit_above_cost). Read with the calling
-- statement's snapshot (STABLE). A member's statements pass it, and
-- mt_raw_versions(), the ids of the channels the member may see (the
-- visibility rules stay in the server's statement, db_series.h): its rows
-- of kind 0 are then those visible ids, and only their day blocks are
-- read.
--
-- Rows, in this order: kind 0 the channels (of "ch") of account "acct"
-- with the start of the postmaster as their version, kind 1 the hot rows
-- of the window [w0, w1) (id, payload; the version 0), kind 2 the day
-- blocks of the channels on the days d0..d1 (channel, data, day, the xmin
-- of their row).
CREATE FUNCTION mt_raw_read(acct bigint, ch bigint[], w0 bigint, w1 bigint, d0 integer,
                            d1 integer)
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
    SELECT 2, s.channel_id, s.data, s.day, s.xmin::text::bigint FROM series_day s
    WHERE s.account_id = acct AND s.channel_id = ANY(ch) AND s.day BETWEEN d0 AND d1
    ORDER BY 1, 2, 4;
END $$;
