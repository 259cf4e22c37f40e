-- 025_operations: what the operator of the service needs (issue 17;
-- docs/operations.md): the compactor's lag for GET /metrics, maintenance
-- windows (O1), account deletion on request or at contract end (O4) and
-- freezing (L8).

-- ------------------------------------------------------------- metrics (O2)
-- When each hot row arrived: the compactor's lag is the age of the oldest
-- (GET /metrics, metron_compactor_lag_seconds). now() is stable within a
-- statement, so adding the column rewrites nothing.
ALTER TABLE series_hot ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- ---------------------------------------------------- maintenance windows (O1)
-- Scheduled by the operator (POST /api/v1/ops/maintenance); none exists
-- unless scheduled. The portal shows a banner from announce_at until
-- ends_at; from starts_at until ends_at the API answers 503 maintenance
-- with Retry-After. Times come from the server's clock (the test clock in
-- tests), never from SQL's now(). A cancelled window is kept for the record.
CREATE TABLE maintenance_windows (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    announce_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    cancelled_at  timestamptz,
    CHECK (starts_at < ends_at),
    CHECK (ends_at - starts_at <= interval '12 hours'),
    CHECK (announce_at <= starts_at)
);
CREATE INDEX maintenance_windows_open ON maintenance_windows (ends_at) WHERE cancelled_at IS NULL;

-- A change of the schedule wakes every server process at once (each keeps
-- the schedule in memory, so that it holds while PostgreSQL itself is down
-- for the maintenance).
CREATE FUNCTION mt_maintenance_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('metron_maintenance', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER maintenance_windows_notify AFTER INSERT OR UPDATE OR DELETE ON maintenance_windows
    FOR EACH STATEMENT EXECUTE FUNCTION mt_maintenance_notify();

-- ------------------------------------------------- deletion (O4), freezing (L8)
-- contract_ends_at: set by the operator; the account_deletions job deletes
-- the account and everything it owns at that instant. frozen_at: when the
-- operator froze it through the API (status 'frozen', frozen_reason of
-- 001_init.sql; NULL for an account frozen some other way).
ALTER TABLE accounts
    ADD COLUMN contract_ends_at timestamptz,
    ADD COLUMN frozen_at timestamptz;
CREATE INDEX accounts_contract_end ON accounts (contract_ends_at) WHERE contract_ends_at IS NOT NULL;

-- The record of every deleted account: what was removed, never what it
-- held. No foreign key: the account is gone. No login ID, name or address
-- either (O4: account and user information are deleted).
CREATE TABLE account_deletions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL,
    plan          text NOT NULL,
    reason        text NOT NULL
                  CHECK (reason IN ('request', 'contract_end', 'terms', 'operator',
                                    'trial_expired')),
    deleted_at    timestamptz NOT NULL,
    storage_bytes bigint NOT NULL CHECK (storage_bytes >= 0),
    removed       jsonb NOT NULL
);
CREATE INDEX account_deletions_account ON account_deletions (account_id);

-- Delete account "acct" with everything it owns and return the rows removed
-- per table: {"users": 3, "series_day": 120, ...} (tables with no row of it
-- are left out). Every table with an account_id column is counted (parents
-- of partitions once, not their partitions), then the account row goes and
-- ON DELETE CASCADE takes the rest (tests/server/ops.test.mjs checks no row
-- is left anywhere). NULL when the account does not exist. Table names come
-- from the catalog, never from input.
CREATE FUNCTION mt_account_delete(acct bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t record;
    n bigint;
    out jsonb := '{}';
BEGIN
    PERFORM 1 FROM accounts WHERE id = acct FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOR t IN
        SELECT c.relname AS name FROM pg_class c
        JOIN pg_namespace s ON s.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
        WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY c.relname
    LOOP
        EXECUTE format('SELECT count(*) FROM %I WHERE account_id = $1', t.name) INTO n USING acct;
        IF n > 0 THEN
            out := out || jsonb_build_object(t.name, n);
        END IF;
    END LOOP;
    DELETE FROM accounts WHERE id = acct;
    RETURN out || jsonb_build_object('accounts', 1);
END
$$;
