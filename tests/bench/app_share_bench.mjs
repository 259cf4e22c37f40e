// What the apps share (K1-K4; docs/app-share.md): CPU per request of the
// server and of PostgreSQL for each of the app's requests, next to a drive
// upload of the same bytes (the same file store) as the reference.
//
// Its own durable PostgreSQL cluster (server/db/pg_tuning.conf: fsync,
// synchronous_commit and full_page_writes on) and metron-server
// (METRON_SERVER_BIN) on loopback; a Pro account with a Cross app in a
// group, BENCH_FILES (50) battery profiles to list, an equipment list of
// BENCH_ITEMS (100) items. Each kind runs BENCH_N (100) requests one after
// the other (a new connection each, as every kind), the kinds alternated
// for BENCH_ROUNDS (3) rounds; the median round is printed with the load.
import crypto from 'node:crypto';
import { createAccount, login, request, startPostgres, startServer } from '../server/harness.mjs';
import { context, cpuMeter, load, median } from './bench_util.mjs';

const N = Number(process.env.BENCH_N || 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const FILES = Number(process.env.BENCH_FILES || 50);
const ITEMS = Number(process.env.BENCH_ITEMS || 100);
const SIZE = Number(process.env.BENCH_BYTES || 65536);

const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '3600000' } });
const ok = (r, what) => { if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`); return r; };
try {
  await context('app_share_bench', pg);
  await createAccount(srv.url, { account: 'shb', plan: 'pro', user: 'admin', password: 'Correct-h0rse', email: 'a@shb.test' });
  const c = await login(srv.url, { account: 'shb', user: 'admin', password: 'Correct-h0rse' });
  const g = ok(await c.post('/api/v1/groups', { name: 'Site' }), 'group').body.id;
  const app = ok(await c.post('/api/v1/apps', { kind: 'cross', name: 'Bench tablet', group_id: g }), 'app').body;
  const auth = { authorization: `Bearer ${app.credential}` };
  const bytes = crypto.randomBytes(SIZE);
  const A = '/api/v1/ingest/app-share';
  const up = (p) => request(srv.url, 'POST', p, { body: bytes, headers: { ...auth, 'content-type': 'application/octet-stream' } });
  const ids = [];
  for (let i = 0; i < FILES; i++) ids.push(ok(await up(`${A}/battery-profiles?name=p${i}`), 'upload').body.id);
  const items = Array.from({ length: ITEMS }, (_, i) => ({ model: 'CM4375', serial: `SN${i}`, note: 'bench' }));
  const list = ok(await request(srv.url, 'POST', `${A}/equipment-lists`, { body: { name: 'L', items }, headers: auth }), 'list').body.id;
  let seq = 0;
  const kinds = {
    'app: list 50 battery profiles': () => request(srv.url, 'GET', `${A}/battery-profiles`, { headers: auth }),
    'app: download a 64 KiB profile': () => fetch(`${srv.url}${A}/battery-profiles/${ids[0]}/content`, { headers: auth })
      .then(async (r) => ({ status: r.status, body: await r.arrayBuffer() })),
    'app: upload 64 KiB, replacing (replace=1)': () => up(`${A}/battery-thresholds?name=t&replace=1`),
    'app: upload 64 KiB new, then delete it (2 requests)': async () => {
      const r = ok(await up(`${A}/battery-thresholds?name=n${++seq}`), 'new');
      return request(srv.url, 'DELETE', `${A}/battery-thresholds/${r.body.id}`, { headers: auth });
    },
    'app: get an equipment list of 100 items': () => request(srv.url, 'GET', `${A}/equipment-lists/${list}`, { headers: auth }),
    'person: drive upload 64 KiB new, then delete it (2 requests)': async () => {
      const r = ok(await c.post(`/api/v1/drive/files?name=d${++seq}`, bytes, { 'content-type': 'application/octet-stream' }), 'drive');
      return c.del(`/api/v1/drive/files/${r.body.id}`);
    },
  };
  // Warm: plans prepared.
  for (const fn of Object.values(kinds)) for (let i = 0; i < 5; i++) ok(await fn(), 'warm');
  const got = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, fn] of Object.entries(kinds)) {
      const meter = cpuMeter(srv.proc.pid, pg.pid());
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) ok(await fn(), k);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6 / N;
      got[k].push({ ...meter.stop(N), ms, load: load().split(' ')[0] });
    }
  }
  for (const [k, rs] of Object.entries(got)) {
    const m = (f) => median(rs.map(f));
    console.log(`${k}: server ${m((r) => r.server).toFixed(0)} us, PostgreSQL ${m((r) => r.pg).toFixed(0)} us CPU, `
      + `${m((r) => r.ms).toFixed(2)} ms wall per request (median of ${ROUNDS} rounds of ${N}; load ${rs.map((r) => r.load).join('/')})`);
  }
} finally {
  await srv.stop();
  await pg.destroy();
}
