// Many requests at once just after a change (issue 16, devstall;
// docs/benchmarks.md "The stalled replies of GET /devices"): against a kept
// set-up of tests/bench/server_bench.mjs (BENCH_KEEP=FILE), each of ROUNDS
// rounds renames a device (PATCH, the account's epoch moves: the remembered
// list is stale), waits 50 ms (the change announced and heard) and sends 50
// GET /devices at once, each on a new connection, as wrk's 50 connections
// at a run's start. Prints the slowest and the median reply of the rounds,
// and the scans of the devices table the rounds made (PostgreSQL's counts,
// read 11 s after the last round: idle backends report them within 10 s):
// each read of the list is one, each PATCH a few.
//   BENCH_KEEP=/tmp/k.json BENCH_MIX_APPS=1 scripts/bench-server &
//   node tests/bench/devices_herd.mjs /tmp/k.json 20 [ROUTE]; rm /tmp/k.json
// ROUTE (issue 16, herd2): devices (the default), me, unread (GET
// /notifications/unread-count) or monitor (the kept group's monitor): the
// herd asks that route instead, after the same rename (it moves the epochs
// of every remembered reply of the account). The scans printed are then
// those of the route's table (me: users; unread: notifications; monitor:
// channels, which its structure's read scans and its values' read does not).
import fs from 'node:fs';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pgBin } from '../server/harness.mjs';
const [keep, roundsArg, routeArg] = process.argv.slice(2);
const k = JSON.parse(fs.readFileSync(keep, 'utf8'));
const u = new URL(k.url);
const N = 50, ROUNDS = Number(roundsArg || 20);
const dbu = new URL(k.db);
const psql = (q) => execFileSync(path.join(pgBin, 'psql'), ['-X', '-A', '-t', '-h', dbu.hostname, '-p', dbu.port,
  '-U', dbu.username || 'postgres', '-d', dbu.pathname.slice(1), '-c', q], { encoding: 'utf8' }).trim();
const ROUTE = routeArg || 'devices';
const ROUTES = {
  devices: ['/api/v1/devices', 'devices'],
  me: ['/api/v1/me', 'users'],
  unread: ['/api/v1/notifications/unread-count', 'notifications'],
  monitor: [`/api/v1/groups/${k.group}/monitor`, 'channels'],
};
if (!ROUTES[ROUTE]) throw new Error(`route ${ROUTE}: one of ${Object.keys(ROUTES).join(', ')}`);
const [PATH, TABLE] = ROUTES[ROUTE];
const scans = () => Number(psql(`SELECT coalesce(seq_scan,0)+coalesce(idx_scan,0) FROM pg_stat_user_tables WHERE relname='${TABLE}'`));
function req(method, path, token, body, agent) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const r = http.request({ host: u.hostname, port: u.port, path, method, agent,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    r.on('error', reject);
    r.end(body ? JSON.stringify(body) : undefined);
  });
}
const devs = JSON.parse(await new Promise((res) => http.get({ host: u.hostname, port: u.port, path: '/api/v1/devices',
  headers: { Authorization: `Bearer ${k.token}` } }, (r) => { let s = ''; r.on('data', (d) => { s += d; }); r.on('end', () => res(s)); })));
const devId = devs.items[0].id;
const out = [];
await new Promise((r) => setTimeout(r, 11000));
const sStart = scans();
for (let i = 0; i < ROUNDS; i++) {
  const p = await req('PATCH', `/api/v1/devices/${devId}`, k.admin_token, { name: `herd ${i}` });
  if (p.status !== 200) throw new Error(`PATCH ${p.status}`);
  await new Promise((r) => setTimeout(r, 50)); // the change announced and heard
  const agents = Array.from({ length: N }, () => new http.Agent({ keepAlive: false }));
  const rs = await Promise.all(agents.map((a) => req('GET', PATH, k.token, undefined, a)));
  const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
  if (rs.some((r) => r.status !== 200)) throw new Error('non-200');
  out.push({ max: ms[N - 1], p50: ms[N >> 1] });
  console.log(`round ${i + 1}: slowest ${ms[N - 1].toFixed(1)} ms, median ${ms[N >> 1].toFixed(1)} ms`);
  await new Promise((r) => setTimeout(r, 200));
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
console.log(`SUMMARY ${ROUTE} rounds ${ROUNDS}: slowest median ${med(out.map((o) => o.max)).toFixed(1)} ms, max ${Math.max(...out.map((o) => o.max)).toFixed(1)} ms; median of medians ${med(out.map((o) => o.p50)).toFixed(1)} ms`);
await new Promise((r) => setTimeout(r, 11000)); // PostgreSQL's idle backends report their counts within 10 s
console.log(`SCANS of ${TABLE} (${ROUTE} reads + the PATCHes'): ${scans() - sStart} in ${ROUNDS} rounds`);
