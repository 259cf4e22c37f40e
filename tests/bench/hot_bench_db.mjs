// The hotlog benchmarks' database: created and migrated by a server that
// runs nothing of its own (no compactor, mail, reports or jobs), so that
// only what a benchmark does touches the hot rows and their counters.
import { startServer } from '../server/harness.mjs';

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
