// The offline HOK viewer (D5) in Chromium: a HOK2 file written by the wasm
// core opened from the file input with no server at all (file://, the
// classic-script bundle), on a PC and on a phone (pinch and drag by touch),
// and from metron-server (ES modules under its CSP) after the server has
// been stopped. Checks what uPlot drew: series, data, axis ranges, marks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import url from 'node:url';
import { startStack, openBrowser, shot, scrollWidth, portalDir, repoRoot } from './browser.mjs';
import { makeHok2, signalValue } from './make_hok2.mjs';

const ROWS = 120000;
const CHANNELS = 3;
const START = Date.UTC(2024, 4, 1);
const STEP = 1000; // ms
const SPIKE = 40000; // one +100 spike per channel every 40000 rows
let dir, hokPath;

before(async () => {
  if (!fs.existsSync(path.join(portalDir, 'vendor', 'offline.bundle.js'))) {
    throw new Error('portal/vendor/offline.bundle.js is missing: build the portal_offline target');
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-offline-'));
  hokPath = path.join(dir, 'Kessel Prüfstand.hok2');
  fs.writeFileSync(hokPath, await makeHok2({ rows: ROWS, channels: CHANNELS, start: START, stepMs: STEP,
    spikeEvery: SPIKE, specials: true }));
});
after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

const offlineUrl = url.pathToFileURL(path.join(portalDir, 'offline.html')).href;

async function openFile(page, file = hokPath) {
  await page.waitForSelector('body[data-ready=true]');
  await page.setInputFiles('#ov-file', file);
  await page.waitForSelector('#ov-chart[data-drawn]');
}

/** What the chart shows: uPlot's series, data and scales, and the chart's own state. */
function chartState(page) {
  return page.evaluate(() => {
    const host = document.getElementById('ov-chart');
    const c = host.__chart;
    const u = c.uplot;
    const ys = u.data.slice(1).map((d) => d.filter((v) => v != null));
    return {
      labels: u.series.slice(1).map((s) => s.label),
      points: u.data[0].length,
      x: [u.scales.x.min, u.scales.x.max],
      view: c.view,
      block: { from: c.block.from, to: c.block.to, buckets: c.block.buckets },
      max: ys.map((d) => Math.max(...d)),
      min: ys.map((d) => Math.min(...d)),
      nulls: u.data.slice(1).map((d) => d.filter((v) => v === null).length),
      yScales: Object.fromEntries(Object.entries(u.scales).filter(([k]) => k !== 'x' && u.scales[k].min != null)
        .map(([k, s]) => [k, [s.min, s.max]])),
      plotWidth: u.bbox.width / devicePixelRatio,
      drawn: Number(host.dataset.drawn),
      marks: [...host.querySelectorAll('.mc-key-item')].map((e) => e.dataset.kind),
    };
  });
}

const drawnCount = (page) => page.evaluate(() => Number(document.getElementById('ov-chart').dataset.drawn));
const waitDrawn = (page, n) => page.waitForFunction(
  (k) => Number(document.getElementById('ov-chart').dataset.drawn) > k, n);

test('file://, no server: a HOK2 file from the file input is charted, and zooming decimates again', async () => {
  const { browser, page } = await openBrowser({ viewport: 'pc' });
  try {
    await page.goto(offlineUrl);
    await openFile(page);
    const s = await chartState(page);
    assert.deepEqual(s.labels, ['CH1', 'CH2', 'CH3']);
    // The whole file: first sample .. one interval past the last.
    assert.equal(s.view.from, START);
    assert.equal(s.view.to, START + ROWS * STEP);
    assert.deepEqual(s.x, [START, START + ROWS * STEP]);
    // Buckets at the plot's pixel width (block-aligned: never coarser than a pixel).
    assert.ok(s.block.buckets >= Math.round(s.plotWidth) && s.block.buckets <= 2 * s.plotWidth + 2,
      `${s.block.buckets} buckets for ${s.plotWidth} px`);
    assert.equal(s.points, 4 * s.block.buckets);
    // Every spike survives decimation: each channel reaches its +100 spike.
    for (let c = 0; c < CHANNELS; c++) assert.equal(s.max[c], 100 + c);
    // The lowest values are those of the signal (channel 3 never breaks or overflows).
    let lo = Infinity;
    for (let i = 0; i < ROWS; i++) lo = Math.min(lo, signalValue(2, i, { rows: ROWS, spikeEvery: SPIKE }));
    assert.equal(s.min[2], lo);
    // Special values: CH1's sensor break is a gap, CH2's +OVER values are marks.
    assert.ok(s.nulls[0] > 0, 'the break is a gap in CH1');
    assert.equal(s.nulls[2], 0);
    assert.deepEqual(s.marks.sort(), ['+over', 'break']);
    // Auto y ranges hold every value (V and A channels on their own scales).
    assert.ok(s.yScales['a|V'][1] >= 102 && s.yScales['a|A'][1] >= 101);
    assert.match(await page.textContent('[data-testid=offline-info]'), /120,000/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'offline-pc');

    // One wheel notch zooms around the pointer and asks core again.
    const before = await drawnCount(page);
    const over = await page.$('#ov-chart .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = await over.boundingBox();
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    await waitDrawn(page, before);
    const z = await chartState(page);
    const span = z.view.to - z.view.from;
    assert.ok(span < 0.7 * ROWS * STEP, `zoomed span ${span}`);
    assert.ok(z.view.from > START, 'zoomed around the pointer, not the start');
    assert.ok(z.block.from <= z.view.from && z.block.to >= z.view.to, 'the new buckets cover the view');
    assert.deepEqual(z.x, [z.view.from, z.view.to]);

    // A drag selection zooms into that period.
    const n2 = await drawnCount(page);
    await page.mouse.move(box.x + box.width * 0.4, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + 60, { steps: 5 });
    await page.mouse.up();
    await waitDrawn(page, n2);
    const d = await chartState(page);
    assert.ok(d.view.to - d.view.from < 0.15 * span, 'the selection is the new view');

    // Reset goes back to the whole file.
    const n3 = await drawnCount(page);
    await page.click('[data-testid=chart-reset]');
    await waitDrawn(page, n3);
    assert.deepEqual((await chartState(page)).view, { from: START, to: START + ROWS * STEP });
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await browser.close();
  }
});

test('file://, phone: no horizontal scrolling; pinch zooms and a one-finger drag pans', async () => {
  const { browser } = await openBrowser({ viewport: 'phone' });
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  try {
    await page.goto(offlineUrl);
    await openFile(page);
    assert.ok(await scrollWidth(page) <= 375, `scroll width ${await scrollWidth(page)}`);
    const over = await page.$('#ov-chart .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = await over.boundingBox();
    const cdp = await context.newCDPSession(page);
    const y = box.y + box.height / 2, cx = box.x + box.width / 2;
    const touch = (type, pts) => cdp.send('Input.dispatchTouchEvent', {
      type, touchPoints: pts.map(([x, id]) => ({ x, y, id, radiusX: 4, radiusY: 4, force: 1 })),
    });

    // Pinch out from 40 px apart to 200 px apart: five times closer.
    let n = await drawnCount(page);
    await touch('touchStart', [[cx - 20, 1], [cx + 20, 2]]);
    for (let k = 1; k <= 8; k++) await touch('touchMove', [[cx - 20 - 10 * k, 1], [cx + 20 + 10 * k, 2]]);
    await touch('touchEnd', []);
    await waitDrawn(page, n);
    const p = await chartState(page);
    const span = p.view.to - p.view.from;
    const full = ROWS * STEP;
    assert.ok(span > full / 7 && span < full / 3.5, `pinched span ${span / full} of the file`);
    const mid = (p.view.from + p.view.to) / 2;
    assert.ok(Math.abs(mid - (START + full / 2)) < full / 20, 'the pinch centre stays put');

    // One finger drags the time axis to the right: earlier times come in.
    n = await drawnCount(page);
    await touch('touchStart', [[cx - 60, 1]]);
    for (let k = 1; k <= 6; k++) await touch('touchMove', [[cx - 60 + 20 * k, 1]]);
    await touch('touchEnd', []);
    await waitDrawn(page, n);
    const q = await chartState(page);
    assert.ok(q.view.from < p.view.from, 'dragged to earlier times');
    assert.ok(Math.abs((q.view.to - q.view.from) - span) < span * 1e-6, 'a drag keeps the span');
    assert.ok(await scrollWidth(page) <= 375);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'offline-phone');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('served by metron-server (ES modules, CSP), then the server stops: files still open', async () => {
  const env = await startStack();
  let stopped = false;
  try {
    for (const q of ['?esm', '']) {
      const page = await (await env.browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
      const errors = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${env.url}/offline.html${q}`);
      await page.waitForSelector('body[data-ready=true]');
      if (!q) {
        await env.srv.stop();
        stopped = true;
      }
      await openFile(page);
      const s = await chartState(page);
      assert.deepEqual(s.labels, ['CH1', 'CH2', 'CH3']);
      assert.equal(s.max[1], 101);
      // CSV from an instrument (HIOKI LR8450 export) through the same path.
      const n = await drawnCount(page);
      await page.setInputFiles('#ov-file', path.join(repoRoot, 'tests', 'fixtures', 'csv', 'lr8450_comma.csv'));
      await waitDrawn(page, n);
      const c = await chartState(page);
      assert.equal(c.labels[0], 'U1-1 inlet');
      assert.match(await page.textContent('[data-testid=offline-info]'), /HIOKI CSV/);
      assert.deepEqual(errors, [], `${q || 'bundle'}: ${errors.join('\n')}`);
      await page.context().close();
    }
  } finally {
    if (!stopped) await env.srv.stop();
    env.srv.stop = async () => {};
    await env.stop();
  }
});

test('file://: a big HOK2 file is charted from its index while its blocks stream in; deep zooms get exact values', async () => {
  const rows = 3_000_000;
  const big = path.join(dir, 'big.hok2');
  fs.writeFileSync(big, await makeHok2({ rows, channels: 2, start: START, stepMs: 10, spikeEvery: 500000 }));
  assert.ok(fs.statSync(big).size > 4 << 20, 'big enough for the early open');
  const { browser, page } = await openBrowser({ viewport: 'pc' });
  try {
    await page.goto(offlineUrl);
    await openFile(page, big);
    const s = await chartState(page);
    assert.deepEqual(s.view, { from: START, to: START + rows * 10 });
    assert.deepEqual(s.max, [100, 101], 'the spikes come from the index summaries');
    // Straight away (blocks may still be streaming in): a 2-second window in
    // the middle, which must decode blocks; its values are the signal's.
    const n = await drawnCount(page);
    const a = START + 1_400_000 * 10;
    await page.evaluate((from) => document.getElementById('ov-chart').__chart.setRange(from, from + 2000), a);
    await waitDrawn(page, n);
    await page.waitForFunction(() => globalThis.__metronOffline.timings.loaded > 0);
    const z = await chartState(page);
    let lo = Infinity, hi = -Infinity;
    for (let i = 1_400_000; i < 1_400_200; i++) {
      const v = signalValue(0, i, { rows, spikeEvery: 500000 });
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    assert.equal(z.min[0], lo);
    assert.equal(z.max[0], hi);
    const info = await page.evaluate(() => ({ heap: globalThis.__metronOffline.heapBytes, t: globalThis.__metronOffline.timings }));
    assert.ok(info.heap < 3 * fs.statSync(big).size, `wasm memory ${info.heap}`);
    assert.deepEqual(await page.$eval('#ov-busy', (e) => e.hidden), true, 'the reading progress is gone');
  } finally {
    await browser.close();
  }
});

test('filesource (node): a query that needs blocks not read yet waits for them; closing stops the reading', async () => {
  const { openFile } = await import(url.pathToFileURL(path.join(portalDir, 'js', 'chart', 'filesource.mjs')).href);
  const rows = 3_000_000;
  const bytes = await makeHok2({ rows, channels: 2, start: START, stepMs: 10 });
  assert.ok(bytes.length > 4 << 20);
  // A file whose big parts arrive slowly (256 KiB every 5 ms), like a slow disk.
  const slowBlob = (data) => {
    const b = new Blob([data]);
    const slice = b.slice.bind(b);
    b.slice = (...a) => {
      const part = slice(...a);
      if (part.size > 1e6) {
        part.stream = () => {
          let off = 0, buf = null;
          return new ReadableStream({
            async pull(ctrl) {
              buf ??= new Uint8Array(await part.arrayBuffer());
              await new Promise((r) => setTimeout(r, 5));
              if (off >= buf.length) { ctrl.close(); return; }
              ctrl.enqueue(buf.slice(off, off + 262144));
              off += 262144;
            },
          });
        };
      }
      return part;
    };
    return b;
  };
  const f = await openFile(slowBlob(bytes), { name: 'x.hok2' });
  let done = false;
  f.loaded.then(() => { done = true; });
  // The whole file at 1000 buckets: from the index alone, nothing decoded.
  const whole = await f.source({ from: f.from, to: f.to, buckets: 1000, channels: f.channels });
  assert.equal(f.stats.decoded, 0);
  assert.equal(done, false, 'answered before the blocks were read');
  assert.ok(whole.series[0].n.reduce((a, b) => a + b, 0) === rows);
  // A window in the middle must decode: it waits for the blocks, then is exact.
  const a = START + 1_500_000 * 10;
  const w = await f.source({ from: a, to: a + 1000, buckets: 50, channels: f.channels });
  assert.equal(done, true);
  assert.deepEqual(Array.from(w.series[0].first.slice(0, 3)),
    [0, 1, 2].map((k) => signalValue(0, 1_500_000 + 2 * k, { rows })));
  f.close();
  // Closing while reading: the reading stops without writing into freed memory.
  const g = await openFile(slowBlob(bytes), { name: 'y.hok2' });
  g.close();
  await g.loaded;
});

test('the viewer catalogues: same keys and placeholders in all seven languages', () => {
  const dirI18n = path.join(portalDir, 'i18n', 'viewer');
  const langs = ['zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it'];
  const cat = Object.fromEntries(langs.map((l) => [l, JSON.parse(fs.readFileSync(path.join(dirI18n, `${l}.json`), 'utf8'))]));
  const keys = Object.keys(cat.en).sort();
  const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const l of langs) {
    assert.deepEqual(Object.keys(cat[l]).sort(), keys, l);
    for (const k of keys) {
      assert.deepEqual(holes(cat[l][k]), holes(cat.en[k]), `${l} ${k}`);
      assert.ok(cat[l][k].trim(), `${l} ${k} is empty`);
    }
  }
});

test('file://: switching the language translates the page and formats numbers for it', async () => {
  const { browser, page } = await openBrowser({ viewport: 'pc' });
  try {
    await page.goto(offlineUrl);
    await openFile(page);
    await page.selectOption('[data-testid=offline-lang]', 'de');
    await page.waitForFunction(() => document.documentElement.lang === 'de');
    assert.equal(await page.textContent('.ov-title'), 'Offline-Dateibetrachter');
    assert.equal(await page.getAttribute('[data-testid=chart-zoomIn]', 'title'), 'Vergrößern');
    assert.match(await page.textContent('[data-testid=offline-info]'), /120\.000/);
    await page.selectOption('[data-testid=offline-lang]', 'ja');
    await page.waitForFunction(() => document.documentElement.lang === 'ja');
    assert.equal(await page.textContent('.ov-title'), 'オフライン ファイルビューア');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'offline-ja-pc');
  } finally {
    await browser.close();
  }
});
