-- 013_outbox: notification destinations (R8) and the durable outbox through
-- which every outgoing notification goes (issue #13 item 6; docs/notify.md).
--
-- A service writes outbox rows with svc_notify_enqueue() inside its own
-- transaction (an alarm event and its notifications commit together, or
-- neither does). The sender threads of every server process claim due rows
-- with notify_claim() (FOR UPDATE SKIP LOCKED plus a lease), send them, and
-- record each attempt in notify_attempts.

-- ------------------------------------------------------------ destinations
-- R8: where alarm notifications go. "address" is an e-mail address or the
-- webhook URL (a secret: the API never returns it whole).
CREATE TABLE notify_destinations (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('email', 'slack', 'teams', 'wechat')),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    address      text NOT NULL CHECK (length(address) BETWEEN 3 AND 2000),
    language     text NOT NULL DEFAULT 'en'
                 CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, kind, address)
);
CREATE TRIGGER notify_destinations_touch BEFORE UPDATE ON notify_destinations
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ------------------------------------------------------------------ outbox
-- One row per (message, target). All rows of one svc_notify_enqueue() call
-- share message_id. (account_id, dedupe_key, target) is unique: enqueueing
-- the same key for the same target again inserts nothing.
--
-- target: 'd:<destination id>', 'r:<recipient id>' (G4), 'u:<user id>' or
-- 'e:<address>'. The address of a destination or recipient is read when the
-- row is claimed (an edited webhook URL applies to queued retries; a
-- deleted or disabled one cancels them); users and plain addresses are
-- copied into "email" at enqueue time.
--
-- state: queued -> sending -> sent | retry -> sending ... | dead | cancelled.
-- next_at: when a queued/retry row is due; while sending, the end of the
-- sender's lease (after it, another sender may take the row again).
CREATE SEQUENCE notify_message_seq AS bigint;

CREATE TABLE notify_outbox (
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      bigint NOT NULL,
    dedupe_key      text NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    target          text NOT NULL CHECK (target ~ '^[drue]:.'),
    target_type     text NOT NULL CHECK (target_type IN ('destination', 'recipient', 'user',
                                                         'email')),
    destination_id  bigint,
    recipient_id    bigint,
    user_id         bigint,
    email           text CHECK (length(email) <= 254),
    channel         text NOT NULL CHECK (channel IN ('email', 'slack', 'teams', 'wechat')),
    kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    language        text NOT NULL
                    CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    severity        text NOT NULL CHECK (severity IN ('alert', 'warning', 'ok', 'info')),
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body            text NOT NULL DEFAULT '' CHECK (length(body) <= 3000),
    fields          jsonb NOT NULL DEFAULT '[]',
    link_url        text CHECK (length(link_url) <= 2000),
    link_label      text CHECK (length(link_label) <= 100),
    sensitive       boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'retry', 'dead', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    failures        integer NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL DEFAULT now(),
    lease_owner     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text CHECK (length(last_error) <= 500),
    UNIQUE (account_id, id),
    UNIQUE (account_id, dedupe_key, target),
    CHECK ((target_type = 'destination') = (target LIKE 'd:%')),
    CHECK ((target_type = 'recipient') = (target LIKE 'r:%')),
    CHECK ((target_type = 'user') = (target LIKE 'u:%')),
    CHECK ((target_type = 'email') = (target LIKE 'e:%')),
    CHECK (target_type NOT IN ('user', 'email') OR email IS NOT NULL),
    FOREIGN KEY (account_id, destination_id) REFERENCES notify_destinations (account_id, id)
        ON DELETE SET NULL (destination_id),
    FOREIGN KEY (account_id, recipient_id) REFERENCES system_notification_recipients
        (account_id, id) ON DELETE SET NULL (recipient_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
        ON DELETE SET NULL (user_id)
);
-- What the senders scan: due rows, oldest first.
CREATE INDEX notify_outbox_due ON notify_outbox (next_at, id)
    WHERE state IN ('queued', 'retry', 'sending');
CREATE INDEX notify_outbox_message ON notify_outbox (account_id, message_id);
CREATE INDEX notify_outbox_recent ON notify_outbox (account_id, id DESC);
CREATE INDEX notify_outbox_destination ON notify_outbox (account_id, destination_id, id DESC)
    WHERE destination_id IS NOT NULL;
CREATE INDEX notify_outbox_finished ON notify_outbox (created_at)
    WHERE state IN ('sent', 'dead', 'cancelled');

-- Every committed insert wakes the senders of every server process
-- (delivered at commit, once per transaction).
CREATE FUNCTION notify_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('metron_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notify_outbox_wake AFTER INSERT ON notify_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox_wake();

-- ---------------------------------------------------------------- attempts
-- The delivery log: one row per attempt, written when the attempt starts
-- (outcome NULL = in flight) and completed when it ends. An attempt whose
-- sender died or lost its lease is marked 'lost' when the row is taken again.
CREATE TABLE notify_attempts (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    bigint NOT NULL,
    n            integer NOT NULL CHECK (n >= 1),
    owner        text NOT NULL CHECK (length(owner) <= 200),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at     timestamptz,
    duration_ms  double precision,
    outcome      text CHECK (outcome IN ('sent', 'failed', 'throttled', 'timeout', 'lost')),
    status       integer,                                   -- HTTP status or SMTP reply code
    response     text CHECK (length(response) <= 500),
    error        text CHECK (length(error) <= 500),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, outbox_id) REFERENCES notify_outbox (account_id, id)
        ON DELETE CASCADE
);
CREATE INDEX notify_attempts_outbox ON notify_attempts (account_id, outbox_id, n);

-- -------------------------------------------------------------- rate slots
-- Per receiver (channel + address, hashed): the earliest time the next
-- request may start. Taken by notify_claim(); pushed out by a 429.
CREATE TABLE notify_rate (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    rate_key     text NOT NULL,
    next_at      timestamptz NOT NULL,
    PRIMARY KEY (account_id, rate_key)
);

-- ------------------------------------------------------------------- claim
-- Claim up to "p_limit" due rows for sender "p_owner": each row's target is
-- read as it is now (deleted or disabled: the row is cancelled), a row whose
-- receiver has no free rate slot is moved behind that slot, a row whose
-- lease ran out has its attempt in flight marked lost (a failure; dead at
-- "p_max_failures"), and each claimed row becomes 'sending' with a lease of
-- "p_lease_ms" and a new attempt row. "p_rate_ms" is the minimum spacing in
-- milliseconds per receiver for email, slack, teams, wechat (0 = none).
-- Rows locked by another claimer are skipped (SKIP LOCKED), so concurrent
-- senders never take the same row.
CREATE FUNCTION notify_claim(p_owner text, p_limit integer, p_lease_ms integer,
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
