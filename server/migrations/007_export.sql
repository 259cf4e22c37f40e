-- 007_export: exports of acquired data (M5, D3, V3; docs/export.md).
--
--  * exports: one row per export job of a user. The file itself lives in
--    DATA/exports/<account_id>/<id>.<zip|hok|hok2> (written under a
--    temporary name and renamed when complete). Export files are temporary:
--    they do not count against the storage quota P2, and the clean-up job
--    removes the file and the row 24 hours after the export ended.
--  * Times set by the server (created_at, updated_at = the worker's last
--    heartbeat, finished_at) come from its clock (auth_now(), the test clock
--    included), passed as parameters, never from SQL's now().
--  * server_secrets: secrets the server generates at its first start and
--    keeps across restarts and processes (not tenant data), e.g. the HMAC
--    key of signed export download URLs ("export_url").

CREATE TABLE exports (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    format       text NOT NULL CHECK (format IN ('csv', 'hok', 'hok2')),
    channels     bigint[] NOT NULL CHECK (cardinality(channels) BETWEEN 1 AND 32),
    t_from       bigint NOT NULL,                   -- µs since the epoch, UTC
    t_to         bigint NOT NULL,
    time_zone    text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    progress     double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    bytes        bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    samples      bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),
    error        text CHECK (length(error) <= 500),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    CHECK (t_from < t_to),
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX exports_user ON exports (account_id, user_id, id);
CREATE INDEX exports_running ON exports (account_id) WHERE status = 'running';
CREATE INDEX exports_finished ON exports (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE server_secrets (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    secret      bytea NOT NULL CHECK (octet_length(secret) BETWEEN 32 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now()
);
