// The ingest group statement's PostgreSQL work, variant against variant
// (grpstmt, issue 16; docs/benchmarks.md "The ingest group statement's
// PostgreSQL work"). build/server/bench_ingest_group (or another build of
// it, with another db_series.c linked) stores groups of BENCH_GROUP
// batches of 32 samples from BENCH_APPS apps of one account taken in turn
// (as the route mix's 100 gateway apps: each busy, seen < 5 s ago), one
// client, BENCH_SECONDS a run, on one durable cluster of its own
// (server/db/pg_tuning.conf; BENCH_DURABLE=0: not durable). The cluster's
// CPU per batch from /proc (the postmaster, its children, the backends that
// ended), a VACUUM and a CHECKPOINT before each run, the variants taken in
// turn BENCH_ROUNDS times (the order rotated each round).
//
// BENCH_VARIANTS: variants separated by "|", each "NAME=BIN" or
// "NAME=BIN@DB": BIN a bench_ingest_group build ("" for the build's), DB a
// database of the cluster ("a" if none), each database migrated by the
// server build of BENCH_SERVER_<DB> (default: the build's) and given the
// same tenant and apps. BENCH_SQL_<NAME>: statements run on the variant's
// database before each of its runs, BENCH_UNDO_<NAME> after (to compare
// two schemas on one database). BENCH_PERF=NAME: perf record of the
// cluster during that variant's last run (to /tmp/grpstmt-perf-NAME.data).
// At the end each database's hot counters are compared with its hot rows
// (printed, not fatal: a variant may leave out the hot row on purpose).
//
//   BENCH_VARIANTS='main=/tmp/big-main|new=' node tests/bench/grpstmt_bench.mjs
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, startPostgres } from '../server/harness.mjs';
import { dataTenant } from '../server/data_helpers.mjs';
import { clusterCpu, load, median } from './bench_util.mjs';
import { quietServer } from './hot_bench_db.mjs';

const execFileP = promisify(execFile);
const GROUP = Number(process.env.BENCH_GROUP || 11);
const SECONDS = Number(process.env.BENCH_SECONDS || 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const N_APPS = Number(process.env.BENCH_APPS || 100);
const defaultBin = path.join(repoRoot, 'build/server/bench_ingest_group');
const variants = (process.env.BENCH_VARIANTS || 'main=').split('|').map((v) => {
  const [name, rest] = v.split('=');
  const [bin, db] = rest.split('@');
  return { name, bin: bin || defaultBin, db: db || 'a', runs: [], sql: process.env[`BENCH_SQL_${name}`],
    undo: process.env[`BENCH_UNDO_${name}`] };
});

const pg = await startPostgres({ durable: process.env.BENCH_DURABLE !== '0' });
try {
  const dbs = {};
  for (const db of new Set(variants.map((v) => v.db))) {
    const name = `grpstmt_${db}`;
    const { url, srv, stop } = await quietServer(pg, name, { bin: process.env[`BENCH_SERVER_${db}`] });
    const t = await dataTenant(srv, { plan: 'pro', n: 2 });
    await stop();
    const sql = (q) => pg.psql(q, name);
    const [lo, hi] = (await sql(`WITH a AS (INSERT INTO apps (account_id, kind, name)
        SELECT ${t.id}, 'one', 'gs' || g FROM generate_series(1, ${N_APPS}) g RETURNING id)
      SELECT min(id) || ' ' || max(id) FROM a`)).split(' ').map(Number);
    if (hi - lo !== N_APPS - 1) throw new Error(`apps ${lo}..${hi}: not ${N_APPS} in a row`);
    await sql('VACUUM ANALYZE');
    dbs[db] = { name, url, sql, t, apps: `${lo}-${hi}` };
    console.log(`database ${db}: migrations up to ${await sql('SELECT max(version) FROM schema_migrations')}, ` +
      `account ${t.id}, apps ${lo}-${hi}`);
  }
  console.log('PostgreSQL:', await pg.durability());
  let run = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length];
      const d = dbs[v.db];
      if (v.sql) await pg.psqlEach(v.sql.split(';').filter((s) => s.trim()), d.name);
      await pg.psqlEach(['VACUUM ANALYZE ingest_batches, series_hot, series_hot_count, app_seen, apps',
        'CHECKPOINT'], d.name);
      await new Promise((res) => setTimeout(res, 300));
      const l = load();
      let perf = null;
      const c0 = clusterCpu(pg.dir);
      const bench = execFileP(v.bin, [d.url, String(d.t.id), d.apps, String(GROUP), '1',
        String(SECONDS), String(++run)]);
      if (process.env.BENCH_PERF === v.name && r === ROUNDS - 1) {
        // The cluster's processes once the client's backend is up: the
        // postmaster's children then (perf -p follows no later fork).
        await new Promise((res) => setTimeout(res, 500));
        const pm = fs.readFileSync(`${pg.dir}/postmaster.pid`, 'utf8').split('\n')[0];
        const kids = fs.readFileSync(`/proc/${pm}/task/${pm}/children`, 'utf8').trim().split(/\s+/);
        perf = spawn('perf', ['record', '-F', '2000', '-g', '-o', `/tmp/grpstmt-perf-${v.name}.data`,
          '-p', [pm, ...kids].join(','), '--', 'sleep', String(SECONDS - 1)], { stdio: 'ignore' });
      }
      const { stdout } = await bench;
      await new Promise((res) => setTimeout(res, 300));
      const cpu = clusterCpu(pg.dir) - c0;
      if (perf) await new Promise((res) => perf.on('exit', res));
      const [stored, failed] = stdout.trim().split(' ').map(Number);
      if (failed) throw new Error(`${v.name}: ${failed} groups failed`);
      if (v.undo) await pg.psqlEach(v.undo.split(';').filter((s) => s.trim()), d.name);
      const us = (cpu * 1e6) / stored;
      v.runs.push(us);
      console.log(`${v.name.padEnd(10)} ${us.toFixed(1)} µs PostgreSQL CPU a batch, ${(stored / SECONDS).toFixed(0)} ` +
        `batches/s (groups of ${GROUP}, load ${l}, ${new Date().toISOString()})`);
    }
  }
  for (const v of variants) {
    console.log(`${v.name.padEnd(10)} ${v.runs.map((x) => x.toFixed(1)).join(', ')} µs a batch, median ` +
      `${median(v.runs).toFixed(1)}`);
  }
  for (const [db, d] of Object.entries(dbs)) {
    const [summed, counted] = (await d.sql(`SELECT (SELECT coalesce(sum(n), 0) FROM series_hot WHERE account_id = ${d.t.id})
      || '/' || (SELECT coalesce(sum(n), 0) FROM series_hot_count WHERE account_id = ${d.t.id})`)).split('/');
    if (summed !== counted) console.log(`${db}: hot rows ${summed}, counters ${counted}: NOT EQUAL`);
    console.log(`database ${db}: counters exact (${counted} samples)`);
  }
} finally {
  await pg.destroy();
}
