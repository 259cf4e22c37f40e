// The outbox's order and receivers in flight (docs/notify.md "Order and
// receivers in flight"; docs/benchmarks.md "Notifications: a sign-in code
// behind a backlog, a healthy receiver beside a hung one"). One server with
// 4 sender threads, rate slots off (METRON_NOTIFY_RATE_MS=0,0,0,0) so that a
// backlog is all due at once, attempts time out after 3 s:
//  1. backlog: BACKLOG mails to one e-mail destination queued in one
//     transaction, then at once a sign-in with an e-mailed code: the time
//     from the sign-in's answer to the code in the SMTP sink, and how many
//     backlog mails the sink got before it;
//  2. hung webhook: 12 notifications to a Teams receiver that never
//     answers, then 10 sent one after another to a healthy one: each one's
//     time from its enqueue to the receiver;
//  3. hung relay: 12 mails while the mail relay hangs, then 10 webhook
//     notifications to the healthy receiver as in 2.
//  4. hung host: HOST_DESTS (8) Teams destinations on one receiving host
//     (a receiver of its own, another port) that never answers, 3
//     notifications each, then 10 to the healthy receiver as in 2 and a
//     sign-in with an e-mailed code: each one's time, the code's, and the
//     most requests the hung host had open at once (migration 056: at most
//     METRON_NOTIFY_HOST_LIMIT, a quarter of the threads by default, once
//     an attempt timed out; before that the healthy limit, half the
//     threads, and since 065 at most the account's limit less one: the
//     destinations are the healthy receiver's account's, which keeps a
//     slot for it).
//  5. hung account: another account's HOST_DESTS (8) Teams destinations,
//     each on a receiving host of its own (a receiver per port: one
//     server by many names, or many servers of a network that hangs,
//     count alike) that never answers, 3 notifications each, then 10 to
//     the first account's healthy receiver as in 2 and a sign-in with an
//     e-mailed code: each one's time, the code's, and the most requests
//     the hung account's hosts had open at once together (migration 059:
//     at most METRON_NOTIFY_ACCOUNT_LIMIT, half the threads by default).
// BENCH_NOTIFY_THREADS sets the server's METRON_NOTIFY_THREADS (4);
// BENCH_PARTS=4 runs part 4 alone (e.g. "1,2,3,4,5": all, the default);
// BENCH_DURABLE=1: PostgreSQL with its durable settings (fsync on).
//   METRON_SERVER_BIN=build/server/metron-server-test NODE_PATH=/usr/share/nodejs \
//     node tests/bench/outbox_lanes_bench.mjs [BACKLOG]
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, login, request, sleep, startPostgres, startServer, startSmtpSink }
  from '../server/harness.mjs';
import { startRelay } from '../server/smtp_relay.mjs';
import { startWebhookReceiver } from '../server/webhook_receiver.mjs';
import { enqueuer, healthyLatencies, outboxQuiet } from './outbox_bench_helpers.mjs';

const PW = 'Correct-h0rse';
const BACKLOG = Number(process.argv[2] || 1000);
const PARTS = new Set((process.env.BENCH_PARTS || '1,2,3,4,5').split(',').map(Number));
const HOST_DESTS = 8;
const pg = await startPostgres({ durable: process.env.BENCH_DURABLE === '1' });
const sink = await startSmtpSink();
const rx = await startWebhookReceiver();
const relay = await startRelay(sink.port);
const url = await pg.createDatabase();
const srv = await startServer({ databaseUrl: url, args: ['--threads', '4'],
  env: { METRON_SMTP_URL: `smtp://127.0.0.1:${relay.port}`, METRON_SMTP_TLS: 'optional',
    METRON_SMTP_FROM: 'metron@metron.test', METRON_NOTIFY_THREADS: process.env.BENCH_NOTIFY_THREADS || '4',
    METRON_NOTIFY_RATE_MS: '0,0,0,0', METRON_NOTIFY_TIMEOUT_MS: '3000',
    METRON_NOTIFY_LEASE_MS: '10000', METRON_NOTIFY_BACKOFF_MS: '500',
    METRON_NOTIFY_BACKOFF_MAX_MS: '1000', METRON_NOTIFY_ALLOW_LOCAL: '1' } });
const acc = `lanes-${process.pid}`;
const ids = await createAccount(srv.url, { account: acc, plan: 'standard', user: 'admin', password: PW,
  email: `admin@${acc}.test` });
const c = await login(srv.url, { account: acc, user: 'admin', password: PW });
const dest = async (kind, address) => {
  const r = await c.post('/api/v1/destinations', { kind, address });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  return r.body.id;
};
const mailDest = await dest('email', `backlog@${acc}.test`);
const hungDest = await dest('teams', rx.url('/hung'));
const fineDest = await dest('teams', rx.url('/fine'));
rx.setDefault('/hung', { hang: true });
const enqueue = enqueuer(srv.url, ids.accountId);
const quiet = () => outboxQuiet(pg, new URL(url).pathname.slice(1));
const seenMail = new Map(); // file name -> mtime, of every mail looked at
const mailDir = path.join(sink.dir, 'mail', 'new');
async function mailPlace(needle) {
  for (;;) {
    const names = fs.existsSync(mailDir) ? fs.readdirSync(mailDir) : [];
    for (const f of names) {
      if (seenMail.has(f)) continue;
      const p = path.join(mailDir, f);
      const mtime = fs.statSync(p).mtimeMs;
      seenMail.set(f, mtime);
      if (fs.readFileSync(p, 'utf8').includes(needle)) {
        const at = performance.now();
        let before = 0;
        for (const [g, m] of seenMail) if (g !== f && m < mtime && !old.has(g)) before++;
        return { at, before };
      }
    }
    await sleep(5);
  }
}
let old = new Set();
/** The mails already in the sink's folder, so that mailPlace() counts only later ones. */
function markMail() {
  old = new Set(fs.existsSync(mailDir) ? fs.readdirSync(mailDir) : []);
  for (const f of old) seenMail.set(f, 0);
}
/** Sign in (the code goes out by mail): "took", the milliseconds from the
 * sign-in's answer to the code's arrival, and "before", the mails written
 * before it since the mark. "before" (the argument) runs between the mark
 * and the sign-in (part 1 queues its backlog there). */
async function signInCode(before = async () => {}) {
  markMail();
  await before();
  const r = await request(srv.url, 'POST', '/api/v1/auth/login', { body: { account: acc, user: 'admin', password: PW } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  const answered = performance.now();
  // The sink's maildir is read file by file as mails come (its messages()
  // reads them all on every call: with thousands, the poller would take
  // the CPU the server needs). The code's place: the backlog mails written
  // before it.
  const code = await mailPlace(`X-RcptTo: admin@${acc}.test`);
  return { took: Math.round(code.at - answered), before: code.before };
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const cpu0 = await c.put('/api/v1/me/two-step', { mode: 'email' });
if (cpu0.status !== 200) throw new Error(JSON.stringify(cpu0.body));

// 1. A sign-in behind a backlog.
for (let round = 0; round < (PARTS.has(1) ? 3 : 0); round++) {
  await quiet();
  const since = sink.messages().length;
  let t0 = 0;
  const { took, before: at } = await signInCode(async () => {
    t0 = performance.now();
    await enqueue(mailDest, BACKLOG);
  });
  while (sink.messages().length - since < BACKLOG + 1) await sleep(500);
  console.log(`backlog of ${BACKLOG} mails: the sign-in code arrived ${took} ms after the sign-in's answer, ` +
    `after ${at} backlog mails; the whole backlog took ${Math.round(performance.now() - t0)} ms`);
}


// 2. and 3. A healthy receiver while another receiver, or the relay, hangs.
for (const what of ['hung webhook receiver', 'hung mail relay'].filter((w, i) => PARTS.has(i + 2))) {
  await quiet();
  if (what === 'hung mail relay') { relay.set('stall'); await enqueue(mailDest, 12); }
  else await enqueue(hungDest, 12);
  await sleep(300);
  const lat = await healthyLatencies(enqueue, rx, fineDest);
  console.log(`${what}: 10 notifications to a healthy receiver, each from its enqueue to the receiver: ` +
    `median ${med(lat)} ms, max ${Math.max(...lat)} ms (${lat.join(' ')})`);
  // Let the hung ones go (a receiver that comes back) and drain.
  relay.set('pass');
  relay.cut();
  rx.setDefault('/hung', { status: 200 });
  rx.releaseHung();
  await quiet();
  rx.setDefault('/hung', { hang: true });
}
// 4. A healthy receiver and a sign-in code while a host that serves many
// destinations hangs.
const rxh = await startWebhookReceiver();
const hostDests = [];
for (let i = 0; i < HOST_DESTS; i++) hostDests.push(await dest('teams', rxh.url(`/h${i}`)));
for (let round = 0; round < (PARTS.has(4) ? 3 : 0); round++) {
  await quiet();
  for (let i = 0; i < HOST_DESTS; i++) rxh.setDefault(`/h${i}`, { hang: true });
  rxh.resetMaxOpen();
  for (const d of hostDests) await enqueue(d, 3);
  await sleep(300);
  const lat = await healthyLatencies(enqueue, rx, fineDest);
  const code = await signInCode();
  console.log(`hung host (${HOST_DESTS} destinations on one receiver): 10 notifications to a healthy receiver: ` +
    `median ${med(lat)} ms, max ${Math.max(...lat)} ms (${lat.join(' ')}); the sign-in code ` +
    `${code.took} ms after the sign-in's answer; the hung host had at most ` +
    `${rxh.maxOpen()} requests open at once`);
  for (let i = 0; i < HOST_DESTS; i++) rxh.setDefault(`/h${i}`, { status: 200 });
  rxh.releaseHung();
  await quiet();
}
// 5. A healthy receiver and a sign-in code while another account's
// webhooks, on as many hosts as it has destinations, hang.
const hogAcc = `hog-${process.pid}`;
const hogIds = await createAccount(srv.url, { account: hogAcc, plan: 'standard', user: 'admin',
  password: PW, email: `admin@${hogAcc}.test` });
const hogC = await login(srv.url, { account: hogAcc, user: 'admin', password: PW });
const hogRx = [];
const hogDests = [];
for (let i = 0; PARTS.has(5) && i < HOST_DESTS; i++) {
  const r = await startWebhookReceiver();
  hogRx.push(r);
  const d = await hogC.post('/api/v1/destinations', { kind: 'teams', address: r.url('/hog') });
  if (d.status !== 201) throw new Error(JSON.stringify(d.body));
  hogDests.push(d.body.id);
}
let hogMax = 0;
const hogOpen = () => hogRx.reduce((n, r) => n + r.open(), 0);
for (const r of hogRx) r.watch(() => { hogMax = Math.max(hogMax, hogOpen()); });
for (let round = 0; round < (PARTS.has(5) ? 3 : 0); round++) {
  await quiet();
  for (const r of hogRx) r.setDefault('/hog', { hang: true });
  hogMax = hogOpen();
  for (const d of hogDests) {
    const r = await request(srv.url, 'POST', '/api/v1/test/notify', { body: { account_id: hogIds.accountId,
      destination_ids: [d], count: 3, per_tx: 3, key_prefix: `hog${round}d${d}`, kind: 'alarm.raise' } });
    if (r.status !== 200 || r.body.queued !== 3) throw new Error(JSON.stringify(r.body));
  }
  await sleep(300);
  const lat = await healthyLatencies(enqueue, rx, fineDest);
  const code = await signInCode();
  console.log(`hung account (${HOST_DESTS} destinations on ${HOST_DESTS} hosts): 10 notifications to another ` +
    `account's healthy receiver: median ${med(lat)} ms, max ${Math.max(...lat)} ms (${lat.join(' ')}); ` +
    `the sign-in code ${code.took} ms after the sign-in's answer; the hung account ` +
    `had at most ${hogMax} requests open at once`);
  for (const h of hogRx) {
    h.setDefault('/hog', { status: 200 });
    h.releaseHung();
  }
  await quiet();
}
console.log(`PostgreSQL: ${await pg.durability()}`);
await srv.stop();
for (const h of hogRx) await h.stop();
await rxh.stop();
await relay.stop();
await rx.stop();
await sink.stop();
await pg.destroy();
