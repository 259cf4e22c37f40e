// Gateway and MQTTS benchmark (issue 14; scripts/bench-gateway): real
// PostgreSQL, metron-server with its MQTT bridge, Mosquitto with Metron's
// plugin, metron-gateway. Prints the machine's load with every figure (the
// machine is shared) and the ceilings measured in the same run.
//
//  A. MQTTS ingest end to end against HTTPS ingest: BENCH_CLIENTS apps each
//     send batches of BENCH_SAMPLES samples back to back for BENCH_SECONDS,
//     over HTTPS (a second server process on the same database with
//     --tls-cert; POST /ingest/batches on a kept-alive connection: the time
//     to the 201, which comes after the commit), over plain HTTP on
//     loopback (the TLS-terminating-proxy case) and over MQTTS (QoS 1 publish to the time of the
//     server's reply, sent after the commit). Ceilings: HTTPS GET /health
//     (no write) and the broker's own QoS 1 round trip (PUBACK, no server).
//  B. How many channels one gateway process drives at one-minute data: a
//     gateway playing an app with BENCH_GW_CHANNELS channels (a list) samples every
//     second for BENCH_GW_SECONDS (each second one minute's work: sample,
//     spool, send); its CPU time per sampling instant gives the channels one
//     core drives at one-minute data.
//  C. Many gateways, many instruments (scripts/bench-ingest --gateways):
//     BENCH_GATEWAYS (a list of steps) metron-gateway processes, each an app
//     with BENCH_GW_INSTRUMENTS loggers of BENCH_GW_INSTRUMENT_CHANNELS
//     channels, sampling every second (60 times one-minute data) over
//     BENCH_GW_TRANSPORT (mqtts or https) for BENCH_C_SECONDS: the samples
//     offered and stored per second, the time from a batch's last sampling
//     instant to its commit (p50/p99), what waits in the spools at the end,
//     the CPU of the gateways and of the server. Ceiling: the binary COPY
//     rate of the same PostgreSQL (tests/bench/pg_copy.mjs).
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createAccount, freePort, login, request, sleep, startPostgres, startServer, tempDir }
  from '../server/harness.mjs';
import { makeCsr, pluginPath, startBroker, startGateway, until } from '../gateway/helpers.mjs';
import { mqttConnect } from '../gateway/mqtt_wire.mjs';
import { copyRate } from './pg_copy.mjs';

const CLIENTS = Number(process.env.BENCH_CLIENTS || 4);
const SAMPLES = Number(process.env.BENCH_SAMPLES || 100);
const SECONDS = Number(process.env.BENCH_SECONDS || 15);
const GW_CHANNELS = (process.env.BENCH_GW_CHANNELS || '10000,100000').split(',').map(Number);
const PARTS = process.env.BENCH_PARTS || 'AB';
const GATEWAYS = (process.env.BENCH_GATEWAYS || '10,40').split(',').map(Number);
const GW_INSTRUMENTS = Number(process.env.BENCH_GW_INSTRUMENTS || 5);
const GW_INSTRUMENT_CHANNELS = Number(process.env.BENCH_GW_INSTRUMENT_CHANNELS || 100);
const GW_TRANSPORT = process.env.BENCH_GW_TRANSPORT || 'mqtts';
const C_SECONDS = Number(process.env.BENCH_C_SECONDS || 30);
const GW_SECONDS = Number(process.env.BENCH_GW_SECONDS || 30);
const PW = 'Correct-h0rse';

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const say = (s) => process.stdout.write(`${s}\n`);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const ms = (x) => `${x.toFixed(1)} ms`;

// PostgreSQL's default durability, as in production (BENCH_PG=fast: off, and said).

const pg = await startPostgres({ durable: process.env.BENCH_PG !== 'fast' });

console.log(`PostgreSQL: ${await pg.durability()}${process.env.BENCH_PG === 'fast' ? ' [BENCH_PG=fast: NOT durable]' : ''}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const dbUrl = await pg.createDatabase();
const db = new URL(dbUrl).pathname.slice(1);
const sql = (q) => pg.psql(q, db);
const brokerPort = await freePort();
const mqttDir = tempDir('metron-bench-mqtt-');
const srv = await startServer({ databaseUrl: dbUrl, args: ['--mqtt', `mqtts://127.0.0.1:${brokerPort}`,
  '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath, '--db-pool', '8'] });
const broker = await startBroker(mqttDir, brokerPort);
// A second process on the same database serves HTTPS (--tls-cert, as in
// production without a proxy); the first one, plain HTTP on loopback, runs
// the MQTT bridge and the set-up.
const certDir = tempDir('metron-bench-tls-');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
  '-nodes', '-days', '2', '-keyout', path.join(certDir, 'key.pem'),
  '-out', path.join(certDir, 'cert.pem'), '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
const tlsCa = fs.readFileSync(path.join(certDir, 'cert.pem'));
fs.writeFileSync(path.join(certDir, 'server.pem'),
  Buffer.concat([tlsCa, fs.readFileSync(path.join(certDir, 'key.pem'))]));
const tlsSrv = await startServer({ databaseUrl: dbUrl, waitHealthy: false,
  args: ['--tls-cert', path.join(certDir, 'server.pem'), '--db-pool', '8'] });
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

/** POST or GET on a kept-alive connection per app (as a gateway's libcurl
 * handle keeps one): { status }. "agent" is an https.Agent for the TLS
 * server, an http.Agent for the plain one. */
function call(agent, method, urlPath, body, headers = {}) {
  const tls = agent instanceof https.Agent;
  return new Promise((resolve, reject) => {
    const rq = (tls ? https : http).request(`${tls ? tlsSrv.url : srv.url}${urlPath}`,
      { method, agent, headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode }));
      });
    rq.on('error', reject);
    rq.end(body);
  });
}
const agentOf = (tls) => tls ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: tlsCa })
  : new http.Agent({ keepAlive: true, maxSockets: 1 });

async function httpClient(app, until_, lat, round, tls) {
  const agent = agentOf(tls);
  try {
    return await ingestLoop(app, until_, lat, round, async (body) => (await call(agent,
      'POST', '/api/v1/ingest/batches', body, { authorization: `Bearer ${app.credential}`,
        'content-type': 'application/json' })).status);
  } finally {
    agent.destroy();
  }
}

async function ingestLoop(app, until_, lat, round, post) {
  let n = 0;
  const base = Date.now() * 1000 - (30 + 30 * round) * 86400e6; // each round its own days
  const prefix = `h${round}-`;
  let i = 0;
  while (Date.now() < until_) {
    const body = JSON.stringify({ batch_id: `${prefix}${i}`, snapshots: [{ t: base + i * 60e6,
      ids: app.channels.slice(0, SAMPLES), v: app.channels.slice(0, SAMPLES).map((_, k) => k + i) }] });
    const t0 = performance.now();
    if (await post(body) === 201) { lat.push(performance.now() - t0); n += SAMPLES; }
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
  const base = Date.now() * 1000 - 120 * 86400e6;
  let i = 0;
  while (Date.now() < until_) {
    const body = JSON.stringify({ batch_id: `m${i}`, snapshots: [{ t: base + i * 60e6,
      ids: app.channels.slice(0, SAMPLES), v: app.channels.slice(0, SAMPLES).map((_, k) => k + i) }] });
    const t0 = performance.now();
    await client.publish(`${own}/up/batch`, body); // PUBACK from the broker
    (lat.ack ??= []).push(performance.now() - t0);
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
  const agent = agentOf(true);
  let n = 0;
  while (Date.now() < until_) {
    const t0 = performance.now();
    await call(agent, 'GET', '/api/v1/health');
    lat.push(performance.now() - t0);
    n++;
  }
  agent.destroy();
  return n;
}

async function run(name, fn, apps) {
  const lat = [];
  const t0 = Date.now();
  const until_ = t0 + SECONDS * 1000;
  const counts = await Promise.all(apps.map((a) => fn(a, until_, lat))).catch((e) => {
    throw new Error(`${name}: ${e.message}\nthe broker's log:\n${broker.log().slice(-3000)}` +
      `\nthe server's log:\n${srv.stderr().slice(-3000)}`);
  });
  const secs = (Date.now() - t0) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  return { name, rate: total / secs, p50: pct(lat, 50), p99: pct(lat, 99), n: lat.length, load: load(),
    ack: lat.ack };
}

if (PARTS.includes('A')) {
const apps = [];
for (let k = 0; k < CLIENTS; k++) apps.push(await benchApp('lr8450-direct', SAMPLES));
say(`\n## A. ingest end to end: ${CLIENTS} apps, batches of ${SAMPLES} samples, ${SECONDS} s each`);
const results = [];
results.push(await run('HTTPS GET /health (ceiling, no write)', (a, u, l) => healthCeiling(u, l), apps));
results.push(await run('HTTPS POST /ingest/batches', (a, u, l) => httpClient(a, u, l, 0, true), apps));
results.push(await run('HTTP POST /ingest/batches (no TLS, loopback)', (a, u, l) => httpClient(a, u, l, 2, false), apps));
results.push(await run('MQTT QoS 1 PUBACK (broker ceiling, no store)', brokerCeiling, apps));
results.push(await run('MQTTS batch -> stored -> reply', mqttClient, apps));
results.push(await run('HTTPS POST /ingest/batches (again)', (a, u, l) => httpClient(a, u, l, 1, true), apps));
// Every acknowledged batch is stored (and nothing twice: the batch id is the key).
const acked = results.filter((r) => !/ceiling/.test(r.name)).reduce((a, r) => a + r.n, 0);
const stored = Number(await sql(`SELECT count(*) FROM ingest_batches
  WHERE account_id IN (${apps.map((a) => a.accountId).join(',')})`));
if (stored !== acked) throw new Error(`${acked} batches acknowledged, ${stored} stored`);
for (const r of results) {
  const unit = /ceiling/.test(r.name) ? 'req/s' : 'samples/s';
  say(`${r.name.padEnd(46)} ${r.rate.toFixed(0).padStart(8)} ${unit.padEnd(9)} p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  (${r.n} requests, load ${r.load})`);
  if (r.ack) say(`${'  of which publish -> broker PUBACK'.padEnd(63)} p50 ${ms(pct(r.ack, 50))}  p99 ${ms(pct(r.ack, 99))}`);
}
say(`stored: ${stored} batches, each acknowledged one once`);

}

// -------------------------------------------------- B: channels per core

for (const channels of PARTS.includes('B') ? GW_CHANNELS : []) {
say(`\n## B. one gateway process: ${channels} channels, a sample every second for ${GW_SECONDS} s`);
for (const transport of ['https', 'mqtts']) {
  const app = await benchApp('one', channels, Math.ceil(channels / 100));
  const tls = transport === 'https';
  const g = startGateway({ url: tls ? tlsSrv.url : srv.url, code: app.credential,
    args: [...(tls ? ['--cacert', path.join(certDir, 'cert.pem')] : []), '--transport', transport, '--specials', '0.002', '--log', 'quiet', '--heartbeat', '30', '--poll', '30',
      '--timeout', '30000'] });
  cleanups.push(g);
  // Wait for the first batch to be stored (certificate, table, adoption).
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${app.accountId}`)) >= 1, 'the first batch', 120000)
    .catch((e) => { throw new Error(`${e.message}; the gateway's log:\n${g.log().slice(-3000)}`); });
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
  const rss = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${g.proc.pid}/status`, 'utf8'))[1];
  const stored = b1 - b0;
  const sampled = Math.round(wall); // one sampling instant a second
  await g.stop();
  const perInstant = cpu / Math.max(sampled, 1);
  const perCore = channels * 60 / perInstant;
  // The gateway's CPU covers sampling, spooling and sending every instant;
  // when the server stores fewer instants than were sampled, the rest waits
  // in the spool (the server, not the gateway, sets that pace).
  say(`${transport.toUpperCase().padEnd(6)} ${sampled} instants sampled, ${stored} stored in ${wall.toFixed(1)} s` +
    ` (${Math.round(stored * channels / wall)} samples/s stored);` +
    ` gateway peak RSS ${(rss / 1024).toFixed(0)} MiB, CPU ${cpu.toFixed(2)} s = ${(1000 * perInstant).toFixed(1)} ms per instant` +
    ` -> one core drives ${(perCore / 1e6).toFixed(1)} M channels at one-minute data (load ${load()})`);
}
}

// ------------------------------------ C: many gateways, many instruments

/** CPU seconds (user + system) of process "pid" so far. */
function cpuOf(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
}

if (PARTS.includes('C')) {
  const perGw = GW_INSTRUMENTS * GW_INSTRUMENT_CHANNELS;
  say(`\n## C. many gateways: each ${GW_INSTRUMENTS} instruments x ${GW_INSTRUMENT_CHANNELS} channels,` +
    ` a sample every second, ${GW_TRANSPORT.toUpperCase()}, ${C_SECONDS} s per step`);
  const copy = await copyRate(pg, db, 1_000_000);
  say(`ceiling: binary COPY into a plain table of the same PostgreSQL ${copy.toFixed(0)} rows/s (load ${load()})`);
  for (const n of GATEWAYS) {
    const apps = [];
    for (let k = 0; k < n; k++) apps.push(await benchApp('one', perGw, GW_INSTRUMENTS));
    const ids = apps.map((a) => a.accountId).join(',');
    const gws = apps.map((a) => {
      const g = startGateway({ url: srv.url, code: a.credential, args: ['--transport', GW_TRANSPORT,
        '--specials', '0.002', '--log', 'quiet', '--heartbeat', '30', '--poll', '30', '--timeout', '30000'] });
      cleanups.push(g);
      return g;
    });
    // Every gateway has had a batch stored (certificate, table, adoption).
    await until(async () => Number(await sql(`SELECT count(DISTINCT account_id) FROM ingest_batches
      WHERE account_id IN (${ids})`)) === n, `a first batch from each of ${n} gateways`, 180000)
      .catch((e) => { throw new Error(`${e.message}; a gateway's log:\n${gws[0].log().slice(-3000)}`); });
    const g0 = gws.reduce((s, g) => s + cpuOf(g.proc.pid), 0);
    const s0 = cpuOf(srv.proc.pid);
    const from = await sql('SELECT now()');
    const t0 = Date.now();
    await sleep(C_SECONDS * 1000);
    const to = await sql('SELECT now()');
    const wall = (Date.now() - t0) / 1000;
    const gCpu = gws.reduce((s, g) => s + cpuOf(g.proc.pid), 0) - g0;
    const sCpu = cpuOf(srv.proc.pid) - s0;
    const spooled = gws.reduce((s, g) => s + g.spooled(), 0);
    // A batch id is <tag>-<first instant, s>-<instants>: the last instant
    // of a batch is first + instants - 1 (one-second sampling).
    const [stored, batches, p50, p99] = (await sql(`SELECT COALESCE(sum(n_samples), 0), count(*),
      COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY lat), 0),
      COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY lat), 0)
      FROM (SELECT n_samples, extract(epoch FROM received_at)
              - (substring(batch_id FROM '-([0-9]+)-[0-9]+$')::bigint
                 + substring(batch_id FROM '-([0-9]+)$')::bigint - 1) AS lat
            FROM ingest_batches WHERE account_id IN (${ids})
              AND received_at > '${from}' AND received_at <= '${to}') x`)).split('|').map(Number);
    await Promise.all(gws.map((g) => g.stop()));
    say(`${String(n).padStart(4)} gateways, ${n * perGw} channels: offered ${n * perGw} samples/s,` +
      ` stored ${(stored / wall).toFixed(0)} samples/s (${batches} batches),` +
      ` last instant -> stored p50 ${ms(1000 * p50)} p99 ${ms(1000 * p99)};` +
      ` ${spooled} batches waiting at the end; CPU: gateways ${(100 * gCpu / wall).toFixed(1)} %,` +
      ` server ${(100 * sCpu / wall).toFixed(1)} % of a core (load ${load()})`);
  }
}

say(`\nload at the end: ${load()}`);
for (const g of cleanups) {
  await g.stop('SIGKILL').catch(() => {});
  fs.rmSync(g.state, { recursive: true, force: true });
}
await broker.stop();
await srv.stop();
await tlsSrv.stop();
await pg.destroy();
fs.rmSync(certDir, { recursive: true, force: true });
fs.rmSync(tlsSrv.dataDir, { recursive: true, force: true });
fs.rmSync(mqttDir, { recursive: true, force: true });
fs.rmSync(srv.dataDir, { recursive: true, force: true });
