-- metron: older servers compatible
-- 086_account_changes: a change stamp of each account's rare writes, so that
-- a server may keep a group's monitor values and ask PostgreSQL only whether
-- anything they depend on changed (issue 16, stamp; docs/benchmarks.md "Reads
-- that skip PostgreSQL when nothing changed" and "The monitor's read skipped
-- when nothing changed"; docs/storage.md "The monitor's change stamp").
--
-- A monitor's values (mt_monitor_read(), 068/084) are a function of the
-- account's hot rows, the group's channel_latest and channel_sent rows and
-- its apps' app_seen rows. Every insert and delete of hot rows already
-- writes a series_hot_count row of the account in its transaction (069,
-- 081): the group statement and the single batch's statement the row of
-- their connection's shard, the fold's DELETE shard 0. The xmins of the
-- account's counter rows are a change stamp of ingest and the fold, at no
-- cost added to either. What does not move them is rare: a channel_latest
-- row written or deleted outside a fold (computed channels, the demo, a
-- channel or its days deleted), a channel_sent row made or deleted, an
-- app_seen row changed outside the ingest statements (a disconnect, POST
-- /ingest/status, the MQTT bridge, the notices' record, the demo, an app
-- made or deleted), a hot row updated (nothing does). Each of those now
-- moves account_changes.v of its account in its own transaction.
--
-- By triggers, not by the server's statements, so that servers of before
-- 086 (which run beside it: a rolling upgrade) and SQL sessions move it too
-- (a kept monitor of a new server would otherwise miss an older server's
-- disconnect until the next batch of the account). The triggers cost the
-- ingest statements nothing told apart (docs/benchmarks.md):
--   - app_seen and channel_sent: row triggers, called only for rows a
--     statement changed. The group statements' app_seen update (at most
--     every 5 s an app) writes the account's counter row in the same
--     statement: the trigger sees that (the counter row's xmin is this
--     transaction's) and does nothing else; a row trigger's WHEN would be
--     prepared anew for every statement (hotlog: ~31 k instructions).
--   - channel_latest and series_hot UPDATE: statement triggers with a
--     transition table (no ingest statement writes channel_latest; the fold
--     writes it in bulk: one call a statement, not one a row).
-- The accounts are noted in account_changes_pending (unlogged, no index,
-- as 081's series_hot_uncounted) and moved once each at the commit, in
-- account order (a deferred constraint trigger on the first row of the
-- transaction): no lock on account_changes before the commit, and every
-- transaction takes them in one order, so two writers of several accounts
-- never deadlock on them. An account that no longer exists gets no row
-- (deleted in the same transaction); TRUNCATE of these tables moves nothing
-- (no server or tool truncates them while servers run).
CREATE TABLE account_changes (
    account_id  bigint PRIMARY KEY,
    v           bigint NOT NULL
) WITH (fillfactor = 50);

CREATE UNLOGGED TABLE account_changes_pending (
    account_id  bigint NOT NULL,
    fold        boolean NOT NULL DEFAULT false
);

-- At the commit: every account noted by the transaction moved once, in
-- account order.
CREATE FUNCTION mt_account_changes_fold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('metron.account_changes', 'off', true);
    WITH gone AS (DELETE FROM account_changes_pending RETURNING account_id)
    INSERT INTO account_changes AS c (account_id, v)
    SELECT g.account_id, 1 FROM (SELECT DISTINCT account_id FROM gone) g
    WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = g.account_id)
    ORDER BY g.account_id
    ON CONFLICT (account_id) DO UPDATE SET v = c.v + 1;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER account_changes_pending_fold AFTER INSERT ON account_changes_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.fold)
    EXECUTE FUNCTION mt_account_changes_fold();

-- Note account "acct" as changed by this transaction (the first note of a
-- transaction schedules the fold at its commit).
CREATE FUNCTION mt_account_changes_note(acct bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('metron.account_changes', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('metron.account_changes', 'on', true);
        INSERT INTO account_changes_pending (account_id, fold) VALUES (acct, true);
    ELSE
        INSERT INTO account_changes_pending (account_id) VALUES (acct);
    END IF;
END $$;

-- A row of app_seen or channel_sent changed: its account noted, unless this
-- transaction wrote a counter row of the account (an ingest statement: its
-- commit moves the stamp already). A counter row written under a savepoint
-- has the subtransaction's xid: the account is then noted as well.
CREATE FUNCTION mt_account_changed_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        acct := OLD.account_id;
    ELSE
        acct := NEW.account_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM series_hot_count k WHERE k.account_id = acct
                   AND k.xmin = (pg_current_xact_id()::text::bigint % 4294967296)::text::xid) THEN
        PERFORM mt_account_changes_note(acct);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER app_seen_changed AFTER INSERT OR UPDATE OR DELETE ON app_seen
    FOR EACH ROW EXECUTE FUNCTION mt_account_changed_row();
CREATE TRIGGER channel_sent_changed AFTER INSERT OR UPDATE OR DELETE ON channel_sent
    FOR EACH ROW EXECUTE FUNCTION mt_account_changed_row();

-- Rows of channel_latest written or deleted, or hot rows updated, by one
-- statement: their accounts noted (the transition table "changed").
CREATE FUNCTION mt_account_changed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acct bigint;
BEGIN
    FOR acct IN SELECT DISTINCT r.account_id FROM changed r LOOP
        PERFORM mt_account_changes_note(acct);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER channel_latest_inserted AFTER INSERT ON channel_latest
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
CREATE TRIGGER channel_latest_updated AFTER UPDATE ON channel_latest
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
CREATE TRIGGER channel_latest_deleted AFTER DELETE ON channel_latest
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
CREATE TRIGGER series_hot_updated AFTER UPDATE ON series_hot
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION mt_account_changed_rows();
