// How long an account's notification to a healthy receiver waits while
// several of the same account's receiving hosts hang (docs/notify.md,
// "Hosts in trouble hold at most part of an account's share (075)";
// docs/benchmarks.md, "hosttrouble"). Not a test (no .test.mjs): run it by
// hand against two binaries, alternated.
//
// Its own PostgreSQL (durable with BENCH_DURABLE=1: fsync,
// synchronous_commit and full_page_writes on) and one server with the
// default limits of BENCH_NOTIFY_THREADS sender threads (8: the account's
// limit 4, a healthy host's 4, a host in trouble's 2), rate slots off,
// attempts timing out after 3 s. HOSTS receivers that never answer (each
// its own port: a host of its own), DESTS Teams destinations on each, and a
// healthy receiver, all of one account. ROUNDS rounds: 3 notifications to
// each hung destination, 300 ms, then 10 notifications to the healthy
// receiver one after another, each timed from its enqueue's answer to the
// receiver's getting it; then the hosts answer again and everything drains
// (an answer clears their trouble, so every round starts with healthy
// looking hosts). Printed per round: the first, median and largest wait,
// and the most requests the hung hosts had open at once together.
// BENCH_SLOW_MS sets METRON_NOTIFY_SLOW_MS (079; a binary of before 079
// ignores it).
//   METRON_SERVER_BIN=build/server/metron-server-test BENCH_DURABLE=1 \
//     NODE_PATH=/usr/share/nodejs node tests/bench/notify_trouble_bench.mjs [HOSTS (2)] [ROUNDS (3)]
import { sleep } from '../server/harness.mjs';
import { enqueuer, healthyLatencies, outboxQuiet, troubleSetup } from './outbox_bench_helpers.mjs';

const HOSTS = Number(process.argv[2] || 2);
const ROUNDS = Number(process.argv[3] || 3);
const DESTS = 4;
const { pg, db, srv, fine, rxs, ids, c, dest } = await troubleSetup({
  account: 'trouble', hosts: HOSTS, timeoutMs: 3000, leaseMs: 10000, threads: process.env.BENCH_NOTIFY_THREADS || '8' });
const hung = [];
for (const rx of rxs) for (let i = 0; i < DESTS; i++) hung.push(await dest(rx.url(`/h${i}`)));
const fineDest = await dest(fine.url('/fine'));
const enqueue = enqueuer(srv.url, ids.accountId);
const quiet = () => outboxQuiet(pg, db);
let maxTogether = 0;
const together = () => rxs.reduce((n, rx) => n + rx.open(), 0);
for (const rx of rxs) rx.watch(() => { maxTogether = Math.max(maxTogether, together()); });
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

for (let round = 0; round < ROUNDS; round++) {
  await quiet();
  for (const rx of rxs) for (let i = 0; i < DESTS; i++) rx.setDefault(`/h${i}`, { hang: true });
  maxTogether = together();
  for (const d of hung) await enqueue(d, 3);
  await sleep(300);
  const lat = await healthyLatencies(enqueue, fine, fineDest);
  console.log(`round ${round + 1}: ${HOSTS} hung hosts of the account, 10 notifications to its healthy ` +
    `receiver: first ${lat[0]} ms, median ${med(lat)} ms, max ${Math.max(...lat)} ms (${lat.join(' ')}); ` +
    `the hung hosts had at most ${maxTogether} requests open at once`);
  for (const rx of rxs) {
    for (let i = 0; i < DESTS; i++) rx.setDefault(`/h${i}`, { status: 200 });
    rx.releaseHung();
  }
}
await quiet();
await srv.stop();
for (const rx of [fine, ...rxs]) await rx.stop();
await pg.destroy();
