-- metron: older servers compatible
-- 093_past_partitions_full: mt_series_partition() gives fillfactor 50 (092)
-- only to the partitions of this month and later, those whose day blocks
-- the fold updates in place; a partition of an earlier month, made by a
-- back-fill or an import whose rows are inserted once and then mostly read,
-- keeps PostgreSQL's default of 100 (issue 16, docs/benchmarks.md
-- "Disk per stored sample after 092").
--
-- With 092's body every partition it made was half empty: the bench-query
-- year of 32 channels (one-minute samples, back-filled) took 3.17 bytes a
-- sample in its day rows (4.02 in all, against the target of < 4); with
-- this body 2.24 (3.08 in all).
--
-- A function body only: older servers call the same function and get the
-- same tables; partitions made already keep their setting.
CREATE OR REPLACE FUNCTION mt_series_partition(d integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m0   date := date_trunc('month', DATE '1970-01-01' + d)::date;
    m1   date := (m0 + interval '1 month')::date;
    name text := 'series_day_' || to_char(m0, 'YYYYMM');
    -- 092's room for the fold's heap-only updates, where the fold writes.
    opts text := CASE WHEN m0 >= date_trunc('month', now() AT TIME ZONE 'UTC')::date
                      THEN ' WITH (fillfactor = 50)' ELSE '' END;
BEGIN
    IF to_regclass(name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE TABLE %I PARTITION OF series_day FOR VALUES FROM (%s) TO (%s)',
                           name, m0 - DATE '1970-01-01', m1 - DATE '1970-01-01') || opts;
            EXECUTE format('ALTER TABLE %I ALTER COLUMN data SET STORAGE EXTERNAL', name);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN hours SET STORAGE MAIN', name);
        EXCEPTION WHEN duplicate_table THEN
            NULL; -- created meanwhile by another transaction
        END;
    END IF;
    RETURN name;
END $$;
