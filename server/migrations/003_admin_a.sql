-- 003_admin_a: what the administration API (part A: accounts, plans, users,
-- teams, measurement groups) needs beyond 001_init.
--
--  * quotation_requests: L7 "quotation request" (a plan and a licence term,
--    P25). Kept apart from inquiries (G5), whose kinds are the user's
--    free-text messages; a quotation is structured and is answered with a
--    price. mailed_at is set when the system recipients have been sent it.
--  * mt_utc(): timestamptz -> 'YYYY-MM-DDTHH:MM:SSZ' whatever the session's
--    TimeZone, so every time in the API has one form.

CREATE FUNCTION mt_utc(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');

CREATE TABLE quotation_requests (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint,
    plan         text NOT NULL CHECK (plan IN ('standard', 'pro')),
    months       smallint NOT NULL CHECK (months IN (1, 3, 12)),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    mailed_at    timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
        ON DELETE SET NULL (user_id)
);
CREATE INDEX quotation_requests_account ON quotation_requests (account_id, created_at DESC);
