// What the migration runner's bookkeeping costs PostgreSQL on every server
// start when there is nothing to apply (docs/benchmarks.md "rolling"; the
// runner: server/db/db_migrate.c). One psql session runs the runner's
// statements BENCH_PASSES times (2000) in three forms, alternated, BENCH_ROUNDS
// times (3): "before" (3ab3fef: the lock, CREATE TABLE IF NOT EXISTS, the
// read of schema_migrations), "after" (the same with compatible_from), and
// "alter" (an ALTER TABLE ... ADD COLUMN IF NOT EXISTS on every start, the
// form not landed). Per pass: the backend's CPU from /proc, the wall time,
// and the WAL written (a commit that PostgreSQL flushes, on a durable
// cluster, shows here).
//
// It starts its own durable PostgreSQL cluster (server/db/pg_tuning.conf,
// fsync on) and migrates a database with metron-server (METRON_SERVER_BIN).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pgBin, startPostgres, startServer } from '../server/harness.mjs';
import { context } from './bench_util.mjs';

const N = Number(process.env.BENCH_PASSES || 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

const LOCK = 'SELECT pg_advisory_lock(7274766);';
const UNLOCK = 'SELECT pg_advisory_unlock(7274766);';
const TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations ( version integer PRIMARY KEY, ' +
  'name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()';
const READ = 'SELECT version, name, checksum, compatible_from FROM schema_migrations ORDER BY version;';
const FORMS = {
  before: `${LOCK}\n${TABLE});\nSELECT version, name, checksum FROM schema_migrations ORDER BY version;\n${UNLOCK}\n`,
  after: `${LOCK}\n${TABLE}, compatible_from integer);\n${READ}\n${UNLOCK}\n`,
  alter: `${LOCK}\n${TABLE}, compatible_from integer);\nALTER TABLE schema_migrations ADD COLUMN ` +
    `IF NOT EXISTS compatible_from integer;\n${READ}\n${UNLOCK}\n`,
};

/** utime + stime of process "pid", in microseconds. */
function cpuUs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e6 / 100;
}

const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase('mig');
const srv = await startServer({ databaseUrl: url });
await srv.stop();
fs.rmSync(srv.dataDir, { recursive: true, force: true });

async function run(form) {
  const q = spawn(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p',
    String(pg.port), '-U', 'postgres', '-d', 'mig', '-o', '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  q.stdout.on('data', (d) => { out += d; });
  const lines = async (n) => {
    while (out.split('\n').filter(Boolean).length < n) await new Promise((r) => setTimeout(r, 20));
  };
  q.stdin.write('SET client_min_messages = warning;\n\\o\nSELECT pg_backend_pid();\n\\o /dev/null\n');
  await lines(1);
  const pid = Number(out.split('\n')[0]);
  const lsn = await pg.psql('SELECT pg_current_wal_lsn()');
  const c0 = cpuUs(pid);
  const t0 = process.hrtime.bigint();
  q.stdin.write(FORMS[form].repeat(N));
  q.stdin.write("\\o\nSELECT 'done';\n");
  await lines(2);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = cpuUs(pid) - c0;
  const wal = Number(await pg.psql(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsn}')`));
  q.stdin.end();
  await new Promise((r) => q.on('exit', r));
  return { cpu: cpu / N, wall: wallUs / N, wal: wal / N };
}

try {
  await context('migrate_start_bench', pg);
  console.log(`${N} passes a form, ${ROUNDS} rounds; per pass: backend CPU, wall, WAL bytes`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const form of Object.keys(FORMS)) {
      const r = await run(form);
      console.log(`round ${round} ${form.padEnd(6)}  ${r.cpu.toFixed(0).padStart(4)} us CPU  ` +
        `${r.wall.toFixed(0).padStart(5)} us wall  ${r.wal.toFixed(1).padStart(5)} B WAL`);
    }
  }
} finally {
  await pg.destroy();
}
