-- metron: older servers compatible
-- 075_outbox_host_canonical: a webhook's receiving host as one name, and
-- the hosts in trouble of one account held together to a share of its
-- slots (docs/notify.md, "The receiving host" and "Hosts in trouble hold at
-- most part of an account's share (075)").
--
-- 1. notify_host() (056) took the host as written, lower-cased, with the
-- scheme's port: an IPv4 address written another way was another host,
-- although libcurl connects to one address for all of them (checked with
-- the libcurl the server links, 7.88: "0x7f000001", "2130706433",
-- "127.1", "127.0.0.0x1", "0177.0.0.1" and "127.000.000.001" all connect to
-- 127.0.0.1; "010.0.0.1" to 8.0.0.1, its parts read as C reads numbers).
-- svc_webhook_valid() lets some of these through (a last label that is not
-- all digits is a host name to it: "0x7f000001", "127.0.0.0x1"), so one
-- receiver could be given several host limits. notify_host() now gives
-- what libcurl connects to: an IPv4 literal in any of libcurl's forms as
-- four decimal numbers, an IPv6 literal in brackets as PostgreSQL's inet
-- prints it (an IPv4-mapped one as its IPv4 address: the same socket), a
-- name lower-cased without its trailing dot (the same DNS name), user info
-- left out (libcurl does not connect to it), and always the port (the
-- scheme's when the URL gives none), as before. Names are still not
-- resolved: two names of one server are two hosts. Same arguments and
-- result; every caller (the enqueue, the claim, the trigger of 056, in a
-- server of any release) computes the key with it.
--
-- The rows a sender still looks at get the new key: queued and retry rows
-- from their destination's or recipient's address as it is now (as 056
-- filled them), rows 'sending' from the key their attempt went out with (the
-- address may have been edited since). notify_host_health (058) is keyed
-- anew the same way, the rows of one host merged (the latest trouble, the
-- failures added). Rows that ended keep the key they had: nothing counts
-- them.
--
-- 2. 065 keeps one host from holding all of an account's webhook slots,
-- but two or more hosts in trouble at once (each within its own limits:
-- the strict host limit 2, the share of one host 3) could together hold
-- every slot (2 + 2 of 4), and the account's healthy receivers waited for
-- their time-outs, again and again while their backlog lasted. The claim
-- now also counts, per account, the attempts in flight to its hosts in
-- trouble (058's meaning: a host whose last attempt got no answer, in
-- notify_host_health), and while they hold "account_trouble" (by default
-- the account's limit less one, at least 1: the share of one host) it
-- leaves the account's rows of hosts in trouble due; its rows of other
-- hosts are claimed as before. The health is read only for an account
-- that has at least that many attempts in flight (no read more otherwise).
-- No new lock: a webhook row is decided under its account's lock ('MtNa'),
-- so the count per account is exact as the account's is.
--
-- notify_claim_busy() returns a fifth set, the accounts whose hosts in
-- trouble hold their share ("trouble_accounts"), which the due scan and the
-- expiry pass leave out for their rows of hosts in trouble (so that a
-- backlog of the hung hosts ahead of a healthy receiver's row is not what
-- the scan's few rows are spent on); its return type changes, so it is
-- dropped and made anew, as in 065. notify_claim_held() counts the share
-- too (same signature, replaced). notify_claim() (the 6-argument claim) is
-- replaced by 065's with the fifth set in its expiry pass and due scans,
-- and the default of "account_trouble" for a caller that names none (a
-- server of before 075, the older claims' wrappers); older servers keep
-- working (the claim's arguments and result are unchanged).

-- The receiving host of a webhook URL, as libcurl connects to it:
-- 'host:port' (above). NULL for mail. A URL that does not parse so is its
-- own host (lower-cased whole), as in 056. String functions, no regular
-- expression (056: about 1 us a call; a regexp_match() form took 45 us);
-- an IPv4 literal's parts are read as libcurl reads them (its
-- ipv4_normalize(): each part a number as strtoul(..., 0) reads it,
-- decimal, 0x hex or 0 octal, wholly; 1 to 4 parts, the last filling the
-- bits left: a, a.b (8.24), a.b.c (8.8.16), a.b.c.d; anything else is a
-- name).
CREATE OR REPLACE FUNCTION notify_host(p_channel text, p_address text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v_hp text;
    v_host text;
    v_port text;
    v_end integer;
    v_part text;
    v_parts text[];
    v_n integer;
    v_x bigint;
    v_v bigint[] := '{}';
    v_ip inet;
BEGIN
    IF p_channel = 'email' OR p_address IS NULL THEN
        RETURN NULL;
    END IF;
    IF position('://' IN p_address) = 0 THEN
        RETURN lower(p_address);
    END IF;
    -- Between '://' and the first '/', '?' or '#', lower-cased; user info
    -- (up to the last '@') left out.
    v_hp := lower(split_part(split_part(split_part(split_part(p_address, '://', 2), '/', 1), '?', 1),
                             '#', 1));
    IF position('@' IN v_hp) > 0 THEN
        v_hp := reverse(split_part(reverse(v_hp), '@', 1));
    END IF;
    IF left(v_hp, 1) = '[' THEN
        -- An IPv6 literal: "[address]" and an optional ":port".
        v_end := position(']' IN v_hp);
        v_host := substr(v_hp, 2, v_end - 2);
        v_port := substr(v_hp, v_end + 1);
        IF v_end = 0 OR v_host = '' OR length(v_host) > 45 OR position('%' IN v_host) > 0
           OR translate(v_host, '0123456789abcdef:.', '') <> ''
           OR (v_port <> '' AND left(v_port, 1) <> ':') THEN
            RETURN lower(p_address);
        END IF;
        v_port := substr(v_port, 2);
        BEGIN
            v_ip := v_host::inet;
        EXCEPTION WHEN invalid_text_representation THEN
            RETURN lower(p_address);
        END;
        IF family(v_ip) <> 6 THEN
            RETURN lower(p_address);
        ELSIF v_ip << '::ffff:0.0.0.0/96'::inet THEN
            v_host := host('0.0.0.0'::inet + (v_ip - '::ffff:0.0.0.0'::inet));
        ELSE
            v_host := '[' || host(v_ip) || ']';
        END IF;
    ELSE
        v_host := split_part(v_hp, ':', 1);
        v_port := split_part(v_hp, ':', 2);
        IF split_part(v_hp, ':', 3) <> '' THEN
            RETURN lower(p_address);
        END IF;
        -- One trailing dot: the same DNS name.
        IF right(v_host, 1) = '.' THEN
            v_host := left(v_host, -1);
        END IF;
        IF v_host = '' THEN
            RETURN lower(p_address);
        END IF;
        -- An IPv4 literal in one of libcurl's forms (a part begins with a
        -- digit).
        IF left(v_host, 1) BETWEEN '0' AND '9' AND length(v_host) <= 64 THEN
            v_parts := string_to_array(v_host, '.');
            v_n := cardinality(v_parts);
            IF v_n <= 4 THEN
                FOREACH v_part IN ARRAY v_parts LOOP
                    v_x := NULL;
                    IF left(v_part, 2) = '0x' THEN
                        v_part := substr(v_part, 3);
                        IF v_part <> '' AND translate(v_part, '0123456789abcdef', '') = ''
                           AND length(ltrim(v_part, '0')) <= 8 THEN
                            v_x := ('x' || lpad(ltrim(v_part, '0'), 16, '0'))::bit(64)::bigint;
                        END IF;
                    ELSIF v_part <> '' AND translate(v_part, '0123456789', '') = '' THEN
                        IF left(v_part, 1) = '0' THEN
                            v_part := ltrim(v_part, '0');
                            IF length(v_part) <= 11 AND translate(v_part, '01234567', '') = '' THEN
                                v_x := 0;
                                FOR k IN 1 .. length(v_part) LOOP
                                    v_x := v_x * 8 + ascii(substr(v_part, k, 1)) - 48;
                                END LOOP;
                            END IF;
                        ELSIF length(v_part) <= 10 THEN
                            v_x := v_part::bigint;
                        END IF;
                    END IF;
                    EXIT WHEN v_x IS NULL OR v_x > 4294967295;
                    v_v := v_v || v_x;
                END LOOP;
                -- Every part a number, each in its range: the address.
                v_x := NULL;
                IF cardinality(v_v) <> v_n THEN
                    NULL;
                ELSIF v_n = 1 THEN
                    v_x := v_v[1];
                ELSIF v_n = 2 AND v_v[1] <= 255 AND v_v[2] <= 16777215 THEN
                    v_x := v_v[1] * 16777216 + v_v[2];
                ELSIF v_n = 3 AND v_v[1] <= 255 AND v_v[2] <= 255 AND v_v[3] <= 65535 THEN
                    v_x := v_v[1] * 16777216 + v_v[2] * 65536 + v_v[3];
                ELSIF v_n = 4 AND v_v[1] <= 255 AND v_v[2] <= 255 AND v_v[3] <= 255
                      AND v_v[4] <= 255 THEN
                    v_x := v_v[1] * 16777216 + v_v[2] * 65536 + v_v[3] * 256 + v_v[4];
                END IF;
                IF v_x IS NOT NULL THEN
                    v_host := (v_x >> 24) || '.' || ((v_x >> 16) & 255) || '.' || ((v_x >> 8) & 255)
                              || '.' || (v_x & 255);
                END IF;
            END IF;
        END IF;
    END IF;
    IF length(v_port) > 5 OR translate(v_port, '0123456789', '') <> '' THEN
        RETURN lower(p_address);
    END IF;
    RETURN v_host || ':' ||
           CASE WHEN v_port <> '' THEN v_port::integer::text
                WHEN lower(split_part(p_address, '://', 1)) = 'https' THEN '443'
                ELSE '80' END;
END
$$;

-- The rows a sender still looks at, with the new key: queued and retry rows
-- from their address as it is now (the trigger of 056 keeps their key so),
-- rows 'sending' from the key their attempt went out with.
UPDATE notify_outbox o SET host_key = notify_host(d.kind, d.address)
  FROM notify_destinations d
 WHERE o.state IN ('queued', 'retry') AND o.target_type = 'destination'
   AND d.account_id = o.account_id AND d.id = o.destination_id
   AND o.host_key IS DISTINCT FROM notify_host(d.kind, d.address);
UPDATE notify_outbox o SET host_key = notify_host(s.channel, s.address)
  FROM system_notification_recipients s
 WHERE o.state IN ('queued', 'retry') AND o.target_type = 'recipient'
   AND s.account_id = o.account_id AND s.id = o.recipient_id
   AND o.host_key IS DISTINCT FROM notify_host(s.channel, s.address);
-- A key is 'host:port' (056), or a whole URL that did not parse so.
UPDATE notify_outbox o
   SET host_key = notify_host('slack', CASE WHEN position('://' IN o.host_key) > 0 THEN o.host_key
                                            ELSE 'http://' || o.host_key END)
 WHERE o.state = 'sending' AND o.host_key IS NOT NULL
   AND o.host_key IS DISTINCT FROM
       notify_host('slack', CASE WHEN position('://' IN o.host_key) > 0 THEN o.host_key
                                 ELSE 'http://' || o.host_key END);
-- The hosts in trouble under their new keys, one row per host: its latest
-- trouble, the failures of its spellings added.
WITH old AS (
    DELETE FROM notify_host_health h
     WHERE h.host_key IS DISTINCT FROM
           notify_host('slack', CASE WHEN position('://' IN h.host_key) > 0 THEN h.host_key
                                     ELSE 'http://' || h.host_key END)
    RETURNING h.*)
INSERT INTO notify_host_health AS h (host_key, failed_at, failures)
SELECT notify_host('slack', CASE WHEN position('://' IN old.host_key) > 0 THEN old.host_key
                                 ELSE 'http://' || old.host_key END),
       max(old.failed_at), sum(old.failures)
  FROM old
 GROUP BY 1
    ON CONFLICT (host_key) DO UPDATE
   SET failed_at = GREATEST(h.failed_at, EXCLUDED.failed_at), failures = h.failures + EXCLUDED.failures;

DROP FUNCTION notify_claim_busy(jsonb);

-- The receivers, hosts, accounts and accounts' hosts at their limit now
-- (065), and the accounts whose attempts in flight to hosts in trouble
-- hold their share ("account_trouble"), from one read of the attempts in
-- flight (a handful), grouped four ways in one pass. "p_limits" keys
-- (integers): receiver, mail, host, healthy_host, account, account_host,
-- account_trouble; a key left out is no limit (healthy_host: the host's).
-- A host's health is read only for a host with at least the strict limit
-- in flight, and for the hosts of an account with at least
-- "account_trouble" attempts in flight. In the grouping set (account,
-- host) both are set; in the set (host) the account is NULL, in (account)
-- the host. One row. A SQL function of one SELECT, STABLE and returning a
-- set, so the planner inlines it into the claim's statement.
CREATE FUNCTION notify_claim_busy(p_limits jsonb)
RETURNS TABLE (busy_routes text[], busy_hosts text[], busy_accounts bigint[],
               busy_pairs text[], trouble_accounts bigint[])
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT f.route, f.host, f.account, count(*) AS n
          FROM (SELECT notify_route(o.channel, o.target) AS route, o.host_key AS host,
                       CASE WHEN o.host_key IS NOT NULL THEN o.account_id END AS account
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now()) f
         GROUP BY GROUPING SETS ((f.route), (f.host), (f.account), (f.account, f.host)))
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
           COALESCE(array_agg(g.account) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NULL
                          AND g.n >= COALESCE((p_limits ->> 'account')::integer, 2147483647)), '{}'),
           COALESCE(array_agg(g.account::text || ' ' || g.host) FILTER (
                        WHERE g.account IS NOT NULL AND g.host IS NOT NULL
                          AND g.n >= COALESCE((p_limits ->> 'account_host')::integer, 2147483647)),
                    '{}'),
           -- An account with at least the share in flight: its attempts to
           -- hosts in trouble added up (the health read for its hosts only).
           COALESCE((SELECT array_agg(t.account) FROM (
                        SELECT p.account
                          FROM g a JOIN g p ON p.account = a.account AND p.host IS NOT NULL
                         WHERE a.account IS NOT NULL AND a.host IS NULL
                           AND a.n >= COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647)
                           AND EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = p.host)
                         GROUP BY p.account
                        HAVING sum(p.n) >= COALESCE((p_limits ->> 'account_trouble')::integer,
                                                    2147483647)) t), '{}')
      FROM g
$$;

-- Whether row "p_id" (of account "p_account_id", receiver "p_route", host
-- "p_host": NULL for mail) must wait because its receiver, its host, (a
-- webhook) its account, its account's attempts to its host or (its host in
-- trouble) its account's attempts to hosts in trouble have their limit in
-- flight, the row itself left out of the count (a lost attempt's row).
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
    v_host_limit integer;
    v_trouble_limit integer;
    v_trouble boolean;
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
           count(*) FILTER (WHERE o.account_id = p_account_id AND o.host_key = p_host)
      INTO v_n, v_h, v_a, v_ah
      FROM notify_outbox o
     WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id;
    IF v_n >= COALESCE((p_limits ->> CASE WHEN p_route = 'mail' THEN 'mail' ELSE 'receiver' END)
                       ::integer, 2147483647) THEN
        RETURN;
    END IF;
    IF p_host IS NOT NULL THEN
        IF v_a >= COALESCE((p_limits ->> 'account')::integer, 2147483647)
           OR v_ah >= COALESCE((p_limits ->> 'account_host')::integer, 2147483647) THEN
            RETURN;
        END IF;
        -- The strict limit while the host is in trouble (058), the healthy
        -- one otherwise; the health is looked up only at the strict limit,
        -- or where the account's hosts in trouble could hold their share
        -- (the account has at least that many attempts in flight).
        v_host_limit := COALESCE((p_limits ->> 'host')::integer, 2147483647);
        v_trouble_limit := COALESCE((p_limits ->> 'account_trouble')::integer, 2147483647);
        IF v_h >= v_host_limit OR v_a >= v_trouble_limit THEN
            v_trouble := EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = p_host);
            IF v_h >= v_host_limit
               AND (v_h >= GREATEST(v_host_limit, COALESCE((p_limits ->> 'healthy_host')::integer, 0))
                    OR v_trouble) THEN
                RETURN;
            END IF;
            -- A host in trouble: the account's attempts to its hosts in
            -- trouble, together, at most their share (075).
            IF v_trouble AND v_a >= v_trouble_limit THEN
                SELECT count(*) INTO v_at
                  FROM notify_outbox o
                 WHERE o.state = 'sending' AND o.next_at > now() AND o.id <> p_id
                   AND o.account_id = p_account_id AND o.host_key IS NOT NULL
                   AND EXISTS (SELECT 1 FROM notify_host_health h WHERE h.host_key = o.host_key);
                IF v_at >= v_trouble_limit THEN
                    RETURN;
                END IF;
            END IF;
        END IF;
    END IF;
    held := false;
END
$$;

-- notify_claim() of 065, the accounts whose hosts in trouble hold their
-- share left out, for their rows of hosts in trouble, of its expiry pass
-- and its due scans (a filter on the rows it reads, evaluated only while
-- some account is at that share; the health read by key), and the default
-- share for a caller that names none; unchanged otherwise. The older
-- claims (058's 9 arguments, 056's 8, 051's 7) are wrappers that call this
-- one, as before.
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
    SELECT b.busy_routes, b.busy_hosts, b.busy_accounts, b.busy_pairs, b.trouble_accounts
      INTO v_busy, v_hosts, v_accounts, v_pairs, v_troubled
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
                                    AND EXISTS (SELECT 1 FROM notify_host_health h
                                                 WHERE h.host_key = x.host_key)))
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
                            OR NOT EXISTS (SELECT 1 FROM notify_host_health h
                                            WHERE h.host_key = o.host_key))))
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
                            OR NOT EXISTS (SELECT 1 FROM notify_host_health h
                                            WHERE h.host_key = o.host_key))))
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
