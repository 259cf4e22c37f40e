-- 036_monitor_notify: PostgreSQL also announces every committed change that
-- can alter the structure of a group's monitor (GET /api/v1/groups/{id}/monitor),
-- which the server now remembers per user and group (svc_data.c; issue 16):
-- only the changing part (the apps' connection state and last contact, the
-- channels' latest values) is read on every request.
--
-- The same channel as migrations 012 and 031 (metron_auth, payload the
-- account id). Already announced there: devices (any change), apps (insert,
-- delete, kind, group), channels (insert, delete, device, selection), group
-- grants, team members, users, the account. The monitor also shows
--   apps                the name and whether it is enabled (not last_seen_at /
--                       connected: read on every request)
--   channels            the key, name, unit, decimals, a computed channel's
--                       expression and group (not position: not shown)
--   measurement_groups  a group deleted (a group without apps, channels
--                       or grants has no other row that would announce it)

CREATE TRIGGER apps_monitor_notify_update AFTER UPDATE OF name, enabled ON apps
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.enabled IS DISTINCT FROM NEW.enabled)
    EXECUTE FUNCTION mt_auth_notify();

CREATE TRIGGER channels_monitor_notify_update
    AFTER UPDATE OF ch_key, name, unit, decimals, expression, group_id ON channels
    FOR EACH ROW
    WHEN (OLD.ch_key IS DISTINCT FROM NEW.ch_key OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.unit IS DISTINCT FROM NEW.unit OR OLD.decimals IS DISTINCT FROM NEW.decimals
          OR OLD.expression IS DISTINCT FROM NEW.expression
          OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION mt_auth_notify();

CREATE TRIGGER measurement_groups_monitor_notify AFTER DELETE ON measurement_groups
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER measurement_groups_monitor_notify_update AFTER UPDATE OF account_id
    ON measurement_groups
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION mt_auth_notify();
