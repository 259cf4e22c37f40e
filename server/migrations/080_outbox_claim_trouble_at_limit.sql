-- metron: older servers compatible
-- 080_outbox_claim_trouble_at_limit: the claim reads the account's hosts in
-- trouble only where a decision needs them, and never reads the whole
-- health table (docs/notify.md, "The claim's checks"; docs/benchmarks.md,
-- "hooks3").
--
-- 079 made a claim cost 0.17-0.22 ms of CPU more than 075's wherever an
-- account had its share of attempts in flight (3 or more of 4;
-- docs/benchmarks.md, "slowtrouble"). Two causes, both gone here, every
-- decision left as 079 makes it:
--
-- 1. notify_claim_busy() asked, per host of such an account, "a slow
--    attempt in flight OR a row in notify_host_health" as two EXISTS
--    joined by OR. The planner makes both hashed subplans there: the
--    second reads the whole of notify_host_health into a hash table at
--    every claim (one row per host with trouble in the last day: 0.6-0.7
--    ms a claim at 2,000 hosts). Now the host's slowness is read from its
--    own group of the same read (a join of the grouped rows), and its
--    health, only for a host not slow, by a probe of the health's key (a
--    scalar subquery, which the planner never hashes), as 075 read it. The accounts' attempts to hosts in trouble
--    reach the account's limit only for an account at that limit, so they
--    are looked up only there (a row of "t" per such account).
-- 2. notify_claim_held() gathered the slow hosts (an array of distinct
--    hosts, the age read from the limits for every row in flight) for
--    every row it decided, and counted the account's attempts to hosts in
--    trouble (a second read of the rows in flight) for every row of an
--    account with its share in flight. The decisions need them less
--    often: a row of a host in trouble waits at the account's limit
--    anyway, so the count is needed only below it (as in 075); a row of
--    another host waits only when the account's attempts, those to hosts
--    in trouble beyond their share left out, reach its limit, never below
--    the limit (leaving some out only lowers the count), so the count is
--    needed only at the limit (the slot its other receivers keep, 079).
--    Whether the row's own host is slow is one more count of the one read
--    of the rows in flight (no array, no DISTINCT); the age is worked out
--    once per decision.
--
-- Both functions are replaced with their signatures (the claims of every
-- server version call them alike); notify_claim() is 079's, unchanged.

-- The receivers, hosts, accounts and accounts' hosts at their limit now
-- (065), the accounts whose attempts in flight to hosts in trouble hold
-- their share (075) and the hosts with an attempt in flight for longer
-- than "slow_ms" (079), from one read of the attempts in flight (a
-- handful), grouped four ways in one pass. "p_limits" keys (integers):
-- receiver, mail, host, healthy_host, account, account_host,
-- account_trouble, slow_ms; a key left out is no limit (healthy_host: the
-- host's; slow_ms: no attempt is slow). A host is in trouble for the
-- account's share while it has a row in notify_host_health or a slow
-- attempt in flight; the health is read by key, only for a host with at
-- least the strict limit in flight and for the hosts of an account with at
-- least "account_trouble" attempts in flight (080: never the whole table).
-- An account is at its limit when its attempts in flight, those to its
-- hosts in trouble counted only up to their share, reach "account", or
-- when they reach "account" plus the slot its other receivers keep
-- ("account" less "account_trouble"); the first is worked out only for an
-- account with "account" in flight (080). In the grouping set (account,
-- host) both are set; in the set (host) the account is NULL, in (account)
-- the host. One row. A SQL function of one SELECT, STABLE and returning a
-- set, so the planner inlines it into the claim's statement.
CREATE OR REPLACE FUNCTION notify_claim_busy(p_limits jsonb)
RETURNS TABLE (busy_routes text[], busy_hosts text[], busy_accounts bigint[],
               busy_pairs text[], trouble_accounts bigint[], slow_hosts text[])
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT f.route, f.host, f.account, count(*) AS n, COALESCE(bool_or(f.slow), false) AS slow
          FROM (SELECT notify_route(o.channel, o.target) AS route, o.host_key AS host,
                       CASE WHEN o.host_key IS NOT NULL THEN o.account_id END AS account,
                       o.claimed_at < (SELECT now() - COALESCE((p_limits ->> 'slow_ms')::integer,
                                                               2147483647)
                                                      * interval '1 millisecond') AS slow
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now()) f
         GROUP BY GROUPING SETS ((f.route), (f.host), (f.account), (f.account, f.host))),
    -- An account with at least the share in flight: its attempts to hosts
    -- in trouble added up; a host's slowness from its own group (s), its
    -- health probed by key (a scalar subquery: an EXISTS beside the OR
    -- would be hashed, reading the whole health table).
    t AS (
        SELECT p.account, sum(p.n) AS n
          FROM g a JOIN g p ON p.account = a.account AND p.host IS NOT NULL
               JOIN g s ON s.host = p.host AND s.account IS NULL
         WHERE a.account IS NOT NULL AND a.host IS NULL
           AND a.n >= COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647)
           AND (s.slow OR (SELECT true FROM notify_host_health h WHERE h.host_key = p.host))
         GROUP BY p.account)
    SELECT COALESCE(array_agg(g.route) FILTER (
                        WHERE g.route IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> CASE WHEN g.route = 'mail' THEN 'mail'
                                                                 ELSE 'receiver' END)::integer,
                                              2147483647)), '{}'),
           COALESCE(array_agg(g.host) FILTER (
                        WHERE g.host IS NOT NULL AND g.account IS NULL
                          AND (g.n >= GREATEST(COALESCE((p_limits ->> 'host')::integer, 2147483647),
                                               COALESCE((p_limits ->> 'healthy_host')::integer, 0))
                               OR (g.n >= COALESCE((p_limits ->> 'host')::integer, 2147483647)
                                   AND EXISTS (SELECT 1 FROM notify_host_health h
                                                WHERE h.host_key = g.host)))), '{}'),
           -- The account's attempts at its limit and the slot kept for its
           -- other receivers; or, those to hosts in trouble beyond their
           -- share left out, at its limit (looked up only for an account
           -- with its limit in flight: leaving some out only lowers it).
           COALESCE(array_agg(g.account) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NULL
                          AND g.n >= COALESCE((p_limits ->> 'account')::bigint, 2147483647)
                          AND (g.n >= COALESCE((p_limits ->> 'account')::bigint, 2147483647)
                                      + GREATEST(0, COALESCE((p_limits ->> 'account')::bigint, 0)
                                                    - COALESCE((p_limits ->> 'account_trouble')
                                                               ::bigint, 2147483647))
                               OR g.n - GREATEST(0, COALESCE((SELECT t.n FROM t
                                                               WHERE t.account = g.account), 0)
                                                    - COALESCE((p_limits ->> 'account_trouble')
                                                               ::bigint, 2147483647))
                                  >= COALESCE((p_limits ->> 'account')::bigint, 2147483647))),
                    '{}'),
           COALESCE(array_agg(g.account::text || ' ' || g.host) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> 'account_host')::integer, 2147483647)),
                    '{}'),
           COALESCE((SELECT array_agg(t.account) FROM t
                      WHERE t.n >= COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647)),
                    '{}'),
           COALESCE(array_agg(g.host) FILTER (WHERE g.host IS NOT NULL AND g.account IS NULL
                                                AND g.slow), '{}')
      FROM g
$$;

-- Whether row "p_id" (of account "p_account_id", receiver "p_route", host
-- "p_host": NULL for mail) must wait because its receiver, its host, (a
-- webhook) its account, its account's attempts to its host or (its host in
-- trouble) its account's attempts to hosts in trouble have their limit in
-- flight, the row itself left out of the count (a lost attempt's row).
-- A host is in trouble for the account's share (075) while it has a row in
-- notify_host_health or an attempt in flight for longer than "slow_ms"
-- (079); for the strict host limit (058) by its health alone. For a row of
-- a host not in trouble the account's attempts to hosts in trouble count
-- only up to their share, and all of them at most up to the account's
-- limit and the slot its other receivers keep (079). The account's
-- attempts to hosts in trouble are counted only where the decision needs
-- them (080): for a row of a host in trouble below the account's limit,
-- for a row of another host at it.
-- Decided under transaction-scoped advisory locks as in 059 and 065, held
-- until the claim commits: first key 'MtNr' for a receiver, 'MtNh' for a
-- host, 'MtNa' for an account; the account's host and the account's hosts
-- in trouble need none of their own (a row of them is decided under its
-- account's). "p_held" (in and out) says which kinds of lock the caller's
-- transaction holds: 1 a receiver's, 2 a host's, 4 an account's. A claimer
-- waits for a receiver's lock only holding no lock, for a host's only
-- holding no host's or account's lock, for an account's only holding no
-- account's lock; otherwise the lock is only tried, and a lock taken by
-- another claimer makes the row wait (for the next claim). A waiting
-- claimer thus holds only locks of kinds taken before the one it waits for
-- (receiver, then host, then account), so no two claimers wait for each
-- other.
CREATE OR REPLACE FUNCTION notify_claim_held(p_limits jsonb, p_id bigint, p_account_id bigint,
                                             p_route text, p_host text, INOUT p_held integer,
                                             OUT held boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer := 0;
    v_h integer := 0;
    v_a integer := 0;
    v_ah integer := 0;
    v_hs integer := 0;
    v_at integer := 0;
    v_slow_at timestamptz;
    v_host_limit integer;
    v_limit bigint;
    v_share bigint;
    v_trouble boolean := false;
BEGIN
    held := true;
    IF p_held = 0 THEN
        PERFORM pg_advisory_xact_lock(1299467890, hashtext(p_route));
        p_held := 1;
    ELSIF NOT pg_try_advisory_xact_lock(1299467890, hashtext(p_route)) THEN
        RETURN; -- another claimer is deciding on this receiver
    ELSE
        p_held := p_held | 1;
    END IF;
    IF p_host IS NOT NULL THEN
        IF p_held & 6 = 0 THEN
            PERFORM pg_advisory_xact_lock(1299467880, hashtext(p_host));
        ELSIF NOT pg_try_advisory_xact_lock(1299467880, hashtext(p_host)) THEN
            RETURN; -- another claimer is deciding on this host
        END IF;
        p_held := p_held | 2;
        IF p_held & 4 = 0 THEN
            PERFORM pg_advisory_xact_lock(1299467873, (p_account_id % 2147483647)::integer);
        ELSIF NOT pg_try_advisory_xact_lock(1299467873, (p_account_id % 2147483647)::integer) THEN
            RETURN; -- another claimer is deciding on this account
        END IF;
        p_held := p_held | 4;
    END IF;

    -- An attempt claimed before this is slow (079); no "slow_ms": none is.
    -- Worked out once: 079 read the age from the limits for every row.
    v_slow_at := now() - COALESCE((p_limits ->> 'slow_ms')::integer, 2147483647)
                         * interval '1 millisecond';
    SELECT count(*) FILTER (WHERE notify_route(o.channel, o.target) = p_route),
           count(*) FILTER (WHERE o.host_key = p_host),
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key IS NOT NULL),
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key = p_host),
           count(*) FILTER (WHERE o.host_key = p_host AND o.claimed_at < v_slow_at)
      INTO v_n, v_h, v_a, v_ah, v_hs
      FROM notify_outbox o
     WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id;
    IF v_n >= COALESCE((p_limits ->> CASE WHEN p_route = 'mail' THEN 'mail' ELSE 'receiver' END)
                       ::integer, 2147483647) THEN
        RETURN;
    END IF;
    IF p_host IS NOT NULL THEN
        v_limit := COALESCE((p_limits ->> 'account')::bigint, 2147483647);
        v_share := LEAST(COALESCE((p_limits ->> 'account_trouble')::bigint, 2147483647), v_limit);
        -- The account's limit and the slot its other receivers keep (079),
        -- and one host's share of the account (065).
        IF v_a >= v_limit + (v_limit - v_share)
           OR v_ah >= COALESCE((p_limits ->> 'account_host')::integer, 2147483647) THEN
            RETURN;
        END IF;
        -- The strict limit while the host is in trouble (058), the healthy
        -- one otherwise; the health is looked up only at the strict limit,
        -- or where the account's hosts in trouble could hold their share
        -- (the account has at least that many attempts in flight).
        v_host_limit := COALESCE((p_limits ->> 'host')::integer, 2147483647);
        IF v_h >= v_host_limit OR v_a >= v_share THEN
            v_trouble := EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = p_host);
            IF v_h >= v_host_limit
               AND (v_h >= GREATEST(v_host_limit, COALESCE((p_limits ->> 'healthy_host')::integer, 0))
                    OR v_trouble) THEN
                RETURN;
            END IF;
        END IF;
        IF v_a >= v_share THEN
            -- Its host in trouble for the share: by its health or a slow
            -- attempt in flight (079).
            v_trouble := v_trouble OR v_hs > 0;
            IF v_trouble AND v_a >= v_limit THEN
                RETURN; -- a host in trouble: the account's limit
            END IF;
            -- A host in trouble below the account's limit waits while the
            -- account's hosts in trouble hold their share (075); another
            -- host at the account's limit while they hold no more than
            -- their share (those beyond it, claimed while they looked
            -- healthy, leave it its slot: 079). Another host below the
            -- limit never waits here: nothing to count.
            IF v_trouble OR v_a >= v_limit THEN
                -- The slow hosts as an array made once, the health by key
                -- (a scalar subquery: never a hashed read of the table).
                SELECT count(*) INTO v_at
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id
                   AND o.account_id = p_account_id AND o.host_key IS NOT NULL
                   AND (o.host_key = ANY (ARRAY(SELECT s.host_key FROM notify_outbox s
                                                 WHERE s.state = 'sending' AND s.next_at > now()
                                                   AND s.id <> p_id AND s.host_key IS NOT NULL
                                                   AND s.claimed_at < v_slow_at))
                        OR (SELECT true FROM notify_host_health h WHERE h.host_key = o.host_key));
                IF v_trouble THEN
                    IF v_at >= v_share THEN
                        RETURN;
                    END IF;
                ELSIF v_a - GREATEST(0, v_at - v_share) >= v_limit THEN
                    RETURN;
                END IF;
            END IF;
        END IF;
    END IF;
    held := false;
END
$$;
