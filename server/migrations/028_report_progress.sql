-- Where a report run being made is, for the portal's progress
-- (docs/reports.md, "When"): the step (figures, charts, pdf, samples,
-- storing) and, where it counts, how many of how many are done (channels
-- drawn, days of samples written). Written by the worker holding the
-- run's lease; cleared when a run is claimed again. The API shows it only
-- while the run is running.
ALTER TABLE report_runs
    ADD COLUMN step text CHECK (step IN ('figures', 'charts', 'pdf', 'samples', 'storing')),
    ADD COLUMN step_done integer NOT NULL DEFAULT 0 CHECK (step_done >= 0),
    ADD COLUMN step_total integer NOT NULL DEFAULT 0 CHECK (step_total >= 0);
