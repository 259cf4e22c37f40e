-- 023_dashboards: dashboards of a measurement group (B1-B3, M6, P9;
-- docs/dashboards.md) and the pictures of their picture panels.
--
-- A dashboard holds its panels as one JSON array that the server writes
-- itself, after checking every member (svc_dashboard.c): the layout is
-- saved whole whenever a panel is moved or resized. channel_ids and
-- picture_ids repeat what the panels name, for the queries that need it
-- (which pictures are in use, who may see a picture).
--
-- Pictures are kept once per account: an upload whose SHA-256 the account
-- already has returns that picture. Their bytes count against the storage
-- quota P2 (account_storage.picture_bytes, changed in the transactions that
-- add or remove a picture).

ALTER TABLE account_storage
    ADD COLUMN picture_bytes bigint NOT NULL DEFAULT 0 CHECK (picture_bytes >= 0);

CREATE TABLE dashboard_pictures (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256        bytea NOT NULL CHECK (octet_length(sha256) = 32),
    content_type  text NOT NULL
                  CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    width         integer NOT NULL CHECK (width BETWEEN 1 AND 16384),
    height        integer NOT NULL CHECK (height BETWEEN 1 AND 16384),
    size          integer NOT NULL CHECK (size BETWEEN 1 AND 8388608),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 255),
    data          bytea NOT NULL CHECK (octet_length(data) = size),
    created_by    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, sha256),
    FOREIGN KEY (account_id, created_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (created_by)
);
-- Pictures are compressed already: no second compression, read in place.
ALTER TABLE dashboard_pictures ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE dashboards (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id     bigint NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    panels       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(panels) = 'array'),
    channel_ids  bigint[] NOT NULL DEFAULT '{}' CHECK (cardinality(channel_ids) <= 64),
    picture_ids  bigint[] NOT NULL DEFAULT '{}' CHECK (cardinality(picture_ids) <= 40),
    version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by   bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, created_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (created_by)
);
CREATE INDEX dashboards_group ON dashboards (account_id, group_id, id);
CREATE INDEX dashboards_pictures ON dashboards USING gin (picture_ids);
CREATE TRIGGER dashboards_touch BEFORE UPDATE ON dashboards
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();
