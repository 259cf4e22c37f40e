-- 008_computed: back-fill of computed channels (X1-X4, S2; docs/computed.md).
--
-- A computed channel is a row of "channels" (004_data.sql). Creating one, or
-- changing its expression or inputs, leaves a row here: the channel still
-- has to be computed over the data its inputs already hold. A background
-- worker (computed.c) takes the days that have input data in increasing
-- order from "next_day", a few per transaction, and deletes the row when
-- none is left. done_days / total_days are the progress that GET shows.
CREATE TABLE computed_backfill (
    account_id   bigint NOT NULL,
    channel_id   bigint PRIMARY KEY,
    next_day     integer NOT NULL,
    done_days    integer NOT NULL DEFAULT 0 CHECK (done_days >= 0),
    total_days   integer NOT NULL CHECK (total_days >= 0),
    touched_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, channel_id) REFERENCES channels (account_id, id) ON DELETE CASCADE
);
-- The worker takes the job touched longest ago (round-robin between jobs).
CREATE INDEX computed_backfill_touched ON computed_backfill (touched_at, channel_id);
