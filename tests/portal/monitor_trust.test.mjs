// A monitor that can be trusted (issue 18, item 3), in Chromium:
// - an app shows "Connected" only while the server heard from it within the
//   last 3 minutes (the documented rule, shown on the page); 11 minutes
//   after its last contact it shows "No contact" and when that was;
// - every value shows its age and is marked "not current" after 3 minutes;
//   ages move on without a reload;
// - special values are shown as words with the chart's mark, never numbers;
// - high-speed mode says when it ends and whether 5-second values arrive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, assertFits } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient } from '../server/data_helpers.mjs';

let env, seed, ingest, credential;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  const r = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
  credential = r.body.credential;
  ingest = appClient(env.apiUrl, credential);
});

/** 5-second values, as a gateway app sends them in high-speed mode (docs/ingest.md). */
async function sendLive(body) {
  const r = await fetch(`${env.url}/api/v1/ingest/live`, { method: 'POST',
    headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
}
after(async () => { if (env) await env.stop(); });

const card = (id) => `[data-channel="${id}"]`;

test('connected only while the app is heard from; every value has an age and goes stale', async () => {
  // A fresh value on CH1 now; CH2 and CH3 keep the seed's values of ~9 minutes ago.
  const now = Date.now() * 1000;
  let r = await ingest.batch({ batch_id: 'fresh-1', channels: [{ id: seed.channels[0], t: [now - (now % 1e6)], v: [21.75] }] });
  assert.ok(r.status < 300, r.text);
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.waitForSelector('.app-card');
  assert.equal(await page.getAttribute('[data-testid=app-state]', 'data-state'), 'connected');
  assert.match(await page.textContent('[data-testid=app-contact]'), /Last contact .*(now|second)/);
  assert.match(await page.textContent('[data-testid=stale-rule]'), /3 minutes/);
  // The fresh value is current, with its age; the old ones are marked.
  assert.equal(await page.getAttribute(card(seed.channels[0]), 'data-stale'), 'false');
  assert.match(await page.textContent(`${card(seed.channels[0])} [data-testid=channel-age]`), /now|second/);
  assert.equal(await page.getAttribute(card(seed.channels[2]), 'data-stale'), 'true');
  assert.match(await page.textContent(`${card(seed.channels[2])} [data-testid=channel-age]`), /Not current: \d+ minutes ago/);
  // A special value is a word with the chart's mark, not a number.
  const sp = `${card(seed.channels[1])} [data-testid=channel-value]`;
  assert.equal(await page.getAttribute(sp, 'data-special'), '+over');
  assert.equal(await page.textContent(sp), '▲ Over range (+)');
  await shot(page, 'monitor-trust-pc');

  // 11 minutes without contact (the app still says it is connected): "No contact".
  await env.psql(`UPDATE app_seen SET last_seen_at = now() - interval '11 minutes' WHERE app_id = ${seed.appId}`);
  await page.click('.page-head button[aria-label=Refresh]');
  await page.waitForFunction(() => document.querySelector('[data-testid=app-state]')?.dataset.state === 'no_contact');
  assert.equal(await page.textContent('[data-testid=app-state]'), 'No contact');
  assert.match(await page.textContent('[data-testid=app-contact]'), /Last contact 11 minutes ago/);
  // An app that said goodbye is "Not connected".
  r = await ingest.status('disconnect');
  assert.ok(r.status < 300, r.text);
  await page.click('.page-head button[aria-label=Refresh]');
  await page.waitForFunction(() => document.querySelector('[data-testid=app-state]')?.dataset.state === 'disconnected');
  await shot(page, 'monitor-no-contact-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('ages move on without a reload', async () => {
  const now = Date.now() * 1000;
  const r = await ingest.batch({ batch_id: 'fresh-2', channels: [{ id: seed.channels[0], t: [now - (now % 1e6)], v: [22] }] });
  assert.ok(r.status < 300, r.text);
  const page = await openPage(env, { clock: true });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  const ageSel = `${card(seed.channels[0])} [data-testid=channel-age]`;
  await page.waitForSelector(ageSel);
  const first = await page.textContent(ageSel);
  // The 10-second redraw changes "now" / "N seconds ago" without a request
  // (the page's clock moved on 10 s rather than waited for).
  await page.clock.fastForward(10000);
  await page.waitForFunction(([sel, was]) => document.querySelector(sel).textContent !== was, [ageSel, first], { timeout: 25000 });
  await page.context().close();
});

test('high-speed mode: when it ends, and whether 5-second values arrive', async () => {
  const page = await openPage(env, { size: 'phone390', clock: true });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.click('[data-testid=live-start]');
  await page.waitForSelector('[data-testid=live-ends]');
  assert.match(await page.textContent('[data-testid=live-ends]'), /ends at \d{1,2}:\d{2}/);
  assert.equal(await page.getAttribute('[data-testid=live-arrival]', 'data-state'), 'waiting');
  // The app sends 5-second values: "arriving", and the card shows the newest.
  const now = Date.now() * 1000;
  const r = await sendLive({ batch_id: 'live-1',
    channels: [{ id: seed.channels[0], t: [now - 5e6, now], v: [30.5, 31.25] }] });
  assert.ok(r.status < 300, r.text);
  await page.waitForFunction(() => document.querySelector('[data-testid=live-arrival]')?.dataset.state === 'arriving', null, { timeout: 15000 });
  await page.waitForFunction((sel) => document.querySelector(sel).textContent === '31.25', `${card(seed.channels[0])} [data-testid=channel-value]`);
  await assertFits(page, 'monitor in high-speed mode');
  await shot(page, 'monitor-live-phone');
  // Nothing more for 15 s: "stopped" (the page's clock moved on 16 s rather
  // than waited for).
  await page.clock.fastForward(16000);
  await page.waitForFunction(() => document.querySelector('[data-testid=live-arrival]')?.dataset.state === 'stalled', null, { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=live-arrival]'), /stopped/);
  await page.click('[data-testid=live-stop]');
  await page.waitForSelector('[data-testid=live-ended]');
  assert.match(await page.textContent('[data-testid=live-ended]'), /ended at/);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
