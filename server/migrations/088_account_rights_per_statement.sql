-- metron: older servers compatible
-- 088_account_rights_per_statement: 087's version of an account's rights
-- moved once per statement and account, not once per row (issue 16, member).
--
-- 087 moved account_rights.v from row triggers: every deleted channel,
-- device and app, and every grant or team membership row, upserted its
-- account's one row. Within one transaction each upsert is a new version of
-- that row that the next one must step over (none can be pruned before the
-- commit), so a deletion of many rows cost more for each row than the one
-- before: an account of 2,880 channels, 90 devices and 90 apps deleted in
-- 2.6-3.8 s against 1.3-2.2 s without the triggers (a copy of the benchmark
-- set-up, docs/benchmarks.md "A member's mix"), and more than linearly with
-- the account's size. Here the deletes and the grants' and team members'
-- changes are statement triggers with a transition table: each statement
-- (a cascade's too: PostgreSQL runs each referential action as a statement
-- of its own, with its statement triggers) moves each account it touched
-- once, in account order. The updates of a channel's, device's or app's
-- group or parent stay row triggers with their WHEN (087: a trigger with a
-- column list cannot have a transition table; such updates touch few rows).
-- The same accounts moved, in the same transactions: what 087 says of the
-- version holds unchanged.

-- Each account of the transition table "o" (the rows of the statement)
-- moved once, in account order (two statements of several accounts take
-- the rows' locks in one order).
CREATE FUNCTION mt_rights_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_rights AS r (account_id, v)
    SELECT DISTINCT o.account_id, 1::bigint FROM o ORDER BY 1
    ON CONFLICT (account_id) DO UPDATE SET v = r.v + 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION mt_rights_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_rights AS r (account_id, v)
    SELECT DISTINCT n.account_id, 1::bigint FROM n ORDER BY 1
    ON CONFLICT (account_id) DO UPDATE SET v = r.v + 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION mt_rights_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_rights AS r (account_id, v)
    SELECT x.a, 1::bigint FROM (SELECT o.account_id FROM o UNION SELECT n.account_id FROM n) x(a) ORDER BY 1
    ON CONFLICT (account_id) DO UPDATE SET v = r.v + 1;
    RETURN NULL;
END
$$;

DROP TRIGGER channels_rights_delete ON channels;
CREATE TRIGGER channels_rights_delete AFTER DELETE ON channels
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();

DROP TRIGGER devices_rights_delete ON devices;
CREATE TRIGGER devices_rights_delete AFTER DELETE ON devices
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();

DROP TRIGGER apps_rights_delete ON apps;
CREATE TRIGGER apps_rights_delete AFTER DELETE ON apps
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();

DROP TRIGGER group_user_access_rights ON group_user_access;
CREATE TRIGGER group_user_access_rights_insert AFTER INSERT ON group_user_access
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_new();
CREATE TRIGGER group_user_access_rights_update AFTER UPDATE ON group_user_access
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_both();
CREATE TRIGGER group_user_access_rights_delete AFTER DELETE ON group_user_access
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();

DROP TRIGGER group_team_access_rights ON group_team_access;
CREATE TRIGGER group_team_access_rights_insert AFTER INSERT ON group_team_access
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_new();
CREATE TRIGGER group_team_access_rights_update AFTER UPDATE ON group_team_access
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_both();
CREATE TRIGGER group_team_access_rights_delete AFTER DELETE ON group_team_access
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();

DROP TRIGGER team_members_rights ON team_members;
CREATE TRIGGER team_members_rights_insert AFTER INSERT ON team_members
    REFERENCING NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_new();
CREATE TRIGGER team_members_rights_update AFTER UPDATE ON team_members
    REFERENCING OLD TABLE AS o NEW TABLE AS n FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_both();
CREATE TRIGGER team_members_rights_delete AFTER DELETE ON team_members
    REFERENCING OLD TABLE AS o FOR EACH STATEMENT EXECUTE FUNCTION mt_rights_old();
