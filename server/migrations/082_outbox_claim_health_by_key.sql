-- metron: older servers compatible
-- 082_outbox_claim_health_by_key: the claim's expiry pass and due scans ask
-- the health of a host by its key, never by reading the whole health table
-- (docs/notify.md, "The claim's checks"; docs/benchmarks.md, "hooks4").
--
-- notify_claim() (079's, kept by 080) leaves out of its expiry pass and due
-- scans the rows of hosts in trouble of an account whose hosts in trouble
-- hold their share (075). It asked "is this row's host in
-- notify_host_health" as an EXISTS (a NOT EXISTS) under an OR, which the
-- planner makes a hashed subplan in the claim's generic plan: the first row
-- of such an account that the scan reached read the whole health table (a
-- row per host with trouble in the last day, of every account) into a hash,
-- once per claim, so a claim's cost grew with the whole service. Now the
-- health is a scalar subquery of its key (which the planner never hashes):
-- one probe of the primary key for each row of such an account that the
-- scan reads, only the rows of hosts that are neither busy nor slow (those
-- are left out before it is asked), as 080 reads it for the claim's
-- checks.
--
-- Every decision is 079's: the same rows left out, in the same order, the
-- same locks, notify_claim_busy() and notify_claim_held() of 080 untouched
-- (a test compares the claims state by state). Same signature, replaced:
-- servers of every version call it alike (the older claims' wrappers too).

-- notify_claim() of 079 (080), the health of a row's host probed by key in
-- its expiry pass and due scans; unchanged otherwise. The older claims
-- (058's 9 arguments, 056's 8, 051's 7) are wrappers that call this one, as
-- before.
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
                                         OR (SELECT true FROM notify_host_health h
                                              WHERE h.host_key = x.host_key))))
                         FOR UPDATE SKIP LOCKED);
    END IF;

    -- While mail is at its limit, the due rows are read from the index of
    -- the webhook rows alone: a backlog of mail is not walked past by
    -- every claim (docs/notify.md). The health of a row's host is a scalar
    -- subquery of its key (082): a NOT EXISTS there was hashed, the whole
    -- health table read once per claim.
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
                                AND (SELECT true FROM notify_host_health h
                                      WHERE h.host_key = o.host_key) IS NULL))))
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
                                AND (SELECT true FROM notify_host_health h
                                      WHERE h.host_key = o.host_key) IS NULL))))
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
