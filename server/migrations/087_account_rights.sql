-- metron: older servers compatible
-- 087_account_rights: a version per account of everything mt_channels_seen()
-- (066, 085) reads, moved in the same transaction as every change to it, so
-- that a server may remember which channels a member sees and skip the
-- function while the version has not moved (issue 16, member).
--
-- mt_channels_seen() is most of a member's raw day check (548 k instructions
-- against the administrator's 314 k, docs/benchmarks.md "The raw day's check
-- in the mix"). The server (series_read.c) remembers, per account, viewer and
-- channel, that the channel was visible at version V, learnt from a check
-- that read V and ran mt_channels_seen() in one statement (one snapshot).
-- A later check passes V: its statement reads the account's version in its
-- own snapshot and calls mt_channels_seen() only when it differs. Sound
-- because every committed change to a row that mt_channels_seen() reads moves
-- the version in its own transaction (the triggers below, whoever writes:
-- this server, an older one, a tool or SQL by hand), so the same version in
-- two snapshots means the same rights in both; the version only grows (a
-- second writer waits for the first one's row lock and adds to its value).
-- What mt_channels_seen() reads, and what moves the version:
--   channels            delete; update of account_id, id, group_id, device_id
--   devices             delete; update of account_id, id, app_id
--   apps                delete; update of account_id, id, group_id (a group
--                       deleted sets it NULL: an update of group_id)
--   group_user_access   any change
--   group_team_access   any change
--   team_members        any change
-- and TRUNCATE of any of them moves every account's version (a row for each). An insert of a
-- channel, device or app changes the rights of no existing channel (ids are
-- never reused; a channel is remembered only once seen visible).
-- Every account has a row (those of now below, a new account's by a trigger),
-- which is never deleted: the check compares the row's version, and without
-- a row it runs mt_channels_seen() on every call, as before. A
-- cluster restored to an earlier point is told apart by the postmaster's
-- start, which the raw day's check returns with the visible ids (067).
-- Older servers neither read nor write the table; their writes move it
-- through the triggers.

CREATE TABLE account_rights (
    account_id bigint PRIMARY KEY,
    v          bigint NOT NULL
) WITH (fillfactor = 50);

CREATE FUNCTION mt_rights_moved(acct bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO account_rights AS r (account_id, v) VALUES (acct, 1)
    ON CONFLICT (account_id) DO UPDATE SET v = r.v + 1
$$;

CREATE FUNCTION mt_rights_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM mt_rights_moved(OLD.account_id);
    ELSE
        PERFORM mt_rights_moved(NEW.account_id);
        IF TG_OP = 'UPDATE' AND NEW.account_id IS DISTINCT FROM OLD.account_id THEN
            PERFORM mt_rights_moved(OLD.account_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION mt_rights_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_rights AS r (account_id, v) SELECT a.id, 1 FROM accounts a
    ON CONFLICT (account_id) DO UPDATE SET v = r.v + 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION mt_rights_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_rights (account_id, v) VALUES (NEW.id, 1) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_rights AFTER INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION mt_rights_account();
-- After the trigger (its lock on accounts): an account inserted meanwhile
-- by an older server gets its row from one or the other.
INSERT INTO account_rights (account_id, v) SELECT id, 1 FROM accounts ON CONFLICT DO NOTHING;

CREATE TRIGGER channels_rights_delete AFTER DELETE ON channels
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER channels_rights_update AFTER UPDATE OF account_id, id, group_id, device_id ON channels
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.id IS DISTINCT FROM NEW.id
          OR OLD.group_id IS DISTINCT FROM NEW.group_id
          OR OLD.device_id IS DISTINCT FROM NEW.device_id)
    EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER channels_rights_truncate AFTER TRUNCATE ON channels
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();

CREATE TRIGGER devices_rights_delete AFTER DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER devices_rights_update AFTER UPDATE OF account_id, id, app_id ON devices
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.id IS DISTINCT FROM NEW.id
          OR OLD.app_id IS DISTINCT FROM NEW.app_id)
    EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER devices_rights_truncate AFTER TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();

CREATE TRIGGER apps_rights_delete AFTER DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER apps_rights_update AFTER UPDATE OF account_id, id, group_id ON apps
    FOR EACH ROW
    WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id OR OLD.id IS DISTINCT FROM NEW.id
          OR OLD.group_id IS DISTINCT FROM NEW.group_id)
    EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER apps_rights_truncate AFTER TRUNCATE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();

CREATE TRIGGER group_user_access_rights AFTER INSERT OR UPDATE OR DELETE ON group_user_access
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER group_user_access_rights_truncate AFTER TRUNCATE ON group_user_access
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();

CREATE TRIGGER group_team_access_rights AFTER INSERT OR UPDATE OR DELETE ON group_team_access
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER group_team_access_rights_truncate AFTER TRUNCATE ON group_team_access
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();

CREATE TRIGGER team_members_rights AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION mt_rights_row();
CREATE TRIGGER team_members_rights_truncate AFTER TRUNCATE ON team_members
    FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_truncate();
