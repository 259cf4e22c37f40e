// Benchmark of the outbox (issue #13; scripts/bench-notify, docs/benchmarks.md):
//
//  1. enqueue cost: svc_notify_enqueue() inside real transactions (the test
//     route POST /api/v1/test/notify), one message per transaction and 100
//     per transaction, on a server that does not send (METRON_NOTIFY_THREADS=0);
//  2. the receiver's ceiling: the same number of POSTs from node straight to
//     the local receiver, as many at once as the server has sender threads,
//     a new connection each (as the senders do);
//  3. delivery rate: BENCH_MESSAGES (12,000) rows queued to BENCH_DESTINATIONS
//     (50, the most one account has) webhook destinations, then a server with sender threads started:
//     the time until the last one is sent;
//  4. latency: while that server runs, messages enqueued at a steady pace;
//     from the enqueue's reply to the receiver's arrival, p50/p95/max.
//
// Rate limits per receiver are off (METRON_NOTIFY_RATE_MS=0,0,0,0) for 1-3,
// and the limit per receiving host is the thread count (BENCH_HOST_LIMIT
// sets another): one local receiver stands for many webhooks. Sizes:
// BENCH_MESSAGES, BENCH_DESTINATIONS, BENCH_THREADS (env); BENCH_HOST_HEALTHY_LIMIT sets
// the limit of a healthy host (058), BENCH_ACCOUNT_LIMIT that of the one
// account (059; the thread count when unset: the account stands for many),
// BENCH_RECEIVER_MS a delay of the
// receiver's answers (parts 3-4). It prints the
// load (uptime) with the figures: the machine is shared.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { createAccount, login, request, sleep, startPostgres, startServer } from '../server/harness.mjs';
import { startWebhookReceiver } from '../server/webhook_receiver.mjs';

const env = (k, d) => Number(process.env[k] || d);
const MESSAGES = env('BENCH_MESSAGES', 12000);
const DESTS = Math.min(50, env('BENCH_DESTINATIONS', 50)); // 50: an account's most
const THREADS = env('BENCH_THREADS', 4);
const RECEIVER_MS = env('BENCH_RECEIVER_MS', 0);
const PW = 'Correct-h0rse';
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(p * a.length))];

// One local receiver stands for many webhooks on many hosts: no limit per
// receiving host below the threads (it would be a quarter of them).
const ENV = {
  METRON_NOTIFY_ALLOW_LOCAL: '1',
  METRON_NOTIFY_RATE_MS: '0,0,0,0',
  METRON_NOTIFY_HOST_LIMIT: process.env.BENCH_HOST_LIMIT || String(Math.max(1, THREADS)),
  // 058: the limit of a healthy host (the server's default when unset: half
  // the threads, at least the host limit).
  ...(process.env.BENCH_HOST_HEALTHY_LIMIT
    ? { METRON_NOTIFY_HOST_HEALTHY_LIMIT: process.env.BENCH_HOST_HEALTHY_LIMIT } : {}),
  // 059: the one account's webhook attempts in flight; it stands for many
  // accounts, so no limit below the threads unless asked (the server's
  // default is half the threads).
  METRON_NOTIFY_ACCOUNT_LIMIT: process.env.BENCH_ACCOUNT_LIMIT || String(Math.max(1, THREADS)),
};

async function main() {
  console.log(`bench-notify: ${MESSAGES} messages, ${DESTS} destinations, ${THREADS} sender threads`);
  console.log(`load before: ${load()} (${os.cpus().length} CPUs)`);
  // PostgreSQL's default durability, as in production (BENCH_PG=fast: off, and said).
  const pg = await startPostgres({ durable: process.env.BENCH_PG !== 'fast' });
  console.log(`PostgreSQL: ${await pg.durability()}${process.env.BENCH_PG === 'fast' ? ' [BENCH_PG=fast: NOT durable]' : ''}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const rx = await startWebhookReceiver();
  const servers = [];
  try {
    const url = await pg.createDatabase();
    const dbName = new URL(url).pathname.slice(1);
    const quiet = await startServer({ databaseUrl: url,
      env: { ...ENV, METRON_NOTIFY_THREADS: '0' } });
    servers.push(quiet);
    const ids = await createAccount(quiet.url, { account: 'bench', plan: 'pro', user: 'admin',
      password: PW, email: 'admin@bench.test' });
    const c = await login(quiet.url, { account: 'bench', user: 'admin', password: PW });
    const dest = [];
    for (let i = 0; i < DESTS; i++) {
      const r = await c.post('/api/v1/destinations', { kind: ['slack', 'teams', 'wechat'][i % 3],
        address: rx.url(`/bench/${i}/T0/B0/secret`), name: `Bench ${i}` });
      // BENCH_RECEIVER_MS: the receiver answers each POST after this long (a
      // provider that takes its time), in parts 3 and 4.
      if (RECEIVER_MS > 0) rx.setDefault(`/bench/${i}/T0/B0/secret`, { stallMs: RECEIVER_MS });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      dest.push(r.body.id);
    }
    const enqueue = async (count, perTx, prefix, s = quiet) => {
      const t0 = performance.now();
      let body = { queued: 0, enqueue_ms: 0, commit_ms: 0 };
      // The route takes at most 64 destination ids: rotate through chunks.
      for (let off = 0; off < count; off += 6400) {
        const n = Math.min(6400, count - off);
        const ids64 = [];
        for (let k = 0; k < 64; k++) ids64.push(dest[(off / 100 + k) % dest.length]);
        const r = await request(s.url, 'POST', '/api/v1/test/notify', { body: {
          account_id: ids.accountId, destination_ids: DESTS >= 64 ? ids64 : dest, count: n,
          per_tx: perTx, key_prefix: `${prefix}${off}`, kind: 'alarm.raise', severity: 'alert',
          title: 'CH1 Temperature above 30 °C', body: 'Site A, logger 1: 31.2 °C at 12:00:00' } });
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        body = { queued: body.queued + r.body.queued, enqueue_ms: body.enqueue_ms + r.body.enqueue_ms,
          commit_ms: body.commit_ms + r.body.commit_ms };
      }
      return { ...body, wall_ms: performance.now() - t0 };
    };

    // 1. enqueue cost
    const warm = await enqueue(200, 1, 'warm');
    if (warm.queued !== 200) throw new Error('warm-up did not queue');
    const one = await enqueue(2000, 1, 'one');
    const hundred = await enqueue(10000, 100, 'hundred');
    console.log(`enqueue, 1 per transaction: ${(one.enqueue_ms * 1000 / 2000).toFixed(0)} µs per ` +
      `enqueue inside the transaction + ${(one.commit_ms * 1000 / 2000).toFixed(0)} µs commit ` +
      `(${(2000 / (one.wall_ms / 1000)).toFixed(0)} messages/s through the route)`);
    console.log(`enqueue, 100 per transaction: ${(hundred.enqueue_ms * 1000 / 10000).toFixed(0)} µs ` +
      `per enqueue + ${(hundred.commit_ms * 1000 / 100).toFixed(0)} µs per commit ` +
      `(${(10000 / (hundred.wall_ms / 1000)).toFixed(0)} messages/s through the route)`);
    await pg.psql('DELETE FROM notify_outbox', dbName);

    // 2. the receiver's ceiling
    const payload = JSON.stringify({ text: 'CH1 Temperature above 30 °C', blocks: [] });
    let sentC = 0;
    const tc = performance.now();
    await Promise.all(Array.from({ length: THREADS }, async () => {
      while (sentC < MESSAGES) {
        sentC++;
        await new Promise((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: rx.port, path: '/ceiling',
            method: 'POST', agent: false, headers: { 'Content-Type': 'application/json',
              'Content-Length': Buffer.byteLength(payload) } }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(payload);
        });
      }
    }));
    const ceilingS = (performance.now() - tc) / 1000;
    console.log(`ceiling: node -> receiver, ${THREADS} at once, new connection each: ` +
      `${(MESSAGES / ceilingS * 60).toFixed(0)} POSTs/min (${(MESSAGES / ceilingS).toFixed(0)}/s)`);
    rx.requests.length = 0;

    // 3. delivery rate
    const q = await enqueue(MESSAGES, 100, 'rate');
    if (q.queued !== MESSAGES) throw new Error(`queued ${q.queued}`);
    const t0 = performance.now();
    const sender = await startServer({ databaseUrl: url,
      env: { ...ENV, METRON_NOTIFY_THREADS: String(THREADS) } });
    servers.push(sender);
    const tStarted = performance.now();
    for (;;) {
      const n = Number(await pg.psql(`SELECT count(*) FROM notify_outbox WHERE state = 'sent'`, dbName));
      if (n >= MESSAGES) break;
      if (performance.now() - t0 > 600000) throw new Error(`only ${n} sent in 10 min`);
      await sleep(100);
    }
    const tDone = performance.now();
    const got = rx.requests.filter((r) => r.path.startsWith('/bench/'));
    const keys = new Set(got.map((r) => r.delivery));
    const first = Math.min(...got.map((r) => r.at));
    const last = Math.max(...got.map((r) => r.at));
    const spanS = (last - first) / 1000;
    console.log(`delivery: ${MESSAGES} queued -> all sent ${((tDone - tStarted) / 1000).toFixed(1)} s ` +
      `after the server listened; first to last arrival ${spanS.toFixed(1)} s = ` +
      `${(got.length / spanS * 60).toFixed(0)} notifications/min ` +
      `(${(got.length / spanS).toFixed(0)}/s), ${got.length} POSTs, ${keys.size} distinct deliveries`);
    const att = await pg.psql(`SELECT count(*), round(avg(duration_ms)::numeric, 2),
      round((percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms))::numeric, 2)
      FROM notify_attempts`, dbName);
    console.log(`attempts (count | mean ms | p95 ms of the POST): ${att}`);

    // 4. latency at a steady pace: 20 messages every 200 ms for 10 s
    rx.requests.length = 0;
    const sentAt = new Map();
    for (let i = 0; i < 50; i++) {
      const tick = performance.now();
      const r = await request(sender.url, 'POST', '/api/v1/test/notify', { body: {
        account_id: ids.accountId, destination_ids: dest.slice(0, 20), count: 20, per_tx: 20,
        key_prefix: `lat${i}`, kind: 'alarm.raise', title: 'latency' } });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      const done = Date.now();
      for (let k = 0; k < 20; k++) sentAt.set(`lat${i}:${k}`, done);
      const wait = 200 - (performance.now() - tick);
      if (wait > 0) await sleep(wait);
    }
    await rx.waitFor(() => rx.requests.length >= 1000, 60000, 'the latency messages');
    const keyOf = new Map((await pg.psql(`SELECT id, dedupe_key FROM notify_outbox
      WHERE dedupe_key LIKE 'lat%'`, dbName)).split('\n').map((l) => l.split('|')));
    const lat = rx.requests.map((r) => r.at - sentAt.get(keyOf.get(r.delivery))).sort((a, b) => a - b);
    console.log(`latency, 100 messages/s in transactions of 20: enqueue reply -> receiver ` +
      `p50 ${pct(lat, 0.5)} ms, p95 ${pct(lat, 0.95)} ms, max ${lat.at(-1)} ms (${lat.length})`);
  } finally {
    console.log(`load after: ${load()}`);
    for (const s of servers) {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
    await rx.stop();
    await pg.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
