-- metron: older servers compatible
-- 079_outbox_slow_trouble: hosts that start hanging together leave the
-- account's other receivers a slot (docs/notify.md, "Hosts that start
-- hanging together (079)").
--
-- 075 holds an account's hosts in trouble (a host whose last attempt got no
-- answer, notify_host_health of 058) to the account's limit less one
-- together, so that its other receivers keep a slot. But hosts that start
-- hanging at the same moment are not known to be in trouble until their
-- first attempts time out: while they look healthy their attempts take
-- every slot of the account (each host within its own limits: 3 + 1 of 4),
-- and the account's notifications to a receiver that answers at once waited
-- for those time-outs (METRON_NOTIFY_TIMEOUT_MS, 10 s by default;
-- docs/benchmarks.md, "hosttrouble": 2.7 s and 5.4-5.7 s with a 3 s
-- time-out).
--
-- 1. An attempt in flight for longer than "slow_ms" (a key of the claim's
-- limits: METRON_NOTIFY_SLOW_MS, 1000 by default, well under the time-out;
-- docs/benchmarks.md, "slowtrouble") now counts its host as in trouble for
-- the account's share of hosts in trouble, as a time-out would, from the
-- moment it passes that age until it ends. The strict host limit (058)
-- still takes the health alone: a host that is slow but answers keeps the
-- healthy limit. The claim sets the new column claimed_at (when its
-- attempt started: the claim's transaction) on the row it takes; a row
-- 'sending' at the migration gets its open attempt's start.
--
-- 2. The slots they took while they looked healthy are held until the
-- time-outs, more than the share: so the account's limit now counts, for a
-- row of a host not in trouble, its attempts to hosts in trouble only up
-- to their share ("account_trouble"). The account's other receivers then
-- have their slot (the account's limit less the share: 1 of 4) once the
-- hosts' attempts are slow, not once they time out. The account's attempts
-- in flight are then at most its limit plus that slot (5 of 4), and only
-- while its hosts in trouble hold more than their share (attempts claimed
-- before the hosts were known, until they end).
--
-- notify_claim_busy() returns a sixth set, the hosts with a slow attempt
-- in flight ("slow_hosts"), and applies the account's limit so; its
-- return type changes, so it is dropped and made anew (as in 065 and
-- 075). notify_claim_held() counts so too (same signature, replaced).
-- notify_claim() (the 6-argument claim) is 075's with the slow hosts in
-- its expiry pass and due scans as hosts in trouble, claimed_at written,
-- and the default "slow_ms" for a caller that names none (a server of
-- before 079, the older claims' wrappers: they claim under the same rule).
-- In notify_claim_busy() and notify_claim_held() called directly, a
-- "slow_ms" left out is no attempt slow (as a limit left out is none).

ALTER TABLE notify_outbox ADD COLUMN claimed_at timestamptz;

-- The rows in flight now: their open attempt's start.
UPDATE notify_outbox o SET claimed_at = a.started_at
  FROM notify_attempts a
 WHERE o.state = 'sending' AND a.account_id = o.account_id AND a.outbox_id = o.id
   AND a.n = o.attempts AND a.outcome IS NULL;

DROP FUNCTION notify_claim_busy(jsonb);

-- The receivers, hosts, accounts and accounts' hosts at their limit now
-- (065), the accounts whose attempts in flight to hosts in trouble hold
-- their share (075) and the hosts with an attempt in flight for longer
-- than "slow_ms" (079), from one read of the attempts in flight (a
-- handful), grouped four ways in one pass. "p_limits" keys (integers):
-- receiver, mail, host, healthy_host, account, account_host,
-- account_trouble, slow_ms; a key left out is no limit (healthy_host: the
-- host's; slow_ms: no attempt is slow). A host is in trouble for the
-- account's share while it has a row in notify_host_health or a slow
-- attempt in flight; the health is read only for a host with at least the
-- strict limit in flight, and for the hosts of an account with at least
-- "account_trouble" attempts in flight. An account is at its limit when
-- its attempts in flight, those to its hosts in trouble counted only up to
-- their share, reach "account", or when they reach "account" plus the
-- slot its other receivers keep ("account" less "account_trouble"). In
-- the grouping set (account, host) both are set; in the set (host) the
-- account is NULL, in (account) the host. One row. A SQL function of one
-- SELECT, STABLE and returning a set, so the planner inlines it into the
-- claim's statement.
CREATE FUNCTION notify_claim_busy(p_limits jsonb)
RETURNS TABLE (busy_routes text[], busy_hosts text[], busy_accounts bigint[],
               busy_pairs text[], trouble_accounts bigint[], slow_hosts text[])
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT f.route, f.host, f.account, count(*) AS n, COALESCE(bool_or(f.slow), false) AS slow
          FROM (SELECT notify_route(o.channel, o.target) AS route, o.host_key AS host,
                       CASE WHEN o.host_key IS NOT NULL THEN o.account_id END AS account,
                       o.claimed_at < now() - COALESCE((p_limits ->> 'slow_ms')::integer,
                                                       2147483647) * interval '1 millisecond'
                           AS slow
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now()) f
         GROUP BY GROUPING SETS ((f.route), (f.host), (f.account), (f.account, f.host))),
    -- An account with at least the share in flight: its attempts to hosts
    -- in trouble added up (the health read for its hosts only).
    t AS (
        SELECT p.account, sum(p.n) AS n
          FROM g a JOIN g p ON p.account = a.account AND p.host IS NOT NULL
         WHERE a.account IS NOT NULL AND a.host IS NULL
           AND a.n >= COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647)
           AND (EXISTS (SELECT 1 FROM g s WHERE s.host = p.host AND s.account IS NULL AND s.slow)
                OR EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = p.host))
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
           -- The account's attempts, those to hosts in trouble beyond their
           -- share left out, at its limit; or all of them at its limit and
           -- the slot kept for its other receivers.
           COALESCE(array_agg(g.account) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NULL
                          AND (g.n - GREATEST(0, COALESCE(t.n, 0)
                                                 - COALESCE((p_limits ->> 'account_trouble')::bigint,
                                                            2147483647))
                                   >= COALESCE((p_limits ->> 'account')::bigint, 2147483647)
                               OR g.n >= COALESCE((p_limits ->> 'account')::bigint, 2147483647)
                                         + GREATEST(0, COALESCE((p_limits ->> 'account')::bigint, 0)
                                                       - COALESCE((p_limits ->> 'account_trouble')
                                                                  ::bigint, 2147483647)))), '{}'),
           COALESCE(array_agg(g.account::text || ' ' || g.host) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> 'account_host')::integer, 2147483647)),
                    '{}'),
           COALESCE((SELECT array_agg(t.account) FROM t
                      WHERE t.n >= COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647)),
                    '{}'),
           COALESCE(array_agg(g.host) FILTER (WHERE g.host IS NOT NULL AND g.account IS NULL
                                                AND g.slow), '{}')
      FROM g LEFT JOIN t ON g.host IS NULL AND t.account = g.account
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
-- limit and the slot its other receivers keep (079).
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
    v_at integer := 0;
    v_slow text[];
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

    SELECT count(*) FILTER (WHERE notify_route(o.channel, o.target) = p_route),
           count(*) FILTER (WHERE o.host_key = p_host),
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key IS NOT NULL),
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key = p_host),
           array_agg(DISTINCT o.host_key) FILTER (
               WHERE o.host_key IS NOT NULL
                 AND o.claimed_at < now() - COALESCE((p_limits ->> 'slow_ms')::integer, 2147483647)
                                            * interval '1 millisecond')
      INTO v_n, v_h, v_a, v_ah, v_slow
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
            -- The account's attempts to its hosts in trouble (075), a host
            -- with a slow attempt in flight among them (079).
            SELECT count(*) INTO v_at
              FROM notify_outbox o
             WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id
               AND o.account_id = p_account_id AND o.host_key IS NOT NULL
               AND (o.host_key = ANY (v_slow)
                    OR EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = o.host_key));
            IF v_trouble OR p_host = ANY (v_slow) THEN
                -- A host in trouble: the account's limit, and its hosts in
                -- trouble together at most their share.
                IF v_a >= v_limit OR v_at >= v_share THEN
                    RETURN;
                END IF;
            ELSIF v_a - GREATEST(0, v_at - v_share) >= v_limit THEN
                -- Another host: those beyond their share (claimed while
                -- they looked healthy) leave it its slot.
                RETURN;
            END IF;
        END IF;
    END IF;
    held := false;
END
$$;

-- notify_claim() of 075, a host with a slow attempt in flight counted as a
-- host in trouble where it leaves out the rows of the accounts whose hosts
-- in trouble hold their share (its expiry pass and due scans), claimed_at
-- written on the row it takes, and the default "slow_ms" for a caller that
-- names none; unchanged otherwise. The older claims (058's 9 arguments,
-- 056's 8, 051's 7) are wrappers that call this one, as before.
CREATE OR REPLACE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                                        p_rate_ms integer[], p_max_failures integer,
                                        p_limits jsonb)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r record;
    v_channel text;
    v_address text;
    v_enabled boolean;
    v_why text;
    v_failures integer;
    v_ms integer;
    v_key text;
    v_slot timestamptz;
    v_n integer;
    v_deferred jsonb := '{}';
    v_taken integer := 0;
    v_attempt bigint;
    v_host text;
    v_busy text[];
    v_hosts text[];
    v_accounts bigint[];
    v_pairs text[];
    v_troubled bigint[];
    v_slow text[];
    v_held integer := 0;
    v_check record;
    due refcursor;
BEGIN
    -- A caller of before 065 (a process of 059 or 063, or the older
    -- claims' wrappers) names no share of an account per host: it gets the
    -- default, the account's limit less one, at least 1.
    IF p_limits ? 'account' AND NOT p_limits ? 'account_host' THEN
        p_limits := p_limits || jsonb_build_object('account_host',
                                                   GREATEST(1, (p_limits ->> 'account')::integer - 1));
    END IF;
    -- Nor one of before 075 a share of an account for its hosts in
    -- trouble: the same default.
    IF p_limits ? 'account' AND NOT p_limits ? 'account_trouble' THEN
        p_limits := p_limits || jsonb_build_object('account_trouble',
                                                   GREATEST(1, (p_limits ->> 'account')::integer - 1));
    END IF;
    -- Nor one of before 079 the age from which an attempt in flight counts
    -- its host as in trouble: the server's default (METRON_NOTIFY_SLOW_MS).
    IF NOT p_limits ? 'slow_ms' THEN
        p_limits := p_limits || jsonb_build_object('slow_ms', 1000);
    END IF;
    SELECT b.busy_routes, b.busy_hosts, b.busy_accounts, b.busy_pairs, b.trouble_accounts,
           b.slow_hosts
      INTO v_busy, v_hosts, v_accounts, v_pairs, v_troubled, v_slow
      FROM notify_claim_busy(p_limits) b;
    -- A busy receiver's, host's, account's or account's host's rows, and
    -- the rows of an account's hosts in trouble while they hold their
    -- share, are not met below: the ones past their expiry (sign-in codes
    -- behind a hung relay) are cancelled here, on time, as the loop would.
    IF cardinality(v_busy) > 0 OR cardinality(v_hosts) > 0 OR cardinality(v_accounts) > 0
       OR cardinality(v_pairs) > 0 OR cardinality(v_troubled) > 0 THEN
        UPDATE notify_outbox o
           SET state = 'cancelled', lease_owner = NULL,
               last_error = 'expired before it could be sent',
               body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
               link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
         WHERE o.id IN (SELECT x.id FROM notify_outbox x
                         WHERE x.state IN ('queued', 'retry') AND x.expires_at <= now()
                           AND (notify_route(x.channel, x.target) = ANY (v_busy)
                                OR x.host_key = ANY (v_hosts)
                                OR (x.host_key IS NOT NULL AND x.account_id = ANY (v_accounts))
                                OR (x.account_id::text || ' ' || x.host_key) = ANY (v_pairs)
                                OR (x.account_id = ANY (v_troubled)
                                    AND (x.host_key = ANY (v_slow)
                                         OR EXISTS (SELECT 1 FROM notify_host_health h
                                                     WHERE h.host_key = x.host_key))))
                         FOR UPDATE SKIP LOCKED);
    END IF;

    -- While mail is at its limit, the due rows are read from the index of
    -- the webhook rows alone: a backlog of mail is not walked past by
    -- every claim (docs/notify.md).
    IF 'mail' = ANY (v_busy) THEN
        OPEN due FOR
            SELECT o.* FROM notify_outbox o
            WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
              AND o.channel <> 'email' AND o.target <> ALL (v_busy)
              AND (o.host_key IS NULL
                   OR (o.host_key <> ALL (v_hosts) AND o.account_id <> ALL (v_accounts)
                       AND (cardinality(v_pairs) = 0
                            OR (o.account_id::text || ' ' || o.host_key) <> ALL (v_pairs))
                       AND (cardinality(v_troubled) = 0 OR o.account_id <> ALL (v_troubled)
                            OR (o.host_key <> ALL (v_slow)
                                AND NOT EXISTS (SELECT 1 FROM notify_host_health h
                                                 WHERE h.host_key = o.host_key)))))
            ORDER BY o.priority, o.next_at, o.id
            LIMIT p_limit * 4
            FOR UPDATE SKIP LOCKED;
    ELSE
        OPEN due FOR
            SELECT o.* FROM notify_outbox o
            WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
              AND notify_route(o.channel, o.target) <> ALL (v_busy)
              AND (o.host_key IS NULL
                   OR (o.host_key <> ALL (v_hosts) AND o.account_id <> ALL (v_accounts)
                       AND (cardinality(v_pairs) = 0
                            OR (o.account_id::text || ' ' || o.host_key) <> ALL (v_pairs))
                       AND (cardinality(v_troubled) = 0 OR o.account_id <> ALL (v_troubled)
                            OR (o.host_key <> ALL (v_slow)
                                AND NOT EXISTS (SELECT 1 FROM notify_host_health h
                                                 WHERE h.host_key = o.host_key)))))
            ORDER BY o.priority, o.next_at, o.id
            LIMIT p_limit * 4
            FOR UPDATE SKIP LOCKED;
    END IF;
    LOOP
        FETCH due INTO r;
        EXIT WHEN NOT FOUND;
        v_failures := r.failures;
        IF r.state = 'sending' THEN
            UPDATE notify_attempts a
               SET outcome = 'lost', ended_at = now(),
                   error = 'the sender stopped or ran out of its lease during this attempt: '
                           'the receiver may or may not have the message'
             WHERE a.account_id = r.account_id AND a.outbox_id = r.id AND a.outcome IS NULL;
            v_failures := v_failures + 1;
            IF v_failures >= p_max_failures THEN
                UPDATE notify_outbox o
                   SET state = 'dead', failures = v_failures, lease_owner = NULL,
                       last_error = 'lost during sending ' || v_failures || ' times',
                       body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
                       link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
                 WHERE o.id = r.id;
                CONTINUE;
            END IF;
        END IF;

        -- Past its expiry (an e-mailed sign-in code that lapsed while the
        -- relay was away): never sent; its secret is erased now.
        IF r.expires_at IS NOT NULL AND r.expires_at <= now() THEN
            UPDATE notify_outbox o
               SET state = 'cancelled', failures = v_failures, lease_owner = NULL,
                   last_error = 'expired before it could be sent',
                   body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
                   link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
             WHERE o.id = r.id;
            CONTINUE;
        END IF;

        v_why := NULL;
        v_channel := r.channel;
        v_address := r.email;
        IF r.target_type = 'destination' THEN
            SELECT d.kind, d.address, d.enabled INTO v_channel, v_address, v_enabled
              FROM notify_destinations d
             WHERE d.account_id = r.account_id AND d.id = r.destination_id;
            IF NOT FOUND THEN
                v_why := 'the destination was deleted';
            ELSIF NOT v_enabled THEN
                v_why := 'the destination is disabled';
            END IF;
        ELSIF r.target_type = 'recipient' THEN
            SELECT s.channel, s.address, s.enabled INTO v_channel, v_address, v_enabled
              FROM system_notification_recipients s
             WHERE s.account_id = r.account_id AND s.id = r.recipient_id;
            IF NOT FOUND THEN
                v_why := 'the recipient was deleted';
            ELSIF NOT v_enabled THEN
                v_why := 'the recipient is disabled';
            END IF;
        END IF;
        IF v_why IS NOT NULL THEN
            UPDATE notify_outbox o
               SET state = 'cancelled', failures = v_failures, lease_owner = NULL,
                   last_error = v_why,
                   body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
                   link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
             WHERE o.id = r.id;
            CONTINUE;
        END IF;

        -- The limits in flight (its channel, target and address as they are
        -- now): at one, the row is left due as it is (a lost attempt's row
        -- becomes a retry) for a later claim.
        v_host := notify_host(v_channel, v_address);
        v_check := notify_claim_held(p_limits, r.id, r.account_id, notify_route(v_channel, r.target),
                                     v_host, v_held);
        v_held := v_check.p_held;
        IF v_check.held THEN
            IF r.state = 'sending' THEN
                UPDATE notify_outbox o
                   SET state = 'retry', failures = v_failures, lease_owner = NULL
                 WHERE o.id = r.id;
            END IF;
            CONTINUE;
        END IF;

        v_ms := CASE v_channel WHEN 'email' THEN p_rate_ms[1] WHEN 'slack' THEN p_rate_ms[2]
                               WHEN 'teams' THEN p_rate_ms[3] ELSE p_rate_ms[4] END;
        IF COALESCE(v_ms, 0) > 0 THEN
            v_key := md5(v_channel || ' ' || v_address);
            v_slot := NULL;
            INSERT INTO notify_rate AS t (account_id, rate_key, next_at)
                 VALUES (r.account_id, v_key, now() + v_ms * interval '1 millisecond')
            ON CONFLICT (account_id, rate_key) DO UPDATE SET next_at = EXCLUDED.next_at
                  WHERE t.next_at <= now()
              RETURNING t.next_at INTO v_slot;
            IF v_slot IS NULL THEN
                -- The receiver's slot is taken: wait behind it (and behind
                -- the rows of the same receiver moved before in this call).
                v_n := COALESCE((v_deferred ->> v_key)::integer, 0);
                v_deferred := jsonb_set(v_deferred, ARRAY[v_key], to_jsonb(v_n + 1));
                UPDATE notify_outbox o
                   SET state = CASE WHEN o.state = 'sending' THEN 'retry' ELSE o.state END,
                       failures = v_failures, lease_owner = NULL,
                       next_at = (SELECT t.next_at FROM notify_rate t
                                   WHERE t.account_id = r.account_id AND t.rate_key = v_key)
                                 + v_n * v_ms * interval '1 millisecond'
                 WHERE o.id = r.id;
                -- Never waits past its expiry (LEAST ignores a NULL one).
                UPDATE notify_outbox o SET next_at = LEAST(o.next_at, o.expires_at)
                 WHERE o.id = r.id AND o.expires_at IS NOT NULL;
                CONTINUE;
            END IF;
        END IF;

        UPDATE notify_outbox o
           SET state = 'sending', attempts = o.attempts + 1, failures = v_failures,
               next_at = now() + p_lease_ms * interval '1 millisecond', lease_owner = p_owner,
               host_key = v_host, claimed_at = now()
         WHERE o.id = r.id;
        INSERT INTO notify_attempts (account_id, outbox_id, n, owner)
             VALUES (r.account_id, r.id, r.attempts + 1, p_owner)
          RETURNING id INTO v_attempt;

        r_id := r.id;
        r_account_id := r.account_id;
        r_attempt_id := v_attempt;
        r_attempt := r.attempts + 1;
        r_failures := v_failures;
        r_channel := v_channel;
        r_address := v_address;
        r_message_id := r.message_id;
        r_kind := r.kind;
        r_key := r.dedupe_key;
        r_language := r.language;
        r_severity := r.severity;
        r_title := r.title;
        r_body := r.body;
        r_fields := r.fields::text;
        r_link_url := r.link_url;
        r_link_label := r.link_label;
        r_created_at := r.created_at;
        RETURN NEXT;
        v_taken := v_taken + 1;
        EXIT WHEN v_taken >= p_limit;
    END LOOP;
    CLOSE due;
END
$$;
