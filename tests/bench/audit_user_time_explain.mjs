// The audit log's filters by person and by time (migration 078;
// docs/benchmarks.md "auditflt"): EXPLAIN (ANALYZE, BUFFERS) of the list's
// statement for user_id (a person with 1 entry in 100) and for from / to
// (ranges far from the newest entries, a recent one) on an account of
// BENCH_ENTRIES entries (200,000 by default, a minute apart), with 078's
// indexes and this build's statements ("after") and with main's (main's
// statement, 078's indexes dropped and 001's audit_log_account_at made
// again in a transaction rolled back: "before"), on
// a durable cluster. As tests/bench/audit_filter_explain.mjs (077): times
// of PREPAREd statements over BENCH_N executions each (plan_cache_mode
// auto, as the server's prepared statements run them) by clock_timestamp()
// around a PL/pgSQL loop, alternated, two rounds; the plan in use and the
// generic one. Then what the index costs: a person's and an app's entry
// INSERTed (BENCH_INSERT_N, 2,000, in one transaction rolled back, 5 rounds
// alternated), and deleting the
// person (the foreign key's ON DELETE SET NULL on their entries).
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/audit_user_time_explain.mjs
import { startPostgres, startServer, createAccount, createUser, login } from '../server/harness.mjs';
import { auditList077, explainScript } from './audit_bench_sql.mjs';
import { load } from './bench_util.mjs';

const ENTRIES = Number(process.env.BENCH_ENTRIES || 200000), N = Number(process.env.BENCH_N || 200);
// The INSERTs: BENCH_INSERT_N a round, BENCH_INSERT_ROUNDS rounds alternated.
const INS_N = Number(process.env.BENCH_INSERT_N || 2000), INS_ROUNDS = Number(process.env.BENCH_INSERT_ROUNDS || 5);
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const srv = await startServer({ databaseUrl: url });
const ids = await createAccount(srv.url, { account: 'benchaudit', plan: 'pro', user: 'admin', password: 'Passw0rd-ok', email: 'a@b.test' });
const other = (await createUser(srv.url, { accountId: ids.accountId, user: 'other', password: 'Passw0rd-ok', email: 'o@b.test' })).userId;
// A person with no entry (deleting them: what finding their entries costs).
const fresh = (await createUser(srv.url, { accountId: ids.accountId, user: 'fresh', password: 'Passw0rd-ok', email: 'f@b.test' })).userId;
const app = await (await login(srv.url, { account: 'benchaudit', user: 'admin', password: 'Passw0rd-ok' }))
  .post('/api/v1/apps', { kind: 'cross', name: 'Bench gateway' });
// 1 in 100 the other person's, 1 in 100 the app's, 1 in 200 the system's;
// the rest the admin's. A minute apart, the newest a minute ago.
await pg.psql(`INSERT INTO audit_log (account_id, at, actor_kind, user_id, app_id, actor_login, action, target_type, target_id, detail)
  SELECT ${ids.accountId}, date_trunc('second', now()) - make_interval(mins => ${ENTRIES} + 1 - i),
    CASE WHEN i % 100 = 50 THEN 'app' WHEN i % 200 = 25 THEN 'system' ELSE 'user' END,
    CASE WHEN i % 100 = 50 OR i % 200 = 25 THEN NULL WHEN i % 100 = 0 THEN ${other} ELSE ${ids.userId} END,
    CASE WHEN i % 100 = 50 THEN ${app.body.id} END,
    CASE WHEN i % 100 = 50 THEN 'Bench gateway' WHEN i % 200 = 25 THEN '' WHEN i % 100 = 0 THEN 'other' ELSE 'admin' END,
    CASE WHEN i % 100 = 50 THEN 'app_share.file.upload' ELSE 'device.update' END,
    'device', i, jsonb_build_object('name', 'entry ' || i)
  FROM generate_series(1, ${ENTRIES}) i`, db);
await pg.psql('VACUUM ANALYZE audit_log', db);
const nowUs = Number(await pg.psql("SELECT (extract(epoch FROM date_trunc('second', now())) * 1e6)::bigint", db));
const minUs = (m) => nowUs - m * 60e6; // m minutes ago

const body = auditList077;
const A = ids.accountId, MAX = '9223372036854775807';
// main's statement (no filter's own index: user_id, from, to checked on the
// account's entries newest first) and this build's (server/db/db_auth.c).
const before = body('($2::bigint = 0 OR id < $2)', 'id DESC');
const select = `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), actor_kind,
  user_id, app_id, actor_login, action, target_type, target_id, host(ip), detail::text
  FROM audit_log WHERE account_id = $1 AND `;
const byUser = `${select} user_id >= $4 AND (user_id, id) < ($4, $2)
  AND ($5::bigint IS NULL OR at >= to_timestamp($5::double precision / 1e6))
  AND ($6::bigint IS NULL OR at < to_timestamp($6::double precision / 1e6))
  AND ($7::text IS NULL OR actor_kind = $7)
  ORDER BY user_id DESC, id DESC LIMIT $3`;
const beforeAt = `(CASE WHEN $2 = 9223372036854775807 THEN 'infinity'::timestamptz
   ELSE coalesce((SELECT b.at FROM audit_log b WHERE b.account_id = $1 AND b.id = $2), '-infinity') END)`;
const toAt = "coalesce(to_timestamp($5::double precision / 1e6), 'infinity')";
const byTime = `${select} at >= coalesce(to_timestamp($4::double precision / 1e6), '-infinity')
  AND (at, id) < (least(${beforeAt}, ${toAt}), CASE WHEN ${toAt} <= ${beforeAt} THEN 0 ELSE $2 END)
  ORDER BY at DESC, id DESC LIMIT $3`;
const args = (b, u, from, to) => `(${A}, ${b}, 50, ${u ?? 'NULL'}, NULL, ${from ?? 'NULL'}, ${to ?? 'NULL'}, NULL, NULL)`;
const types = 'bigint, bigint, int, bigint, text, bigint, bigint, text, bigint';
const user = [byUser, 'bigint, bigint, int, bigint, bigint, bigint, text', (u) => `(${A}, ${MAX}, 50, ${u}, NULL, NULL, NULL)`];
const time = [byTime, 'bigint, bigint, int, bigint, bigint', (from, to) => `(${A}, ${MAX}, 50, ${from ?? 'NULL'}, ${to ?? 'NULL'})`];
const half = Math.floor(ENTRIES / 2), quarter = Math.floor(ENTRIES / 4);
const cases = [
  // name, before's args, after's statement, types and args
  [`user_id (the other person, 1 in 100)`, args(0, other), user[0], user[1], user[2](other)],
  [`user_id (the admin, 97 in 100)`, args(0, ids.userId), user[0], user[1], user[2](ids.userId)],
  [`to = ${half} minutes ago (half the entries newer)`, args(0, null, null, minUs(half)), time[0], time[1], time[2](null, minUs(half))],
  [`from/to: a day ${quarter * 3} minutes ago`, args(0, null, minUs(quarter * 3 + 1440), minUs(quarter * 3)), time[0], time[1],
    time[2](minUs(quarter * 3 + 1440), minUs(quarter * 3))],
  [`from/to: 10 minutes ${quarter} minutes ago (10 entries)`, args(0, null, minUs(quarter + 10), minUs(quarter)), time[0], time[1],
    time[2](minUs(quarter + 10), minUs(quarter))],
  ['from = a day ago (recent)', args(0, null, minUs(1440), null), time[0], time[1], time[2](minUs(1440), null)],
  ['no filter', args(0), before, types, args(0)],
];
const MAIN_INDEXES = `DROP INDEX audit_log_account_user, audit_log_account_at_id;
  CREATE INDEX audit_log_account_at ON audit_log (account_id, at DESC);`;
// (The WAL written a statement too: for the INSERTs, a figure the load
// does not move.)
const timed = (a, n = N) => `CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS x, pg_current_wal_insert_lsn() AS w;
  DO $d$ BEGIN FOR i IN 1..${n} LOOP EXECUTE $q$EXECUTE s${a}$q$; END LOOP; END $d$;
  SELECT 'us_per_exec ' || round(extract(epoch from clock_timestamp() - x) * 1e6 / ${n}, 1)
    || ' wal_bytes_per_exec ' || round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), w) / ${n}, 1) FROM t0;`;
const out = [`load ${load()} at ${new Date().toISOString()}`];
for (const [name, argsB, after, typesA, argsA] of cases) {
  const q = (stmt, t, a, drop) => explainScript(stmt, t, a, drop ? MAIN_INDEXES : '', timed);
  for (let r = 0; r < 2; r++) {
    out.push(`== ${name}: before (main's statement and indexes), round ${r + 1}`);
    out.push(await pg.psql(q(before, types, argsB, true), db).catch((e) => String(e)));
    out.push(`== ${name}: after (this build's statement, 078's indexes), round ${r + 1}`);
    out.push(await pg.psql(q(after, typesA, argsA, false), db).catch((e) => String(e)));
  }
}
// Writing: BENCH_INSERT_N entries of a person, then of an app, one statement each
// in one transaction rolled back, without and with 078's index, alternated.
const insUser = `INSERT INTO audit_log (account_id, at, actor_kind, user_id, actor_login, action, target_type, target_id, detail)
  VALUES ($1, now(), 'user', $2, 'admin', 'device.update', 'device', 1, '{"name": "x"}'::jsonb)`;
const insApp = `INSERT INTO audit_log (account_id, at, actor_kind, app_id, actor_login, action, target_type, target_id, detail)
  VALUES ($1, now(), 'app', $2, 'Bench gateway', 'app_share.file.upload', 'battery_profile', 1, '{"name": "x"}'::jsonb)`;
for (let r = 0; r < INS_ROUNDS; r++) {
  for (const [what, ins, who] of [['a person\'s', insUser, ids.userId], ['an app\'s', insApp, app.body.id]]) {
    for (const drop of [true, false]) {
      out.push(`== insert ${what} entry: ${drop ? 'before (main\'s indexes)' : 'after (078\'s)'}, round ${r + 1}`);
      out.push(await pg.psql(`BEGIN; ${drop ? MAIN_INDEXES : ''}
        PREPARE s(bigint, bigint) AS ${ins};
        ${timed(`(${A}, ${who})`, INS_N)}
        ROLLBACK;`, db).catch((e) => String(e)));
    }
  }
}
// Deleting a person: the other one (their ${ENTRIES / 100} entries' user_id set
// to NULL by the foreign key), and one with no entry (the foreign key's
// look-up alone); the triggers' times are in the plan's output.
for (let r = 0; r < 2; r++) {
  for (const [who, id] of [['the other person', other], ['a person with no entry', fresh]]) {
    for (const drop of [true, false]) {
      out.push(`== delete ${who}: ${drop ? 'before (main\'s indexes)' : 'after (078\'s)'}, round ${r + 1}`);
      out.push(await pg.psql(`BEGIN; ${drop ? MAIN_INDEXES : ''}
        EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) DELETE FROM users WHERE account_id = ${A} AND id = ${id};
        ROLLBACK;`, db).catch((e) => String(e)));
    }
  }
}
out.push(`load ${load()} at ${new Date().toISOString()}`);
console.log(out.join('\n'));
console.log('durability', await pg.durability?.());
await srv.stop(); await pg.destroy();
