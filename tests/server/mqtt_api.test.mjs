// The certificate routes of MQTTS (docs/mqtt.md), without a broker: an app
// gets a client certificate of Metron's CA with its credential and a CSR;
// wrong requests are refused and change nothing; at most 5 are active; an
// administrator revokes one; a new credential or the app's deletion revokes
// them all, and the serials stay refused after the app is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAccount, createUser, freePort, login, request, startStack, stopStack, tempDir }
  from './harness.mjs';
import { PW, uniq } from './data_helpers.mjs';

const execFileP = promisify(execFile);
let stack;
let srv;
let plain; // a second server without --mqtt, on the same database
let mqttDir;
const sql = (q) => stack.pg.psql(q, stack.db);

before(async () => {
  mqttDir = tempDir('metron-mqtt-');
  stack = await startStack({ args: ['--mqtt', `mqtts://127.0.0.1:${await freePort()}`,
    '--mqtt-dir', mqttDir] });
  srv = stack.srv;
});
after(async () => {
  await stopStack(stack);
  fs.rmSync(mqttDir, { recursive: true, force: true });
});

async function csr() {
  const dir = tempDir('metron-csr-');
  await execFileP('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=whatever', '-keyout',
    path.join(dir, 'k'), '-out', path.join(dir, 'r')]);
  const text = fs.readFileSync(path.join(dir, 'r'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return text;
}

async function tenant() {
  const account = uniq('mqa');
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind: 'one', name: 'G' });
  assert.equal(r.status, 201);
  return { id: ids.accountId, account, c, appId: r.body.id, credential: r.body.credential };
}

const ask = (t, body, url = srv.url) => request(url, 'POST', '/api/v1/ingest/certificate',
  { body, headers: { authorization: `Bearer ${t.credential}` } });

test('the broker\'s files are written: CA, its certificate and key, CRL, mosquitto.conf', () => {
  for (const f of ['ca.pem', 'broker.crt', 'broker.key', 'crl.pem', 'mosquitto.conf']) {
    assert.ok(fs.existsSync(path.join(mqttDir, f)), f);
  }
  const conf = fs.readFileSync(path.join(mqttDir, 'mosquitto.conf'), 'utf8');
  assert.match(conf, /^require_certificate true$/m);
  assert.match(conf, /^allow_anonymous false$/m);
  assert.match(conf, /^plugin_opt_crl .*crl\.pem$/m);
  assert.equal(fs.statSync(path.join(mqttDir, 'broker.key')).mode & 0o077, 0);
});

test('an app gets a certificate for its key, named after it, with the broker and its topics', async () => {
  const t = await tenant();
  const r = await ask(t, { csr: await csr() });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.match(r.body.certificate, /^-----BEGIN CERTIFICATE-----/);
  assert.match(r.body.ca, /^-----BEGIN CERTIFICATE-----/);
  assert.match(r.body.serial, /^[0-9a-f]{32}$/);
  assert.equal(r.body.app_id, t.appId);
  assert.equal(r.body.mqtt.topics.batch, `metron/v1/app/${t.appId}/up/batch`);
  assert.equal(r.body.mqtt.topics.reply, `metron/v1/app/${t.appId}/down/reply`);
  // The subject is the CA's choice, not the request's.
  const dir = tempDir('metron-cert-');
  fs.writeFileSync(path.join(dir, 'c'), r.body.certificate);
  fs.writeFileSync(path.join(dir, 'ca'), r.body.ca);
  const { stdout } = await execFileP('openssl', ['x509', '-in', path.join(dir, 'c'), '-noout', '-subject', '-ext', 'extendedKeyUsage']);
  assert.match(stdout, new RegExp(`CN *= *app-${t.appId}`));
  assert.match(stdout, /TLS Web Client Authentication/);
  const v = await execFileP('openssl', ['verify', '-CAfile', path.join(dir, 'ca'), path.join(dir, 'c')]);
  assert.match(v.stdout, /OK/);
  fs.rmSync(dir, { recursive: true, force: true });
  const list = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  assert.equal(list.body.items[0].serial, r.body.serial);
  assert.equal(list.body.items[0].state, 'active');
});

test('wrong certificate requests are refused and issue nothing', async () => {
  const t = await tenant();
  const good = await csr();
  const cases = [
    [{}, 400, 'missing'],
    [{ csr: 5 }, 400, 'wrong_type'],
    [{ csr: good, x: 1 }, 400, 'unknown_field'],
    [{ csr: 'hello' }, 400, 'invalid_csr'],
    [{ csr: good.replace(/[A-Za-z](?=[A-Za-z0-9+/]{20}\n)/, (ch) => (ch === 'A' ? 'B' : 'A')) }, 400, 'invalid_csr'],
    [{ csr: 'A'.repeat(9000) }, 400, 'too_long'],
  ];
  for (const [body, status, code] of cases) {
    const r = await ask(t, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 60)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code);
  }
  const r = await request(srv.url, 'POST', '/api/v1/ingest/certificate', { body: { csr: good } });
  assert.equal(r.status, 401);
  assert.equal(await sql(`SELECT count(*) FROM app_certificates WHERE account_id = ${t.id}`), '0');
});

test('at most five active certificates; revoking one makes room', async () => {
  const t = await tenant();
  for (let i = 0; i < 5; i++) assert.equal((await ask(t, { csr: await csr() })).status, 201);
  let r = await ask(t, { csr: await csr() });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'too_many_certificates');
  const list = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  // A member may look but not revoke.
  await createUser(srv.url, { accountId: t.id, user: 'viewer', password: PW, role: 'member' });
  const m = await login(srv.url, { account: t.account, user: 'viewer', password: PW });
  r = await m.post(`/api/v1/apps/${t.appId}/certificates/${list.body.items[0].id}/revoke`);
  assert.equal(r.status, 403);
  r = await t.c.post(`/api/v1/apps/${t.appId}/certificates/${list.body.items[0].id}/revoke`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.post(`/api/v1/apps/${t.appId}/certificates/999999/revoke`);
  assert.equal(r.status, 404);
  assert.equal((await ask(t, { csr: await csr() })).status, 201);
  assert.equal(await sql(`SELECT count(*) FROM mqtt_revoked WHERE identity = 'app-${t.appId}'`), '1');
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'app.certificate_revoke'`), '1');
  // The CRL the broker reads lists it.
  const crl = fs.readFileSync(path.join(mqttDir, 'crl.pem'), 'utf8');
  assert.match(crl, /BEGIN X509 CRL/);
});

test('a new credential revokes the app\'s certificates; deleting the app keeps them refused', async () => {
  const t = await tenant();
  const a = await ask(t, { csr: await csr() });
  const b = await ask(t, { csr: await csr() });
  let r = await t.c.post(`/api/v1/apps/${t.appId}/credentials`);
  assert.equal(r.status, 200);
  const list = await t.c.get(`/api/v1/apps/${t.appId}/certificates`);
  assert.deepEqual(list.body.items.map((c) => c.state), ['revoked', 'revoked']);
  t.credential = r.body.credential;
  const c = await ask(t, { csr: await csr() });
  assert.equal(c.status, 201);
  r = await t.c.del(`/api/v1/apps/${t.appId}`);
  assert.equal(r.status, 200);
  const serials = (await sql(`SELECT serial FROM mqtt_revoked WHERE identity = 'app-${t.appId}'
    ORDER BY serial`)).split('\n');
  assert.deepEqual(serials, [a.body.serial, b.body.serial, c.body.serial].sort());
});

test('a server without MQTT says so: apps send over HTTPS', async () => {
  const t = await tenant();
  const { startServer } = await import('./harness.mjs');
  plain = await startServer({ databaseUrl: stack.pg.url(stack.db) });
  try {
    const r = await ask(t, { csr: await csr() }, plain.url);
    assert.equal(r.status, 503);
    assert.equal(r.body.code, 'mqtt_off');
  } finally {
    await plain.stop();
    fs.rmSync(plain.dataDir, { recursive: true, force: true });
  }
});
