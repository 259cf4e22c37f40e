// The audit log's filters by index (migration 077; docs/benchmarks.md
// "auditidx"): EXPLAIN (ANALYZE, BUFFERS) of the list's statement for
// action=user., actor_kind=app and app_id on an account of BENCH_ENTRIES
// entries (200,000 by default) where each filter matches 1 in 100, with the
// migration's indexes (the server's statements of this build) and without
// them (main's statement, 077's indexes dropped in a transaction rolled
// back), on a durable cluster. Plans printed; times of PREPAREd statements
// over BENCH_N executions each (as the server's
// prepared statements run them) timed by
// clock_timestamp() around a PL/pgSQL loop (plan_cache_mode auto); and
// the time of an audit entry's INSERT without and with the indexes.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/audit_filter_explain.mjs
import { startPostgres, startServer, createAccount, login } from '../server/harness.mjs';
import { AUDIT_KIND_077, auditList077, explainScript } from './audit_bench_sql.mjs';

const ENTRIES = Number(process.env.BENCH_ENTRIES || 200000), N = Number(process.env.BENCH_N || 200);
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const srv = await startServer({ databaseUrl: url });
const ids = await createAccount(srv.url, { account: 'benchaudit', plan: 'pro', user: 'admin', password: 'Passw0rd-ok', email: 'a@b.test' });
const app = await (await login(srv.url, { account: 'benchaudit', user: 'admin', password: 'Passw0rd-ok' }))
  .post('/api/v1/apps', { kind: 'cross', name: 'Bench gateway' });
// 1 in 100 a person's user.update, 1 in 100 the app's, 1 in 200 an app's of
// a server of before 076 (the system's with {"app_id"}); the rest a
// person's device.update. Spread evenly, a minute apart.
await pg.psql(`INSERT INTO audit_log (account_id, at, actor_kind, user_id, app_id, actor_login, action, target_type, target_id, detail)
  SELECT ${ids.accountId}, now() - make_interval(mins => ${ENTRIES} - i),
    CASE WHEN i % 100 = 50 THEN 'app' WHEN i % 200 = 25 THEN 'system' ELSE 'user' END,
    CASE WHEN i % 100 = 50 OR i % 200 = 25 THEN NULL ELSE ${ids.userId} END,
    CASE WHEN i % 100 = 50 THEN ${app.body.id} END,
    CASE WHEN i % 100 = 50 THEN 'Bench gateway' WHEN i % 200 = 25 THEN '' ELSE 'admin' END,
    CASE WHEN i % 100 = 0 THEN 'user.update' WHEN i % 100 = 50 OR i % 200 = 25 THEN 'app_share.file.upload' ELSE 'device.update' END,
    'device', i,
    CASE WHEN i % 200 = 25 THEN jsonb_build_object('app_id', ${app.body.id}, 'app', 'Bench gateway') ELSE jsonb_build_object('name', 'entry ' || i) END
  FROM generate_series(1, ${ENTRIES}) i`, db);
await pg.psql('VACUUM ANALYZE audit_log', db);

const kind = AUDIT_KIND_077;
const body = (b2, cond, order = 'id DESC') => auditList077(`${b2} ${cond}`, order);
const A = ids.accountId, P = app.body.id, MAX = '9223372036854775807';
// This build's statements (server/db/db_auth.c, AUDIT_KEYSET_SQL).
const keyed = (key) => body(`${key} >= $10 AND (${key}, id) < ($10, $2)`, '', `${key} DESC, id DESC`);
const before = body('($2::bigint = 0 OR id < $2)', '');
const cases = [
  // name, before's args, after's statement and args
  ['action=user.', `(${A}, 0, 50, NULL, 'user.', NULL, NULL, NULL, NULL)`,
    keyed("split_part(action, '.', 1)"), `(${A}, ${MAX}, 50, NULL, 'user.', NULL, NULL, NULL, NULL, 'user')`],
  ['actor_kind=app', `(${A}, 0, 50, NULL, NULL, NULL, NULL, 'app', NULL)`,
    keyed(kind), `(${A}, ${MAX}, 50, NULL, NULL, NULL, NULL, 'app', NULL, 'app')`],
  [`app_id`, `(${A}, 0, 50, NULL, NULL, NULL, NULL, NULL, ${P})`,
    keyed(kind), `(${A}, ${MAX}, 50, NULL, NULL, NULL, NULL, NULL, ${P}, 'app')`],
  ['no filter', `(${A}, 0, 50, NULL, NULL, NULL, NULL, NULL, NULL)`,
    before, `(${A}, 0, 50, NULL, NULL, NULL, NULL, NULL, NULL)`],
];
const types = 'bigint, bigint, int, bigint, text, bigint, bigint, text, bigint';
// The executions timed between two clock_timestamp() readings of one
// transaction (plan_cache_mode auto, as the server's prepared statements:
// custom plans first, then the generic one when it is not dearer); the
// plan shown is the one after them, then the generic one forced.
const timed = (args) => `CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS x;
  DO $d$ BEGIN FOR i IN 1..${N} LOOP EXECUTE $q$EXECUTE s${args}$q$; END LOOP; END $d$;
  SELECT 'us_per_exec ' || round(extract(epoch from clock_timestamp() - x) * 1e6 / ${N}) FROM t0;`;
const out = [];
for (const [name, argsB, after, argsA] of cases) {
  const q = (stmt, t, args, drop) => explainScript(stmt, t, args,
    drop ? 'DROP INDEX audit_log_account_area, audit_log_account_actor;' : '', timed);
  for (let r = 0; r < 2; r++) { // alternated before/after
    out.push(`== ${name}: before (main's statement, no 077 indexes), round ${r + 1}`);
    out.push(await pg.psql(q(before, types, argsB, true) + '', db).catch((e) => String(e)));
    out.push(`== ${name}: after (this build's statement, 077 indexes), round ${r + 1}`);
    out.push(await pg.psql(q(after, types + (argsA.split(',').length === 10 ? ', text' : ''), argsA, false) + '', db).catch((e) => String(e)));
  }
}
// Writing: BENCH_N entries inserted one statement each (the server's
// INSERT, prepared) in one transaction rolled back, without and with 077's
// indexes, alternated: what the two index entries cost a write (the
// commit's flush is the same either way and not in it).
const ins = `INSERT INTO audit_log (account_id, at, actor_kind, user_id, actor_login, action, target_type, target_id, detail)
  VALUES ($1, now(), 'user', $2, 'admin', 'device.update', 'device', 1, '{"name": "x"}'::jsonb)`;
for (let r = 0; r < 3; r++) {
  for (const drop of [true, false]) {
    out.push(`== insert: ${drop ? 'before (no 077 indexes)' : 'after (077 indexes)'}, round ${r + 1}`);
    out.push(await pg.psql(`BEGIN; ${drop ? 'DROP INDEX audit_log_account_area, audit_log_account_actor;' : ''}
      PREPARE s(bigint, bigint) AS ${ins};
      ${timed(`(${A}, ${ids.userId})`)}
      ROLLBACK;`, db).catch((e) => String(e)));
  }
}
console.log(out.join('\n'));
console.log('durability', await pg.durability?.());
await srv.stop(); await pg.destroy();
