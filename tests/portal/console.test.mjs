// The console page (C1, C2; docs/console.md) in Chromium, with real parts:
// the server with its MQTT bridge, Mosquitto with Metron's plugin and
// metron-gateway playing an LR8450. The monitor links to it; the page
// shows the instrument's screen in a fixed-width panel, restarts the
// measurement and shows the new screen and the instrument's answer; a
// second administrator sees who operates it, the buttons disabled with the
// reason, takes it over, and the first person's page says who took it;
// sentences, never codes. In the nginx and cors ways (docs/deploy.md,
// METRON_PORTAL_DEPLOY) only the last two tests run: the event stream
// through nginx at a sub-path or from another origin with credentials, an
// operation and its answer, the console given up on leaving (a DELETE,
// preflighted across origins), and the page opening the console again by
// itself after the server restarted (behind nginx: 502 meanwhile).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack, openPage, signIn, waitForPage, gotoRoute, assertFits, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { freePort, tempDir, request } from '../server/harness.mjs';
import { pluginPath, startBroker, startGateway, until } from '../gateway/helpers.mjs';

let env;
let seed;
let broker;
let gw;
let mqttDir;
let deviceId;

before(async () => {
  mqttDir = tempDir('metron-mqtt-');
  const brokerPort = await freePort();
  env = await startStack({ args: ['--mqtt', `mqtts://127.0.0.1:${brokerPort}`, '--mqtt-dir', mqttDir,
    '--mqtt-plugin', pluginPath] });
  broker = await startBroker(mqttDir, brokerPort);
  seed = await seedAccount(env);
  await env.createUser({ accountId: seed.accountId, user: 'bea', password: PASSWORD, role: 'admin',
    userName: 'Bea Second' });
  const r = await seed.admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Console gateway',
    group_id: seed.groupId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  gw = startGateway({ url: env.apiUrl || env.url, code: r.body.credential,
    args: ['--channels', '4', '--instruments', '1'] });
  await gw.waitFor(/MQTTS: connected to mqtts:/);
  deviceId = await until(async () => {
    const d = await seed.admin.get(`/api/v1/apps/${r.body.id}/devices`);
    return d.body.items?.length > 0 && d.body.items[0].id;
  }, 'the gateway\'s instrument');
  await until(async () => (await seed.admin.get(`/api/v1/apps/${r.body.id}`)).body.connection.connected,
    'the app connected');
});

after(async () => {
  if (gw) await gw.stop('SIGKILL');
  if (env) await env.stop();
  await broker?.stop();
  if (gw) fs.rmSync(gw.state, { recursive: true, force: true });
  if (mqttDir) fs.rmSync(mqttDir, { recursive: true, force: true });
});

const NO_CODES = /\bnull\b|undefined|\bconsole\.[a-z_]+|console_held|plan_limit/;

async function open(user, size = 'pc') {
  const p = await openPage(env, { size });
  await signIn(p, { account: 'acme', user, password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/console?device=${deviceId}`);
  await waitForPage(p, 'console');
  return p;
}

test('the console: the screen, a restart seen on it, C2 with the reason, take-over told', SERVER_WAY_ONLY, async () => {
  // The monitor links each instrument to its console.
  const first = await open('admin');
  const screen = first.locator('[data-testid=console-screen]');
  await first.waitForFunction(() => /MEASURING run 1 /.test(
    document.querySelector('[data-testid=console-screen]').textContent));
  assert.match(await screen.textContent(), /LR8450 +S\/N /);
  assert.equal(await screen.evaluate((e) => getComputedStyle(e).whiteSpace), 'pre');
  assert.match(await first.locator('[data-testid=console-holder]').textContent(), /You operate it since/);
  await first.click('[data-testid=console-restart]');
  await first.waitForFunction(() => /MEASURING run 2 /.test(
    document.querySelector('[data-testid=console-screen]').textContent));
  await first.waitForFunction(() => /The instrument answers: measurement restarted/.test(
    document.querySelector('[data-testid=console-answer]').textContent));

  // A second administrator: told who operates it, buttons disabled with the reason.
  const second = await open('bea', 'phone');
  await second.waitForFunction(() => /MEASURING run 2 /.test(
    document.querySelector('[data-testid=console-screen]').textContent));
  const notice = await second.locator('[data-testid=console-notice]').textContent();
  assert.match(notice, /Ada Admin \(admin\) operates this instrument since .*: you can watch, or take the console over/);
  assert.equal(await second.locator('[data-testid=console-restart]').isDisabled(), true);
  assert.match(await second.locator('[data-testid=console-reason]').textContent(), /Ada Admin \(admin\) operates/);
  assert.doesNotMatch(await second.locator('#main').textContent(), NO_CODES);
  await assertFits(second, 'console on a phone');
  // Take-over: the first page is told who took it, its buttons go off.
  await second.click('[data-testid=console-take-over]');
  await second.waitForFunction(() => !document.querySelector('[data-testid=console-restart]').disabled);
  await first.waitForFunction(() => /Bea Second \(bea\) took the console over/.test(
    document.querySelector('[data-testid=console-notice]').textContent));
  assert.equal(await first.locator('[data-testid=console-restart]').isDisabled(), true);
  await second.click('[data-testid=console-stop]');
  await first.waitForFunction(() => /STOPPED/.test(
    document.querySelector('[data-testid=console-screen]').textContent));
  assert.doesNotMatch(await first.locator('#main').textContent(), NO_CODES);
  await first.context().close();
  await second.context().close();
});

test('the monitor links an instrument to its console; a refusal is a sentence', SERVER_WAY_ONLY, async () => {
  const p = await openPage(env);
  await signIn(p, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/monitor`);
  await waitForPage(p, 'monitor');
  const link = p.locator(`[data-device="${deviceId}"] [data-testid=open-console]`);
  await link.waitFor();
  await link.click();
  await waitForPage(p, 'console');
  // The seed's own LR8450, its app disabled: the sentence, in the person's language.
  const r = await seed.admin.patch(`/api/v1/apps/${seed.appId}`, { enabled: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await gotoRoute(p, `${env.url}/#/console?device=${seed.deviceId}`);
  await waitForPage(p, 'console');
  await p.waitForFunction(() => /app is disabled: its instruments have no console/.test(
    document.querySelector('[data-testid=console-notice]').textContent));
  assert.equal(await p.locator('[data-testid=console-restart]').isDisabled(), true);
  assert.doesNotMatch(await p.locator('#main').textContent(), NO_CODES);
  await p.context().close();
});

const held = () => env.psql(`SELECT count(*) FROM console_sessions WHERE device_id = ${deviceId} AND expires_at > now()`);

test('in each deploy way: the stream, an operation and its answer, the console given up on leaving', async () => {
  // The tests before closed their pages: their streams give the console up
  // when the server next writes to them (a screen, or the 15 s comment).
  await until(async () => (await held()) === '0', 'the console given up by the pages before', 60000);
  const p = await openPage(env);
  const streams = [];
  p.on('request', (q) => { if (/\/console\/stream/.test(q.url())) streams.push(q.url()); });
  await signIn(p, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/console?device=${deviceId}`);
  await waitForPage(p, 'console');
  // The instrument measures or was stopped by the tests before: a restart
  // starts the next run either way, and both the screen and the answer
  // come on the stream (through nginx unbuffered, or from the API's origin).
  const run = Number(await p.waitForFunction(() => {
    const m = /(?:MEASURING|STOPPED) +run (\d+) /.exec(document.querySelector('[data-testid=console-screen]').textContent);
    return m && m[1];
  }).then((h) => h.jsonValue()));
  await p.click('[data-testid=console-restart]');
  await p.waitForFunction((n) => new RegExp(`MEASURING run ${n} `).test(
    document.querySelector('[data-testid=console-screen]').textContent), run + 1);
  await p.waitForFunction((n) => document.querySelector('[data-testid=console-answer]').textContent
    .includes(`The instrument answers: measurement restarted (measurement ${n})`), run + 1);
  assert.ok(streams.length > 0 && streams.every((u) => u.startsWith(`${env.apiUrl}/api/v1/devices/${deviceId}/console/stream`)),
    streams.join(' '));
  // Leaving the page gives the console up.
  const del = p.waitForResponse((r) => r.request().method() === 'DELETE' && /\/console\?session=/.test(r.url()));
  await gotoRoute(p, `${env.url}/#/monitor`);
  assert.equal((await del).status(), 200);
  assert.equal(await held(), '0');
  assert.doesNotMatch(await p.locator('#main').textContent(), NO_CODES);
  assert.deepEqual(p.consoleErrors, []);
  await p.context().close();
});

test('in each deploy way: after the server restarts, the page opens the console again by itself', async () => {
  await until(async () => (await held()) === '0', 'the console given up by the page before', 60000);
  const opens = () => env.psql(`SELECT count(*) FROM audit_log WHERE action = 'console.open'
    AND target_id = ${deviceId}`);
  const opensBefore = Number(await opens());
  const p = await openPage(env);
  await signIn(p, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/console?device=${deviceId}`);
  await waitForPage(p, 'console');
  // The test before restarted the measurement: the screen changes each second.
  await p.waitForFunction(() => /MEASURING run \d+ /.test(document.querySelector('[data-testid=console-screen]').textContent)
    && !document.querySelector('[data-testid=console-restart]').disabled);
  await p.evaluate(() => {
    window.notices = [];
    const el = document.querySelector('[data-testid=console-notice]');
    new MutationObserver(() => window.notices.push(el.hidden ? '' : el.textContent))
      .observe(el, { childList: true, characterData: true, subtree: true, attributes: true });
  });
  await env.restartServer();
  await until(async () => (await request(env.srv.url, 'GET', '/api/v1/test/mqtt')).body?.connected,
    'the restarted server connected to the broker', 60000);
  // A screen the new server streamed, and the page operates again (the
  // server gave the console up when it stopped: the same session would only watch).
  const before = await p.textContent('[data-testid=console-screen]');
  await p.waitForFunction((s) => document.querySelector('[data-testid=console-screen]').textContent !== s
    && !document.querySelector('[data-testid=console-restart]').disabled, before, { timeout: 90000 });
  assert.ok((await p.evaluate(() => window.notices)).some((n) => /connection to the server was lost .*connects again by itself/.test(n)),
    JSON.stringify(await p.evaluate(() => window.notices)));
  const run = Number(/MEASURING run (\d+) /.exec(await p.textContent('[data-testid=console-screen]'))[1]);
  await p.click('[data-testid=console-restart]');
  await p.waitForFunction((n) => document.querySelector('[data-testid=console-answer]').textContent
    .includes(`The instrument answers: measurement restarted (measurement ${n})`), run + 1);
  assert.equal(await p.locator('[data-testid=console-notice]').isHidden(), true);
  // The reconnect continued the audited session (its resume token): one
  // console.open for the page, none for its reconnect.
  assert.equal(Number(await opens()), opensBefore + 1);
  assert.deepEqual(p.consoleErrors, []);
  await p.context().close();
});
