// The app as an actor of the audit log (migration 076; docs/auth.md "Audit
// log"; docs/benchmarks.md "audit"): CPU of the server and of PostgreSQL,
// from /proc (clock ticks: 10 ms / BENCH_N of resolution), per request of
//   pair   an app's K1 upload of 1 KiB then its deletion (two app entries
//          written: the insert now looks the app's name up for actor_login)
//   list   GET /audit?limit=50 of an account with 20,000 entries
//   area   GET /audit?limit=50&action=app_share. (the portal's area filter)
//   users  GET /audit?limit=50&action=user. (only people's entries: the
//          same reply from both servers, as neither adds app_id/app_name)
//   apps   GET /audit?limit=50&actor_kind=app (the new filter; "after" only)
// for two server binaries on one durable cluster (server/db/pg_tuning.conf:
// fsync, synchronous_commit and full_page_writes on), rounds alternated
// before/after after one warm-up round each. Prints each round's figures.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test \
//   OLD_BIN=$(scripts/bench-kept build 9d50946) \
//   BENCH_N=300 BENCH_ROUNDS=4 node tests/bench/audit_actor_bench.mjs
//
// OLD_BIN: a server of before 076 (it runs beside 076: "older servers
// compatible"); unset, both are METRON_SERVER_BIN.
import { startPostgres, startServer, createAccount, login, request } from '../server/harness.mjs';
import { clusterCpu, cpuOf } from './bench_util.mjs';

const [binA, binB] = [process.env.OLD_BIN || process.env.METRON_SERVER_BIN, process.env.METRON_SERVER_BIN];
const N = Number(process.env.BENCH_N || 300), ROUNDS = Number(process.env.BENCH_ROUNDS || 4);
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
// The newer server first: it applies 076; the older one then starts beside it.
const srvB = await startServer({ bin: binB, databaseUrl: url });
const srvA = await startServer({ bin: binA, databaseUrl: url });
const ids = await createAccount(srvB.url, { account: 'benchaudit', plan: 'pro', user: 'admin', password: 'Passw0rd-ok', email: 'a@b.test' });
const r = await (await login(srvB.url, { account: 'benchaudit', user: 'admin', password: 'Passw0rd-ok' }))
  .post('/api/v1/apps', { kind: 'cross', name: 'Bench gateway' });
const cred = r.body.credential;
// 20,000 entries: a person's (3 in 4) and the app's (1 in 4), a minute apart.
await pg.psql(`INSERT INTO audit_log (account_id, at, actor_kind, user_id, app_id, actor_login, action, target_type, target_id, detail)
  SELECT ${ids.accountId}, now() - make_interval(mins => 20000 - i),
    CASE WHEN i % 4 = 0 THEN 'app' ELSE 'user' END,
    CASE WHEN i % 4 = 0 THEN NULL ELSE ${ids.userId} END, CASE WHEN i % 4 = 0 THEN ${r.body.id} END,
    CASE WHEN i % 4 = 0 THEN 'Bench gateway' ELSE 'admin' END,
    CASE WHEN i % 4 = 0 THEN 'app_share.file.upload' ELSE 'user.update' END, 'user', i,
    jsonb_build_object('name', 'entry ' || i)
  FROM generate_series(1, 20000) i`, db);
await pg.psql('ANALYZE audit_log', db);
const admin = {};
for (const s of [srvA, srvB]) admin[s.url] = await login(s.url, { account: 'benchaudit', user: 'admin', password: 'Passw0rd-ok' });

const pgCpu = () => clusterCpu(pg.dir);
let seq = 0;
const kinds = {
  async pair(srv) {
    const u = await request(srv.url, 'POST', `/api/v1/ingest/app-share/battery-profiles?name=p${seq++}`, { body: Buffer.alloc(1024, 7),
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/octet-stream' } });
    if (u.status !== 201) throw new Error(`upload ${u.status} ${u.text}`);
    const d = await request(srv.url, 'DELETE', `/api/v1/ingest/app-share/battery-profiles/${u.body.id}`, { headers: { authorization: `Bearer ${cred}` } });
    if (d.status !== 200) throw new Error(`delete ${d.status}`);
  },
  list: (srv) => get(srv, '/api/v1/audit?limit=50'),
  area: (srv) => get(srv, '/api/v1/audit?limit=50&action=app_share.'),
  users: (srv) => get(srv, '/api/v1/audit?limit=50&action=user.'),
  apps: (srv) => get(srv, '/api/v1/audit?limit=50&actor_kind=app'),
};
async function get(srv, p) {
  const g = await admin[srv.url].get(p);
  if (g.status !== 200 || g.body.entries.length !== 50) throw new Error(`${p}: ${g.status} ${g.text}`);
}
async function round(srv, kind) {
  const c0 = cpuOf(srv.proc.pid), p0 = pgCpu(), t0 = Date.now();
  for (let i = 0; i < N; i++) await kinds[kind](srv);
  const us = (s) => Math.round(s * 1e6 / N);
  return { srv: us(cpuOf(srv.proc.pid) - c0), pg: us(pgCpu() - p0), wall: Math.round((Date.now() - t0) * 1000 / N) };
}
const res = {};
for (const kind of Object.keys(kinds)) {
  const both = kind !== 'apps';
  if (both) await round(srvA, kind);
  await round(srvB, kind); // warm
  res[kind] = { before: [], after: [] };
  for (let k = 0; k < ROUNDS; k++) {
    if (both) res[kind].before.push(await round(srvA, kind));
    res[kind].after.push(await round(srvB, kind));
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };
const summary = {};
for (const [kind, v] of Object.entries(res)) {
  summary[kind] = Object.fromEntries(['before', 'after'].map((w) => [w, v[w].length ? {
    srv: `${Math.min(...v[w].map((x) => x.srv))}-${Math.max(...v[w].map((x) => x.srv))} (${med(v[w].map((x) => x.srv))})`,
    pg: `${Math.min(...v[w].map((x) => x.pg))}-${Math.max(...v[w].map((x) => x.pg))} (${med(v[w].map((x) => x.pg))})`,
    wall: med(v[w].map((x) => x.wall)) } : null]));
}
// The replies' sizes (bytes of their JSON, unformatted) of each list from each server at the end.
const sizes = {};
for (const [kind, p] of [['list', '?limit=50'], ['area', '?limit=50&action=app_share.'], ['users', '?limit=50&action=user.']]) {
  sizes[kind] = {};
  for (const [w, s] of [['before', srvA], ['after', srvB]]) sizes[kind][w] = Buffer.byteLength(JSON.stringify((await admin[s.url].get(`/api/v1/audit${p}`)).body));
}
const kindsStored = (await pg.psql("SELECT string_agg(actor_kind || ' ' || n, ', ') FROM (SELECT actor_kind, count(*) n FROM audit_log GROUP BY 1 ORDER BY 1) x", db)).trim();
console.log(JSON.stringify({ N, ROUNDS, durability: await pg.durability?.(), stored: kindsStored, sizes, summary, res }, null, 1));
await srvA.stop(); await srvB.stop(); await pg.destroy();
