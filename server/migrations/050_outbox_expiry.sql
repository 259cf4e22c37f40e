-- 050_outbox_expiry: outbox rows that must not be sent after a time
-- (docs/notify.md, "Expiry"; docs/auth.md, "E-mail").
--
-- An e-mailed sign-in code goes through the outbox like every other
-- message (the sign-in request no longer talks to the SMTP relay itself).
-- It is useless, and a secret kept for nothing, once the code has expired,
-- so its row carries expires_at: notify_claim() cancels a row claimed at or
-- after it (never sent; a sensitive row's text erased then), a row that
-- waits for a rate slot never waits past it, and the senders' result and
-- the background job keep retries and forgotten rows within it (server
-- code). NULL: no expiry (every other message).
ALTER TABLE notify_outbox ADD COLUMN expires_at timestamptz;

-- notify_claim() of 013 with the expiry: unchanged otherwise.
CREATE OR REPLACE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer)
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
BEGIN
    FOR r IN
        SELECT o.* FROM notify_outbox o
        WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
        ORDER BY o.next_at, o.id
        LIMIT p_limit * 4
        FOR UPDATE SKIP LOCKED
    LOOP
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
END
$$;
