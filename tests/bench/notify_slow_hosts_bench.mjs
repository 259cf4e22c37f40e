// What the slow age of 079 (METRON_NOTIFY_SLOW_MS) does to an account's
// hosts that are slow but answer (docs/notify.md, "Hosts that start hanging
// together (079)"; docs/benchmarks.md, "slowtrouble"). Not a test (no
// .test.mjs): run it by hand against two binaries, alternated.
//
// Its own PostgreSQL (durable with BENCH_DURABLE=1) and one server of 8
// sender threads with the default limits (the account's 4), rate slots off,
// attempts timing out after 10 s. HOSTS receivers that answer every request
// after STALL ms (each its own port), 4 Teams destinations on each, and a
// healthy receiver, all of one account. 2 rounds: 3 notifications to each
// slow destination queued at once, then 10 to the healthy receiver one
// after another (each timed from its enqueue's answer to the receiver);
// printed: the time until the slow hosts accepted all of theirs, the most
// requests open at them at once, and the healthy notifications' median and
// largest wait. BENCH_SLOW_MS sets METRON_NOTIFY_SLOW_MS (a binary of before
// 079 ignores it).
//   METRON_SERVER_BIN=build/server/metron-server-test BENCH_DURABLE=1 \
//     NODE_PATH=/usr/share/nodejs node tests/bench/notify_slow_hosts_bench.mjs [HOSTS (2)] [STALL (1500)]
import { sleep } from '../server/harness.mjs';
import { enqueuer, healthyLatencies, outboxQuiet, troubleSetup } from './outbox_bench_helpers.mjs';

const HOSTS = Number(process.argv[2] || 2);
const STALL = Number(process.argv[3] || 1500);
const ROUNDS = 2;
const DESTS = 4;
const { pg, db, srv, fine, rxs, ids, c, dest } = await troubleSetup({
  account: 'slowh', hosts: HOSTS, timeoutMs: 10000, leaseMs: 15000 });
const slow = [];
for (const rx of rxs) {
  for (let i = 0; i < DESTS; i++) {
    rx.setDefault(`/s${i}`, { stallMs: STALL });
    slow.push(await dest(rx.url(`/s${i}`)));
  }
}
const fineDest = await dest(fine.url('/fine'));
const enqueue = enqueuer(srv.url, ids.accountId);
let most = 0;
const together = () => rxs.reduce((n, rx) => n + rx.open(), 0);
for (const rx of rxs) rx.watch(() => { most = Math.max(most, together()); });
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (let round = 0; round < ROUNDS; round++) {
  await outboxQuiet(pg, db);
  most = 0;
  const base = rxs.reduce((n, rx) => n + rx.accepted().length, 0);
  const t0 = performance.now();
  for (const d of slow) await enqueue(d, 3);
  const lat = await healthyLatencies(enqueue, fine, fineDest);
  while (rxs.reduce((n, rx) => n + rx.accepted().length, 0) < base + slow.length * 3) await sleep(20);
  const drain = Math.round(performance.now() - t0);
  console.log(`round ${round + 1}: ${HOSTS} hosts answering after ${STALL} ms, ${slow.length * 3} ` +
    `notifications drained in ${drain} ms, at most ${most} open at once; healthy: median ${med(lat)} ms, ` +
    `max ${Math.max(...lat)} ms`);
}
await srv.stop();
for (const rx of [fine, ...rxs]) await rx.stop();
await pg.destroy();
