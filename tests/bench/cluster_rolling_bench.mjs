// Rolling restarts of scripts/cluster's set under ingest through HAProxy
// (docs/scale.md "Running the set", docs/benchmarks.md "ops"): the set
// (a durable primary, a standby, two servers, HAProxy) is started with
// METRON_SERVER_BIN and its test routes (for the tenant); three clients
// send ingest batches of 2 channels through HAProxy one after another,
// never resending one; BENCH_RUNS (6) rolling restarts, each server in
// turn, alternately onto a copy of the binary and back (askRestart(), what
// `scripts/cluster rolling --bin` asks). Per restart: when the server was
// drained, stopped, started, back in HAProxy's rotation; the new process's
// CPU at that moment (/proc); the batches acknowledged meanwhile; then the
// failures (must be 0) and the batch ids and samples stored against those
// acknowledged.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/cluster_rolling_bench.mjs
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, pollUntil, repoRoot, serverBin, spawnWatched, tempDir } from '../server/harness.mjs';
import { askRestart, pgBin } from '../../scripts/cluster.mjs';
import { MIN_US, appClient, baseTime, dataTenant, storedCounts } from '../server/data_helpers.mjs';

const RUNS = Math.max(1, Math.min(50, Number(process.env.BENCH_RUNS || 6)));
const data = path.join(tempDir('metron-rollb-'), 'set');
const env = { ...process.env, METRON_SKIP_BUILD: '1', METRON_SERVER_BIN: serverBin,
  METRON_TEST_ROUTES: '1' };
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load ${load()}`);
const set = spawnWatched(path.join(repoRoot, 'scripts', 'cluster'), ['--data', data, '--listen',
  `127.0.0.1:${await freePort()}`, '--server-port', '0', '--no-demo'], { env, detached: true }, 'set');
const url = await set.waitFor(/^cluster: up: (http:\/\/[0-9.]+:\d+) /m, 600000);
const state = () => JSON.parse(fs.readFileSync(path.join(data, 'cluster.json'), 'utf8'));
const sql = async (q) => (await promisify(execFile)(path.join(pgBin, 'psql'), ['-X', '-q', '-A',
  '-t', '-h', '127.0.0.1', '-p', String(state().primary.port), '-U', 'postgres', '-d', 'metron',
  '-c', q], { env: { ...process.env,
  PGPASSWORD: fs.readFileSync(path.join(data, 'primary.secret'), 'utf8').trim() } })).stdout.trim();
try {
  console.log('fsync, synchronous_commit, full_page_writes:', await sql("SELECT " +
    "current_setting('fsync') || ', ' || current_setting('synchronous_commit') || ', ' || " +
    "current_setting('full_page_writes')"));
  const t = await dataTenant({ url: state().servers[0].url }, { n: 2 });
  const ingest = appClient(url, t.app.credential);
  const t0 = baseTime(72);
  let n = 0;
  let acked = 0;
  const failed = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const i = n++;
      try {
        const r = await ingest.batch({ batch_id: `b-${i}`, channels: t.channels.map((ch) =>
          ({ id: ch, t: [t0 + i * MIN_US], v: [i] })) });
        if (r.status === 200 || r.status === 201) acked++;
        else failed.push(`${r.status} ${r.text}`);
      } catch (e) {
        failed.push(String(e.cause?.message || e.message));
      }
    }
  };
  const loops = [loop(), loop(), loop()];
  await pollUntil(() => acked >= 50, '50 batches before the first restart');
  const copy = path.join(tempDir('metron-rollb-bin-'), 'metron-server-next');
  fs.copyFileSync(serverBin, copy);
  fs.chmodSync(copy, 0o755);
  const cpuOf = (pid) => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  console.log('| run | server | binary | drained | stopped | started | back | new process CPU | batches acknowledged meanwhile | failed so far |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (let run = 0; run < RUNS; run++) {
    const bin = run % 2 ? serverBin : copy;
    for (const server of state().servers.map((s) => s.index)) {
      const a0 = acked;
      const start = Date.now();
      const at = {};
      const r = await askRestart(data, { server, bin, timeoutS: 60, progress: (l) => {
        const k = /drained;/.test(l) ? 'drained' : /stopped \(/.test(l) ? 'stopped'
          : /waiting until it answers/.test(l) ? 'started' : null;
        if (k) at[k] = Date.now() - start;
      } });
      if (!r.ok) throw new Error(r.message);
      const back = Date.now() - start;
      console.log(`| ${run} | s${server} | ${bin === copy ? 'copy' : 'built'} | ${at.drained} ms | ` +
        `${at.stopped} ms | ${at.started} ms | ${back} ms | ` +
        `${cpuOf(state().servers[server].pid).toFixed(2)} s | ${acked - a0} | ${failed.length} |`);
    }
  }
  running = false;
  await Promise.all(loops);
  const [ids, samples] = await storedCounts(sql, t);
  console.log(`acknowledged ${acked} batches (${acked * 2} samples); stored ${ids} batch ids, ` +
    `${samples} samples; failed ${failed.length}${failed.length ? `: ${failed.slice(0, 5)}` : ''}`);
  console.log(`load ${load()}`);
  if (failed.length || ids !== acked || samples !== acked * 2) process.exitCode = 1;
} finally {
  process.kill(-set.proc.pid, 'SIGINT');
  await set.exited;
}
