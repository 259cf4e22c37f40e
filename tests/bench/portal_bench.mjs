// The portal's viewer benchmark (issue #5), in headless Chromium:
//
//  1. online: milliseconds from the chart's request to the drawn chart for
//     32 channels x one week of one-minute data (10,080 points each) through
//     the real server (metron-server + PostgreSQL, data compacted into day
//     blocks as in service) — target < 300 ms;
//  2. offline: opening a 100-million-sample HOK2 file in offline.html from
//     file:// (file chosen -> chart drawn) — target < 2 s;
//  3. offline: one zoom step on it (wheel notch -> new buckets drawn) —
//     target < 100 ms; the whole zoom-in sequence is printed too.
//
//   node tests/bench/portal_bench.mjs [--runs N] [--rows R --channels C] [--skip-online] [--skip-offline]
//   (scripts/bench-portal runs it; figures in docs/viewer.md and docs/benchmarks.md)
//
// The 100-million-sample file (default 4 channels x 25,000,000 rows at 1 kHz)
// is written once with the wasm core into build/bench-portal/ and reused.
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';
import { startStack, openBrowser, signIn, waitForPage, portalDir, repoRoot } from '../portal/browser.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { makeHok2 } from '../portal/make_hok2.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = opt('runs', 15);
const ROWS = opt('rows', 25e6);
const CHANNELS = opt('channels', 4);
const outDir = path.join(repoRoot, 'build', 'bench-portal');
fs.mkdirSync(outDir, { recursive: true });
const PASSWORD = 'Bench-pass1';

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: s[0], p50: q(0.5), p90: q(0.9), max: s[s.length - 1] };
};
const ms = (x) => `${x.toFixed(0)} ms`;
const results = { when: new Date().toISOString(), load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };

async function online() {
  const env = await startStack();
  try {
    await env.createAccount({ account: 'benchco', plan: 'pro', user: 'admin', password: PASSWORD,
      email: 'admin@benchco.example.test' });
    const admin = await env.login({ account: 'benchco', user: 'admin', password: PASSWORD });
    let r = await admin.post('/api/v1/groups', { name: 'Bench' });
    const groupId = r.body.id;
    r = await admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Bench gateway', group_id: groupId });
    const app = r.body;
    r = await admin.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SNB0001', name: 'Bench logger' });
    const deviceId = r.body.id;
    const ids = [];
    // Five units: one value axis each (the chart has room for five at 1366 px).
    const UNITS = ['V', '°C', '%RH', 'A', 'kW'];
    for (let i = 1; i <= 32; i++) {
      r = await admin.post(`/api/v1/devices/${deviceId}/channels`, { key: `CH${i}`, name: `Channel ${i}`, unit: UNITS[i % UNITS.length] });
      ids.push(r.body.id);
    }
    r = await admin.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: ids });
    if (r.status !== 200) throw new Error(`selection: ${JSON.stringify(r.body)}`);
    // One week of one-minute samples per channel, ending at the start of today (UTC).
    const now = Date.now() * 1000;
    const t1 = now - (now % (24 * 3600e6));
    const n = 7 * 1440;
    const t0 = t1 - n * MIN_US;
    const times = Array.from({ length: n }, (_, i) => t0 + i * MIN_US);
    const ingest = appClient(env.url, app.credential);
    for (let c = 0; c < 32; c += 8) {
      r = await ingest.batch({ batch_id: `week-${c}`, channels: ids.slice(c, c + 8).map((id, k) => ({
        id, t: times, v: times.map((_, i) => Math.round(1000 * (20 + (c + k) + 5 * Math.sin(i / (60 + c + k)))) / 1000),
      })) });
      if (r.status >= 300) throw new Error(`ingest: ${r.status} ${r.text}`);
    }
    r = await fetch(`${env.url}/api/v1/test/compact`, { method: 'POST' });
    if (!r.ok) throw new Error(`compact: ${r.status}`);

    const { browser, page } = await openBrowser({ viewport: 'pc' });
    try {
      await page.goto(env.url);
      await signIn(page, { account: 'benchco', user: 'admin', password: PASSWORD });
      const from = t0 / 1000, to = t1 / 1000;
      const nav = Date.now();
      await page.goto(`${env.url}/#/viewer?channels=${ids.join(',')}&from=${from}&to=${to}`);
      await waitForPage(page, 'viewer');
      await page.waitForSelector('[data-testid=viewer-chart][data-drawn]');
      const first = await page.evaluate(() => {
        const c = document.querySelector('[data-testid=viewer-chart]').__chart;
        const u = c.uplot;
        return { series: u.series.length - 1, shown: u.series.slice(1).filter((x) => x.show).length,
          axes: u.axes.length - 1, buckets: c.block.buckets, points: u.data[0].length };
      });
      const firstWall = Date.now() - nav;
      // Reloads of the same view: request -> drawn, with the server's part
      // from the Resource Timing entry of each graph request.
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        runs.push(await page.evaluate(() => new Promise((resolve) => {
          const host = document.querySelector('[data-testid=viewer-chart]');
          performance.clearResourceTimings();
          host.addEventListener('mc-drawn', (e) => {
            const rt = performance.getEntriesByType('resource').filter((x) => x.name.includes('/api/v1/data/graph')).pop();
            resolve({ total: e.detail.ms, query: e.detail.queryMs, prepare: e.detail.prepareMs, draw: e.detail.drawMs,
              server: rt ? rt.responseStart - rt.requestStart : null,
              transfer: rt ? rt.responseEnd - rt.requestStart : null, bytes: rt ? rt.transferSize : null });
          }, { once: true });
          host.__chart.reload();
        })));
      }
      const total = stats(runs.map((x) => x.total));
      const server = stats(runs.map((x) => x.server));
      const transfer = stats(runs.map((x) => x.transfer));
      const query = stats(runs.map((x) => x.query));
      const prepare = stats(runs.map((x) => x.prepare));
      const draw = stats(runs.map((x) => x.draw));
      results.online = { channels: 32, pointsPerChannel: n, ...first, firstPageMs: firstWall, total, server, transfer,
        query, prepare, draw, bytes: runs[0].bytes };
      console.log(`online: 32 channels x ${n} one-minute points, ${first.buckets} buckets (plot width), ${first.shown} series drawn on ${first.axes} value axes`);
      console.log(`  request -> drawn chart: p50 ${ms(total.p50)}, min ${ms(total.min)}, p90 ${ms(total.p90)}, max ${ms(total.max)} (${RUNS} runs; target < 300 ms)`);
      console.log(`  p50 parts: query ${ms(query.p50)} (server to first byte ${ms(server.p50)}, whole response ${ms(transfer.p50)}, ${(runs[0].bytes / 1024).toFixed(0)} KiB, then JSON), arrays ${ms(prepare.p50)}, uPlot draw ${ms(draw.p50)}`);
      console.log(`  first page load (navigation -> drawn, includes sign-in state, modules, monitor): ${ms(firstWall)}`);
    } finally {
      await browser.close();
    }
  } finally {
    await env.stop();
  }
}

async function offline() {
  const file = path.join(outDir, `bench-${CHANNELS}x${ROWS}.hok2`);
  if (!fs.existsSync(file)) {
    const t = Date.now();
    console.log(`offline: writing ${file} with the wasm core (once; about a minute or two)…`);
    fs.writeFileSync(file, await makeHok2({ rows: ROWS, channels: CHANNELS, stepMs: 1, spikeEvery: 1000000 }));
    console.log(`  ${(fs.statSync(file).size / 1e6).toFixed(1)} MB in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  const size = fs.statSync(file).size;
  const bundle = path.join(portalDir, 'vendor', 'offline.bundle.js');
  if (!fs.existsSync(bundle)) throw new Error('portal/vendor/offline.bundle.js is missing: build the portal_offline target');
  const opens = [];
  let zoom = null;
  for (let run = 0; run < 3; run++) {
    const { browser, page } = await openBrowser({ viewport: 'pc' });
    try {
      await page.goto(url.pathToFileURL(path.join(portalDir, 'offline.html')).href);
      await page.waitForSelector('body[data-ready=true]');
      await page.waitForFunction(() => globalThis.__metronOffline && globalThis.__metronOffline.heapBytes > 0);
      await page.setInputFiles('#ov-file', file);
      await page.waitForSelector('#ov-chart[data-drawn]', { timeout: 120000 });
      await page.waitForFunction(() => globalThis.__metronOffline.timings.loaded > 0, null, { timeout: 120000 });
      const o = await page.evaluate(() => {
        const x = globalThis.__metronOffline;
        return { open: x.timings.open, firstDraw: x.timings.firstDraw, loaded: x.timings.loaded, heap: x.heapBytes, ...x.file.opened,
          buckets: x.chart.block.buckets, decoded: x.file.stats.decoded, samples: x.file.rows * x.file.channels.length };
      });
      opens.push(o);
      if (run < 2) continue;
      // Zoom in notch by notch (x2 each) around 40 % of the width, after the
      // page settled (the warm-up decode of filesource.warm() has run).
      await page.waitForTimeout(1500);
      await page.evaluate(() => {
        const host = document.getElementById('ov-chart');
        window.__zooms = [];
        host.querySelector('.mc-plot').addEventListener('wheel', () => { window.__wheel = performance.now(); }, true);
        host.addEventListener('mc-drawn', (e) => {
          const f = globalThis.__metronOffline.file;
          if (e.detail.refined) { // the exact buckets drawn after a coarse first answer
            const last = window.__zooms[window.__zooms.length - 1];
            if (last) Object.assign(last, { refineMs: performance.now() - window.__wheel, refineDecoded: f.stats.decoded });
            return;
          }
          window.__zooms.push({ ms: performance.now() - window.__wheel, decoded: f.stats.decoded,
            prepareMs: e.detail.prepareMs, drawMs: e.detail.drawMs,
            decimateMs: f.stats.ms, span: host.__chart.view.to - host.__chart.view.from });
        });
      });
      const over = await page.$('#ov-chart .u-over');
      await over.scrollIntoViewIfNeeded();
      const box = await over.boundingBox();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      const notch = Math.log(0.5) / Math.log(1.0015); // one x2 step of gestures.mjs
      for (let i = 0; i < 16; i++) {
        const k = await page.evaluate(() => window.__zooms.length);
        await page.mouse.wheel(0, notch);
        await page.waitForFunction((n) => window.__zooms.length > n, k);
        await page.waitForTimeout(1000);
      }
      zoom = await page.evaluate(() => window.__zooms);
    } finally {
      await browser.close();
    }
  }
  const open = stats(opens.map((o) => o.firstDraw));
  const zs = stats(zoom.map((z) => z.ms));
  results.offline = { file: path.basename(file), bytes: size, samples: opens[0].samples, opens, open, zoom, zoomStats: zs };
  console.log(`offline: ${(opens[0].samples / 1e6).toFixed(0)} M samples (${CHANNELS} channels x ${ROWS} rows), ${(size / 1e6).toFixed(1)} MB HOK2, file://`);
  console.log(`  open (file chosen -> chart drawn): ${opens.map((o) => ms(o.firstDraw)).join(', ')} (target < 2 s)`);
  console.log(`    of which reading the header, the first and last blocks and the index into wasm memory ${opens.map((o) => ms(o.readMs)).join(', ')}, core's open ${opens.map((o) => ms(o.openMs)).join(', ')}`);
  console.log(`    the whole file in wasm memory (the blocks stream in after the first drawing): ${opens.map((o) => ms(o.loaded)).join(', ')}`);
  // This machine's cost of touching fresh memory (the file must land in
  // fresh wasm pages whatever the code does): node's zero-filled buffer.
  const t = performance.now();
  Buffer.alloc(size, 1);
  const touch = performance.now() - t;
  results.offline.freshMemoryMs = touch;
  console.log(`    for reference, filling ${(size / 1e6).toFixed(0)} MB of fresh memory in node on this machine: ${ms(touch)}`);
  console.log(`  wasm memory after opening: ${(opens[0].heap / 1e6).toFixed(0)} MB for a ${(size / 1e6).toFixed(0)} MB file; ${opens[0].buckets} buckets, ${opens[0].decoded} blocks decoded`);
  console.log(`  one zoom step (x2, wheel -> new buckets drawn): first ${ms(zoom[0].ms)}; all 16: p50 ${ms(zs.p50)}, max ${ms(zs.max)} (target < 100 ms)`);
  for (const [i, z] of zoom.entries()) {
    const exact = z.refineMs ? `; exact buckets drawn at ${ms(z.refineMs)} (${z.refineDecoded} blocks decoded)` : '';
    console.log(`    step ${String(i + 1).padStart(2)}: view ${(z.span / 1000).toFixed(1).padStart(8)} s  ${ms(z.ms).padStart(7)}  (core ${z.decimateMs.toFixed(0)} ms, ${z.decoded} blocks decoded; arrays ${z.prepareMs.toFixed(0)} ms, uPlot ${z.drawMs.toFixed(0)} ms${exact})`);
  }
}

if (!args.includes('--skip-online')) await online();
if (!args.includes('--skip-offline')) await offline();
results.loadAfter = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
console.log(`load average before/after: ${results.load} / ${results.loadAfter}; ${path.relative(repoRoot, path.join(outDir, 'results.json'))}`);
