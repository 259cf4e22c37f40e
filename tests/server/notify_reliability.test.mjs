// The outbox under failure (docs/notify.md, "Exactly once"): a server killed
// with SIGKILL while a webhook request is in flight, and two server
// processes sending from one database. A receiver counts the POSTs it gets
// and their X-Metron-Delivery values.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { destroyChecked, createAccount, login, request, sleep, startPostgres, startServer, tempDir,
} from './harness.mjs';
import { startWebhookReceiver } from './webhook_receiver.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

let pg;
let rx;
const PW = 'Correct-h0rse';
const servers = [];

const ENV = {
  METRON_NOTIFY_ALLOW_LOCAL: '1',
  METRON_NOTIFY_BACKOFF_MS: '200',
  METRON_NOTIFY_BACKOFF_MAX_MS: '800',
  METRON_NOTIFY_TIMEOUT_MS: '1500',
  METRON_NOTIFY_LEASE_MS: '3000',
  METRON_NOTIFY_RATE_MS: '0,0,0,0',
};

before(async () => {
  pg = await startPostgres();
  rx = await startWebhookReceiver();
});

after(async () => {
  await rx?.stop();
  for (const s of servers) {
    await s.stop();
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  await destroyChecked(pg);
});

async function server(dbUrl, env = {}) {
  const s = await startServer({ databaseUrl: dbUrl, env: { ...ENV, ...env } });
  servers.push(s);
  return s;
}

async function tenant(srv, name) {
  const ids = await createAccount(srv.url, { account: name, plan: 'pro', user: 'admin',
    password: PW, email: `admin@${name}.test` });
  return { id: ids.accountId, c: await login(srv.url, { account: name, user: 'admin', password: PW }) };
}

async function destinations(t, prefix, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await t.c.post('/api/v1/destinations', { kind: ['slack', 'teams', 'wechat'][i % 3],
      address: rx.url(`/${prefix}/${i}/secret`), name: `${prefix} ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  return ids;
}

const waitSql = (dbName, q, want, timeoutMs = 60000) => pg.until(q, want, dbName, timeoutMs, 200);

test('kill -9 during delivery: after the restart every key is delivered, once per X-Metron-Delivery', async () => {
  const url = await pg.createDatabase();
  const dbName = new URL(url).pathname.slice(1);
  let srv = await server(url);
  const t = await tenant(srv, 'killed');
  const ids = await destinations(t, 'kill', 4);
  // Every receiver answers after 400 ms, so that requests are in flight
  // when the server dies; the first request of /kill/0 never gets an answer.
  for (let i = 0; i < 4; i++) rx.setDefault(`/kill/${i}/secret`, { stallMs: 400 });
  rx.plan('/kill/0/secret', [{ hang: true }]);
  const load = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
    account_id: t.id, destination_ids: ids, count: 40, per_tx: 10, key_prefix: 'kill',
    kind: 'alarm.raise', severity: 'alert', title: 'CH1 above 30' } });
  assert.equal(load.status, 200, JSON.stringify(load.body));
  assert.equal(load.body.queued, 40);
  const path = (r) => r.path.startsWith('/kill/');
  await rx.waitFor(() => rx.requests.filter(path).length >= 8 &&
    rx.requests.some((r) => r.path === '/kill/0/secret' && r.status === 'hang'));
  srv.proc.kill('SIGKILL');
  const exit = await srv.exited;
  assert.equal(exit.signal, 'SIGKILL');
  rx.releaseHung();
  const before = rx.requests.filter(path).length;
  assert.ok(before < 40, `${before} requests before the kill`);
  const inFlight = Number(await pg.psql(`SELECT count(*) FROM notify_outbox
    WHERE state = 'sending'`, dbName));
  assert.ok(inFlight >= 1, 'rows were in flight when the server died');

  srv = await server(url);
  await waitSql(dbName, `SELECT count(*) FILTER (WHERE state = 'sent') || '/' || count(*)
    FROM notify_outbox`, '40/40');
  const reqs = rx.requests.filter(path);
  const keys = new Set(reqs.map((r) => r.delivery));
  const outboxIds = (await pg.psql('SELECT id FROM notify_outbox ORDER BY id', dbName))
    .split('\n');
  // Every notification reached its receiver ...
  assert.deepEqual([...keys].sort(), [...outboxIds].sort());
  // ... and a POST was repeated only for a delivery whose first attempt was
  // cut by the kill (logged "lost"), always with the same X-Metron-Delivery.
  const lost = new Set((await pg.psql(`SELECT outbox_id FROM notify_attempts
    WHERE outcome = 'lost'`, dbName)).split('\n').filter(Boolean));
  assert.ok(lost.size >= 1);
  // A POST may also be repeated after an attempt that ended unanswered on
  // a busy machine (the 400 ms receiver past the sender's timeout: logged
  // "timeout" or "failed"); every repeat is one such attempt, never more.
  const unsent = new Map((await pg.psql(`SELECT outbox_id, count(*) FROM notify_attempts
    WHERE outcome <> 'sent' GROUP BY outbox_id`, dbName)).split('\n').filter(Boolean)
    .map((l) => l.split('|')).map(([k, n]) => [k, Number(n)]));
  const byKey = new Map();
  for (const r of reqs) byKey.set(r.delivery, (byKey.get(r.delivery) || 0) + 1);
  for (const [key, n] of byKey) {
    assert.ok(n - 1 <= (unsent.get(key) || 0),
      `delivery ${key} was posted ${n} times after ${unsent.get(key) || 0} unanswered attempts`);
  }
  const log = await pg.psql(`SELECT string_agg(outcome, ',' ORDER BY n) FROM notify_attempts
    WHERE outbox_id = (SELECT min(outbox_id) FROM notify_attempts WHERE outcome = 'lost')`, dbName);
  assert.match(log, /^lost,(.*,)?sent$/);
  // The answered ("accepted") requests: once per key, except where the
  // receiver had answered before the kill and the answer was never recorded.
  const accepted = rx.accepted().filter(path);
  const acceptedKeys = new Set(accepted.map((r) => r.delivery));
  assert.equal(acceptedKeys.size, 40);
  console.log(`# kill -9: ${reqs.length} POSTs for 40 deliveries, ${lost.size} lost attempts, ` +
    `${accepted.length - acceptedKeys.size} answered twice`);
});

test('two server processes on one database never send a notification twice', async () => {
  const url = await pg.createDatabase();
  const dbName = new URL(url).pathname.slice(1);
  const a = await server(url);
  const b = await server(url);
  const t = await tenant(a, 'twoproc');
  const ids = await destinations(t, 'two', 30);
  for (let i = 0; i < 30; i++) rx.setDefault(`/two/${i}/secret`, { stallMs: 5 });
  // Enqueued through both processes at once.
  const [ra, rb] = await Promise.all([a, b].map((s, k) => request(s.url, 'POST',
    '/api/v1/test/notify', { body: { account_id: t.id, destination_ids: ids, count: 300,
      per_tx: 25, key_prefix: `two${k}` } })));
  assert.equal(ra.body.queued + rb.body.queued, 600);
  await waitSql(dbName, `SELECT count(*) FILTER (WHERE state = 'sent') FROM notify_outbox`, '600');
  await sleep(500);
  const reqs = rx.requests.filter((r) => r.path.startsWith('/two/'));
  assert.equal(reqs.length, 600);
  assert.equal(new Set(reqs.map((r) => r.delivery)).size, 600);
  assert.equal(await pg.psql(`SELECT count(*) FROM notify_attempts`, dbName), '600');
  assert.equal(await pg.psql(`SELECT count(*) FROM notify_attempts WHERE outcome = 'sent'`,
    dbName), '600');
  const owners = (await pg.psql(`SELECT count(*) FROM notify_attempts GROUP BY owner`, dbName))
    .split('\n');
  assert.equal(owners.length, 2, 'both processes sent');
});

test('without METRON_NOTIFY_ALLOW_LOCAL a webhook on a loopback address is refused; mail waits for a relay', async () => {
  const url = await pg.createDatabase();
  const srv = await server(url, { METRON_NOTIFY_ALLOW_LOCAL: '0',
    METRON_NOTIFY_BACKOFF_MS: '60000', METRON_NOTIFY_BACKOFF_MAX_MS: '60000' });
  const t = await tenant(srv, 'local');
  const hook = rx.url('/local/secret');
  const alias = hook.replace('127.0.0.1', 'localhost');
  const ids = [];
  for (const address of [hook, alias]) {
    const r = await t.c.post('/api/v1/destinations', { kind: 'slack', address });
    assert.equal(r.status, 201);
    ids.push(r.body.id);
  }
  const mail = await t.c.post('/api/v1/destinations', { kind: 'email', address: 'ops@example.com' });
  for (const id of [...ids, mail.body.id]) {
    assert.equal((await t.c.post(`/api/v1/destinations/${id}/test`)).status, 202);
  }
  const dbName = new URL(url).pathname.slice(1);
  await waitSql(dbName, `SELECT string_agg(state, ',' ORDER BY id) FROM notify_outbox`,
    'dead,dead,retry');
  assert.equal(rx.to('/local/secret').length, 0, 'nothing reached the receiver');
  const errs = (await pg.psql(`SELECT last_error FROM notify_outbox ORDER BY id`, dbName)).split('\n');
  assert.match(errs[0], /loopback or link-local/);
  assert.match(errs[1], /loopback or link-local/);
  assert.match(errs[2], /no SMTP server is configured/);
});

test('https webhooks: the receiver\'s certificate is checked (METRON_NOTIFY_CA_FILE names a private CA)', async () => {
  const dir = tempDir('metron-notify-tls-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const tls = { key: fs.readFileSync(path.join(dir, 'key.pem')),
    cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  const rxs = await startWebhookReceiver({ tls });
  try {
    // A TLS handshake on a loaded machine (ASan, RSA on both ends) can take
    // longer than the file's 1.5 s time-out: the one attempt logged must be
    // the certificate's refusal, not a time-out.
    const slow = { METRON_NOTIFY_TIMEOUT_MS: '10000', METRON_NOTIFY_LEASE_MS: '30000' };
    for (const [name, env, want] of [
      ['trusted', { ...slow, METRON_NOTIFY_CA_FILE: path.join(dir, 'cert.pem') }, 'sent'],
      ['untrusted', { ...slow, METRON_NOTIFY_BACKOFF_MS: '60000', METRON_NOTIFY_BACKOFF_MAX_MS: '60000' },
        'retry'],
    ]) {
      const url = await pg.createDatabase();
      const dbName = new URL(url).pathname.slice(1);
      const srv = await server(url, env);
      const t = await tenant(srv, name);
      const d = await t.c.post('/api/v1/destinations', { kind: 'teams',
        address: rxs.url(`/${name}/secret`) });
      assert.match(d.body.address, /^https:\/\/127\.0\.0\.1:\d+\/\u2026/);
      const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
      assert.equal(r.status, 202);
      await waitSql(dbName, `SELECT state FROM notify_outbox WHERE id = ${r.body.delivery_id}`, want);
      if (want === 'sent') {
        assert.equal(rxs.accepted(`/${name}/secret`).length, 1);
      } else {
        assert.equal(rxs.to(`/${name}/secret`).length, 0);
        const log = await t.c.get(`/api/v1/deliveries/${r.body.delivery_id}`);
        assert.match(log.body.log[0].error, /certificate/i);
      }
    }
  } finally {
    await rxs.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
