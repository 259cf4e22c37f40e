// Monitor and notifications in Chromium: latest values (special values as
// words), a channel opens the viewer, the acquisition selection refused past
// P10 with the limit and the plan, high-speed mode's countdown, the unread
// badge, the unread/all filter and marking read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

let env;
let seed;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  // A Free account whose One app has a logger with 31 channels (P10: 30 on Free).
  await env.createAccount({ account: 'freeco', plan: 'free', user: 'admin', password: PASSWORD });
  const c = await env.login({ account: 'freeco', user: 'admin', password: PASSWORD });
  const g = (await c.post('/api/v1/groups', { name: 'Line 1' })).body;
  const app = (await c.post('/api/v1/apps', { kind: 'one', name: 'One gateway', group_id: g.id })).body;
  const dev = (await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SN31' })).body;
  assert.ok(dev.id, JSON.stringify(dev));
  for (let i = 1; i <= 31; i++) {
    const r = await c.post(`/api/v1/devices/${dev.id}/channels`, { key: `CH${i}`, name: `Ch ${i}` });
    assert.equal(r.status, 201);
  }
});
after(async () => { if (env) await env.stop(); });

test('the monitor shows apps, devices and channels with their latest values; special values as words', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.waitForSelector('.app-card');
  assert.match(await page.textContent('.app-card h2'), /Gateway 1/);
  assert.match(await page.textContent('.device h3'), /Boiler logger/);
  const val = (id) => page.textContent(`[data-channel="${id}"] .channel-value`);
  assert.equal(await val(seed.channels[0]), '12.5');
  assert.match(await val(seed.channels[1]), /Over range \(\+\)/);
  assert.match(await page.getAttribute(`[data-channel="${seed.channels[1]}"] .channel-value`, 'class'), /special/);
  assert.equal(await val(seed.channels[2]), '-3.25');
  assert.equal(await val(seed.channels[3]), 'No value yet');
  assert.match(await page.textContent('.app-card'), /Connected|Not connected/);
  // The header's group selector holds the current group (M1, saved on the server).
  assert.equal(await page.inputValue('#group-select'), String(seed.groupId));
  const cur = await seed.admin.get('/api/v1/me/group');
  assert.equal(cur.body.group.id, seed.groupId);
  await shot(page, 'monitor-detail-pc');
  // Any channel opens in the viewer.
  await page.click(`[data-channel="${seed.channels[0]}"]`);
  await page.waitForFunction((id) => location.hash === `#/viewer?channels=${id}`, seed.channels[0]);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('high-speed mode shows a countdown from 10 minutes and can be stopped', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.click('[data-testid=live-start]');
  const cd = page.locator('[data-testid=live-countdown]');
  await cd.waitFor();
  const first = await cd.textContent();
  assert.match(first, /^(10:00|9:[0-5]\d)$/);
  await page.waitForTimeout(2100);
  assert.notEqual(await cd.textContent(), first);
  await page.click('[data-testid=live-stop]');
  await page.waitForSelector('[data-testid=live-start]');
  await page.context().close();
});

test('choosing more channels than P10 allows is refused with the limit and the plan', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'freeco', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.click('[data-testid=select-channels]');
  await page.waitForSelector('#selection-form');
  assert.match(await page.textContent('[data-testid=selection-count]'), /0 of 30/);
  const boxes = page.locator('#selection-form input[type=checkbox]');
  assert.equal(await boxes.count(), 31);
  for (let i = 0; i < 31; i++) await boxes.nth(i).check();
  assert.match(await page.textContent('[data-testid=selection-count]'), /31 of 30/);
  await page.click('#selection-form button[type=submit]');
  const err = page.locator('[data-testid=selection-error]:not([hidden])');
  await err.waitFor();
  const text = await err.textContent();
  assert.match(text, /Free/);
  assert.match(text, /\b30\b/);
  assert.match(text, /selected channels per instrument/);
  assert.doesNotMatch(text, /P10|plan_limit/, 'no internal code');
  // 30 fit.
  await boxes.nth(30).uncheck();
  await page.click('#selection-form button[type=submit]');
  await page.waitForSelector('#selection-form', { state: 'detached' });
  await page.waitForSelector('.channel:not(.unselected)');
  assert.equal(await page.locator('.channel:not(.unselected)').count(), 30);
  await page.context().close();
});

test('notifications: the badge counts unread ones; filter, mark one and mark all read', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  const badge = page.locator('[data-testid=unread-badge]');
  await page.waitForFunction(() => document.querySelector('[data-testid=unread-badge]').textContent === '2');
  await page.click('#notif-link');
  await waitForPage(page, 'notifications');
  await page.waitForSelector('.notif-item');
  assert.equal(await page.locator('.notif-item').count(), 2);
  await page.click('[data-testid=mark-read] >> nth=0');
  await page.waitForFunction(() => document.querySelector('[data-testid=unread-badge]').textContent === '1');
  await page.click('button[data-filter=unread]');
  await page.waitForFunction(() => location.hash.includes('filter=unread'));
  await page.waitForFunction(() => document.querySelectorAll('.notif-item').length === 1);
  await shot(page, 'notifications-detail-pc');
  await page.click('[data-testid=mark-all-read]');
  await page.waitForFunction(() => /No unread notifications/.test(document.querySelector('#main').textContent));
  assert.equal(await badge.isHidden(), true);
  await page.click('button[data-filter=all]');
  await page.waitForFunction(() => document.querySelectorAll('.notif-item').length === 2);
  assert.equal(await page.locator('.notif-item.unread').count(), 0);
  await page.context().close();
});
