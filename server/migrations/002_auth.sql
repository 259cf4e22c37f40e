-- 002_auth: sign-in details the first schema left open (docs/auth.md).
--
-- sessions.purpose: a pending two-step challenge (stage 'two_step') ends in
-- either a portal session ('portal': a cookie) or a Web API bearer token
-- ('token', A2), depending on which route began it.
ALTER TABLE sessions ADD COLUMN purpose text NOT NULL DEFAULT 'portal'
    CHECK (purpose IN ('portal', 'token'));
ALTER TABLE sessions ADD CHECK (purpose = 'portal' OR stage = 'two_step');

-- Expired throttle locks and links are swept by time.
CREATE INDEX login_throttle_window ON login_throttle (window_start);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);
CREATE INDEX api_tokens_expiry ON api_tokens (expires_at);
