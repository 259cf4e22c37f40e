-- 058_outbox_host_health: the limit per receiving host of 056 applies
-- where it protects (docs/notify.md, "Order and receivers in flight").
--
-- 056 held every webhook host to p_host_limit attempts in flight
-- (METRON_NOTIFY_HOST_LIMIT, 2 of 8 sender threads), across all accounts
-- and processes: a healthy provider that every tenant notifies (a chat
-- service's webhook host) was capped at 2 attempts in flight for the whole
-- service. Now a host whose last attempt ended without an HTTP answer (a
-- time-out or a connection error: the host may be hanging) keeps that
-- strict limit until an attempt to it is answered (any status: a 4xx or
-- 5xx answered is a live host); any other host may have up to
-- p_healthy_host_limit (METRON_NOTIFY_HOST_HEALTHY_LIMIT, half the sender
-- threads by default, as mail).
--
-- A host that starts hanging gets up to the healthy limit of attempts
-- before the first of them times out; from the time-out on, no attempt
-- is claimed while it has the strict limit in flight (the health row is
-- written in the transaction that ends the attempt, so a claim sees the
-- attempt in flight or the host in trouble, never neither).

-- The hosts whose last attempt ended without an answer: a row per such
-- host, deleted when an attempt to it is answered, and by the outbox job
-- (db_outbox_purge()) a day after its last trouble. Written by a trigger on
-- notify_attempts (the sender's outcome, from this process or from one of
-- before 058), read by notify_claim() by its key.
CREATE TABLE notify_host_health (
    host_key   text PRIMARY KEY CHECK (length(host_key) <= 2000),
    failed_at  timestamptz NOT NULL,
    failures   integer NOT NULL DEFAULT 1
);

-- An attempt's end (its outcome set by the sender; not 'lost', which the
-- claim records for a sender that stopped): no status (no HTTP answer:
-- time-out, refused or broken connection, name or TLS failure) marks the
-- row's host in trouble; an answer clears it. Mail (host_key NULL) is left
-- out.
CREATE FUNCTION notify_host_outcome() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_host text;
BEGIN
    SELECT o.host_key INTO v_host FROM notify_outbox o
     WHERE o.account_id = NEW.account_id AND o.id = NEW.outbox_id;
    IF v_host IS NULL THEN
        RETURN NULL;
    END IF;
    IF NEW.status IS NULL AND NEW.outcome IN ('timeout', 'failed') THEN
        INSERT INTO notify_host_health AS h (host_key, failed_at) VALUES (v_host, now())
        ON CONFLICT (host_key) DO UPDATE SET failed_at = now(), failures = h.failures + 1;
    ELSIF NEW.status IS NOT NULL THEN
        DELETE FROM notify_host_health h WHERE h.host_key = v_host;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER notify_attempts_host_health AFTER UPDATE OF outcome ON notify_attempts
    FOR EACH ROW WHEN (OLD.outcome IS NULL AND NEW.outcome IS NOT NULL AND NEW.outcome <> 'lost')
    EXECUTE FUNCTION notify_host_outcome();

-- notify_claim() of 056 with the healthy hosts' limit: unchanged otherwise.
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer,
                             p_receiver_limit integer, p_mail_limit integer,
                             p_host_limit integer, p_healthy_host_limit integer)
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
    v_host text;
    v_hosts text[];
    v_h integer;
    due refcursor;
    v_locked boolean := false;
    v_host_locked boolean := false;
BEGIN
    -- The receivers and the hosts at their limit now: their rows are not
    -- even looked at. One read of the attempts in flight (a handful); a
    -- host's health is read only for a host with at least the strict limit
    -- in flight.
    WITH f AS MATERIALIZED (
        SELECT notify_route(o.channel, o.target) AS route, o.host_key AS host
          FROM notify_outbox o
         WHERE o.state = 'sending' AND o.next_at > now())
    SELECT (SELECT COALESCE(array_agg(x.route), '{}')
              FROM (SELECT f.route FROM f GROUP BY f.route
                    HAVING count(*) >= CASE WHEN f.route = 'mail' THEN p_mail_limit
                                            ELSE p_receiver_limit END) x),
           (SELECT COALESCE(array_agg(y.host), '{}')
              FROM (SELECT f.host FROM f WHERE f.host IS NOT NULL GROUP BY f.host
                    HAVING count(*) >= GREATEST(p_host_limit, p_healthy_host_limit)
                        OR (count(*) >= p_host_limit
                            AND EXISTS (SELECT 1 FROM notify_host_health h
                                         WHERE h.host_key = f.host))) y)
      INTO v_busy, v_hosts;
    -- A busy receiver's or host's rows are not met below: the ones past
    -- their expiry (sign-in codes behind a hung relay) are cancelled here,
    -- on time, as the loop would.
    IF cardinality(v_busy) > 0 OR cardinality(v_hosts) > 0 THEN
        UPDATE notify_outbox o
           SET state = 'cancelled', lease_owner = NULL,
               last_error = 'expired before it could be sent',
               body = CASE WHEN o.sensitive THEN '' ELSE o.body END,
               link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END
         WHERE o.id IN (SELECT x.id FROM notify_outbox x
                         WHERE x.state IN ('queued', 'retry') AND x.expires_at <= now()
                           AND (notify_route(x.channel, x.target) = ANY (v_busy)
                                OR x.host_key = ANY (v_hosts))
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
              AND (o.host_key IS NULL OR o.host_key <> ALL (v_hosts))
            ORDER BY o.priority, o.next_at, o.id
            LIMIT p_limit * 4
            FOR UPDATE SKIP LOCKED;
    ELSE
        OPEN due FOR
            SELECT o.* FROM notify_outbox o
            WHERE o.state IN ('queued', 'retry', 'sending') AND o.next_at <= now()
              AND notify_route(o.channel, o.target) <> ALL (v_busy)
              AND (o.host_key IS NULL OR o.host_key <> ALL (v_hosts))
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

        -- The receiver's and its host's attempts in flight (its channel,
        -- target and address as they are now), decided under their locks:
        -- at either limit, the row is left due as it is (a lost attempt's
        -- row becomes a retry) for a later claim. A host's limit is the
        -- strict one while it is in notify_host_health (its last attempt
        -- ended without an answer), the healthy one otherwise; the health
        -- is looked up only when the strict limit is reached.
        v_route := notify_route(v_channel, r.target);
        v_host := notify_host(v_channel, v_address);
        -- Receiver locks: first key 'MtNr'; host locks: 'MtNh'. The first
        -- receiver of a call is waited for (another claimer's decision is a
        -- statement away), then the first host; later ones are only tried.
        -- A claimer waits for a receiver only holding no lock, and for a
        -- host only holding no host lock (a claimer that holds a host lock
        -- waits for nothing more), so no two claimers wait for each other.
        v_n := 0;
        v_h := 0;
        IF NOT v_locked THEN
            PERFORM pg_advisory_xact_lock(1299467890, hashtext(v_route));
            v_locked := true;
        ELSIF NOT pg_try_advisory_xact_lock(1299467890, hashtext(v_route)) THEN
            v_n := 2147483647; -- another claimer is deciding on this receiver
        END IF;
        IF v_n = 0 AND v_host IS NOT NULL THEN
            IF NOT v_host_locked THEN
                PERFORM pg_advisory_xact_lock(1299467880, hashtext(v_host));
                v_host_locked := true;
            ELSIF NOT pg_try_advisory_xact_lock(1299467880, hashtext(v_host)) THEN
                v_h := 2147483647; -- another claimer is deciding on this host
            END IF;
        END IF;
        IF v_n = 0 AND v_h = 0 THEN
            SELECT count(*) FILTER (WHERE notify_route(o.channel, o.target) = v_route),
                   count(*) FILTER (WHERE o.host_key = v_host)
              INTO v_n, v_h
              FROM notify_outbox o
             WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> r.id;
        END IF;
        IF v_n >= (CASE WHEN v_route = 'mail' THEN p_mail_limit ELSE p_receiver_limit END)
           OR (v_host IS NOT NULL AND v_h >= p_host_limit
               AND (v_h >= p_healthy_host_limit
                    OR EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = v_host))) THEN
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

-- The claims of the processes of before 058 (056's, 8 arguments) and of
-- before 056 (051's, 7 arguments): a process still running while another
-- one migrates keeps sending, its healthy hosts limited to its mail limit
-- (half its threads, 058's default) or its host limit if larger.
CREATE OR REPLACE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                                        p_rate_ms integer[], p_max_failures integer,
                                        p_receiver_limit integer, p_mail_limit integer,
                                        p_host_limit integer)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE sql AS $$
    SELECT * FROM notify_claim(p_owner, p_limit, p_lease_ms, p_rate_ms, p_max_failures,
                               p_receiver_limit, p_mail_limit, p_host_limit,
                               GREATEST(p_host_limit, p_mail_limit))
$$;

CREATE OR REPLACE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                                        p_rate_ms integer[], p_max_failures integer,
                                        p_receiver_limit integer, p_mail_limit integer)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE sql AS $$
    SELECT * FROM notify_claim(p_owner, p_limit, p_lease_ms, p_rate_ms, p_max_failures,
                               p_receiver_limit, p_mail_limit, GREATEST(1, p_mail_limit / 2),
                               GREATEST(1, p_mail_limit))
$$;
