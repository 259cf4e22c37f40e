// metron-gateway through a maintenance window (O1; docs/operations.md
// "Maintenance windows"), all real parts: PostgreSQL, metron-server with its
// MQTT bridge, Mosquitto with Metron's plugin, metron-gateway. A short real
// window is scheduled through the operator's API. Over HTTPS the API answers
// 503 maintenance with Retry-After, over MQTTS the bridge answers a batch
// {"code":"maintenance","retry":true,"retry_after":N}: either way the
// gateway sends nothing more until the window's end (the server's access
// log, the bridge's message count), keeps sampling into its spool, and then
// back-fills: every sample measured during the window is stored once, no
// gap, nothing refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, freePort, request, sleep, startPostgres, startServer, tempDir } from '../server/harness.mjs';
import { dataTenant } from '../server/data_helpers.mjs';
import { pluginPath, rawOf, startBroker, startGateway, until } from './helpers.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
const WINDOW_S = 12;
let pg;
let db;
let srv;
let broker;
let mqttDir;
const gateways = [];
const sql = (q) => pg.psql(q, db);
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const ops = (method, p, body) => request(srv.url, method, `/api/v1/ops${p}`,
  { body, headers: { authorization: `Bearer ${OPS_TOKEN}` } });

before(async () => {
  pg = await startPostgres();
  const dbUrl = await pg.createDatabase();
  db = new URL(dbUrl).pathname.slice(1);
  const brokerPort = await freePort();
  mqttDir = tempDir('metron-mqtt-');
  srv = await startServer({ databaseUrl: dbUrl,
    args: ['--jobs-interval', '0', '--mqtt', `mqtts://127.0.0.1:${brokerPort}`,
      '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath],
    env: { METRON_COMPACT_MS: '500', METRON_OPS_TOKEN: OPS_TOKEN } });
  broker = await startBroker(mqttDir, brokerPort);
  await until(async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.connected,
    'the server connected to the broker');
});

after(async () => {
  for (const g of gateways) {
    await g.stop('SIGKILL');
    fs.rmSync(g.state, { recursive: true, force: true });
  }
  await srv?.stop();
  await broker?.stop();
  await destroyChecked(pg);
  if (mqttDir) fs.rmSync(mqttDir, { recursive: true, force: true });
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer|LeakSanitizer/);
});

/** The access log's lines (parsed) from byte "from" on. */
function accessLines(from) {
  const text = fs.readFileSync(path.join(srv.dataDir, 'access.log'), 'utf8').slice(from);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const accessSize = () => fs.statSync(path.join(srv.dataDir, 'access.log')).size;
const bridgeMessages = async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.messages;

/** Every selected channel of "t": one sample a second from before the window
 * to after it, each stored once. */
async function assertBackfilled(t, from, startsAt, endsAt) {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200);
  for (const ch of t.channels) {
    const { t: times } = await rawOf(t.c, ch, from, Date.now() * 1000 + 5e6);
    assert.ok(times[0] < startsAt * 1e6 && times[times.length - 1] > endsAt * 1e6,
      `channel ${ch}: the samples span the window`);
    for (let i = 1; i < times.length; i++) {
      assert.equal(times[i] - times[i - 1], 1e6, `channel ${ch}: a gap or a duplicate at ${times[i]}`);
    }
    const n = Number(await sql(`SELECT COALESCE(sum(n), 0) FROM series_day
      WHERE account_id = ${t.id} AND channel_id = ${ch}`));
    assert.equal(n, times.length, `channel ${ch}: every sample stored once`);
  }
  const [n, distinct] = (await sql(`SELECT count(*), count(DISTINCT batch_id) FROM ingest_batches
    WHERE account_id = ${t.id}`)).split('|').map(Number);
  assert.equal(n, distinct);
}

/** The gateway's lines of the access log ("lines"): at most "max" answered
 * 503 maintenance (at least one when max is 1), and none at all after the
 * first of them until the window's end "endsAt". */
function assertQuietAfter503(lines, endsAt, max) {
  const gw = lines.filter((l) => l.path.startsWith('/api/v1/ingest/'));
  const refused = gw.filter((l) => l.status === 503);
  assert.ok(refused.length <= max && (max !== 1 || refused.length === 1),
    `503s: ${JSON.stringify(refused)}`);
  if (refused.length === 0) return;
  const first = Date.parse(refused[0].time);
  const after = gw.filter((l) => Date.parse(l.time) > first && Date.parse(l.time) < endsAt * 1000);
  assert.deepEqual(after, [], 'nothing sent after the 503 until the window ended');
}

/** Schedule a window from now to WINDOW_S seconds ahead: [starts, ends]. */
async function window() {
  const now = Math.floor(Date.now() / 1000);
  const r = await ops('POST', '/maintenance', { starts_at: iso(now), ends_at: iso(now + WINDOW_S) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return [now, now + WINDOW_S];
}

test('HTTPS: the gateway obeys Retry-After (nothing sent during the window), then back-fills every sample once', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const from = Date.now() * 1000 - 5e6;
  const g = startGateway({ url: srv.url, code: t.app.credential, args: ['--transport', 'https'] });
  gateways.push(g);
  const batches = async () => Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`));
  await until(async () => (await batches()) >= 3, 'three batches stored');

  const logFrom = accessSize();
  const [startsAt, endsAt] = await window();
  await g.waitFor(/the server asks to wait \d+ s \(maintenance: /);
  // The window is in force: nothing is stored, batches wait in the spool.
  await until(async () => g.spooled() >= 3, 'three batches waiting in the spool', 30000);
  const stored = await batches();
  assert.ok(Date.now() / 1000 < endsAt - 1, 'the checks ran inside the window');
  assert.deepEqual(g.refused(), [], 'a 503 refuses nothing for good');

  await until(async () => g.spooled() === 0, 'an empty spool (back-filled)', 30000);
  assert.ok(Date.now() / 1000 >= endsAt, 'nothing was sent before the window ended');
  assert.ok(await batches() > stored);
  await sleep(1500);
  await g.stop();
  assert.deepEqual(g.refused(), []);

  // The access log: exactly one of the gateway's requests (the one that
  // learnt of the window) was answered 503, and none came after it until
  // the window's end.
  await until(async () => accessLines(logFrom).some((l) => l.path.startsWith('/api/v1/ingest/') &&
    l.status < 300 && Date.parse(l.time) >= endsAt * 1000), 'the access log shows the back-fill');
  assertQuietAfter503(accessLines(logFrom), endsAt, 1);
  await assertBackfilled(t, from, startsAt, endsAt);
});

test('MQTTS: a batch is refused with "maintenance" and retry_after, the gateway publishes nothing more until the end, then back-fills once', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const from = Date.now() * 1000 - 5e6;
  const g = startGateway({ url: srv.url, code: t.app.credential, args: ['--transport', 'mqtts'] });
  gateways.push(g);
  await g.waitFor(/MQTTS: connected to mqtts:\/\/127\.0\.0\.1:\d+ as app-\d+/);
  const batches = async () => Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`));
  await until(async () => (await batches()) >= 3, 'three batches stored through the broker');

  const logFrom = accessSize();
  const [startsAt, endsAt] = await window();
  await g.waitFor(/the server asks to wait \d+ s \(maintenance: the service is in a scheduled maintenance window/);
  const heldAt = await bridgeMessages();
  const stored = await batches();
  await until(async () => g.spooled() >= 3, 'three batches waiting in the spool', 30000);
  assert.ok(Date.now() / 1000 < endsAt - 1, 'the checks ran inside the window');
  // Nothing reached the bridge since the refusal (no batch, no heartbeat).
  assert.equal(await bridgeMessages(), heldAt, 'the gateway published nothing while held');
  assert.equal(await batches(), stored, 'nothing stored during the window');
  assert.deepEqual(g.refused(), [], 'a maintenance refusal refuses nothing for good');

  await until(async () => g.spooled() === 0, 'an empty spool (back-filled)', 30000);
  assert.ok(Date.now() / 1000 >= endsAt, 'nothing was sent before the window ended');
  await sleep(1500);
  await g.stop();
  assert.deepEqual(g.refused(), []);
  // Over HTTPS (the requests poll) at most the one request that learnt of
  // the window, and nothing after it.
  assertQuietAfter503(accessLines(logFrom), endsAt, 2);
  await assertBackfilled(t, from, startsAt, endsAt);
});

test('an answer due while the gateway holds (a firmware upgrade ending in the window) reaches the server later', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const g = startGateway({ url: srv.url, code: t.app.credential, args: ['--transport', 'https'] });
  gateways.push(g);
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 1, 'a batch stored');
  const r = await t.c.post(`/api/v1/devices/${t.deviceId}/firmware-upgrade`, { firmware: 'V9.90' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await g.waitFor(/upgrading firmware .* -> V9\.90/);
  // The window begins before the upgrade's 8 s are over: the gateway holds,
  // and the upgrade ends while it does.
  const [, endsAt] = await window();
  await g.waitFor(/the server asks to wait \d+ s \(maintenance: /);
  await g.waitFor(/firmware V9\.90 installed/, 20000);
  assert.ok(Date.now() / 1000 < endsAt, 'the upgrade ended inside the window');
  await g.waitFor(/the answer to request \d+ waits for the server/);
  // The portal's API answers 503 maintenance too until the window ends.
  const done = await until(async () => {
    const q = await t.c.get(`/api/v1/apps/${t.appId}/requests/${r.body.id}`);
    return q.status === 200 && q.body.state !== 'pending' ? q.body : null;
  }, 'the upgrade answered', 40000).catch((e) => {
    throw new Error(`${e.message}; the gateway's log:\n${g.log()}`);
  });
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.deepEqual(done.result, { firmware: 'V9.90' });
  assert.match(g.log(), /the answer to request \d+ was sent again/);
  await g.stop();
});
