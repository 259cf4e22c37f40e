// What the outbox benchmarks share (outbox_lanes_bench.mjs,
// notify_trouble_bench.mjs, notify_slow_hosts_bench.mjs): a server and an
// account with receivers on loopback, notifications queued through the test
// route, and a wait until the outbox has nothing left to send.
import { createAccount, login, request, sleep, startPostgres, startServer } from '../server/harness.mjs';
import { startWebhookReceiver } from '../server/webhook_receiver.mjs';

/** Its own PostgreSQL (durable with BENCH_DURABLE=1), one server whose
 * senders time out after "timeoutMs" (lease "leaseMs", "threads" sender
 * threads, rate slots off, local receivers allowed; BENCH_SLOW_MS sets
 * METRON_NOTIFY_SLOW_MS), a healthy receiver ("fine"), "hosts" more
 * receivers ("rxs", each its own port), and account "account" signed in
 * ("c"); dest(address) makes a Teams destination of it. */
export async function troubleSetup({ account, hosts, timeoutMs, leaseMs, threads = '8' }) {
  const pg = await startPostgres({ durable: process.env.BENCH_DURABLE === '1' });
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const srv = await startServer({ databaseUrl: url, env: {
    METRON_NOTIFY_THREADS: threads, METRON_NOTIFY_RATE_MS: '0,0,0,0',
    METRON_NOTIFY_TIMEOUT_MS: String(timeoutMs), METRON_NOTIFY_LEASE_MS: String(leaseMs),
    METRON_NOTIFY_BACKOFF_MS: '500', METRON_NOTIFY_BACKOFF_MAX_MS: '1000', METRON_NOTIFY_ALLOW_LOCAL: '1',
    ...(process.env.BENCH_SLOW_MS ? { METRON_NOTIFY_SLOW_MS: process.env.BENCH_SLOW_MS } : {}) } });
  const fine = await startWebhookReceiver();
  const rxs = [];
  for (let i = 0; i < hosts; i++) rxs.push(await startWebhookReceiver());
  const PW = 'Correct-h0rse';
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const dest = async (address) => {
    const r = await c.post('/api/v1/destinations', { kind: 'teams', address });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    return r.body.id;
  };
  return { pg, db, srv, fine, rxs, ids, c, dest };
}

/** enqueue(destinationId, count): "count" alarm notifications of account
 * "accountId" to one destination, queued in one transaction through
 * POST /api/v1/test/notify of the server at "url" (each call its own keys). */
export function enqueuer(url, accountId) {
  let k = 0;
  return async (to, count) => {
    const r = await request(url, 'POST', '/api/v1/test/notify', { body: { account_id: accountId,
      destination_ids: [to], count, per_tx: count, key_prefix: `b${++k}`, kind: 'alarm.raise' } });
    if (r.status !== 200 || r.body.queued !== count) throw new Error(JSON.stringify(r.body));
  };
}

/** Resolves once database "db" of cluster "pg" has no notification queued,
 * waiting for a retry or being sent (looked at every 100 ms). */
export async function outboxQuiet(pg, db) {
  while (await pg.psql(`SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending')`,
    db) !== '0') await sleep(100);
}

/** "count" notifications (10) to destination "to" of receiver "rx", one
 * after the other: the milliseconds from each one's enqueue to its arrival
 * at "path" ('/fine'). */
export async function healthyLatencies(enqueue, rx, to, { count = 10, path = '/fine' } = {}) {
  const lat = [];
  for (let i = 0; i < count; i++) {
    const before = rx.accepted(path).length;
    const t = performance.now();
    await enqueue(to, 1);
    await rx.waitFor(() => rx.accepted(path).length > before, 60000);
    lat.push(Math.round(performance.now() - t));
  }
  return lat;
}
