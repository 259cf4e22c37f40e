// Benchmarks of acquired data end to end (issue #4): scripts/bench-ingest
// and scripts/bench-query run this file.
//
//   node tests/bench/data_bench.mjs ingest   everyday + back-fill ingest rates
//                                            through HTTP, and everyday through
//                                            MQTTS (Mosquitto + the server's
//                                            bridge), beside binary COPY
//   node tests/bench/data_bench.mjs query    32 channels x one year: graph
//                                            p50/p95, one channel's raw day,
//                                            disk bytes per sample
//
// It starts its own PostgreSQL cluster and metron-server (METRON_SERVER_BIN)
// on loopback, creates a Pro account with apps, devices and channels (the
// channels by SQL, to set up thousands quickly), and prints figures.
// Sizes: BENCH_CLIENTS, BENCH_CHANNELS, BENCH_MINUTES, BENCH_DAYS (env);
// BENCH_ROUNDS everyday rounds of each kind (default 3), BENCH_EVERYDAY a
// regular expression choosing everyday kinds besides "HTTP, JSON" (such as
// "MQTTS"), BENCH_MQTT=0 HTTP only.
//
// PostgreSQL keeps its default durability (every commit flushed before it is
// acknowledged, as in production); BENCH_PG=fast turns fsync,
// synchronous_commit and full_page_writes off and says so on every line.
// Every figure is printed with its ceiling measured in the same run (a binary
// COPY of the same number of rows into an unindexed table, one transaction,
// durable like the rest) and as a RESULT line for scripts/bench.
//
// The everyday rows go in through HTTP and, when Mosquitto and Metron's
// plugin (build/broker) are there, through MQTTS too (BENCH_MQTT=0: HTTP
// only): the same rows (the same clients, channels, minutes and bodies,
// JSON and HOK2) into channels of their own, each client publishing a
// batch at QoS 1 on metron/v1/app/<id>/up/batch and waiting for the
// server's reply on .../down/reply, which comes after the commit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createAccount, freePort, login, request, startPostgres, startServer, tempDir }
  from '../server/harness.mjs';
import { loadHok } from '../server/data_helpers.mjs';
import { copyCeiling } from './pg_copy.mjs';
import { context, cpuMeter, cpuOf, postBatch, result } from './bench_util.mjs';
import { makeCsr, pluginPath, startBroker, until } from '../gateway/helpers.mjs';
import { mqttConnect } from '../gateway/mqtt_wire.mjs';

const mode = process.argv[2] || 'ingest';
const FAST = process.env.BENCH_PG === 'fast';
const durable = !FAST;
const env = (k, d) => Number(process.env[k] || d);
const MIN = 60_000_000;
const PW = 'Correct-h0rse';

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}

async function setup(pg, db, srv, { apps, channels, tag = '' }) {
  const account = `bench${process.pid}${tag}`;
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const out = [];
  for (let a = 0; a < apps; a++) {
    let r = await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: `Gateway ${a}` });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    const app = r.body;
    r = await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: `SN${a}` });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    const dev = r.body.id;
    const chIds = (await pg.psql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit,
      selected, position) SELECT ${ids.accountId}, ${dev}, 'CH' || i, 'Channel ' || i, 'V', true, i
      FROM generate_series(1, ${channels}) i RETURNING id`, db)).split('\n').map(Number);
    out.push({ app, dev, channels: chIds });
  }
  return { accountId: ids.accountId, c, apps: out };
}

// The client: node's http with kept-alive connections (fetch cost about
// three times its CPU per request, taken from the same 2 CPUs as the server
// and PostgreSQL; its CPU is printed apart: clientMeter()).
// A new agent for each timed run (fresh()): the server closes connections
// left idle between runs (MQTTS runs, compactions), and a request on one
// it has just closed fails with "socket hang up".
let agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function fresh() {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
}

function post(url, credential, body, type = 'application/json', extra = {}) {
  return postBatch(agent, url, credential, body, type, extra);
}

async function compact(srv) {
  const t = performance.now();
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return { ...r.body, ms: performance.now() - t };
}

/** Bytes on disk of the day rows (every partition, with TOAST and indexes)
 * and of the month rows (derived, migration 011). */
async function diskBytes(pg, db) {
  const days = Number(await pg.psql(`SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'series_day'::regclass`, db));
  const months = Number(await pg.psql(`SELECT pg_total_relation_size('series_month')`, db));
  return { days, months, total: days + months };
}

/** CPU time (user + system) of this process, the benchmark's client, per
 * unit of work: it runs on the same CPUs as the server and PostgreSQL. */
function clientMeter() {
  const c0 = process.cpuUsage();
  return {
    stop(n) {
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / n;
    },
  };
}

/** Run "fn(i)" for i in 0..n-1 with "conc" at a time. */
async function pool(n, conc, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) await fn(next++);
  }));
}

function signal(ch, i) {
  return Math.round((20 + 5 * Math.sin((i + ch * 7) / 300) + ((i * 7919 + ch * 104729) % 97) / 97) * 100) / 100;
}

/** Why MQTTS cannot be measured here, or null: Mosquitto on the PATH and
 * Metron's plugin built (cmake --build build --target metron_mosquitto). */
function mqttWhyNot() {
  if (process.env.BENCH_MQTT === '0') return 'BENCH_MQTT=0';
  try {
    execFileSync('mosquitto', ['-h'], { stdio: 'ignore' });
  } catch (e) {
    if (e.code === 'ENOENT') return 'mosquitto is not installed';
  }
  if (!fs.existsSync(pluginPath)) return `no broker plugin at ${pluginPath} (build the metron_mosquitto target)`;
  return null;
}

/** Topic, correlation data (text) and payload of an MQTT v5 PUBLISH packet. */
function publishOf(p) {
  const b = p.body;
  const tlen = b.readUInt16BE(0);
  const topic = b.toString('utf8', 2, 2 + tlen);
  let o = 2 + tlen + (((p.flags >> 1) & 3) > 0 ? 2 : 0);
  let len = 0;
  for (let mult = 1, x = 128; x & 128; mult *= 128) {
    x = b[o++];
    len += (x & 127) * mult;
  }
  let corr = null;
  for (let q = o; q < o + len;) {
    const id = b[q++];
    if (id !== 0x03 && id !== 0x09) break; // the bridge sends these two
    const l = b.readUInt16BE(q);
    if (id === 0x09) corr = b.toString('utf8', q + 2, q + 2 + l);
    q += 2 + l;
  }
  return { topic, corr, payload: b.subarray(o + len) };
}

/** An MQTTS client of "app" (its own certificate, as a gateway gets one):
 * send(body, batchId, contentType) publishes at QoS 1 and resolves on the
 * server's reply for that batch (after its commit); a refusal throws. */
async function mqttApp(srv, port, app) {
  const { csr, key } = await makeCsr();
  const cert = await request(srv.url, 'POST', '/api/v1/ingest/certificate', { body: { csr },
    headers: { authorization: `Bearer ${app.credential}` } });
  if (cert.status !== 200 && cert.status !== 201) throw new Error(`certificate: ${cert.status} ${JSON.stringify(cert.body)}`);
  const { reason, client, tlsError } = await mqttConnect({ port, ca: cert.body.ca,
    cert: cert.body.certificate, key, clientId: `bench-${app.id}` });
  if (tlsError || reason !== 0) throw new Error(`MQTT connect: ${tlsError || `reason ${reason}`}`);
  const own = `metron/v1/app/${app.id}`;
  if (await client.subscribe(`${own}/down/#`) > 2) throw new Error('MQTT subscribe refused');
  return {
    async send(body, batchId, contentType) {
      const ack = await client.publish(`${own}/up/batch`, body, { contentType, correlation: batchId });
      if (ack !== 0) throw new Error(`PUBACK reason ${ack}`);
      for (;;) {
        const p = await client.next(60000);
        if (p.type !== 3) continue;
        const m = publishOf(p);
        if (m.topic !== `${own}/down/reply` || m.corr !== batchId) continue;
        const r = JSON.parse(m.payload.toString('utf8'));
        if (r.ok !== true) throw new Error(`batch ${batchId} refused: ${m.payload}`);
        return r;
      }
    },
    end: () => client.end(),
  };
}

async function ingest() {
  const clients = env('BENCH_CLIENTS', 4);
  const channels = env('BENCH_CHANNELS', 2000);
  const minutes = env('BENCH_MINUTES', 60);
  const fillDays = env('BENCH_DAYS', 7);
  const noMqtt = mqttWhyNot();
  const pg = await startPostgres({ durable });
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const brokerPort = noMqtt ? 0 : await freePort();
  const mqttDir = noMqtt ? null : tempDir('metron-bench-mqtt-');
  const srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '3600000' },
    args: ['--db-pool', String(2 * clients + 2), ...(noMqtt ? [] : ['--mqtt',
      `mqtts://127.0.0.1:${brokerPort}`, '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath])] });
  let broker = null;
  const mqttClients = [];
  try {
    if (!noMqtt) {
      broker = await startBroker(mqttDir, brokerPort);
      await until(async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.connected,
        'the MQTT bridge', 30000);
    }
    const s = await setup(pg, db, srv, { apps: clients, channels });
    // The same rows through MQTTS into channels of their own (JSON, HOK2),
    // and HOK2 through HTTP beside them.
    // Everyday rounds (BENCH_ROUNDS, default 3; one round lasts about a
    // second), each kind once per round, the order reversed every other
    // round; each (round, kind) into channels of its own, set up now.
    const hok = await loadHok();
    const kinds = ['HTTP, JSON', ...(noMqtt ? [] : ['MQTTS, JSON']), ...(hok && !noMqtt ? ['MQTTS, HOK2'] : []),
      ...(hok ? ['HTTP, HOK2'] : [])];
    // BENCH_EVERYDAY: a regular expression choosing kinds (profiling), e.g. "MQTTS, JSON".
    if (process.env.BENCH_EVERYDAY) {
      const re = new RegExp(process.env.BENCH_EVERYDAY);
      kinds.splice(0, kinds.length, ...kinds.filter((k, i) => i === 0 || re.test(k)));
    }
    const nRounds = Math.max(1, env('BENCH_ROUNDS', 3));
    const sets = [];
    for (let r = 0; r < nRounds; r++) {
      sets.push({});
      for (const [k, kind] of kinds.entries()) {
        sets[r][kind] = r === 0 && k === 0 ? s : await setup(pg, db, srv, { apps: clients, channels, tag: `r${r}k${k}` });
      }
    }
    const dur = await context('ingest', pg);
    const pgPid = pg.pid();
    const { rate: copy, cpu: copyCpu } = await copyCeiling(pg, db, clients * channels * minutes);
    // Everyday: the last hour (writes of today and yesterday never touch
    // month rows); back-fill goes further back, before it.
    const base = Date.now() * 1000 - (minutes + 5) * MIN;
    const start = base - (base % MIN);

    // Everyday: each client sends one minute of all its channels per batch.
    // Every body is built as bytes before the clock starts (JSON text
    // encoded to UTF-8, like the HOK2 files below), as a gateway has it.
    const jsonBodies = (set) => set.apps.map((app) => Array.from({ length: minutes }, (_, m) =>
      Buffer.from(JSON.stringify({ batch_id: `e-${m}`, snapshots: [{ t: start + m * MIN,
        ids: app.channels, v: app.channels.map((_, k) => signal(k, m)) }] }))));
    const hokBodies = (set) => set.apps.map((app) => Array.from({ length: minutes }, (_, m) =>
      hok.write({ meta: { title: 'everyday' }, channels: app.channels.map((id, k) => ({ id, name: `CH${k + 1}`,
        unit: 'V' })), times: [(start + m * MIN) / 1000], values: app.channels.map((_, k) => [signal(k, m)]) },
      { format: 'hok2' })));
    const everyN = clients * channels * minutes;
    /** One everyday run: every client sends its bodies one after the other
     * with send(a, body, m), the clients at once; then the compaction. */
    const everyday = async (name, bodies, send, mqtt = false) => {
      fresh();
      const m0 = cpuMeter(srv.proc.pid, pgPid);
      const b0 = broker ? cpuOf(broker.proc.pid) : 0;
      const c0 = clientMeter();
      const t0 = performance.now();
      await Promise.all(bodies.map(async (list, a) => {
        for (const [m, body] of list.entries()) await send(a, body, m);
      }));
      const ms = performance.now() - t0;
      const cpu = { ...m0.stop(everyN), client: c0.stop(everyN),
        broker: mqtt ? ((cpuOf(broker.proc.pid) - b0) * 1e6) / everyN : null };
      const bytes = bodies.reduce((x, l) => x + l.reduce((y, b) => y + b.length, 0), 0);
      return { name, ms, cpu, rate: everyN / (ms / 1000), body: bytes / (clients * minutes),
        compact: await compact(srv) };
    };
    const everySums = {};
    for (let r = 0; r < nRounds; r++) {
      for (const kind of r % 2 ? [...kinds].reverse() : kinds) {
        const set = sets[r][kind];
        const mqtt = kind.startsWith('MQTTS');
        const json = kind.endsWith('JSON');
        const bodies = json ? jsonBodies(set) : hokBodies(set);
        const type = json ? 'application/json' : 'application/vnd.metron.hok';
        // An MQTTS client connects (certificate, TLS, subscription) before
        // the clock starts, as an HTTP client's kept-alive connection is
        // made once; a gateway keeps both open.
        const conns = [];
        for (const app of mqtt ? set.apps : []) {
          conns.push(await mqttApp(srv, brokerPort, app.app));
          mqttClients.push(conns.at(-1));
        }
        const run = await everyday(kind, bodies, mqtt
          ? (a, body, m) => conns[a].send(body, `e-${m}`, type)
          : (a, body, m) => post(srv.url, set.apps[a].app.credential, body, type, json ? {} : { 'X-Batch-Id': `e-${m}` }),
        mqtt);
        for (const c of conns) c.end();
        // Every acknowledged batch stored once, with all its samples.
        const [nb, ns] = (await pg.psql(`SELECT count(*), COALESCE(sum(n_samples), 0) FROM ingest_batches
          WHERE account_id = ${set.accountId} AND batch_id LIKE 'e-%'`, db)).split('|').map(Number);
        if (nb !== clients * minutes || ns !== everyN) {
          throw new Error(`${kind}: ${clients * minutes} batches of ${everyN} samples acknowledged, ${nb} batches of ${ns} stored`);
        }
        const f = everySums[kind] ||= { name: kind, n: 0, ms: 0, rates: [], body: run.body,
          cpu: { server: 0, pg: 0, client: 0, broker: mqtt ? 0 : null },
          compact: { samples: 0, ms: 0, blocks: 0, months: 0 } };
        f.n += everyN; f.ms += run.ms; f.rates.push(run.rate);
        for (const k of ['server', 'pg', 'client', ...(mqtt ? ['broker'] : [])]) f.cpu[k] += run.cpu[k] * everyN;
        for (const k of ['samples', 'ms', 'blocks', 'months']) f.compact[k] += run.compact[k];
      }
    }
    const runs = kinds.map((k) => everySums[k]).map((f) => ({ ...f, rate: f.n / (f.ms / 1000),
      cpu: Object.fromEntries(Object.entries(f.cpu).map(([k, v]) => [k, v === null ? null : v / f.n])) }));

    // Back-fill: long runs of one channel (an imported file: "fillDays" days
    // of one channel per batch), as JSON and as HOK2 bodies.
    const runCh = Math.min(channels, env('BENCH_FILL_CHANNELS', 20));
    const perBatch = fillDays * 1440;
    // Rounds in the order A B B A (JSON, HOK2, HOK2, JSON), each into a
    // range of days of its own, summed per form: the first back-fill after
    // the everyday phase costs PostgreSQL more (0.19 against 0.07 us per
    // sample for the same form, whichever form went first), which a fixed
    // order charged to one form.
    // A first round of either form (here JSON), not counted, takes that
    // cost (PostgreSQL's first inserts after the compaction's deletes).
    const rounds = hok ? ['warm-up', 'json', 'hok2', 'hok2', 'json'] : ['json', 'json'];
    const jobs = [];
    for (let a = 0; a < clients; a++) for (let k = 0; k < runCh; k++) jobs.push([a, k]);
    const sums = {};
    let meter, client, t;
    for (const [r, round] of rounds.entries()) {
      const form = round === 'warm-up' ? 'json' : round;
      const fillStart = start - (r + 1) * (fillDays + 1) * 86400e6;
      const bodies = jobs.map(([a, k]) => {
        const ts = Array.from({ length: perBatch }, (_, i) => fillStart + i * MIN);
        const vs = ts.map((_, i) => signal(k, i));
        if (form === 'json') {
          return Buffer.from(JSON.stringify({ batch_id: `f-${r}-${k}`, channels: [{ id: s.apps[a].channels[k], t: ts, v: vs }] }));
        }
        return hok.write({ meta: { title: 'import' }, channels: [{ id: s.apps[a].channels[k], name: `CH${k}`, unit: 'V' }],
          times: ts.map((x) => x / 1000), values: [vs] }, { format: 'hok2' });
      });
      const n = jobs.length * perBatch;
      fresh();
      meter = cpuMeter(srv.proc.pid, pgPid);
      client = clientMeter();
      t = performance.now();
      await pool(jobs.length, clients, async (i) => {
        const cred = s.apps[jobs[i][0]].app.credential;
        if (form === 'json') await post(srv.url, cred, bodies[i]);
        else await post(srv.url, cred, bodies[i], 'application/vnd.metron.hok', { 'X-Batch-Id': `h-${r}-${jobs[i][1]}` });
      });
      const ms = performance.now() - t;
      const cpu = { ...meter.stop(n), client: client.stop(n) };
      const comp = await compact(srv);
      if (round === 'warm-up') continue;
      const f = sums[form] ||= { form, n: 0, ms: 0, mb: 0, rounds: 0, cpu: { server: 0, pg: 0, client: 0 },
        comp: { samples: 0, ms: 0, blocks: 0, months: 0 } };
      f.n += n; f.ms += ms; f.rounds++;
      f.mb += bodies.reduce((x, b) => x + b.length, 0) / 1e6;
      for (const k of ['server', 'pg', 'client']) f.cpu[k] += cpu[k] * n;
      for (const k of ['samples', 'ms', 'blocks', 'months']) f.comp[k] += comp[k];
    }
    const fills = Object.values(sums).map((f) => ({ ...f, rate: f.n / (f.ms / 1000),
      cpu: { server: f.cpu.server / f.n, pg: f.cpu.pg / f.n, client: f.cpu.client / f.n } }));
    const bytes = await diskBytes(pg, db);
    const stored = Number(await pg.psql('SELECT sum(n) FROM series_day', db));

    const label = FAST ? ' [BENCH_PG=fast: NOT durable]' : '';
    const cpuTxt = (c) => `CPU per sample: server ${c.server.toFixed(2)} µs, PostgreSQL ${c.pg.toFixed(2)} µs` +
      `${c.broker != null ? `, Mosquitto ${c.broker.toFixed(2)} µs` : ''}; the client (node, same CPUs) ${c.client.toFixed(2)} µs`;
    console.log(`binary COPY into an unindexed table (${fmt(everyN)} rows, one transaction):  ${fmt(copy)} rows/s, PostgreSQL CPU ${copyCpu.toFixed(2)} µs per row${label}`);
    console.log(`everyday  ${clients} clients x ${channels} channels x ${minutes} minutes (1 minute per batch, each acknowledged after its commit), ${nRounds} rounds of each, alternated:`);
    const spread = (r) => `rounds ${r.rates.map((x) => fmt(x)).join(', ')}`;
    for (const r of runs) {
      console.log(`  end to end through ${r.name} (${(r.body / 1e3).toFixed(1)} kB per batch): ${fmt(r.rate)} samples/s   (${(r.rate / copy).toFixed(2)} x COPY; target >= 0.5; ${spread(r)}); ${cpuTxt(r.cpu)}${label}`);
      console.log(`    CPU: COPY's ${copyCpu.toFixed(2)} µs per row against server + PostgreSQL${r.cpu.broker != null ? ' + Mosquitto' : ''} ${(r.cpu.server + r.cpu.pg + (r.cpu.broker || 0)).toFixed(2)} µs per sample: ${(copyCpu / (r.cpu.server + r.cpu.pg + (r.cpu.broker || 0))).toFixed(2)} (the machine's load moves this far less than the rates)`);
      console.log(`    compaction into day blocks: ${fmt(r.compact.samples / (r.compact.ms / 1000))} samples/s (${r.compact.blocks} blocks, ${r.compact.months} month rows, ${r.compact.ms.toFixed(0)} ms)`);
    }
    if (noMqtt) console.log(`  through MQTTS: not measured (${noMqtt})`);
    for (const f of fills) {
      console.log(`back-fill ${clients} clients x ${runCh} channels, ${fillDays} days of one channel per batch (${f.form}, ${f.rounds} rounds of ${(f.mb / f.rounds).toFixed(1)} MB):`);
      console.log(`  end to end through HTTP: ${fmt(f.rate)} samples/s   (${(f.rate / copy).toFixed(2)} x COPY); ${cpuTxt(f.cpu)}${label}`);
      console.log(`  compaction into day blocks: ${fmt(f.comp.samples / (f.comp.ms / 1000))} samples/s (${f.comp.blocks} blocks, ${f.comp.months} month rows built, ${f.comp.ms.toFixed(0)} ms)`);
    }
    console.log(`disk: ${(bytes.total / stored).toFixed(2)} bytes per stored sample (${stored} samples, ${fmt(bytes.total)}B with indexes and month rows; target < 4)`);
    const cpuNote = (c) => `CPU/sample server ${c.server.toFixed(2)} µs + PostgreSQL ${c.pg.toFixed(2)} µs` +
      `${c.broker != null ? ` + Mosquitto ${c.broker.toFixed(2)} µs` : ''}; client ${c.client.toFixed(2)} µs apart`;
    for (const r of runs) {
      const own = r.cpu.server + r.cpu.pg + (r.cpu.broker || 0);
      result({ name: `everyday ingest, ${r.name === 'HTTP, JSON' ? 'HTTP' : r.name}${label}`, value: r.rate, unit: 'samples/s',
        ceilingName: 'binary COPY', ceiling: copy, target: '>= 0.5 of COPY', verdict: r.rate >= 0.5 * copy ? 'met' : 'NOT met',
        notes: `${cpuNote(r.cpu)}; COPY ${copyCpu.toFixed(2)} µs/row (CPU ratio ${(copyCpu / own).toFixed(2)}); ${(r.body / 1e3).toFixed(1)} kB/batch; ${spread(r)}` });
    }
    if (noMqtt) {
      result({ name: `everyday ingest, MQTTS${label}`, value: 'not measured', unit: '', ceilingName: 'binary COPY',
        ceiling: null, target: '>= 0.5 of COPY', verdict: 'NOT measured', notes: noMqtt });
    }
    const json = fills.find((f) => f.form === 'json');
    const hok2 = fills.find((f) => f.form === 'hok2');
    for (const f of fills) {
      result({ name: `back-fill ingest, ${f.form}${label}`, value: f.rate, unit: 'samples/s', ceilingName: 'binary COPY',
        ceiling: copy, target: '', verdict: '', notes: cpuNote(f.cpu) });
    }
    if (json && hok2) {
      result({ name: `back-fill JSON / HOK2${label}`, value: json.rate, unit: 'samples/s', ceilingName: 'HOK2 back-fill',
        ceiling: hok2.rate, target: '>= 0.8 of HOK2', verdict: json.rate >= 0.8 * hok2.rate ? 'met' : 'NOT met',
        notes: cpuNote(json.cpu) });
    }
    console.log(`done: load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; PostgreSQL ${dur}`);
  } finally {
    for (const c of mqttClients) c.end();
    if (broker) await broker.stop();
    await srv.stop();
    await pg.destroy();
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
    if (mqttDir) fs.rmSync(mqttDir, { recursive: true, force: true });
  }
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function query() {
  const days = env('BENCH_DAYS', 365);
  const nch = 32;
  const runs = Math.max(100, env('BENCH_RUNS', 100)); // percentiles need 100 requests at least
  const pg = await startPostgres({ durable });
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '3600000' } });
  try {
    const s = await setup(pg, db, srv, { apps: 1, channels: nch });
    const app = s.apps[0];
    const end = Date.now() * 1000 - 86400e6;
    const t0 = end - (end % 86400e6) - days * 86400e6;
    let t = performance.now();
    const jobs = [];
    for (let k = 0; k < nch; k++) for (let d = 0; d < days; d += 10) jobs.push([k, d]);
    await pool(jobs.length, 4, async (i) => {
      const [k, d] = jobs[i];
      const n = Math.min(10, days - d) * 1440;
      const ts = Array.from({ length: n }, (_, j) => t0 + d * 86400e6 + j * MIN);
      await post(srv.url, app.app.credential, JSON.stringify({ batch_id: `q-${k}-${d}`,
        channels: [{ id: app.channels[k], t: ts, v: ts.map((_, j) => signal(k, j + d * 1440)) }] }));
    });
    const loadMs = performance.now() - t;
    const c = await compact(srv);
    // What autovacuum would do after a bulk load, done now so that it does
    // not run during the timed queries (steady state).
    await pg.psql('VACUUM ANALYZE', db);
    const samples = nch * days * 1440;
    const bytes = await diskBytes(pg, db);
    const chs = app.channels.join(',');
    const from = t0, to = t0 + days * 86400e6;
    // Latency = request sent -> last byte of the answer received (as wrk or
    // curl measure it); the client's own JSON.parse is timed apart.
    const graph = [], parse = [], health = [];
    const dur = await context('query', pg);
    let body = null;
    let meter = null;
    for (let i = 0; i < runs + 4; i++) {
      if (i === 4) meter = cpuMeter(srv.proc.pid, pg.pid());
      t = performance.now();
      const r = await fetch(`${srv.url}/api/v1/data/graph?channels=${chs}&from=${from}&to=${to}&buckets=2000`,
        { headers: { cookie: `metron_session=${s.c.cookie}` } });
      const text = await r.text();
      if (i >= 4) graph.push(performance.now() - t); // 4 warm-up runs: every pooled connection
      if (r.status !== 200) throw new Error(text);
      t = performance.now();
      body = JSON.parse(text);
      if (i >= 4) parse.push(performance.now() - t);
      body.size = text.length;
      // The ceiling of a request on this machine at this moment: the
      // smallest reply of the same server, right after.
      t = performance.now();
      const h = await fetch(`${srv.url}/api/v1/health`);
      await h.arrayBuffer();
      if (i >= 4) health.push(performance.now() - t);
    }
    const graphCpu = meter.stop(runs);
    const raw = [];
    for (let i = 0; i < runs + 2; i++) {
      const d = (i * 37) % days;
      t = performance.now();
      const r = await s.c.get(`/api/v1/data/raw?channels=${app.channels[i % nch]}&from=${t0 + d * 86400e6}&to=${t0 + (d + 1) * 86400e6}&limit=2000`);
      if (r.status !== 200 || r.body.t.length !== 1440) throw new Error(`raw day: ${r.status}`);
      if (i >= 2) raw.push(performance.now() - t);
    }
    const label = FAST ? ' [BENCH_PG=fast: NOT durable]' : '';
    console.log(`data: ${nch} channels x ${days} days of one-minute samples = ${fmt(samples)} samples, loaded in ${(loadMs / 1000).toFixed(1)} s (${fmt(samples / (loadMs / 1000))} samples/s) + compaction ${(c.ms / 1000).toFixed(1)} s`);
    console.log(`graph, 32 channels x ${days} days -> 2000 buckets (${body.buckets} x ${body.bucket_us / 3600e6} h from ${body.source}): p50 ${pct(graph, 50).toFixed(1)} ms, p95 ${pct(graph, 95).toFixed(1)} ms over ${graph.length} requests (target p95 < 100 ms), request -> last byte; CPU per request: server ${(graphCpu.server / 1000).toFixed(1)} ms, PostgreSQL ${(graphCpu.pg / 1000).toFixed(1)} ms${label}`);
    console.log(`  ${(body.size / 1e6).toFixed(2)} MB of JSON, parsed by the client apart: p50 ${pct(parse, 50).toFixed(1)} ms, p95 ${pct(parse, 95).toFixed(1)} ms`);
    console.log(`  GET /health right after each (the ceiling of any request now): p50 ${pct(health, 50).toFixed(2)} ms, p95 ${pct(health, 95).toFixed(2)} ms`);
    console.log(`raw day of one channel (1440 samples): p50 ${pct(raw, 50).toFixed(1)} ms, p95 ${pct(raw, 95).toFixed(1)} ms`);
    console.log(`disk: ${(bytes.total / samples).toFixed(2)} bytes per sample: day rows ${(bytes.days / samples).toFixed(2)}, month rows ${(bytes.months / samples).toFixed(2)} (target < 4)`);
    const p95 = pct(graph, 95);
    result({ name: `year query p95, 32 ch -> 2000 buckets${label}`, value: p95, unit: 'ms', ceilingName: 'GET /health p95',
      ceiling: pct(health, 95), target: 'p95 < 100 ms', verdict: p95 < 100 ? 'met' : 'NOT met',
      notes: `p50 ${pct(graph, 50).toFixed(1)} ms over ${graph.length}; client parse p50 ${pct(parse, 50).toFixed(1)} ms apart; CPU/req server ${(graphCpu.server / 1000).toFixed(1)} ms + PostgreSQL ${(graphCpu.pg / 1000).toFixed(1)} ms` });
    result({ name: `raw day of one channel p95${label}`, value: pct(raw, 95), unit: 'ms', ceilingName: 'GET /health p95',
      ceiling: pct(health, 95), target: '', verdict: '', notes: `p50 ${pct(raw, 50).toFixed(1)} ms over ${raw.length}` });
    console.log(`done: load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; PostgreSQL ${dur}`);
    if (process.env.BENCH_KEEP) {
      // For profiling: keep everything up until the file BENCH_KEEP is removed.
      fs.writeFileSync(process.env.BENCH_KEEP, JSON.stringify({ url: srv.url, db: url,
        channels: app.channels, from, to, cookie: s.c.cookie, csrf: s.c.csrf }) + '\n');
      while (fs.existsSync(process.env.BENCH_KEEP)) await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await srv.stop();
    await pg.destroy();
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
}

await (mode === 'query' ? query() : ingest());
