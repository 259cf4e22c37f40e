-- 040_monitor_live: the group monitor's read of what changes with every
-- batch (series_read_monitor(), issue 16) as functions whose plans cannot
-- read the whole hot table, and that are planned once per connection.
--
-- Measured with the monitor's one statement (ser_monitor_live) prepared by
-- the server:
-- * Its page size was a parameter (LIMIT $4): the generic plan, costed for a
--   tenth of the table, never beat a custom plan, so PostgreSQL planned the
--   statement again on every request: half of the backend's CPU per monitor
--   request (about 100 of 200 us) went to the planner.
-- * With a constant page, the generic plan is kept, but it is made from the
--   size series_hot has when it is made: on a quiet store (a few rows) it is
--   a sequential scan and a sort, kept while the table grows between two
--   ANALYZEs (22 ms per request with 34,000 hot rows instead of 0.2 ms).
-- The functions below plan their statements with sorts off (every plan
-- that reads more rows than the page sorts them: a sequential or a bitmap
-- scan) and with the generic plan forced: the newest rows always come from
-- an index scan backward of series_hot_account_newest that stops after the
-- page, whatever the statistics were, and no request is planned twice on
-- one connection.

-- The apps' connection state and last contact (kind 0), the channels' rows
-- of channel_latest (1), and the first "page" rows of the account's newest
-- hot rows (2), newest first by (t_max, id), none older than the oldest
-- channel_latest time of the channels (every row when one of them has no
-- channel_latest row).
CREATE FUNCTION mt_monitor_live(acct bigint, app_ids bigint[], ch_ids bigint[], page integer)
RETURNS TABLE (kind smallint, id bigint, t bigint, connected boolean, seen timestamptz,
               v double precision, special smallint, payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_sort = off
AS $$
BEGIN
    RETURN QUERY
    SELECT 0::smallint, p.id, NULL::bigint, p.connected, p.last_seen_at, NULL::float8,
           NULL::smallint, NULL::bytea
    FROM apps p WHERE p.account_id = acct AND p.id = ANY(app_ids)
    UNION ALL
    SELECT 1::smallint, l.channel_id, l.t, NULL, NULL, l.v, l.special, NULL
    FROM channel_latest l WHERE l.channel_id = ANY(ch_ids)
    UNION ALL
    (SELECT 2::smallint, h.id, h.t_max, NULL, NULL, NULL, NULL, h.payload
     FROM series_hot h
     WHERE h.account_id = acct AND h.t_max >= (
         SELECT CASE WHEN count(*) = cardinality(ch_ids) THEN min(l.t)
                     ELSE '-9223372036854775808'::bigint END
         FROM channel_latest l WHERE l.channel_id = ANY(ch_ids))
     ORDER BY h.t_max DESC, h.id DESC LIMIT page);
END $$;

-- The next page of the account's newest hot rows: rows strictly before the
-- cursor (t_max, id), none older than "need" (series_read_monitor()'s later
-- pages and series_read_hot_latest()).
CREATE FUNCTION mt_hot_newest(acct bigint, need bigint, cur_t bigint, cur_id bigint,
                              page integer)
RETURNS TABLE (id bigint, t_max bigint, payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_sort = off
AS $$
BEGIN
    RETURN QUERY
    SELECT h.id, h.t_max, h.payload FROM series_hot h
    WHERE h.account_id = acct AND h.t_max >= need AND h.t_max <= cur_t
      AND (h.t_max < cur_t OR h.id < cur_id)
    ORDER BY h.t_max DESC, h.id DESC LIMIT page;
END $$;
