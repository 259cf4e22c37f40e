-- metron: older servers compatible
-- 077_audit_filter_indexes: the audit log's filters read by index
-- (docs/auth.md "Audit log", docs/benchmarks.md "auditidx").
--
-- GET /api/v1/audit filtered by action (an action or its area's start,
-- "user.") or by actor kind / app walked the account's entries newest first
-- (audit_log_account_at, the primary key) until a page of them matched: on
-- an account whose newest entries were of another area, thousands of rows
-- a page. Two indexes serve those filters in the page's order (id newest
-- first, the keyset "id < before" as an index condition):
--
-- 1. audit_log_account_area: the action's area, the part before its first
--    '.' ("user" of "user.update", "app_share" of "app_share.file.upload").
--    A filter by an action or by any start of one ending with '.' names
--    one area; the server reads the area's entries by this index and checks
--    the rest of the start on them only.
-- 2. audit_log_account_actor: the actor kind as the list shows it, an entry
--    a server of before 076 wrote as the system's with {"app_id"} in its
--    detail counting as the app's (the same expression as the statement's).
--    The app filter reads the app entries by it and checks app_id on them.
--
-- Older servers keep working beside it: only indexes are added (their
-- statements and writes are unchanged; each write updates two more index
-- entries). Built as every earlier index migration was (055, 057, 061,
-- 064): by plain CREATE INDEX inside the runner's transaction (CREATE INDEX
-- CONCURRENTLY cannot run in one), so audit writes wait for the build (a
-- second or so per million entries).
CREATE INDEX audit_log_account_area ON audit_log (account_id, split_part(action, '.', 1), id);
CREATE INDEX audit_log_account_actor ON audit_log (account_id,
    (CASE WHEN actor_kind = 'system' AND jsonb_typeof(detail->'app_id') = 'number'
          THEN 'app' ELSE actor_kind END), id);
