-- 001_init: the data model of issue #3 (accounts, users, teams, measurement
-- groups, apps, devices, channels, sign-in state, notifications, inquiries,
-- audit log, login throttling).
--
-- Conventions (docs/server.md):
--  * every tenant table carries account_id; it is the first column of every
--    key, and every reference between tenant rows is a composite foreign key
--    (account_id, x_id) -> x (account_id, id), so a row can never point into
--    another account;
--  * ids are bigint identities, times are timestamptz (stored UTC);
--  * enums and lengths are CHECK constraints; the server validates first and
--    gives a clear error, the constraints are the last line of defence;
--  * secrets (passwords, tokens, codes) are stored only as hashes: argon2id
--    for passwords, SHA-256 of a 256-bit random value for bearer secrets.
-- Runs in one transaction (db_migrate.c).

CREATE FUNCTION mt_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- ---------------------------------------------------------------- accounts
-- One customer (tenant). Trial accounts have no account login ID (P1: their
-- single user signs in with e-mail + password).
CREATE TABLE accounts (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login_id             text UNIQUE
                         CHECK (login_id ~ '^[a-z0-9][a-z0-9._-]{2,31}$'),
    alt_login_id         text UNIQUE                             -- P23 (Pro)
                         CHECK (alt_login_id ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    plan                 text NOT NULL
                         CHECK (plan IN ('trial', 'free', 'standard', 'pro')),
    licence_term_months  smallint CHECK (licence_term_months IN (1, 3, 12)),
    licence_expires_at   timestamptz,                            -- L1: UTC
    plan_changed_at      timestamptz,                            -- L2
    trial_expires_at     timestamptz,                            -- L4
    -- subscriber (contract holder) information, L7
    subscriber_company   text NOT NULL DEFAULT '' CHECK (length(subscriber_company) <= 200),
    subscriber_name      text NOT NULL DEFAULT '' CHECK (length(subscriber_name) <= 200),
    subscriber_email     text NOT NULL DEFAULT '' CHECK (length(subscriber_email) <= 254),
    subscriber_phone     text NOT NULL DEFAULT '' CHECK (length(subscriber_phone) <= 40),
    subscriber_address   text NOT NULL DEFAULT '' CHECK (length(subscriber_address) <= 500),
    subscriber_country   text NOT NULL DEFAULT '' CHECK (length(subscriber_country) <= 64),
    ip_allow_list        cidr[] NOT NULL DEFAULT '{}'            -- A7 (Pro); empty = any
                         CHECK (cardinality(ip_allow_list) <= 100),
    logo                 bytea CHECK (octet_length(logo) <= 1048576),   -- P22
    logo_content_type    text CHECK (logo_content_type IN
                                     ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    time_zone            text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
    language             text NOT NULL DEFAULT 'en'
                         CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
    frozen_reason        text CHECK (length(frozen_reason) <= 500),    -- L8
    mail_bouncing_since  timestamptz,                                  -- L8
    over_quota_since     timestamptz,                                  -- L3, S8
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (plan = 'trial' OR login_id IS NOT NULL),
    CHECK ((plan = 'trial') = (trial_expires_at IS NOT NULL)),
    CHECK (plan NOT IN ('standard', 'pro') OR licence_expires_at IS NOT NULL),
    CHECK ((logo IS NULL) = (logo_content_type IS NULL)),
    CHECK (alt_login_id IS NULL OR alt_login_id <> login_id)
);
CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ------------------------------------------------------------------- users
-- role: account administrators, or members whose file rights are view/edit
-- (or none). Trial users sign in with their e-mail (email_login).
CREATE TABLE users (
    account_id           bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login_id             text NOT NULL CHECK (login_id ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    email                text CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    email_login          boolean NOT NULL DEFAULT false,
    role                 text NOT NULL CHECK (role IN ('admin', 'member')),
    file_access          text NOT NULL DEFAULT 'view' CHECK (file_access IN ('none', 'view', 'edit')),
    password_hash        text NOT NULL CHECK (password_hash LIKE '$argon2id$%'
                                              AND length(password_hash) <= 256),
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    two_step             text NOT NULL DEFAULT 'off' CHECK (two_step IN ('off', 'email', 'totp')),
    totp_secret          bytea CHECK (octet_length(totp_secret) BETWEEN 10 AND 64),
    totp_pending_secret  bytea CHECK (octet_length(totp_pending_secret) BETWEEN 10 AND 64),
    totp_last_step       bigint,                     -- a TOTP step is accepted once
    language             text CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    time_zone            text CHECK (length(time_zone) BETWEEN 1 AND 64),
    current_group_id     bigint,                     -- M1; FK added below
    disabled             boolean NOT NULL DEFAULT false,
    last_login_at        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, login_id),
    CHECK (two_step <> 'totp' OR totp_secret IS NOT NULL),
    CHECK (two_step <> 'email' OR email IS NOT NULL),
    CHECK (NOT email_login OR email IS NOT NULL),
    CHECK (role = 'member' OR file_access = 'edit')
);
-- Trial sign-in is by e-mail: one trial user per address.
CREATE UNIQUE INDEX users_email_login ON users (lower(email)) WHERE email_login;
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ------------------------------------------------------------------- teams
CREATE TABLE teams (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, name)
);
CREATE TRIGGER teams_touch BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

CREATE TABLE team_members (
    account_id  bigint NOT NULL,
    team_id     bigint NOT NULL,
    user_id     bigint NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, team_id, user_id),
    FOREIGN KEY (account_id, team_id) REFERENCES teams (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (account_id, user_id);

-- ------------------------------------------------------ measurement groups
CREATE TABLE measurement_groups (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, name)
);
CREATE TRIGGER measurement_groups_touch BEFORE UPDATE ON measurement_groups
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

ALTER TABLE users ADD FOREIGN KEY (account_id, current_group_id)
    REFERENCES measurement_groups (account_id, id) ON DELETE SET NULL (current_group_id);

-- Who may see (view) or change (edit) a group besides the administrators.
CREATE TABLE group_user_access (
    account_id  bigint NOT NULL,
    group_id    bigint NOT NULL,
    user_id     bigint NOT NULL,
    access      text NOT NULL DEFAULT 'view' CHECK (access IN ('view', 'edit')),
    PRIMARY KEY (account_id, group_id, user_id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX group_user_access_user ON group_user_access (account_id, user_id);

CREATE TABLE group_team_access (
    account_id  bigint NOT NULL,
    group_id    bigint NOT NULL,
    team_id     bigint NOT NULL,
    access      text NOT NULL DEFAULT 'view' CHECK (access IN ('view', 'edit')),
    PRIMARY KEY (account_id, group_id, team_id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (account_id, team_id) REFERENCES teams (account_id, id) ON DELETE CASCADE
);
CREATE INDEX group_team_access_team ON group_team_access (account_id, team_id);

-- -------------------------------------------------------------------- apps
-- A registered gateway application. Its ingestion credential is a random
-- 256-bit secret shown once; only its SHA-256 is kept (credential_hash),
-- with a short non-secret prefix to recognise it in lists.
CREATE TABLE apps (
    account_id          bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id            bigint,
    kind                text NOT NULL CHECK (kind IN ('one', 'cross', 'lr8450-direct')),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    enabled             boolean NOT NULL DEFAULT true,
    credential_hash     bytea UNIQUE CHECK (octet_length(credential_hash) = 32),
    credential_prefix   text CHECK (length(credential_prefix) <= 16),
    credential_set_at   timestamptz,
    last_seen_at        timestamptz,
    last_seen_ip        inet,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, group_id) REFERENCES measurement_groups (account_id, id)
        ON DELETE SET NULL (group_id)
);
CREATE INDEX apps_group ON apps (account_id, group_id);
CREATE TRIGGER apps_touch BEFORE UPDATE ON apps
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ----------------------------------------------------------------- devices
-- An instrument behind an app; model from the supported-instrument list (I4,
-- checked by the server).
CREATE TABLE devices (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id       bigint NOT NULL,
    model        text NOT NULL CHECK (length(model) BETWEEN 1 AND 32),
    serial       text NOT NULL CHECK (length(serial) BETWEEN 1 AND 64),
    firmware     text NOT NULL DEFAULT '' CHECK (length(firmware) <= 32),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, app_id, model, serial),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE
);
CREATE TRIGGER devices_touch BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ---------------------------------------------------------------- channels
-- One measured quantity of a device; "selected" = acquired (P10/P11).
CREATE TABLE channels (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    bigint NOT NULL,
    ch_key       text NOT NULL CHECK (length(ch_key) BETWEEN 1 AND 32),  -- e.g. "CH1_1"
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    unit         text NOT NULL DEFAULT '' CHECK (length(unit) <= 16),
    selected     boolean NOT NULL DEFAULT false,
    position     integer NOT NULL DEFAULT 0 CHECK (position >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, device_id, ch_key),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, id) ON DELETE CASCADE
);
CREATE INDEX channels_selected ON channels (account_id, device_id) WHERE selected;
CREATE TRIGGER channels_touch BEFORE UPDATE ON channels
    FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- ---------------------------------------------------------------- sign-in
-- Portal sessions (cookie = random secret; only its SHA-256 here). A5: idle
-- timeout 24 h (idle_expires_at moves on activity). stage 'two_step' = the
-- password was right and the second factor is awaited; view_only = the
-- temporary login URL of A8.
CREATE TABLE sessions (
    account_id       bigint NOT NULL,
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL,
    token_hash       bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    csrf_hash        bytea NOT NULL CHECK (octet_length(csrf_hash) = 32),
    stage            text NOT NULL DEFAULT 'active' CHECK (stage IN ('two_step', 'active')),
    view_only        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    idle_expires_at  timestamptz NOT NULL,
    ip               inet,
    user_agent       text CHECK (length(user_agent) <= 512),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (account_id, user_id);
CREATE INDEX sessions_expiry ON sessions (idle_expires_at);

-- Web API bearer tokens (A2, Pro only: checked by the server).
CREATE TABLE api_tokens (
    account_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL,
    token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX api_tokens_user ON api_tokens (account_id, user_id);

-- A4: single-use reset links, valid 30 minutes.
CREATE TABLE password_resets (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user ON password_resets (account_id, user_id);

-- A3: e-mailed one-time codes (login second step, e-mail confirmation).
CREATE TABLE email_codes (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    session_id   bigint,
    purpose      text NOT NULL CHECK (purpose IN ('login', 'email_confirm')),
    code_hash    bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, session_id) REFERENCES sessions (account_id, id) ON DELETE CASCADE
);
CREATE INDEX email_codes_user ON email_codes (account_id, user_id);

-- Failed sign-ins per key ('ip:<addr>', 'login:<account>/<user>', ...).
-- Not a tenant table: it is consulted before anyone is identified.
CREATE TABLE login_throttle (
    key           text PRIMARY KEY CHECK (length(key) <= 400),
    window_start  timestamptz NOT NULL DEFAULT now(),
    failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until  timestamptz
);

-- ----------------------------------------------------------- notifications
-- N1: one row per recipient user; read_at NULL = unread.
CREATE TABLE notifications (
    account_id   bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body         text NOT NULL DEFAULT '' CHECK (length(body) <= 10000),
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_user ON notifications (account_id, user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (account_id, user_id) WHERE read_at IS NULL;

-- G4: where system notices of the account go.
CREATE TABLE system_notification_recipients (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      text NOT NULL CHECK (channel IN ('email', 'wechat', 'slack', 'teams')),
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    address      text NOT NULL CHECK (length(address) BETWEEN 3 AND 2000),  -- e-mail or webhook URL
    language     text NOT NULL DEFAULT 'en'
                 CHECK (language IN ('zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it')),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    UNIQUE (account_id, channel, address)
);
CREATE TRIGGER system_notification_recipients_touch BEFORE UPDATE
    ON system_notification_recipients FOR EACH ROW EXECUTE FUNCTION mt_touch_updated_at();

-- --------------------------------------------------------------- inquiries
CREATE TABLE inquiries (
    account_id           bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              bigint,
    kind                 text NOT NULL CHECK (kind IN ('inquiry', 'fault_report',
                                                       'investigation_request', 'account_deletion')),
    subject              text NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    body                 text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    allow_remote_access  boolean NOT NULL DEFAULT false,
    status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
        ON DELETE SET NULL (user_id)
);

-- --------------------------------------------------------------- audit log
-- A9: administrative actions. The actor's login is copied so that the entry
-- stays readable after the user is deleted.
CREATE TABLE audit_log (
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_kind   text NOT NULL CHECK (actor_kind IN ('user', 'api_token', 'system')),
    user_id      bigint,
    actor_login  text NOT NULL DEFAULT '' CHECK (length(actor_login) <= 100),
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_.]{0,63}$'),
    target_type  text CHECK (length(target_type) <= 64),
    target_id    bigint,
    ip           inet,
    detail       jsonb NOT NULL DEFAULT '{}',
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
        ON DELETE SET NULL (user_id)
);
CREATE INDEX audit_log_account_at ON audit_log (account_id, at DESC);
