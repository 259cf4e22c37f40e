// Dashboards in Chromium (B1-B3, M6; docs/dashboards.md): a dashboard made
// in the portal with one panel of each kind (graph + value, graph, values,
// picture, values on a picture, alarms) over real data; its min/max/mean
// equal to the server's summary of the same window (the same C core, in
// WebAssembly) and its graph decimated by core to one bucket per pixel
// column; a computed channel previewed from its expression before the
// compactor ran; special values (sensor break, overflow, missing) shown as
// words; the raised alarm of the alarm service; a value dragged on the
// picture is where it was after a reload; a refresh is one request; panels
// moved by dragging; "Add to dashboard" from the monitor; the dashboard at
// a phone's width (stacked, screenshot) and in Japanese; rename, copy and
// delete on the list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitForPage, shot, assertFits, afterRender, docShot, openSignedIn } from './browser.mjs';
import { seedAccount, PASSWORD } from './fixtures.mjs';
import { appClient } from '../server/data_helpers.mjs';
import { makePng } from '../server/pictures.mjs';

let env;
let seed;
let dashId;

/** A screenshot in build/portal-shots; with METRON_DOC_SHOTS=1 also into docs/img. */
async function open(route, opts = {}) {
  const page = await openSignedIn(env, route, PASSWORD, opts);
  return page;
}

const MIN = 60e6;

before(async () => {
  // A long compactor interval: computed values exist only as the dashboard's preview.
  env = await startStack({ env: { METRON_COMPACT_MS: '3600000' } });
  seed = await seedAccount(env, { plan: 'pro' });
  const r = await seed.admin.get(`/api/v1/apps/${seed.appId}`);
  assert.equal(r.status, 200);
  // A day of one-minute data on CH1 and CH2 (a spike, a sensor break), ending a minute ago.
  const now = Date.now() * 1000;
  const end = now - (now % MIN) - MIN;
  const n = 1440;
  const t = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * MIN);
  const v1 = t.map((_, i) => (i === 700 ? 95.5 : Math.round(2000 + 500 * Math.sin(i / 60)) / 100));
  const v2 = t.map((_, i) => (i === 1000 || i === n - 1 ? 'break' : Math.round(300 + 100 * Math.cos(i / 90)) / 100));
  seed.day = { t, v1, v2 };
  const { credential } = (await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {})).body;
  const ingest = appClient(env.apiUrl, credential);
  const b = await ingest.batch({ batch_id: 'dash-day', channels: [
    { id: seed.channels[0], t, v: v1 }, { id: seed.channels[1], t, v: v2 }] });
  assert.ok(b.status < 300, b.text);
  const c = await seed.admin.post(`/api/v1/groups/${seed.groupId}/computed`, { name: 'Sum', unit: '°C',
    expression: 'CH1+CH2', inputs: [seed.channels[0], seed.channels[1]] });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  seed.computed = c.body.id;
  // An alarm rule raised by the spike (the alarm panel).
  const a = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`, { name: 'Boiler hot', rule: 'CH1 > 90',
    channels: [seed.channels[0]] });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  // Live, not late: a sample older than the rule would be evaluated as history (docs/alarms.md).
  const b2 = await ingest.batch({ batch_id: 'dash-hot', channels: [{ id: seed.channels[0], t: [Date.now() * 1000], v: [99] }] });
  assert.ok(b2.status < 300, b2.text);
  // The other special values as the latest of CH3 and CH4 (CH4 chosen on the monitor too).
  const sel = await seed.admin.put(`/api/v1/devices/${seed.deviceId}/selection`, { channel_ids: seed.channels });
  assert.equal(sel.status, 200, JSON.stringify(sel.body));
  const b3 = await ingest.batch({ batch_id: 'dash-special', channels: [
    { id: seed.channels[2], t: [end], v: ['-over'] }, { id: seed.channels[3], t: [end - MIN, end], v: [7.5, 'missing'] }] });
  assert.ok(b3.status < 300, b3.text);
});

after(async () => { if (env) await env.stop(); });

/** Add a panel through the dialog. */
async function addPanel(page, { kind, title, window, channels = [], picture }) {
  await page.click('[data-testid=dash-add]');
  await page.waitForSelector('[data-testid=panel-form]');
  await page.selectOption('[data-testid=panel-kind]', kind);
  if (title) await page.fill('[data-testid=panel-title]', title);
  if (window) await page.selectOption('[data-testid=panel-window]', window);
  for (const id of channels) await page.check(`[data-testid=panel-form] input[type=checkbox][value="${id}"]`);
  if (picture === 'upload') {
    await page.setInputFiles('[data-testid=picture-file]', { name: 'site-plan.png', mimeType: 'image/png', buffer: makePng(800, 500) });
    await page.waitForSelector('.dash-pic.chosen');
  } else if (picture === 'first') {
    await page.click('.dash-pic >> nth=0');
  }
  const before = await page.$$eval('.dash-panel', (els) => els.length);
  await page.click('[data-testid=panel-save]');
  await page.waitForSelector('[data-testid=panel-form]', { state: 'detached' });
  await page.waitForFunction((n) => document.querySelectorAll('.dash-panel').length === n + 1, before);
}

test('a dashboard with one panel of each kind, computed in the browser by the core', async () => {
  const page = await open('dashboards');
  await waitForPage(page, 'dashboards');
  await page.waitForSelector('[data-testid=dash-quota]');
  assert.match(await page.textContent('[data-testid=dash-quota]'), /0 of 10/);
  await page.click('[data-testid=dash-new]');
  await page.fill('dialog input[name=name]', 'Boiler room');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  dashId = Number(page.url().split('/').pop());
  assert.ok(dashId > 0);
  await page.click('[data-testid=dash-arrange]');
  const [ch1, ch2, ch3, ch4] = seed.channels;
  await addPanel(page, { kind: 'graph_value', title: 'Temperatures', window: 'day', channels: [ch1, ch2] });
  await addPanel(page, { kind: 'graph', title: 'Sum (computed)', window: 'day', channels: [seed.computed] });
  await addPanel(page, { kind: 'value', channels: [ch2, ch3, ch4] });
  await addPanel(page, { kind: 'picture', title: 'Site plan', picture: 'upload' });
  await addPanel(page, { kind: 'image_values', title: 'Plan with values', picture: 'first', channels: [ch1, ch2] });
  await addPanel(page, { kind: 'alarm', title: 'Alarms' });
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);

  const d = (await seed.admin.get(`/api/v1/dashboards/${dashId}`)).body;
  assert.deepEqual(d.panels.map((p) => p.kind), ['graph_value', 'graph', 'value', 'picture', 'image_values', 'alarm']);
  // No two panels overlap (the server checks it as well).
  const kinds = await page.$$eval('.dash-panel', (els) => els.map((e) => e.dataset.kind).sort());
  assert.deepEqual(kinds, ['alarm', 'graph', 'graph_value', 'image_values', 'picture', 'value']);

  // min/max/mean of the graph: the figures of GET /data/summary over the same window.
  await page.click('[data-testid=dash-arrange]');
  await page.waitForSelector('.dash-k-graph_value canvas');
  const win = await page.$eval('.dash-k-graph_value .dash-graph', (e) => [Number(e.dataset.from), Number(e.dataset.to)]);
  const [from, to] = win.map((ms) => Math.round(ms * 1000));
  const stats = await page.$$eval('.dash-k-graph_value [data-testid=dash-stats]', (els) => els.map((e) => ({
    n: Number(e.dataset.n), min: Number(e.dataset.min), max: Number(e.dataset.max), mean: Number(e.dataset.mean) })));
  const sum = (await seed.admin.get(`/api/v1/data/summary?channels=${ch1},${ch2}&from=${from}&to=${to}`)).body;
  sum.channels.forEach((s, i) => {
    assert.equal(stats[i].n, s.n, `channel ${i}: count`);
    assert.equal(stats[i].min, s.min);
    assert.equal(stats[i].max, s.max);
    assert.ok(Math.abs(stats[i].mean - s.mean) < 1e-9, `${stats[i].mean} vs ${s.mean}`);
  });
  assert.equal(stats[0].max, 99, 'the spike of the last sample counts');
  // The computed channel, previewed from CH1+CH2 (nothing was folded, nothing stored).
  assert.equal(await env.psql(`SELECT count(*) FROM series_day WHERE channel_id = ${seed.computed}`), '0');
  const cx = await page.$eval('.dash-k-graph [data-testid=dash-stats]', (e) => ({
    n: Number(e.dataset.n), min: Number(e.dataset.min), max: Number(e.dataset.max), mean: Number(e.dataset.mean) }));
  const cwin = await page.$eval('.dash-k-graph .dash-graph', (e) => [Number(e.dataset.from), Number(e.dataset.to)]);
  const sums = [];
  seed.day.t.forEach((tu, i) => {
    const a = seed.day.v1[i], b = seed.day.v2[i];
    if (tu / 1000 >= cwin[0] && tu / 1000 < cwin[1] && typeof a === 'number' && typeof b === 'number') sums.push(a + b);
  });
  assert.equal(cx.n, sums.length);
  assert.equal(cx.max, Math.max(...sums));
  assert.equal(cx.min, Math.min(...sums));
  assert.ok(Math.abs(cx.mean - sums.reduce((x, y) => x + y, 0) / sums.length) < 1e-9);
  // The graph is core's decimation to one bucket per pixel column of its plotting area.
  const px = await page.$eval('.dash-k-graph_value .dash-graph', (e) => [Number(e.dataset.buckets), Number(e.dataset.plotWidth)]);
  assert.equal(px[0], px[1], `buckets ${px[0]} for a plot ${px[1]} px wide`);
  assert.ok(px[0] > 200 && px[0] < 1440, `buckets ${px[0]}`);
  // Special values are words with the monitor's marks, never numbers.
  for (const [ch, kind, mark] of [[ch2, 'break', '✕'], [ch3, '-over', '▼'], [ch4, 'missing', '○']]) {
    const special = await page.$eval(`.dash-k-value [data-channel="${ch}"] [data-testid=dash-value]`, (e) => [e.dataset.special, e.textContent]);
    assert.equal(special[0], kind);
    assert.ok(special[1].includes(mark), special[1]);
    assert.doesNotMatch(special[1], /\d/);
  }
  // The picture arrived, and the alarm panel shows the raised alarm.
  await page.waitForFunction(() => [...document.querySelectorAll('.dash-img')].every((i) => i.complete && i.naturalWidth === 800));
  await page.waitForFunction(() => document.querySelector('[data-testid=alarm-raised]')?.textContent === '1');
  // Every panel with channels opens the viewer with them.
  const href = await page.getAttribute('.dash-k-graph_value [data-testid=panel-viewer]', 'href');
  assert.match(href, new RegExp(`^#/viewer\\?channels=${ch1}%2C${ch2}&from=\\d+&to=\\d+$`));
  await docShot(page, 'dashboard-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a dashboard is drawn once when it opens, again only when its width changes', async () => {
  const page = await open(`dashboards/${dashId}`);
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  // Two frames: the resize observations of filling the grid with panels
  // (its height grew) are delivered by then (they run after the frame's
  // layout, before its paint).
  const frames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  const state = () => page.$eval('[data-testid=dash-grid]', (g) => ({ updates: Number(g.dataset.updates), due: g.dataset.redraw || '' }));
  await frames();
  assert.deepEqual(await state(), { updates: 1, due: '' });
  // And none comes later: a page drawing again on its own schedules it 150 ms
  // after the observation (this wait proves an absence; the page under test
  // has nothing scheduled, so it cannot fail by timing).
  await page.waitForTimeout(400);
  assert.deepEqual(await state(), { updates: 1, due: '' });
  // Taller: the grid keeps its width, nothing is drawn again.
  const size = page.viewportSize();
  await page.setViewportSize({ width: size.width, height: size.height + 40 });
  await frames();
  assert.deepEqual(await state(), { updates: 1, due: '' });
  // Narrower: every panel is drawn again at the new width.
  await page.setViewportSize({ width: size.width - 200, height: size.height + 40 });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=dash-grid]').dataset.updates) === 2);
  await frames();
  assert.deepEqual(await state(), { updates: 2, due: '' });
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a value dragged on the picture is where it was after a reload', async () => {
  const page = await open(`dashboards/${dashId}`);
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  await page.click('[data-testid=dash-arrange]');
  const label = '.dash-k-image_values .dash-pv[data-index="0"]';
  await page.waitForSelector(label);
  // The picture and the value laid out on it, read in one frame once they
  // have stayed where they are for five frames in a row with the value's
  // colour set: under load the value was read at 0, 0 with no colour right
  // after the panel appeared, and panels drawn again around it (data
  // arriving, a style sheet loading) move or replace it, so a place read
  // apart from its wait could be another drawing's.
  const laidOut = () => page.evaluate((sel) => new Promise((resolve) => {
    let last = '', same = 0;
    const look = () => {
      const l = document.querySelector(sel), b = document.querySelector('.dash-k-image_values .dash-imgbox');
      let now = '';
      if (l && b) {
        const r = l.getBoundingClientRect(), q = b.getBoundingClientRect();
        const colour = getComputedStyle(l).color;
        if (r.width > 0 && q.width > 0 && r.left >= q.left - 1 && r.top >= q.top - 1 && r.left < q.right &&
            r.top < q.bottom && colour !== '') {
          now = JSON.stringify({ box: { x: q.x, y: q.y, w: q.width, h: q.height }, pos: { x: r.x, y: r.y },
            colour, text: l.textContent });
        }
      }
      same = now !== '' && now === last ? same + 1 : 0;
      last = now;
      if (same >= 5) resolve(JSON.parse(now)); else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  }), label);
  await page.$eval('.dash-k-image_values', (e) => e.scrollIntoView({ block: 'center' }));
  const { box, pos: p0 } = await laidOut();
  const saved = page.waitForResponse((r) => r.url().endsWith(`/dashboards/${dashId}`) && r.request().method() === 'PATCH');
  await page.mouse.move(p0.x + 5, p0.y + 5);
  await page.mouse.down();
  await page.mouse.move(p0.x + 5 + box.w * 0.3, p0.y + 5 + box.h * 0.4, { steps: 8 });
  await page.mouse.up();
  assert.equal((await saved).status(), 200);
  const v = (await seed.admin.get(`/api/v1/dashboards/${dashId}`)).body.panels.find((p) => p.kind === 'image_values').values[0];
  assert.ok(Math.abs(v.x - (0.04 + 0.3)) < 0.01, `x ${v.x}`);
  assert.ok(Math.abs(v.y - (0.04 + 0.4)) < 0.01, `y ${v.y}`);
  const { pos: p1 } = await laidOut();
  // Its settings: colour, size, decimals, unit.
  await page.click(label);
  await page.waitForSelector('[data-testid=value-form]');
  await page.fill('[data-testid=value-size]', '40');
  await page.$eval('[data-testid=value-colour]', (e) => { e.value = '#cc0000'; });
  await page.selectOption('[data-testid=value-decimals]', '1');
  await page.fill('[data-testid=value-unit]', 'degC');
  await page.click('[data-testid=value-save]');
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('degC'), label);
  await page.waitForFunction(async (id) => {
    const r = await fetch(`/api/v1/dashboards/${id}`);
    const j = await r.json();
    return j.panels.find((p) => p.kind === 'image_values').values[0].size === 40;
  }, dashId);

  await page.reload();
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  await page.waitForSelector(label);
  const { box: box2, pos: p2, colour, text } = await laidOut();
  const where = JSON.stringify({ box, p1, box2, p2 });
  assert.ok(Math.abs((p2.x - box2.x) / box2.w - (p1.x - box.x) / box.w) < 0.005, `x after the reload: ${where}`);
  assert.ok(Math.abs((p2.y - box2.y) / box2.h - (p1.y - box.y) / box.h) < 0.005, `y after the reload: ${where}`);
  assert.equal(colour, 'rgb(204, 0, 0)');
  assert.match(text, /\d\.\d degC/);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a refresh is one request; panels move by dragging', async () => {
  const page = await open(`dashboards/${dashId}`);
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  const api = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/')) api.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  const updates = Number(await page.getAttribute('[data-testid=dash-grid]', 'data-updates'));
  await page.click('.page-tools button[aria-label]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=dash-grid]').dataset.updates) > n, updates);
  assert.deepEqual(api, [`GET /api/v1/dashboards/${dashId}/data`]);

  // Drag the alarm panel to the top left: it takes that place, the others make room.
  await page.click('[data-testid=dash-arrange]');
  const handle = '.dash-k-alarm .dash-handle';
  const h0 = await page.$eval(handle, (e) => { const r = e.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; });
  const g = await page.$eval('[data-testid=dash-grid]', (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y }; });
  const saved = page.waitForResponse((r) => r.url().endsWith(`/dashboards/${dashId}`) && r.request().method() === 'PATCH');
  await page.mouse.move(h0.x, h0.y);
  await page.mouse.down();
  await page.mouse.move(g.x + 10, g.y + 10, { steps: 10 });
  await page.mouse.up();
  assert.equal((await saved).status(), 200);
  const panels = (await seed.admin.get(`/api/v1/dashboards/${dashId}`)).body.panels;
  const alarm = panels.find((p) => p.kind === 'alarm');
  assert.deepEqual([alarm.x, alarm.y], [0, 0]);
  for (let i = 0; i < panels.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = panels[i], b = panels[j];
      assert.ok(!(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h), 'no overlap');
    }
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('"Add to dashboard" from the monitor (M6)', async () => {
  const page = await open('monitor');
  await waitForPage(page, 'monitor');
  await page.click(`[data-device="${seed.deviceId}"] [data-testid=add-to-dashboard]`);
  await page.waitForSelector('[data-testid=add-form]');
  await page.selectOption('[data-testid=add-kind]', 'value');
  await page.click('[data-testid=add-save]');
  await page.waitForSelector('.toast-ok');
  const panels = (await seed.admin.get(`/api/v1/dashboards/${dashId}`)).body.panels;
  const added = panels[panels.length - 1];
  assert.equal(added.kind, 'value');
  assert.deepEqual(added.channels, seed.channels);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('at a phone width the panels stack and fit; in Japanese no key shows', async () => {
  const page = await open(`dashboards/${dashId}`, { size: 'phone390' });
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  await page.waitForSelector('.dash-grid.dash-stacked');
  await page.waitForFunction(() => [...document.querySelectorAll('.dash-img')].every((i) => i.complete && i.naturalWidth > 0));
  await assertFits(page, 'dashboard at 390 px');
  const widths = await page.$$eval('.dash-panel', (els) => els.map((e) => Math.round(e.getBoundingClientRect().width)));
  assert.ok(widths.every((w) => w === widths[0]), `stacked: ${widths}`);
  // In reading order (y, x).
  const order = await page.$$eval('.dash-panel', (els) => els.map((e) => e.dataset.panel));
  const panels = (await seed.admin.get(`/api/v1/dashboards/${dashId}`)).body.panels;
  assert.deepEqual(order, [...panels].sort((a, b) => a.y - b.y || a.x - b.x).map((p) => p.id));
  await docShot(page, 'dashboard-phone390');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  const ja = await open(`dashboards/${dashId}`, { lang: 'ja-JP' });
  await ja.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  // A language switch draws the page again: wait for that render, not the grid before it.
  const switchJa = () => ja.selectOption('#lang-select', 'ja');
  if (await ja.evaluate(() => document.documentElement.lang === 'ja')) await switchJa();
  else await afterRender(ja, switchJa, { route: 'dashboards' });
  await ja.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  const text = await ja.textContent('#main');
  assert.doesNotMatch(text, /\bdash\.[a-z_]+/);
  assert.match(text, /ダッシュボード/);
  await docShot(ja, 'dashboard-ja-pc');
  await ja.context().close();
  // Signing in with a Japanese browser recorded Japanese in the profile
  // (the account's is English): English again for the tests after this one.
  assert.equal((await seed.admin.patch('/api/v1/me', { language: null })).status, 200);
});

test('the list: rename, copy and delete a dashboard, within the plan\'s limit', async () => {
  const page = await open('dashboards');
  await waitForPage(page, 'dashboards');
  const card = `[data-dashboard="${dashId}"]`;
  await page.waitForSelector(card);
  // Rename.
  await page.click(`${card} .row-actions button >> nth=0`);
  await page.fill('dialog input[name=name]', 'Boiler room (north)');
  await page.click('dialog button[type=submit]');
  await page.waitForFunction((sel) => document.querySelector(`${sel} .dash-card-name`)?.textContent === 'Boiler room (north)', card);
  // Copy: a second card with every panel.
  await page.click(`${card} [data-testid=dash-copy]`);
  await afterRender(page, () => page.click('dialog button[type=submit]'), { route: 'dashboards' });
  await page.waitForFunction(() => document.querySelectorAll('.dash-card').length === 2);
  const list = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/dashboards`)).body;
  const copy = list.items.find((d) => d.id !== dashId);
  assert.equal(copy.name, 'Boiler room (north) (copy)');
  assert.equal(copy.panel_count, list.items.find((d) => d.id === dashId).panel_count);
  assert.match(await page.textContent('[data-testid=dash-quota]'), /2 of 10/);
  await shot(page, 'dashboard-list');
  // Delete the copy (asked first).
  await page.click(`[data-dashboard="${copy.id}"] .row-actions button.danger`);
  await page.click('dialog button.danger');
  await page.waitForFunction(() => document.querySelectorAll('.dash-card').length === 1);
  assert.equal((await seed.admin.get(`/api/v1/dashboards/${copy.id}`)).status, 404);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
