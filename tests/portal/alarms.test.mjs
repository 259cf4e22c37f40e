// Alarms in the portal (issue 13, item 8) in Chromium against the real
// server: the condition builder and the rule text as core writes it; the
// preview evaluated in the browser by the wasm evaluator over 7 days of
// stored data, compared with the events the server recorded when the same
// data arrived (the same evaluator: the raise and clear times must be
// identical); the history and acknowledgement with a comment; the raised
// alarms on the monitor; destinations with a test send to a local webhook
// receiver and the delivery log; the unread count in the header and the
// notifications as sentences; every page at 390×844 and in the languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, sleep, gotoRoute, afterRender, docShot, openSignedIn, portalModule } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { startWebhookReceiver } from '../server/webhook_receiver.mjs';

let env, seed, ingest, rx;
let batchN = 0;

before(async () => {
  env = await startStack({ smtp: true, env: {
    METRON_NOTIFY_ALLOW_LOCAL: '1', METRON_NOTIFY_BACKOFF_MS: '300', METRON_NOTIFY_BACKOFF_MAX_MS: '600',
    METRON_NOTIFY_RATE_MS: '0,0,0,0', METRON_NOTIFY_TIMEOUT_MS: '3000', METRON_NOTIFY_LEASE_MS: '5000',
  } });
  seed = await seedAccount(env);
  const r = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
  ingest = appClient(env.apiUrl, r.body.credential);
  rx = await startWebhookReceiver();
});
after(async () => {
  if (rx) await rx.stop();
  if (env) await env.stop();
});

async function open(route, opts = {}) {
  const page = await openSignedIn(env, route, PASSWORD, opts);
  await waitForPage(page, route.split('?')[0].replace(/\/\d+$/, ''));
  return page;
}

/** Send samples (µs times) of channels {id: [[t, v], ...]} as one batch. */
async function send(series) {
  const channels = Object.entries(series).map(([id, rows]) => ({ id: Number(id), t: rows.map((x) => x[0]), v: rows.map((x) => x[1]) }));
  const r = await ingest.batch({ batch_id: `alarm-ui-${++batchN}`, channels });
  assert.ok(r.status < 300, r.text);
}

const ruleState = (page) => page.waitForFunction(() => {
  const e = document.querySelector('[data-testid=alarm-rule-state]');
  return e && e.dataset.ok !== undefined && e.textContent;
}).then(() => page.evaluate(() => ({
  ok: document.querySelector('[data-testid=alarm-rule-state]').dataset.ok === 'true',
  state: document.querySelector('[data-testid=alarm-rule-state]').textContent,
  text: document.querySelector('[data-testid=alarm-rule-text]').textContent,
  sentence: document.querySelector('[data-testid=alarm-sentence]').textContent,
})));

test('the condition builder writes the rule as core does, explains it and refuses what core refuses', async () => {
  const page = await open('alarms?new=1');
  await page.waitForSelector('[data-testid=alarm-editor]');
  await page.fill('[data-testid=alarm-name]', 'Boiler hot at night');
  // CH1 = Temperature 1 (the first channel) > 30 ...
  await page.selectOption('[data-testid=alarm-cond1-op]', '>');
  await page.fill('[data-testid=alarm-cond1-value]', '30');
  let s = await ruleState(page);
  assert.equal(s.ok, true, s.state);
  assert.equal(s.text, 'CH1 > 30');
  assert.match(s.sentence, /Temperature 1 is above 30 °C/);
  // ... AND a second channel at or below 5, for 5 minutes, clear after 10, hysteresis 0.5,
  // from 22:00 to 06:00 (across midnight) at UTC+08:00.
  await page.click('[data-testid=alarm-add-condition]');
  await page.selectOption('[data-testid=alarm-cond2-slot]', '2');
  await page.selectOption('[data-testid=alarm-ch2]', String(seed.channels[1]));
  await page.selectOption('[data-testid=alarm-cond2-op]', '<=');
  await page.fill('[data-testid=alarm-cond2-value]', '5');
  await page.fill('[data-testid=alarm-raise-n]', '5');
  await page.selectOption('[data-testid=alarm-raise-unit]', 'm');
  await page.uncheck('[data-testid=alarm-clear-same]');
  await page.fill('[data-testid=alarm-clear-n]', '600');
  await page.fill('[data-testid=alarm-hyst]', '0.5');
  await page.selectOption('[data-testid=alarm-window]', 'during');
  await page.fill('[data-testid=alarm-start]', '22:00');
  await page.fill('[data-testid=alarm-end]', '06:00');
  await page.selectOption('[data-testid=alarm-offset]', '480');
  s = await ruleState(page);
  assert.equal(s.ok, true, s.state);
  // core's canonical text: 600 s becomes 10m, the keywords in core's order.
  assert.equal(s.text, 'CH1 > 30 AND CH2 <= 5 FOR 5m CLEAR 10m HYST 0.5 DURING 22:00-06:00 TZ +08:00');
  assert.match(s.sentence, /Temperature 1 is above 30 °C and Temperature 2 is 5 °C or below for 5 minutes/);
  assert.match(s.sentence, /from 22:00 to 06:00 the next morning \(UTC\+08:00\)/);
  // The two range modes.
  await page.selectOption('[data-testid=alarm-cond2-op]', 'outside[]');
  await page.fill('[data-testid=alarm-cond2-low]', '10');
  await page.fill('[data-testid=alarm-cond2-high]', '20');
  s = await ruleState(page);
  assert.equal(s.text, 'CH1 > 30 AND CH2 OUTSIDE [10, 20] FOR 5m CLEAR 10m HYST 0.5 DURING 22:00-06:00 TZ +08:00');
  await page.selectOption('[data-testid=alarm-cond2-op]', 'outside()');
  s = await ruleState(page);
  assert.match(s.text, /CH2 OUTSIDE \(10, 20\)/);
  // What core refuses is said in words, at its field: bounds the wrong way round ...
  await page.fill('[data-testid=alarm-cond2-high]', '9');
  s = await ruleState(page);
  assert.equal(s.ok, false);
  assert.equal(s.state, 'The lower bound must be below the upper bound.');
  await page.fill('[data-testid=alarm-cond2-high]', '10.8');
  // ... a hysteresis too wide for the range (2 × 0.5 ≥ 0.8) ...
  s = await ruleState(page);
  assert.equal(s.ok, false);
  assert.match(s.state, /hysteresis must be less than half the width of the range \(0\.8\)/);
  await page.fill('[data-testid=alarm-cond2-high]', '20');
  // ... off-hours of an all-day window.
  await page.selectOption('[data-testid=alarm-window]', 'offhours');
  await page.fill('[data-testid=alarm-end]', '22:00');
  s = await ruleState(page);
  assert.equal(s.ok, false);
  assert.match(s.state, /would never be active/);
  await page.fill('[data-testid=alarm-end]', '06:00');
  s = await ruleState(page);
  assert.equal(s.text, 'CH1 > 30 AND CH2 OUTSIDE (10, 20) FOR 5m CLEAR 10m HYST 0.5 OFFHOURS DURING 22:00-06:00 TZ +08:00');
  assert.match(s.sentence, /Active only outside 22:00 to 06:00/);
  // OR, and both conditions on the same channel.
  await page.selectOption('[data-testid=alarm-join]', 'OR');
  await page.selectOption('[data-testid=alarm-cond2-slot]', '1');
  await page.selectOption('[data-testid=alarm-cond2-op]', '<');
  await page.fill('[data-testid=alarm-cond2-value]', '-5');
  await page.selectOption('[data-testid=alarm-window]', 'always');
  s = await ruleState(page);
  assert.equal(s.text, 'CH1 > 30 OR CH1 < -5 FOR 5m CLEAR 10m HYST 0.5');
  assert.equal(await page.isVisible('[data-testid=alarm-ch2]'), false);

  // The rule language: typed text is read by core; a mistake is named by its place.
  await page.click('[data-testid=alarm-text-edit]');
  await page.fill('[data-testid=alarm-text-input]', 'CH1 >= 1e3 XOR CH2 < 1');
  await page.click('[data-testid=alarm-text-apply]');
  assert.equal(await page.textContent('[data-testid=alarm-text-state]'), 'The rule text is not understood from character 12 on.');
  await page.fill('[data-testid=alarm-text-input]', 'ch1>=1e3 or ch2<1 for 90s offhours during 08:00-18:00 tz -05:30');
  await page.click('[data-testid=alarm-text-apply]');
  s = await ruleState(page);
  assert.equal(s.text, 'CH1 >= 1000 OR CH2 < 1 FOR 90s OFFHOURS DURING 08:00-18:00 TZ -05:30');
  assert.equal(await page.inputValue('[data-testid=alarm-raise-n]'), '90');
  assert.equal(await page.inputValue('[data-testid=alarm-offset]'), '-330');
  assert.equal(await page.isVisible('[data-testid=alarm-ch2]'), true);
  await shot(page, 'alarms-editor-pc');

  // Saved: the list shows it, its sentence and core's text.
  await page.check('[data-testid=alarm-notify-clear]');
  await page.fill('[data-testid=alarm-repeat]', '30');
  await page.selectOption('[data-testid=alarm-language]', 'de');
  // Saved, the page draws the list (the same route): wait for that render.
  await afterRender(page, () => page.click('[data-testid=alarm-save]'), { route: 'alarms' });
  await waitForPage(page, 'alarms');
  await page.waitForSelector('[data-testid=alarm-list] tbody tr');
  const row = await page.textContent('[data-testid=alarm-list] tbody tr');
  assert.match(row, /Boiler hot at night/);
  assert.match(row, /CH1 >= 1000 OR CH2 < 1 FOR 90s OFFHOURS DURING 08:00-18:00 TZ -05:30/);
  const saved = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/alarms`)).body.items.find((x) => x.name === 'Boiler hot at night');
  assert.equal(saved.rule, 'CH1 >= 1000 OR CH2 < 1 FOR 90s OFFHOURS DURING 08:00-18:00 TZ -05:30');
  assert.deepEqual(saved.channels, [seed.channels[0], seed.channels[1]]);
  assert.equal(saved.language, 'de');
  assert.equal(saved.repeat_minutes, 30);
  assert.equal(saved.notify_clear, true);
  // A no-data rule.
  await page.click('[data-testid=alarm-new]');
  await page.waitForSelector('[data-testid=alarm-editor]');
  await page.fill('[data-testid=alarm-name]', 'Logger silent');
  await page.click('[data-testid=alarm-kind-no_data]');
  await page.fill('[data-testid=alarm-nodata-minutes]', '20');
  s = await ruleState(page);
  assert.match(s.sentence, /has sent nothing for 20 minutes/);
  await afterRender(page, () => page.click('[data-testid=alarm-save]'), { route: 'alarms' });
  await page.waitForSelector('[data-testid=alarm-list] tbody tr:nth-child(2)');
  assert.match(await page.textContent('[data-testid=alarm-list]'), /No data for 20 min/);
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});

// ------------------------------------------------------------------ the preview is exact

/** A deterministic noise in [-1, 1). */
function noise(i) {
  let x = (i * 2654435761) % 4294967296;
  x = (x ^ (x >>> 13)) * 1274126177 % 4294967296;
  return ((x >>> 0) / 4294967296) * 2 - 1;
}

test('the preview evaluates the rule in the browser exactly as the server did when the data arrived', async () => {
  const [c1, c2] = seed.channels;
  // Two rules that existed before the data: the server evaluates each batch as it arrives.
  await env.setClock(-8 * 86400);
  const mk = async (name, rule, channels) => {
    const r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`, { name, rule, channels, notify_clear: true });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  let ruleA, ruleB;
  try {
    ruleA = await mk('Hot and dry at night', 'CH1 > 30 AND CH2 <= 5 FOR 5m CLEAR 10m HYST 0.5 DURING 22:00-06:00 TZ +08:00', [c1, c2]);
    ruleB = await mk('Out of band', 'CH1 OUTSIDE [10, 28] FOR 3m HYST 1', [c1]);
  } finally {
    await env.setClock(0);
  }
  // Seven days of one-minute samples, oldest first, in 6-hour batches: CH1 a
  // 7-hour wave with noise (it hovers at the thresholds), CH2 an 11-hour wave,
  // a few sensor breaks and over-range values.
  const now = Date.now() * 1000;
  const n = 7 * 1440 - 30;
  const t0 = now - (now % MIN_US) - 7 * 1440 * MIN_US + 20 * MIN_US;
  const v1 = (i) => (i % 997 === 500 ? 'break' : i % 1499 === 700 ? '+over' : 20 + 12 * Math.sin((2 * Math.PI * i) / 420) + 1.5 * noise(i));
  const v2 = (i) => 5 + 4 * Math.sin((2 * Math.PI * i) / 660) + 0.5 * noise(i + 7);
  for (let s = 0; s < n; s += 360) {
    const rows1 = [], rows2 = [];
    for (let i = s; i < Math.min(n, s + 360); i++) {
      rows1.push([t0 + i * MIN_US, v1(i)]);
      rows2.push([t0 + i * MIN_US, v2(i)]);
    }
    await send({ [c1]: rows1, [c2]: rows2 });
  }
  // What the server recorded.
  async function serverEvents(ruleId) {
    const out = [];
    let before = null;
    for (;;) {
      const r = await seed.admin.get(`/api/v1/alarm-events?rule_id=${ruleId}&limit=200${before ? `&before=${before}` : ''}`);
      assert.equal(r.status, 200);
      out.push(...r.body.items);
      if (!r.body.next_before) break;
      before = r.body.next_before;
    }
    return {
      raise: out.filter((e) => e.kind === 'raise').map((e) => e.t).sort((a, b) => a - b),
      clear: out.filter((e) => e.kind === 'clear').map((e) => e.t).sort((a, b) => a - b),
      late: out.filter((e) => e.late).length,
    };
  }
  const page = await open('alarms');
  for (const [rule, wantSome] of [[ruleA, 3], [ruleB, 5]]) {
    const server = await serverEvents(rule.id);
    assert.equal(server.late, 0, 'the batches arrived in order: no history');
    assert.ok(server.raise.length >= wantSome, `${rule.name}: only ${server.raise.length} raises`);
    await gotoRoute(page, `${env.url}/#/alarms?edit=${rule.id}`);
    await page.waitForFunction(() => {
      const e = document.querySelector('[data-testid=alarm-preview-info]');
      return e && e.dataset.state === 'done';
    }, null, { timeout: 60000 });
    const preview = await page.evaluate(() => ({
      raise: [...document.querySelectorAll('[data-testid=preview-raise]')].map((e) => Number(e.dataset.t)),
      clear: [...document.querySelectorAll('[data-testid=preview-clear]')].map((e) => Number(e.dataset.t)),
      marksRaise: [...document.querySelectorAll('[data-testid=preview-mark][data-kind=raise]')].map((e) => Number(e.dataset.t)),
      marksClear: [...document.querySelectorAll('[data-testid=preview-mark][data-kind=clear]')].map((e) => Number(e.dataset.t)),
      info: document.querySelector('[data-testid=alarm-preview-info]').textContent,
      legend: document.querySelector('[data-testid=chart-legend]').textContent,
    }));
    assert.deepEqual(preview.raise, server.raise, `${rule.name}: raise times`);
    assert.deepEqual(preview.clear, server.clear, `${rule.name}: clear times`);
    // Every raise and clear is marked on the chart, at its time.
    assert.deepEqual(preview.marksRaise.sort((a, b) => a - b), server.raise);
    assert.deepEqual(preview.marksClear.sort((a, b) => a - b), server.clear);
    assert.match(preview.info, new RegExp(`would have been raised ${server.raise.length} times`));
    assert.match(preview.legend, /Temperature 1/);
    if (rule === ruleA) {
      assert.match(preview.legend, /Temperature 2/);
      await docShot(page, 'alarms-preview-pc');
    }
    // Marks sit where their times are on the time axis.
    const placed = await page.evaluate(() => {
      const u = document.querySelector('[data-testid=alarm-preview-chart]').__chart.uplot;
      return [...document.querySelectorAll('[data-testid=preview-mark]')].slice(0, 5)
        .map((e) => Math.abs(parseFloat(e.style.left) - u.valToPos(Number(e.dataset.t) / 1000, 'x')));
    });
    assert.ok(placed.every((d) => d < 1), JSON.stringify(placed));
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// ------------------------------------------------------------------ history, acknowledgement, monitor, inbox

test('a raised alarm: on the monitor, in the header count and the notifications, acknowledged with a comment in the history', async () => {
  const c1 = seed.channels[0];
  await env.setClock(-86400);
  let rule;
  try {
    const r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`,
      { name: 'Boiler over 80', rule: 'CH1 > 80', channels: [c1], notify_clear: true, severity: 'alert' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    rule = r.body;
  } finally {
    await env.setClock(0);
  }
  await seed.admin.post('/api/v1/notifications/read-all', {});
  const page = await open('monitor', { clock: true });
  assert.equal(await page.isVisible('[data-testid=unread-badge]'), false);
  const now = Date.now() * 1000;
  const t1 = now - (now % MIN_US) - 2 * MIN_US;
  await send({ [c1]: [[t1, 85.5]] });
  // The monitor shows it (after its refresh), the header counts the notification.
  await page.click('.page-tools button:has(svg)'); // Refresh
  await page.waitForSelector('[data-testid=raised-alarm]');
  const line = await page.textContent('[data-testid=raised-alarms]');
  assert.match(line, /The alarm “Boiler over 80” was raised at .*: Temperature 1 85\.5 °C\./);
  // The shell asks for the count on a page change, at most every 2 s: its
  // clock moved on rather than waited for.
  await page.clock.fastForward(2100);
  await gotoRoute(page, `${env.url}/#/alarms`);
  await page.waitForFunction(() => !document.querySelector('[data-testid=unread-badge]').hidden);
  const unread = (await seed.admin.get('/api/v1/notifications/unread-count')).body.unread;
  assert.ok(unread >= 1);
  assert.equal(await page.textContent('[data-testid=unread-badge]'), String(unread));
  // The list shows the alarm raised.
  await page.waitForSelector('[data-testid=alarm-state][data-state=raised]');
  await docShot(page, 'alarms-list-pc', { fullPage: false });
  // The notification: a sentence, its kind, a link to the event.
  await gotoRoute(page, `${env.url}/#/notifications?filter=unread`);
  await page.waitForSelector('[data-testid=notif-kind][data-kind="alarm.raise"]');
  const item = page.locator('.notif-item', { has: page.locator('[data-kind="alarm.raise"]') }).first();
  // Told again from the event, in the portal's language and time zone, with the values.
  await item.locator('.notif-body[data-retold=true]').waitFor();
  assert.equal(await item.locator('h3').textContent(), 'New AlarmBoiler over 80');
  assert.match(await item.locator('.notif-body').textContent(), /^The alarm “Boiler over 80” was raised at .*: Temperature 1 85\.5 °C\.$/);
  await docShot(page, 'alarms-notifications-pc', { fullPage: false });
  await item.locator('[data-testid=notif-open-event]').click();
  await waitForPage(page, 'alarms/events');
  await page.waitForSelector('[data-testid=event]');
  assert.match(await page.textContent('[data-testid=event-sentence]'), /Boiler over 80/);
  // Acknowledge with a comment.
  await gotoRoute(page, `${env.url}/#/alarms/events?rule=${rule.id}`);
  await page.waitForSelector('[data-testid=event] [data-testid=event-ack-button]');
  await page.click('[data-testid=event] [data-testid=event-ack-button]');
  await page.fill('[data-testid=ack-comment]', 'Burner valve stuck; technician on the way.');
  await page.click('dialog button[data-value=true]');
  await page.waitForSelector('[data-testid=event-acked]');
  assert.match(await page.textContent('[data-testid=event-acked]'), /^Acknowledged by Ada Admin at /);
  assert.equal(await page.textContent('[data-testid=event-comment]'), 'Burner valve stuck; technician on the way.');
  const ev = (await seed.admin.get(`/api/v1/alarm-events?rule_id=${rule.id}&kind=raise`)).body.items[0];
  assert.equal(ev.acked, true);
  assert.equal(ev.acked_by.name, 'Ada Admin');
  assert.equal(ev.ack_comment, 'Burner valve stuck; technician on the way.');
  await docShot(page, 'alarms-history-pc', { fullPage: false });
  // Filters: not acknowledged hides it, acknowledged shows it.
  await page.selectOption('#ef-rule', String(rule.id));
  await page.selectOption('#ef-acked', 'false');
  await afterRender(page, () => page.click('[data-testid=ef-apply]'), { route: 'alarms/events' });
  await page.waitForSelector('[data-testid=event-list] .empty');
  await page.selectOption('#ef-acked', 'true');
  await afterRender(page, () => page.click('[data-testid=ef-apply]'), { route: 'alarms/events' });
  await page.waitForSelector('[data-testid=event-list] [data-testid=event]');
  assert.equal(await page.locator('[data-testid=event-list] [data-testid=event]').count(), 1);
  assert.equal(await page.textContent('[data-testid=ef-toggle]'), 'Filters (2 set)');
  // One filter set: the singular sentence ("Filtres (1 actif)" in French).
  await page.selectOption('#ef-acked', '');
  await afterRender(page, () => page.click('[data-testid=ef-apply]'), { route: 'alarms/events' });
  assert.equal(await page.textContent('[data-testid=ef-toggle]'), 'Filters (1 set)');
  // The monitor shows who acknowledged it; a clear removes it from there.
  await gotoRoute(page, `${env.url}/#/monitor`);
  await page.waitForSelector('[data-testid=raised-alarm]:has-text("Boiler over 80") [data-testid=event-acked]');
  await send({ [c1]: [[t1 + MIN_US, 60]] });
  await page.click('.page-tools button:has(svg)');
  await page.waitForSelector('[data-testid=raised-alarm]:has-text("Boiler over 80")', { state: 'detached' });
  // Mark the notifications read: the count follows.
  await gotoRoute(page, `${env.url}/#/notifications?filter=unread`);
  await page.waitForSelector('[data-kind="alarm.clear"]');
  await page.waitForSelector('.notif-item:has([data-kind="alarm.clear"]) .notif-body[data-retold=true]');
  assert.match(await page.textContent('.notif-item:has([data-kind="alarm.clear"])'), /ClearedBoiler over 80.*The alarm “Boiler over 80” cleared at/s);
  await page.click('[data-testid=mark-all-read]');
  await page.waitForFunction(() => document.querySelector('[data-testid=unread-badge]').hidden);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// An alarm raised and cleared by data that arrived hours after its time (an
// app's backlog): the history showed two clear times, the clear's (the
// sample's) in its sentence and the raise's "Cleared at" the arrival. Now
// one: the sample's, with the arrival beside it, in the seven languages.
test('an alarm cleared by data older than its arrival shows one clear time, the sample\'s, with the arrival', async () => {
  const ch = seed.channels[1];
  await env.setClock(-86400);
  let rule;
  try {
    const r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`,
      { name: 'Backlog over 50', rule: 'CH1 > 50', channels: [ch], severity: 'warning' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    rule = r.body;
  } finally {
    await env.setClock(0);
  }
  const now = Date.now() * 1000;
  const t1 = now - (now % MIN_US) - 3 * 3600e6;
  await send({ [ch]: [[t1, 55], [t1 + MIN_US, 40]] });
  const [clear, raise] = (await seed.admin.get(`/api/v1/alarm-events?rule_id=${rule.id}`)).body.items;
  assert.deepEqual([clear.kind, raise.kind, raise.late, raise.clear_id], ['clear', 'raise', false, clear.id]);
  assert.equal(raise.cleared_time, clear.time);
  const page = await open(`alarms/events?rule=${rule.id}`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=event]').length === 2);
  const i18n = await portalModule(page, 'js/i18n.mjs');
  const events = await portalModule(page, 'js/alarms/events.mjs');
  const card = (id) => page.locator(`[data-testid=event][data-id="${id}"]`);
  for (const code of ['en', 'fr', 'de', 'es', 'it', 'ja', 'zh-CN']) {
    if (code !== 'en') {
      await page.selectOption('#lang-select', code);
      await page.waitForFunction((c) => document.documentElement.lang === c, code);
      await gotoRoute(page, `${env.url}/#/alarms/events?rule=${rule.id}`, { route: 'alarms/events' });
    }
    const [when, arrival] = await page.evaluate(async ([u, times]) => {
      const { formatDateTime } = await import(u);
      return times.map((x) => formatDateTime(x, { seconds: true }));
    }, [i18n, [clear.time, raise.cleared_at]]);
    assert.notEqual(when, arrival);
    const cleared = await card(raise.id).locator('[data-testid=event-cleared]').textContent();
    const sentence = await card(clear.id).locator('[data-testid=event-sentence]').textContent();
    // One clear time in both cards: the sample's; the arrival said as such.
    assert.ok(cleared.includes(when) && cleared.includes(arrival) && cleared.indexOf(when) < cleared.indexOf(arrival), `${code}: ${cleared}`);
    assert.ok(sentence.includes(when) && !sentence.includes(arrival), `${code}: ${sentence}`);
    for (const id of [raise.id, clear.id]) {
      const note = await card(id).locator('[data-testid=event-arrival]').textContent();
      assert.ok(note.includes(arrival) && !/alarms\./.test(note), `${code}: ${note}`);
    }
    if (code === 'en') {
      assert.equal(cleared, `Cleared at ${when}, by data that arrived at ${arrival}.`);
      assert.equal(sentence, `The alarm “Backlog over 50” cleared at ${when}.`);
      assert.equal(await card(clear.id).locator('[data-testid=event-arrival]').textContent(), `Its data arrived at ${arrival}.`);
      await shot(page, 'alarms-cleared-late-pc');
    }
    if (code === 'fr') {
      assert.equal(cleared, `Levée le ${when}, par des données arrivées le ${arrival}.`);
      await shot(page, 'alarms-cleared-late-fr-pc');
    }
  }
  await page.selectOption('#lang-select', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  // A server without cleared_time (a rolling upgrade): its cleared_at, once.
  const older = await page.evaluate(async ([u, ev]) => (await import(u)).clearedText({ ...ev, cleared_time: undefined }), [events, raise]);
  assert.equal(older, `Cleared at ${await page.evaluate(async ([u, x]) => (await import(u)).formatDateTime(x, { seconds: true }), [i18n, raise.cleared_at])}.`);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// ------------------------------------------------------------------ destinations

test('destinations: added, tested against a local webhook receiver, followed through retries, and their delivery log', async () => {
  const page = await open('admin/destinations');
  await page.waitForSelector('[data-testid=crud-add]');
  const add = async (kind, name, address, lang) => {
    await page.click('[data-testid=crud-add]');
    await page.selectOption('dialog select[name=kind]', kind);
    await page.fill('dialog input[name=name]', name);
    await page.fill('dialog input[name=address]', address);
    await page.selectOption('dialog select[name=language]', lang);
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('dialog', { state: 'detached' });
    await page.waitForSelector(`tr:has-text("${name}")`);
  };
  await add('slack', 'Ops Slack', rx.url('/slack/T000/B000/secretXYZ1'), 'de');
  // The webhook's secret is never shown whole again.
  const row = await page.textContent('tr:has-text("Ops Slack")');
  assert.ok(!row.includes('secretXYZ1'), row);
  assert.match(row, /http:\/\/127\.0\.0\.1:\d+\/…XYZ1/);
  // A test send is followed in its dialog until the receiver has it.
  await page.click('tr:has-text("Ops Slack") button:has-text("Send a test message")');
  await page.waitForSelector('[data-testid=delivery-sentence][data-state=sent]', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=delivery-sentence]'), /Delivered at .*; the receiver answered 200\./);
  assert.equal(rx.accepted('/slack/T000/B000/secretXYZ1').length, 1);
  assert.match(rx.accepted('/slack/T000/B000/secretXYZ1')[0].text, /Testnachricht/);
  await page.click('dialog button[data-value=null]');
  // A receiver that fails twice: the dialog says so, then that it got through.
  rx.plan('/teams/hook', [{ status: 500, body: 'boom' }, { status: 503, body: 'busy' }]);
  await add('teams', 'Plant Teams', rx.url('/teams/hook'), 'en');
  await page.click('tr:has-text("Plant Teams") button:has-text("Send a test message")');
  await page.waitForSelector('[data-testid=delivery-sentence][data-state=sent]', { timeout: 30000 });
  const outcomes = await page.$$eval('[data-testid=attempt-outcome]', (els) => els.map((e) => e.dataset.outcome));
  assert.deepEqual(outcomes, ['failed', 'failed', 'sent']);
  assert.match(await page.textContent('[data-testid=delivery]'), /Refused or failed\. The receiver answered 500\./);
  await docShot(page, 'destinations-test-pc', { fullPage: false });
  await page.click('dialog button[data-value=null]');
  // The delivery log of the destination lists the test message; its details show the attempts.
  await page.click('tr:has-text("Plant Teams") button:has-text("Delivery log")');
  await page.waitForSelector('[data-testid=destination-log] tbody tr');
  assert.match(await page.textContent('[data-testid=destination-log]'), /Test message/);
  await page.click('[data-testid=delivery-open]');
  await page.waitForSelector('dialog >> nth=1');
  await page.waitForSelector('dialog [data-testid=delivery-sentence][data-state=sent]');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  // An alarm sends to a destination in the alarm's language.
  const dests = (await seed.admin.get('/api/v1/destinations')).body.items;
  const slack = dests.find((d) => d.name === 'Ops Slack');
  await env.setClock(-86400);
  try {
    const r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`,
      { name: 'Pressure low', rule: 'CH1 < -50', channels: [seed.channels[2]], language: 'ja', destinations: [slack.id] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  } finally {
    await env.setClock(0);
  }
  const now = Date.now() * 1000;
  await send({ [seed.channels[2]]: [[now - (now % MIN_US) - MIN_US, -60]] });
  await rx.waitFor(() => rx.accepted('/slack/T000/B000/secretXYZ1').length === 2);
  assert.match(rx.accepted('/slack/T000/B000/secretXYZ1')[1].text, /アラーム/);
  await page.reload();
  await page.waitForSelector('tr:has-text("Ops Slack") [data-testid=delivery-state][data-state=sent]');
  // The event's page tells an administrator where its messages went.
  const pressure = (await seed.admin.get('/api/v1/alarm-events?kind=raise&limit=50')).body.items.find((e) => e.rule_name === 'Pressure low');
  await gotoRoute(page, `${env.url}/#/alarms/events/${pressure.id}`);
  await page.waitForSelector('[data-testid=event-deliveries] tbody tr');
  const sent = await page.textContent('[data-testid=event-deliveries] tbody tr');
  assert.match(sent, /Ops Slack/);
  assert.match(sent, /Delivered/);
  await shot(page, 'alarms-event-deliveries-pc', { fullPage: false });
  await page.click('[data-testid=event-deliveries] [data-testid=delivery-open]');
  await page.waitForSelector('dialog [data-testid=delivery-sentence][data-state=sent]');
  assert.match(await page.textContent('dialog [data-testid=delivery]'), /アラーム/);
  await page.keyboard.press('Escape');
  // The system notification recipients (G4) have the same test send.
  const g4 = await seed.admin.post('/api/v1/notification-recipients', { kind: 'wechat', name: 'Plant robot', address: rx.url('/wechat/robot'), language: 'zh-CN' });
  assert.equal(g4.status, 201, JSON.stringify(g4.body));
  await gotoRoute(page, `${env.url}/#/admin/recipients`);
  await page.click('tr:has-text("Plant robot") button:has-text("Send a test message")');
  await page.waitForSelector('[data-testid=delivery-sentence][data-state=sent]', { timeout: 30000 });
  assert.equal(rx.accepted('/wechat/robot').length, 1);
  assert.equal(rx.accepted('/wechat/robot')[0].json.msgtype, 'markdown');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// ------------------------------------------------------------------ the group's notices; a member who may only view

test('the group notices are saved from the alarm page; a member who may only view changes nothing', async () => {
  const page = await open('alarms');
  await page.waitForSelector('[data-testid=notice-settings]');
  await page.fill('[data-testid=notice-minutes]', '0');
  await page.click('[data-testid=notice-save]');
  assert.equal(await page.textContent('[data-testid=notice-settings] .form-error'), 'Enter a whole number of minutes from 1 to 1,440.');
  await page.fill('[data-testid=notice-minutes]', '25');
  await page.selectOption('#gn-lang', 'ja');
  await page.check('[data-testid=notice-settings] label:has-text("Ops Slack") input');
  await page.click('[data-testid=notice-save]');
  await page.waitForSelector('.toast-ok');
  const slack = (await seed.admin.get('/api/v1/destinations')).body.items.find((d) => d.name === 'Ops Slack');
  const got = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/alarm-settings`)).body;
  assert.equal(got.disconnect_minutes, 25);
  assert.equal(got.notice_language, 'ja');
  assert.deepEqual(got.notice_destinations, [slack.id]);
  await page.context().close();
  // A member with view access: the list and the history, nothing to change.
  const { userId } = await env.createUser({ accountId: seed.accountId, user: 'viewer', password: PASSWORD, role: 'member', userName: 'Vera Viewer' });
  const r = await seed.admin.put(`/api/v1/groups/${seed.groupId}/access`, { users: [{ user_id: userId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const member = await openPage(env);
  await signIn(member, { account: 'acme', user: 'viewer', password: PASSWORD });
  await gotoRoute(member, `${env.url}/#/alarms`);
  await member.waitForSelector('[data-testid=alarm-list] tbody tr');
  assert.equal(await member.locator('[data-testid=alarm-new], [data-testid=alarm-edit], [data-testid=alarm-delete], [data-testid=notice-save]').count(), 0);
  await gotoRoute(member, `${env.url}/#/alarms?new=1`);
  await member.waitForSelector('[data-testid=alarm-list]');
  assert.equal(await member.locator('[data-testid=alarm-editor]').count(), 0);
  await gotoRoute(member, `${env.url}/#/alarms/events`);
  await member.waitForSelector('[data-testid=event]');
  assert.deepEqual(member.consoleErrors, []);
  await member.context().close();
});

// ------------------------------------------------------------------ the link of alarm mail (A8)

test('the link of an alarm mail opens the event in a view-only session; an expired link says so', async () => {
  const c1 = seed.channels[0];
  let r = await seed.admin.post('/api/v1/destinations', { kind: 'email', name: 'Ada', address: 'admin@acme.example.test', language: 'en' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const dest = r.body.id;
  await env.setClock(-86400);
  try {
    r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`,
      { name: 'Flue gas hot', rule: 'CH1 >= 500', channels: [c1], destinations: [dest] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  } finally {
    await env.setClock(0);
  }
  const before = env.smtp.messages().length;
  const now = Date.now() * 1000;
  await send({ [c1]: [[now - (now % MIN_US), 612]] });
  let mail = null;
  for (let i = 0; i < 200 && !mail; i++) {
    mail = env.smtp.messages().slice(before).find((m) => /Flue gas hot/.test(m));
    if (!mail) await sleep(100);
  }
  assert.ok(mail, 'the alarm mail arrived at the sink');
  const flat = mail.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const link = flat.match(/#\/alarms\/events\/(\d+)\?login=([A-Za-z0-9_-]+)/);
  assert.ok(link, flat.slice(0, 2000));
  // A browser that is not signed in follows the link.
  const context = await env.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await gotoRoute(page, `${env.url}/#/alarms/events/${link[1]}?login=${link[2]}`);
  await page.waitForSelector('[data-testid=view-only]');
  assert.match(await page.textContent('[data-testid=view-only]'), /you can look, but not change anything, until/);
  assert.match(await page.textContent('[data-testid=event-sentence]'), /The alarm “Flue gas hot” was raised at .*: Temperature 1 612 °C\./);
  assert.equal(await page.locator('[data-testid=event-ack-button]').count(), 0);
  await assertFits(page, 'A8 event');
  await docShot(page, 'alarms-link-phone390', { fullPage: false });
  // The alarm pages offer nothing to change in this session.
  await gotoRoute(page, `${env.url}/#/alarms`);
  await page.waitForSelector('[data-testid=alarm-list]');
  assert.equal(await page.locator('[data-testid=alarm-new], [data-testid=alarm-edit], [data-testid=alarm-delete]').count(), 0);
  await context.close();
  // The same link again, or a made-up one: a sentence and the way to sign in.
  const other = await env.browser.newContext();
  const p2 = await other.newPage();
  await gotoRoute(p2, `${env.url}/#/alarms/events/${link[1]}?login=${'x'.repeat(43)}`);
  await p2.waitForSelector('[data-testid=link-refused]');
  assert.match(await p2.textContent('[data-testid=link-refused]'), /This link has expired/);
  await p2.click('a.button.primary');
  await p2.waitForSelector('#signin-form');
  await other.close();
  // Someone signed in who follows the link keeps their own session.
  const own = await open('monitor');
  await gotoRoute(own, `${env.url}/#/alarms/events/${link[1]}?login=${link[2]}`);
  await own.waitForSelector('[data-testid=event]');
  assert.equal(await own.locator('[data-testid=view-only]').count(), 0);
  assert.equal(await own.locator('[data-testid=event-ack-button]').count(), 1);
  await own.context().close();
  assert.deepEqual(errors, []);
});

// ------------------------------------------------------------------ phones and languages

test('the alarm pages fit a 390×844 phone and read as sentences in the seven languages', async () => {
  const rules = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/alarms`)).body.items;
  const two = rules.find((r) => r.name === 'Hot and dry at night');
  const page = await open('alarms', { size: 'phone390' });
  const raw = /\b(?:alarms|dest|notif|nav|error|field)\.[a-z_]+(?:\.[a-z_]+)*\b/;
  const pages = [
    ['alarms', 'alarms', '[data-testid=alarm-list]'],
    [`alarms?edit=${two.id}`, 'alarms', '[data-testid=alarm-preview-info][data-state=done]'],
    ['alarms/events', 'alarms/events', '[data-testid=event-list] [data-testid=event]'],
    ['admin/destinations', 'admin/destinations', 'tbody tr'],
    ['monitor', 'monitor', '.app-card'],
    ['notifications', 'notifications', '.notif-item'],
  ];
  for (const [route, name, ready] of pages) {
    await gotoRoute(page, `${env.url}/#/${route}`);
    await waitForPage(page, name);
    await page.waitForSelector(ready, { timeout: 60000 });
    await assertFits(page, route);
    const text = await page.textContent('#main');
    assert.ok(!raw.test(text), `${route}: ${text.match(raw)}`);
    if (route === 'alarms') {
      // In the list's cards the rule's sentence and text read from the left, like the page's
      // other text, under their labels (they were right-aligned as a card's short values are).
      const align = await page.$$eval('[data-testid=alarm-sentence], [data-testid=alarm-list] .al-code', (els) => els.map((el) => {
        const cell = el.closest('td');
        return [getComputedStyle(el).textAlign, Math.round(el.getBoundingClientRect().left - cell.getBoundingClientRect().left)];
      }));
      assert.ok(align.length >= 2 && align.every(([a, dx]) => ['left', 'start'].includes(a) && dx <= 16), JSON.stringify(align));
      await page.locator('[data-testid=alarm-sentence]').first().scrollIntoViewIfNeeded();
      await shot(page, 'alarms-list-phone390', { fullPage: false });
    }
  }
  await gotoRoute(page, `${env.url}/#/alarms?edit=${two.id}`);
  await page.waitForSelector('[data-testid=alarm-preview-info][data-state=done]', { timeout: 60000 });
  await docShot(page, 'alarms-editor-phone390');
  await gotoRoute(page, `${env.url}/#/alarms/events`);
  await page.waitForSelector('[data-testid=event]');
  await docShot(page, 'alarms-history-phone390', { fullPage: false });
  // The seven languages: the list and the editor, every string from the catalogues.
  const english = {};
  for (const code of ['en', 'zh-CN', 'ja', 'es', 'fr', 'de', 'it']) {
    await gotoRoute(page, `${env.url}/#/alarms`);
    await waitForPage(page, 'alarms');
    await page.click('#nav-toggle').catch(() => {});
    await page.selectOption('#lang-select', code);
    await page.waitForFunction((c) => document.documentElement.lang === c, code);
    await gotoRoute(page, `${env.url}/#/alarms?edit=${two.id}`);
    await page.waitForSelector('[data-testid=alarm-sentence]');
    await page.waitForFunction(() => document.querySelector('[data-testid=alarm-sentence]').textContent.length > 20);
    const text = await page.textContent('#main');
    assert.ok(!raw.test(text), `${code}: ${text.match(raw)}`);
    const sentence = await page.textContent('[data-testid=alarm-sentence]');
    const title = await page.textContent('[data-testid=alarm-preview] h2');
    if (code === 'en') Object.assign(english, { sentence, title });
    else {
      assert.notEqual(sentence, english.sentence, `${code}: the rule is told in the language`);
      assert.notEqual(title, english.title, `${code}: the preview is titled in the language`);
    }
    if (code === 'ja') await docShot(page, 'alarms-editor-ja-phone390', { fullPage: false });
  }
  await page.selectOption('#lang-select', 'en');
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});
