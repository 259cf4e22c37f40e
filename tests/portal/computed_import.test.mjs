// Computed channels and importing a drive file (issue 18, item 1) in
// Chromium: the expression is checked by the wasm core as it is typed (an
// error is a sentence with its place marked), previewed over the last 24
// hours exactly as the server will compute it, saved, copied and deleted;
// a HOK2 file in the drive is imported into measured channels with a
// progress bar (Pro), and below Pro the dialog says why it cannot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, gotoRoute, afterRender } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { makeHok2 } from './make_hok2.mjs';

let env, seed, hok2, t0;
const DAY_MIN = 1440;
const a = (i) => 20 + (i % 60) / 10; // CH1 of the seed: a sawtooth
const b = (i) => 2 * Math.floor(i / 60); // CH3: steps

before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  // The last 24 hours of one-minute data on CH1 and CH3 (CH3 with one
  // sensor break), so that the preview has something to compute.
  const r = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
  const ingest = appClient(env.apiUrl, r.body.credential);
  const now = Date.now() * 1000;
  t0 = now - (now % MIN_US) - (DAY_MIN - 1) * MIN_US - 20 * MIN_US;
  const times = Array.from({ length: DAY_MIN - 30 }, (_, i) => t0 + i * MIN_US);
  const res = await ingest.batch({ batch_id: 'day', channels: [
    { id: seed.channels[0], t: times, v: times.map((_, i) => a(i)) },
    { id: seed.channels[2], t: times, v: times.map((_, i) => (i === 700 ? 'break' : b(i))) },
  ] });
  assert.ok(res.status < 300, res.text);
  // A HOK2 file of 4 channels for the import (CH1 V, CH2 A, CH3 V, CH4 A), one day of minutes two days ago.
  const start = Date.now() - (Date.now() % 86400000) - 2 * 86400000;
  hok2 = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'metron-import-')), 'logger.hok2');
  fs.writeFileSync(hok2, await makeHok2({ rows: DAY_MIN, channels: 4, start, stepMs: 60000 }));
  await env.createAccount({ account: 'stdco', plan: 'standard', user: 'admin', password: PASSWORD, userName: 'Stan Dard' });
});
after(async () => {
  if (env) await env.stop();
  if (hok2) fs.rmSync(path.dirname(hok2), { recursive: true, force: true });
});

async function open(size, route, account = 'acme') {
  const page = await openPage(env, { size });
  await signIn(page, { account, user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/${route}`);
  await waitForPage(page, route.split('?')[0]);
  return page;
}

const check = (page) => page.waitForFunction(() => {
  const e = document.querySelector('[data-testid=computed-check]');
  return e && e.textContent && e.dataset.ok !== undefined;
}).then(() => page.evaluate(() => ({ ok: document.querySelector('[data-testid=computed-check]').dataset.ok === 'true',
  text: document.querySelector('[data-testid=computed-check]').textContent,
  mark: document.querySelector('.expr-show:not([hidden]) mark')?.textContent ?? null })));

async function typeExpr(page, s) {
  // The page checks what was typed: wait for that check, not the one before.
  await afterRender(page, () => page.fill('[data-testid=computed-expression]', s));
  await page.waitForFunction((x) => document.querySelector('[data-testid=computed-expression]').value === x, s);
  return check(page);
}

test('the expression is checked as it is typed, previewed with the wasm core, saved, copied, deleted', async () => {
  const page = await open('pc', 'computed');
  await page.click('[data-testid=computed-new]');
  await page.waitForSelector('[data-testid=computed-editor]');
  await page.fill('[data-testid=computed-name]', 'Mean of 1 and 3');
  await page.fill('[data-testid=computed-unit]', '°C');
  await page.selectOption('[data-testid=computed-input-1]', String(seed.channels[0]));
  await page.click('[data-testid=computed-add-input]');
  await page.selectOption('[data-testid=computed-input-2]', String(seed.channels[2]));
  // Mistakes are sentences with their place marked, never core's codes.
  let c = await typeExpr(page, '(CH1+CH2/2');
  assert.equal(c.ok, false);
  assert.match(c.text, /mistake at character 1/);
  assert.equal(c.mark, '(');
  c = await typeExpr(page, 'CH1+CH3');
  assert.match(c.text, /CH3 names no input: there are 2 inputs/);
  assert.equal(c.mark, 'C');
  c = await typeExpr(page, 'CH1*2');
  assert.match(c.text, /does not use CH2/);
  c = await typeExpr(page, 'CH1/0');
  assert.match(c.text, /divides by zero/);
  for (const t of [c.text]) assert.doesNotMatch(t, /MT_|ESYNTAX|position/);
  c = await typeExpr(page, '(CH1 + CH2) / 2');
  assert.equal(c.ok, true);
  assert.match(c.text, /valid\. It uses CH1, CH2/);
  // The preview: one value per minute where both inputs have one; the break is a special value.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=computed-preview-info]').dataset.samples) > 0);
  const info = await page.textContent('[data-testid=computed-preview-info]');
  const samples = Number(await page.getAttribute('[data-testid=computed-preview-info]', 'data-samples'));
  const inWindow = (DAY_MIN - 30) - Math.max(0, Math.ceil((Date.now() * 1000 - 24 * 3600e6 - t0) / MIN_US));
  assert.ok(Math.abs(samples - inWindow) <= 2, `${samples} samples, about ${inWindow} expected`);
  assert.match(info, /special values: 1\./);
  await page.waitForFunction(() => document.querySelector('[data-testid=computed-preview]')?.dataset.state === 'ready');
  const max = await page.evaluate(() => Math.max(...document.querySelector('[data-testid=computed-preview]').__chart.uplot.data[1].filter((v) => v != null)));
  // (CH1 + CH3) / 2 at its largest in the window: computed in the browser, as the server will.
  assert.ok(max > 10 && max < 40, `max ${max}`);
  await shot(page, 'computed-editor-pc');
  await page.click('[data-testid=computed-save]');
  await waitForPage(page, 'computed');
  await page.waitForSelector('table.table');
  assert.match(await page.textContent('table.table'), /Mean of 1 and 3/);
  // The server computed the same values: one of them, read back.
  const list = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/computed`)).body;
  const x = (Array.isArray(list) ? list : list.items).find((y) => y.name === 'Mean of 1 and 3');
  assert.equal(x.expression, '(CH1 + CH2) / 2');
  assert.deepEqual(x.inputs, [seed.channels[0], seed.channels[2]]);
  // Copy, then delete the copy.
  await page.locator('tr', { hasText: 'Mean of 1 and 3' }).locator('[data-testid=computed-copy]').click();
  await page.waitForFunction(() => /\(copy\)/.test(document.querySelector('table.table')?.textContent || ''));
  await page.locator('tr', { hasText: '(copy)' }).locator('[data-testid=computed-delete]').click();
  await page.click('dialog button.danger');
  await page.waitForFunction(() => { const tb = document.querySelector('table.table'); return tb && /Mean of 1 and 3/.test(tb.textContent) && !/\(copy\)/.test(tb.textContent); });
  await shot(page, 'computed-list-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('the computed channel editor on a phone', async () => {
  const page = await open('phone390', 'computed?new=1');
  await page.waitForSelector('[data-testid=computed-editor]');
  await typeExpr(page, 'SQR(SQ(CH1))');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=computed-preview-info]').dataset.samples) > 0);
  await assertFits(page, 'computed editor');
  await shot(page, 'computed-editor-phone');
  await page.context().close();
});

test('a HOK2 file in the drive is imported into measured channels, with progress', async () => {
  const page = await open('pc', 'drive');
  await page.setInputFiles('[data-testid=drive-upload-input]', hok2);
  await page.waitForSelector('tr[data-name="logger.hok2"] [data-testid=drive-import]');
  await page.click('tr[data-name="logger.hok2"] [data-testid=drive-import]');
  await page.waitForSelector('[data-testid=import-table]');
  assert.match(await page.textContent('[data-testid=import-status]'), /4 channels, 1,440 rows/);
  // The file's CH1..CH4 go to the seed's Temperature 1..4 (their names differ: chosen by hand).
  for (let i = 0; i < 4; i++) await page.selectOption(`[data-testid=import-target-${i}]`, String(seed.channels[i]));
  await page.selectOption('[data-testid=import-target-3]', '');
  await shot(page, 'import-pc');
  await page.click('[data-testid=import-start]');
  await page.waitForFunction(() => document.querySelector('[data-testid=import-status]').dataset.done === '3', null, { timeout: 60000 });
  assert.equal(await page.$eval('[data-testid=import-progress]', (p) => p.value), 1);
  // The result beside the bar (on a phone the dialog's top is scrolled away), the file's facts still at the top.
  assert.equal(await page.$eval('[data-testid=import-status]', (s) => s.nextElementSibling.dataset.testid), 'import-progress-row');
  assert.match(await page.textContent('dialog[open]'), /4 channels, 1,440 rows/);
  assert.match(await page.textContent('[data-testid=import-status]'), /Imported: 4,320 values \(channels: 3\)/);
  // Stored: the first rows of CH2 of the file are in Temperature 2.
  const start = Date.now() - (Date.now() % 86400000) - 2 * 86400000;
  const r = await seed.admin.get(`/api/v1/data/raw?channels=${seed.channels[1]}&from=${start * 1000}&to=${(start + 3 * 60000) * 1000}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.t.length, 3);
  await page.click('[data-testid=import-close]');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  // Below Pro: the dialog says the plan lacks it, and nothing can be started.
  const std = await open('phone390', 'drive', 'stdco');
  await std.setInputFiles('[data-testid=drive-upload-input]', hok2);
  await std.waitForSelector('tr[data-name="logger.hok2"] [data-testid=drive-import]');
  await std.click('tr[data-name="logger.hok2"] [data-testid=drive-import]');
  await std.waitForSelector('[data-testid=import-plan]');
  assert.match(await std.textContent('[data-testid=import-plan]'), /Standard plan does not include import of measured values/);
  assert.equal(await std.$eval('[data-testid=import-start]', (b) => b.disabled), true);
  await assertFits(std, 'import dialog');
  await shot(std, 'import-standard-phone');
  await std.context().close();
});
