// The server's small-batch group statement alone (build/server/
// bench_ingest_group: groups of BENCH_GROUP batches of 32 samples, one
// client, BENCH_SECONDS a run, 8 busy apps) on two databases of one
// cluster: one migrated by BENCH_BEFORE_BIN (a build without the migration
// measured) and one by METRON_SERVER_BIN; alternated BENCH_PAIRS times (a
// VACUUM and a CHECKPOINT before each run), the cluster's CPU per batch
// from /proc (the postmaster, its children, the backends that ended), and
// each account's counters checked against its hot rows at the end
// (docs/benchmarks.md "hotlog", 081). Its own durable cluster
// (server/db/pg_tuning.conf) unless BENCH_DURABLE=0.
//
//   BENCH_BEFORE_BIN=build/kept/227ac79/metron-server-test \
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/hot_fold_cost_bench.mjs
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, serverBin, startPostgres } from '../server/harness.mjs';
import { dataTenant } from '../server/data_helpers.mjs';
import { clusterCpu, load, median } from './bench_util.mjs';
import { quietServer } from './hot_bench_db.mjs';

const execFileP = promisify(execFile);
const GROUP = Number(process.env.BENCH_GROUP || 20);
const SECONDS = Number(process.env.BENCH_SECONDS || 8);
const PAIRS = Number(process.env.BENCH_PAIRS || 4);
const benchBin = process.env.BENCH_GROUP_BIN || path.join(repoRoot, 'build/server/bench_ingest_group');
if (!process.env.BENCH_BEFORE_BIN) throw new Error('BENCH_BEFORE_BIN: a server build without the migration');

const pg = await startPostgres({ durable: process.env.BENCH_DURABLE !== '0' });
try {
  const dbs = {};
  for (const [way, bin] of [['before', process.env.BENCH_BEFORE_BIN], ['after', serverBin]]) {
    const name = `hotfold_${way}`;
    const { url, srv, stop } = await quietServer(pg, name, { bin });
    const t = await dataTenant(srv, { plan: 'free', n: 2 });
    await stop();
    const sql = (q) => pg.psql(q, name);
    // 8 apps of the account, as ingpg2 (each busy: seen < 5 s ago).
    const apps = await sql(`WITH a AS (INSERT INTO apps (account_id, kind, name)
        SELECT ${t.id}, 'one', 'hf' || g FROM generate_series(1, 7) g RETURNING id)
      SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM a UNION SELECT ${t.appId}) x`);
    dbs[way] = { name, url, sql, t, apps, runs: [] };
    console.log(`${way}: ${bin}, migrations up to ${await sql('SELECT max(version) FROM schema_migrations')}, ` +
      `triggers on series_hot: ${await sql(`SELECT string_agg(tgname, ', ' ORDER BY tgname) FROM pg_trigger
        WHERE tgrelid = 'series_hot'::regclass AND NOT tgisinternal`)}`);
  }
  console.log('PostgreSQL:', await pg.durability());
  let run = 0;
  for (let p = 0; p < PAIRS; p++) {
    for (const way of p % 2 ? ['after', 'before'] : ['before', 'after']) {
      const d = dbs[way];
      await pg.psqlEach(['VACUUM ANALYZE series_hot, series_hot_count, app_seen', 'CHECKPOINT'], d.name);
      await new Promise((r) => setTimeout(r, 300));
      const l = load();
      const c0 = clusterCpu(pg.dir);
      const { stdout } = await execFileP(benchBin, [d.url, String(d.t.id), d.apps, String(GROUP), '1',
        String(SECONDS), String(++run)]);
      await new Promise((r) => setTimeout(r, 300));
      const cpu = clusterCpu(pg.dir) - c0;
      const [stored, failed] = stdout.trim().split(' ').map(Number);
      if (failed) throw new Error(`${failed} batches failed`);
      const us = (cpu * 1e6) / stored;
      d.runs.push(us);
      console.log(`${way.padEnd(6)}: ${us.toFixed(1)} µs PostgreSQL CPU a batch, ${(stored / SECONDS).toFixed(0)} ` +
        `batches/s (groups of ${GROUP}, load ${l}, ${new Date().toISOString()})`);
    }
  }
  for (const [way, d] of Object.entries(dbs)) {
    const [summed, counted] = (await d.sql(`SELECT (SELECT sum(n) FROM series_hot WHERE account_id = ${d.t.id})
      || '/' || (SELECT sum(n) FROM series_hot_count WHERE account_id = ${d.t.id})`)).split('/');
    if (summed !== counted) throw new Error(`${way}: hot rows ${summed}, counters ${counted}`);
    console.log(`${way}: ${d.runs.map((x) => x.toFixed(1)).join(', ')} µs a batch, median ` +
      `${median(d.runs).toFixed(1)}; counters exact (${counted} samples)`);
  }
} finally {
  await pg.destroy();
}
