-- 068_monitor_read: the monitor's read of a group (series_read_monitor())
-- in a function with a kept plan that reaches the group's rows by their
-- keys (issue 16, monscale).
--
-- The server prepared the read as a plain statement (046, 152c39f): the
-- group's apps' app_seen rows by "p.account_id = $1 AND p.app_id =
-- ANY($2)" (apps' own rows before 064), its channels'
-- channel_latest rows by "channel_id = ANY($3)" or, when the ids are a
-- run, "channel_id BETWEEN $5 AND $6", and mt_monitor_hot() (046). A
-- generic plan of it counts 10 apps for an array it cannot see and 0.5 %
-- of channel_latest for a range whose ends it cannot see; a custom plan
-- sees the one app and the 32 channels. With a few accounts the generic
-- plan was estimated as cheap and kept; with many tenants (5,000 accounts,
-- 50,000 apps, 200,000 channel_latest rows: docs/benchmarks.md, monscale)
-- it was estimated dearer than a custom plan and PostgreSQL planned the
-- statement anew on every call (8,194 plans in 8,194 calls; with the
-- tenants' channel_latest rows 5,808 in 7,553). What a monitor read cost
-- grew with the rows of other tenants.
--
-- mt_monitor_read() is that statement, in its two forms, in a plpgsql
-- function with its generic plan forced and sequential and bitmap scans
-- disabled (047, 048, 066): the apps' app_seen rows (064) by its key
-- (account_id, app_id), channel_latest by its key, whatever the
-- statistics were when a connection planned it (a plain statement whose
-- parameters are hidden from the planner in sub-selects keeps a generic
-- plan too, but cannot turn sequential scans off; on apps, before 064,
-- its generic plan read every app of the account through apps_group and
-- filtered the ids). The
-- server's statement is "SELECT * FROM mt_monitor_read(...)": no table of
-- its own, so its generic plan costs what a custom one does and is kept.
--
-- Rows: an app's (id, NULL, connected, last_seen_at, NULL, NULL, NULL) for
-- each app of "app_ids" of account "acct" (its app_seen row); a
-- channel's (channel_id, t, NULL, NULL, v, special or NULL for 0, NULL)
-- for each channel of "ch_ids" with a channel_latest row; then
-- mt_monitor_hot(acct, ch_ids, bound, page)'s rows (id, t_max, NULL,
-- NULL, NULL, NULL, payload), the bound the oldest channel_latest time
-- when every channel has a row. When "lo" and "hi"
-- are given, channel_latest is read as the range lo..hi of its key (the
-- caller passes them only when the ids of "ch_ids" are exactly that run).
-- Unordered (the server sorts what it needs).
CREATE FUNCTION mt_monitor_read(acct bigint, app_ids bigint[], ch_ids bigint[], page integer,
                                lo bigint, hi bigint)
RETURNS TABLE (id bigint, t bigint, connected boolean, last_seen_at timestamptz, v float8,
               special smallint, payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
BEGIN
    IF lo IS NOT NULL AND hi IS NOT NULL THEN
        RETURN QUERY
        WITH l AS MATERIALIZED (
            SELECT cl.channel_id, cl.t, cl.v, cl.special FROM channel_latest cl
            WHERE cl.channel_id BETWEEN lo AND hi)
        SELECT p.app_id, NULL::bigint, p.connected, p.last_seen_at, NULL::float8, NULL::smallint,
               NULL::bytea
        FROM app_seen p WHERE p.account_id = acct AND p.app_id = ANY(app_ids)
        UNION ALL
        SELECT l.channel_id, l.t, NULL, NULL, l.v, NULLIF(l.special, 0), NULL FROM l
        UNION ALL
        SELECT h.id, h.t_max, NULL, NULL, NULL, NULL, h.payload
        FROM mt_monitor_hot(acct, ch_ids,
            (SELECT CASE WHEN count(*) = cardinality(ch_ids) THEN min(l.t) END FROM l), page) h;
        RETURN;
    END IF;
    RETURN QUERY
    WITH l AS MATERIALIZED (
        SELECT cl.channel_id, cl.t, cl.v, cl.special FROM channel_latest cl
        WHERE cl.channel_id = ANY(ch_ids))
    SELECT p.app_id, NULL::bigint, p.connected, p.last_seen_at, NULL::float8, NULL::smallint,
           NULL::bytea
    FROM app_seen p WHERE p.account_id = acct AND p.app_id = ANY(app_ids)
    UNION ALL
    SELECT l.channel_id, l.t, NULL, NULL, l.v, NULLIF(l.special, 0), NULL FROM l
    UNION ALL
    SELECT h.id, h.t_max, NULL, NULL, NULL, NULL, h.payload
    FROM mt_monitor_hot(acct, ch_ids,
        (SELECT CASE WHEN count(*) = cardinality(ch_ids) THEN min(l.t) END FROM l), page) h;
END $$;
