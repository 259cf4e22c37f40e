// What the outbox's sender threads cost (docs/benchmarks.md "Order and
// receivers in flight"): one server with METRON_NOTIFY_THREADS from
// BENCH_NOTIFY_THREADS (4), rate slots off, mail through a relay to a sink.
//  1. drain: BACKLOG mails queued in one transaction; server and PostgreSQL
//     CPU (utime+stime from /proc of the server and of every postgres
//     process of the cluster that lives through the drain) per mail; while
//     it drains, one GET /api/v1/destinations every 100 ms (answers other
//     than 200 counted) and pg_stat_activity sampled for the connections
//     not idle;
//  2. trickle: 1 mail a second for 20 s: CPU per mail, and at rest 10 s
//     with nothing queued.
// BENCH_DB_POOL sets --db-pool (default: 4 per CPU, 4..16).
//   METRON_SERVER_BIN=... NODE_PATH=/usr/share/nodejs \
//     BENCH_NOTIFY_THREADS=8 node tests/bench/notify_threads_cost_bench.mjs [BACKLOG]
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createAccount, login, request, sleep, startPostgres, startServer, startSmtpSink }
  from '../server/harness.mjs';
import { startRelay } from '../server/smtp_relay.mjs';

const PW = 'Correct-h0rse';
const BACKLOG = Number(process.argv[2] || 1000);
const THREADS = process.env.BENCH_NOTIFY_THREADS || '4';
const TICK = 100; // clock ticks a second (getconf CLK_TCK)
const pg = await startPostgres();
const sink = await startSmtpSink();
const relay = await startRelay(sink.port);
const url = await pg.createDatabase();
const dbName = new URL(url).pathname.slice(1);
const srv = await startServer({ databaseUrl: url, args: ['--threads', '4', ...(process.env.BENCH_DB_POOL ? ['--db-pool', process.env.BENCH_DB_POOL] : [])],
  env: { METRON_SMTP_URL: `smtp://127.0.0.1:${relay.port}`, METRON_SMTP_TLS: 'optional',
    METRON_SMTP_FROM: 'metron@metron.test', METRON_NOTIFY_THREADS: THREADS,
    METRON_NOTIFY_RATE_MS: '0,0,0,0', METRON_NOTIFY_TIMEOUT_MS: '3000',
    METRON_NOTIFY_ALLOW_LOCAL: '1' } });
const acc = `cost-${process.pid}`;
const ids = await createAccount(srv.url, { account: acc, plan: 'standard', user: 'admin', password: PW,
  email: `admin@${acc}.test` });
const c = await login(srv.url, { account: acc, user: 'admin', password: PW });
const d = await c.post('/api/v1/destinations', { kind: 'email', address: `backlog@${acc}.test` });
if (d.status !== 201) throw new Error(JSON.stringify(d.body));
let k = 0;
const enqueue = async (count) => {
  const r = await request(srv.url, 'POST', '/api/v1/test/notify', { body: { account_id: ids.accountId,
    destination_ids: [d.body.id], count, per_tx: count, key_prefix: `c${++k}`, kind: 'alarm.raise' } });
  if (r.status !== 200 || r.body.queued !== count) throw new Error(JSON.stringify(r.body));
};
const cpuOf = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').slice(
      fs.readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch { return null; }
};
const pgPids = () => {
  const pm = pg.pid();
  const out = [pm];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) === pm) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
};
const snap = () => {
  const m = new Map();
  for (const p of pgPids()) m.set(p, cpuOf(p));
  return { srv: cpuOf(srv.proc.pid), pg: m };
};
const diff = (a, b) => {
  let pgt = 0;
  for (const [p, t] of b.pg) if (a.pg.has(p) && t !== null && a.pg.get(p) !== null) pgt += t - a.pg.get(p);
  return { srv: (b.srv - a.srv) / TICK, pg: pgt / TICK };
};
const busy = () => Number(execFileSync(`${process.env.METRON_PG_BIN || '/usr/lib/postgresql/15/bin'}/psql`,
  ['-h', pg.host || '127.0.0.1', '-p', String(pg.port), '-U', pg.user || 'postgres', '-d', dbName, '-Atc',
    `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`],
  { encoding: 'utf8' }).trim());
const sent = () => sink.messages().length;
const quiet = async () => {
  for (;;) {
    const n = await pg.psql(`SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending')`, dbName);
    if (n === '0') return;
    await sleep(200);
  }
};
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
await sleep(1000);

// 1. drain
await quiet();
let since = sent();
const s0 = snap();
const t0 = performance.now();
await enqueue(BACKLOG);
let reqs = 0, notOk = 0, peak = 0, maxMs = 0;
const lat = [];
let done = false;
const prober = (async () => {
  while (!done) {
    const t = performance.now();
    const r = await c.get('/api/v1/destinations');
    const ms = performance.now() - t;
    lat.push(ms);
    reqs++;
    if (r.status !== 200) notOk++;
    await sleep(100);
  }
})();
const sampler = {}; const samplerP = (async () => {
  while (!done) {
    try { peak = Math.max(peak, busy()); } catch (e) { if (!sampler.err) console.log(String(e).slice(0, 300)); sampler.err = 1; }
    await sleep(150);
  }
})();
// sink.messages() reads the maildir: poll the outbox instead.
await quiet();
const drainS = (performance.now() - t0) / 1000;
done = true;
await prober; await samplerP;
const s1 = snap();
const dd = diff(s0, s1);
lat.sort((a, b) => a - b);
console.log(`threads ${THREADS} pool ${process.env.BENCH_DB_POOL || 'default'} load ${load()}: drain of ${BACKLOG}: ${drainS.toFixed(1)} s, ` +
  `server ${(dd.srv * 1000 / BACKLOG).toFixed(2)} ms CPU/mail, PostgreSQL ${(dd.pg * 1000 / BACKLOG).toFixed(2)} ms CPU/mail ` +
  `(server ${dd.srv.toFixed(2)} s, pg ${dd.pg.toFixed(2)} s); requests ${reqs}, not 200: ${notOk}, ` +
  `median ${lat[Math.floor(lat.length / 2)].toFixed(0)} ms, max ${lat[lat.length - 1].toFixed(0)} ms; ` +
  `peak non-idle connections (psql excluded) ${peak}`);

// 2. trickle and rest
await sleep(1000);
const r0 = snap();
await sleep(10000);
const r1 = snap();
const rest = diff(r0, r1);
since = sent();
const q0 = snap();
for (let i = 0; i < 20; i++) { await enqueue(1); await sleep(1000); }
await quiet();
const q1 = snap();
const tr = diff(q0, q1);
console.log(`threads ${THREADS} load ${load()}: rest 10 s: server ${(rest.srv * 1000).toFixed(0)} ms, pg ${(rest.pg * 1000).toFixed(0)} ms CPU; ` +
  `trickle 20 x 1/s: server ${(tr.srv * 1000 / 20).toFixed(1)} ms CPU/mail, pg ${(tr.pg * 1000 / 20).toFixed(1)} ms CPU/mail ` +
  `(sent ${sent() - since})`);
await srv.stop();
await relay.stop();
await sink.stop();
await pg.destroy();
