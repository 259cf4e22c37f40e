-- 029_account_delete_sweep: account deletion (O4, L4; 025_operations.sql)
-- relied on ON DELETE CASCADE alone, but some tenant tables carry the
-- account's id without a foreign key (series_month_dirty: work of the month
-- rows, written without a lookup), so rows of a deleted account stayed
-- there. The function now, after the account row is gone (and the cascade
-- with it), deletes what is left of "acct" in every table with an
-- account_id column. The rows it reports are still counted before.
CREATE OR REPLACE FUNCTION mt_account_delete(acct bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t record;
    n bigint;
    out jsonb := '{}';
    tables text[] := '{}';
BEGIN
    PERFORM 1 FROM accounts WHERE id = acct FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    FOR t IN
        SELECT c.relname AS name FROM pg_class c
        JOIN pg_namespace s ON s.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'account_id' AND NOT a.attisdropped
        WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND c.relname <> 'account_deletions'
        ORDER BY c.relname
    LOOP
        tables := tables || t.name::text;
        EXECUTE format('SELECT count(*) FROM %I WHERE account_id = $1', t.name) INTO n USING acct;
        IF n > 0 THEN
            out := out || jsonb_build_object(t.name, n);
        END IF;
    END LOOP;
    DELETE FROM accounts WHERE id = acct;
    FOR i IN 1 .. coalesce(array_length(tables, 1), 0) LOOP
        EXECUTE format('DELETE FROM %I WHERE account_id = $1', tables[i]) USING acct;
    END LOOP;
    RETURN out || jsonb_build_object('accounts', 1);
END
$$;
