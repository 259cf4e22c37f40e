-- metron: older servers compatible
-- 075_outbox_host_canonical: a webhook's receiving host as one name
-- (docs/notify.md, "The receiving host").
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
