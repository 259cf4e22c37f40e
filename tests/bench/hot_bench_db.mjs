// The hotlog benchmarks' database: created and migrated by a server that
// runs nothing of its own (no compactor, mail, reports or jobs), so that
// only what a benchmark does touches the hot rows and their counters.
import { spawn } from 'node:child_process';
import path from 'node:path';
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
