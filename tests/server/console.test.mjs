// The console (C1, C2, P18, P19; docs/console.md), all real parts:
// PostgreSQL, two metron-server processes with their MQTT bridges on one
// database, Mosquitto with Metron's plugin, metron-gateway with simulated
// instruments. A person opens the console of an instrument, sees its
// screen as server-sent events, restarts its measurement and sees the
// screen change; a second person is refused across the two processes (C2)
// and may watch; an administrator takes it over and the first is told; the
// plan (P18, P19 and its "view only"), the supported-instrument table's
// console minimum (I4) and a disconnected app refuse with sentences; every
// input is bounded. A stream whose client stops reading is cut at the
// write deadline (a floor of 1 s on server B); one that reads, and one
// quiet for three times the floor, are not (docs/server.md "A reply that is
// not read has a deadline"). Server B runs with the test build's short
// waits (METRON_TEST_WRITE_FLOOR_MS, METRON_TEST_CONSOLE_KEEPALIVE_MS),
// server A with the defaults: a quiet stream on A, opened in before() and
// waited for by the last test, gets its keep-alive comment after 15 s.
// Every wait is for an event, never for a time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { destroyChecked, createAccount, freePort, login, metricSamples, request, sessionClient, startPostgres, startServer,
  tempDir } from './harness.mjs';
import { PW, uniq } from './data_helpers.mjs';
import { pluginPath, startBroker, startGateway, until } from '../gateway/helpers.mjs';

let pg;
let dbUrl;
let brokerPort;
let mqttDir;
let srvA;
const WRITE_FLOOR_MS = 1000; // server B's write deadline floor (10 s by default)
const KEEPALIVE_MS = 3 * WRITE_FLOOR_MS; // server B's keep-alive comments (15 s by default)
const METRICS = 'c'.repeat(40); // server B's /metrics token
/** Server B's environment: the test build's short waits. */
const envB = { METRON_TEST_WRITE_FLOOR_MS: String(WRITE_FLOOR_MS),
  METRON_TEST_CONSOLE_KEEPALIVE_MS: String(KEEPALIVE_MS), METRON_METRICS_TOKEN: METRICS };
let srvB;
let quietOnA; // promise of the default keep-alive's gap on server A (quietStream())
let broker;
const gateways = [];
const streams = [];

function serverArgs(port) {
  return ['--listen', `127.0.0.1:${port}`, '--mqtt', `mqtts://127.0.0.1:${brokerPort}`,
    '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath];
}

before(async () => {
  pg = await startPostgres();
  dbUrl = await pg.createDatabase();
  brokerPort = await freePort();
  mqttDir = tempDir('metron-mqtt-');
  srvA = await startServer({ databaseUrl: dbUrl, args: serverArgs(await freePort()) });
  broker = await startBroker(mqttDir, brokerPort);
  srvB = await startServer({ databaseUrl: dbUrl, args: serverArgs(await freePort()), env: envB });
  for (const s of [srvA, srvB]) {
    await until(async () => (await request(s.url, 'GET', '/api/v1/test/mqtt')).body.connected,
      'the server connected to the broker');
  }
  // Runs beside the tests; the last one awaits it (a failure is seen there).
  quietOnA = quietStream();
  quietOnA.catch(() => {});
});

after(async () => {
  for (const s of streams) s.close();
  for (const g of gateways) {
    await g.stop('SIGKILL');
    fs.rmSync(g.state, { recursive: true, force: true });
  }
  for (const s of [srvA, srvB].filter(Boolean)) {
    await s.stop();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
    assert.doesNotMatch(s.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
  await broker?.stop();
  await destroyChecked(pg);
  fs.rmSync(mqttDir, { recursive: true, force: true });
});

/** An account of "plan" with an admin, an app of "kind" and its gateway
 * (extra arguments "args"), connected over MQTTS; its one device. */
async function tenant({ plan = 'pro', kind = 'lr8450-direct', args = [] } = {}) {
  const account = uniq('con');
  const ids = await createAccount(srvA.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test`, userName: 'Ada Admin' });
  const c = await login(srvA.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'Console gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const g = startGateway({ url: srvA.url, code: r.body.credential,
    args: ['--channels', '12', ...(args.includes('--models') ? [] : ['--instruments', '1']),
      ...args] });
  gateways.push(g);
  await g.waitFor(/MQTTS: connected to mqtts:/);
  const device = await until(async () => {
    const d = await c.get('/api/v1/devices');
    return d.body.items?.length > 0 && d.body.items[0];
  }, 'the gateway\'s instrument');
  await until(async () => (await c.get(`/api/v1/apps/${r.body.id}`)).body.connection.connected,
    'the app connected');
  return { account, accountId: ids.accountId, c, appId: r.body.id, g, device };
}

/** The same signed-in session against server B. */
const onB = (c) => sessionClient(srvB.url, { cookie: c.cookie, csrf: c.csrf, user: c.user });

/** A server-sent event stream of the console: { events, next(name, pred), close() }. */
function openStream(url, c, deviceId, session) {
  const q = session ? `?session=${session}` : '';
  const events = [];
  const waiters = [];
  let res;
  let buf = '';
  const s = {
    events,
    status: null,
    ended: false,
    comments: 0, // ": ..." lines: the opening one, keep-alives
    close() { req.destroy(); },
    /** The first event named "name" (after index "from") that "pred" accepts. */
    next(name, pred = () => true, from = 0) {
      return new Promise((resolve, reject) => {
        const look = () => {
          for (let i = from; i < events.length; i++) {
            if (events[i].name === name && pred(events[i].data)) { resolve(events[i]); return true; }
          }
          if (s.ended) { reject(new Error(`the stream ended without ${name}: ${JSON.stringify(events.slice(-5))}`)); return true; }
          return false;
        };
        if (!look()) waiters.push(look);
      });
    },
  };
  const wake = () => { for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]()) waiters.splice(i, 1); };
  const req = http.get(`${url}/api/v1/devices/${deviceId}/console/stream${q}`,
    { headers: { cookie: `metron_session=${c.cookie}` } }, (r) => {
      res = r;
      s.status = r.statusCode;
      s.type = r.headers['content-type'];
      r.setEncoding('utf8');
      r.on('data', (d) => {
        buf += d;
        let k;
        while ((k = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, k);
          buf = buf.slice(k + 2);
          let name = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) events.push({ name, data: JSON.parse(data), at: events.length });
          else if (block.startsWith(':')) s.comments++;
        }
        wake();
      });
      r.on('end', () => { s.ended = true; wake(); });
      r.on('error', () => { s.ended = true; wake(); });
    });
  req.on('error', () => { s.ended = true; wake(); });
  streams.push(s);
  s.response = () => res;
  return s;
}

/** A viewer's stream on server A (the default keep-alive) of an instrument
 * whose app then stops: resolves with the milliseconds from the event that
 * says so (the stream's last write) to the keep-alive comment after it. */
async function quietStream() {
  const t = await tenant();
  const d = t.device;
  const r = await t.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'view' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = openStream(srvA.url, t.c, d.id, r.body.session);
  await s.next('screen');
  await t.g.stop();
  await s.next('console', (x) => x.connected === false);
  const from = Date.now();
  const comments = s.comments;
  await until(() => s.comments > comments || s.ended, 'the default keep-alive comment', 60000);
  assert.equal(s.ended, false, 'the quiet stream on server A was not cut');
  const gap = Date.now() - from;
  s.close();
  return gap;
}

const op = (c, deviceId, body) => c.post(`/api/v1/devices/${deviceId}/console/operations`, body);

test('an operator opens a console, sees the screen, restarts the measurement and sees it change', async () => {
  const t = await tenant();
  const d = t.device;
  let r = await t.c.post(`/api/v1/devices/${d.id}/console`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.mode, 'operate');
  assert.match(r.body.session, /^[0-9a-f]{32}$/);
  assert.equal(r.body.holder.login_id, 'admin');
  assert.equal(r.body.holder.name, 'Ada Admin');
  const session = r.body.session;
  const s = openStream(srvA.url, t.c, d.id, session);
  const hello = await s.next('console');
  assert.equal(s.status, 200);
  assert.match(s.type, /^text\/event-stream/);
  assert.equal(hello.data.mode, 'operate');
  assert.equal(hello.data.connected, true);
  assert.equal(hello.data.serial, d.serial);
  const first = await s.next('screen', (x) => /MEASURING run 1 /.test(x.screen));
  assert.match(first.data.screen, new RegExp(`LR8450 +S/N ${d.serial}`));
  assert.match(first.data.screen, /Firmware V2\.30/);
  assert.equal(first.data.measuring, true);
  assert.equal(first.data.pages, 2); // 12 channels, 8 a page
  assert.ok(first.data.intervals.includes(10));
  // Restart: the answer, then a screen of the second measurement.
  r = await op(t.c, d.id, { session, op: 'restart' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const answer = await s.next('answer', (x) => x.id === r.body.id);
  assert.equal(answer.data.ok, true);
  assert.match(answer.data.message, /restarted/);
  await s.next('screen', (x) => /MEASURING run 2 /.test(x.screen), answer.at);
  // Stop, start again, the interval, a page down: each seen on the screen.
  r = await op(t.c, d.id, { session, op: 'stop' });
  assert.equal(r.status, 202);
  let mark = await s.next('answer', (x) => x.id === r.body.id);
  const stopped = await s.next('screen', (x) => /STOPPED/.test(x.screen), mark.at);
  assert.equal(stopped.data.measuring, false);
  r = await op(t.c, d.id, { session, op: 'stop' });
  mark = await s.next('answer', (x) => x.id === r.body.id);
  assert.equal(mark.data.ok, false);
  assert.match(mark.data.message, /stopped already/);
  r = await op(t.c, d.id, { session, op: 'start' });
  mark = await s.next('answer', (x) => x.id === r.body.id && x.ok);
  await s.next('screen', (x) => /MEASURING run 3 /.test(x.screen), mark.at);
  r = await op(t.c, d.id, { session, op: 'interval', interval_s: 10 });
  assert.equal(r.status, 202);
  mark = await s.next('answer', (x) => x.id === r.body.id && x.ok);
  await s.next('screen', (x) => x.interval_s === 10 && /Interval +10 s/.test(x.screen), mark.at);
  r = await op(t.c, d.id, { session, op: 'page_down' });
  mark = await s.next('answer', (x) => x.id === r.body.id && x.ok);
  const page2 = await s.next('screen', (x) => x.page === 2, mark.at);
  assert.match(page2.data.screen, /Page 2\/2/);
  // Every operation is in the account's audit log.
  const audit = (await t.c.get('/api/v1/audit')).body.entries;
  const ops = audit.filter((e) => e.action === 'console.operation').map((e) => e.detail.op);
  assert.deepEqual(ops.sort(), ['interval', 'page_down', 'restart', 'start', 'stop', 'stop']);
  assert.ok(audit.some((e) => e.action === 'console.open'));
  // Given up: the console is free, the session holds nothing.
  r = await t.c.del(`/api/v1/devices/${d.id}/console?session=${session}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.released, true);
  r = await op(t.c, d.id, { session, op: 'restart' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'console_not_held');
  s.close();
  await t.g.stop();
  // An app that is not connected has no console.
  await until(async () => !(await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.connected,
    'the app disconnected');
  r = await t.c.post(`/api/v1/devices/${d.id}/console`, {});
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'app_disconnected');
  assert.match(r.body.message, /is not connected/);
});

test('C2: a second person is refused across server processes, watches, and an administrator takes it over', async () => {
  const t = await tenant();
  const d = t.device;
  await createUserIn(t, 'second', 'Bea Second');
  const c2 = onB(await login(srvB.url, { account: t.account, user: 'second', password: PW }));
  let r = await t.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'operate' });
  assert.equal(r.status, 201);
  const session = r.body.session;
  const s1 = openStream(srvA.url, t.c, d.id, session);
  await s1.next('screen');
  // On the other process: held, by whom and since when.
  r = await c2.post(`/api/v1/devices/${d.id}/console`, { mode: 'operate' });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'console_held');
  assert.match(r.body.message, /Ada Admin \(admin\) operates the LR8450 S\/N .* since \d{4}-\d\d-\d\dT/);
  assert.equal(r.body.holder.login_id, 'admin');
  assert.equal(r.body.holder.name, 'Ada Admin');
  // Watching is allowed; the watcher's session cannot operate.
  r = await c2.post(`/api/v1/devices/${d.id}/console`, { mode: 'view' });
  assert.equal(r.status, 201);
  assert.equal(r.body.mode, 'view');
  assert.equal(r.body.holder.login_id, 'admin');
  const viewSession = r.body.session;
  const s2 = openStream(srvB.url, c2, d.id, viewSession);
  const v = await s2.next('console');
  assert.equal(v.data.mode, 'view');
  await s2.next('screen');
  r = await op(c2, d.id, { session: viewSession, op: 'restart' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'console_not_held');
  // The operator on A restarts: the watcher on B sees it too.
  r = await op(t.c, d.id, { session, op: 'restart' });
  assert.equal(r.status, 202);
  await s2.next('screen', (x) => /MEASURING run 2 /.test(x.screen));
  // The second administrator takes it over on B: A's stream is told who.
  r = await c2.post(`/api/v1/devices/${d.id}/console`, { mode: 'operate', take_over: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.took_over, true);
  assert.equal(r.body.holder.login_id, 'second');
  const newSession = r.body.session;
  const lost = await s1.next('lost');
  assert.match(lost.data.message, /Bea Second \(second\) took the console over at /);
  assert.equal(lost.data.holder.login_id, 'second');
  r = await op(t.c, d.id, { session, op: 'stop' });
  assert.equal(r.status, 409);
  assert.match(r.body.message, /Bea Second \(second\) took the console over/);
  assert.equal(r.body.holder.name, 'Bea Second');
  r = await op(c2, d.id, { session: newSession, op: 'stop' });
  assert.equal(r.status, 202);
  const audit = (await t.c.get('/api/v1/audit')).body.entries.map((e) => e.action);
  assert.ok(audit.includes('console.take_over'));
  s2.close();
});

async function createUserIn(t, user, name, role = 'admin') {
  const { createUser } = await import('./harness.mjs');
  await createUser(srvA.url, { accountId: t.accountId, user, password: PW,
    email: `${user}@${t.account}.test`, role, userName: name });
}

test('plans: no console for a One app on Free (P18), view only for LR8450 direct on Free (P19)', async () => {
  const one = await tenant({ plan: 'free', kind: 'one', args: ['--models', 'LR8450'] });
  let r = await one.c.post(`/api/v1/devices/${one.device.id}/console`, { mode: 'view' });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P18');
  assert.match(r.body.message, /P18 console \(One remote mode\) is not available on plan free \(needs standard\)/);
  const direct = await tenant({ plan: 'free' });
  const d = direct.device;
  r = await direct.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'operate' });
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P19');
  assert.match(r.body.message, /view only on plan free \(needs standard\)/);
  r = await direct.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'view' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const s = openStream(srvB.url, direct.c, d.id, r.body.session);
  assert.equal((await s.next('console')).data.mode, 'view');
  await s.next('screen', (x) => /MEASURING/.test(x.screen));
  r = await op(direct.c, d.id, { session: r.body.session, op: 'restart' });
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P19');
  s.close();
  await one.g.stop();
  await direct.g.stop();
});

test('I4: firmware below the console minimum, and a model without a console, are refused', async () => {
  const old = await tenant({ args: ['--firmware', 'LR8450=V2.10'] });
  let r = await old.c.post(`/api/v1/devices/${old.device.id}/console`, {});
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'firmware_too_old');
  assert.match(r.body.message, /LR8450 with firmware V2\.10: .*firmware V2\.20 or later/);
  const cross = await tenant({ kind: 'cross', args: ['--models', 'CM4372'] });
  r = await cross.c.post(`/api/v1/devices/${cross.device.id}/console`, { mode: 'view' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'console_not_supported');
  assert.match(r.body.message, /the CM4372 has no console in Metron/);
  await old.g.stop();
  await cross.g.stop();
});

/** The console.open entries of the account's audit log for device "deviceId". */
async function opens(c, deviceId) {
  const r = await c.get('/api/v1/audit?action=console.open');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.entries.filter((e) => e.target_id === deviceId).length;
}

test('a reconnect after a server restart continues the audited session: one console.open; a new one after the window', async () => {
  const t = await tenant();
  const d = t.device;
  const base = `/api/v1/devices/${d.id}/console`;
  let r = await onB(t.c).post(base, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.resumed, false);
  assert.match(r.body.resume, /^[0-9a-f]{32}$/);
  const token = r.body.resume;
  const s = openStream(srvB.url, t.c, d.id, r.body.session);
  await s.next('screen');
  assert.equal(await opens(t.c, d.id), 1);

  // Server B restarts in the middle: the stream is told, the console freed.
  const old = srvB;
  const stopped = old.stop();
  await s.next('closed');
  await stopped;
  srvB = await startServer({ databaseUrl: dbUrl, dataDir: old.dataDir,
    args: serverArgs(await freePort()), env: envB });
  await until(async () => (await request(srvB.url, 'GET', '/api/v1/test/mqtt')).body.connected,
    'the restarted server connected to the broker');
  // The console reconnects with its token: the same audited session goes on.
  r = await onB(t.c).post(base, { mode: 'operate', resume: token });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.mode, 'operate');
  assert.equal(r.body.resumed, true);
  assert.equal(r.body.resume, token);
  const s2 = openStream(srvB.url, t.c, d.id, r.body.session);
  assert.equal((await s2.next('console')).data.mode, 'operate');
  r = await op(onB(t.c), d.id, { session: r.body.session, op: 'restart' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await s2.next('answer', (x) => x.id === r.body.id && x.ok);
  assert.equal(await opens(t.c, d.id), 1, 'a reconnect writes no console.open');

  // Someone else's token, or a made-up one, continues nothing: a new entry.
  r = await t.c.post(base, { resume: 'f'.repeat(32) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.resumed, false);
  assert.notEqual(r.body.resume, token);
  assert.equal(await opens(t.c, d.id), 2);
  let latest = r.body.resume;
  await s2.next('lost'); // the same person's newer session took it
  s2.close();

  // Past the window (CONSOLE_RESUME_S, 10 minutes; moved here instead of
  // waited for): the token no longer continues anything.
  const db = new URL(dbUrl).pathname.slice(1);
  await pg.psql(`UPDATE console_resumes SET expires_at = now() - interval '1 second'
    WHERE device_id = ${d.id}`, db);
  r = await t.c.post(base, { resume: latest });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.resumed, false);
  assert.equal(await opens(t.c, d.id), 3);
  latest = r.body.resume;

  // Closed on purpose: the audited session ended, the next open is new.
  r = await t.c.del(`${base}?session=${r.body.session}`);
  assert.equal(r.body.released, true);
  r = await t.c.post(base, { resume: latest });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.resumed, false);
  assert.equal(await opens(t.c, d.id), 4);
  // A viewer gets no token.
  await createUserIn(t, 'watcher', 'Wes Watcher');
  const cw = await login(srvA.url, { account: t.account, user: 'watcher', password: PW });
  const v = await cw.post(base, { mode: 'view' });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  assert.equal(v.body.resume, null);
  r = await t.c.del(`${base}?session=${r.body.session}`);
  assert.equal(r.body.released, true);
  await t.g.stop();
});

test('every input is bounded', async () => {
  const t = await tenant();
  const d = t.device;
  const base = `/api/v1/devices/${d.id}/console`;
  const cases = [
    [{ mode: 'drive' }, 400, 'invalid_value', 'mode'],
    [{ mode: 5 }, 400, 'wrong_type', 'mode'],
    [{ mode: 'x'.repeat(17) }, 400, 'too_long', 'mode'],
    [{ take_over: 'yes' }, 400, 'wrong_type', 'take_over'],
    [{ other: 1 }, 400, 'unknown_field', 'other'],
    [{ resume: 'ABC' }, 400, 'invalid_value', 'resume'],
    [{ resume: 'f'.repeat(33) }, 400, 'too_long', 'resume'],
    [{ resume: 7 }, 400, 'wrong_type', 'resume'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await t.c.post(base, body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    assert.equal(r.body.field, field);
  }
  let r = await t.c.post(base, { mode: 'view', take_over: true });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'take_over');
  r = await t.c.post('/api/v1/devices/999999999/console', {});
  assert.equal(r.status, 404);
  r = await t.c.post('/api/v1/devices/abc/console', {});
  assert.equal(r.status, 404);
  r = await t.c.post(base, {});
  assert.equal(r.status, 201);
  const session = r.body.session;
  const opCases = [
    [{ op: 'restart' }, 'missing', 'session'],
    [{ session: 'ABC', op: 'restart' }, 'invalid_value', 'session'],
    [{ session: 'x'.repeat(41), op: 'restart' }, 'too_long', 'session'],
    [{ session }, 'missing', 'op'],
    [{ session, op: 'format' }, 'invalid_value', 'op'],
    [{ session, op: 'interval' }, 'invalid_value', 'interval_s'],
    [{ session, op: 'interval', interval_s: 7 }, 'invalid_value', 'interval_s'],
    [{ session, op: 'interval', interval_s: 10.5 }, 'invalid_value', 'interval_s'],
    [{ session, op: 'interval', interval_s: 1e9 }, 'invalid_value', 'interval_s'],
    [{ session, op: 'interval', interval_s: '10' }, 'wrong_type', 'interval_s'],
    [{ session, op: 'stop', interval_s: 10 }, 'invalid_value', 'interval_s'],
    [{ session, op: 'stop', x: 1 }, 'unknown_field', 'x'],
  ];
  for (const [body, code, field] of opCases) {
    r = await op(t.c, d.id, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, code, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field);
  }
  r = await t.c.del(`${base}?session=${'a'.repeat(40)}`);
  assert.equal(r.status, 400);
  r = await t.c.del(base);
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'session');
  r = await request(srvA.url, 'GET', `${base}/stream?session=zz`,
    { headers: { cookie: `metron_session=${t.c.cookie}` } });
  assert.equal(r.status, 400);
  r = await request(srvA.url, 'GET', `${base}/stream`);
  assert.equal(r.status, 401);
  // Another account's device is nobody's here.
  const other = await tenant();
  r = await other.c.post(base, { mode: 'view' });
  assert.equal(r.status, 404);
  r = await t.c.del(`${base}?session=${session}`);
  assert.equal(r.body.released, true);
  await t.g.stop();
  await other.g.stop();
});

/** The socket of local port "local" to remote port "remote" in
 * /proc/net/tcp: { state ('01' established), txQueue } or null. */
function tcpSocket(local, remote) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 4 && f[1].endsWith(':' + hex(local)) && f[2].endsWith(':' + hex(remote))) {
      return { state: f[3], txQueue: parseInt(f[4].split(':')[0], 16) };
    }
  }
  return null;
}

/** A console stream client that reads the reply's head and first event,
 * then nothing more, with a receive buffer of 2 KiB (Node cannot set one):
 * the screens (about one a second) soon fill it. { port (its local port),
 * status line, end() }. */
async function stalledStream(url, c, deviceId, session) {
  const script = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
u = sys.argv[1].split(':')
s.connect((u[0], int(u[1])))
s.sendall(('GET ' + sys.argv[2] + ' HTTP/1.1\\r\\nHost: metron\\r\\nCookie: metron_session=' + sys.argv[3] + '\\r\\n\\r\\n').encode())
got = b''
while b'event: ' not in got:
    b = s.recv(1024)
    if not b:
        break
    got += b
print(s.getsockname()[1], got.split(b'\\r\\n')[0].decode(), flush=True)
sys.stdin.read()
`;
  const proc = spawn('python3', ['-c', script, url.replace('http://', ''),
    `/api/v1/devices/${deviceId}/console/stream?session=${session}`, c.cookie],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  await until(() => out.includes('\n') || proc.exitCode !== null, 'the stalled client\'s first event');
  const [port, ...status] = out.trim().split(' ');
  return { port: Number(port), status: status.join(' '), end: () => proc.stdin.end() };
}

test('a console stream whose client stops reading is cut at the write deadline; one that reads, and one quiet for three times the floor, are not', async () => {
  const t = await tenant();
  const d = t.device;
  const before = await metricSamples(srvB.url, METRICS);
  let r = await t.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'operate' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const reader = openStream(srvB.url, t.c, d.id, r.body.session);
  await reader.next('screen');
  r = await t.c.post(`/api/v1/devices/${d.id}/console`, { mode: 'view' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const port = Number(new URL(srvB.url).port);
  const stalled = await stalledStream(srvB.url, t.c, d.id, r.body.session);
  try {
    assert.match(stalled.status, /^HTTP\/1\.1 200 /);
    // The screens pile up unsent behind its closed window...
    await until(() => (tcpSocket(port, stalled.port)?.txQueue || 0) > 0,
      'the server held screens the stalled client does not take');
    // ... until the watchdog cuts its connection (the floor, 1 s here).
    await until(() => tcpSocket(port, stalled.port)?.state !== '01',
      'the stalled stream cut');
    const m = await metricSamples(srvB.url, METRICS);
    assert.equal(m.metron_http_replies_cut_total - before.metron_http_replies_cut_total, 1);
  } finally {
    stalled.end();
  }
  // The stream that reads goes on: a screen after the cut.
  const mark = reader.events.length;
  await reader.next('screen', () => true, mark);
  assert.equal(reader.ended, false);
  // Quiet: its app stops, the stream says so and then writes nothing until
  // its keep-alive comment (3 s later on server B); nothing was left
  // unsent, so it is not cut (three times the floor).
  await t.g.stop();
  await reader.next('console', (x) => x.connected === false, mark);
  const comments = reader.comments;
  await until(() => reader.comments > comments || reader.ended, 'a keep-alive comment', 40000);
  assert.equal(reader.ended, false, 'the quiet stream was not cut');
  const m = await metricSamples(srvB.url, METRICS);
  assert.equal(m.metron_http_replies_cut_total - before.metron_http_replies_cut_total, 1);
  reader.close();
  // The default, on server A: 15 s of quiet before the comment (less a
  // second for this process's own delay in reading the event before it).
  const gap = await quietOnA;
  assert.ok(gap >= 14000, `the default keep-alive came ${gap} ms after the stream's last event`);
});
