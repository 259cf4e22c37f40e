-- 056_outbox_host_limit: a hung receiving host holds at most a few sender
-- threads, however many destinations point at it (docs/notify.md, "Order
-- and receivers in flight").
--
-- 051 limits the attempts in flight per webhook destination or recipient
-- (one URL). Several destinations on one host (hooks of one chat service,
-- one internal receiver, in one account or many) that hangs each held a
-- sender thread until their attempts timed out: 8 of them held all 8, and
-- healthy receivers and every account's mail waited. notify_claim() now
-- also counts the webhook attempts in flight per receiving host (the URL's
-- host and port: host_key) and skips the rows of a host at p_host_limit,
-- as it skips those of a destination at its limit. Mail keeps its own
-- limit (host_key NULL).
--
-- host_key is filled when a row is queued (from the destination's or
-- recipient's address then), kept when the address or kind is edited
-- (trigger below, for the rows still queued or waiting for a retry), and
-- set from the address the claim reads when the row is claimed, so a row
-- 'sending' carries the host its attempt goes to: the count of a host's
-- attempts in flight reads the few rows 'sending' (index
-- notify_outbox_in_flight), and the due scan skips a busy host's rows by
-- a filter on the row it already reads (no join, no new index on the hot
-- path).

-- The receiving host of a webhook URL: 'host:port', the host lower-cased
-- as written (a name is not resolved: two names of one server are two
-- hosts), the port as a number, 443 for https and 80 for http when the
-- URL gives none. NULL for mail. The URLs are checked when stored
-- (svc_webhook_valid(): scheme, host name or IPv4 address, an optional
-- port of digits, no user info); one that does not parse so is its own
-- host. String functions, no regular expression: about 1 us a call (a
-- regexp_match() form took 45 us), once per row queued and per row the
-- claim decides on.
CREATE FUNCTION notify_host(p_channel text, p_address text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v_hp text;
    v_host text;
    v_port text;
BEGIN
    IF p_channel = 'email' OR p_address IS NULL THEN
        RETURN NULL;
    END IF;
    -- Between '://' and the first '/', '?' or '#'.
    v_hp := split_part(split_part(split_part(split_part(p_address, '://', 2), '/', 1), '?', 1),
                       '#', 1);
    v_host := lower(split_part(v_hp, ':', 1));
    v_port := split_part(v_hp, ':', 2);
    IF position('://' IN p_address) = 0 OR v_host = '' OR split_part(v_hp, ':', 3) <> ''
       OR length(v_port) > 5 OR translate(v_port, '0123456789', '') <> '' THEN
        RETURN lower(p_address);
    END IF;
    RETURN v_host || ':' ||
           CASE WHEN v_port <> '' THEN v_port::integer::text
                WHEN lower(split_part(p_address, '://', 1)) = 'https' THEN '443'
                ELSE '80' END;
END
$$;

ALTER TABLE notify_outbox ADD COLUMN host_key text CHECK (length(host_key) <= 2000);
-- The rows a sender still looks at (the ended ones keep NULL: nothing
-- counts them).
UPDATE notify_outbox o SET host_key = notify_host(d.kind, d.address)
  FROM notify_destinations d
 WHERE o.state IN ('queued', 'retry', 'sending') AND o.target_type = 'destination'
   AND d.account_id = o.account_id AND d.id = o.destination_id;
UPDATE notify_outbox o SET host_key = notify_host(s.channel, s.address)
  FROM system_notification_recipients s
 WHERE o.state IN ('queued', 'retry', 'sending') AND o.target_type = 'recipient'
   AND s.account_id = o.account_id AND s.id = o.recipient_id;

-- An edited address or kind moves the rows still waiting to their new host
-- (a row 'sending' keeps the host its attempt went to; the claim sets the
-- host again from the address it reads).
CREATE FUNCTION notify_host_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'notify_destinations' THEN
        UPDATE notify_outbox o SET host_key = notify_host(NEW.kind, NEW.address)
         WHERE o.state IN ('queued', 'retry') AND o.account_id = NEW.account_id
           AND o.destination_id = NEW.id;
    ELSE
        UPDATE notify_outbox o SET host_key = notify_host(NEW.channel, NEW.address)
         WHERE o.state IN ('queued', 'retry') AND o.account_id = NEW.account_id
           AND o.recipient_id = NEW.id AND o.target_type = 'recipient';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER notify_destinations_host AFTER UPDATE OF kind, address ON notify_destinations
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.address IS DISTINCT FROM NEW.address)
    EXECUTE FUNCTION notify_host_moved();
CREATE TRIGGER system_notification_recipients_host
    AFTER UPDATE OF channel, address ON system_notification_recipients
    FOR EACH ROW WHEN (OLD.channel IS DISTINCT FROM NEW.channel OR OLD.address IS DISTINCT FROM NEW.address)
    EXECUTE FUNCTION notify_host_moved();

DROP FUNCTION notify_claim(text, integer, integer, integer[], integer, integer, integer);

-- notify_claim() of 051 with the limit per host: unchanged otherwise.
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer,
                             p_receiver_limit integer, p_mail_limit integer,
                             p_host_limit integer)
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
    -- even looked at. One read of the attempts in flight (a handful).
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
                    HAVING count(*) >= p_host_limit) y)
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
        -- row becomes a retry) for a later claim.
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
           OR (v_host IS NOT NULL AND v_h >= p_host_limit) THEN
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

-- The claim of 051's senders: a server process of before 056 that is still
-- running while another one migrates (several processes on one database,
-- upgraded one after the other) keeps sending, under the limit per host
-- too (a quarter of its threads: half its mail limit, at least 1), instead
-- of failing every claim until it is restarted.
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
                             p_rate_ms integer[], p_max_failures integer,
                             p_receiver_limit integer, p_mail_limit integer)
RETURNS TABLE (r_id bigint, r_account_id bigint, r_attempt_id bigint, r_attempt integer,
               r_failures integer, r_channel text, r_address text, r_message_id bigint,
               r_kind text, r_key text, r_language text, r_severity text, r_title text,
               r_body text, r_fields text, r_link_url text, r_link_label text,
               r_created_at timestamptz)
LANGUAGE sql AS $$
    SELECT * FROM notify_claim(p_owner, p_limit, p_lease_ms, p_rate_ms, p_max_failures,
                               p_receiver_limit, p_mail_limit, GREATEST(1, p_mail_limit / 2))
$$;
