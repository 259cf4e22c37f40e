-- 073_console_sessions: who operates an instrument's console (C2: at most
-- one operator at a time per instrument, across server processes;
-- docs/console.md).
--
-- One row per device while someone holds its console: the user, the
-- holder's session id (a random text the server gave that person's console
-- session, so that one user's two browser tabs are told apart), since when
-- and until when the hold lasts. The server process that streams the
-- console to the holder renews expires_at every few seconds; a row whose
-- expiry passed is free (a process that died leaves nothing held for
-- long). When an administrator takes the console over, the row keeps the
-- holder it replaced (lost_holder, lost_user_id, lost_at) so that the
-- stream of the person who lost it tells them who took it and when.
-- Viewers ("view only") hold no row.
CREATE TABLE console_sessions (
    account_id    bigint NOT NULL,
    device_id     bigint NOT NULL,
    user_id       bigint NOT NULL,
    holder        text NOT NULL CHECK (holder ~ '^[0-9a-f]{32}$'),
    since         timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    lost_holder   text CHECK (lost_holder ~ '^[0-9a-f]{32}$'),
    lost_user_id  bigint,
    lost_at       timestamptz,
    PRIMARY KEY (device_id),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX console_sessions_user ON console_sessions (account_id, user_id);
