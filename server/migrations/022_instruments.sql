-- 022_instruments: the supported-instrument table (I4) is enforced at
-- ingestion: a channel whose instrument's firmware is below the table's
-- minimum for monitoring is refused (base/instruments.c). Ingestion keeps
-- each app's channel table in memory while apps.channels_version stays the
-- same (004_data.sql): a device's new firmware or model moves it too, so the
-- very next batch is judged by the new firmware.
CREATE FUNCTION mt_app_device_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET channels_version = channels_version + 1
    WHERE account_id = NEW.account_id AND id = NEW.app_id;
    RETURN NULL;
END $$;
CREATE TRIGGER devices_firmware_changed AFTER UPDATE OF firmware, model ON devices
    FOR EACH ROW WHEN (OLD.firmware IS DISTINCT FROM NEW.firmware OR OLD.model IS DISTINCT FROM NEW.model)
    EXECUTE FUNCTION mt_app_device_changed();
