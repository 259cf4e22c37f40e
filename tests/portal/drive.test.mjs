// The drive (D1-D6) in Chromium against a real server and PostgreSQL:
// folders and breadcrumbs, uploads of several files with progress bars, a
// cancelled upload (throttled so that it is still running), sorting,
// download, rename, move, delete (a non-empty folder after a second
// question), a HOK2 file opened in the viewer (read by the wasm core in the
// page), the acquired-data set beside the files, the channel history, and
// the phone layout. In the nginx and cors ways (docs/deploy.md,
// METRON_PORTAL_DEPLOY) only the first test runs (uploads, a download, a
// file read in the page, deletes); the acquired-data set and the phone
// layout are the page's and the server's alike in every way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, openPage, signIn, shot, waitForPage, scrollWidth, pageFetch, gotoRoute, afterRender, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { makeHok2 } from './make_hok2.mjs';

let env, dir, files, chIds, groupId;

before(async () => {
  env = await startStack();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-drive-'));
  files = {
    hok2: path.join(dir, 'Prüfung 7.hok2'),
    notes: path.join(dir, 'notes.txt'),
    big: path.join(dir, 'big.bin'),
  };
  fs.writeFileSync(files.hok2, await makeHok2({ rows: 20000, channels: 2, spikeEvery: 4000, specials: true }));
  fs.writeFileSync(files.notes, 'Kalibrierung am Montag.\n');
  fs.writeFileSync(files.big, Buffer.alloc(12e6, 7));
  await env.createAccount({ account: 'driveco', plan: 'pro', user: 'admin', password: PASSWORD,
    email: 'admin@driveco.example.test', userName: 'Dora Drive' });
  const admin = await env.login({ account: 'driveco', user: 'admin', password: PASSWORD });
  let r = await admin.post('/api/v1/groups', { name: 'Plant D' });
  groupId = r.body.id;
  r = await admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway D', group_id: groupId });
  const app = r.body;
  r = await admin.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SND0001', name: 'Oven logger' });
  const deviceId = r.body.id;
  chIds = [];
  for (const [key, name] of [['CH1', 'Oven top'], ['CH2', 'Oven bottom']]) {
    r = await admin.post(`/api/v1/devices/${deviceId}/channels`, { key, name, unit: '°C' });
    chIds.push(r.body.id);
  }
  await admin.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: chIds });
  const t = Date.now() * 1000 - 3600e6;
  const t0 = t - (t % MIN_US);
  r = await appClient(env.apiUrl, app.credential).batch({ batch_id: 'd1', channels: chIds.map((id, k) => ({
    id, t: [t0, t0 + MIN_US], v: [180 + k, 181 + k] })) });
  assert.ok(r.status < 300, r.text);
});
after(async () => {
  if (env) await env.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const row = (name) => `[data-testid=drive-table] tr[data-name="${name}"]`;
const names = (page) => page.$$eval('[data-testid=drive-table] tbody tr', (trs) => trs.map((tr) => tr.dataset.name));
/** Run "action" and wait until the drive page has drawn what it causes (the
 * page redraws the table after a hash change or a change: a row of the old
 * table may be there before the new one). */
const redrawn = (page, action) => afterRender(page, action, { route: 'drive' });

async function dialogOk(page) {
  await page.click('dialog[open] .dialog-buttons button.primary, dialog[open] .dialog-buttons button.danger');
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
}

test('folders, uploads with progress, sort, download, rename, move, open in the viewer, delete', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'driveco', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/drive`);
  await waitForPage(page, 'drive');
  await page.waitForSelector(row('Plant D'));
  assert.equal(await page.getAttribute(row('Plant D'), 'data-type'), 'dataset');
  assert.match(await page.textContent('[data-testid=drive-quota]'), /of 1?\d+ (GB|TB)/);

  // A new folder, then into it.
  await page.click('[data-testid=drive-new-folder]');
  await page.fill('[data-testid=drive-name-input]', 'Reports');
  await redrawn(page, () => dialogOk(page));
  await page.waitForSelector(row('Reports'));
  await redrawn(page, () => page.click(`${row('Reports')} a.dr-name`));
  await page.waitForFunction(() => /Reports/.test(document.querySelector('[data-testid=drive-crumbs]')?.textContent));
  const folderId = Number(new URLSearchParams(page.url().split('?')[1]).get('folder'));
  assert.ok(folderId > 0);

  // Two files at once, each with its progress bar.
  await page.setInputFiles('[data-testid=drive-upload-input]', [files.hok2, files.notes]);
  await page.waitForFunction(() => document.querySelectorAll('.dr-up[data-state=done]').length === 2);
  const bars = await page.$$eval('.dr-up progress', (ps) => ps.map((p) => p.value));
  assert.deepEqual(bars, [1, 1]);
  await page.waitForSelector(row('Prüfung 7.hok2'));
  await page.waitForSelector(row('notes.txt'));
  assert.equal(await page.textContent(`${row('Prüfung 7.hok2')} td:nth-child(2)`), 'HOK2 file');

  // Sorting by size, largest first.
  await redrawn(page, () => page.selectOption('[data-testid=drive-sort]', 'size'));
  await page.waitForFunction(() => location.hash.includes('sort=size'));
  await redrawn(page, () => page.click('[data-testid=drive-order]'));
  await page.waitForFunction(() => location.hash.includes('order=desc'));
  await page.waitForSelector(row('notes.txt'));
  assert.deepEqual(await names(page), ['Prüfung 7.hok2', 'notes.txt']);

  // Download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`${row('notes.txt')} [data-testid=drive-download]`)]);
  const saved = path.join(dir, 'downloaded.txt');
  await download.saveAs(saved);
  assert.equal(fs.readFileSync(saved, 'utf8'), 'Kalibrierung am Montag.\n');

  // Rename, then move to the root.
  await page.click(`${row('notes.txt')} [data-testid=drive-rename]`);
  await page.fill('[data-testid=drive-name-input]', 'notes 2024.txt');
  await redrawn(page, () => dialogOk(page));
  await page.waitForSelector(row('notes 2024.txt'));
  await page.click(`${row('notes 2024.txt')} [data-testid=drive-move]`);
  await page.waitForSelector('[data-testid=drive-move-browser] button.link');
  await page.click('[data-testid=drive-move-browser] button.link >> nth=0');
  await page.waitForSelector(`[data-testid=drive-move-browser] button[data-folder="${folderId}"]`);
  await redrawn(page, () => dialogOk(page));
  await page.waitForSelector(row('notes 2024.txt'), { state: 'detached' });

  // The HOK2 file opened in the viewer: downloaded and read by core in the page.
  await page.click(`${row('Prüfung 7.hok2')} [data-testid=drive-open]`);
  await page.waitForSelector('[data-testid=drive-chart][data-drawn]');
  const s = await page.evaluate(() => {
    const u = document.querySelector('[data-testid=drive-chart]').__chart.uplot;
    return { labels: u.series.slice(1).map((x) => x.label),
      max: u.data.slice(1).map((d) => Math.max(...d.filter((v) => v != null))) };
  });
  assert.deepEqual(s.labels, ['CH1', 'CH2']);
  assert.deepEqual(s.max, [100, 101]);
  assert.match(await page.textContent('[data-testid=drive-file-view]'), /20,000 rows, 2 channels/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'drive-file-pc');
  await page.click('[data-testid=drive-view-close]');
  await page.waitForSelector('[data-testid=drive-file-view]', { state: 'hidden' });

  // A slow upload (throttled to 2 MB/s) cancelled half-way: nothing is kept.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
    downloadThroughput: -1, uploadThroughput: 2e6 });
  await page.setInputFiles('[data-testid=drive-upload-input]', files.big);
  await page.waitForFunction(() => {
    const li = document.querySelector('.dr-up[data-name="big.bin"]');
    return li && li.querySelector('progress').value > 0.05;
  });
  const partial = await page.$eval('.dr-up[data-name="big.bin"] progress', (p) => p.value);
  assert.ok(partial < 1, `progress ${partial}`);
  await page.click('.dr-up[data-name="big.bin"] [data-testid=upload-cancel]');
  await page.waitForSelector('.dr-up[data-name="big.bin"][data-state=cancelled]');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
    downloadThroughput: -1, uploadThroughput: -1 });
  const listing = (await pageFetch(page, env, `/api/v1/drive/folders/${folderId}`)).body;
  assert.deepEqual(listing.items.map((i) => i.name), ['Prüfung 7.hok2']);
  await page.evaluate(() => window.scrollTo(0, 0));
  // At 1366 px a HOK2 file's six actions wrap: its name keeps room for
  // words (it was squeezed to a letter a line) and every action is on the
  // screen.
  const fit = await page.evaluate(() => {
    const row = document.querySelector('[data-testid=drive-table] tbody tr');
    const name = row.querySelector('.dr-name').getBoundingClientRect();
    const last = [...row.querySelectorAll('td.actions button, td.actions a')].pop().getBoundingClientRect();
    return { nameHeight: name.height, nameWidth: name.width, lastRight: last.right, vw: window.innerWidth };
  });
  assert.ok(fit.nameHeight < 40, `the name on one or two lines (${JSON.stringify(fit)})`);
  assert.ok(fit.lastRight <= fit.vw, `every action on the screen (${JSON.stringify(fit)})`);
  await shot(page, 'drive-pc');

  // Deleting the non-empty folder asks twice.
  await redrawn(page, () => page.click('[data-testid=drive-crumbs] a'));
  await page.waitForSelector(row('Reports'));
  await page.click(`${row('Reports')} [data-testid=drive-delete]`);
  await page.click('dialog[open] .dialog-buttons button.danger');
  await page.waitForFunction(() => /not empty/.test(document.querySelector('dialog[open]')?.textContent || ''));
  await redrawn(page, () => dialogOk(page));
  await page.waitForSelector(row('Reports'), { state: 'detached' });
  assert.deepEqual((await names(page)).sort(), ['notes 2024.txt', 'Plant D'].sort());
  assert.deepEqual(page.cspErrors, []);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('the acquired-data set opens in the viewer; the channel history lists what was charted', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'driveco', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/drive`);
  await page.waitForSelector(`${row('Plant D')} [data-testid=drive-dataset-view]`);
  await page.click(`${row('Plant D')} [data-testid=drive-dataset-view]`);
  await waitForPage(page, 'viewer');
  await page.waitForSelector('[data-testid=viewer-chart][data-drawn]');
  assert.match(page.url(), new RegExp(`channels=${chIds[0]}(%2C|,)${chIds[1]}`));
  // Charting put both channels in the history (D2), shown on the drive page.
  await gotoRoute(page, `${env.url}/#/drive`);
  await waitForPage(page, 'drive');
  await page.waitForSelector('[data-testid=drive-history] li');
  const hist = await page.$$eval('[data-testid=drive-history] li a', (as) => as.map((a) => a.textContent));
  assert.deepEqual(hist.sort(), ['Oven bottom [°C]', 'Oven top [°C]']);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('phone: the drive fits 375 px', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env, { size: 'phone' });
  await signIn(page, { account: 'driveco', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/drive`);
  await page.waitForSelector(row('Plant D'));
  assert.ok(await scrollWidth(page) <= 375, `scroll width ${await scrollWidth(page)}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, 'drive-phone');
  await page.context().close();
});
