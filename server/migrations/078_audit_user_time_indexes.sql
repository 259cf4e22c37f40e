-- metron: older servers compatible
-- 078_audit_user_time_indexes: the audit log's filters by person and by time
-- read an index, and the device reports gateways made before 076 become
-- their app's (docs/auth.md "Reading the log by a filter", "Audit log";
-- docs/benchmarks.md "auditflt").
--
-- 1. audit_log_account_user: a person's entries in the page's order (id
--    newest first), for GET /api/v1/audit?user_id= (asked for as
--    "user_id >= $10 AND (user_id, id) < ($10, before)", as 077's filters
--    are). Partial: only entries with a person (user_id NOT NULL), so an
--    app's or the system's entry costs no index entry. It also serves the
--    foreign key (account_id, user_id) -> users ON DELETE SET NULL: deleting
--    a person no longer reads the whole table for their entries.
--    audit_log_account_at_id replaces audit_log_account_at (001: account_id,
--    at DESC; no statement needed its order since the list went by id) with
--    (account_id, at, id): the time filters (from, to) read the range in
--    time order, the keyset "(at, id) < (..)" an index bound; the id makes
--    the page's order the index's own, so that PostgreSQL's generic plan
--    cannot sort the whole range instead. One index more in all, written
--    for a person's entries only.
-- 2. A gateway's device report (device.create, device.firmware,
--    device.channels of PUT /ingest/devices) was written as the system's
--    before 076, with nothing of the app in its detail. Only that report
--    wrote those three actions without a person, on a device of the
--    reporting app, and a device never changes app: an entry whose device
--    still exists is moved to that app (actor 'app', app_id), with the
--    app's name as it is now in actor_login (its name then was not kept).
--    An entry whose device was deleted since stays the system's: nothing
--    left says which app it was.
--
-- Older servers keep working beside it: their statements name no index;
-- the one dropped is replaced in the same transaction by one with the same
-- leading columns, which serves whatever the old one served them; their
-- writes update one more index entry when a person acts; rows move to the
-- kind 'app' as 076 did, which servers of 076 on read as the app's and
-- older ones as stored. Built by plain CREATE INDEX inside the runner's
-- transaction as 077's (writes of audit entries wait for the builds: a
-- second or so per million entries each).
UPDATE audit_log a
   SET actor_kind = 'app',
       app_id = d.app_id,
       actor_login = left(p.name, 100)
  FROM devices d
  JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id
 WHERE a.actor_kind = 'system'
   AND a.user_id IS NULL
   AND a.action IN ('device.create', 'device.firmware', 'device.channels')
   AND a.target_type = 'device'
   AND d.account_id = a.account_id
   AND d.id = a.target_id;
CREATE INDEX audit_log_account_user ON audit_log (account_id, user_id, id)
    WHERE user_id IS NOT NULL;
CREATE INDEX audit_log_account_at_id ON audit_log (account_id, at, id);
DROP INDEX audit_log_account_at;
