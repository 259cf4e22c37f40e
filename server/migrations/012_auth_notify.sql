-- 012_auth_notify: PostgreSQL announces every committed change that can end
-- or alter a signed-in identity or the GET /api/v1/me reply (docs/auth.md,
-- "Remembered identities and replies").
--
-- The server remembers resolved sessions and tokens, and /me bodies, so
-- that most requests cost no database round trip. It LISTENs on the
-- channel metron_auth (server/auth_listen.c); these triggers NOTIFY it,
-- with the account id as payload, after a change to
--   accounts       any update or delete (plan, status, allow-list, ...)
--   users          any update or delete (role, disabled, password, last login)
--   team_members   any change (the team ids of /me)
--   sessions       deletion, or a change of anything but the idle slide
--                  (last_seen_at, idle_expires_at: the touch of every use)
--   api_tokens     deletion, revocation or expiry (not last_used_at)
-- A notification is delivered when its transaction commits (and not at all
-- when it rolls back); those of one transaction with the same account are
-- delivered once. So a change by this server, by another server process
-- on the same database or by hand in SQL reaches every server within
-- milliseconds; the server forgets what it remembered of that account.
-- Inserts of users, sessions and tokens change no remembered entry.

CREATE FUNCTION mt_auth_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('metron_auth', OLD.account_id::text);
    ELSE
        PERFORM pg_notify('metron_auth', NEW.account_id::text);
        IF TG_OP = 'UPDATE' AND NEW.account_id IS DISTINCT FROM OLD.account_id THEN
            PERFORM pg_notify('metron_auth', OLD.account_id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- accounts: the account id is the row's own id.
CREATE FUNCTION mt_auth_notify_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('metron_auth', OLD.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_auth_notify AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify_account();
CREATE TRIGGER users_auth_notify AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER team_members_auth_notify AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER sessions_auth_notify
    AFTER DELETE OR UPDATE OF account_id, user_id, token_hash, csrf_hash, stage, purpose,
                              view_only, ip, user_agent ON sessions
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER api_tokens_auth_notify
    AFTER DELETE OR UPDATE OF account_id, user_id, token_hash, name, expires_at, revoked_at
    ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
