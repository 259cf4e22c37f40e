// Gateway and MQTTS benchmark (issue 14; scripts/bench-gateway): real
// PostgreSQL, metron-server with its MQTT bridge, Mosquitto with Metron's
// plugin, metron-gateway. Prints the machine's load with every figure (the
// machine is shared) and the ceilings measured in the same run.
//
//  A. MQTTS ingest end to end against HTTPS ingest: BENCH_CLIENTS apps each
//     send batches of BENCH_SAMPLES samples back to back for BENCH_SECONDS,
//     over HTTPS (POST /ingest/batches: the time to the 201, which comes
//     after the commit) and over MQTTS (QoS 1 publish to the time of the
//     server's reply, sent after the commit). Ceilings: HTTPS GET /health
//     (no write) and the broker's own QoS 1 round trip (PUBACK, no server).
//  B. How many channels one gateway process drives at one-minute data: a
//     gateway playing an app with BENCH_GW_CHANNELS channels samples every
//     second for BENCH_GW_SECONDS (each second one minute's work: sample,
//     spool, send); its CPU time per sampling instant gives the channels one
//     core drives at one-minute data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createAccount, freePort, login, request, sleep, startPostgres, startServer, tempDir }
  from '../server/harness.mjs';
import { makeCsr, pluginPath, startBroker, startGateway, until } from '../gateway/helpers.mjs';
import { mqttConnect } from '../gateway/mqtt_wire.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS || 4);
const SAMPLES = Number(process.env.BENCH_SAMPLES || 100);
const SECONDS = Number(process.env.BENCH_SECONDS || 15);
const GW_CHANNELS = Number(process.env.BENCH_GW_CHANNELS || 10000);
const GW_SECONDS = Number(process.env.BENCH_GW_SECONDS || 30);
const PW = 'Correct-h0rse';

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const say = (s) => process.stdout.write(`${s}\n`);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const ms = (x) => `${x.toFixed(1)} ms`;

const pg = await startPostgres();
const dbUrl = await pg.createDatabase();
const db = new URL(dbUrl).pathname.slice(1);
const sql = (q) => pg.psql(q, db);
const brokerPort = await freePort();
const mqttDir = tempDir('metron-bench-mqtt-');
const srv = await startServer({ databaseUrl: dbUrl, args: ['--mqtt', `mqtts://127.0.0.1:${brokerPort}`,
  '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath, '--db-pool', '8'] });
const broker = await startBroker(mqttDir, brokerPort);
await until(async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.connected,
  'the bridge', 30000);
const cleanups = [];

say(`# gateway / MQTTS benchmark — ${new Date().toISOString()}`);
say(`machine: ${os.cpus().length} CPUs, load ${load()} (1/5/15 min) at the start`);

/** An app of "kind" with one device of "channels" channels, all selected,
 * made directly in SQL (a benchmark's set-up, past the plan's limits). */
async function benchApp(kind, channels, devices = 1) {
  const account = `bench${Math.random().toString(36).slice(2, 8)}`;
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'Bench' });
  const appId = r.body.id;
  const per = Math.ceil(channels / devices);
  await sql(`INSERT INTO devices (account_id, app_id, model, serial, firmware, name)
    SELECT ${ids.accountId}, ${appId}, 'LR8450', 'B' || g, 'V2.30', 'Bench ' || g
    FROM generate_series(1, ${devices}) g`);
  await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position)
    SELECT d.account_id, d.id, 'CH' || (k / 15 + 1) || '_' || (k % 15 + 1), 'C' || k, 'V', true, k
    FROM devices d, generate_series(0, ${per - 1}) k WHERE d.account_id = ${ids.accountId}`);
  const ch = (await sql(`SELECT c.id FROM channels c WHERE c.account_id = ${ids.accountId}
    ORDER BY c.id`)).split('\n').map(Number);
  return { accountId: ids.accountId, appId, credential: r.body.credential, channels: ch, c };
}

// ------------------------------------------------------------- A: ingest

async function httpsClient(app, until_, lat) {
  let n = 0;
  const base = Date.now() * 1000 - 30 * 86400e6;
  let i = 0;
  while (Date.now() < until_) {
    const body = JSON.stringify({ batch_id: `h${i}`, snapshots: [{ t: base + i * 60e6,
      ids: app.channels.slice(0, SAMPLES), v: app.channels.slice(0, SAMPLES).map((_, k) => k + i) }] });
    const t0 = performance.now();
    const r = await fetch(`${srv.url}/api/v1/ingest/batches`, { method: 'POST', body,
      headers: { authorization: `Bearer ${app.credential}`, 'content-type': 'application/json' } });
    await r.arrayBuffer();
    if (r.status === 201) { lat.push(performance.now() - t0); n += SAMPLES; }
    i++;
  }
  return n;
}

async function mqttClient(app, until_, lat) {
  const { csr, key } = await makeCsr();
  const cert = await request(srv.url, 'POST', '/api/v1/ingest/certificate', { body: { csr },
    headers: { authorization: `Bearer ${app.credential}` } });
  const { client } = await mqttConnect({ port: brokerPort, ca: cert.body.ca,
    cert: cert.body.certificate, key, clientId: `bench-${app.appId}` });
  const own = `metron/v1/app/${app.appId}`;
  await client.subscribe(`${own}/down/#`);
  let n = 0;
  const base = Date.now() * 1000 - 60 * 86400e6;
  let i = 0;
  while (Date.now() < until_) {
    const body = JSON.stringify({ batch_id: `m${i}`, snapshots: [{ t: base + i * 60e6,
      ids: app.channels.slice(0, SAMPLES), v: app.channels.slice(0, SAMPLES).map((_, k) => k + i) }] });
    const t0 = performance.now();
    await client.publish(`${own}/up/batch`, body); // PUBACK from the broker
    for (;;) { // the server's reply, after its commit
      const p = await client.next(15000);
      if (p.type === 3 && p.body.toString('utf8').includes('"ok":true')) break;
    }
    lat.push(performance.now() - t0);
    n += SAMPLES;
    i++;
  }
  client.end();
  return n;
}

async function brokerCeiling(app, until_, lat) {
  const { csr, key } = await makeCsr();
  const cert = await request(srv.url, 'POST', '/api/v1/ingest/certificate', { body: { csr },
    headers: { authorization: `Bearer ${app.credential}` } });
  const { client } = await mqttConnect({ port: brokerPort, ca: cert.body.ca,
    cert: cert.body.certificate, key, clientId: `ceil-${app.appId}` });
  // QoS 1 to the app's status topic: the broker's PUBACK, no store.
  let n = 0;
  while (Date.now() < until_) {
    const t0 = performance.now();
    await client.publish(`metron/v1/app/${app.appId}/up/status`, '{"state":"heartbeat"}');
    lat.push(performance.now() - t0);
    n++;
  }
  client.end();
  return n;
}

async function healthCeiling(until_, lat) {
  let n = 0;
  while (Date.now() < until_) {
    const t0 = performance.now();
    const r = await fetch(`${srv.url}/api/v1/health`);
    await r.arrayBuffer();
    lat.push(performance.now() - t0);
    n++;
  }
  return n;
}

async function run(name, fn, apps) {
  const lat = [];
  const t0 = Date.now();
  const until_ = t0 + SECONDS * 1000;
  const counts = await Promise.all(apps.map((a) => fn(a, until_, lat)));
  const secs = (Date.now() - t0) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  return { name, rate: total / secs, p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, load: load() };
}

const apps = [];
for (let k = 0; k < CLIENTS; k++) apps.push(await benchApp('lr8450-direct', SAMPLES));
say(`\n## A. ingest end to end: ${CLIENTS} apps, batches of ${SAMPLES} samples, ${SECONDS} s each`);
const results = [];
results.push(await run('HTTPS GET /health (ceiling, no write)', (a, u, l) => healthCeiling(u, l), apps));
results.push(await run('HTTPS POST /ingest/batches', httpsClient, apps));
results.push(await run('MQTT QoS 1 PUBACK (broker ceiling, no store)', brokerCeiling, apps));
results.push(await run('MQTTS batch -> stored -> reply', mqttClient, apps));
results.push(await run('HTTPS POST /ingest/batches (again)', httpsClient, apps));
for (const r of results) {
  const unit = /ceiling/.test(r.name) ? 'req/s' : 'samples/s';
  say(`${r.name.padEnd(46)} ${r.rate.toFixed(0).padStart(8)} ${unit.padEnd(9)} p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  (${r.n} requests, load ${r.load})`);
}

// -------------------------------------------------- B: channels per core

say(`\n## B. one gateway process: ${GW_CHANNELS} channels, a sample every second for ${GW_SECONDS} s`);
for (const transport of ['https', 'mqtts']) {
  const app = await benchApp('one', GW_CHANNELS, Math.ceil(GW_CHANNELS / 100));
  const g = startGateway({ url: srv.url, code: app.credential,
    args: ['--transport', transport, '--specials', '0.002', '--log', 'quiet', '--heartbeat', '30', '--poll', '30'] });
  cleanups.push(g);
  // Wait for the first batch to be stored (certificate, table, adoption).
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${app.accountId}`)) >= 1, 'the first batch', 120000);
  const stat0 = fs.readFileSync(`/proc/${g.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const b0 = Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${app.accountId}`));
  const t0 = Date.now();
  await sleep(GW_SECONDS * 1000);
  const stat1 = fs.readFileSync(`/proc/${g.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const wall = (Date.now() - t0) / 1000;
  const b1 = Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${app.accountId}`));
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  // utime and stime are fields 14 and 15 of /proc/pid/stat (11 and 12 after the name).
  const cpu = (Number(stat1[11]) + Number(stat1[12]) - Number(stat0[11]) - Number(stat0[12])) / hz;
  const instants = b1 - b0;
  await g.stop();
  const perInstant = cpu / Math.max(instants, 1);
  const perCore = GW_CHANNELS * 60 / perInstant;
  say(`${transport.toUpperCase().padEnd(6)} ${instants} sampling instants of ${GW_CHANNELS} channels stored in ${wall.toFixed(1)} s;` +
    ` gateway CPU ${cpu.toFixed(2)} s = ${(1000 * perInstant).toFixed(1)} ms per instant` +
    ` -> one core drives ${(perCore / 1e6).toFixed(2)} M channels at one-minute data (load ${load()})`);
}

say(`\nload at the end: ${load()}`);
for (const g of cleanups) await g.stop('SIGKILL').catch(() => {});
await broker.stop();
await srv.stop();
await pg.destroy();
fs.rmSync(mqttDir, { recursive: true, force: true });
fs.rmSync(srv.dataDir, { recursive: true, force: true });
