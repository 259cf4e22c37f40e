-- 004_data: acquired data (issue #4): ingestion batches, the hot table,
-- per-channel day blocks, storage accounting and computed channels.
-- docs/storage.md explains the layout and the measurements behind it.
--
-- Times of samples are bigint microseconds since the Unix epoch (core's
-- mt_time), days are whole UTC days since 1970-01-01 (t / 86400e6, floored).

-- ---------------------------------------------------------- storage (P2)
-- Bytes used per account, kept up to date in the transactions that change
-- them (ingestion and compaction add data_bytes, the drive drive_bytes).
-- P2 = logo + data_bytes + drive_bytes.
CREATE TABLE account_storage (
    account_id   bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    data_bytes   bigint NOT NULL DEFAULT 0 CHECK (data_bytes >= 0),
    drive_bytes  bigint NOT NULL DEFAULT 0 CHECK (drive_bytes >= 0)
);

-- ------------------------------------------------------------ ingestion
-- One row per accepted batch: a retried batch (same app, same batch id)
-- finds its row and is acknowledged again without being stored twice.
CREATE TABLE ingest_batches (
    account_id   bigint NOT NULL,
    app_id       bigint NOT NULL,
    batch_id     text NOT NULL CHECK (length(batch_id) BETWEEN 1 AND 64),
    n_samples    integer NOT NULL CHECK (n_samples >= 0),
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, app_id, batch_id),
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE
);
CREATE INDEX ingest_batches_received ON ingest_batches (received_at);

-- App connection state (S6 keeps what it needs: the last connect and
-- disconnect, and last_seen_at on apps).
ALTER TABLE apps ADD COLUMN connected boolean NOT NULL DEFAULT false;
ALTER TABLE apps ADD COLUMN connected_at timestamptz;
ALTER TABLE apps ADD COLUMN disconnected_at timestamptz;

-- ------------------------------------------------------------ hot table
-- The everyday pattern (each batch = one new minute for many channels) is
-- written here as one row per batch: "payload" holds fixed 24-byte records
-- {i64 channel id, i64 t, f64 v} (little-endian), sorted by channel then
-- time. The compactor folds these rows into series_day and deletes them.
CREATE TABLE series_hot (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_min        bigint NOT NULL,
    t_max        bigint NOT NULL,
    n            integer NOT NULL CHECK (n > 0),
    payload      bytea NOT NULL CHECK (octet_length(payload) = 24 * n),
    CHECK (t_min <= t_max)
);
ALTER TABLE series_hot ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE INDEX series_hot_account ON series_hot (account_id, t_max);

-- ------------------------------------------------------------ day blocks
-- One row per channel per UTC day: "data" is a core series block
-- (mt_series_encode: compressed times and values), "hours" the packed
-- hourly summaries (mt_summary_pack) that chart queries over long ranges
-- read instead of the samples. Partitioned by month on "day".
CREATE TABLE series_day (
    account_id   bigint NOT NULL,
    channel_id   bigint NOT NULL,
    day          integer NOT NULL,
    n            integer NOT NULL CHECK (n > 0),
    t_first      bigint NOT NULL,
    t_last       bigint NOT NULL,
    data         bytea NOT NULL,
    hours        bytea NOT NULL,  -- STORAGE MAIN: compressed inline (docs/storage.md)
    PRIMARY KEY (channel_id, day),
    CHECK (t_first <= t_last)
) PARTITION BY RANGE (day);
CREATE INDEX series_day_account ON series_day (account_id, day);

-- Create the monthly partition that holds "d" (days since the epoch) if it
-- is missing. The table name is derived from the month, never from input
-- text. Returns the partition's name.
CREATE FUNCTION mt_series_partition(d integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m0   date := date_trunc('month', DATE '1970-01-01' + d)::date;
    m1   date := (m0 + interval '1 month')::date;
    name text := 'series_day_' || to_char(m0, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF series_day FOR VALUES FROM (%s) TO (%s)',
                           name, m0 - DATE '1970-01-01', m1 - DATE '1970-01-01');
            EXECUTE format('ALTER TABLE %I ALTER COLUMN data SET STORAGE EXTERNAL', name);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN hours SET STORAGE MAIN', name);
        EXCEPTION WHEN duplicate_table THEN
            NULL; -- created meanwhile by another transaction
        END;
    END IF;
    RETURN name;
END $$;

-- The latest sample of each channel as of the last compaction (the monitor
-- adds what is still in series_hot).
-- "v" is NULL for a special value, whose kind (mt_sv) is in "special".
CREATE TABLE channel_latest (
    account_id   bigint NOT NULL,
    channel_id   bigint PRIMARY KEY,
    t            bigint NOT NULL,
    v            double precision,
    special      smallint NOT NULL DEFAULT 0 CHECK (special BETWEEN 0 AND 5),
    CHECK ((v IS NULL) = (special <> 0))
);

-- ------------------------------------------------------- computed channels
-- A computed channel (X1-X4) is a channel without a device, in a
-- measurement group, with an expression over 1..10 input channels
-- (CH1..CH10 bound in order to "inputs").
ALTER TABLE channels ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE channels ADD COLUMN group_id bigint;
ALTER TABLE channels ADD COLUMN expression text CHECK (length(expression) BETWEEN 1 AND 1000);
ALTER TABLE channels ADD COLUMN inputs bigint[] CHECK (cardinality(inputs) BETWEEN 1 AND 10);
ALTER TABLE channels ADD FOREIGN KEY (account_id, group_id)
    REFERENCES measurement_groups (account_id, id) ON DELETE CASCADE;
ALTER TABLE channels ADD CHECK ((device_id IS NULL) = (expression IS NOT NULL));
ALTER TABLE channels ADD CHECK ((expression IS NULL) = (inputs IS NULL));
ALTER TABLE channels ADD CHECK (expression IS NULL OR group_id IS NOT NULL);
CREATE INDEX channels_computed ON channels (account_id, group_id) WHERE expression IS NOT NULL;

-- Channel history (D2): the channels a user viewed most recently.
CREATE TABLE channel_views (
    account_id   bigint NOT NULL,
    user_id      bigint NOT NULL,
    channel_id   bigint NOT NULL,
    viewed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id, channel_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, channel_id) REFERENCES channels (account_id, id) ON DELETE CASCADE
);

-- Samples have no foreign key to channels (it would cost every ingested
-- row a lookup); deleting a channel deletes its samples here and gives
-- their bytes back to the account's quota.
CREATE FUNCTION mt_channel_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    freed bigint;
BEGIN
    WITH gone AS (
        DELETE FROM series_day WHERE channel_id = OLD.id
        RETURNING octet_length(data) + octet_length(hours) AS b)
    SELECT COALESCE(sum(b), 0) INTO freed FROM gone;
    DELETE FROM channel_latest WHERE channel_id = OLD.id;
    IF freed > 0 THEN
        UPDATE account_storage SET data_bytes = greatest(data_bytes - freed, 0)
            WHERE account_id = OLD.account_id;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER channels_deleted AFTER DELETE ON channels
    FOR EACH ROW EXECUTE FUNCTION mt_channel_deleted();

-- Ingestion keeps each app's channel table in memory; this version moves
-- whenever a channel of the app is added, changed (e.g. its selection) or
-- removed, so a cached table is never used once it is stale.
ALTER TABLE apps ADD COLUMN channels_version bigint NOT NULL DEFAULT 0;
CREATE FUNCTION mt_app_channels_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET channels_version = channels_version + 1
    WHERE id IN (SELECT d.app_id FROM devices d
                 WHERE d.id IN (SELECT device_id FROM changed WHERE device_id IS NOT NULL));
    RETURN NULL;
END $$;
CREATE TRIGGER channels_version_ins AFTER INSERT ON channels
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_app_channels_changed();
CREATE TRIGGER channels_version_upd AFTER UPDATE ON channels
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_app_channels_changed();
CREATE TRIGGER channels_version_del AFTER DELETE ON channels
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_app_channels_changed();
