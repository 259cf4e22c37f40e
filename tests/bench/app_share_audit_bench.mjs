// The audit of an app's own changes of what it shares (docs/app-share.md,
// "The audit log"; docs/benchmarks.md "portalfix"): CPU per change pair (an
// app's K1 upload of 1 KiB, then its deletion) of the server and of
// PostgreSQL, from /proc (clock ticks: 10 ms / BENCH_N of resolution), for
// two server binaries on one durable cluster (server/db/pg_tuning.conf:
// fsync, synchronous_commit and full_page_writes on), rounds alternated
// before/after after one warm-up round each. Prints each round and the
// number of app_share audit rows written (the old binary writes none).
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test \
//   OLD_BIN=$(scripts/bench-kept build 81480ca) \
//   BENCH_N=500 BENCH_ROUNDS=6 node tests/bench/app_share_audit_bench.mjs
//
// OLD_BIN: a server of before the audit (main 81480ca, a Release build in
// build/kept/81480ca); unset, both are METRON_SERVER_BIN.
import { startPostgres, startServer, createAccount, login, request } from '../server/harness.mjs';
import { clusterCpu, cpuOf } from './bench_util.mjs';
const [binA, binB] = [process.env.OLD_BIN || process.env.METRON_SERVER_BIN, process.env.METRON_SERVER_BIN];
const N = Number(process.env.BENCH_N || 500), ROUNDS = Number(process.env.BENCH_ROUNDS || 6);
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const srvA = await startServer({ bin: binA, databaseUrl: url });
const srvB = await startServer({ bin: binB, databaseUrl: url });
await createAccount(srvA.url, { account: 'benchshare', plan: 'pro', user: 'admin', password: 'Passw0rd-ok', email: 'a@b.test' });
const admin = await login(srvA.url, { account: 'benchshare', user: 'admin', password: 'Passw0rd-ok' });
const r = await admin.post('/api/v1/apps', { kind: 'cross', name: 'Bench gateway' });
const cred = r.body.credential;
const pgCpu = () => clusterCpu(pg.dir);
const srvCpu = (srv) => cpuOf(srv.proc.pid);
let seq = 0;
async function round(srv) {
  const c0 = srvCpu(srv), p0 = pgCpu(), t0 = Date.now();
  for (let i = 0; i < N; i++) {
    const name = `p${seq++}`;
    const u = await request(srv.url, 'POST', `/api/v1/ingest/app-share/battery-profiles?name=${name}`, { body: Buffer.alloc(1024, 7),
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/octet-stream' } });
    if (u.status !== 201) throw new Error(`upload ${u.status} ${u.text}`);
    const d = await request(srv.url, 'DELETE', `/api/v1/ingest/app-share/battery-profiles/${u.body.id}`, { headers: { authorization: `Bearer ${cred}` } });
    if (d.status !== 200) throw new Error(`delete ${d.status}`);
  }
  const us = (s) => s * 1e6 / N;
  return { srv: us(srvCpu(srv) - c0), pg: us(pgCpu() - p0), wall: (Date.now() - t0) * 1000 / N };
}
await round(srvA); await round(srvB); // warm both
const res = { before: [], after: [] };
for (let k = 0; k < ROUNDS; k++) {
  res.before.push(await round(srvA));
  res.after.push(await round(srvB));
}
const audit = (await pg.psql("SELECT count(*) FILTER (WHERE action LIKE 'app_share.%') FROM audit_log", new URL(url).pathname.slice(1))).trim();
console.log(JSON.stringify({ N, ROUNDS, durability: await pg.durability?.(), audit_rows: audit, res }, null, 1));
await srvA.stop(); await srvB.stop(); await pg.destroy();
