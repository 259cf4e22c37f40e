-- 051_outbox_lanes: what a person waits for goes first, and a slow or hung
-- receiver holds at most a few sender threads (docs/notify.md, "Order and
-- receivers in flight").
--
-- priority: 0 = a person is waiting for this message at a screen (an
-- e-mailed sign-in code, a password reset link, a destination's test send),
-- 1 = everything else (alarms, notices, reports). The claim takes due rows
-- by priority, then due time: a sign-in code never waits behind an alarm
-- storm or a report run. The due index becomes (priority, next_at, id).
--
-- Receivers in flight: an attempt to a hung receiver holds a sender thread
-- up to the time-out. notify_claim() skips a due row whose receiver already
-- has its limit of attempts in flight (rows 'sending' under a live lease, in
-- any process): p_receiver_limit per webhook destination or recipient (one
-- URL), p_mail_limit for all mail together (every mail goes through the one
-- SMTP relay). The others' rows are claimed meanwhile; the skipped rows stay
-- due, untouched, and are claimed once an attempt of theirs ends. A claimer
-- decides on a receiver under a transaction-scoped advisory lock of it, so
-- concurrent claims never exceed the limit (the first receiver of a call is
-- waited for, the later ones only tried: no two claimers wait for each
-- other).
ALTER TABLE notify_outbox ADD COLUMN priority smallint NOT NULL DEFAULT 1
    CHECK (priority IN (0, 1));
UPDATE notify_outbox SET priority = 0
 WHERE state IN ('queued', 'retry', 'sending')
   AND kind IN ('auth.sign_in_code', 'auth.password_reset', 'test');

CREATE INDEX notify_outbox_due_first ON notify_outbox (priority, next_at, id)
    WHERE state IN ('queued', 'retry', 'sending');
-- The same for the webhook rows alone: the claim reads them from here while
-- mail is at its limit.
CREATE INDEX notify_outbox_due_hooks ON notify_outbox (priority, next_at, id)
    WHERE state IN ('queued', 'retry', 'sending') AND channel <> 'email';
DROP INDEX notify_outbox_due;
-- The rows that expire and wait (e-mailed sign-in codes): the claim cancels
-- them past their expiry while their receiver is busy, and so does the
-- background job.
CREATE INDEX notify_outbox_expiring ON notify_outbox (expires_at)
    WHERE state IN ('queued', 'retry') AND expires_at IS NOT NULL;
-- The attempts in flight (a handful: at most the sender threads of all
-- processes, plus leases that ran out).
CREATE INDEX notify_outbox_in_flight ON notify_outbox (next_at) WHERE state = 'sending';

-- The receiver whose attempts are counted together: the mail relay for
-- every e-mail, else the webhook target ('d:<destination id>' or
-- 'r:<recipient id>', globally unique ids).
CREATE FUNCTION notify_route(p_channel text, p_target text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_channel = 'email' THEN 'mail' ELSE p_target END
$$;

DROP FUNCTION notify_claim(text, integer, integer, integer[], integer);

-- notify_claim() of 050 with the priority order and the limits in flight:
-- unchanged otherwise.
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer,
                             p_receiver_limit integer, p_mail_limit integer)
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
    v_route text;
    v_busy text[];
    due refcursor;
    v_locked boolean := false;
BEGIN
    -- The receivers at their limit now: their rows are not even looked at.
    SELECT COALESCE(array_agg(x.route), '{}') INTO v_busy
      FROM (SELECT notify_route(o.channel, o.target) AS route, count(*) AS n
              FROM notify_outbox o
             WHERE o.state = 'sending' AND o.next_at > now()
             GROUP BY 1) x
     WHERE x.n >= CASE WHEN x.route = 'mail' THEN p_mail_limit ELSE p_receiver_limit END;
    -- A busy receiver's rows are not met below: the ones past their expiry
    -- (sign-in codes behind a hung relay) are cancelled here, on time, as
    -- the loop would.
    IF cardinality(v_busy) > 0 THEN
        UPDATE notify_outbox o
           SET state = 'cancelled', lease_owner = NULL,
               last_error = 'expired before it could be sent',
               body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
               link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
         WHERE o.id IN (SELECT x.id FROM notify_outbox x
                         WHERE x.state IN ('queued', 'retry') AND x.expires_at <= now()
                           AND notify_route(x.channel, x.target) = ANY (v_busy)
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
            ORDER BY o.priority, o.next_at, o.id
            LIMIT p_limit * 4
            FOR UPDATE SKIP LOCKED;
    ELSE
        OPEN due FOR
            SELECT o.* FROM notify_outbox o
            WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
              AND notify_route(o.channel, o.target) <> ALL (v_busy)
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

        -- The receiver's attempts in flight (its channel and target as they
        -- are now), decided under its lock: at the limit, the row is left
        -- due as it is (a lost attempt's row becomes a retry) for a later
        -- claim.
        v_route := notify_route(v_channel, r.target);
        -- First key: 'MtNr'. The first receiver of a call is waited for
        -- (another claimer's decision is a statement away); later ones are
        -- only tried, so a claimer holding one never waits for another (no
        -- deadlock between claimers).
        v_n := 0;
        IF NOT v_locked THEN
            PERFORM pg_advisory_xact_lock(1299467890, hashtext(v_route));
            v_locked := true;
        ELSIF NOT pg_try_advisory_xact_lock(1299467890, hashtext(v_route)) THEN
            v_n := 2147483647; -- another claimer is deciding on this receiver
        END IF;
        IF v_n = 0 THEN
            SELECT count(*) INTO v_n FROM notify_outbox o
             WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> r.id
               AND notify_route(o.channel, o.target) = v_route;
        END IF;
        IF v_n >= (CASE WHEN v_route = 'mail' THEN p_mail_limit ELSE p_receiver_limit END) THEN
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
               next_at = now() + p_lease_ms * interval '1 millisecond', lease_owner = p_owner
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
