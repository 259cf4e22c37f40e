// Benchmarks of acquired data end to end (issue #4): scripts/bench-ingest
// and scripts/bench-query run this file.
//
//   node tests/bench/data_bench.mjs ingest   everyday + back-fill ingest rates
//                                            through HTTP, beside binary COPY
//   node tests/bench/data_bench.mjs query    32 channels x one year: graph
//                                            p50/p95, one channel's raw day,
//                                            disk bytes per sample
//
// It starts its own PostgreSQL cluster and metron-server (METRON_SERVER_BIN)
// on loopback, creates a Pro account with apps, devices and channels (the
// channels by SQL, to set up thousands quickly), and prints figures.
// Sizes: BENCH_CLIENTS, BENCH_CHANNELS, BENCH_MINUTES, BENCH_DAYS (env).
//
// PostgreSQL keeps its default durability (every commit flushed before it is
// acknowledged, as in production); BENCH_PG=fast turns fsync,
// synchronous_commit and full_page_writes off and says so on every line.
// Every figure is printed with its ceiling measured in the same run (a binary
// COPY of the same number of rows into an unindexed table, one transaction,
// durable like the rest) and as a RESULT line for scripts/bench.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createAccount, login, request, startPostgres, startServer } from '../server/harness.mjs';
import { loadHok } from '../server/data_helpers.mjs';
import { copyCeiling } from './pg_copy.mjs';
import { context, cpuMeter, result } from './bench_util.mjs';

const mode = process.argv[2] || 'ingest';
const FAST = process.env.BENCH_PG === 'fast';
const durable = !FAST;
const env = (k, d) => Number(process.env[k] || d);
const MIN = 60_000_000;
const PW = 'Correct-h0rse';

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}

async function setup(pg, db, srv, { apps, channels }) {
  const account = `bench${process.pid}`;
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
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url, credential, body, type = 'application/json', extra = {}) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: '/api/v1/ingest/batches',
      method: 'POST', agent, headers: { Authorization: `Bearer ${credential}`, 'Content-Type': type,
        'Content-Length': body.length, ...extra } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 201) resolve();
        else reject(new Error(`ingest: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
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

async function ingest() {
  const clients = env('BENCH_CLIENTS', 4);
  const channels = env('BENCH_CHANNELS', 2000);
  const minutes = env('BENCH_MINUTES', 60);
  const fillDays = env('BENCH_DAYS', 7);
  const pg = await startPostgres({ durable });
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '3600000' },
    args: ['--db-pool', String(2 * clients + 2)] });
  try {
    const s = await setup(pg, db, srv, { apps: clients, channels });
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
    const bodies = [];
    for (let a = 0; a < clients; a++) {
      bodies.push(Array.from({ length: minutes }, (_, m) => Buffer.from(JSON.stringify({ batch_id: `e-${m}`,
        snapshots: [{ t: start + m * MIN, ids: s.apps[a].channels,
          v: s.apps[a].channels.map((_, k) => signal(k, m)) }] }))));
    }
    const everyN = clients * channels * minutes;
    let meter = cpuMeter(srv.proc.pid, pgPid);
    let client = clientMeter();
    let t = performance.now();
    await Promise.all(s.apps.map(async (app, a) => {
      for (const body of bodies[a]) await post(srv.url, app.app.credential, body);
    }));
    const everyMs = performance.now() - t;
    const everyCpu = { ...meter.stop(everyN), client: client.stop(everyN) };
    const everyCompact = await compact(srv);

    // Back-fill: long runs of one channel (an imported file: "fillDays" days
    // of one channel per batch), as JSON and as HOK2 bodies.
    const runCh = Math.min(channels, env('BENCH_FILL_CHANNELS', 20));
    const perBatch = fillDays * 1440;
    const hok = await loadHok();
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

    const every = everyN / (everyMs / 1000);
    const label = FAST ? ' [BENCH_PG=fast: NOT durable]' : '';
    const cpuTxt = (c) => `CPU per sample: server ${c.server.toFixed(2)} µs, PostgreSQL ${c.pg.toFixed(2)} µs; ` +
      `the client (node, same CPUs) ${c.client.toFixed(2)} µs`;
    console.log(`binary COPY into an unindexed table (${fmt(everyN)} rows, one transaction):  ${fmt(copy)} rows/s, PostgreSQL CPU ${copyCpu.toFixed(2)} µs per row${label}`);
    console.log(`everyday  ${clients} clients x ${channels} channels x ${minutes} minutes (1 minute per batch):`);
    console.log(`  end to end through HTTP: ${fmt(every)} samples/s   (${(every / copy).toFixed(2)} x COPY; target >= 0.5); ${cpuTxt(everyCpu)}${label}`);
    console.log(`  CPU: COPY's ${copyCpu.toFixed(2)} µs per row against server + PostgreSQL ${(everyCpu.server + everyCpu.pg).toFixed(2)} µs per sample: ${(copyCpu / (everyCpu.server + everyCpu.pg)).toFixed(2)} (the machine's load moves this far less than the rates)`);
    console.log(`  compaction into day blocks: ${fmt(everyCompact.samples / (everyCompact.ms / 1000))} samples/s (${everyCompact.blocks} blocks, ${everyCompact.months} month rows, ${everyCompact.ms.toFixed(0)} ms)`);
    for (const f of fills) {
      console.log(`back-fill ${clients} clients x ${runCh} channels, ${fillDays} days of one channel per batch (${f.form}, ${f.rounds} rounds of ${(f.mb / f.rounds).toFixed(1)} MB):`);
      console.log(`  end to end through HTTP: ${fmt(f.rate)} samples/s   (${(f.rate / copy).toFixed(2)} x COPY); ${cpuTxt(f.cpu)}${label}`);
      console.log(`  compaction into day blocks: ${fmt(f.comp.samples / (f.comp.ms / 1000))} samples/s (${f.comp.blocks} blocks, ${f.comp.months} month rows built, ${f.comp.ms.toFixed(0)} ms)`);
    }
    console.log(`disk: ${(bytes.total / stored).toFixed(2)} bytes per stored sample (${stored} samples, ${fmt(bytes.total)}B with indexes and month rows; target < 4)`);
    const cpuNote = (c) => `CPU/sample server ${c.server.toFixed(2)} µs + PostgreSQL ${c.pg.toFixed(2)} µs; client ${c.client.toFixed(2)} µs apart`;
    result({ name: `everyday ingest, HTTP${label}`, value: every, unit: 'samples/s', ceilingName: 'binary COPY',
      ceiling: copy, target: '>= 0.5 of COPY', verdict: every >= 0.5 * copy ? 'met' : 'NOT met',
      notes: `${cpuNote(everyCpu)}; COPY ${copyCpu.toFixed(2)} µs/row (CPU ratio ${(copyCpu / (everyCpu.server + everyCpu.pg)).toFixed(2)})` });
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
    await srv.stop();
    await pg.destroy();
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
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
