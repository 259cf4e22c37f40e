// The time-series viewer (V1-V5) in Chromium against a real server and
// PostgreSQL: a week of one-minute data with a spike, +OVER values and a
// sensor break is ingested, then charted (what uPlot drew: series, data,
// axis ranges, special marks), zoomed (a new decimated query), listed
// (values and paging), exported (progress bar, the downloaded file read
// back), compared (two periods overlaid), set up with the channel picker
// and y-axis settings, and shown on a phone. In the nginx and cors ways
// (docs/deploy.md, METRON_PORTAL_DEPLOY) graph mode (the WebAssembly core
// and uPlot loaded from the sub-path, the decimated queries) and export
// mode (the downloads) run; list mode, the comparison and the phone are
// the page's and the server's alike in every way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack, openPage, signIn, shot, waitForPage, scrollWidth, pageFetch, gotoRoute, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { loadCore } from './make_hok2.mjs';

const DAY_MIN = 1440;
const WEEK_MIN = 7 * DAY_MIN;
const SPIKE_AT = 3 * DAY_MIN + 100; // minute of the one +500 spike of "Saw"
const OVER_AT = [2 * DAY_MIN + 10, 5 * DAY_MIN + 700]; // +over values of "Saw"
const BREAK = [4 * DAY_MIN, 4 * DAY_MIN + 90]; // sensor break of "Saw" (90 minutes)

/** The stored value of "Saw" at minute i: a daily sawtooth 0..143.9, with the specials. */
function saw(i) {
  if (i === SPIKE_AT) return 500;
  if (OVER_AT.includes(i)) return '+over';
  if (i >= BREAK[0] && i < BREAK[1]) return 'break';
  return (i % DAY_MIN) / 10;
}
const wave = (i) => Math.round(1000 * (20 + 5 * Math.sin((2 * Math.PI * i) / DAY_MIN))) / 1000;

let env, t0, ch, dir;

before(async () => {
  env = await startStack();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-viewer-'));
  await env.createAccount({ account: 'viewco', plan: 'pro', user: 'admin', password: PASSWORD,
    email: 'admin@viewco.example.test', userName: 'Vera Viewer' });
  const admin = await env.login({ account: 'viewco', user: 'admin', password: PASSWORD });
  let r = await admin.post('/api/v1/groups', { name: 'Plant V' });
  const groupId = r.body.id;
  r = await admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway V', group_id: groupId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app = r.body;
  r = await admin.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SNV0001', name: 'Line logger' });
  const deviceId = r.body.id;
  ch = {};
  for (const [key, name, unit] of [['CH1', 'Saw', 'V'], ['CH2', 'Wave', '°C'], ['CH3', 'Spare', 'A']]) {
    r = await admin.post(`/api/v1/devices/${deviceId}/channels`, { key, name, unit });
    ch[name] = r.body.id;
  }
  await admin.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: Object.values(ch) });
  // A week of one-minute samples ending a day ago (whole UTC days).
  const now = Date.now() * 1000;
  t0 = now - (now % (24 * 3600e6)) - 8 * 24 * 3600e6;
  const times = Array.from({ length: WEEK_MIN }, (_, i) => t0 + i * MIN_US);
  const ingest = appClient(env.apiUrl, app.credential);
  r = await ingest.batch({ batch_id: 'week-1', channels: [
    { id: ch.Saw, t: times, v: times.map((_, i) => saw(i)) },
    { id: ch.Wave, t: times, v: times.map((_, i) => wave(i)) },
  ] });
  assert.ok(r.status < 300, `ingest: ${r.status} ${r.text}`);
});
after(async () => {
  if (env) await env.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const FROM = () => t0 / 1000; // ms
const TO = () => (t0 + WEEK_MIN * MIN_US) / 1000;

async function signedIn(size = 'pc') {
  const page = await openPage(env, { size });
  await signIn(page, { account: 'viewco', user: 'admin', password: PASSWORD });
  return page;
}

async function openViewer(page, params) {
  await gotoRoute(page, `${env.url}/#/viewer?${new URLSearchParams(params)}`);
  await waitForPage(page, 'viewer');
}

/** What the viewer's chart shows (uPlot's own state). */
function chartState(page) {
  return page.evaluate(() => {
    const host = document.querySelector('[data-testid=viewer-chart]');
    const c = host.__chart;
    const u = c.uplot;
    const vals = u.data.slice(1).map((d) => d.filter((v) => v != null));
    return {
      labels: u.series.slice(1).map((s) => s.label),
      x: [u.scales.x.min, u.scales.x.max],
      y: Object.fromEntries(Object.entries(u.scales).filter(([k, s]) => k !== 'x' && s.min != null)
        .map(([k, s]) => [k, [s.min, s.max]])),
      max: vals.map((d) => (d.length ? Math.max(...d) : null)),
      min: vals.map((d) => (d.length ? Math.min(...d) : null)),
      nulls: u.data.slice(1).map((d) => d.filter((v) => v === null).length),
      data: u.data.slice(1).map((d) => Array.from(d)),
      points: u.data[0].length,
      block: { from: c.block.from, to: c.block.to, buckets: c.block.buckets },
      plotWidth: u.bbox.width / devicePixelRatio,
      drawn: Number(host.dataset.drawn || 0),
      marks: [...host.querySelectorAll('.mc-key-item')].map((e) => e.dataset.kind).sort(),
    };
  });
}
const drawn = (page) => page.evaluate(() => Number(document.querySelector('[data-testid=viewer-chart]').dataset.drawn || 0));
const waitDrawn = (page, n) => page.waitForFunction(
  (k) => Number(document.querySelector('[data-testid=viewer-chart]')?.dataset.drawn || 0) > k, n);

test('graph mode: the seeded week is charted with every spike and special value; zoom queries again', async () => {
  const page = await signedIn();
  const graphReq = page.waitForRequest((r) => r.url().includes('/api/v1/data/graph'));
  await openViewer(page, { channels: `${ch.Saw},${ch.Wave}`, from: FROM(), to: TO() });
  const req = new URL((await graphReq).url());
  await waitDrawn(page, 0);
  const s = await chartState(page);
  assert.deepEqual(s.labels, ['Saw', 'Wave']);
  assert.deepEqual(s.x, [FROM(), TO()]);
  // The query asked for the plot's width in buckets, for the visible range, in µs.
  assert.equal(Number(req.searchParams.get('buckets')), Math.round(s.plotWidth));
  assert.equal(Number(req.searchParams.get('from')), t0);
  assert.equal(Number(req.searchParams.get('to')), t0 + WEEK_MIN * MIN_US);
  assert.equal(s.points, 4 * s.block.buckets);
  // Saw: 0 .. 143.9 every day, the +500 spike survives a week at ~1 px per 8 minutes.
  assert.equal(s.min[0], 0);
  assert.equal(s.max[0], 500);
  assert.ok(s.min[1] >= 15 && s.max[1] <= 25);
  assert.ok(s.nulls[0] > 0, 'the 90-minute break is a gap in Saw');
  assert.equal(s.nulls[1], 0, 'Wave has no gap');
  assert.deepEqual(s.marks, ['+over', 'break']);
  // The automatic y axes hold every value: Saw's unit V and Wave's °C.
  assert.ok(s.y['a|V'][0] <= 0 && s.y['a|V'][1] >= 500, JSON.stringify(s.y));
  assert.ok(s.y['a|°C'][0] <= 15 && s.y['a|°C'][1] >= 25, JSON.stringify(s.y));
  // Times are the browser's: the range label is formatted, not raw numbers.
  assert.match(await page.textContent('[data-testid=chart-range]'), /\d{4}/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-graph-pc');

  // Zoom in with the wheel: a new graph query for the narrower range.
  const n = await drawn(page);
  const over = await page.$('[data-testid=viewer-chart] .u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width * ((SPIKE_AT / WEEK_MIN)), box.y + box.height / 2);
  const zoomReq = page.waitForRequest((r) => r.url().includes('/api/v1/data/graph'));
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -600);
  const zq = new URL((await zoomReq).url());
  const span = Number(zq.searchParams.get('to')) - Number(zq.searchParams.get('from'));
  assert.ok(span < 0.6 * WEEK_MIN * MIN_US, `zoomed query spans ${span / MIN_US} minutes`);
  await waitDrawn(page, n);
  await page.waitForFunction(() => document.querySelector('[data-testid=viewer-chart]').dataset.state === 'ready');
  const z = await chartState(page);
  assert.ok(z.x[1] - z.x[0] < 0.6 * (TO() - FROM()));
  assert.ok(z.x[0] <= FROM() + SPIKE_AT * 60000 && z.x[1] >= FROM() + SPIKE_AT * 60000, 'zoomed around the pointer');
  assert.equal(z.max[0], 500, 'the spike is still there');
  // The URL follows the zoom (shareable).
  await page.waitForFunction(() => /from=\d+/.test(location.hash) && !location.hash.includes(`from=${0}`));

  // Y-axis settings: a fixed range for all channels.
  await page.click('[data-testid=chart-axis]');
  await page.selectOption('[data-testid=yaxis-all-mode]', 'fixed');
  await page.fill('[data-testid=yaxis-all-min]', '-10');
  await page.fill('[data-testid=yaxis-all-max]', '600');
  await page.click('[data-testid=yaxis-apply]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=yaxis-dialog]'));
  const y = await chartState(page);
  assert.deepEqual(Object.values(y.y), [[-10, 600], [-10, 600]]);
  assert.deepEqual(page.cspErrors, []);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('list mode: values, special values as words, paging with next', SERVER_WAY_ONLY, async () => {
  const page = await signedIn();
  await openViewer(page, { channels: `${ch.Saw},${ch.Wave}`, from: FROM() + 2 * DAY_MIN * 60000,
    to: TO(), mode: 'list' });
  await page.waitForSelector('[data-testid=list-table]');
  const rows = await page.$$eval('[data-testid=list-table] tbody tr', (trs) => trs.map((tr) =>
    [...tr.children].map((td) => ({ text: td.textContent, us: td.dataset.us, sp: td.dataset.special }))));
  assert.equal(rows.length, 200);
  const base = 2 * DAY_MIN;
  assert.equal(Number(rows[0][0].us), t0 + base * MIN_US);
  assert.equal(rows[0][1].text, '0');
  assert.equal(rows[1][1].text, '0.1');
  assert.equal(rows[5][2].text, new Intl.NumberFormat('en', { maximumSignificantDigits: 7 }).format(wave(base + 5)));
  const over = rows[OVER_AT[0] - base];
  assert.equal(over[1].sp, '+over');
  assert.equal(over[1].text, '+OVER');
  assert.match(await page.textContent('[data-testid=list-info]'), /1–200/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-list-pc');
  await page.click('[data-testid=list-next]');
  await page.waitForFunction(() => /201–400/.test(document.querySelector('[data-testid=list-info]').textContent));
  const first = await page.$eval('[data-testid=list-table] tbody tr td', (td) => td.dataset.us);
  assert.equal(Number(first), t0 + (base + 200) * MIN_US);
  await page.click('[data-testid=list-prev]');
  await page.waitForFunction(() => /1–200/.test(document.querySelector('[data-testid=list-info]').textContent));
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('export mode: "Preparing the export…" at once, a progress bar, then the downloaded HOK2 and ZIP(CSV) files hold the data', async () => {
  const page = await signedIn();
  const from = FROM(), to = FROM() + 2 * DAY_MIN * 60000;
  await openViewer(page, { channels: `${ch.Saw},${ch.Wave}`, from, to, mode: 'export' });
  const core = await loadCore();
  for (const format of ['hok2', 'csv']) {
    await page.selectOption('[data-testid=export-format]', format);
    if (format === 'hok2') {
      // The first instant: the server's answer to POST /exports is held until
      // the page has shown that the export started (a progress line and an
      // indeterminate bar), then let through.
      let release, passed;
      const held = new Promise((resolve) => { release = resolve; });
      const through = new Promise((resolve) => { passed = resolve; });
      await page.route('**/api/v1/exports', async (route) => {
        if (route.request().method() !== 'POST') return route.fallback();
        await held;
        await route.continue();
        passed();
      });
      await page.click('[data-testid=export-start]');
      await page.waitForFunction(() => document.querySelector('[data-testid=viewer-body]').dataset.exportStatus === 'preparing');
      assert.equal(await page.textContent('[data-testid=export-status]'), 'Preparing the export…');
      assert.equal(await page.$eval('[data-testid=export-progress]', (p) => p.hasAttribute('value')), false);
      assert.equal(await page.isVisible('[data-testid=export-progress]'), true);
      assert.equal(await page.isVisible('[data-testid=export-cancel]'), false);
      await shot(page, 'viewer-export-preparing-pc');
      release();
      await through;
      await page.unrouteAll({ behavior: 'wait' });
    } else {
      await page.click('[data-testid=export-start]');
    }
    await page.waitForSelector('[data-testid=export-download]', { timeout: 60000 });
    assert.equal(await page.$eval('[data-testid=export-progress]', (p) => p.value), 1);
    assert.match(await page.textContent('[data-testid=export-percent]'), /100/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-download]')]);
    const file = path.join(dir, `export.${format}`);
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    if (format === 'hok2') {
      const f = core.hok.read(new Uint8Array(bytes));
      try {
        assert.equal(f.rows, 2 * DAY_MIN);
        assert.deepEqual(f.channels.map((c) => c.name).sort(), ['Saw', 'Wave']);
        const sawIdx = f.channels.findIndex((c) => c.name === 'Saw');
        const v = f.values(sawIdx, 0, 20);
        assert.deepEqual(Array.from(v), Array.from({ length: 20 }, (_, i) => saw(i)));
        assert.equal(f.times(0, 1)[0], from);
      } finally {
        f.close();
      }
    } else {
      assert.equal(bytes.subarray(0, 2).toString(), 'PK');
      const names = execFileSync('zipinfo', ['-1', file]).toString().trim().split('\n');
      const data = names.filter((n) => n.endsWith('.csv'));
      assert.ok(data.length >= 1, names.join(', '));
      const csv = data.map((n) => execFileSync('unzip', ['-p', file, n]).toString()).join('\n');
      assert.match(csv, /Saw/);
      assert.match(csv, /143\.9/);
    }
    await page.waitForFunction(() => document.querySelector('[data-testid=viewer-body]').dataset.exportStatus === 'done');
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-export-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('comparison: two periods overlaid (day 2 over day 1) and the channel picker', SERVER_WAY_ONLY, async () => {
  const page = await signedIn();
  const d1 = FROM(), d2 = FROM() + DAY_MIN * 60000;
  await openViewer(page, { channels: String(ch.Saw), from: d2, to: d2 + DAY_MIN * 60000, mode: 'compare',
    cmp: 'period', bfrom: d1 });
  await waitDrawn(page, 0);
  const s = await chartState(page);
  assert.equal(s.labels.length, 2);
  assert.equal(s.labels[0], 'Saw');
  assert.match(s.labels[1], /^Saw \(/);
  // The sawtooth repeats every day: the second period lies on the first.
  assert.deepEqual(s.data[1], s.data[0]);
  assert.equal(s.max[0], 143.9);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-compare-pc');

  // The picker adds Wave from the group's monitor data.
  await page.click('[data-testid=viewer-choose]');
  await page.waitForSelector(`[data-testid=picker-list] input[data-channel="${ch.Wave}"]`);
  await page.check(`[data-testid=picker-list] input[data-channel="${ch.Wave}"]`);
  const n = await drawn(page);
  await page.click('dialog button.primary');
  await waitDrawn(page, n);
  const p = await chartState(page);
  assert.equal(p.labels.length, 4);
  assert.deepEqual(p.labels.slice(0, 2), ['Saw', 'Wave']);
  assert.match(await page.evaluate(() => location.hash), new RegExp(`channels=${ch.Saw}%2C${ch.Wave}|channels=${ch.Saw},${ch.Wave}`));
  // History (D2): the channels charted are the most recent ones.
  const hist = (await pageFetch(page, env, '/api/v1/me/channel-history')).body;
  assert.deepEqual(hist.slice(0, 2).map((c) => c.name).sort(), ['Saw', 'Wave']);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('phone: the viewer fits 375 px, charts and zooms by pinching', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env, { size: 'phone' });
  await signIn(page, { account: 'viewco', user: 'admin', password: PASSWORD });
  await openViewer(page, { channels: `${ch.Saw},${ch.Wave}`, from: FROM(), to: TO() });
  await waitDrawn(page, 0);
  assert.ok(await scrollWidth(page) <= 375, `scroll width ${await scrollWidth(page)}`);
  // The four modes on one line of the phone in every language (German's wrapped onto two
  // lines at 390 px), the whole bar in view (not scrolled sideways).
  for (const code of ['de', 'fr', 'es', 'it', 'ja', 'zh-CN', 'en']) {
    await page.selectOption('#lang-select', code);
    await page.waitForFunction((c) => document.documentElement.lang === c
      && document.querySelector('[data-testid=viewer-mode-graph]')?.isConnected, code);
    const bar = await page.$eval('.vw-modes', (el) => ({ tops: [...el.children].map((b) => b.offsetTop), sw: el.scrollWidth,
      cw: el.clientWidth, words: el.textContent }));
    assert.equal(new Set(bar.tops).size, 1, `${code}: "${bar.words}" on ${new Set(bar.tops).size} lines`);
    assert.ok(bar.sw <= bar.cw, `${code}: "${bar.words}" is ${bar.sw} px in a bar of ${bar.cw} px`);
    if (code === 'de') await shot(page, 'viewer-modes-de-phone', { fullPage: false });
  }
  const over = await page.$('[data-testid=viewer-chart] .u-over');
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const y = box.y + box.height / 2, cx = box.x + box.width / 2;
  const touch = (type, pts) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: pts.map(([x, id]) => ({ x, y, id, radiusX: 4, radiusY: 4, force: 1 })),
  });
  // Requests follow the fingers (at most every 80 ms) and once more when they lift.
  const spanOf = (r) => { const q = new URL(r.url()).searchParams; return Number(q.get('to')) - Number(q.get('from')); };
  const req = page.waitForRequest((r) => r.url().includes('/api/v1/data/graph') && spanOf(r) < WEEK_MIN * MIN_US / 3);
  await touch('touchStart', [[cx - 20, 1], [cx + 20, 2]]);
  for (let k = 1; k <= 6; k++) await touch('touchMove', [[cx - 20 - 12 * k, 1], [cx + 20 + 12 * k, 2]]);
  await touch('touchEnd', []);
  const q = new URL((await req).url());
  const span = Number(q.searchParams.get('to')) - Number(q.searchParams.get('from'));
  assert.ok(span < WEEK_MIN * MIN_US / 3, `pinched query spans ${span / MIN_US} minutes`);
  assert.ok(await scrollWidth(page) <= 375);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-graph-phone');
  await page.click('[data-testid=viewer-mode-list]');
  await page.waitForSelector('[data-testid=list-table]');
  assert.ok(await scrollWidth(page) <= 375, 'a wide table scrolls inside its box, not the page');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'viewer-list-phone');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
