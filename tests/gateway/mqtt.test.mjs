// MQTTS with mutual TLS through Mosquitto (docs/mqtt.md), all real parts:
// PostgreSQL, metron-server with its MQTT bridge, Mosquitto with Metron's
// plugin, metron-gateway. A gateway obtains its certificate with its
// registration code and sends over MQTTS; a foreign certificate, another
// app's topic and a revoked certificate are refused (the revocation at
// once); a broker restart and a server restart mid-stream leave no gap and
// no duplicate; two server processes share the subscription and every
// message is stored once; a certificate due is renewed without a
// reconnection; high-speed mode's 5-second samples travel on the
// live topic; a gateway that dies is disconnected by its will and
// connected again when it is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, accessLogWith, createAccount, freePort, login, request, sleep, startPostgres, startServer,
  tempDir } from '../server/harness.mjs';
import { PW, uniq } from '../server/data_helpers.mjs';
import { foreignCert, makeCsr, pluginPath, rawOf, startBroker, startGateway, until } from './helpers.mjs';
import { mqttConnect } from './mqtt_wire.mjs';

let pg;
let dbUrl;
let db;
let httpPort;
let brokerPort;
let mqttDir;
let srv;
let broker;
const extra = []; // other servers
const gateways = [];
const sql = (q) => pg.psql(q, db);

function serverArgs(port) {
  return ['--listen', `127.0.0.1:${port}`, '--mqtt', `mqtts://127.0.0.1:${brokerPort}`,
    '--mqtt-dir', mqttDir, '--mqtt-plugin', pluginPath];
}

async function serverUp() {
  srv = await startServer({ databaseUrl: dbUrl, args: serverArgs(httpPort),
    env: { METRON_COMPACT_MS: '500' } });
  return srv;
}

before(async () => {
  pg = await startPostgres();
  dbUrl = await pg.createDatabase();
  db = new URL(dbUrl).pathname.slice(1);
  httpPort = await freePort();
  brokerPort = await freePort();
  mqttDir = tempDir('metron-mqtt-');
  await serverUp();
  broker = await startBroker(mqttDir, brokerPort);
  await until(async () => (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.connected,
    'the server connected to the broker');
});

after(async () => {
  for (const g of gateways) {
    await g.stop('SIGKILL');
    fs.rmSync(g.state, { recursive: true, force: true });
  }
  for (const s of [...extra, srv].filter(Boolean)) {
    await s.stop();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
    // An ASan+UBSan server (scripts/test) must have nothing to report.
    assert.doesNotMatch(s.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
  await broker?.stop();
  await destroyChecked(pg);
  fs.rmSync(mqttDir, { recursive: true, force: true });
});

function gateway(opts) {
  const g = startGateway(opts);
  gateways.push(g);
  return g;
}

/** A fresh Pro account with an admin and one app of "kind". */
async function newApp(kind = 'lr8450-direct') {
  const account = uniq('mq');
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'MQTT gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: ids.accountId, account, c, appId: r.body.id, credential: r.body.credential };
}

/** POST /ingest/certificate with a CSR of the openssl CLI: the reply and the key. */
async function certificateFor(t) {
  const { csr, key } = await makeCsr();
  const r = await request(srv.url, 'POST', '/api/v1/ingest/certificate', { body: { csr },
    headers: { authorization: `Bearer ${t.credential}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { ...r.body, key };
}

/** Every channel of "t" holds one sample per second between its first and
 * last, each stored once. */
async function assertContiguous(t, from) {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200);
  const chans = (await sql(`SELECT c.id FROM channels c JOIN devices d ON d.id = c.device_id
    WHERE c.account_id = ${t.id} AND c.selected`)).split('\n').map(Number);
  assert.ok(chans.length > 0);
  let span;
  for (const ch of chans) {
    const { t: times } = await rawOf(t.c, ch, from, Date.now() * 1000 + 5e6);
    assert.ok(times.length > 3, `channel ${ch} has samples`);
    for (let i = 1; i < times.length; i++) {
      assert.equal(times[i] - times[i - 1], 1e6, `channel ${ch}: a gap or a duplicate at ${times[i]}`);
    }
    const stored = Number(await sql(`SELECT COALESCE(sum(n), 0) FROM series_day
      WHERE account_id = ${t.id} AND channel_id = ${ch}`));
    assert.equal(stored, times.length, `channel ${ch}: every sample stored once`);
    span = [times[0], times[times.length - 1]];
  }
  return span;
}

test('a gateway gets its certificate with its code and sends over MQTTS', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '3'] });
  await g.waitFor(/MQTTS: connected to mqtts:\/\/127\.0\.0\.1:\d+ as app-\d+/);
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 3, 'three batches through the broker');
  // The certificate is on record, active, named after the app.
  const certs = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  assert.equal(certs.status, 200);
  assert.equal(certs.body.items.length, 1);
  assert.equal(certs.body.items[0].state, 'active');
  assert.match(fs.readFileSync(path.join(g.state, 'mqtt.crt'), 'utf8'), /BEGIN CERTIFICATE/);
  assert.equal(fs.statSync(path.join(g.state, 'mqtt.key')).mode & 0o777, 0o600);
  // The batches came through MQTT, not HTTPS: the access log has none
  // (its lines are written by one thread in batches: wait for the GET above).
  const access = await accessLogWith(srv.dataDir,
    [new RegExp(`"path":"/api/v1/apps/${t.appId}/certificates"`)]);
  assert.doesNotMatch(access, /"path":"\/api\/v1\/ingest\/batches"/);
  await g.stop();
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 'f');
});

test('a foreign certificate, another app\'s topics and a server identity are refused', async () => {
  const t = await newApp();
  const other = await newApp();
  const mine = await certificateFor(t);
  const ca = mine.ca;
  // A certificate of another CA does not get through the handshake.
  const foreign = await foreignCert(`app-${t.appId}`);
  let r = await mqttConnect({ port: brokerPort, ca, cert: foreign.cert, key: foreign.key });
  assert.ok(r.tlsError || r.reason !== 0, 'a foreign certificate is refused');
  // No certificate at all.
  r = await mqttConnect({ port: brokerPort, ca });
  assert.ok(r.tlsError || r.reason !== 0, 'no certificate is refused');
  // The app's own certificate connects, whatever user name it claims.
  r = await mqttConnect({ port: brokerPort, ca, cert: mine.certificate, key: mine.key,
    clientId: 'probe', username: 'metron-server' });
  assert.equal(r.reason, 0);
  const c = r.client;
  const own = `metron/v1/app/${t.appId}`;
  const theirs = `metron/v1/app/${other.appId}`;
  assert.equal(await c.publish(`${own}/up/status`, '{"state":"heartbeat"}'), 0);
  // Another app's topics, a topic outside the app's, and the servers' control topic.
  for (const topic of [`${theirs}/up/batch`, `${own}/down/reply`, 'metron/v1/other',
    `${own}/up/batch/x`, '$CONTROL/metron/v1']) {
    assert.equal(await c.publish(topic, '{}'), 0x87, `publish to ${topic} is not authorised`);
  }
  for (const filter of [`${theirs}/down/#`, 'metron/v1/app/+/down/#', '#',
    `$share/metron/metron/v1/app/+/up/#`]) {
    assert.equal(await c.subscribe(filter), 0x87, `subscribe to ${filter} is not authorised`);
  }
  assert.equal(await c.subscribe(`${own}/down/#`), 1);
  c.end();
  // A batch published by the probe to its own topic is answered on its own reply topic.
  r = await mqttConnect({ port: brokerPort, ca, cert: mine.certificate, key: mine.key, clientId: 'probe2' });
  assert.equal(await r.client.subscribe(`${own}/down/#`), 1);
  assert.equal(await r.client.publish(`${own}/up/batch`, 'not json'), 0);
  const reply = await r.client.next(10000);
  assert.equal(reply.type, 3);
  const text = reply.body.toString('utf8');
  assert.match(text, /"ok":false/);
  assert.match(text, /"code":"malformed_json"/);
  r.client.end();
});

test('revoking a certificate disconnects the app at once and refuses the certificate', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '2'] });
  await g.waitFor(/MQTTS: connected/);
  const from = Date.now() * 1000 - 5e6;
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 2, 'two batches');
  const cert = fs.readFileSync(path.join(g.state, 'mqtt.crt'), 'utf8');
  const key = fs.readFileSync(path.join(g.state, 'mqtt.key'), 'utf8');
  const ca = fs.readFileSync(path.join(g.state, 'mqtt-ca.pem'), 'utf8');
  const list = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  const old = list.body.items[0];
  // The administrator revokes it, once.
  let r = await t.c.post(`/api/v1/apps/${t.appId}/certificates/${old.id}/revoke`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const revokedAt = Date.now();
  r = await t.c.post(`/api/v1/apps/${t.appId}/certificates/${old.id}/revoke`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'already_revoked');
  // The broker drops the gateway within a couple of seconds ...
  await g.waitFor(/MQTTS: lost the broker/, 10000);
  assert.ok(Date.now() - revokedAt < 5000, 'disconnected at once');
  // ... refuses the revoked certificate from then on ...
  const probe = await mqttConnect({ port: brokerPort, ca, cert, key, clientId: 'revoked' });
  assert.ok(probe.tlsError || probe.reason === 0x87 || probe.reason === 0x86,
    `the revoked certificate is refused (${JSON.stringify(probe.reason ?? probe.tlsError)})`);
  // ... and the gateway gets a new one with its code and goes on.
  await g.waitFor(/asking for a new one/, 15000);
  const times = (re) => (g.log().match(re) || []).length;
  await until(() => times(/got client certificate/g) >= 2 && times(/MQTTS: connected/g) >= 2,
    'a new certificate and a new connection', 20000);
  const after = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  assert.deepEqual(after.body.items.map((c) => c.state).sort(), ['active', 'revoked']);
  const n = Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`));
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) > n + 1, 'batches again');
  await until(async () => g.spooled() === 0, 'an empty spool');
  await g.stop();
  await assertContiguous(t, from);
  // The broker logged the refusal with the serial.
  assert.match(broker.log(), new RegExp(`certificate ${old.serial} is revoked`));
});

test('high-speed mode (M3) over MQTTS: 5-second samples reach the monitor through the broker', async () => {
  const t = await newApp('one');
  const grp = await t.c.post('/api/v1/groups', { name: 'Line 1' });
  assert.equal(grp.status, 201, JSON.stringify(grp.body));
  let r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: grp.body.id });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const g = gateway({ url: srv.url, code: t.credential, args: ['--models', 'LR8450', '--channels', '2'] });
  await g.waitFor(/MQTTS: connected/);
  await until(async () => Number(await sql(`SELECT count(*) FROM channel_latest
    WHERE account_id = ${t.id}`)) === 2, 'both channels');
  const ch = Number((await sql(`SELECT min(channel_id) FROM channel_latest WHERE account_id = ${t.id}`)));
  const access = () => fs.readFileSync(path.join(srv.dataDir, 'access.log'), 'utf8');
  r = await t.c.post(`/api/v1/groups/${grp.body.id}/live`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const since = Date.now() * 1000 - 60e6;
  const live = await until(async () => {
    const q = await t.c.get(`/api/v1/groups/${grp.body.id}/live?since=${since}`);
    const c = q.body.channels?.find((x) => x.id === ch);
    return c && c.t.length >= 2 ? c : null;
  }, 'two live samples', 30000);
  for (const x of live.t) assert.equal(x % 5e6, 0, 'on 5-second instants');
  // They came through the broker (up/live), not the HTTPS live route.
  assert.doesNotMatch(access(), /"path":"\/api\/v1\/ingest\/live"/);
  await g.stop();
});

test('renewal: a certificate due is renewed while connected, the connection stays, the next one uses the new', async () => {
  const t = await newApp();
  const from = Date.now() * 1000 - 5e6;
  // App certificates last 90 days: renewing 100 days ahead makes the first one due at once.
  let g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '1', '--renew-days', '100'] });
  await g.waitFor(/MQTTS: connected .*\(certificate ([0-9a-f]+)\)/);
  const first = /MQTTS: connected .*\(certificate ([0-9a-f]+)\)/.exec(g.log())[1];
  await g.waitFor(new RegExp(`certificate ${first} expires in \\d+ days: renewing it \\(the connection stays\\)`));
  await until(() => (g.log().match(/got client certificate/g) || []).length === 2, 'the renewed certificate');
  const second = [...g.log().matchAll(/got client certificate ([0-9a-f]+)/g)][1][1];
  assert.notEqual(second, first);
  const certs = (await t.c.get(`/api/v1/apps/${t.appId}/certificates`)).body.items;
  assert.deepEqual(certs.map((c) => c.state), ['active', 'active'], 'the old one stays valid');
  // The connection went on: no reconnection, the app never seen disconnected.
  const n = Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`));
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= n + 2, 'batches after the renewal');
  assert.doesNotMatch(g.log(), /lost the broker/);
  assert.equal((g.log().match(/MQTTS: connected/g) || []).length, 1);
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 't');
  await g.stop();
  // The next start connects with the renewed certificate (and does not renew again).
  g = gateway({ state: g.state });
  await g.waitFor(new RegExp(`MQTTS: connected .*\\(certificate ${second}\\)`));
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= n + 4, 'batches with the new certificate');
  await until(async () => g.spooled() === 0, 'an empty spool');
  assert.doesNotMatch(g.log(), /renewing|got client certificate/);
  await g.stop();
  await assertContiguous(t, from);
});

test('broker restart mid-stream: the batches wait and arrive, no gap, no duplicate', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '2'] });
  await g.waitFor(/MQTTS: connected/);
  const from = Date.now() * 1000 - 5e6;
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 2, 'two batches');
  await broker.stop('SIGKILL');
  await g.waitFor(/MQTTS: lost the broker/);
  await sleep(3000);
  assert.ok(g.spooled() >= 2, `batches wait (${g.spooled()})`);
  broker = await startBroker(mqttDir, brokerPort);
  await until(async () => g.spooled() === 0, 'the back-fill', 30000);
  await sleep(1500);
  await g.stop();
  await assertContiguous(t, from);
});

test('server restart mid-stream over MQTTS: no gap, no duplicate', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '2'] });
  await g.waitFor(/MQTTS: connected/);
  const from = Date.now() * 1000 - 5e6;
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 2, 'two batches');
  await srv.stop('SIGKILL');
  await sleep(3000);
  await serverUp();
  await until(async () => g.spooled() === 0 && Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 6, 'the back-fill', 40000);
  await sleep(1500);
  await g.stop();
  await assertContiguous(t, from);
});

test('two servers share the subscription: every message is handled once, by one of them', async () => {
  const second = await startServer({ databaseUrl: dbUrl, args: serverArgs(await freePort()) });
  extra.push(second);
  await until(async () => (await request(second.url, 'GET', '/api/v1/test/mqtt')).body.connected,
    'the second server connected');
  const before1 = (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.messages;
  const before2 = (await request(second.url, 'GET', '/api/v1/test/mqtt')).body.messages;
  const t = await newApp();
  const from = Date.now() * 1000 - 5e6;
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '2'] });
  await until(async () => Number(await sql(`SELECT count(*) FROM ingest_batches
    WHERE account_id = ${t.id}`)) >= 12, 'twelve batches', 40000);
  await g.stop();
  const m1 = (await request(srv.url, 'GET', '/api/v1/test/mqtt')).body.messages - before1;
  const m2 = (await request(second.url, 'GET', '/api/v1/test/mqtt')).body.messages - before2;
  assert.ok(m1 > 0 && m2 > 0, `both servers took messages (${m1}, ${m2})`);
  const [n, distinct] = (await sql(`SELECT count(*), count(DISTINCT batch_id) FROM ingest_batches
    WHERE account_id = ${t.id}`)).split('|').map(Number);
  assert.equal(n, distinct);
  await assertContiguous(t, from);
});

test('a gateway that dies is marked disconnected by its will (S6, cause mqtt), and connected when it is back', async () => {
  const t = await newApp();
  const g = gateway({ url: srv.url, code: t.credential, args: ['--channels', '1', '--keepalive', '5'] });
  await g.waitFor(/MQTTS: connected/);
  await until(async () => (await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`)) === 't',
    'connected');
  // The S6 job takes note of the connection first.
  assert.equal((await request(srv.url, 'POST', '/api/v1/test/jobs?job=app_connections')).status, 200);
  await g.stop('SIGKILL');
  const killed = Date.now();
  // The broker notices the silence after 1.5 x the keep-alive and sends the will.
  await until(async () => (await sql(`SELECT connected::text || ' ' || connection_cause
    FROM app_seen WHERE app_id = ${t.appId}`)) === 'false mqtt', 'disconnected by the will', 20000);
  assert.ok(Date.now() - killed < 15000, 'within the keep-alive');
  // The S6 job records the change (and tells the group's recipients).
  const r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=app_connections');
  assert.equal(r.status, 200);
  assert.equal(await sql(`SELECT event || ' ' || cause FROM app_connection_events
    WHERE app_id = ${t.appId} ORDER BY id DESC LIMIT 1`), 'disconnected mqtt');
  const [disconnectedAt] = (await sql(`SELECT extract(epoch FROM disconnected_at) FROM app_seen
    WHERE app_id = ${t.appId}`)).split('\n').map(Number);
  assert.ok(Math.abs(disconnectedAt * 1000 - killed) < 15000, 'the time of the will is kept');
  // The gateway comes back (its state folder): connected again at its
  // first message, the times of both kept, the change recorded.
  const back = gateway({ state: g.state, args: ['--keepalive', '5'] });
  await back.waitFor(/MQTTS: connected/);
  await until(async () => (await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`)) === 't',
    'connected again');
  const [connectedAt, disconnectedAt2] = (await sql(`SELECT extract(epoch FROM connected_at) || '|' ||
    extract(epoch FROM disconnected_at) FROM app_seen WHERE app_id = ${t.appId}`)).split('|').map(Number);
  assert.ok(connectedAt > disconnectedAt2, 'connected after the disconnection');
  assert.equal(disconnectedAt2, disconnectedAt, 'the disconnection time stays');
  assert.equal((await request(srv.url, 'POST', '/api/v1/test/jobs?job=app_connections')).status, 200);
  assert.equal(await sql(`SELECT event FROM app_connection_events
    WHERE app_id = ${t.appId} ORDER BY id DESC LIMIT 1`), 'connected');
  await back.stop();
});
