// Benchmark of reports (issue 15; scripts/bench-report, docs/benchmarks.md):
// a monthly report of 32 channels of one-minute data (31 days: 1,428,480
// samples) made by a real server from a real PostgreSQL, PDF alone and XLSX
// alone, each timed end to end (the run's render_ms and the server's own
// phases) with the server's CPU time and the growth of its peak resident
// memory during the run; then, as the ceiling, the renderers alone on the
// same amount of generated data (build/server/bench_report). The machine
// is shared: the load is printed with the figures.
//
//   BENCH_CHANNELS (32), BENCH_DAYS (31)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAccount, login, repoRoot, request, startPostgres, startServer, tempDir } from '../server/harness.mjs';

const CHANNELS = Number(process.env.BENCH_CHANNELS || 32);
const DAYS = Number(process.env.BENCH_DAYS || 31);
const PW = 'Correct-h0rse';
const MIN_US = 60e6;
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const T0 = Date.UTC(2026, 9, 1) * 1000; // 2026-10-01T00:00Z: a whole month in the past

function status(pid) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text) || [])[1] || 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in ticks (USER_HZ 100)
}

async function must(p, what) {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function main() {
  console.log(`bench-report: ${CHANNELS} channels x ${DAYS} days of one-minute data ` +
    `(${CHANNELS * DAYS * 1440} samples)`);
  console.log(`load before: ${load()} (${os.cpus().length} CPUs)`);
  // PostgreSQL's default durability, as in production (BENCH_PG=fast: off, and said).
  const pg = await startPostgres({ durable: process.env.BENCH_PG !== 'fast' });
  console.log(`PostgreSQL: ${await pg.durability()}${process.env.BENCH_PG === 'fast' ? ' [BENCH_PG=fast: NOT durable]' : ''}; load ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  let srv;
  try {
    const url = await pg.createDatabase();
    srv = await startServer({ databaseUrl: url, env: { METRON_REPORT_WORKERS: '0',
      METRON_COMPACT_MS: '3600000' } });
    await createAccount(srv.url, { account: 'bench', plan: 'pro', user: 'admin', password: PW,
      email: 'admin@bench.test' });
    const c = await login(srv.url, { account: 'bench', user: 'admin', password: PW });
    const group = (await must(c.post('/api/v1/groups', { name: 'Plant 1' }), 'group')).id;
    const app = await must(c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Logger', group_id: group }), 'app');
    const dev = (await must(c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: '250101' }), 'device')).id;
    const ch = [];
    for (let k = 1; k <= CHANNELS; k++) {
      ch.push((await must(c.post(`/api/v1/devices/${dev}/channels`, { key: `CH${k}`, name: `Temperature ${k}`, unit: '°C' }), 'channel')).id);
    }
    await must(c.put(`/api/v1/devices/${dev}/selection`, { channel_ids: ch }), 'selection');
    // A day per batch: 1,440 times x 32 channels.
    let t = Date.now();
    for (let d = 0; d < DAYS; d++) {
      const ts = Array.from({ length: 1440 }, (_, i) => T0 + (d * 1440 + i) * MIN_US);
      const body = JSON.stringify({ batch_id: `day-${d}`, channels: ch.map((id, k) => ({ id, t: ts,
        v: ts.map((_, i) => Math.round((20 + k + 8 * Math.sin((d * 1440 + i) / 229 + k)) * 100) / 100) })) });
      const r = await fetch(`${srv.url}/api/v1/ingest/batches`, { method: 'POST', body,
        headers: { Authorization: `Bearer ${app.credential}`, 'Content-Type': 'application/json' } });
      if (r.status !== 201) throw new Error(`ingest: ${r.status} ${await r.text()}`);
    }
    console.log(`ingested in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    await must(request(srv.url, 'POST', '/api/v1/test/compact'), 'compact');
    console.log(`folded into day blocks and month rows in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const rows = [];
    for (const formats of [['pdf'], ['xlsx'], ['pdf', 'xlsx', 'csv']]) {
      const rep = await must(c.post(`/api/v1/groups/${group}/reports`, { name: `Monthly ${formats.join('+')}`,
        period: 'month', channels: ch, formats }), 'report');
      const run = await must(c.post(`/api/v1/reports/${rep.id}/runs`, { date: '2026-10-15' }), 'run');
      const pid = srv.proc.pid;
      fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); // the peak starts again from now
      const before = status(pid);
      const cpu0 = cpuSeconds(pid);
      const l0 = load();
      const w0 = Date.now();
      await must(request(srv.url, 'POST', '/api/v1/test/report-work'), 'work');
      const wall = (Date.now() - w0) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const after = status(pid);
      const done = await must(c.get(`/api/v1/report-runs/${run.id}`), 'run');
      if (done.state !== 'done') throw new Error(JSON.stringify(done));
      const line = srv.stderr().split('\n').filter((l) => l.includes(`reports: run ${run.id} done`)).pop() || '';
      const size = done.files.map((f) => `${f.format}${f.part ? `/${f.part}` : ''} ${(f.size / 1e6).toFixed(2)} MB`).join(', ');
      rows.push(`| ${formats.join(' + ')} | ${(done.render_ms / 1000).toFixed(2)} s | ${cpu.toFixed(2)} s | ` +
        `+${(after.hwm - before.rss).toFixed(1)} MB (${after.hwm.toFixed(0)} MB) | ${size} | ${l0} |`);
      console.log(`${formats.join('+')}: run ${done.render_ms} ms (wall ${wall.toFixed(2)} s), server CPU ${cpu.toFixed(2)} s, ` +
        `peak RSS ${before.rss.toFixed(1)} -> ${after.hwm.toFixed(1)} MB; ${size}`);
      console.log(`  ${line.replace(/^.*reports: /, '')}`);
    }
    console.log('\n| formats | run (render_ms) | server CPU time | peak RSS growth (peak) | files | load |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    await srv?.stop();
    await pg.destroy();
  }
  // The ceiling: the renderers alone on generated data.
  const bin = path.join(repoRoot, 'build', 'server', 'bench_report');
  if (fs.existsSync(bin)) {
    const dir = tempDir('metron-bench-report-');
    console.log(`\nrenderers alone (build/server/bench_report), load ${load()}:`);
    console.log(execFileSync(bin, [dir, String(CHANNELS), String(DAYS), 'en']).toString());
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load after: ${load()}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
