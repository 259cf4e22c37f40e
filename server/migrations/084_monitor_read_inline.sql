-- metron: older servers compatible
-- 084_monitor_read_inline: the monitor's read (mt_monitor_read(), 068)
-- reads the account's newest hot rows in its own statement when every
-- channel has a channel_latest row, instead of through a call of
-- mt_monitor_hot() (046) (issue 16, moncache).
--
-- Measured (docs/benchmarks.md, "The monitor's read in the mix"): in the
-- route mix a read finds its 32 channels in the account's newest hot row
-- (the group's gateway is the only app that sends into its account) and
-- decodes about one row of 768 bytes; what it costs is PostgreSQL's work
-- per statement and per row, not the hot rows. With callgrind on a copy of
-- the kept bench database (postgres --single, a prepared EXECUTE of the
-- read with its rows summed, per execution, 134 k of it the EXECUTE and
-- its parameters): 068's read of a run of 32 ids 621 k instructions, this
-- one 558 k; with a channel without a channel_latest row 1,034 k and
-- 1,013 k. The call of mt_monitor_hot() alone (a plpgsql call with its
-- SET options, its statement and the rows it hands back) was about 67 k.
--
-- Now, for a group whose channel ids are a run (lo..hi: the usual group, a
-- device's channels), the function first takes the channels' count and
-- oldest time from channel_latest (an aggregate over the same index range),
-- and when every channel has a row it returns the apps' app_seen rows, the
-- channel_latest rows and the account's first page of hot rows no older
-- than that time in one statement (the hot part as mt_monitor_hot() reads
-- it with a bound: newest first by (t_max, id), by the index
-- series_hot_account_newest backward, sorts off as there). Otherwise
-- (a channel without a channel_latest row: its samples are still hot, or it
-- never sent, 046) the same rows with mt_monitor_hot() given no bound, as
-- 068's statement gave it then: it looks the channels up. A group whose
-- ids are not a run is read by 068's statement as before: its "= ANY" of
-- the ids is a descent of the index per channel, and taking them twice
-- cost more than the call it saves (771 k instructions with 068's
-- statement, 866 k in the form above, measured as above). Both statements
-- of a call read with the calling statement's snapshot (STABLE): the bound
-- and the rows are of one state.
--
-- The same arguments and the same rows as 068's function (tests/server/
-- monitor_read.test.mjs compares the two on the same states), so servers of
-- before keep calling it: older servers compatible.
CREATE OR REPLACE FUNCTION mt_monitor_read(acct bigint, app_ids bigint[], ch_ids bigint[],
                                           page integer, lo bigint, hi bigint)
RETURNS TABLE (id bigint, t bigint, connected boolean, last_seen_at timestamptz, v float8,
               special smallint, payload bytea)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
AS $$
DECLARE
    n_latest bigint;
    need bigint;
BEGIN
    IF lo IS NOT NULL AND hi IS NOT NULL THEN
        SELECT count(*), min(cl.t) INTO n_latest, need FROM channel_latest cl
        WHERE cl.channel_id BETWEEN lo AND hi;
        IF n_latest = cardinality(ch_ids) THEN
            RETURN QUERY
            SELECT p.app_id, NULL::bigint, p.connected, p.last_seen_at, NULL::float8,
                   NULL::smallint, NULL::bytea
            FROM app_seen p WHERE p.account_id = acct AND p.app_id = ANY(app_ids)
            UNION ALL
            SELECT cl.channel_id, cl.t, NULL, NULL, cl.v, NULLIF(cl.special, 0), NULL
            FROM channel_latest cl WHERE cl.channel_id BETWEEN lo AND hi
            UNION ALL
            (SELECT h.id, h.t_max, NULL, NULL, NULL, NULL, h.payload FROM series_hot h
             WHERE h.account_id = acct AND h.t_max >= need
             ORDER BY h.t_max DESC, h.id DESC LIMIT page);
            RETURN;
        END IF;
        -- A channel without a channel_latest row: no bound (NULL), as 068
        -- passed it; mt_monitor_hot() looks the channels up.
        RETURN QUERY
        SELECT p.app_id, NULL::bigint, p.connected, p.last_seen_at, NULL::float8,
               NULL::smallint, NULL::bytea
        FROM app_seen p WHERE p.account_id = acct AND p.app_id = ANY(app_ids)
        UNION ALL
        SELECT cl.channel_id, cl.t, NULL, NULL, cl.v, NULLIF(cl.special, 0), NULL
        FROM channel_latest cl WHERE cl.channel_id BETWEEN lo AND hi
        UNION ALL
        SELECT h.id, h.t_max, NULL, NULL, NULL, NULL, h.payload
        FROM mt_monitor_hot(acct, ch_ids, NULL, page) h;
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
