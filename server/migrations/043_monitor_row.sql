-- 043_monitor_row: the group monitor's read of what changes with every
-- batch (series_read_monitor(), issue 16) as one row of arrays instead of a
-- row per app, channel and hot row (mt_monitor_live(), migration 040).
--
-- Measured with the monitor of 32 channels (one app, no hot row newer than
-- channel_latest), the statement prepared as the server prepares it:
-- * mt_monitor_live() sent 33 rows of 8 columns; libpq took each apart
--   (about 39 k of the server's 132 k instructions per request went to
--   PQgetResult()), and PostgreSQL stored and sent each row twice (the
--   function's result, then the outer query's).
-- * Its channel_latest was read twice with the same "= ANY(ch_ids)": once
--   for the rows, once for the oldest time that bounds the hot rows.
-- The function below reads channel_latest once (the arrays and the bound in
-- one aggregate) and answers one row; its plans are made as those of 040
-- (sorts off, the generic plan forced: the newest hot rows always come from
-- an index scan backward of series_hot_account_newest that stops after the
-- page, whatever the statistics were when it was planned).
--
-- Columns: the apps found (of app_ids, in the account) with their
-- connection state and last contact; the channel_latest rows of ch_ids
-- (v NULL for a special value); the first "page" rows of the account's
-- newest hot rows, newest first by (t_max, id), none older than the oldest
-- channel_latest time of the channels (every row when one of them has no
-- channel_latest row). An empty part is NULL (array_agg of no rows).
CREATE FUNCTION mt_monitor_row(acct bigint, app_ids bigint[], ch_ids bigint[], page integer)
RETURNS TABLE (app_id bigint[], app_connected boolean[], app_seen timestamptz[],
               ch_id bigint[], ch_t bigint[], ch_v double precision[], ch_special smallint[],
               hot_id bigint[], hot_t_max bigint[], hot_payload bytea[])
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_sort = off
AS $$
BEGIN
    RETURN QUERY
    SELECT a.id, a.connected, a.seen, l.id, l.t, l.v, l.special, h.id, h.t_max, h.payload
    FROM (SELECT array_agg(p.id) AS id, array_agg(p.connected) AS connected,
                 array_agg(p.last_seen_at) AS seen
          FROM apps p WHERE p.account_id = acct AND p.id = ANY(app_ids)) a,
         (SELECT array_agg(l.channel_id) AS id, array_agg(l.t) AS t, array_agg(l.v) AS v,
                 array_agg(l.special) AS special,
                 CASE WHEN count(*) = cardinality(ch_ids) THEN min(l.t)
                      ELSE '-9223372036854775808'::bigint END AS need
          FROM channel_latest l WHERE l.channel_id = ANY(ch_ids)) l,
         LATERAL (SELECT array_agg(x.id) AS id, array_agg(x.t_max) AS t_max,
                         array_agg(x.payload) AS payload
                  FROM (SELECT r.id, r.t_max, r.payload FROM series_hot r
                        WHERE r.account_id = acct AND r.t_max >= l.need
                        ORDER BY r.t_max DESC, r.id DESC LIMIT page) x) h;
END $$;

-- The monitor's read of 040, no longer called.
DROP FUNCTION mt_monitor_live(bigint, bigint[], bigint[], integer);
