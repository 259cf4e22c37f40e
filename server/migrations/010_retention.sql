-- 010_retention: L5 for acquired data. Free accounts (and Standard/Pro
-- accounts whose licence has lapsed, which are Free) keep acquired data for
-- one year; the data-retention job deletes older day blocks in bounded
-- rounds. Monthly partitions that are wholly before the oldest day anyone
-- may still keep and hold no rows are dropped (Standard/Pro keep data
-- without time limit, so a partition only goes once it is empty).

-- Drop every empty monthly partition of series_day whose month ends on or
-- before day "before" (days since 1970-01-01). Names come from the catalog,
-- never from input. Returns how many were dropped.
CREATE FUNCTION mt_series_drop_empty(before integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    n integer := 0;
    has_rows boolean;
BEGIN
    FOR part IN
        SELECT c.relname AS name FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'series_day'::regclass AND c.relname ~ '^series_day_[0-9]{6}$'
          AND ((to_date(substr(c.relname, 12), 'YYYYMM') + interval '1 month')::date
               - DATE '1970-01-01') <= before
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', part.name) INTO has_rows;
        IF NOT has_rows THEN
            EXECUTE format('DROP TABLE %I', part.name);
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;
