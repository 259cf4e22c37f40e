-- 016_alarms: alarm settings, the evaluator's saved state, alarm history and
-- server notices (issue #13 items 1-5, 7; R1-R7, S3-S7, S9, P7;
-- docs/alarms.md).
--
-- Rules are evaluated by core's evaluator (docs/alarm.md) as acquired data
-- arrives. Each rule's saved state (mt_alarm_save, 40 bytes) lives in
-- alarm_state and is written in the same transaction as the events it
-- produced and their outbox rows, so that a crash at any instant loses no
-- alarm and repeats none.

-- ------------------------------------------------------------------ groups
-- One row per measurement group that has (or had) alarm rules or notice
-- settings. "seq" moves on every change of the group's rules or of a saved
-- state: each server process keeps the group's rules and states in memory
-- and uses them only while "seq" is the one it loaded (checked by the very
-- statement that stores a batch).
CREATE TABLE alarm_groups (
    account_id          bigint NOT NULL,
    group_id            bigint NOT NULL,
    seq                 bigint NOT NULL DEFAULT 1 CHECK (seq >= 1),
    -- R7 / S6: tell when an app of the group stops sending (and resumes).
    disconnect_notice   boolean NOT NULL DEFAULT true,
    disconnect_minutes  integer NOT NULL DEFAULT 10 CHECK (disconnect_minutes BETWEEN 1 AND 1440),
    notice_language     text CHECK (notice_language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    notice_destinations bigint[] NOT NULL DEFAULT '{}'
                        CHECK (cardinality(notice_destinations) <= 20),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, group_id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE
);

-- ------------------------------------------------------------------- rules
-- kind 'condition': core's rule text over CH1 (ch1_id) and optionally CH2
-- (ch2_id), stored in canonical form. kind 'no_data': raised when ch1_id
-- has had no sample for no_data_minutes.
CREATE TABLE alarm_rules (
    account_id       bigint NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id         bigint NOT NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind             text NOT NULL DEFAULT 'condition' CHECK (kind IN ('condition', 'no_data')),
    rule_text        text CHECK (length(rule_text) BETWEEN 1 AND 256),
    no_data_minutes  integer CHECK (no_data_minutes BETWEEN 1 AND 10080),
    ch1_id           bigint NOT NULL,
    ch2_id           bigint,
    enabled          boolean NOT NULL DEFAULT true,
    severity         text NOT NULL DEFAULT 'alert' CHECK (severity IN ('alert', 'warning')),
    language         text NOT NULL DEFAULT 'en'
                     CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    notify_clear     boolean NOT NULL DEFAULT true,
    repeat_minutes   integer NOT NULL DEFAULT 0 CHECK (repeat_minutes BETWEEN 0 AND 10080),
    special_notice   boolean NOT NULL DEFAULT false,
    check_files      boolean NOT NULL DEFAULT true,
    destinations     bigint[] NOT NULL DEFAULT '{}' CHECK (cardinality(destinations) <= 20),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    CHECK ((kind = 'condition') = (rule_text IS NOT NULL)),
    CHECK ((kind = 'no_data') = (no_data_minutes IS NOT NULL)),
    CHECK (kind = 'condition' OR ch2_id IS NULL),
    CHECK (ch2_id IS NULL OR ch2_id <> ch1_id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, ch1_id) REFERENCES channels (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, ch2_id) REFERENCES channels (account_id, id) ON DELETE CASCADE
);
CREATE INDEX alarm_rules_group ON alarm_rules (account_id, group_id, id);
CREATE INDEX alarm_rules_ch1 ON alarm_rules (account_id, ch1_id);
CREATE INDEX alarm_rules_ch2 ON alarm_rules (account_id, ch2_id) WHERE ch2_id IS NOT NULL;
CREATE TRIGGER alarm_rules_touch BEFORE UPDATE ON alarm_rules
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ------------------------------------------------------------------- state
-- The evaluator's saved state (core's mt_alarm_save, format 1: 40 bytes;
-- NULL = a fresh evaluator), whether the rule is raised and the raise event
-- of the current occurrence. last_t: the newest row evaluated (µs) as of
-- this saved state; rows older than it are late (evaluated as history).
-- last_data_t (no_data rules): the newest sample seen when the state was
-- saved.
CREATE TABLE alarm_state (
    account_id     bigint NOT NULL,
    rule_id        bigint PRIMARY KEY,
    state          bytea CHECK (octet_length(state) = 40),
    raised         boolean NOT NULL DEFAULT false,
    open_event_id  bigint,
    last_t         bigint,
    last_data_t    bigint,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (raised = (open_event_id IS NOT NULL)),
    FOREIGN KEY (account_id, rule_id) REFERENCES alarm_rules (account_id, id) ON DELETE CASCADE
);

-- ------------------------------------------------------------------ events
-- The history: every raise, clear and special-value change, with what the
-- rule, its channels and the values were at that moment (rules and
-- channels may change or go later). A raise row is also the "occurrence":
-- cleared_at/clear_id when it ended, the acknowledgement, the repeats.
--   cause: data (a sample), silence (a no_data rule: no sample for N
--          minutes), file (an uploaded file, R6: always history),
--          rule_changed / rule_disabled / rule_deleted (an open alarm closed
--          by an edit; never notified)
--   late:  evaluated as history (samples older than the rule's state, or a
--          file): recorded, never notified, never "currently raised".
CREATE TABLE alarm_events (
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id        bigint,
    rule_id         bigint,
    kind            text NOT NULL CHECK (kind IN ('raise', 'clear', 'special', 'special_end')),
    cause           text NOT NULL CHECK (cause IN ('data', 'silence', 'file', 'rule_changed',
                                                   'rule_disabled', 'rule_deleted')),
    late            boolean NOT NULL DEFAULT false,
    t               bigint NOT NULL,
    v1              double precision,
    v2              double precision,
    s1              smallint NOT NULL DEFAULT 0 CHECK (s1 BETWEEN 0 AND 5),
    s2              smallint NOT NULL DEFAULT 0 CHECK (s2 BETWEEN 0 AND 5),
    slot            smallint CHECK (slot IN (1, 2)),
    special         smallint CHECK (special BETWEEN 1 AND 5),
    ch1_id          bigint,
    ch2_id          bigint,
    ch1_name        text NOT NULL DEFAULT '' CHECK (length(ch1_name) <= 200),
    ch2_name        text CHECK (length(ch2_name) <= 200),
    ch1_unit        text NOT NULL DEFAULT '' CHECK (length(ch1_unit) <= 16),
    ch2_unit        text CHECK (length(ch2_unit) <= 16),
    rule_name       text NOT NULL CHECK (length(rule_name) BETWEEN 1 AND 100),
    rule_text       text NOT NULL CHECK (length(rule_text) BETWEEN 1 AND 300),
    severity        text NOT NULL CHECK (severity IN ('alert', 'warning')),
    raise_id        bigint,
    cleared_at      timestamptz,
    clear_id        bigint,
    acked_at        timestamptz,
    acked_by        bigint,
    acked_by_name   text CHECK (length(acked_by_name) <= 100),
    ack_comment     text CHECK (length(ack_comment) <= 1000),
    file_id         bigint,
    file_name       text CHECK (length(file_name) <= 255),
    repeats         integer NOT NULL DEFAULT 0 CHECK (repeats >= 0),
    next_repeat_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    CHECK ((v1 IS NULL) = (s1 <> 0)),
    CHECK ((kind IN ('special', 'special_end')) = (slot IS NOT NULL AND special IS NOT NULL)),
    CHECK (kind = 'raise' OR (cleared_at IS NULL AND acked_at IS NULL AND next_repeat_at IS NULL)
           OR kind = 'special'),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE SET NULL (group_id),
    FOREIGN KEY (account_id, rule_id) REFERENCES alarm_rules (account_id, id)
        ON DELETE SET NULL (rule_id),
    FOREIGN KEY (account_id, acked_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (acked_by)
);
CREATE INDEX alarm_events_recent ON alarm_events (account_id, id DESC);
CREATE INDEX alarm_events_group ON alarm_events (account_id, group_id, id DESC);
CREATE INDEX alarm_events_rule ON alarm_events (account_id, rule_id, id DESC);
-- Currently raised (the monitor, the summary).
CREATE INDEX alarm_events_open ON alarm_events (account_id, group_id)
    WHERE kind = 'raise' AND clear_id IS NULL AND NOT late;
-- Raised alarms whose next repeat notification is due.
CREATE INDEX alarm_events_repeat ON alarm_events (next_repeat_at)
    WHERE next_repeat_at IS NOT NULL;

-- ------------------------------------------------------- connection (S6)
-- Every transition of apps.connected, with its cause: data (a batch came
-- while disconnected), app (POST /ingest/status), timeout (no batch or
-- heartbeat for the group's disconnect_minutes), mqtt (the MQTT bridge).
CREATE TABLE app_connection_events (
    account_id  bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      bigint NOT NULL,
    event       text NOT NULL CHECK (event IN ('connected', 'disconnected')),
    cause       text NOT NULL CHECK (cause IN ('data', 'app', 'timeout', 'mqtt')),
    at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE
);
CREATE INDEX app_connection_events_app ON app_connection_events (account_id, app_id, id DESC);
ALTER TABLE apps ADD COLUMN connection_cause text
    CHECK (connection_cause IN ('data', 'app', 'timeout', 'mqtt'));
-- The S6 sweep looks for connected apps not seen for a while.
CREATE INDEX apps_connected_seen ON apps (last_seen_at) WHERE connected;

-- ---------------------------------------------------- server notices (S7, S9)
-- A notice that must go out once: the key names it ('licence:<expiry>:<day>',
-- 'storage_low' while the account is below 10 % of its storage left). The
-- insert of the key and the notice's outbox rows commit together.
CREATE TABLE server_notices (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
