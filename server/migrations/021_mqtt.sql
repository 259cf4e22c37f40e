-- 021_mqtt: MQTTS with mutual TLS (docs/mqtt.md). Metron runs its own
-- certificate authority (one row: its certificate and key, made by the
-- first server that needs it) and issues each app client certificates.
-- A revoked certificate's serial goes to mqtt_revoked, which outlives the
-- app and its account: the broker must go on refusing it. The servers read
-- mqtt_revoked to tell the broker (the CRL and an immediate kick).
CREATE TABLE mqtt_ca (
    id          smallint PRIMARY KEY CHECK (id = 1),
    cert_pem    text NOT NULL,
    key_pem     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_certificates (
    account_id  bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      bigint NOT NULL,
    serial      text NOT NULL UNIQUE CHECK (serial ~ '^[0-9a-f]{32}$'),
    not_before  timestamptz NOT NULL,
    not_after   timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  bigint,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, id),
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, app_id) REFERENCES apps (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, revoked_by) REFERENCES users (account_id, id)
        ON DELETE SET NULL (revoked_by)
);
CREATE INDEX app_certificates_app ON app_certificates (account_id, app_id, id);

-- System table (no account): serials the broker refuses, until they expire.
CREATE TABLE mqtt_revoked (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial      text NOT NULL UNIQUE CHECK (serial ~ '^[0-9a-f]{32}$'),
    identity    text NOT NULL CHECK (length(identity) <= 64),
    not_after   timestamptz NOT NULL,
    revoked_at  timestamptz NOT NULL DEFAULT now()
);

-- A certificate revoked, or deleted with its app or account before it
-- expired, is refused from then on.
CREATE FUNCTION mt_app_certificate_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.revoked_at IS NULL AND OLD.not_after > now() THEN
            INSERT INTO mqtt_revoked (serial, identity, not_after)
            VALUES (OLD.serial, 'app-' || OLD.app_id, OLD.not_after)
            ON CONFLICT (serial) DO NOTHING;
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        INSERT INTO mqtt_revoked (serial, identity, not_after)
        VALUES (NEW.serial, 'app-' || NEW.app_id, NEW.not_after)
        ON CONFLICT (serial) DO NOTHING;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER app_certificates_revoked AFTER UPDATE OR DELETE ON app_certificates
    FOR EACH ROW EXECUTE FUNCTION mt_app_certificate_revoked();

-- A new app credential ("the old one stops working at once") revokes the
-- app's certificates too: they were obtained with the old one.
CREATE FUNCTION mt_app_credential_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE app_certificates SET revoked_at = now()
    WHERE account_id = NEW.account_id AND app_id = NEW.id AND revoked_at IS NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER apps_credential_changed AFTER UPDATE OF credential_hash ON apps
    FOR EACH ROW WHEN (OLD.credential_hash IS DISTINCT FROM NEW.credential_hash)
    EXECUTE FUNCTION mt_app_credential_changed();
