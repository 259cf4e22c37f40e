/* Storage of the gateway side of apps (see db_gateway.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define TTL "interval '600 seconds'" /* DB_GW_REQUEST_TTL_S */

static db_stmt st_plan = {"gw_account_plan",
    "SELECT plan, COALESCE(extract(epoch FROM licence_expires_at)::bigint, -1) "
    "FROM accounts WHERE id = $1", 0};

db_status db_gw_account_plan(db_conn *c, long long account_id, char plan[16],
                             int64_t *licence_expires)
{
    char a[24];
    const char *p[] = {db_ll(account_id, a)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_plan, 1, p, &res);
    plan[0] = '\0';
    *licence_expires = -1;
    if (st == DB_OK && PQntuples(res) == 1) {
        snprintf(plan, 16, "%s", PQgetvalue(res, 0, 0));
        *licence_expires = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return st;
}

static db_stmt st_find = {"gw_device_find",
    "SELECT id, firmware FROM devices "
    "WHERE account_id = $1 AND app_id = $2 AND model = $3 AND serial = $4", 0};

db_status db_gw_device_find(db_conn *c, long long account_id, long long app_id,
                            const char *model, const char *serial, long long *id,
                            char *firmware, size_t cap, bool *found)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), model, serial};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_find, 4, p, &res);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *found = true;
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(firmware, cap, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return st;
}

static db_stmt st_report = {"gw_device_report",
    "UPDATE devices SET firmware = CASE WHEN $3 = '' THEN firmware ELSE $3 END, "
    "  name = CASE WHEN name = '' THEN $4 ELSE name END "
    "WHERE account_id = $1 AND id = $2 "
    "  AND (($3 <> '' AND firmware <> $3) OR (name = '' AND $4 <> ''))", 0};

db_status db_gw_device_report(db_conn *c, long long account_id, long long device_id,
                              const char *firmware, const char *name)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, b), firmware, name};
    return db_exec(c, &st_report, 4, p, NULL);
}

/* The new channels go after the device's last position, in the array's
 * order; the first ones up to the selection limit are selected. The
 * account row is locked by the caller, so nothing else adds channels to
 * this device meanwhile. */
static db_stmt st_channels_add = {"gw_channels_add",
    "WITH r AS ("
    "  SELECT x.e->>'key' AS key, x.e->>'name' AS name, x.e->>'unit' AS unit, x.ord "
    "  FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(e, ord) "
    "  WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.account_id = $1 "
    "    AND c.device_id = $2 AND c.ch_key = x.e->>'key')), "
    "n AS (SELECT r.*, row_number() OVER (ORDER BY r.ord) AS k FROM r), "
    "base AS (SELECT COALESCE(max(position) + 1, 0) AS pos, "
    "    count(*) FILTER (WHERE selected) AS sel "
    "  FROM channels WHERE account_id = $1 AND device_id = $2), "
    "ins AS (INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position) "
    "  SELECT $1, $2, n.key, n.name, n.unit, n.k <= GREATEST($4::bigint - base.sel, 0), "
    "    base.pos + n.k - 1 FROM n, base "
    "  ON CONFLICT (account_id, device_id, ch_key) DO NOTHING RETURNING selected) "
    "SELECT count(*), count(*) FILTER (WHERE selected) FROM ins", 0};

db_status db_gw_channels_add(db_conn *c, long long account_id, long long device_id,
                             const char *channels_json, long long select_limit,
                             long long *added, long long *selected)
{
    char a[24], b[24], l[24];
    const char *p[] = {db_ll(account_id, a), db_ll(device_id, b), channels_json,
                       db_ll(select_limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_channels_add, 4, p, &res);
    *added = *selected = 0;
    if (st == DB_OK && PQntuples(res) == 1) {
        *added = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *selected = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------- requests */

/* Only while the app has fewer than DB_GW_PENDING_MAX requests pending (a
 * user cannot pile up work for an app that does not answer). */
static db_stmt st_request_add = {"gw_request_add",
    "INSERT INTO app_requests (account_id, app_id, kind, device_id, firmware, requested_by) "
    "SELECT $1, $2, $3, NULLIF($4, '0')::bigint, NULLIF($5, ''), NULLIF($6, '0')::bigint "
    "WHERE (SELECT count(*) FROM app_requests WHERE account_id = $1 AND app_id = $2 "
    "  AND answered_at IS NULL AND created_at >= now() - " TTL ") < 32 "
    "RETURNING id", 0};

db_status db_gw_request_add(db_conn *c, long long account_id, long long app_id,
                            const char *kind, long long device_id, const char *firmware,
                            long long user_id, long long *id)
{
    char a[24], b[24], d[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), kind, db_ll(device_id, d),
                       firmware != NULL ? firmware : "", db_ll(user_id, u)};
    bool found = false;
    db_status st = db_q_int(c, &st_request_add, 6, p, id, &found);
    if (st == DB_OK && !found) {
        *id = 0;
    }
    return st;
}

#define REQUEST_JSON                                                                         \
    "json_build_object('id', r.id, 'app_id', r.app_id, 'kind', r.kind, "                     \
    "  'device_id', r.device_id, 'firmware', r.firmware, "                                   \
    "  'state', CASE WHEN r.answered_at IS NULL THEN "                                       \
    "    CASE WHEN r.created_at < now() - " TTL " THEN 'expired' ELSE 'pending' END "        \
    "    WHEN r.ok THEN 'done' ELSE 'failed' END, "                                          \
    "  'ok', r.ok, 'message', r.message, 'result', r.result, "                               \
    "  'created_at', " ISO("r.created_at") ", 'answered_at', " ISO("r.answered_at") ")"

static db_stmt st_request_get = {"gw_request_get",
    "SELECT " REQUEST_JSON "::text FROM app_requests r "
    "WHERE r.account_id = $1 AND r.app_id = $2 AND r.id = $3", 0};

db_status db_gw_request_json(db_conn *c, long long account_id, long long app_id, long long id,
                             char **json)
{
    char a[24], b[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), db_ll(id, i)};
    return db_q_text(c, &st_request_get, 3, p, json);
}

static db_stmt st_requests = {"gw_requests",
    "SELECT json_build_object('items', COALESCE(json_agg(" REQUEST_JSON " ORDER BY r.id DESC), "
    "  '[]'))::text FROM (SELECT * FROM app_requests WHERE account_id = $1 AND app_id = $2 "
    "  ORDER BY id DESC LIMIT $3) r", 0};

db_status db_gw_requests_json(db_conn *c, long long account_id, long long app_id, int limit,
                              char **json)
{
    char a[24], b[24], l[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), db_ll(limit, l)};
    return db_q_text(c, &st_requests, 3, p, json);
}

static db_stmt st_pending = {"gw_pending",
    "SELECT json_build_object("
    "  'live_until', (SELECT (extract(epoch FROM s.until) * 1e6)::bigint FROM apps p "
    "     JOIN live_sessions s ON s.account_id = p.account_id AND s.group_id = p.group_id "
    "     WHERE p.account_id = $1 AND p.id = $2 AND s.until > now()), "
    "  'requests', COALESCE((SELECT json_agg(json_strip_nulls(json_build_object('id', r.id, "
    "     'kind', r.kind, 'device_id', r.device_id, 'firmware', r.firmware)) ORDER BY r.id) "
    "   FROM (SELECT * FROM app_requests WHERE account_id = $1 AND app_id = $2 "
    "     AND answered_at IS NULL AND created_at >= now() - " TTL
    "     ORDER BY id LIMIT 32) r), '[]'))::text", 0};

db_status db_gw_pending_json(db_conn *c, long long account_id, long long app_id, char **json)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b)};
    return db_q_text(c, &st_pending, 2, p, json);
}

/* One statement: the row as it was (state before the answer) and, when it
 * was pending, the answer written; a firmware upgrade that worked sets the
 * device's firmware too. */
static db_stmt st_answer = {"gw_request_answer",
    "WITH old AS (SELECT id, kind, device_id, firmware, answered_at IS NOT NULL AS answered, "
    "    created_at < now() - " TTL " AS expired FROM app_requests "
    "  WHERE account_id = $1 AND app_id = $2 AND id = $3 FOR UPDATE), "
    "upd AS (UPDATE app_requests r SET answered_at = now(), ok = $4::boolean, "
    "    message = left($5, 300), result = $6::jsonb "
    "  FROM old WHERE r.account_id = $1 AND r.id = old.id AND NOT old.answered "
    "    AND NOT old.expired RETURNING r.id), "
    "dev AS (UPDATE devices d SET firmware = old.firmware FROM old, upd "
    "  WHERE d.account_id = $1 AND d.id = old.device_id AND old.kind = 'firmware_upgrade' "
    "    AND $4::boolean RETURNING d.id) "
    "SELECT (SELECT count(*) FROM old), (SELECT bool_or(answered) FROM old), "
    "  (SELECT count(*) FROM upd), (SELECT count(*) FROM dev)", 0};

db_status db_gw_request_answer(db_conn *c, long long account_id, long long app_id, long long id,
                               bool ok, const char *message, const char *result_json,
                               db_gw_answer *outcome)
{
    char a[24], b[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), db_ll(id, i), ok ? "t" : "f",
                       message, result_json};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_answer, 6, p, &res);
    *outcome = DB_GW_NO_REQUEST;
    if (st == DB_OK && PQntuples(res) == 1) {
        if (PQgetvalue(res, 0, 0)[0] == '0') {
            *outcome = DB_GW_NO_REQUEST;
        } else if (PQgetvalue(res, 0, 2)[0] != '0') {
            *outcome = DB_GW_ANSWERED;
        } else if (PQgetvalue(res, 0, 1)[0] == 't') {
            *outcome = DB_GW_ALREADY;
        } else {
            *outcome = DB_GW_EXPIRED;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_sweep = {"gw_requests_sweep",
    "DELETE FROM app_requests WHERE id IN (SELECT id FROM app_requests "
    "  WHERE created_at < to_timestamp($1::bigint) - interval '30 days' LIMIT $2)", 0};

db_status db_gw_requests_sweep(db_conn *c, int64_t now, int limit, long long *n)
{
    char t[24], l[24];
    const char *p[] = {db_ll(now, t), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_sweep, 2, p, &res);
    *n = st == DB_OK ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return st;
}
