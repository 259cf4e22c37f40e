// metron-gateway against a real server (docs/gateway.md): it takes over an
// app with its registration code, its samples arrive, a server restart in
// the middle of the stream is back-filled with no gap and no duplicate, a
// gateway killed and restarted loses nothing, high-speed mode (M3) sends
// 5-second samples, a wrong code is refused without losing data, a new app's
// instruments are registered with their firmware, the self-check (M4) is
// answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, createAccount, freePort, login, request, sleep, startPostgres, startServer } from '../server/harness.mjs';
import { PW, dataTenant, uniq } from '../server/data_helpers.mjs';
import { rawOf, startGateway, until } from './helpers.mjs';

let pg;
let dbUrl;
let db;
let port;
let srv;
const gateways = [];
const sql = (q) => pg.psql(q, db);

async function serverUp() {
  srv = await startServer({ databaseUrl: dbUrl, args: ['--listen', `127.0.0.1:${port}`],
    env: { METRON_COMPACT_MS: '500' } });
  return srv;
}

before(async () => {
  pg = await startPostgres();
  dbUrl = await pg.createDatabase();
  db = new URL(dbUrl).pathname.slice(1);
  port = await freePort();
  await serverUp();
});

after(async () => {
  for (const g of gateways) {
    await g.stop('SIGKILL');
    fs.rmSync(g.state, { recursive: true, force: true });
  }
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
  await destroyChecked(pg);
  // An ASan+UBSan server must have nothing to report.
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer|LeakSanitizer/);
});

function gateway(opts) {
  const g = startGateway(opts);
  gateways.push(g);
  return g;
}

/** Every selected channel of "t" holds one sample per second from its first
 * to its last, each once; returns [first, last] in µs. */
async function assertContiguous(t, from, to, channels) {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200);
  let span = null;
  for (const ch of channels) {
    const { t: times } = await rawOf(t.c, ch, from, to);
    assert.ok(times.length > 3, `channel ${ch} has samples`);
    for (let i = 1; i < times.length; i++) {
      assert.equal(times[i] - times[i - 1], 1e6, `channel ${ch}: a gap or a duplicate at ${times[i]}`);
    }
    span = [times[0], times[times.length - 1]];
    const stored = Number(await sql(`SELECT COALESCE(sum(n), 0) FROM series_day
      WHERE account_id = ${t.id} AND channel_id = ${ch}`));
    assert.equal(stored, times.length, `channel ${ch}: every sample stored once`);
  }
  return span;
}

test('the gateway takes over an app with its code and its samples arrive', async () => {
  const t = await dataTenant(srv, { n: 4, selected: 2 });
  const g = gateway({ url: srv.url, code: t.app.credential });
  await g.waitFor(/plays the app's LR8450/);
  // The two selected channels receive samples; the others are not acquired.
  await until(async () => Number(await sql(`SELECT count(*) FROM channel_latest
    WHERE account_id = ${t.id}`)) >= 2, 'latest values of both selected channels');
  assert.equal(await sql(`SELECT count(*) FROM channel_latest WHERE account_id = ${t.id}
    AND channel_id IN (${t.channels[2]}, ${t.channels[3]})`), '0');
  const app = await t.c.get(`/api/v1/apps/${t.appId}`);
  assert.ok(app.body.last_seen_at);
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 't');
  const state = JSON.parse(fs.readFileSync(`${g.state}/gateway.json`, 'utf8'));
  assert.equal(state.kind, 'lr8450-direct', 'the kind the server says');
  assert.equal(state.instruments[0].model, 'LR8450');
  assert.equal(fs.statSync(`${g.state}/credential`).mode & 0o777, 0o600);
  await g.stop();
  assert.match(g.log(), /stopping: \d+ sampling instants/);
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 'f');
});

test('server restart mid-stream: back-filled with no gap and no duplicate', async () => {
  const t = await dataTenant(srv, { n: 3 });
  const from = Date.now() * 1000 - 5e6;
  const g = gateway({ url: srv.url, code: t.app.credential });
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 3, 'three batches stored');
  await srv.stop('SIGKILL');
  const down = Date.now() * 1000;
  await g.waitFor(/the server does not answer/);
  await sleep(3500);
  assert.ok(g.spooled() >= 2, `batches wait in the spool (${g.spooled()})`);
  await serverUp();
  const up = Date.now() * 1000;
  await g.waitFor(/the server answers again/);
  await until(async () => g.spooled() === 0, 'an empty spool');
  await sleep(1500);
  await g.stop();
  assert.deepEqual(g.refused(), []);
  const [first, last] = await assertContiguous(t, from, Date.now() * 1000 + 5e6, t.channels);
  assert.ok(first < down && last > up, 'the samples span the outage');
  // Each batch was stored once (a retry of a stored batch is a duplicate).
  const batches = await sql(`SELECT count(*), count(DISTINCT batch_id) FROM ingest_batches
    WHERE account_id = ${t.id}`);
  const [n, distinct] = batches.split('|').map(Number);
  assert.equal(n, distinct);
});

test('a gateway killed and restarted reads back what its instruments measured meanwhile', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const from = Date.now() * 1000 - 5e6;
  let g = gateway({ url: srv.url, code: t.app.credential });
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 2, 'two batches stored');
  await g.stop('SIGKILL');
  await sleep(3000);
  // The second start needs only the state folder.
  g = gateway({ state: g.state });
  await g.waitFor(/reading \d+ sampling instants back from the instruments' memory/);
  await until(async () => g.spooled() === 0 &&
    Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`)) >= 4,
  'the back-fill');
  await sleep(1500);
  await g.stop();
  await assertContiguous(t, from, Date.now() * 1000 + 5e6, t.channels);
});

test('a wrong code is refused once in the log and the samples are kept', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const g = gateway({ url: srv.url, code: 'mta_' + 'B'.repeat(43), args: ['--kind', 'one', '--models', 'LR8450'] });
  await g.waitFor(/refuses this app \(401 unauthenticated/);
  await sleep(2500);
  assert.ok(g.spooled() >= 2, 'the samples wait');
  assert.equal((g.log().match(/refuses this app/g) || []).length, 1, 'said once');
  await g.stop();
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`), '0');
});

test('high-speed mode (M3): 5-second samples reach the monitor while it is on', async () => {
  const t = await dataTenant(srv, { n: 2 });
  // The app must belong to a group for high-speed mode.
  const grp = await t.c.post('/api/v1/groups', { name: 'Line 1' });
  assert.equal(grp.status, 201, JSON.stringify(grp.body));
  let r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: grp.body.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const g = gateway({ url: srv.url, code: t.app.credential });
  await g.waitFor(/plays the app's LR8450/);
  r = await t.c.post(`/api/v1/groups/${grp.body.id}/live`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const since = Date.now() * 1000 - 60e6;
  const live = await until(async () => {
    const q = await t.c.get(`/api/v1/groups/${grp.body.id}/live?since=${since}`);
    const ch = q.body.channels?.find((c) => c.id === t.channels[0]);
    return ch && ch.t.length >= 2 ? ch : null;
  }, 'two live samples', 20000);
  for (const x of live.t) assert.equal(x % 5e6, 0, 'on 5-second instants');
  await g.stop();
});

/** A fresh account of "plan" with a signed-in admin and one app of "kind"
 * without devices. */
async function newApp({ plan = 'pro', kind = 'one' } = {}) {
  const account = uniq('gwa');
  const ids = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'Simulated gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: ids.accountId, c, appId: r.body.id, credential: r.body.credential };
}

test('a new app: the gateway registers its instruments with firmware and channels, all send', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '4'] });
  const devices = await until(async () => {
    const r = await t.c.get(`/api/v1/apps/${t.appId}/devices`);
    return r.body.items?.length === 3 ? r.body.items : null;
  }, 'three devices');
  assert.deepEqual(devices.map((d) => d.model).sort(), ['BT3554-50', 'LR8450', 'PW3390']);
  for (const d of devices) {
    assert.match(d.firmware, /^V\d+\.\d+$/);
    assert.equal(d.firmware_supported, true, `${d.model} ${d.firmware} >= ${d.min_firmware}`);
  }
  // 4 + 5 + 2 channels, all selected on Pro (P10: 100), all receive samples.
  await until(async () => Number(await sql(`SELECT count(*) FROM channel_latest
    WHERE account_id = ${t.id}`)) === 11, 'latest values of all 11 channels');
  await g.stop();
});

test('self-check (M4): the gateway answers with its instruments and its spool', async () => {
  const t = await newApp({ kind: 'cross' });
  const g = gateway({ url: srv.url, code: t.credential });
  await until(async () => (await t.c.get(`/api/v1/apps/${t.appId}/devices`)).body.items?.length === 2,
    'two devices');
  let r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const rid = r.body.id;
  const done = await until(async () => {
    const q = await t.c.get(`/api/v1/apps/${t.appId}/requests/${rid}`);
    return q.body.state !== 'pending' ? q.body : null;
  }, 'the answer', 15000);
  assert.equal(done.state, done.ok ? 'done' : 'failed');
  assert.match(done.message, /instruments/);
  assert.equal(done.result.app.kind, 'cross');
  assert.equal(typeof done.result.app.spooled_batches, 'number');
  assert.deepEqual(done.result.instruments.map((i) => i.model).sort(), ['BT3554-50', 'CM4372']);
  for (const i of done.result.instruments) {
    assert.ok(i.device_id > 0);
    assert.equal(i.communication, 'ok');
    assert.ok(Array.isArray(i.problems));
  }
  await g.stop();
});

test('a report the plan refuses is logged with the server\'s words, and the gateway goes on', async () => {
  const t = await newApp({ plan: 'free', kind: 'cross' }); // P12: 3 instruments per app
  const g = gateway({ url: srv.url, code: t.credential, args: ['--instruments', '4'] });
  await g.waitFor(/the server refuses the instruments \(403 plan_limit\): .*P12/);
  assert.equal(await sql(`SELECT count(*) FROM devices WHERE account_id = ${t.id}`), '0');
  await g.stop();
});

test('firmware (I4, M6): an old logger is refused, upgraded from the monitor, and comes back', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential,
    args: ['--models', 'LR8450', '--channels', '2', '--firmware', 'LR8450=V1.40'] });
  await g.waitFor(/refused for good \(422 firmware_too_old\): .*LR8450 with firmware V1\.40: monitoring needs firmware V1\.50 or later/);
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`), '0');
  const devs = (await t.c.get(`/api/v1/apps/${t.appId}/devices`)).body.items;
  assert.equal(devs[0].firmware, 'V1.40');
  assert.equal(devs[0].functions.monitoring.allowed, false);
  let r = await t.c.post(`/api/v1/devices/${devs[0].id}/firmware-upgrade`, { firmware: 'V2.30' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await g.waitFor(/upgrading firmware V1\.40 -> V2\.30/);
  const done = await until(async () => {
    const q = await t.c.get(`/api/v1/apps/${t.appId}/requests/${r.body.id}`);
    return q.body.state !== 'pending' ? q.body : null;
  }, 'the upgrade', 30000);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.deepEqual(done.result, { firmware: 'V2.30' });
  r = await t.c.get(`/api/v1/devices/${devs[0].id}`);
  assert.equal(r.body.firmware, 'V2.30');
  assert.equal(r.body.functions.monitoring.allowed, true);
  // The instrument measures again and its batches are stored.
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 2, 'batches after the upgrade');
  const state = JSON.parse(fs.readFileSync(`${g.state}/gateway.json`, 'utf8'));
  assert.equal(state.instruments[0].firmware, 'V2.30');
  await g.stop();
});
