// The hotlog benchmarks' database: created and migrated by a server that
// runs nothing of its own (no compactor, mail, reports or jobs), so that
// only what a benchmark does touches the hot rows and their counters.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { pgBin, startServer } from '../server/harness.mjs';
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
