// Charts that never mislead (issue 18, item 2), in Chromium: 32 channels in
// six units, a day of one-minute data each.
// - every shown unit has its own y-axis; a series is only ever drawn on its
//   own unit's scale; units beyond the axes the width has room for start
//   hidden and are named in a note, and showing one gives it its axis;
// - the chart (plot and axes) is on the first screen at 1366×768 and on a
//   390×844 phone;
// - legend names wrap, never cut; zoomed in between samples the legend
//   shows the nearest value with its time;
// - an empty period says so; compare mode charts all 32 channels twice;
//   more than 32 channels asked for are named, not dropped silently;
// - the list keeps its channel names on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, shot, waitForPage, assertFits, gotoRoute } from './browser.mjs';
import { PASSWORD } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';

const UNITS = ['°C', '%RH', 'V', 'A', 'kWh', 'Pa'];
const N = 35; // 32 charted, 3 more to be named as left out
const DAY_MIN = 1440;
let env, ids, t0;

before(async () => {
  env = await startStack();
  await env.createAccount({ account: 'plotco', plan: 'pro', user: 'admin', password: PASSWORD, userName: 'Pia Plot' });
  const admin = await env.login({ account: 'plotco', user: 'admin', password: PASSWORD });
  let r = await admin.post('/api/v1/groups', { name: 'Hall 7' });
  const groupId = r.body.id;
  r = await admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Hall gateway', group_id: groupId });
  const app = r.body;
  r = await admin.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SNP0001', name: 'Hall logger' });
  const deviceId = r.body.id;
  ids = [];
  for (let i = 0; i < N; i++) {
    // Long names: the legend must wrap them, not cut them.
    const name = i === 0 ? 'Supply air temperature after the heat recovery unit, north wing' : `Sensor ${i + 1}`;
    r = await admin.post(`/api/v1/devices/${deviceId}/channels`, { key: `CH${i + 1}`, name, unit: UNITS[i % UNITS.length] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  r = await admin.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: ids });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // A day of one-minute samples, ending two days ago (so "now" is an empty period).
  const now = Date.now() * 1000;
  t0 = now - (now % (24 * 3600e6)) - 3 * 24 * 3600e6;
  const times = Array.from({ length: DAY_MIN }, (_, i) => t0 + i * MIN_US);
  const ingest = appClient(env.apiUrl, app.credential);
  r = await ingest.batch({ batch_id: 'day-1', channels: ids.map((id, c) => ({
    id, t: times, v: times.map((_, i) => Math.round((c * 10 + 5 * Math.sin((2 * Math.PI * i) / DAY_MIN) + (c % UNITS.length) * 100) * 100) / 100),
  })) });
  assert.ok(r.status < 300, `ingest: ${r.status} ${r.text}`);
});
after(async () => { if (env) await env.stop(); });

const FROM = () => t0 / 1000;
const TO = () => FROM() + DAY_MIN * 60000;

async function viewer(size, params) {
  const page = await openPage(env, { size });
  await signIn(page, { account: 'plotco', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/viewer?${new URLSearchParams(params)}`);
  await waitForPage(page, 'viewer');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=viewer-chart]')?.dataset.drawn || 0) > 0);
  return page;
}

/** Axes, series scales, units and the plot's place on the screen. */
function chartFacts(page) {
  return page.evaluate(() => {
    const host = document.querySelector('[data-testid=viewer-chart]');
    const c = host.__chart;
    const u = c.uplot;
    const over = host.querySelector('.u-over').getBoundingClientRect();
    const root = u.root.getBoundingClientRect();
    return {
      series: u.series.slice(1).map((s, i) => ({ scale: s.scale, show: s.show, unit: c.channels[i].unit, label: s.label })),
      axes: u.axes.slice(1).map((a) => ({ scale: a.scale, side: a.side, show: a._show })),
      plot: { top: over.top, bottom: root.bottom, left: root.left, right: root.right },
      window: { w: innerWidth, h: innerHeight },
      scrollY,
      note: host.querySelector('[data-testid=chart-note]').hidden ? '' : host.querySelector('[data-testid=chart-note]').textContent,
      empty: host.querySelector('[data-testid=chart-empty]').hidden ? '' : host.querySelector('[data-testid=chart-empty]').textContent,
    };
  });
}

function checkAxes(f) {
  const axisScales = new Set(f.axes.filter((a) => a.show).map((a) => a.scale));
  for (const s of f.series) {
    // A series is drawn on the scale of its own unit only...
    assert.ok(s.scale.split('|')[1] === s.unit, `${s.label} (${s.unit}) on scale ${s.scale}`);
    // ...and every shown series' scale has an axis.
    if (s.show) assert.ok(axisScales.has(s.scale), `${s.label} (${s.unit}) is shown without an axis`);
  }
  // No axis without a shown series.
  for (const a of axisScales) assert.ok(f.series.some((s) => s.show && s.scale === a), `axis ${a} without a series`);
  // Axes alternate left and right.
  f.axes.forEach((a, j) => assert.equal(a.side, j % 2 === 0 ? 3 : 1));
}

test('32 channels in six units at 1366×768: one axis per shown unit, the chart on the first screen', async () => {
  const page = await viewer('pc', { channels: ids.slice(0, 32).join(','), from: FROM(), to: TO() });
  let f = await chartFacts(page);
  assert.equal(f.series.length, 32);
  assert.equal(f.scrollY, 0);
  assert.ok(f.plot.top >= 0 && f.plot.bottom <= f.window.h, `plot ${JSON.stringify(f.plot)} in a ${f.window.h} px window`);
  checkAxes(f);
  const shownUnits = new Set(f.series.filter((s) => s.show).map((s) => s.unit));
  const hiddenUnits = UNITS.filter((x) => !shownUnits.has(x));
  assert.ok(shownUnits.size >= 4, `${shownUnits.size} units shown`);
  // The units without room for an axis are named in the note.
  if (hiddenUnits.length) {
    for (const x of hiddenUnits) assert.ok(f.note.includes(x), `note names ${x}: ${f.note}`);
  } else assert.equal(f.note, '');
  // The legend wraps long names instead of cutting them.
  const cut = await page.$$eval('[data-testid=chart-legend] .mc-name', (els) => els.filter((e) =>
    e.scrollWidth > e.clientWidth + 1 || getComputedStyle(e).textOverflow === 'ellipsis').length);
  assert.equal(cut, 0);
  await shot(page, 'charts-32-pc');

  // Showing a hidden unit's channel gives that unit an axis.
  if (hiddenUnits.length) {
    const i = f.series.findIndex((s) => !s.show);
    await page.click(`[data-testid=chart-legend] li:nth-child(${i + 1}) button`);
    await page.waitForFunction((k) => document.querySelector('[data-testid=viewer-chart]').__chart.uplot.series[k + 1].show, i);
    f = await chartFacts(page);
    checkAxes(f);
    assert.ok(f.axes.some((a) => a.scale === f.series[i].scale));
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('on a 390×844 phone the chart is on the first screen too, and the page fits', async () => {
  const page = await viewer('phone390', { channels: ids.slice(0, 32).join(','), from: FROM(), to: TO() });
  await shot(page, 'charts-32-phone');
  const f = await chartFacts(page);
  assert.ok(f.plot.top >= 0 && f.plot.bottom <= 844, `plot ${JSON.stringify(f.plot)}`);
  checkAxes(f);
  assert.ok(f.axes.filter((a) => a.show).length <= 2, 'two axes on a phone');
  await assertFits(page, 'viewer');
  // The list keeps the channel names (a table scrolling in its box, not cards).
  await page.click('[data-testid=viewer-mode-list]');
  await page.waitForSelector('[data-testid=list-table]');
  const heads = await page.$$eval('[data-testid=list-table] thead th', (ths) => ths.map((th) => ({
    text: th.textContent, shown: getComputedStyle(th).display !== 'none' && th.getBoundingClientRect().height > 0 })));
  assert.equal(heads.length, 33);
  assert.ok(heads.every((x) => x.shown && x.text), 'every column has its name on the phone');
  assert.match(heads[1].text, /Supply air temperature/);
  await assertFits(page, 'viewer list');
  await shot(page, 'charts-list-phone', { fullPage: false });
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('zoomed in between samples, the legend shows the nearest value with its time', async () => {
  // 4 minutes over ~800 px: most pixel columns lie between two samples.
  const from = FROM() + 600 * 60000 + 20000;
  const page = await viewer('pc', { channels: ids.slice(1, 3).join(','), from, to: from + 4 * 60000 });
  const over = await page.$('[data-testid=viewer-chart] .u-over');
  const box = await over.boundingBox();
  // Find a spot between samples: move until a legend value says "nearest".
  let text = '';
  for (let k = 1; k < 40 && !/nearest/.test(text); k++) {
    await page.mouse.move(box.x + (box.width * k) / 41, box.y + box.height / 2);
    text = await page.textContent('[data-testid=legend-value-0]');
  }
  assert.match(text, /nearest value/);
  assert.match(text, /\d{1,2}:\d{2}:\d{2}/, `a time: ${text}`);
  assert.doesNotMatch(text, /^–$/);
  assert.match(await page.textContent('[data-testid=chart-cursor-time]'), /\d{1,2}:\d{2}:\d{2}/);
  await shot(page, 'charts-nearest-pc');
  await page.context().close();
});

test('an empty period says so', async () => {
  const now = Date.now();
  const page = await viewer('pc', { channels: ids.slice(0, 2).join(','), from: now - 3600000, to: now });
  await page.waitForSelector('[data-testid=chart-empty]:not([hidden])');
  assert.match(await page.textContent('[data-testid=chart-empty]'), /No values in this period/);
  assert.match(await page.textContent('[data-testid=legend-value-0]'), /no values/);
  await shot(page, 'charts-empty-pc');
  await page.context().close();
});

test('compare mode charts every chosen channel; more than 32 asked for are named', async () => {
  const from = FROM() + 12 * 3600e3;
  let page = await viewer('pc', { channels: ids.slice(0, 32).join(','), from, to: from + 6 * 3600e3,
    mode: 'compare', cmp: 'period', bfrom: FROM() });
  let f = await chartFacts(page);
  assert.equal(f.series.length, 64, 'all 32 channels over both periods');
  assert.match(await page.textContent('[data-testid=viewer-channels] .vw-label'), /32 of 32/);
  checkAxes(f);
  await shot(page, 'charts-compare-pc');
  await page.context().close();

  page = await viewer('pc', { channels: ids.slice(0, 32).join(','), from, to: from + 6 * 3600e3,
    mode: 'compare', cmp: 'set', bset: ids.slice(32).join(',') });
  f = await chartFacts(page);
  assert.equal(f.series.length, 35, 'both sets whole');
  await page.context().close();

  page = await viewer('pc', { channels: ids.join(','), from: FROM(), to: TO() });
  const dropped = await page.textContent('[data-testid=viewer-dropped]');
  assert.match(dropped, /At most 32/);
  for (const n of [33, 34, 35]) assert.match(dropped, new RegExp(`Sensor ${n}\\b`));
  f = await chartFacts(page);
  assert.equal(f.series.length, 32);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
