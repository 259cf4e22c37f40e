// The console's cost in the server (docs/console.md; issue 16 figures in
// docs/benchmarks.md, "console"): CPU of the server process per screen it
// relays to an open console stream, and with no console open, alternated
// (no, open, no, open, ...) against one server, durable PostgreSQL
// (its defaults: fsync, synchronous_commit, full_page_writes on).
//   node tests/bench/console_bench.mjs [seconds per phase, default 20] [rounds, default 3]
// Real parts: metron-server (METRON_SERVER_BIN), Mosquitto with the broker
// plugin, metron-gateway (METRON_GATEWAY_BIN) playing one LR8450 of 12 channels.
import fs from 'node:fs';
import http from 'node:http';
import { createAccount, freePort, login, request, startPostgres, startServer, tempDir, sleep }
  from '../server/harness.mjs';
import { pluginPath, startBroker, startGateway, until } from '../gateway/helpers.mjs';

const secs = Number(process.argv[2] || 20);
const rounds = Number(process.argv[3] || 3);
const tick = 100; // USER_HZ on Linux: /proc's CPU times are in 10 ms ticks

function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / tick; // utime + stime, s
}

const pg = await startPostgres({ durable: true });
const dbUrl = await pg.createDatabase();
const brokerPort = await freePort();
const mqttDir = tempDir('metron-mqtt-');
const srv = await startServer({ databaseUrl: dbUrl, args: ['--listen', `127.0.0.1:${await freePort()}`,
  '--mqtt', `mqtts://127.0.0.1:${brokerPort}`, '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath] });
const broker = await startBroker(mqttDir, brokerPort);
await until(async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.connected, 'broker');
await createAccount(srv.url, { account: 'bench', plan: 'pro', user: 'admin', password: 'Correct-h0rse',
  email: 'admin@bench.test' });
const c = await login(srv.url, { account: 'bench', user: 'admin', password: 'Correct-h0rse' });
const app = (await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Bench' })).body;
const gw = startGateway({ url: srv.url, code: app.credential,
  args: ['--channels', '12', '--instruments', '1', '--interval', '60', '--log', 'quiet'] });
await gw.waitFor(/MQTTS: connected/);
const dev = await until(async () => (await c.get('/api/v1/devices')).body.items?.[0], 'device');
await until(async () => (await c.get(`/api/v1/apps/${app.id}`)).body.connection.connected, 'connected');
const pid = srv.proc.pid;

async function phase(open) {
  let screens = 0;
  let req = null;
  if (open) {
    const r = await c.post(`/api/v1/devices/${dev.id}/console`, {});
    req = http.get(`${srv.url}/api/v1/devices/${dev.id}/console/stream?session=${r.body.session}`,
      { headers: { cookie: `metron_session=${c.cookie}` } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d) => { screens += (d.match(/^event: screen$/gm) || []).length; });
      });
    while (screens === 0) await sleep(50); // the first screen: the relay runs
  }
  const s0 = screens;
  const c0 = cpuOf(pid);
  const t0 = Date.now();
  await sleep(secs * 1000);
  const cpu = cpuOf(pid) - c0;
  const wall = (Date.now() - t0) / 1000;
  const n = screens - s0;
  if (req) req.destroy();
  await sleep(1500); // the stream's end seen by the server
  return { open, wall, cpu_ms: cpu * 1000, screens: n };
}

const rows = [];
for (let i = 0; i < rounds; i++) {
  rows.push(await phase(false));
  rows.push(await phase(true));
}
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
for (const r of rows) {
  console.log(`${r.open ? 'console open' : 'no console  '}  ${r.wall.toFixed(1)} s  server CPU ${r.cpu_ms.toFixed(0)} ms` +
    `  (${(r.cpu_ms / r.wall).toFixed(2)} ms/s)  screens ${r.screens}` +
    (r.open && r.screens ? `  ${((r.cpu_ms / r.screens)).toFixed(2)} ms per screen (all server CPU in the phase)` : ''));
}
console.log(`load (1, 5, 15 min) at the end: ${load}; PostgreSQL durable: ${pg.durable}`);
await gw.stop('SIGKILL');
await srv.stop();
await broker.stop();
await pg.destroy();
fs.rmSync(mqttDir, { recursive: true, force: true });
fs.rmSync(gw.state, { recursive: true, force: true });
fs.rmSync(srv.dataDir, { recursive: true, force: true });
