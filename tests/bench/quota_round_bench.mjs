// The storage_notices job over many accounts (S7, S8, L3; docs/operations.md
// "Storage quota"): what one round costs when nothing is to be done, when
// every account has just gone over its quota (each told its deadline), and
// when every account's deadline has passed (everything each stored deleted,
// recorded, told). Each round is timed by the job itself (its "ms") and by
// the CPU the server and PostgreSQL spent.
//
// It starts its own durable PostgreSQL cluster (server/db/pg_tuning.conf,
// fsync on) and metron-server (METRON_SERVER_BIN, with the test routes) on
// loopback. Sizes: BENCH_ACCOUNTS (accounts, 2000), BENCH_ROUNDS (quiet
// rounds, 5).
import { request, setClock, startPostgres, startServer } from '../server/harness.mjs';
import { context, cpuMeter, load, median } from './bench_util.mjs';

const N = Number(process.env.BENCH_ACCOUNTS || 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const DAY = 86400;

const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const sql = (q) => pg.psql(q, db);
const srv = await startServer({ databaseUrl: url, args: ['--jobs-interval', '0'],
  env: { METRON_NOTIFY_THREADS: '0', METRON_REPORT_WORKERS: '0', METRON_COMPACT_MS: '3600000' } });
try {
  await context('quota_round_bench', pg);
  await sql(`INSERT INTO accounts (login_id, name, plan, subscriber_email, language)
    SELECT 'qb' || g, 'Quota ' || g, 'free', 'holder' || g || '@quota.test', 'en'
    FROM generate_series(1, ${N}) g`);
  const total = Number(await sql("SELECT count(*) FROM accounts WHERE status = 'active'"));

  /** One storage_notices round: { ms (the job's own), done, server and PostgreSQL CPU ms }. */
  async function round() {
    const meter = cpuMeter(srv.proc.pid, pg.pid());
    const r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=storage_notices');
    if (r.status !== 200 || !r.body.jobs[0].ok) throw new Error(JSON.stringify(r.body));
    const cpu = meter.stop(1);
    return { ms: r.body.jobs[0].ms, done: r.body.jobs[0].done, server: cpu.server / 1000,
      pg: cpu.pg / 1000 };
  }
  const show = (what, r) => console.log(`${what}: ${r.ms.toFixed(0)} ms, done ${r.done}, ` +
    `server CPU ${r.server.toFixed(0)} ms, PostgreSQL CPU ${r.pg.toFixed(0)} ms ` +
    `(${(r.ms * 1000 / total).toFixed(0)} us of wall time per account; load ${load()})`);

  await round(); // warm: plans prepared, caches filled
  const quiet = [];
  for (let i = 0; i < ROUNDS; i++) quiet.push(await round());
  show(`quiet round over ${total} accounts (median of ${ROUNDS})`, {
    ms: median(quiet.map((r) => r.ms)), done: 0, server: median(quiet.map((r) => r.server)),
    pg: median(quiet.map((r) => r.pg)) });

  await sql(`INSERT INTO account_storage (account_id, data_bytes)
    SELECT id, 6000000000 FROM accounts WHERE login_id LIKE 'qb%'
    ON CONFLICT (account_id) DO UPDATE SET data_bytes = EXCLUDED.data_bytes`);
  show(`${N} accounts over their quota: each told its deadline`, await round());

  // Each deletion notes its top-level transaction (txid_current(), also
  // inside a savepoint): how many commits the round made.
  await sql(`CREATE TABLE bench_quota_tx (xid bigint);
    CREATE FUNCTION bench_quota_tx() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
      INSERT INTO bench_quota_tx VALUES (txid_current()); RETURN NEW; END $f$;
    CREATE TRIGGER bench_quota_tx AFTER INSERT ON storage_quota_deletions
      FOR EACH ROW EXECUTE FUNCTION bench_quota_tx()`);
  await setClock(srv.url, 32 * DAY);
  show(`${N} accounts past their deadline: everything each stored deleted`, await round());
  const [deleted, txs] = (await sql('SELECT count(*), count(DISTINCT xid) FROM bench_quota_tx'))
    .split('|').map(Number);
  console.log(`deletions recorded: ${deleted}, in ${txs} transactions`);
  await setClock(srv.url, 0);
} finally {
  await srv.stop();
  await pg.destroy();
}
