-- metron: older servers compatible
-- 076_audit_app_actor: a gateway app as an actor of the audit log, and the
-- console sessions a reconnect may continue (docs/auth.md "Audit log",
-- docs/console.md "Reconnecting").
--
-- 1. audit_log.actor_kind gains 'app': what a gateway app changes itself
--    (its device reports, app share K1-K4) is written as the app's, with
--    the app in app_id and its name then in actor_login (kept readable
--    after the app is deleted, as a user's login is). Until now such rows
--    were the system's, with {"app_id", "app"} in their detail: they are
--    moved to the new kind here (those two keys leave the detail).
--    Older servers keep working beside it: they write 'user', 'api_token'
--    and 'system' (allowed still; app_id stays NULL), and they read an
--    'app' row as any other (its actor_kind and actor_login as stored).
-- 2. console_resumes: one row per instrument, the last operator's console
--    session that a reconnect may continue without a new console.open
--    entry: the person, the SHA-256 of the resume token the server gave
--    with the session and until when.
--    Older servers do not know the table and leave it alone.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_kind_check;
ALTER TABLE audit_log ADD COLUMN app_id bigint;
UPDATE audit_log
   SET actor_kind = 'app',
       app_id = (detail->>'app_id')::bigint,
       actor_login = left(coalesce(detail->>'app', ''), 100),
       detail = detail - 'app_id' - 'app'
 WHERE actor_kind = 'system' AND jsonb_typeof(detail->'app_id') = 'number';
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_kind_check
    CHECK (actor_kind IN ('user', 'api_token', 'system', 'app'));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_app_actor_check
    CHECK ((actor_kind = 'app') = (app_id IS NOT NULL));

CREATE TABLE console_resumes (
    account_id   bigint NOT NULL,
    device_id    bigint NOT NULL,
    user_id      bigint NOT NULL,
    token_hash   bytea NOT NULL CHECK (length(token_hash) = 32),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
