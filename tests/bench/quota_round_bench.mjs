// The storage_notices job over many accounts (S7, S8, L3; docs/operations.md
// "Storage quota"): what one round costs when nothing is to be done, when
// every account has just gone over its quota (each told its deadline), and
// when every account's deadline has passed (everything each stored deleted,
// recorded, told). Each round is timed by the job itself (its "ms") and by
// the CPU the server and PostgreSQL spent.
//
// With hot rows the compactor has not folded (BENCH_HOT_ROWS, 200000, in
// BENCH_HOT_ACCOUNTS accounts, 4, 32 samples a row: a compactor stopped
// behind dense channels), it also times the quiet round and the account
// page (GET /api/v1/account, BENCH_GETS requests, 200) of one of those
// accounts: what the storage used figure costs (069_hot_count.sql).
//
// It starts its own durable PostgreSQL cluster (server/db/pg_tuning.conf,
// fsync on) and metron-server (METRON_SERVER_BIN, with the test routes) on
// loopback. Sizes: BENCH_ACCOUNTS (accounts, 2000), BENCH_ROUNDS (quiet
// rounds, 5).
import { createAccount, login, request, setClock, startPostgres, startServer }
  from '../server/harness.mjs';
import { context, cpuMeter, load, median } from './bench_util.mjs';

const N = Number(process.env.BENCH_ACCOUNTS || 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const DAY = 86400;
const HOT_ROWS = Number(process.env.BENCH_HOT_ROWS ?? 200000);
const HOT_ACCOUNTS = Number(process.env.BENCH_HOT_ACCOUNTS || 4);
const GETS = Number(process.env.BENCH_GETS || 200);

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

  if (HOT_ROWS > 0) {
    // A signed-in admin of the first hot account, for its account page.
    const ids = await createAccount(srv.url, { account: 'qbhot0', plan: 'free', user: 'admin',
      password: 'Correct-h0rse', email: 'admin@qbhot0.test' });
    const admin = await login(srv.url, { account: 'qbhot0', user: 'admin',
      password: 'Correct-h0rse' });
    await sql(`INSERT INTO accounts (login_id, name, plan)
      SELECT 'qbhot' || g, 'Hot ' || g, 'free' FROM generate_series(1, ${HOT_ACCOUNTS - 1}) g`);
    const hot = (await sql(`SELECT id FROM accounts WHERE login_id LIKE 'qbhot%' ORDER BY id`))
      .split('\n').map(Number);
    const per = Math.ceil(HOT_ROWS / hot.length);
    for (const id of hot) {
      await sql(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
        SELECT ${id}, g * 1000000::bigint, g * 1000000::bigint + 999, 32,
          decode(repeat('00', 768), 'hex') FROM generate_series(1, ${per}) g`);
    }
    // From 069 on, rows written without their count (as here) are counted
    // by a trigger as they are inserted.
    const counted = await sql("SELECT to_regclass('series_hot_count') IS NULL") === 't'
      ? 'summed (before 069)' : 'counted (069)';
    await sql('VACUUM ANALYZE series_hot');
    const all = Number(await sql("SELECT count(*) FROM accounts WHERE status = 'active'"));
    await round();
    const hr = [];
    for (let i = 0; i < ROUNDS; i++) hr.push(await round());
    show(`quiet round over ${all} accounts, ${per * hot.length} hot rows in ${hot.length} of them, ` +
      `${counted} (median of ${ROUNDS})`, { ms: median(hr.map((r) => r.ms)), done: 0,
      server: median(hr.map((r) => r.server)), pg: median(hr.map((r) => r.pg)) });
    let used = null;
    for (let i = 0; i < 10; i++) await admin.get('/api/v1/account'); // warm
    const meter = cpuMeter(srv.proc.pid, pg.pid());
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < GETS; i++) {
      const r = await admin.get('/api/v1/account');
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      used = r.body.usage.find((u) => u.quota === 'P2').used;
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e3 / GETS;
    const cpu = meter.stop(GETS);
    console.log(`GET /api/v1/account of an account with ${per} hot rows (storage used ${used}): ` +
      `${wall.toFixed(0)} us wall, server CPU ${cpu.server.toFixed(0)} us, PostgreSQL CPU ` +
      `${cpu.pg.toFixed(0)} us a request (${GETS} requests one at a time; load ${load()})`);
    if (ids.accountId !== hot[0]) throw new Error('the admin is not of the first hot account');
    await sql(`DELETE FROM series_hot WHERE account_id IN (${hot.join(',')})`);
    await sql(`UPDATE accounts SET status = 'frozen' WHERE login_id LIKE 'qbhot%'`);
  }

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
