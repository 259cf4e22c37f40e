// Two server processes of before 069 on a database that has it
// (docs/operations.md, "Servers without 069 beside it"; docs/benchmarks.md
// "ops"): their hot rows are counted by 069's row trigger on shard 0 in the
// order of each group's batches, so two of them can deadlock on
// series_hot_count. What happens then: BENCH_TENANTS accounts (24) send
// BENCH_ROUNDS rounds (300) of one small batch through each process at once,
// the accounts in opposite orders on the two; then the answers, the group
// statements and their retries (GET /metrics), the batch ids and samples
// stored, each account's counters against the sum over its hot rows, and
// PostgreSQL's "deadlock detected" errors with their context.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test \
//   OLD_BIN=$(scripts/bench-kept build 308d195) node tests/bench/hot_count_deadlock_bench.mjs
//
// OLD_BIN: a server of main 16263a8..308d195 (it reads the marks, knows 072
// and 073, not 069); unset, both processes are METRON_SERVER_BIN (the
// comparison). METRON_SERVER_BIN migrates the database first (to its
// newest, with 069). Its own PostgreSQL cluster, durable
// (server/db/pg_tuning.conf, fsync on) unless BENCH_DURABLE=0.
import fs from 'node:fs';
import path from 'node:path';
import { serverBin, startPostgres, startServer } from '../server/harness.mjs';
import { MIN_US, appClient, baseTime, dataTenant } from '../server/data_helpers.mjs';

const TENANTS = Math.min(200, Number(process.env.BENCH_TENANTS || 24));
const ROUNDS = Math.min(2000, Number(process.env.BENCH_ROUNDS || 300));
const TOKEN = 'm'.repeat(40);
const env = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0',
  METRON_REPORT_WORKERS: '0', METRON_METRICS_TOKEN: TOKEN };
const sleepless = ['--jobs-interval', '0'];

const pg = await startPostgres({ durable: process.env.BENCH_DURABLE !== '0' });
try {
  const db = 'deadlock';
  const url = await pg.createDatabase(db);
  console.log('PostgreSQL:', await pg.psql("SELECT string_agg(name || '=' || setting, ', ' " +
    "ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', " +
    "'full_page_writes', 'deadlock_timeout')", 'postgres'));
  const first = await startServer({ databaseUrl: url, env, args: sleepless });
  const tenants = [];
  for (let i = 0; i < TENANTS; i++) tenants.push(await dataTenant(first, { plan: 'pro', n: 2 }));
  await first.stop();

  const bin = process.env.OLD_BIN || serverBin;
  const procs = [await startServer({ databaseUrl: url, bin, env, args: sleepless }),
    await startServer({ databaseUrl: url, bin, env, args: sleepless })];
  console.log(`two processes of ${bin}:`);
  console.log(procs[0].stderr().split('\n').filter((l) => /migrat|schema:/.test(l)).join('\n'));
  const t0 = baseTime(30);
  const batch = (t, id, at) => ({ batch_id: id, channels: t.channels.map((ch, i) => ({ id: ch,
    t: [at, at + MIN_US, at + 2 * MIN_US], v: [i, i + 1, i + 2] })) });
  const clients = tenants.map((t) => procs.map((p) => appClient(p.url, t.app.credential)));
  const answers = {};
  let sent = 0;
  const started = Date.now();
  for (let r = 0; r < ROUNDS; r++) {
    const order = tenants.map((t, i) => i).sort(() => Math.random() - 0.5);
    const sends = [];
    for (let j = 0; j < order.length; j++) {
      for (const k of [0, 1]) {
        const i = k === 0 ? order[j] : order[order.length - 1 - j];
        sends.push(clients[i][k].batch(batch(tenants[i], `r${r}p${k}`,
          t0 + (r * 2 + k) * 3 * MIN_US)));
        sent++;
      }
    }
    for (const res of await Promise.all(sends)) answers[res.status] = (answers[res.status] || 0) + 1;
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`${sent} batches sent in ${seconds} s; answers ${JSON.stringify(answers)}`);
  for (const [i, p] of procs.entries()) {
    const r = await fetch(p.url + '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    console.log(`process ${i}:`, (await r.text()).split('\n')
      .filter((l) => /^metron_ingest_group_(statements|retries)/.test(l)).join(', '));
  }
  const ids = tenants.map((t) => t.id).join(',');
  console.log('batch ids stored:', await pg.psql(`SELECT count(*) FROM ingest_batches
    WHERE account_id IN (${ids})`, db), `of ${sent}`);
  console.log('samples stored:', await pg.psql(`SELECT sum(n) FROM series_hot
    WHERE account_id IN (${ids})`, db), `of ${sent * 3 * 2}`);
  console.log('accounts whose counters differ from the sum over their hot rows:',
    await pg.psql(`SELECT count(*) FROM accounts a WHERE a.id IN (${ids}) AND
      (SELECT COALESCE(sum(n), 0) FROM series_hot_count k WHERE k.account_id = a.id) <>
      (SELECT COALESCE(sum(n), 0) FROM series_hot h WHERE h.account_id = a.id)`, db));
  for (const p of procs) await p.stop();
  const log = fs.readFileSync(path.join(pg.dir, 'log'), 'utf8').split('\n');
  const errors = {};
  for (const l of log.filter((x) => /(ERROR|CONTEXT): /.test(x))) {
    const k = l.replace(/^.*?(ERROR|CONTEXT): /, '$1: ').replace(/\(\d+,\d+\)/, '(...)').slice(0, 120);
    errors[k] = (errors[k] || 0) + 1;
  }
  console.log('PostgreSQL errors:', JSON.stringify(errors, null, 1));
} finally {
  await pg.destroy();
}
