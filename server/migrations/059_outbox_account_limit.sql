-- 059_outbox_account_limit: one account holds at most a share of the
-- sender threads, however many receiving hosts its webhooks name
-- (docs/notify.md, "Order and receivers in flight").
--
-- 056 and 058 limit the attempts in flight per receiving host, and a host
-- is its name as written: an account whose destinations name one hung
-- server by many names, or many servers of one network that hangs, held a
-- sender thread per destination and could take every thread of every
-- process; every other tenant's alarms and reports then waited. The claim
-- now also counts the webhook attempts in flight per account (rows
-- 'sending' under a live lease with a host, in every process) and skips
-- the webhook rows of an account at its limit (METRON_NOTIFY_ACCOUNT_LIMIT,
-- half the sender threads by default). Mail is not counted and not held
-- back: it has its own limit (the relay's), and sign-in codes go by mail.
--
-- The checks of the limits move out of notify_claim() into two functions,
-- and the limits travel as one jsonb argument, so that a later limit
-- checked row by row is a new definition of notify_claim_held() (and a key
-- more from the server), not another copy of the whole claim (one whose
-- rows should also stay out of the due scan changes notify_claim_busy()
-- and that scan as well):
--   notify_claim_busy(limits): the receivers, hosts and accounts at their
--     limit now, read once per claim (their rows are not even looked at);
--   notify_claim_held(limits, ...): one row's decision, under the advisory
--     locks of its receiver, host and account: at a limit or not.
-- notify_claim(owner, limit, lease_ms, rate_ms, max_failures, limits) is
-- 058's claim with those two calls in place of its own checks; the older
-- signatures (058's 9 arguments, 056's 8 and 051's 7) become wrappers.

-- The receivers, hosts and accounts at their limit now, from one read of
-- the attempts in flight (a handful), grouped three ways in one pass.
-- "p_limits" keys (integers): receiver, mail, host, healthy_host,
-- account; a key left out is no limit (healthy_host: the host's). A host's
-- health is read only for a host with at least the strict limit in flight.
-- An account's webhook attempts are its rows with a host (the claim writes
-- the host of the address it sends to; mail has none). One row. A SQL
-- function of one SELECT, STABLE and returning a set, so the planner
-- inlines it into the claim's statement (as PL/pgSQL, or with a subquery
-- per grouping as 058 had, it took 5-8 us of CPU more a claim).
CREATE FUNCTION notify_claim_busy(p_limits jsonb)
RETURNS TABLE (busy_routes text[], busy_hosts text[], busy_accounts bigint[])
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT f.route, f.host, f.account, count(*) AS n
          FROM (SELECT notify_route(o.channel, o.target) AS route, o.host_key AS host,
                       CASE WHEN o.host_key IS NOT NULL THEN o.account_id END AS account
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now()) f
         GROUP BY GROUPING SETS ((f.route), (f.host), (f.account)))
    SELECT COALESCE(array_agg(g.route) FILTER (
                        WHERE g.route IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> CASE WHEN g.route = 'mail' THEN 'mail'
                                                                 ELSE 'receiver' END)::integer,
                                              2147483647)), '{}'),
           COALESCE(array_agg(g.host) FILTER (
                        WHERE g.host IS NOT NULL
                          AND (g.n >= GREATEST(COALESCE((p_limits ->> 'host')::integer, 2147483647),
                                               COALESCE((p_limits ->> 'healthy_host')::integer, 0))
                               OR (g.n >= COALESCE((p_limits ->> 'host')::integer, 2147483647)
                                   AND EXISTS (SELECT 1 FROM notify_host_health h
                                                WHERE h.host_key = g.host)))), '{}'),
           COALESCE(array_agg(g.account) FILTER (
                        WHERE g.account IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> 'account')::integer, 2147483647)), '{}')
      FROM g
$$;

-- Whether row "p_id" (of account "p_account_id", receiver "p_route", host
-- "p_host": NULL for mail) must wait because its receiver, its host or (a
-- webhook) its account has its limit of attempts in flight, the row itself
-- left out of the count (a lost attempt's row). Decided under
-- transaction-scoped advisory locks, held until the claim commits: first
-- key 'MtNr' for a receiver, 'MtNh' for a host, 'MtNa' for an account.
-- "p_held" (in and out) says which kinds of lock the caller's transaction
-- holds: 1 a receiver's, 2 a host's, 4 an account's. A claimer waits for
-- a receiver's lock only holding no lock, for a host's only holding no
-- host's or account's lock, for an account's only holding no account's
-- lock; otherwise the lock is only tried, and a lock taken by another
-- claimer makes the row wait (for the next claim). A waiting claimer thus
-- holds only locks of kinds taken before the one it waits for (receiver,
-- then host, then account), so no two claimers wait for each other.
CREATE FUNCTION notify_claim_held(p_limits jsonb, p_id bigint, p_account_id bigint,
                                  p_route text, p_host text, INOUT p_held integer,
                                  OUT held boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer := 0;
    v_h integer := 0;
    v_a integer := 0;
    v_host_limit integer;
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
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key IS NOT NULL)
      INTO v_n, v_h, v_a
      FROM notify_outbox o
     WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id;
    IF v_n >= COALESCE((p_limits ->> CASE WHEN p_route = 'mail' THEN 'mail' ELSE 'receiver' END)
                       ::integer, 2147483647) THEN
        RETURN;
    END IF;
    IF p_host IS NOT NULL THEN
        IF v_a >= COALESCE((p_limits ->> 'account')::integer, 2147483647) THEN
            RETURN;
        END IF;
        -- The strict limit while the host is in trouble (058), the healthy
        -- one otherwise; the health is looked up only at the strict limit.
        v_host_limit := COALESCE((p_limits ->> 'host')::integer, 2147483647);
        IF v_h >= v_host_limit
           AND (v_h >= GREATEST(v_host_limit, COALESCE((p_limits ->> 'healthy_host')::integer, 0))
                OR EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = p_host)) THEN
            RETURN;
        END IF;
    END IF;
    held := false;
END
$$;

-- notify_claim() of 058 with its limits in "p_limits" (above) and checked
-- by the two functions above: unchanged otherwise (the account's limit is
-- new). The webhook rows of a busy account are skipped by the due scan as
-- those of a busy host are (a filter on the rows it reads).
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer, p_limits jsonb)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE plpgsql AS $$
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
    v_held integer := 0;
    v_check record;
    due refcursor;
BEGIN
    SELECT b.busy_routes, b.busy_hosts, b.busy_accounts INTO v_busy, v_hosts, v_accounts
      FROM notify_claim_busy(p_limits) b;
    -- A busy receiver's, host's or account's rows are not met below: the
    -- ones past their expiry (sign-in codes behind a hung relay) are
    -- cancelled here, on time, as the loop would.
    IF cardinality(v_busy) > 0 OR cardinality(v_hosts) > 0 OR cardinality(v_accounts) > 0 THEN
        UPDATE notify_outbox o
           SET state = 'cancelled', lease_owner = NULL,
               last_error = 'expired before it could be sent',
               body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
               link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
         WHERE o.id IN (SELECT x.id FROM notify_outbox x
                         WHERE x.state IN ('queued', 'retry') AND x.expires_at <= now()
                           AND (notify_route(x.channel, x.target) = ANY (v_busy)
                                OR x.host_key = ANY (v_hosts)
                                OR (x.host_key IS NOT NULL AND x.account_id = ANY (v_accounts)))
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
                   OR (o.host_key <> ALL (v_hosts) AND o.account_id <> ALL (v_accounts)))
            ORDER BY o.priority, o.next_at, o.id
            LIMIT p_limit * 4
            FOR UPDATE SKIP LOCKED;
    ELSE
        OPEN due FOR
            SELECT o.* FROM notify_outbox o
            WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
              AND notify_route(o.channel, o.target) <> ALL (v_busy)
              AND (o.host_key IS NULL
                   OR (o.host_key <> ALL (v_hosts) AND o.account_id <> ALL (v_accounts)))
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
               host_key = v_host
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

-- The claim of the processes of before 059 (058's, 9 arguments): a process
-- still running while another one migrates keeps sending, its accounts
-- limited to its mail limit (half its threads, 059's default). 056's
-- 8-argument and 051's 7-argument claims call this one (058), unchanged.
CREATE OR REPLACE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                                        p_rate_ms integer[], p_max_failures integer,
                                        p_receiver_limit integer, p_mail_limit integer,
                                        p_host_limit integer, p_healthy_host_limit integer)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE sql AS $$
    SELECT * FROM notify_claim(p_owner, p_limit, p_lease_ms, p_rate_ms, p_max_failures,
                               jsonb_build_object('receiver', p_receiver_limit,
                                                  'mail', p_mail_limit,
                                                  'host', p_host_limit,
                                                  'healthy_host', p_healthy_host_limit,
                                                  'account', GREATEST(1, p_mail_limit)))
$$;
