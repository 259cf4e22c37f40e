-- 035_app_notify: ingestion remembers what it needs of the app that sends a
-- batch (account, id, group, channel table version, enabled; the account's
-- status and trial end) in each server process (server/base/app_cache.h;
-- issue 16), so PostgreSQL also announces every committed change of what it
-- remembers that migrations 012 and 031 do not announce yet:
--   apps    a change of enabled, of the credential (a new one made), or of
--           channels_version (a channel of the app added, removed or
--           selected, a device's model or firmware: migrations 004, 022)
-- on the channel of migration 012 (metron_auth, payload the account id). The
-- listener moves the account's epoch and every remembered entry of that
-- account ends in every process. (An app inserted or deleted, its group or
-- kind changed: migration 031; the account row: migration 012.) The app's
-- touch of every batch (last_seen_at, connected) is not announced.
CREATE TRIGGER apps_ingest_notify AFTER UPDATE OF enabled, credential_hash, channels_version ON apps
    FOR EACH ROW
    WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled
          OR OLD.credential_hash IS DISTINCT FROM NEW.credential_hash
          OR OLD.channels_version IS DISTINCT FROM NEW.channels_version)
    EXECUTE FUNCTION mt_auth_notify();

-- The channel table ingestion keeps per app holds each channel's id and
-- selection and its instrument's model, firmware and app kind (the I4
-- refusal). A change of the app's kind now moves channels_version too; a
-- channel's update moves it only when its selection or device changed (not
-- its name, unit, position or decimals, which ingestion does not use: a
-- rename is not announced, as migration 031 says).
CREATE FUNCTION mt_app_kind_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.channels_version := OLD.channels_version + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER apps_kind_version BEFORE UPDATE OF kind ON apps
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION mt_app_kind_changed();

CREATE FUNCTION mt_app_channels_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET channels_version = channels_version + 1
    WHERE id IN (SELECT d.app_id FROM devices d
                 WHERE d.id IN (SELECT n.device_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                                WHERE n.selected IS DISTINCT FROM o.selected
                                   OR n.device_id IS DISTINCT FROM o.device_id
                                   OR n.account_id IS DISTINCT FROM o.account_id
                                UNION ALL
                                SELECT o.device_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                                WHERE n.device_id IS DISTINCT FROM o.device_id));
    RETURN NULL;
END $$;
DROP TRIGGER channels_version_upd ON channels;
CREATE TRIGGER channels_version_upd AFTER UPDATE ON channels
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mt_app_channels_updated();
