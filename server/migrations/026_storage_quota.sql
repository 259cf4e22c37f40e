-- 026_storage_quota: data over the storage quota (S8, L3; issue 17;
-- docs/operations.md "Storage quota"). accounts.over_quota_since
-- (001_init.sql) is when the storage_notices job found the account over the
-- storage quota of its plan in force (P2: logo, acquired data, drive files,
-- pictures, hot samples - one accounting); the contract holder is told the
-- deadline then. 31 days later, if the account is still over quota, its
-- acquired data is deleted, recorded here and the deletion told; back under
-- the quota before, the period ends (NULL) and nothing is deleted.

CREATE TABLE storage_quota_deletions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    over_since   timestamptz NOT NULL,
    deleted_at   timestamptz NOT NULL,
    used_bytes   bigint NOT NULL CHECK (used_bytes >= 0),
    limit_bytes  bigint NOT NULL CHECK (limit_bytes >= 0),
    freed_bytes  bigint NOT NULL CHECK (freed_bytes >= 0),
    removed      jsonb NOT NULL
);
CREATE INDEX storage_quota_deletions_account ON storage_quota_deletions (account_id);

-- Delete every sample account "acct" holds (day blocks, month rows, hot
-- rows, latest values, month work) and give the bytes back to its quota.
-- Returns {"series_day": n, ..., "bytes": freed} (the bytes as P2 counts
-- them: day blocks' sizes, 24 per hot sample).
CREATE FUNCTION mt_account_delete_acquired(acct bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
    b bigint;
    freed bigint := 0;
    out jsonb := '{}';
BEGIN
    WITH g AS (DELETE FROM series_day WHERE account_id = acct
               RETURNING octet_length(data) + octet_length(hours) AS sz)
    SELECT count(*), COALESCE(sum(sz), 0) INTO k, b FROM g;
    out := out || jsonb_build_object('series_day', k);
    freed := freed + b;
    WITH g AS (DELETE FROM series_hot WHERE account_id = acct RETURNING n AS samples)
    SELECT count(*), COALESCE(sum(samples), 0) INTO k, b FROM g;
    out := out || jsonb_build_object('series_hot', k);
    freed := freed + 24 * b;
    WITH g AS (DELETE FROM series_month WHERE account_id = acct RETURNING 1)
    SELECT count(*) INTO k FROM g;
    out := out || jsonb_build_object('series_month', k);
    DELETE FROM series_month_dirty WHERE account_id = acct;
    WITH g AS (DELETE FROM channel_latest WHERE account_id = acct RETURNING 1)
    SELECT count(*) INTO k FROM g;
    out := out || jsonb_build_object('channel_latest', k);
    UPDATE account_storage SET data_bytes = 0 WHERE account_id = acct;
    RETURN out || jsonb_build_object('bytes', freed);
END
$$;
