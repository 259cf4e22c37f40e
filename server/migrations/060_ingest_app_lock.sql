-- 060_ingest_app_lock: ingest_batches without its foreign key to apps, and
-- its batch ids compared byte by byte (issue 16, docs/benchmarks.md
-- "ingpg2"). The key's check was a trigger and an SPI query per claimed
-- batch id (about a tenth of PostgreSQL's CPU per small batch stored in a
-- group); the ingest statements now lock the apps of their batches once
-- (each app once per statement) in the statement itself.
--
-- What the key guaranteed still holds:
--  * No batch of a deleted app is stored. Every statement that claims a
--    batch id (db_series.c: db_ingest_store_small, db_ingest_store_group,
--    db_ingest_claim) locks the app's row FOR KEY SHARE before its claim,
--    and for an app it did not find to lock calls mt_ingest_app_gone(),
--    which raises the foreign key's own error (foreign_key_violation,
--    23503): the statement fails and stores nothing, as the key's check
--    made it fail. An app deleted by a transaction that commits while the
--    lock waits is not found (READ COMMITTED re-reads the row); an app
--    locked first makes its deletion wait for the ingest's commit. The lock
--    also keeps what 041 relied on for hot rows (the claim's lock of the
--    app until the commit).
--  * A deleted app's batch ids go with it: the trigger below deletes them
--    after each deleted app row (a direct delete, or the cascade from its
--    account). Its DELETE is a statement of its own and so, in READ
--    COMMITTED (the server's only isolation level), sees the batches that
--    an ingest which held the app's lock committed while the deletion
--    waited, as the key's cascade did.
--
-- batch_id COLLATE "C": the primary key's comparisons (the ON CONFLICT
-- look-up and the insert of every claim) were strcoll() of the database's
-- locale; equality is byte equality under either collation (deterministic
-- collations), so what counts as the same batch id does not change, only
-- the key's order. The primary key is rebuilt (once, by this migration).
ALTER TABLE ingest_batches DROP CONSTRAINT IF EXISTS ingest_batches_account_id_app_id_fkey;
ALTER TABLE ingest_batches ALTER COLUMN batch_id TYPE text COLLATE "C";

-- The foreign key's error for a batch of app "app" that the statement did
-- not find to lock: the claim's SELECT list calls it only then
-- (CASE WHEN <locked> THEN app ELSE mt_ingest_app_gone(acct, app) END).
CREATE FUNCTION mt_ingest_app_gone(acct bigint, app bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "ingest_batches" violates foreign key constraint "ingest_batches_account_id_app_id_fkey"'
        USING ERRCODE = 'foreign_key_violation',
              DETAIL = format('Key (account_id, app_id)=(%s, %s) is not present in table "apps".', acct, app);
END $$;

CREATE FUNCTION mt_apps_batches_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ingest_batches WHERE account_id = OLD.account_id AND app_id = OLD.id;
    RETURN NULL;
END $$;

CREATE TRIGGER apps_batches_delete AFTER DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION mt_apps_batches_delete();
