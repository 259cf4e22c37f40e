// The hotlog benchmarks' database: created and migrated by a server that
// runs nothing of its own (no compactor, mail, reports or jobs), so that
// only what a benchmark does touches the hot rows and their counters.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAccount, login, pgBin, startPostgres, startServer } from '../server/harness.mjs';
import { load } from './bench_util.mjs';
import { appClient } from '../server/data_helpers.mjs';
import { pgTuningOptions } from '../../scripts/cluster.mjs';

const QUIET_ENV = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0', METRON_REPORT_WORKERS: '0' };

/** Database "name" of cluster "pg" migrated by server "bin" (default: the
 * build's), whose server is still up: { url, srv, stop() } (stop() throws
 * unless the server exits cleanly). */
export async function quietServer(pg, name, { bin } = {}) {
  const url = await pg.createDatabase(name);
  const srv = await startServer({ databaseUrl: url, bin, env: QUIET_ENV, args: ['--jobs-interval', '0'] });
  const stop = async () => {
    const exit = await srv.stop();
    if (exit.code !== 0) throw new Error(srv.stderr());
  };
  return { url, srv, stop };
}

/** Cluster "pg" (started by startPostgres) restarted under callgrind, each
 * backend counted in a file of its own in "out" (cg.PID): resolves once it
 * answers, to { stop() } (stops it and waits for valgrind to exit). */
export async function callgrindPostgres(pg, out) {
  await pg.stop();
  const opts = `-p ${pg.port} -k ${pg.dir} -c listen_addresses=127.0.0.1${pgTuningOptions()}`;
  const vg = spawn('runuser', ['-u', 'postgres', '--', 'valgrind', '--tool=callgrind',
    `--callgrind-out-file=${out}/cg.%p`, path.join(pgBin, 'postgres'), '-D', pg.dir,
    ...opts.trim().split(/\s+/)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let vgErr = '';
  vg.stderr.on('data', (d) => { vgErr += d; });
  const stop = async () => {
    if (vg.exitCode !== null) return;
    const gone = new Promise((r) => vg.on('exit', r));
    await pg.stop().catch(() => {});
    await gone;
  };
  for (let i = 0; ; i++) {
    try { await pg.psql('SELECT 1'); break; } catch (e) {
      if (i > 600) {
        await stop();
        throw new Error(`postgres under callgrind did not start: ${vgErr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { stop };
}

/** The instructions of one session of psql script "sql" (its file written
 * as "name" in "out") in database "db" of a cluster under
 * callgrindPostgres(pg, out): its backend's callgrind total. The script's
 * first statement must be "SELECT pg_backend_pid();". */
export async function sessionInstructions(pg, db, out, name, sql) {
  const f = path.join(out, name);
  fs.writeFileSync(f, sql);
  const { stdout } = await promisify(execFile)(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-v',
    'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db, '-f', f],
  { maxBuffer: 1 << 28 });
  const file = path.join(out, `cg.${stdout.trim().split('\n')[0]}`);
  for (let i = 0; !fs.existsSync(file) || !/^totals:/m.test(fs.readFileSync(file, 'utf8')); i++) {
    if (i > 600) throw new Error(`no callgrind output ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return Number(/^totals:\s+(\d+)/m.exec(fs.readFileSync(file, 'utf8'))[1]);
}

/** Each statement of "forms" ({ name: { text, args } }) PREPAREd and
 * EXECUTEd n + 1 times with argsOf(args) in a session of its own, less a
 * session that EXECUTEs it once, over n; two rounds, each printed. */
export async function formInstructions(pg, db, out, forms, argsOf, n) {
  const session = (form, k) => sessionInstructions(pg, db, out, `s-${form}-${k}.sql`,
    `SELECT pg_backend_pid();\n${process.env.BENCH_SESSION_SQL || ''}\n` +
    `PREPARE s AS ${forms[form].text};\n` + `EXECUTE s${argsOf(forms[form].args)};\n`.repeat(k + 1));
  for (let r = 0; r < 2; r++) {
    for (const form of Object.keys(forms)) {
      const zero = await session(form, 0);
      const full = await session(form, n);
      console.log(`${form}: ${((full - zero) / n).toFixed(0)} instructions a statement (round ${r + 1})`);
    }
  }
}

/** The body of an answer "r" below 300, else an error naming "what". */
export const ok = (r, what) => {
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

/** Through server "url": account "acc" (plan pro, administrator "admin"),
 * a group "Plant" with a direct LR8450 app whose device has "n" selected
 * channels CH1..CHn: { ids (createAccount's), app, ch (ids), ingest (the
 * app's client) }. */
export async function benchGateway(url, acc, n) {
  const ids = await createAccount(url, { account: acc, plan: 'pro', user: 'admin',
    password: 'Correct-h0rse', email: `admin@${acc}.test` });
  const c = await login(url, { account: acc, user: 'admin', password: 'Correct-h0rse' });
  const group = ok(await c.post('/api/v1/groups', { name: 'Plant' }), 'group').id;
  const app = ok(await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway', group_id: group }), 'app');
  const dev = ok(await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'CG1' }), 'device').id;
  const ch = [];
  for (let i = 1; i <= n; i++) {
    ch.push(ok(await c.post(`/api/v1/devices/${dev}/channels`, { key: `CH${i}`, name: `C${i}`, unit: 'V' }),
      'channel').id);
  }
  ok(await c.put(`/api/v1/devices/${dev}/selection`, { channel_ids: ch }), 'selection');
  return { ids, app, ch, ingest: appClient(url, app.credential) };
}

/** The change stamp's rows of account $1 in the monitor read's columns
 * (series_read.c's MONITOR_STAMP_ROWS: with the values of a stamped read;
 * the monitor's and the raw day's pre-check until precheck, 49caacc). */
export const STAMP_ROWS = `SELECT -1 - k.shard::bigint, k.xmin::text::bigint, NULL::boolean, NULL::timestamptz,
  k.n::float8, NULL::smallint, NULL::bytea FROM series_hot_count k WHERE k.account_id = $1
UNION ALL SELECT -100, COALESCE(c.xmin::text::bigint, 0), NULL, pg_postmaster_start_time(),
  COALESCE(c.v, -1)::float8, NULL, NULL
  FROM (SELECT 1) o LEFT JOIN account_changes c ON c.account_id = $1
UNION ALL SELECT -102, r.v, NULL, NULL, 0, NULL, NULL
  FROM account_rights r WHERE r.account_id = $1`;

/** The pre-check of account $1's stamp as the server reads it since
 * precheck (series_read.c's st_monitor_stamp: the same stamp in columns of
 * its own, two arms; STAMP_PRE_START: the first on a connection, with the
 * postmaster's start). */
export const STAMP_PRE = `SELECT k.shard, k.xmin, k.n, NULL::bigint FROM series_hot_count k WHERE k.account_id = $1
UNION ALL SELECT NULL, c.xmin, c.v, r.v FROM (SELECT 1) o
  LEFT JOIN account_changes c ON c.account_id = $1 LEFT JOIN account_rights r ON r.account_id = $1`;
export const STAMP_PRE_START = `SELECT k.shard, k.xmin, k.n, NULL::bigint, NULL::timestamptz FROM series_hot_count k
  WHERE k.account_id = $1
UNION ALL SELECT NULL, c.xmin, c.v, r.v, pg_postmaster_start_time() FROM (SELECT 1) o
  LEFT JOIN account_changes c ON c.account_id = $1 LEFT JOIN account_rights r ON r.account_id = $1`;

/** The instructions of statements "forms" (formInstructions(), n a form)
 * on a durable cluster of its own: database "cg" migrated by a quietServer(),
 * then setup({ pg, db, srv }) makes the data and returns argsOf (before the
 * server stops); the cluster restarted under callgrind; the load printed;
 * everything removed after ("prefix" names the callgrind files' folder). */
export async function formBench(prefix, forms, n, setup) {
  const pg = await startPostgres({ durable: true });
  const out = fs.mkdtempSync(`/tmp/${prefix}-cg-`);
  fs.chmodSync(out, 0o777);
  let vg = null;
  try {
    const db = 'cg';
    const { srv, stop } = await quietServer(pg, db);
    const argsOf = await setup({ pg, db, srv });
    await stop();
    vg = await callgrindPostgres(pg, out);
    await formInstructions(pg, db, out, forms, argsOf, n);
    console.log(`load ${load()}, ${new Date().toISOString()}`);
  } finally {
    if (vg) await vg.stop();
    await pg.destroy().catch(() => {});
    fs.rmSync(out, { recursive: true, force: true });
  }
}
