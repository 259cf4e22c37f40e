-- 009_live: high-speed monitoring (M3). A user starts it for a measurement
-- group for 10 minutes; the group's apps then also send 5-second samples to
-- /api/v1/ingest/live, which are kept here for display only (UNLOGGED: not
-- crash-safe, not replicated, trimmed to the last 10 minutes). Stored data
-- stays at the regular one-minute batches (docs/ingest.md).
CREATE TABLE live_sessions (
    account_id  bigint NOT NULL,
    group_id    bigint NOT NULL,
    until       timestamptz NOT NULL,
    started_by  bigint,
    PRIMARY KEY (account_id, group_id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE
);

CREATE UNLOGGED TABLE live_samples (
    account_id  bigint NOT NULL,
    channel_id  bigint NOT NULL,
    t           bigint NOT NULL,
    v           double precision,
    special     smallint NOT NULL DEFAULT 0 CHECK (special BETWEEN 0 AND 5),
    PRIMARY KEY (channel_id, t)
);
CREATE INDEX live_samples_account ON live_samples (account_id, t);
