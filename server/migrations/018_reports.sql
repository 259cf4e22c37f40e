-- 018_reports: reports (T1, T2, P17; docs/reports.md): settings per
-- measurement group, their runs (automatic, once per period, and by hand)
-- and the files each run left in the drive; a time zone per measurement
-- group (the periods of its reports); attachments on outbox rows (a
-- report's PDF mailed with its link).

-- The group's own time zone; NULL = the account's.
ALTER TABLE measurement_groups
    ADD COLUMN time_zone text CHECK (length(time_zone) BETWEEN 1 AND 64);

-- ------------------------------------------------------------- settings
-- One report setting ("template", P17) of a group. next_start/next_end:
-- while automatic creation is on, the next period to create (µs, in the
-- group's time zone when it was computed); the scheduler creates its run
-- and moves them on in one transaction.
CREATE TABLE report_settings (
    account_id        bigint NOT NULL,
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id          bigint NOT NULL,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    period            text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    summary           boolean NOT NULL DEFAULT true,
    charts            text NOT NULL DEFAULT 'per_channel'
                      CHECK (charts IN ('none', 'per_channel', 'overlaid')),
    alarms            boolean NOT NULL DEFAULT true,
    language          text NOT NULL DEFAULT 'en'
                      CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    formats           text[] NOT NULL DEFAULT '{pdf}'
                      CHECK (cardinality(formats) BETWEEN 1 AND 3
                             AND formats <@ ARRAY['pdf', 'xlsx', 'csv']::text[]),
    recipient_users   bigint[] NOT NULL DEFAULT '{}' CHECK (cardinality(recipient_users) <= 32),
    recipient_system  bigint[] NOT NULL DEFAULT '{}' CHECK (cardinality(recipient_system) <= 32),
    auto_enabled      boolean NOT NULL DEFAULT false,
    next_start        bigint,
    next_end          bigint,
    folder_id         bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, group_id, name),
    CHECK ((next_start IS NULL) = (next_end IS NULL)),
    CHECK (next_end IS NULL OR next_end > next_start),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, folder_id) REFERENCES drive_items (account_id, id)
        ON DELETE SET NULL (folder_id)
);
CREATE INDEX report_settings_group ON report_settings (account_id, group_id, id);
CREATE INDEX report_settings_due ON report_settings (next_end) WHERE auto_enabled;
CREATE TRIGGER report_settings_touch BEFORE UPDATE ON report_settings
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- The channels of a report, in order (measured or computed, of its group).
-- Deleting a channel takes it out of its reports.
CREATE TABLE report_channels (
    account_id  bigint NOT NULL,
    report_id   bigint NOT NULL,
    position    smallint NOT NULL CHECK (position BETWEEN 0 AND 31),
    channel_id  bigint NOT NULL,
    PRIMARY KEY (report_id, position),
    UNIQUE (report_id, channel_id),
    FOREIGN KEY (account_id, report_id) REFERENCES report_settings (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, channel_id) REFERENCES channels (account_id, id) ON DELETE CASCADE
);
CREATE INDEX report_channels_channel ON report_channels (account_id, channel_id);

-- ------------------------------------------------------------------ runs
-- One report to make: an automatic period (at most one run per report and
-- period: the unique index) or one asked for by hand.
--   state: queued -> running -> done
--                            -> retry -> running ... -> failed (attempts used up)
--   next_at: when a queued/retry run is due; while running, the end of the
--            lease (after it another process may take the run again).
CREATE TABLE report_runs (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id     bigint NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('auto', 'manual')),
    period_start  bigint NOT NULL,
    period_end    bigint NOT NULL,
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 64),
    time_zone     text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'retry', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at       timestamptz NOT NULL DEFAULT now(),
    lease_owner   text CHECK (length(lease_owner) <= 160),
    error         text CHECK (length(error) <= 500),
    requested_by  bigint,
    samples       bigint,
    render_ms     integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    UNIQUE (account_id, id),
    CHECK (period_end > period_start),
    FOREIGN KEY (account_id, report_id) REFERENCES report_settings (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, requested_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (requested_by)
);
CREATE UNIQUE INDEX report_runs_auto ON report_runs (report_id, period_start) WHERE kind = 'auto';
CREATE INDEX report_runs_due ON report_runs (next_at, id)
    WHERE state IN ('queued', 'retry', 'running');
CREATE INDEX report_runs_report ON report_runs (account_id, report_id, id DESC);

-- The drive files a run made (format csv: two files, part 'summary' and
-- 'samples'). file_id NULL: deleted from the drive since.
CREATE TABLE report_files (
    account_id  bigint NOT NULL,
    run_id      bigint NOT NULL,
    format      text NOT NULL CHECK (format IN ('pdf', 'xlsx', 'csv')),
    part        text NOT NULL DEFAULT '' CHECK (part IN ('', 'summary', 'samples')),
    file_id     bigint,
    name        text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 255),
    size        bigint NOT NULL CHECK (size >= 0),
    PRIMARY KEY (run_id, format, part),
    FOREIGN KEY (account_id, run_id) REFERENCES report_runs (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, file_id) REFERENCES drive_items (account_id, id)
        ON DELETE SET NULL (file_id)
);
CREATE INDEX report_files_file ON report_files (account_id, file_id) WHERE file_id IS NOT NULL;

-- --------------------------------------------------- outbox attachments
-- A drive file sent along with an e-mail row (a report's PDF); NULL once
-- the file is deleted from the drive (the mail then goes without it).
ALTER TABLE notify_outbox
    ADD COLUMN attach_file_id bigint,
    ADD COLUMN attach_name text CHECK (octet_length(attach_name) BETWEEN 1 AND 255),
    ADD COLUMN attach_type text CHECK (length(attach_type) BETWEEN 1 AND 100),
    ADD FOREIGN KEY (account_id, attach_file_id) REFERENCES drive_items (account_id, id)
        ON DELETE SET NULL (attach_file_id);
CREATE INDEX notify_outbox_attach ON notify_outbox (account_id, attach_file_id)
    WHERE attach_file_id IS NOT NULL;
