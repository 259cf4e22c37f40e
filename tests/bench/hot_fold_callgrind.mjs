// What a statement that inserts counted hot rows (as the server's ingest
// statements do) costs in PostgreSQL's instructions on the schema of
// METRON_SERVER_BIN's migrations (and then BENCH_SQL's, a candidate):
// before and after a migration that changes series_hot's triggers
// (docs/benchmarks.md "hotlog", 081). A cluster of pg_tuning.conf's
// settings, migrated, then started under valgrind --tool=callgrind (each
// backend's instructions counted whole, in a file of its own); one psql
// session per figure runs a DO block of BENCH_STATEMENTS (2,000) INSERT
// statements of one counted hot row each, and one of 0 (the session's own
// cost), twice. Instructions per statement = (Ir(N) - Ir(0)) / N. Needs
// valgrind.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/hot_fold_callgrind.mjs
//   METRON_SERVER_BIN=... BENCH_SQL=candidate.sql node tests/bench/hot_fold_callgrind.mjs
import fs from 'node:fs';
import { callgrindPostgres, quietServer, sessionInstructions } from './hot_bench_db.mjs';
import { startPostgres } from '../server/harness.mjs';
import { load } from './bench_util.mjs';

const N = Number(process.env.BENCH_STATEMENTS || 2000);

const pg = await startPostgres({ durable: true });
const out = fs.mkdtempSync('/tmp/hotlog-cg-');
fs.chmodSync(out, 0o777);
let vg = null;
try {
  const db = 'cg';
  const { stop } = await quietServer(pg, db);
  await stop();
  await pg.psql(`INSERT INTO accounts (login_id, name, plan) VALUES ('cgbench', 'Cg', 'free')`, db);
  const account = await pg.psql(`SELECT id FROM accounts WHERE login_id = 'cgbench'`, db);
  if (process.env.BENCH_SQL) await pg.psql(fs.readFileSync(process.env.BENCH_SQL, 'utf8'), db);
  console.log(`migrations up to ${await pg.psql('SELECT max(version) FROM schema_migrations', db)}` +
    (process.env.BENCH_SQL ? `, then ${process.env.BENCH_SQL}` : '') + '; triggers on series_hot: ' +
    await pg.psql(`SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger
      WHERE tgrelid = 'series_hot'::regclass AND NOT tgisinternal`, db));
  vg = await callgrindPostgres(pg, out);
  const session = async (n, label) => {
    const ir = await sessionInstructions(pg, db, out, `s-${n}.sql`, `SELECT pg_backend_pid();
DO $$ BEGIN FOR i IN 1..${n} LOOP
  INSERT INTO series_hot (account_id, t_min, t_max, n, payload, counted)
  VALUES (${account}, i, i, 1, '\\x000000000000000000000000000000000000000000000000', true);
END LOOP; END $$;
`);
    console.log(`${label}: ${n} statements, ${ir} instructions in the backend`);
    return ir;
  };
  const got = [];
  for (let r = 0; r < 2; r++) {
    const zero = await session(0, 'empty session');
    const full = await session(N, 'session');
    got.push((full - zero) / N);
    await pg.psql('DELETE FROM series_hot', db);
  }
  console.log(`${got.map((x) => x.toFixed(0)).join(', ')} instructions a statement`);
  console.log(`load ${load()}, ${new Date().toISOString()}`);
} finally {
  if (vg) await vg.stop();
  await pg.destroy().catch(() => {});
  if (process.env.BENCH_KEEP_CG) console.log(`callgrind output kept in ${out}`);
  else fs.rmSync(out, { recursive: true, force: true });
}
