// Issue #11: probes of sign-in, one case each -- failures counted against
// the user whichever login ID named them (item 5), a lock an attacker
// cannot hold forever against a known user (item 9), password reset
// throttled and answered before any work (item 4), and Origin /
// Sec-Fetch-Site on cookie writes (item 9).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createAccount, createUser, request, setClock, sleep, startSmtpSink, startStack, stopStack,
} from './harness.mjs';

let pg;
let srv;
let db;
let sink;
const sql = (q) => pg.psql(q, db);
const PW = 'Correct-h0rse';
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;

before(async () => {
  sink = await startSmtpSink();
  ({ pg, srv, db } = await startStack({
    env: { METRON_SMTP_URL: sink.url, METRON_SMTP_TLS: 'optional',
      METRON_SMTP_FROM: 'metron@metron.test' },
  }));
});

after(async () => {
  await stopStack({ pg, srv });
  await sink?.stop();
});

const post = (p, body, opts = {}) => request(srv.url, 'POST', p, { body, ...opts });

/** A Pro account whose login ID has an alternative (P23). */
async function proAccount() {
  const account = uniq('acc');
  const alt = uniq('alt');
  const ids = await createAccount(srv.url, { account, altAccount: alt, plan: 'pro', user: 'admin',
    password: PW, email: `admin@${account}.test` });
  return { ...ids, account, alt };
}

/** The known-device cookie a sign-in set ("name=value"), or null. */
function deviceCookie(res) {
  for (const c of [].concat(res.headers['set-cookie'] || [])) {
    const m = /^(metron_device=[^;]+)/.exec(c);
    if (m) return m[1];
  }
  return null;
}

test('the alternative login ID does not double the guessing budget: failures count on the user', async () => {
  const a = await proAccount();
  const addr = '127.0.0.31';
  for (let i = 0; i < 5; i++) {
    const r = await post('/api/v1/auth/login', { account: i % 2 ? a.alt : a.account, user: 'admin',
      password: `Wrong-pass${i}` }, { localAddress: addr });
    assert.equal(r.status, 401, `try ${i}`);
  }
  // Five failures spread over both login IDs lock the user under both.
  for (const account of [a.account, a.alt, a.alt.toUpperCase()]) {
    const r = await post('/api/v1/auth/login', { account, user: 'admin', password: 'Wrong-more1' },
      { localAddress: addr });
    assert.equal(r.status, 429, `${account}: ${JSON.stringify(r.body)}`);
  }
  assert.equal(await sql(`SELECT failures FROM login_throttle WHERE key = 'user:${a.userId}'`), '5');
  // A login naming nobody counts under its own text, and is locked alike
  // (the answers do not tell a known user from an unknown one).
  for (let i = 0; i < 5; i++) {
    const r = await post('/api/v1/auth/login', { account: a.account, user: 'nobody',
      password: `Wrong-pass${i}` }, { localAddress: '127.0.0.32' });
    assert.equal(r.status, 401);
  }
  const r = await post('/api/v1/auth/login', { account: a.account, user: 'nobody', password: PW },
    { localAddress: '127.0.0.32' });
  assert.equal(r.status, 429);
});

test('a locked user still signs in from a known device; an attacker cannot hold the lock', async () => {
  const a = await proAccount();
  // The user signed in once from their browser: it got a device cookie.
  let r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.41' });
  assert.equal(r.status, 200);
  const device = deviceCookie(r);
  assert.ok(device, JSON.stringify(r.headers['set-cookie']));
  assert.match([].concat(r.headers['set-cookie']).join('\n'),
    /metron_device=[^;]+; Path=\/api\/v1\/auth; HttpOnly; SameSite=Strict; Max-Age=15552000/);
  // An attacker guesses from several addresses and keeps the user locked.
  for (let i = 0; i < 8; i++) {
    r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
      password: `Guess-${i}x` }, { localAddress: `127.0.1.${i + 1}` });
    assert.ok([401, 429].includes(r.status), `${r.status}`);
  }
  // Without the device cookie, even the right password waits.
  r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.42' });
  assert.equal(r.status, 429);
  // With it, the right password passes at once.
  r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.41', headers: { cookie: device } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // The device cookie does not make guessing free: a wrong password with
  // it is a failure, and five of them lock the device out too.
  for (let i = 0; i < 8; i++) {
    await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: `Guess-${i}y` },
      { localAddress: `127.0.2.${i + 1}` });
  }
  for (let i = 0; i < 5; i++) {
    r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
      password: `Guess-${i}z` }, { localAddress: '127.0.0.41', headers: { cookie: device } });
    assert.equal(r.status, 401, `device try ${i}: ${JSON.stringify(r.body)}`);
  }
  r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.41', headers: { cookie: device } });
  assert.equal(r.status, 429);
  // A forged, another user's or an altered cookie is no device.
  const other = await proAccount();
  const or = await post('/api/v1/auth/login', { account: other.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.43' });
  for (const bad of [deviceCookie(or), device.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
    `metron_device=d1.${a.accountId}.${a.userId}.${Math.floor(Date.now() / 1000)}.${'A'.repeat(43)}`]) {
    r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
      { localAddress: '127.0.0.44', headers: { cookie: bad } });
    assert.equal(r.status, 429, bad);
  }
});

test('a device cookie dies with the password it was earned with', async () => {
  const a = await proAccount();
  let r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.51' });
  const device = deviceCookie(r);
  const c = { cookie: /metron_session=([^;]+)/.exec([].concat(r.headers['set-cookie']).join(';'))[1],
    csrf: r.body.csrf_token };
  r = await request(srv.url, 'POST', '/api/v1/me/password', {
    body: { current: PW, new: 'Other-h0rse1' },
    headers: { cookie: `metron_session=${c.cookie}`, 'x-csrf-token': c.csrf },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (let i = 0; i < 5; i++) {
    await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: `Guess-${i}w` },
      { localAddress: `127.0.3.${i + 1}` });
  }
  r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: 'Other-h0rse1' },
    { localAddress: '127.0.0.51', headers: { cookie: device } });
  assert.equal(r.status, 429);
  // The lock is soft in time too: it runs out.
  try {
    await setClock(srv.url, 3700);
    r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
      password: 'Other-h0rse1' }, { localAddress: '127.0.0.52' });
    assert.equal(r.status, 200);
  } finally {
    await setClock(srv.url, 0);
  }
});

/** The mails received for "to" so far. */
const mailsTo = (to) => sink.messages().filter((m) => m.includes(`X-RcptTo: ${to}`));

/** Wait until "to" has "n" mails, then a little longer to see no more come. */
async function settledMails(to, n) {
  for (let i = 0; i < 600 && mailsTo(to).length < n; i++) await sleep(50);
  await sleep(2000);
  return mailsTo(to).length;
}

/** Wait until throttle row "key" has counted "n" requests (the work of a
 * reset request runs after its reply). */
async function counted(key, n) {
  for (let i = 0; i < 600; i++) {
    if (Number(await sql(`SELECT coalesce(max(failures), 0) FROM login_throttle
      WHERE key = '${key}'`)) >= n) return;
    await sleep(50);
  }
  assert.fail(`${key} never reached ${n}`);
}

test('password reset is throttled per user, per mailbox and per address, and always answers 202', async () => {
  const a = await proAccount();
  const email = `admin@${a.account}.test`;
  // Twelve requests for one user: twelve 202s, three mails, one live link.
  for (let i = 0; i < 12; i++) {
    const r = await post('/api/v1/auth/reset-request', { account: a.account, user: 'admin' },
      { localAddress: '127.0.0.71' });
    assert.equal(r.status, 202);
    assert.equal(r.headers.connection, 'close');
  }
  assert.equal(await settledMails(email, 3), 3);
  assert.equal(await sql(`SELECT count(*) FROM password_resets
    WHERE account_id = ${a.accountId} AND used_at IS NULL`), '1');
  // Exactly one of the three links works: the latest made. (Each request's
  // work runs after its reply, on a worker: the mails may reach the sink in
  // another order than their links were made.)
  const tokens = mailsTo(email).map((m) =>
    /token=([A-Za-z0-9_-]{43})/.exec(m.replace(/=\r?\n/g, '').replace(/=3D/g, '='))[1]);
  const works = [];
  for (const token of tokens) {
    const t = await post('/api/v1/auth/reset', { token, password: 'Fresh-h0rse1' });
    if (t.status === 200) works.push(token);
    else assert.equal(t.body.code, 'invalid_token', JSON.stringify(t.body));
  }
  assert.equal(works.length, 1, `${works.length} of ${tokens.length} links worked`);
  let r;

  // Per address: ten requests naming anyone use up 127.0.0.72's hour.
  const b = await proAccount();
  const bMail = `admin@${b.account}.test`;
  for (let i = 0; i < 10; i++) {
    r = await post('/api/v1/auth/reset-request', { account: b.account, user: `nobody${i}` },
      { localAddress: '127.0.0.72' });
    assert.equal(r.status, 202);
  }
  await counted('reset-ip:127.0.0.72', 10); // their work runs after their replies
  r = await post('/api/v1/auth/reset-request', { account: b.account, user: 'admin' },
    { localAddress: '127.0.0.72' });
  assert.equal(r.status, 202);
  assert.equal(await settledMails(bMail, 1), 0);
  r = await post('/api/v1/auth/reset-request', { account: b.account, user: 'admin' },
    { localAddress: '127.0.0.73' });
  assert.equal(await settledMails(bMail, 1), 1);

  // Per mailbox: two users sharing one address get three mails between them.
  const c = await proAccount();
  const shared = `shared@${c.account}.test`;
  await createUser(srv.url, { accountId: c.accountId, user: 'u1', password: PW, email: shared });
  await createUser(srv.url, { accountId: c.accountId, user: 'u2', password: PW, email: shared });
  for (const user of ['u1', 'u2', 'u1', 'u2', 'u1']) {
    r = await post('/api/v1/auth/reset-request', { account: c.account, user },
      { localAddress: '127.0.0.74' });
    assert.equal(r.status, 202);
  }
  assert.equal(await settledMails(shared, 3), 3);
});

test('password reset answers before any work: the same time for a user that exists and one that does not', async () => {
  const a = await proAccount();
  const samples = { known: [], unknown: [] };
  const order = [];
  for (let i = 0; i < 80; i++) order.push('known', 'unknown');
  order.sort(() => Math.random() - 0.5);
  // Warm-up, then interleaved samples, each on its own connection.
  for (let i = 0; i < 10; i++) {
    await post('/api/v1/auth/reset-request', { account: a.account, user: 'nobody' },
      { localAddress: '127.0.0.81' });
  }
  for (const [i, kind] of order.entries()) {
    const body = { account: a.account, user: kind === 'known' ? 'admin' : `nobody${i}` };
    const t0 = process.hrtime.bigint();
    const r = await post('/api/v1/auth/reset-request', body,
      { localAddress: `127.0.${82 + (i % 8)}.1` });
    samples[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    assert.equal(r.status, 202);
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const mk = median(samples.known);
  const mu = median(samples.unknown);
  const load = execFileSync('uptime').toString().trim();
  console.log(`# reset-request median ${mk.toFixed(2)} ms (user exists) vs ${mu.toFixed(2)} ms ` +
    `(no such user), 80 samples each; ${load}`);
  assert.ok(Math.abs(mk - mu) < Math.max(1, 0.25 * mu),
    `median ${mk.toFixed(2)} ms vs ${mu.toFixed(2)} ms`);
});

test('mail needs TLS to the relay unless the operator says METRON_SMTP_TLS=optional', async () => {
  // A second server on its own database, with the plain local sink and no
  // METRON_SMTP_TLS: the reset mail must not go out in clear text.
  const other = await startStack({ env: { METRON_SMTP_URL: sink.url,
    METRON_SMTP_FROM: 'metron@metron.test' } });
  try {
    const account = uniq('tls');
    const email = `admin@${account}.test`;
    await createAccount(other.srv.url, { account, plan: 'pro', user: 'admin', password: PW, email });
    const r = await request(other.srv.url, 'POST', '/api/v1/auth/reset-request',
      { body: { account, user: 'admin' } });
    assert.equal(r.status, 202);
    let err = '';
    for (let i = 0; i < 200 && !err; i++) {
      err = await other.pg.psql(`SELECT coalesce(max(last_error), '') FROM notify_outbox`, other.db);
      if (!err) await sleep(50);
    }
    assert.match(err, /TLS|SSL/i);
    assert.equal(mailsTo(email).length, 0);
  } finally {
    await stopStack(other);
  }
});
