-- 020_temp_login: the temporary login URL of alarm mail (A8, S5; issue #13;
-- docs/alarms.md). An alarm mailed to an address that is also a user's
-- carries a link with a one-off secret (only its SHA-256 here), valid 30
-- minutes from the mail: it opens a view-only session (sessions.view_only,
-- 001_init.sql) that ends when the link does, never slides, and may change
-- nothing and see no administrative function.
CREATE TABLE temp_logins (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    event_id     bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX temp_logins_expiry ON temp_logins (expires_at);
