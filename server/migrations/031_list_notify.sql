-- 031_list_notify: PostgreSQL also announces every committed change that can
-- alter the device list (GET /api/v1/devices), which the server now
-- remembers per user as it remembers GET /api/v1/me (docs/auth.md,
-- "Remembered identities and replies"; issue 16).
--
-- The same channel as migration 012 (metron_auth, payload the account id):
-- the listener moves the account's epoch and every remembered reply of that
-- account ends. A device row shows its app's kind, the count of its channels
-- and of its selected channels, and is shown to a member only through the
-- groups granted to them; so these triggers fire after
--   devices             any insert or delete, an update that changed the row
--   apps                insert or delete, a change of kind or group (not the
--                       last_seen_at / connected of every ingested batch)
--   channels            insert or delete, a change of device or selection
--                       (not name, unit, position: the list does not show them)
--   group_user_access   any change
--   group_team_access   any change
-- (team_members, users and accounts are announced by migration 012.)
-- Row triggers on a cascade fire too (a device deleted with its app). The
-- notifications of one transaction with one account are delivered once.

CREATE TRIGGER devices_list_notify AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER devices_list_notify_update AFTER UPDATE ON devices
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mt_auth_notify();

CREATE TRIGGER apps_list_notify AFTER INSERT OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER apps_list_notify_update AFTER UPDATE OF account_id, kind, group_id ON apps
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION mt_auth_notify();

CREATE TRIGGER channels_list_notify AFTER INSERT OR DELETE ON channels
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER channels_list_notify_update AFTER UPDATE OF account_id, device_id, selected
    ON channels
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.device_id IS DISTINCT FROM NEW.device_id
          OR OLD.selected IS DISTINCT FROM NEW.selected)
    EXECUTE FUNCTION mt_auth_notify();

CREATE TRIGGER group_user_access_list_notify AFTER INSERT OR UPDATE OR DELETE
    ON group_user_access
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER group_team_access_list_notify AFTER INSERT OR UPDATE OR DELETE
    ON group_team_access
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
