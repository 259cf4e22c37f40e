-- The kind of a report run's failure beside its English error text, so that
-- the portal can say it in the reader's language (docs/reports.md,
-- "Failures"): storage (the storage quota P2 was full), database (it did not
-- answer or failed), interrupted (the server making it stopped or ran out of
-- its lease), server (anything else: memory, files). NULL without an error.
ALTER TABLE report_runs
    ADD COLUMN error_kind text
    CHECK (error_kind IN ('storage', 'database', 'interrupted', 'server'));

UPDATE report_runs SET error_kind = CASE
        WHEN error LIKE 'the server %' THEN 'interrupted'
        WHEN error ~* 'plan|storage|quota' THEN 'storage'
        WHEN error ~* 'could not be read' THEN 'database'
        ELSE 'server' END
    WHERE error IS NOT NULL;

ALTER TABLE report_runs
    ADD CHECK ((error IS NULL) = (error_kind IS NULL));
