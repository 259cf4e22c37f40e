// Destinations (R8), test sends, the outbox's delivery (issue #13 item 6)
// and its delivery log, against real receivers: webhook servers on
// 127.0.0.1 (webhook_receiver.mjs) and the SMTP sink.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAccount, createUser, login, request, sleep, startSmtpSink, startStack, stopStack,
} from './harness.mjs';
import { startWebhookReceiver } from './webhook_receiver.mjs';

let pg;
let srv;
let db;
let smtp;
let rx;
const PW = 'Correct-h0rse';
let seq = 0;
const uniq = (p) => `${p}${++seq}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);

// Fast retries and short leases so that the tests take seconds; Slack's
// spacing per receiver is 300 ms here (1 s in production).
const ENV = {
  METRON_NOTIFY_ALLOW_LOCAL: '1',
  METRON_NOTIFY_BACKOFF_MS: '200',
  METRON_NOTIFY_BACKOFF_MAX_MS: '800',
  METRON_NOTIFY_TIMEOUT_MS: '1500',
  METRON_NOTIFY_LEASE_MS: '4000',
  METRON_NOTIFY_MAX_FAILURES: '4',
  METRON_NOTIFY_RATE_MS: '0,300,0,0',
};

before(async () => {
  smtp = await startSmtpSink();
  rx = await startWebhookReceiver();
  ({ pg, srv, db } = await startStack({ env: { ...ENV, METRON_SMTP_URL: smtp.url, METRON_SMTP_TLS: 'optional' } }));
});

after(async () => {
  await rx?.stop();
  await smtp?.stop();
  await stopStack({ pg, srv });
});

async function tenant(plan = 'standard') {
  const account = uniq('acc');
  const ids = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  return { id: ids.accountId, account, c: await login(srv.url, { account, user: 'admin', password: PW }) };
}

/** Poll the delivery until its state is one of "states". */
async function waitDelivery(c, id, states = ['sent'], timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.get(`/api/v1/deliveries/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (states.includes(r.body.state)) return r.body;
    if (Date.now() > deadline) {
      throw new Error(`delivery ${id} still ${r.body.state}: ${JSON.stringify(r.body)}`);
    }
    await sleep(100);
  }
}

const hook = (kind) => `${rx.url(`/${uniq(kind)}`)}/T0ABC/B0DEF/secret${uniq('k')}Xy9Z`;
const pathOf = (url) => new URL(url).pathname;

// ------------------------------------------------------------ destinations

test('destinations: create, list, edit, delete each kind; webhook URLs never whole', async () => {
  const t = await tenant();
  const slack = 'https://hooks.slack.com/services/T000/B000/AbCdEfGhIjKlMnOpXy9Z';
  const made = {};
  for (const [kind, address] of [['email', 'ops@example.com'], ['slack', slack],
    ['teams', 'https://example.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456'],
    ['wechat', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0']]) {
    const r = await t.c.post('/api/v1/destinations', { kind, name: `my ${kind}`, address,
      language: 'ja' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.kind, kind);
    assert.equal(r.body.language, 'ja');
    assert.equal(r.body.enabled, true);
    assert.equal(r.body.last_delivery, null);
    made[kind] = r.body;
  }
  assert.equal(made.email.address, 'ops@example.com');
  assert.equal(made.slack.address, 'https://hooks.slack.com/\u2026Xy9Z');
  assert.equal(made.teams.address, 'https://example.webhook.office.com/\u2026/456');
  assert.equal(made.wechat.address, 'https://qyapi.weixin.qq.com/\u202697a0');
  // No reply of any route holds the secret.
  const list = await t.c.get('/api/v1/destinations');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((x) => x.id), Object.values(made).map((x) => x.id));
  assert.ok(!JSON.stringify(list.body).includes('AbCdEfGh'));
  // Sending the masked address back keeps the stored one.
  let r = await t.c.patch(`/api/v1/destinations/${made.slack.id}`,
    { address: made.slack.address, name: 'alarms', enabled: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'alarms');
  assert.equal(r.body.enabled, false);
  assert.equal(await sql(`SELECT address FROM notify_destinations WHERE id = ${made.slack.id}`),
    slack);
  r = await t.c.patch(`/api/v1/destinations/${made.slack.id}`,
    { address: 'https://hooks.slack.com/services/T1/B1/NewSecretValue' });
  assert.equal(r.status, 200);
  assert.equal(r.body.address, 'https://hooks.slack.com/\u2026alue');
  // Switching the kind re-checks the kept address.
  r = await t.c.patch(`/api/v1/destinations/${made.email.id}`, { kind: 'teams' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'address');
  r = await t.c.post('/api/v1/destinations', { kind: 'email', address: 'ops@example.com' });
  assert.equal(r.status, 409);
  r = await t.c.del(`/api/v1/destinations/${made.teams.id}`);
  assert.equal(r.status, 200);
  assert.equal((await t.c.get(`/api/v1/destinations/${made.teams.id}`)).status, 404);
  assert.equal(Number(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action LIKE 'destination.%'`)), 7);
});

test('destinations: bad input is refused with the field named and changes nothing', async () => {
  const t = await tenant();
  const cases = [
    [{ kind: 'sms', address: 'a@example.com' }, 400, 'kind'],
    [{ kind: 'email', address: 'not-an-address' }, 400, 'address'],
    [{ kind: 'slack', address: 'ftp://hooks.slack.com/x' }, 400, 'address'],
    [{ kind: 'slack', address: 'https://user:pw@hooks.slack.com/x' }, 400, 'address'],
    [{ kind: 'teams', address: 'https://exa mple.com/x' }, 400, 'address'],
    // Numbers libcurl reads otherwise than they look: 010 is 8 (octal),
    // 0x7f000001 and 127.0.0.0X1 are 127.0.0.1.
    [{ kind: 'teams', address: 'http://010.0.0.1/x' }, 400, 'address'],
    [{ kind: 'teams', address: 'http://0x7f000001/x' }, 400, 'address'],
    [{ kind: 'teams', address: 'http://127.0.0.0X1/x' }, 400, 'address'],
    [{ kind: 'teams', address: 'http://hooks.example.1x/x' }, 400, 'address'],
    [{ kind: 'email', address: 'a@example.com', language: 'xx' }, 400, 'language'],
    [{ kind: 'email', address: 'a@example.com', secret: 1 }, 400, 'secret'],
    [{ kind: 'email' }, 400, 'address'],
    [{ address: 'a@example.com' }, 400, 'kind'],
    [{ kind: 'email', address: 'a@example.com', enabled: 'yes' }, 400, 'enabled'],
    [{ kind: 'email', address: 'a@example.com', name: 'x'.repeat(101) }, 400, 'name'],
    [{ kind: 'slack', address: `https://hooks.slack.com/${'x'.repeat(2000)}` }, 400, 'address'],
  ];
  for (const [body, status, field] of cases) {
    const r = await t.c.post('/api/v1/destinations', body);
    assert.equal(r.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field, JSON.stringify(r.body));
    assert.ok(r.body.message);
  }
  assert.equal(Number(await sql(`SELECT count(*) FROM notify_destinations
    WHERE account_id = ${t.id}`)), 0);
  assert.equal((await t.c.patch('/api/v1/destinations/999999999', { name: 'x' })).status, 404);
  assert.equal((await t.c.get('/api/v1/destinations/abc')).status, 404);
});

test('destinations: members read them masked but cannot change or test them', async () => {
  const t = await tenant();
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: hook('m') });
  assert.equal(d.status, 201);
  await createUser(srv.url, { accountId: t.id, user: 'member1', password: PW, role: 'member',
    email: `member1@${t.account}.test` });
  const m = await login(srv.url, { account: t.account, user: 'member1', password: PW });
  const list = await m.get('/api/v1/destinations');
  assert.equal(list.status, 200);
  assert.equal(list.body.items[0].address, d.body.address);
  assert.equal((await m.post('/api/v1/destinations', { kind: 'email', address: 'a@example.com' })).status, 403);
  assert.equal((await m.patch(`/api/v1/destinations/${d.body.id}`, { name: 'x' })).status, 403);
  assert.equal((await m.del(`/api/v1/destinations/${d.body.id}`)).status, 403);
  assert.equal((await m.post(`/api/v1/destinations/${d.body.id}/test`)).status, 403);
  assert.equal((await m.get('/api/v1/deliveries')).status, 403);
  // Another account sees none of it.
  const other = await tenant();
  assert.equal((await other.c.get(`/api/v1/destinations/${d.body.id}`)).status, 404);
  assert.equal((await other.c.post(`/api/v1/destinations/${d.body.id}/test`)).status, 404);
  assert.deepEqual((await other.c.get('/api/v1/destinations')).body.items, []);
});

test('destinations: at most 50 per account', async () => {
  const t = await tenant('free');
  await sql(`INSERT INTO notify_destinations (account_id, kind, address)
    SELECT ${t.id}, 'email', 'x' || g || '@example.com' FROM generate_series(1, 50) g`);
  const r = await t.c.post('/api/v1/destinations', { kind: 'email', address: 'y@example.com' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'too_many');
});

// --------------------------------------------------------------- test send

test('test send: Slack, Teams and WeChat receive their payloads in the destination\'s language', async () => {
  const t = await tenant();
  const urls = { slack: hook('slack'), teams: hook('teams'), wechat: hook('wechat') };
  const ids = {};
  for (const [kind, address] of Object.entries(urls)) {
    const r = await t.c.post('/api/v1/destinations', { kind, address, name: `Site ${kind}`,
      language: kind === 'wechat' ? 'zh-CN' : kind === 'teams' ? 'de' : 'ja' });
    ids[kind] = r.body.id;
  }
  const queued = {};
  for (const kind of Object.keys(urls)) {
    const r = await t.c.post(`/api/v1/destinations/${ids[kind]}/test`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.state, 'queued');
    queued[kind] = r.body;
  }
  for (const kind of Object.keys(urls)) {
    const d = await waitDelivery(t.c, queued[kind].delivery_id);
    assert.equal(d.attempts, 1);
    assert.equal(d.kind, 'test');
    assert.equal(d.target.type, 'destination');
    assert.equal(d.target.destination_id, ids[kind]);
    assert.ok(d.target.address.includes('\u2026'), d.target.address);
  }
  const [s] = rx.accepted(pathOf(urls.slack));
  assert.equal(s.delivery, String(queued.slack.delivery_id));
  assert.equal(s.attempt, 1);
  assert.equal(s.json.text, 'Metron テストメッセージ');
  assert.equal(s.json.blocks[0].type, 'header');
  assert.equal(s.json.blocks[0].text.text, 'Metron テストメッセージ');
  assert.match(s.json.blocks[1].text.text, /「Site slack」宛ての Metron のテストメッセージ/);
  assert.equal(s.json.blocks[2].fields[0].text, '*通知先*\nSite slack');
  assert.equal(s.json.blocks.at(-1).type, 'context');
  const [m] = rx.accepted(pathOf(urls.teams));
  assert.equal(m.json.type, 'message');
  const card = m.json.attachments[0];
  assert.equal(card.contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(card.content.type, 'AdaptiveCard');
  assert.equal(card.content.body[0].text, 'Metron-Testnachricht');
  assert.match(card.content.body[1].text, /Testnachricht von Metron für „Site teams“/);
  assert.deepEqual(card.content.body[2].facts[0], { title: 'Ziel', value: 'Site teams' });
  const [w] = rx.accepted(pathOf(urls.wechat));
  assert.equal(w.json.msgtype, 'markdown');
  assert.match(w.json.markdown.content, /Metron 测试消息/);
  assert.match(w.json.markdown.content, /这是 Metron 发给“Site wechat”的测试消息/);
  assert.ok(Buffer.byteLength(w.json.markdown.content) <= 4096);
  for (const r of [s, m, w]) {
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.headers['user-agent'], 'Metron');
  }
  // The delivery log of one notification.
  const log = await t.c.get(`/api/v1/deliveries/${queued.slack.delivery_id}`);
  assert.equal(log.body.state, 'sent');
  assert.equal(log.body.log.length, 1);
  const a = log.body.log[0];
  assert.equal(a.n, 1);
  assert.equal(a.outcome, 'sent');
  assert.equal(a.status, 200);
  assert.equal(a.response, 'ok');
  assert.equal(typeof a.duration_ms, 'number');
  assert.ok(a.started_at <= a.ended_at);
  assert.equal(log.body.title, 'Metron テストメッセージ');
  assert.equal(log.body.fields[0].name, '通知先');
  // And in the destination's summary.
  const dest = await t.c.get(`/api/v1/destinations/${ids.slack}`);
  assert.equal(dest.body.last_delivery.state, 'sent');
});

test('test send: e-mail reaches the SMTP sink with a stable Message-ID and an encoded subject', async () => {
  const t = await tenant();
  const to = `${uniq('ops')}@example.com`;
  const d = await t.c.post('/api/v1/destinations', { kind: 'email', address: to, language: 'fr' });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  assert.equal(r.status, 202);
  const done = await waitDelivery(t.c, r.body.delivery_id);
  assert.equal(done.attempts, 1);
  const log = await t.c.get(`/api/v1/deliveries/${r.body.delivery_id}`);
  assert.equal(log.body.log[0].status, 250);
  const mail = smtp.messages().find((x) => x.includes(`To: <${to}>`));
  assert.ok(mail, 'the mail reached the sink');
  assert.match(mail, new RegExp(`Message-ID: <metron\\.${r.body.delivery_id}\\.\\d+@localhost>`));
  assert.match(mail, new RegExp(`X-Metron-Delivery: ${r.body.delivery_id}`));
  assert.match(mail, /Content-Transfer-Encoding: quoted-printable/);
  assert.match(mail, /Subject: Message de test Metron/);
  const body = mail.split(/\r?\n\r?\n/).slice(1).join('\n').replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  const text = Buffer.from(body, 'latin1').toString('utf8');
  assert.match(text, /Ceci est un message de test de Metron pour «\u00a0E-mail\u00a0»/);
  // A Japanese subject is RFC 2047 encoded.
  await t.c.patch(`/api/v1/destinations/${d.body.id}`, { language: 'ja' });
  const r2 = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  await waitDelivery(t.c, r2.body.delivery_id);
  const mail2 = smtp.messages().find((x) => x.includes(`X-Metron-Delivery: ${r2.body.delivery_id}`));
  const subj = /Subject: (.*(?:\r?\n .*)*)/.exec(mail2)[1];
  const decoded = subj.split(/\r?\n /).map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)[1],
    'base64').toString('utf8')).join('');
  assert.equal(decoded, 'Metron テストメッセージ');
});

test('test send: a disabled destination says so; system recipients (G4) can be tested too', async () => {
  const t = await tenant();
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: hook('off'),
    enabled: false });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'disabled');
  const url = hook('g4');
  const rec = await t.c.post('/api/v1/notification-recipients', { kind: 'teams', address: url,
    language: 'it' });
  assert.equal(rec.status, 201);
  assert.ok(rec.body.address.includes('\u2026'), 'G4 webhook addresses are masked too');
  assert.ok(!rec.body.address.includes('secret'));
  const list = await t.c.get('/api/v1/notification-recipients');
  assert.ok(!JSON.stringify(list.body).includes('secret'));
  const sent = await t.c.post(`/api/v1/notification-recipients/${rec.body.id}/test`);
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  const done = await waitDelivery(t.c, sent.body.delivery_id);
  assert.equal(done.target.type, 'recipient');
  assert.equal(done.target.recipient_id, rec.body.id);
  const [got] = rx.accepted(pathOf(url));
  assert.equal(got.json.attachments[0].content.body[0].text, 'Messaggio di prova di Metron');
  // The masked address sent back keeps the recipient's URL.
  const p = await t.c.patch(`/api/v1/notification-recipients/${rec.body.id}`,
    { address: rec.body.address, name: 'ops' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(await sql(`SELECT address FROM system_notification_recipients
    WHERE id = ${rec.body.id}`), url);
});

// ---------------------------------------------------------------- delivery

test('a receiver that fails three times then succeeds gets exactly one delivery', async () => {
  const t = await tenant();
  const url = hook('flaky');
  rx.plan(pathOf(url), [{ status: 500, body: 'boom' }, { status: 503 }, { close: true }]);
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  const done = await waitDelivery(t.c, r.body.delivery_id);
  assert.equal(done.attempts, 4);
  assert.equal(done.failures, 3);
  assert.equal(rx.accepted(pathOf(url)).length, 1);
  const all = rx.to(pathOf(url));
  assert.equal(all.length, 4);
  assert.deepEqual(all.map((x) => x.delivery), Array(4).fill(String(r.body.delivery_id)));
  assert.deepEqual(all.map((x) => x.attempt), [1, 2, 3, 4]);
  const log = (await t.c.get(`/api/v1/deliveries/${r.body.delivery_id}`)).body.log;
  assert.deepEqual(log.map((a) => a.outcome), ['failed', 'failed', 'failed', 'sent']);
  assert.deepEqual(log.map((a) => a.status), [500, 503, null, 200]);
  assert.equal(log[0].response, 'boom');
  assert.match(log[0].error, /HTTP 500/);
  // Back-off: each retry waits at least half of 200, 400, 800 ms.
  for (let i = 1; i < all.length; i++) {
    assert.ok(all[i].at - all[i - 1].at >= 90, `retry ${i} after ${all[i].at - all[i - 1].at} ms`);
  }
});

test('429 with Retry-After is honoured and is not a failure; rate per receiver is kept', async () => {
  const t = await tenant();
  const url = hook('busy');
  rx.plan(pathOf(url), [{ status: 429, headers: { 'Retry-After': '2' }, body: 'rate_limited' }]);
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  const done = await waitDelivery(t.c, r.body.delivery_id);
  assert.equal(done.failures, 0);
  const [first, second] = rx.to(pathOf(url));
  assert.ok(second.at - first.at >= 1900, `retried after ${second.at - first.at} ms`);
  const log = (await t.c.get(`/api/v1/deliveries/${r.body.delivery_id}`)).body.log;
  assert.deepEqual(log.map((a) => a.outcome), ['throttled', 'sent']);
  // Five messages to one Slack webhook are spaced by its rate (300 ms here).
  const url2 = hook('paced');
  const d2 = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url2 });
  const load = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
    account_id: t.id, destination_ids: [d2.body.id], count: 5, per_tx: 5, key_prefix: uniq('p'),
  } });
  assert.equal(load.status, 200, JSON.stringify(load.body));
  assert.equal(load.body.queued, 5);
  await rx.waitFor(() => rx.accepted(pathOf(url2)).length === 5);
  const at = rx.to(pathOf(url2)).map((x) => x.at);
  for (let i = 1; i < at.length; i++) {
    assert.ok(at[i] - at[i - 1] >= 280, `message ${i} came ${at[i] - at[i - 1]} ms after the one before`);
  }
});

test('a refusal that cannot pass is dead at once; failures that persist die after the limit', async () => {
  const t = await tenant();
  const gone = hook('gone');
  rx.setDefault(pathOf(gone), { status: 404, body: 'no_team' });
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: gone });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  const dead = await waitDelivery(t.c, r.body.delivery_id, ['dead']);
  assert.equal(dead.attempts, 1);
  assert.match(dead.last_error, /HTTP 404/);
  const down = hook('down');
  rx.setDefault(pathOf(down), { status: 502 });
  const d2 = await t.c.post('/api/v1/destinations', { kind: 'teams', address: down });
  const r2 = await t.c.post(`/api/v1/destinations/${d2.body.id}/test`);
  const dead2 = await waitDelivery(t.c, r2.body.delivery_id, ['dead']);
  assert.equal(dead2.attempts, 4); // METRON_NOTIFY_MAX_FAILURES
  assert.equal(dead2.failures, 4);
  assert.equal(rx.to(pathOf(down)).length, 4);
  // An operator who fixed the receiver sends a dead one again: same delivery id.
  rx.setDefault(pathOf(gone), { status: 200, body: 'ok' });
  let again = await t.c.post(`/api/v1/deliveries/${r.body.delivery_id}/retry`);
  assert.equal(again.status, 202, JSON.stringify(again.body));
  const revived = await waitDelivery(t.c, r.body.delivery_id);
  assert.equal(revived.attempts, 2);
  assert.equal(revived.failures, 0);
  assert.deepEqual(rx.accepted(pathOf(gone)).map((x) => x.delivery), [String(r.body.delivery_id)]);
  again = await t.c.post(`/api/v1/deliveries/${r.body.delivery_id}/retry`);
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'not_failed');
  assert.equal((await t.c.post('/api/v1/deliveries/999999999/retry')).status, 404);
  assert.equal(Number(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'delivery.retry'`)), 1);
  // WeChat answers 200 with an error code.
  const wx = hook('wx');
  rx.plan(pathOf(wx), [{ json: { errcode: 45009, errmsg: 'api freq out of limit' } }]);
  rx.setDefault(pathOf(wx), { json: { errcode: 0, errmsg: 'ok' } });
  const d3 = await t.c.post('/api/v1/destinations', { kind: 'wechat', address: wx });
  const r3 = await t.c.post(`/api/v1/destinations/${d3.body.id}/test`);
  await rx.waitFor(() => rx.to(pathOf(wx)).length === 1);
  const wait = await t.c.get(`/api/v1/deliveries/${r3.body.delivery_id}`);
  await sleep(300);
  assert.notEqual(wait.body.state, 'sent');
  const log3 = await t.c.get(`/api/v1/deliveries/${r3.body.delivery_id}`);
  assert.equal(log3.body.log[0].outcome, 'throttled');
  assert.match(log3.body.log[0].error, /45009/);
});

test('a receiver that stalls past the time-out is tried again; it never slows the API', async () => {
  const t = await tenant();
  const url = hook('slow');
  rx.plan(pathOf(url), [{ stallMs: 4000 }]);
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url });
  const t0 = Date.now();
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  assert.equal(r.status, 202);
  assert.ok(Date.now() - t0 < 1000, 'queued without waiting for the receiver');
  await rx.waitFor(() => rx.to(pathOf(url)).length === 1);
  const h0 = Date.now();
  assert.equal((await request(srv.url, 'GET', '/api/v1/health')).status, 200);
  assert.ok(Date.now() - h0 < 1000);
  const done = await waitDelivery(t.c, r.body.delivery_id);
  const log = (await t.c.get(`/api/v1/deliveries/${r.body.delivery_id}`)).body.log;
  assert.equal(log[0].outcome, 'timeout');
  assert.ok(log[0].duration_ms >= 1400 && log[0].duration_ms < 3000, `${log[0].duration_ms} ms`);
  assert.equal(log.at(-1).outcome, 'sent');
  assert.equal(done.state, 'sent');
});

test('a hung receiver holds one sender thread at most: another receiver keeps getting its deliveries at once',
  async () => {
    const t = await tenant();
    // Teams (no spacing per receiver here): a backlog to a receiver that
    // never answers would take every sender thread, each for the time-out
    // (1.5 s), if nothing held it back.
    const hung = hook('hung');
    const fine = hook('fine');
    rx.setDefault(pathOf(hung), { hang: true });
    const dh = await t.c.post('/api/v1/destinations', { kind: 'teams', address: hung });
    const df = await t.c.post('/api/v1/destinations', { kind: 'teams', address: fine });
    try {
      const load = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
        account_id: t.id, destination_ids: [dh.body.id], count: 8, per_tx: 8, key_prefix: uniq('h'),
      } });
      assert.equal(load.body.queued, 8);
      await rx.waitFor(() => rx.to(pathOf(hung)).length >= 1);
      await sleep(300); // every sender thread has had its chance at the backlog
      const lat = [];
      for (let i = 0; i < 6; i++) {
        const t0 = Date.now();
        const r = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
          account_id: t.id, destination_ids: [df.body.id], count: 1, key_prefix: uniq('f'),
        } });
        assert.equal(r.body.queued, 1);
        await rx.waitFor(() => rx.accepted(pathOf(fine)).length === i + 1);
        lat.push(Date.now() - t0);
      }
      console.log(`# a healthy receiver beside a hung one: ${lat.join(', ')} ms`);
      for (const ms of lat) assert.ok(ms < 1000, `a delivery to the healthy receiver took ${ms} ms`);
      // One attempt at a time reached the hung receiver: each began after
      // the one before had timed out.
      const at = rx.to(pathOf(hung)).map((x) => x.at);
      for (let i = 1; i < at.length; i++) {
        assert.ok(at[i] - at[i - 1] >= 1300, `attempt ${i + 1} began ${at[i] - at[i - 1]} ms after the one before`);
      }
      const inFlight = await sql(`SELECT count(*) FROM notify_outbox
        WHERE destination_id = ${dh.body.id} AND state = 'sending' AND next_at > now()`);
      assert.ok(Number(inFlight) <= 1, inFlight);
    } finally {
      // The backlog is cancelled with its destination.
      await t.c.del(`/api/v1/destinations/${dh.body.id}`);
      rx.setDefault(pathOf(hung), { status: 200 });
      rx.releaseHung();
    }
  });

test('deleting or disabling a destination cancels what is still queued for it', async () => {
  const t = await tenant();
  const url = hook('cancel');
  rx.setDefault(pathOf(url), { status: 500 });
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url });
  const r = await t.c.post(`/api/v1/destinations/${d.body.id}/test`);
  await rx.waitFor(() => rx.to(pathOf(url)).length >= 1);
  await t.c.patch(`/api/v1/destinations/${d.body.id}`, { enabled: false });
  const c = await waitDelivery(t.c, r.body.delivery_id, ['cancelled']);
  assert.equal(c.last_error, 'the destination is disabled');
  const d2 = await t.c.post('/api/v1/destinations', { kind: 'slack', address: hook('del') });
  rx.setDefault(pathOf(d2.body.address.replace(/\u2026.*/, '')), { status: 500 });
  const load = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
    account_id: t.id, destination_ids: [d2.body.id], count: 1, key_prefix: uniq('del'),
  } });
  await t.c.del(`/api/v1/destinations/${d2.body.id}`);
  const c2 = await waitDelivery(t.c, load.body.delivery_id, ['cancelled', 'sent']);
  if (c2.state === 'cancelled') assert.equal(c2.last_error, 'the destination was deleted');
  assert.equal(c2.target.destination_id, null);
});

test('the enqueue is idempotent per key and target; the delivery log lists and filters', async () => {
  const t = await tenant();
  const url = hook('idem');
  const d = await t.c.post('/api/v1/destinations', { kind: 'slack', address: url });
  const key = uniq('event');
  const body = { account_id: t.id, destination_ids: [d.body.id], count: 3, per_tx: 3,
    key_prefix: key, kind: 'alarm.raise', severity: 'alert', title: 'CH1 above 30' };
  const a = await request(srv.url, 'POST', '/api/v1/test/notify', { body });
  assert.equal(a.body.queued, 3);
  const b = await request(srv.url, 'POST', '/api/v1/test/notify', { body });
  assert.equal(b.body.queued, 0);
  assert.equal(b.body.duplicates, 3);
  await rx.waitFor(() => rx.accepted(pathOf(url)).length === 3);
  await sleep(300);
  assert.equal(rx.to(pathOf(url)).length, 3);
  assert.match(rx.accepted(pathOf(url))[0].json.text, /^\u{1F534} CH1 above 30$/u);
  const list = await t.c.get(`/api/v1/deliveries?destination_id=${d.body.id}&limit=2`);
  assert.equal(list.status, 200);
  assert.equal(list.body.items.length, 2);
  assert.equal(list.body.items[0].kind, 'alarm.raise');
  const next = await t.c.get(`/api/v1/deliveries?destination_id=${d.body.id}&limit=2&before=${list.body.next_before}`);
  assert.equal(next.body.items.length, 1);
  assert.equal(next.body.next_before, null);
  const sent = await t.c.get(`/api/v1/deliveries?state=sent&kind=alarm.raise&destination_id=${d.body.id}`);
  assert.equal(sent.body.items.length, 3);
  assert.equal((await t.c.get('/api/v1/deliveries?state=lost')).status, 400);
  assert.equal((await t.c.get('/api/v1/deliveries?limit=0')).status, 400);
  assert.equal((await t.c.get('/api/v1/deliveries/999999999')).status, 404);
});

test('server notices to the system recipients (G4) go to every enabled one in its language', async () => {
  const t = await tenant();
  const u1 = hook('g4a');
  const u2 = hook('g4b');
  const mail = `${uniq('g4')}@example.com`;
  for (const [kind, address, language, enabled] of [['slack', u1, 'es', true],
    ['wechat', u2, 'zh-CN', false], ['email', mail, 'en', true]]) {
    const r = await t.c.post('/api/v1/notification-recipients', { kind, address, language, enabled });
    assert.equal(r.status, 201);
  }
  const r = await request(srv.url, 'POST', '/api/v1/test/notify', { body: {
    account_id: t.id, count: 1, key_prefix: uniq('notice'), kind: 'notice.storage_low',
    severity: 'warning', title: 'Storage below 10 %' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.queued, 2);
  await rx.waitFor(() => rx.accepted(pathOf(u1)).length === 1);
  assert.equal(rx.to(pathOf(u2)).length, 0);
  const rows = await sql(`SELECT channel || ':' || language FROM notify_outbox
    WHERE account_id = ${t.id} AND kind = 'notice.storage_low' ORDER BY channel`);
  assert.equal(rows, 'email:en\nslack:es');
});
