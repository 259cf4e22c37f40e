// The audit list's statement of migration 077 (server/db/db_auth.c then),
// kept as the "before" of the audit benchmarks (audit_filter_explain.mjs,
// audit_user_time_explain.mjs): `keyset` is the paging condition (and any
// more conditions), `order` the ORDER BY.
export const AUDIT_KIND_077 = "(CASE WHEN actor_kind = 'system' AND jsonb_typeof(detail->'app_id') = 'number' THEN 'app' ELSE actor_kind END)";
export const auditList077 = (keyset, order = 'id DESC') => `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), actor_kind,
  user_id, app_id, actor_login, action, target_type, target_id, host(ip), detail::text
  FROM audit_log WHERE account_id = $1 AND ${keyset}
  AND ($4::bigint IS NULL OR user_id = $4)
  AND ($5::text IS NULL OR action = $5 OR (right($5, 1) = '.' AND starts_with(action, $5)))
  AND ($6::bigint IS NULL OR at >= to_timestamp($6::double precision / 1e6))
  AND ($7::bigint IS NULL OR at < to_timestamp($7::double precision / 1e6))
  AND ($8::text IS NULL OR $8 = ${AUDIT_KIND_077})
  AND ($9::bigint IS NULL OR $9 = coalesce(app_id, CASE WHEN actor_kind = 'system'
   AND jsonb_typeof(detail->'app_id') = 'number' THEN (detail->>'app_id')::bigint END))
  ORDER BY ${order} LIMIT $3`;

/** A psql script that prepares `stmt` (parameter types `types`), times it
 * with `timed(args)`, and explains it with `args` (ANALYZE, BUFFERS) as
 * planned for them and as a generic plan, after `setup` (e.g. dropping the
 * indexes of "after"), all in a transaction rolled back. */
export const explainScript = (stmt, types, args, setup, timed) => `BEGIN; ${setup}
    PREPARE s(${types}) AS ${stmt};
    ${timed(args)}
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s${args};
    SET LOCAL plan_cache_mode = force_generic_plan;
    SELECT 'generic plan:';
    EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s${args};
    ROLLBACK;`;
