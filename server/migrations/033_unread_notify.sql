-- 033_unread_notify: PostgreSQL also announces every committed change of a
-- user's notifications, so that the server may remember the unread count
-- (GET /api/v1/notifications/unread-count, which every portal page polls)
-- as it remembers GET /api/v1/me (docs/auth.md, "Performance"; issue 16).
-- The same channel as migration 012 (metron_auth, payload the account id):
-- a notification inserted (an alarm, a notice), deleted (retention, a user
-- or account deleted), or its reader, user or account changed.

CREATE TRIGGER notifications_unread_notify AFTER INSERT OR DELETE ON notifications
    FOR EACH ROW EXECUTE FUNCTION mt_auth_notify();
CREATE TRIGGER notifications_unread_notify_update
    AFTER UPDATE OF account_id, user_id, read_at ON notifications
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR (OLD.read_at IS NULL) IS DISTINCT FROM (NEW.read_at IS NULL))
    EXECUTE FUNCTION mt_auth_notify();
