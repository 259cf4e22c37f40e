// Alarm evaluation on ingest (issue #13): scripts/bench-ingest --alarms.
//
//   1. The everyday ingest rate (one minute of every channel of an app per
//      batch, 4 clients) with 1,000 enabled rules over 2,000 channels,
//      against the same run with the rules disabled, alternated so that both
//      see the same machine: A (off), B (on), A, B, ...; the medians.
//   2. From a batch's acknowledgement to its webhook arriving at a local
//      receiver: a probe app whose rule raises or clears with every batch,
//      sent once a second while the 4 clients ingest with the rules on.
//
// It starts its own PostgreSQL cluster and metron-server (METRON_SERVER_BIN)
// on loopback. Sizes: BENCH_APPS (10; one measurement group each),
// BENCH_CHANNELS (800 per app), BENCH_RULES (100 per app, 2 channels each),
// BENCH_MINUTES (minutes per run, 20), BENCH_ROUNDS (pairs of runs, 3).
import fs from 'node:fs';
import os from 'node:os';
import { createAccount, login, setClock, sleep, startPostgres, startServer } from '../server/harness.mjs';
import { startWebhookReceiver } from '../server/webhook_receiver.mjs';
import { cpuOf } from './bench_util.mjs';

const env = (k, d) => Number(process.env[k] || d);
const MIN = 60_000_000;
const PW = 'Correct-h0rse';

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}
function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function post(url, credential, body) {
  const r = await fetch(url + '/api/v1/ingest/batches', { method: 'POST', body,
    headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' } });
  const text = await r.text();
  if (r.status !== 201) throw new Error(`ingest: ${r.status} ${text}`);
}

function signal(ch, i) {
  return Math.round((20 + 5 * Math.sin((i + ch * 7) / 300) + ((i * 7919 + ch * 104729) % 97) / 97) * 100) / 100;
}

/** The rules of one app: two channels each, shapes an operator writes; the
 * everyday signal (15..26) never meets them, so the runs measure the cost
 * of evaluating, not of events. */
function ruleText(k) {
  switch (k % 5) {
  case 0: return 'CH1 > 80 AND CH2 > 80 FOR 5m';
  case 1: return 'CH1 OUTSIDE [-40, 90] OR CH2 < -30';
  case 2: return 'CH1 > 70 OR CH2 >= 95 HYST 2';
  case 3: return 'CH1 >= 85 AND CH2 <= -10 FOR 2m CLEAR 10m DURING 08:00-18:00 TZ +08:00';
  default: return 'CH1 < -20 OR CH2 OUTSIDE (-50, 100) FOR 1m';
  }
}

async function main() {
  const APPS = env('BENCH_APPS', 10);
  const CHANNELS = env('BENCH_CHANNELS', 800);
  const RULES = env('BENCH_RULES', 100);
  const MINUTES = env('BENCH_MINUTES', 20);
  const ROUNDS = env('BENCH_ROUNDS', 3);
  const CLIENTS = 4;
  // PostgreSQL's default durability, as in production (BENCH_PG=fast: off, and said).
  const pg = await startPostgres({ durable: process.env.BENCH_PG !== 'fast' });
  console.log(`PostgreSQL: ${await pg.durability()}${process.env.BENCH_PG === 'fast' ? ' [BENCH_PG=fast: NOT durable]' : ''}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const rx = await startWebhookReceiver();
  const srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '3600000',
    METRON_NOTIFY_ALLOW_LOCAL: '1', METRON_NOTIFY_RATE_MS: '0,0,0,0' },
  args: ['--db-pool', String(2 * CLIENTS + 4), '--jobs-interval', '0'] });
  try {
    const account = `alarmbench${process.pid}`;
    const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
      email: `admin@${account}.test` });
    const c = await login(srv.url, { account, user: 'admin', password: PW });
    const apps = [];
    for (let a = 0; a <= APPS; a++) { // the last one is the latency probe
      let r = await c.post('/api/v1/groups', { name: `Site ${a}` });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      const group = r.body.id;
      r = await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: `Gateway ${a}`, group_id: group });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      const app = r.body;
      r = await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: `SN${a}` });
      const dev = r.body.id;
      const n = a < APPS ? CHANNELS : 1;
      const chIds = (await pg.psql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit,
        selected, position) SELECT ${ids.accountId}, ${dev}, 'CH' || i, 'Channel ' || i, 'V', true, i
        FROM generate_series(1, ${n}) i RETURNING id`, db)).split('\n').map(Number);
      apps.push({ app, group, channels: chIds, rules: [] });
    }
    // The rules, created as if 8 days ago (rows older than a rule are history;
    // the runs' data starts 7 days ago and moves forward a run at a time).
    await setClock(srv.url, -8 * 86400);
    for (let a = 0; a < APPS; a++) {
      for (let k = 0; k < RULES; k++) {
        const r = await c.post(`/api/v1/groups/${apps[a].group}/alarms`, { name: `r${k}`,
          rule: ruleText(k), channels: [apps[a].channels[2 * k], apps[a].channels[2 * k + 1]] });
        if (r.status !== 201) throw new Error(JSON.stringify(r.body));
        apps[a].rules.push(r.body.id);
      }
    }
    const probe = apps[APPS];
    let r = await c.post('/api/v1/destinations', { kind: 'slack', address: rx.url('/probe/T0/B0/x') });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    r = await c.post(`/api/v1/groups/${probe.group}/alarms`, { name: 'probe', rule: 'CH1 > 50',
      channels: [probe.channels[0]], destinations: [r.body.id] });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    await setClock(srv.url, 0);
    const nRules = APPS * RULES;
    const nRuleChannels = nRules * 2;

    // Enabling restarts a rule's state at the change (rows older are
    // history): change them "8 days ago" too, so that the runs are live.
    const setEnabled = async (on) => {
      await setClock(srv.url, -8 * 86400);
      const all = apps.slice(0, APPS).flatMap((x) => x.rules);
      let next = 0;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < all.length) {
          const id = all[next++];
          const x = await c.patch(`/api/v1/alarms/${id}`, { enabled: on });
          if (x.status !== 200) throw new Error(JSON.stringify(x.body));
        }
      }));
      await setClock(srv.url, 0);
    };

    // One run: MINUTES minutes of every app, 4 clients taking the apps'
    // batches in time order; "minute0" keeps the runs' times apart.
    const now = Date.now() * 1000;
    const start = now - (now % MIN) - 7 * 1440 * MIN;
    let minute0 = 0;
    const pgPid = Number(fs.readFileSync(`${pg.dir}/postmaster.pid`, 'utf8').split('\n')[0]);
    const cpu = { server: [], pg: [] };
    const run = async (tag, record, minutes = MINUTES) => {
      const batches = [];
      for (let m = 0; m < minutes; m++) {
        for (let a = 0; a < APPS; a++) {
          batches.push([a, JSON.stringify({ batch_id: `${tag}-${m}`, snapshots: [{
            t: start + (minute0 + m) * MIN, ids: apps[a].channels,
            v: apps[a].channels.map((_, k) => signal(k, minute0 + m)) }] })]);
        }
      }
      minute0 += minutes;
      let next = 0;
      const c0 = [cpuOf(srv.proc.pid), cpuOf(pgPid, true)];
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CLIENTS }, async () => {
        while (next < batches.length) {
          const [a, body] = batches[next++];
          await post(srv.url, apps[a].app.credential, body);
        }
      }));
      const ms = performance.now() - t0;
      if (record) {
        // µs of CPU per stored sample, the server's and PostgreSQL's.
        const n = batches.length * CHANNELS;
        record.server.push(((cpuOf(srv.proc.pid) - c0[0]) * 1e6) / n);
        record.pg.push(((cpuOf(pgPid, true) - c0[1]) * 1e6) / n);
      }
      return (batches.length * CHANNELS) / (ms / 1000);
    };

    const off = [];
    const on = [];
    const seqSum = async () => Number(await pg.psql('SELECT COALESCE(sum(seq), 0) FROM alarm_groups', db));
    let saves = 0; // transactions that saved states during the "on" runs
    const cpuOff = { server: [], pg: [] };
    const cpuOn = { server: [], pg: [] };
    await setEnabled(false);
    await run('warm'); // caches, prepared statements, the hot table's first pages
    for (let i = 0; i < ROUNDS; i++) {
      await setEnabled(false);
      off.push(await run(`off${i}`, cpuOff));
      await setEnabled(true);
      const before = await seqSum();
      on.push(await run(`on${i}`, cpuOn));
      saves += (await seqSum()) - before;
    }
    const quiet = Number(await pg.psql('SELECT count(*) FROM alarm_events', db));
    const late = Number(await pg.psql('SELECT count(*) FROM alarm_events WHERE late', db));

    // Latency: the probe raises or clears with every batch while the
    // clients ingest with the rules on.
    const lat = [];
    let stop = false;
    const load = (async () => {
      while (!stop) await run(`lat${minute0}`, null, 10);
    })();
    const pstart = Date.now() * 1000 - (Date.now() * 1000) % MIN - 5 * MIN;
    const probes = env('BENCH_PROBES', 60);
    for (let i = 0; i < probes; i++) {
      const before = rx.accepted('/probe/T0/B0/x').length;
      await post(srv.url, probe.app.credential, JSON.stringify({ batch_id: `p${i}`,
        snapshots: [{ t: pstart + i * 1e6, ids: [probe.channels[0]], v: [i % 2 ? 10 : 90] }] }));
      const acked = Date.now();
      await rx.waitFor(() => rx.accepted('/probe/T0/B0/x').length > before, 30000, 'the probe');
      lat.push(rx.accepted('/probe/T0/B0/x')[before].at - acked);
      await sleep(Math.max(0, 1000 - (Date.now() - acked)));
    }
    stop = true;
    await load;

    const load1 = os.loadavg();
    const offM = median(off);
    const onM = median(on);
    console.log(`alarm benchmark (${os.cpus().length} cores, load ${load1.map((x) => x.toFixed(2)).join(' ')}; ${new Date().toISOString()})`);
    console.log(`everyday ingest, ${CLIENTS} clients, ${APPS} apps (one group each) x ${CHANNELS} channels, ${MINUTES} minutes per run, one minute of an app per batch:`);
    console.log(`  rules disabled: ${off.map(fmt).join(', ')} samples/s (median ${fmt(offM)})`);
    console.log(`  ${nRules} rules over ${nRuleChannels} channels enabled: ${on.map(fmt).join(', ')} samples/s (median ${fmt(onM)})`);
    const ratios = on.map((x, i) => x / off[i]);
    console.log(`  with rules / without: ${(onM / offM).toFixed(3)} of the medians; pair by pair (each "on" run right after its "off" run) ${ratios.map((x) => x.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(3)} (target >= 0.90)`);
    const f2 = (x) => x.toFixed(3);
    const sOff = median(cpuOff.server);
    const sOn = median(cpuOn.server);
    const tOff = sOff + median(cpuOff.pg);
    const tOn = sOn + median(cpuOn.pg);
    console.log(`  CPU per stored sample (steadier than the rates on a shared machine): server ${f2(sOff)} µs without rules, ${f2(sOn)} µs with (${(100 * (sOn / sOff - 1)).toFixed(1)} %); PostgreSQL ${f2(median(cpuOff.pg))} / ${f2(median(cpuOn.pg))} µs; together ${f2(tOff)} / ${f2(tOn)} µs (${(100 * (tOn / tOff - 1)).toFixed(1)} %)`);
    console.log(`  events in the quiet runs: ${quiet} (${late} late); transactions that saved alarm states: ${saves} (every batch went the one-statement way)`);
    console.log(`batch acknowledged -> webhook received, ${probes} probes under that load: p50 ${median(lat)} ms, p95 ${pct(lat, 95)} ms, max ${Math.max(...lat)} ms (target p95 < 2000 ms)`);
  } finally {
    await srv.stop();
    await rx.stop();
    await pg.destroy();
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
}

await main();
