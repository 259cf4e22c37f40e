// Monitor and notifications in Chromium: latest values (special values as
// words), a channel opens the viewer, the acquisition selection refused past
// P10 with the limit and the plan, high-speed mode's countdown, an
// instrument's firmware below the minimum with what it keeps from working
// and its upgrade asked of the app (I4, M6), an app just registered with
// no instruments or channels yet, the app self-check (M4)
// answered instrument by instrument, the unread badge, the
// unread/all filter and marking read. In the nginx and cors ways
// (docs/deploy.md, METRON_PORTAL_DEPLOY) only the first test, the
// notifications' and the app notices' run: the monitor's data through nginx
// at a sub-path or across origins, a reload, a channel opening the viewer;
// the badge's count and the marks read (writes with the CSRF token); the
// notices' sentences with the portal's own i18n.mjs; the others are the
// page's and the server's alike in every way (their requests go through
// the same API client).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, afterRender, portalModule, DEPLOY_WAY, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient } from '../server/data_helpers.mjs';

let env;
let seed;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  if (DEPLOY_WAY !== 'server') return; // freeco is the P10 test's, which the nginx and cors ways leave out
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

  // Values as a person reads them (chart/format.mjs value(), the rule of every place showing
  // one): 5 significant digits without the channel's decimals, whole digits never rounded
  // away, the channel's decimals when it has them (7 digits showed the converter's noise).
  let r = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const now = Date.now() * 1000;
  const tm = now - (now % 60e6) - 60e6;
  r = await appClient(env.apiUrl, r.body.credential).batch({ batch_id: 'digits-1', channels: [
    { id: seed.channels[0], t: [tm], v: [21.847362] }, { id: seed.channels[2], t: [tm], v: [12345.678] }] });
  assert.ok(r.status < 300, r.text);
  await page.reload();
  await waitForPage(page, 'monitor');
  await page.waitForFunction((id) => document.querySelector(`[data-channel="${id}"] .channel-value`)?.textContent !== '12.5', seed.channels[0]);
  assert.equal(await val(seed.channels[0]), '21.847');
  assert.equal(await val(seed.channels[2]), '12,346');
  r = await seed.admin.patch(`/api/v1/channels/${seed.channels[0]}`, { decimals: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await page.reload();
  await waitForPage(page, 'monitor');
  await page.waitForFunction((id) => document.querySelector(`[data-channel="${id}"] .channel-value`)?.textContent === '21.8', seed.channels[0]);
  assert.equal(await val(seed.channels[2]), '12,346');
  await shot(page, 'monitor-digits-pc', { fullPage: false });
  r = await seed.admin.patch(`/api/v1/channels/${seed.channels[0]}`, { decimals: null });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  // Any channel opens in the viewer.
  await page.click(`[data-channel="${seed.channels[0]}"]`);
  await page.waitForFunction((id) => location.hash === `#/viewer?channels=${id}`, seed.channels[0]);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('an app just registered is on the monitor, saying it has no instruments or no channels yet', SERVER_WAY_ONLY, async () => {
  await env.createAccount({ account: 'newco', plan: 'pro', user: 'admin', password: PASSWORD });
  const c = await env.login({ account: 'newco', user: 'admin', password: PASSWORD });
  const g = (await c.post('/api/v1/groups', { name: 'New line' })).body;
  const bare = (await c.post('/api/v1/apps', { kind: 'one', name: 'Fresh gateway', group_id: g.id })).body;
  const app = (await c.post('/api/v1/apps', { kind: 'one', name: 'Second gateway', group_id: g.id })).body;
  const dev = (await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SNNEW',
    name: 'New logger' })).body;
  assert.ok(bare.id && dev.id, JSON.stringify([bare, dev]));
  const page = await openPage(env);
  await signIn(page, { account: 'newco', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  const card = (id) => page.locator(`.app-card[data-app="${id}"]`);
  await card(bare.id).waitFor();
  await card(app.id).waitFor();
  assert.match(await card(bare.id).locator('h2').textContent(), /Fresh gateway/);
  assert.equal(await card(bare.id).locator('.empty').textContent(), 'This app has no instruments yet.');
  assert.match(await card(app.id).locator('.device h3').textContent(), /New logger/);
  assert.equal(await card(app.id).locator('.device .empty').textContent(), 'No channels yet.');
  assert.equal(await page.locator('.notice').count(), 0, 'not "no apps"');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('high-speed mode shows a countdown from 10 minutes and can be stopped', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.click('[data-testid=live-start]');
  const cd = page.locator('[data-testid=live-countdown]');
  await cd.waitFor();
  const first = await cd.textContent();
  assert.match(first, /^(10:00|9:[0-5]\d)$/);
  // It counts down: the next second's text, waited for (not a fixed 2.1 s).
  await page.waitForFunction((f) => {
    const t = document.querySelector('[data-testid=live-countdown]')?.textContent;
    return t && t !== f;
  }, first);
  assert.match(await cd.textContent(), /^(10:00|9:[0-5]\d)$/);
  await page.click('[data-testid=live-stop]');
  await page.waitForSelector('[data-testid=live-start]');
  await page.context().close();
});

test('choosing more channels than P10 allows is refused with the limit and the plan', SERVER_WAY_ONLY, async () => {
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

test('firmware (I4, M6): the monitor says what an old firmware keeps from working and asks the app for an upgrade', SERVER_WAY_ONLY, async () => {
  await env.createAccount({ account: 'fwco', plan: 'pro', user: 'admin', password: PASSWORD });
  const c = await env.login({ account: 'fwco', user: 'admin', password: PASSWORD });
  const g = (await c.post('/api/v1/groups', { name: 'Line 2' })).body;
  const app = (await c.post('/api/v1/apps', { kind: 'one', name: 'Old gateway', group_id: g.id })).body;
  const dev = (await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'SNOLD',
    name: 'Old logger', firmware: 'V1.40' })).body;
  assert.ok(dev.id, JSON.stringify(dev));
  for (const key of ['CH1', 'CH2']) {
    assert.equal((await c.post(`/api/v1/devices/${dev.id}/channels`, { key, name: key, unit: 'V' })).status, 201);
  }
  const page = await openPage(env);
  await signIn(page, { account: 'fwco', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  const why = page.locator('[data-testid=firmware-why]');
  await why.waitFor();
  assert.match(await page.textContent('[data-testid=device-firmware]'), /Firmware V1\.40/);
  assert.match(await why.textContent(), /^Firmware V1\.50 or later is needed for monitoring, .*alarms, and the console\.$/);
  await shot(page, 'monitor-firmware-pc');
  // On a phone the sentence wraps inside the page.
  await page.setViewportSize({ width: 390, height: 844 });
  const box = await why.boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  await shot(page, 'monitor-firmware-phone');
  await page.setViewportSize({ width: 1366, height: 768 });
  // An older version is refused in the dialog, with what was typed kept.
  await page.click('[data-testid=firmware-upgrade]');
  await page.fill('[data-testid=fw-version]', 'V1.30');
  await page.click('[data-testid=fw-submit]');
  const err = page.locator('[data-testid=fw-error]:not([hidden])');
  await err.waitFor();
  assert.match(await err.textContent(), /already runs this version or a newer one/);
  assert.equal(await page.inputValue('[data-testid=fw-version]'), 'V1.30');
  await page.fill('[data-testid=fw-version]', 'V2.30');
  await page.click('[data-testid=fw-submit]');
  await page.waitForSelector('[data-testid=fw-version]', { state: 'detached' });
  await page.waitForSelector('.toast >> text=asked to install firmware V2.30 on Old logger');
  // The app picks the request up and answers it, as metron-gateway does.
  const base = env.apiUrl || env.url;
  const auth = { authorization: `Bearer ${app.credential}`, 'content-type': 'application/json' };
  const pending = await (await fetch(`${base}/api/v1/ingest/requests`, { headers: auth })).json();
  assert.equal(pending.requests.length, 1);
  assert.equal(pending.requests[0].kind, 'firmware_upgrade');
  const ans = await fetch(`${base}/api/v1/ingest/requests/${pending.requests[0].id}`, { method: 'POST',
    headers: auth, body: JSON.stringify({ ok: true, message: 'installed', result: { firmware: 'V2.30' } }) });
  assert.equal(ans.status, 200, await ans.text());
  // The page follows the request: done, and the device shows its new firmware.
  await page.waitForSelector('.toast >> text=Old logger now runs firmware V2.30.');
  await page.waitForFunction(() => /Firmware V2\.30/.test(document.querySelector('[data-testid=device-firmware]')?.textContent || ''));
  assert.equal(await why.count(), 0, 'nothing is kept from working any more');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('self-check (M4): asked of the app from the monitor, its answer shown instrument by instrument', SERVER_WAY_ONLY, async () => {
  await env.createAccount({ account: 'scco', plan: 'pro', user: 'admin', password: PASSWORD });
  const c = await env.login({ account: 'scco', user: 'admin', password: PASSWORD });
  const g = (await c.post('/api/v1/groups', { name: 'Line 3' })).body;
  const app = (await c.post('/api/v1/apps', { kind: 'cross', name: 'Cross gateway', group_id: g.id })).body;
  const devs = [];
  for (const [model, name] of [['CM4372', 'Clamp A'], ['BT3554-50', 'Battery tester']]) {
    const d = (await c.post(`/api/v1/apps/${app.id}/devices`, { model, serial: `S${model}`, name })).body;
    assert.equal((await c.post(`/api/v1/devices/${d.id}/channels`, { key: 'CH1', name: 'CH1' })).status, 201);
    devs.push(d);
  }
  const page = await openPage(env);
  await signIn(page, { account: 'scco', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.click('[data-testid=self-check]');
  await page.waitForSelector('[data-testid=sc-result] >> text=Waiting for the app to answer');
  // The app answers as metron-gateway does.
  const base = env.apiUrl || env.url;
  const auth = { authorization: `Bearer ${app.credential}`, 'content-type': 'application/json' };
  const pending = await (await fetch(`${base}/api/v1/ingest/requests`, { headers: auth })).json();
  assert.deepEqual(pending.requests.map((r) => r.kind), ['self_check']);
  const result = { app: { software: 'metron-gateway 1', kind: 'cross', spooled_batches: 3 }, instruments: [
    { model: 'CM4372', serial: 'SCM4372', device_id: devs[0].id, communication: 'ok', channels: 1, selected: 1, state: 'ok', problems: [] },
    { model: 'BT3554-50', serial: 'SBT3554-50', device_id: devs[1].id, communication: 'ok', channels: 2, selected: 1, state: 'attention', problems: ['V: over range'] }] };
  const ans = await fetch(`${base}/api/v1/ingest/requests/${pending.requests[0].id}`, { method: 'POST',
    headers: auth, body: JSON.stringify({ ok: false, message: '1 of 2 instruments need attention', result }) });
  assert.equal(ans.status, 200, await ans.text());
  await page.waitForSelector('[data-testid=sc-result][data-state=failed]');
  assert.equal(await page.textContent('[data-testid=sc-summary]'), '1 of 2 instruments need attention.');
  const items = page.locator('[data-testid=sc-instruments] li');
  assert.equal(await items.count(), 2);
  assert.match(await items.nth(0).textContent(), /Clamp A.*Works.*1 of 1 channels acquired/);
  assert.match(await items.nth(1).textContent(), /Battery tester.*Needs attention.*1 of 2 channels acquired.*The app reports: V: over range/);
  assert.match(await page.textContent('[data-testid=sc-result]'), /Batches waiting in the app to be sent: 3/);
  await shot(page, 'monitor-self-check-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('notifications: the badge counts unread ones; filter, mark one and mark all read', async () => {
  // A member who sees no group, with two notifications of her own: the
  // server's own notices reach every user who sees the app's group and
  // every administrator (svc_alarm_notice.c), such as "[Connected] Gateway 1"
  // that the jobs thread writes for the seed's app at its first round, 60 s
  // after the server started: acme's admin had 3 when this test came later
  // than that (behind nginx at load 13-17, 2026-12-07: "the badge never
  // showed 2"), not a fault of the badge or of nginx.
  const { userId } = await env.createUser({ accountId: seed.accountId, user: 'nina', password: PASSWORD,
    role: 'member', userName: 'Nina Member' });
  await env.psql(`INSERT INTO notifications (account_id, user_id, kind, title, body) VALUES
    (${seed.accountId}, ${userId}, 'alarm', 'Temperature high on Boiler logger', 'CH1 went above 80 °C.'),
    (${seed.accountId}, ${userId}, 'licence', 'Your licence ends in 30 days', 'Renew it to keep your plan.')`);
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'nina', password: PASSWORD });
  const badge = page.locator('[data-testid=unread-badge]');
  await page.waitForFunction(() => document.querySelector('[data-testid=unread-badge]').textContent === '2');
  await page.click('#notif-link');
  await waitForPage(page, 'notifications');
  await page.waitForSelector('.notif-item');
  assert.equal(await page.locator('.notif-item').count(), 2);
  // Each of these draws the list again: wait for that render, not the list before it.
  const redrawn = (action) => afterRender(page, action, { route: 'notifications' });
  await redrawn(() => page.click('[data-testid=mark-read] >> nth=0'));
  await page.waitForFunction(() => document.querySelector('[data-testid=unread-badge]').textContent === '1');
  await redrawn(() => page.click('button[data-filter=unread]'));
  await page.waitForFunction(() => location.hash.includes('filter=unread'));
  await page.waitForFunction(() => document.querySelectorAll('.notif-item').length === 1);
  await shot(page, 'notifications-detail-pc');
  await redrawn(() => page.click('[data-testid=mark-all-read]'));
  await page.waitForFunction(() => /No unread notifications/.test(document.querySelector('#main').textContent));
  assert.equal(await badge.isHidden(), true);
  await redrawn(() => page.click('button[data-filter=all]'));
  await page.waitForFunction(() => document.querySelectorAll('.notif-item').length === 2);
  assert.equal(await page.locator('.notif-item.unread').count(), 0);
  await page.context().close();
});

test('app notices: the sentence in the reader\'s language with the time formatted in the shown zone, never a zone id', async () => {
  // The server's "[Connected] Gateway 1" wrote "2026-12-07 03:22:53 (Asia/Tokyo)":
  // it now carries the time as data ("at", UTC) and the portal writes the
  // sentence (alarms/notices.mjs noticeBody()); one stored before keeps
  // sense without its time. It imports the portal's own i18n.mjs
  // (portalModule(): under release/<id>/ in the nginx and cors ways).
  const { userId } = await env.createUser({ accountId: seed.accountId, user: 'noel', password: PASSWORD,
    role: 'member', userName: 'Noel Member' });
  await env.psql(`INSERT INTO notifications (account_id, user_id, kind, title, body, data) VALUES
    (${seed.accountId}, ${userId}, 'notice.app_connected', '[Connected] Gateway 1',
     'The app "Gateway 1" is sending again since 2026-12-07 03:22:53 (Asia/Tokyo).',
     '{"app_id": 1, "group_id": 0, "connected": true}'),
    (${seed.accountId}, ${userId}, 'notice.app_disconnected', '[Disconnected] Gateway 2',
     'The app "Gateway 2" has sent nothing since 2026-12-07 03:22:53 (Asia/Tokyo); it counts as disconnected after 10 minutes without data.',
     '{"app_id": 2, "group_id": 0, "connected": false, "app_name": "Gateway 2", "cause": "timeout", "at": "2026-12-07T03:22:53Z", "minutes": 10}'),
    (${seed.accountId}, ${userId}, 'notice.app_connected', '[Connected] Gateway 3',
     'The app "Gateway 3" is sending again since 2026-12-07 03:22:53 (UTC).',
     '{"app_id": 3, "group_id": 0, "connected": true, "app_name": "Gateway 3", "cause": "data", "at": "2026-12-07T03:22:53Z", "minutes": 10}')`);
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'noel', password: PASSWORD });
  await page.click('#notif-link');
  await waitForPage(page, 'notifications');
  await page.waitForFunction(() => document.querySelectorAll('.notif-item').length === 3);
  const i18n = await portalModule(page, 'js/i18n.mjs');
  const when = await page.evaluate(async (u) => (await import(u)).formatDateTime('2026-12-07T03:22:53Z', { seconds: true }), i18n);
  const bodies = await page.locator('.notif-body').allTextContents();
  const of = (app) => bodies.find((b) => b.includes(`“${app}”`));
  assert.equal(of('Gateway 3'), `The app “Gateway 3” has been sending again since ${when}.`);
  assert.equal(of('Gateway 2'), `The app “Gateway 2” has sent nothing since ${when}; it counts as disconnected after 10 minutes without data.`);
  assert.equal(of('Gateway 1'), 'The app “Gateway 1” is sending again.');
  for (const b of bodies) assert.doesNotMatch(b, /Asia\/Tokyo|\(UTC\)|2026-12-07 03:22:53/, b);
  // Another language: the same data, its own sentence.
  await page.evaluate(async (u) => { await (await import(u)).setLanguage('ja', { remember: false }); }, i18n);
  await page.click('#notif-link');
  await page.waitForFunction(() => [...document.querySelectorAll('.notif-body')].some((b) => b.textContent.includes('アプリ「Gateway 3」')));
  const ja = await page.evaluate(async (u) => (await import(u)).formatDateTime('2026-12-07T03:22:53Z', { seconds: true }), i18n);
  const jaBodies = await page.locator('.notif-body').allTextContents();
  assert.ok(jaBodies.includes(`アプリ「Gateway 3」は ${ja} から再びデータを送信しています。`), JSON.stringify(jaBodies));
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
  // The rows stored the old way carry the zone id on purpose: gone before
  // the stack's end sweeps the inboxes for codes (destroyChecked()).
  await env.psql(`DELETE FROM notifications WHERE user_id = ${userId}`);
});

test('the monitor writes dates in the portal\'s one form: the medium date with seconds (German, Chinese)', SERVER_WAY_ONLY, async () => {
  // The latest value's time had the short date ("07.12.26", "2026/12/7") where
  // the rest of the portal writes "07.12.2026" (i18n.mjs formatDateTime, chart/format.mjs dateForm()).
  const before = (await seed.admin.get('/api/v1/me')).body;
  const FORMS = {
    de: /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}$/,
    'zh-CN': /^\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}$/,
  };
  try {
    for (const [lang, form] of Object.entries(FORMS)) {
      const r = await seed.admin.patch('/api/v1/me', { language: lang });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const page = await openPage(env);
      await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
      await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      await waitForPage(page, 'monitor');
      const time = page.locator(`[data-channel="${seed.channels[0]}"] .channel-time`);
      await page.waitForFunction((id) => document.querySelector(`[data-channel="${id}"] .channel-time`)?.textContent, seed.channels[0]);
      assert.match(await time.textContent(), form, lang);
      await page.context().close();
    }
  } finally {
    await seed.admin.patch('/api/v1/me', { language: before.language || 'en' });
  }
});
