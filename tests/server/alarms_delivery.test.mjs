// Alarms end to end with real parts (issue #13; docs/alarms.md): a batch
// that crosses a threshold -> the mail arrives at the SMTP sink and each
// webhook receiver (Slack, Teams, WeChat) gets its payload, in the rule's
// language; the clear follows; a rule in another language speaks it; an
// app that goes silent and comes back (S6) is told by mail, once each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request, sessionClient, sessionCookieOf, setClock, sleep, startServer, startSmtpSink, startStack,
  stopStack } from './harness.mjs';
import { MIN_US, dataTenant, uniq } from './data_helpers.mjs';
import { startWebhookReceiver } from './webhook_receiver.mjs';

let pg;
let srv;
let db;
let url;
let smtp;
let rx;

const ENV = {
  METRON_COMPACT_MS: '3600000',
  METRON_NOTIFY_ALLOW_LOCAL: '1',
  METRON_NOTIFY_BACKOFF_MS: '200',
  METRON_NOTIFY_BACKOFF_MAX_MS: '800',
  METRON_NOTIFY_RATE_MS: '0,0,0,0',
};

before(async () => {
  smtp = await startSmtpSink();
  rx = await startWebhookReceiver();
  ({ pg, srv, db, url } = await startStack({
    env: { ...ENV, METRON_SMTP_URL: smtp.url, METRON_SMTP_TLS: 'optional' },
  }));
});

after(async () => {
  await rx?.stop();
  await smtp?.stop();
  await stopStack({ pg, srv });
});

const sql = (q) => pg.psql(q, db);
const hook = (kind) => rx.url(`/${uniq(kind)}/T0/B0/secret`);
const pathOf = (u) => new URL(u).pathname;

/** The decoded text part of a quoted-printable mail. */
function mailText(mail) {
  const body = mail.split(/\r?\n\r?\n/).slice(1).join('\n').replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(body, 'latin1').toString('utf8');
}

/** A decoded Subject header (RFC 2047 words or plain). */
function subject(mail) {
  const raw = /Subject: (.*(?:\r?\n .*)*)/.exec(mail)[1];
  return raw.split(/\r?\n /).map((w) => {
    const m = /=\?UTF-8\?B\?(.*)\?=/.exec(w);
    return m ? Buffer.from(m[1], 'base64').toString('utf8') : w;
  }).join('');
}

async function setup(lang) {
  const t = await dataTenant(srv, { n: 2 });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Plant') });
  t.group = r.body.id;
  t.groupName = r.body.name;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200);
  t.mail = `${uniq('ops')}@example.com`;
  t.urls = { slack: hook('slack'), teams: hook('teams'), wechat: hook('wechat') };
  const dests = [];
  for (const [kind, address] of [['email', t.mail], ...Object.entries(t.urls)]) {
    // The destinations' own language is English: the rule's wins (R7).
    r = await t.c.post('/api/v1/destinations', { kind, address, name: `to ${kind}`, language: 'en' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    dests.push(r.body.id);
  }
  await setClock(srv.url, -3600);
  r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Boiler', rule: 'CH1 > 80 FOR 1m',
    channels: [t.channels[0]], language: lang, destinations: dests });
  await setClock(srv.url, 0);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.rule = r.body;
  return t;
}

test('a threshold crossed: mail at the SMTP sink, Slack, Teams and WeChat payloads, in the rule\'s language', async () => {
  const t = await setup('fr');
  const now = Date.now() * 1000;
  const t0 = now - 10 * MIN_US - (now % MIN_US);
  for (const [i, v] of [[0, 70], [1, 85], [2, 86]]) {
    const r = await t.ingest.batch({ batch_id: `x${i}`, snapshots: [{ t: t0 + i * MIN_US,
      ids: [t.channels[0]], v: [v] }] });
    assert.equal(r.status, 201, r.text);
  }
  const title = '[Alarme] Boiler';
  await rx.waitFor(() => Object.values(t.urls).every((u) => rx.accepted(pathOf(u)).length >= 1),
    20000, 'the three webhooks');
  const [s] = rx.accepted(pathOf(t.urls.slack));
  assert.ok(s.json.text.endsWith(title), s.json.text);
  assert.ok(s.json.blocks[0].text.text.endsWith(title));
  assert.match(s.json.blocks[1].text.text, /L’alarme « Boiler » s’est déclenchée le \d{1,2} [a-zéû.]+ \d{4}, \d\d:\d\d:\d\d \(UTC\+00:00\)\./);
  const fieldText = JSON.stringify(s.json.blocks);
  assert.match(fieldText, /Condition/);
  assert.match(fieldText, /CH1 &gt; 80 FOR 1m/);
  assert.match(fieldText, /Channel 1: 86 V/);
  assert.match(fieldText, new RegExp(t.groupName));
  assert.match(fieldText, /#\/alarms\/events\/\d+/);
  const [m] = rx.accepted(pathOf(t.urls.teams));
  assert.ok(m.json.attachments[0].content.body[0].text.endsWith(title));
  assert.match(JSON.stringify(m.json), /L’alarme « Boiler » s’est déclenchée/);
  const [w] = rx.accepted(pathOf(t.urls.wechat));
  assert.equal(w.json.msgtype, 'markdown');
  assert.match(w.json.markdown.content, /\[Alarme\] Boiler/);
  assert.match(w.json.markdown.content, /L’alarme « Boiler » s’est déclenchée/);
  // The mail.
  let mail;
  for (let i = 0; i < 200 && !mail; i++) {
    mail = smtp.messages().find((x) => x.includes(`To: <${t.mail}>`));
    if (!mail) await sleep(100);
  }
  assert.ok(mail, 'the mail reached the sink');
  assert.equal(subject(mail), title);
  const text = mailText(mail);
  assert.match(text, /L’alarme « Boiler » s’est déclenchée le/);
  assert.match(text, /CH1 > 80 FOR 1m/);
  // Each receiver got the raise exactly once.
  for (const u of Object.values(t.urls)) assert.equal(rx.accepted(pathOf(u)).length, 1);

  // It clears: "[Levée] Boiler" follows to each of them.
  let r = await t.ingest.batch({ batch_id: 'x3', snapshots: [{ t: t0 + 3 * MIN_US, ids: [t.channels[0]], v: [20] }] });
  assert.equal(r.status, 201);
  r = await t.ingest.batch({ batch_id: 'x4', snapshots: [{ t: t0 + 4 * MIN_US, ids: [t.channels[0]], v: [20] }] });
  assert.equal(r.status, 201);
  await rx.waitFor(() => Object.values(t.urls).every((u) => rx.accepted(pathOf(u)).length === 2),
    20000, 'the clears');
  assert.ok(rx.accepted(pathOf(t.urls.slack))[1].json.text.endsWith('[Levée] Boiler'));
  for (let i = 0; i < 200 && smtp.messages().filter((x) => x.includes(`To: <${t.mail}>`)).length < 2; i++) {
    await sleep(100);
  }
  const mails = smtp.messages().filter((x) => x.includes(`To: <${t.mail}>`));
  assert.equal(mails.length, 2);
  assert.equal(subject(mails[1]), '[Levée] Boiler');
  // The delivery log tells the alarm's notifications.
  const log = await t.c.get('/api/v1/deliveries?kind=alarm.raise');
  assert.equal(log.status, 200, JSON.stringify(log.body));
  assert.equal(log.body.items.length, 4);
  assert.ok(log.body.items.every((d) => d.state === 'sent' && d.language === 'fr'), JSON.stringify(log.body.items[0]));
});

test('the rule\'s language decides: the same alarm in Japanese and in Simplified Chinese', async () => {
  for (const [lang, title, re] of [['ja', '[アラーム] Boiler', /アラーム「Boiler」が \d{4}\/\d\d\/\d\d \d{1,2}:\d\d:\d\d（UTC\+00:00）に発生しました。/],
    ['zh-CN', '[报警] Boiler', /报警“Boiler”于 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d（UTC\+00:00）发生。/]]) {
    const t = await setup(lang);
    const now = Date.now() * 1000;
    const t0 = now - 10 * MIN_US - (now % MIN_US);
    for (let i = 0; i < 2; i++) {
      const r = await t.ingest.batch({ batch_id: `y${i}`, snapshots: [{ t: t0 + i * MIN_US, ids: [t.channels[0]], v: [90] }] });
      assert.equal(r.status, 201);
    }
    await rx.waitFor(() => rx.accepted(pathOf(t.urls.slack)).length === 1, 20000, 'slack');
    const [s] = rx.accepted(pathOf(t.urls.slack));
    assert.ok(s.json.text.endsWith(title), s.json.text);
    assert.match(s.json.blocks[1].text.text, re);
  }
});

test('A8: alarm mail to a user\'s address signs that user in, view only, for 30 minutes', async () => {
  const t = await dataTenant(srv, { n: 1 });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Plant') });
  const group = r.body.id;
  await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
  const userMail = `admin@${t.account}.test`; // the administrator's own address
  const other = `${uniq('ext')}@example.com`;
  const dests = [];
  for (const address of [userMail, other]) {
    r = await t.c.post('/api/v1/destinations', { kind: 'email', address, language: 'en' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    dests.push(r.body.id);
  }
  await setClock(srv.url, -3600);
  r = await t.c.post(`/api/v1/groups/${group}/alarms`, { name: 'Tank', rule: 'CH1 > 5',
    channels: [t.channels[0]], destinations: dests });
  await setClock(srv.url, 0);
  const now = Date.now() * 1000;
  r = await t.ingest.batch({ batch_id: 'a8', snapshots: [{ t: now - MIN_US - (now % MIN_US), ids: [t.channels[0]], v: [9] }] });
  assert.equal(r.status, 201);
  const find = async (to) => {
    for (let i = 0; i < 200; i++) {
      const m = smtp.messages().find((x) => x.includes(`To: <${to}>`));
      if (m) return mailText(m);
      await sleep(100);
    }
    throw new Error(`no mail to ${to}`);
  };
  const toUser = await find(userMail);
  const toOther = await find(other);
  const link = /(http\S+#\/alarms\/events\/(\d+)\?login=([A-Za-z0-9_-]{43}))/.exec(toUser);
  assert.ok(link, toUser);
  assert.match(toUser, /Open in Metron \(view only, 30 minutes\)/);
  assert.doesNotMatch(toOther, /login=/, 'an address that is no user gets the plain link');
  assert.match(toOther, /#\/alarms\/events\/\d+/);
  const [, , eventId, token] = link;

  r = await request(srv.url, 'POST', '/api/v1/auth/temporary', { body: { token } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.view_only, true);
  assert.equal(r.body.event_id, Number(eventId));
  const cookie = sessionCookieOf(r);
  assert.ok(cookie);
  const expires = Date.parse(r.body.expires_at);
  assert.ok(expires > Date.now() + 28 * 60e3 && expires <= Date.now() + 30 * 60e3 + 2000);
  const v = sessionClient(srv.url, { cookie, csrf: r.body.csrf_token });
  // It sees what the user sees ...
  assert.equal((await v.get(`/api/v1/alarm-events/${eventId}`)).status, 200);
  assert.equal((await v.get(`/api/v1/groups/${group}/alarm-summary`)).status, 200);
  assert.equal((await v.get('/api/v1/me')).status, 200);
  // ... changes nothing, reaches no administrative function.
  for (const [m, p, body] of [['post', `/api/v1/alarm-events/${eventId}/ack`, {}],
    ['patch', `/api/v1/alarms/${r.body.event_id}`, { name: 'x' }],
    ['post', '/api/v1/groups', { name: 'x' }],
    ['get', '/api/v1/audit'], ['get', '/api/v1/users'], ['get', '/api/v1/deliveries']]) {
    const x = await v[m](p, body);
    assert.equal(x.status, 403, `${m} ${p}: ${JSON.stringify(x.body)}`);
    assert.equal(x.body.code, 'view_only');
  }
  // The link works again within its 30 minutes; after them, neither the
  // link nor its session.
  r = await request(srv.url, 'POST', '/api/v1/auth/temporary', { body: { token } });
  assert.equal(r.status, 200);
  await setClock(srv.url, 31 * 60);
  try {
    assert.equal((await v.get(`/api/v1/alarm-events/${eventId}`)).status, 401);
    r = await request(srv.url, 'POST', '/api/v1/auth/temporary', { body: { token } });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'link_expired');
  } finally {
    await setClock(srv.url, 0);
  }
  r = await request(srv.url, 'POST', '/api/v1/auth/temporary', { body: { token: 'x'.repeat(43) } });
  assert.equal(r.status, 401);
  r = await request(srv.url, 'POST', '/api/v1/auth/temporary', { body: { token, more: 1 } });
  assert.equal(r.status, 400);
  // The outbox keeps no login link once the mail is sent.
  assert.equal(await pg.psql(`SELECT count(*) FROM notify_outbox WHERE link_url LIKE '%login=%'
    AND state = 'sent'`, db), '0');
  assert.equal(await pg.psql(`SELECT count(*) FROM notify_outbox WHERE sensitive AND state = 'sent'`, db), '1');
});

/** Run job "name" now on "s": its "done". */
async function job(name, s) {
  const r = await request(s.url, 'POST', `/api/v1/test/jobs?job=${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
  return r.body.jobs[0].done;
}

test('S6 by mail: an app that goes silent and comes back, told in each recipient\'s language and the account\'s local time, once each, also with a second server process', async () => {
  const t = await dataTenant(srv, { n: 1 });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Plant') });
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200);
  r = await t.c.patch('/api/v1/account', { time_zone: 'Asia/Tokyo' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Two G4 recipients (server notices go there), each in its own
  // language: the group names none.
  const to = { ja: `${uniq('ja')}@example.com`, fr: `${uniq('fr')}@example.com` };
  for (const [language, address] of Object.entries(to)) {
    r = await t.c.post('/api/v1/notification-recipients', { kind: 'email', address, language });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  r = await t.c.put(`/api/v1/groups/${t.group}/alarm-settings`, { disconnect_notice: true,
    disconnect_minutes: 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.notice_language, null);
  // The app's batch connects it; 6 minutes of silence disconnect it
  // (timeout); its next batch connects it again. The job runs on this
  // server and on a second process on the same database: each change is
  // told once, whichever ran it (this server's own run, every 60 s, too:
  // so the test counts the mails, not what each run did).
  const other = await startServer({ databaseUrl: url,
    env: { ...ENV, METRON_SMTP_URL: smtp.url, METRON_SMTP_TLS: 'optional' } });
  const both = async () => (await Promise.all([job('app_connections', srv), job('app_connections', other)]))
    .reduce((a, b) => a + b);
  const seen = [];
  const at = async (kind) => sql(`SELECT to_char(${kind} AT TIME ZONE 'Asia/Tokyo', 'YYYY/MM/DD FMHH24:MI:SS')
    FROM app_seen WHERE account_id = ${t.id} AND app_id = ${t.appId}`);
  try {
    const now = Date.now() * 1000;
    r = await t.ingest.batch({ batch_id: 'c1', snapshots: [{ t: now - (now % MIN_US), ids: [t.channels[0]], v: [1] }] });
    assert.equal(r.status, 201, r.text);
    await both();
    assert.equal(await both(), 0);
    seen.push(await at('connected_at'));
    await setClock(srv.url, 6 * 60);
    await setClock(other.url, 6 * 60);
    try {
      await both();
      assert.equal(await both(), 0);
    } finally {
      await setClock(srv.url, 0);
      await setClock(other.url, 0);
    }
    assert.equal((await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.cause, 'timeout');
    seen.push(await at('last_seen_at'));
    r = await t.ingest.batch({ batch_id: 'c2', snapshots: [{ t: now - (now % MIN_US) + MIN_US, ids: [t.channels[0]], v: [2] }] });
    assert.equal(r.status, 201, r.text);
    await both();
    assert.equal(await both(), 0);
    assert.equal((await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.connected, true);
    seen.push(await at('connected_at'));
  } finally {
    await setClock(other.url, 0).catch(() => {});
    await other.stop();
    fs.rmSync(other.dataDir, { recursive: true, force: true });
  }
  // Every outbox row of the account sent (three notices, two recipients),
  // then the mails that reached the sink: one per notice and recipient.
  const pending = () => sql(`SELECT count(*) FILTER (WHERE state <> 'sent') || '/' || count(*)
    FROM notify_outbox WHERE account_id = ${t.id}`);
  for (let i = 0; i < 200 && await pending() !== '0/6'; i++) await sleep(100);
  assert.equal(await pending(), '0/6');
  // In the order of the notices (their outbox rows), whatever order the
  // senders of the two processes delivered them in.
  const mails = (address) => smtp.messages().filter((x) => x.includes(`To: <${address}>`))
    .map((m) => ({ row: Number(/\nMessage-ID: <metron\.(\d+)\./.exec(m)[1]), subject: subject(m), text: mailText(m) }))
    .sort((a, b) => a.row - b.row);
  const ja = mails(to.ja);
  const fr = mails(to.fr);
  assert.deepEqual(ja.map((m) => m.subject), ['[接続] Logger gateway', '[切断] Logger gateway', '[接続] Logger gateway']);
  assert.deepEqual(fr.map((m) => m.subject), ['[Connectée] Logger gateway', '[Déconnectée] Logger gateway',
    '[Connectée] Logger gateway']);
  const jaBodies = [
    `アプリ「Logger gateway」は ${seen[0]}（UTC+09:00）から再びデータを送信しています。`,
    `アプリ「Logger gateway」は ${seen[1]}（UTC+09:00）からデータを送信していません。5 分間データがないと切断とみなします。`,
    `アプリ「Logger gateway」は ${seen[2]}（UTC+09:00）から再びデータを送信しています。`,
  ];
  ja.forEach((m, i) => assert.ok(m.text.includes(jaBodies[i]), `${jaBodies[i]}\n---\n${m.text}`));
  for (const m of fr) assert.match(m.text, /L’application « Logger gateway » .* \(UTC\+09:00\)/);
  // The time is local with its offset: no zone id, no code of the server
  // in what the mail says (above its signature, which names the message
  // for support in the reader's language: "Metron · メッセージ 12", docs/notify.md).
  for (const m of [...ja, ...fr]) {
    const said = m.text.split('\n-- \n')[0];
    assert.ok(said.length < m.text.length, m.text);
    assert.doesNotMatch(said, /Asia\/Tokyo|notice\.|app_(dis)?connected|timeout|cause|lr8450|\d{4}-\d\d-\d\dT/, said);
  }
  // The signature names the message in the reader's words, not its kind.
  for (const m of ja) assert.match(m.text, /\n-- \nMetron · メッセージ \d+\s*$/, m.text);
  for (const m of fr) assert.match(m.text, /\n-- \nMetron · message \d+\s*$/, m.text);
});
