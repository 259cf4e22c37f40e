// Sign-in (A1, A5, CSRF, roles): login forms, wrong credentials, sessions,
// logout, CSRF refusals, administrator-only routes. One cluster and one
// server for the file; every test makes its own accounts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, createUser, login, request, sessionClient, sessionCookieOf, setClock, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db; // the test database's name, for pg.psql()
const PW = 'Correct-h0rse';
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

const post = (p, body, opts = {}) => request(srv.url, 'POST', p, { body, ...opts });

async function account(plan = 'standard', extra = {}) {
  const acc = uniq('acc');
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test`, ...extra });
  return { ...ids, account: acc };
}

test('routes that need sign-in answer 401 without a session', async () => {
  for (const [m, p] of [['GET', '/api/v1/auth/session'], ['POST', '/api/v1/auth/logout'],
    ['GET', '/api/v1/audit'], ['GET', '/api/v1/account/ip-allow-list']]) {
    const r = await request(srv.url, m, p);
    assert.equal(r.status, 401, `${m} ${p}`);
    assert.equal(r.body.code, 'unauthenticated');
  }
});

test('a made-up or malformed cookie or token is 401', async () => {
  for (const headers of [{ cookie: 'metron_session=abc' },
    { cookie: `metron_session=${'A'.repeat(43)}` }, { authorization: `Bearer ${'B'.repeat(43)}` },
    { authorization: 'Basic YTpi' }, { authorization: 'Bearer ' }]) {
    const r = await request(srv.url, 'GET', '/api/v1/auth/session', { headers });
    assert.equal(r.status, 401, JSON.stringify(headers));
    assert.equal(r.body.code, 'unauthenticated');
  }
});

test('login: malformed bodies are 400 and change nothing', async () => {
  const cases = [
    [{}, 'missing'], [{ account: 'x', user: 'y' }, 'missing'],
    [{ account: 1, user: 'y', password: 'z' }, 'wrong_type'],
    [{ account: 'x'.repeat(65), user: 'y', password: 'z' }, 'too_long'],
    [{ account: 'x', user: 'y', password: 'z'.repeat(300) }, 'too_long'],
  ];
  for (const [body, code] of cases) {
    const r = await post('/api/v1/auth/login', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, code, JSON.stringify(body));
  }
  const r = await post('/api/v1/auth/login', '{"account":', {});
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'malformed_json');
});

test('login and token: an unknown member is 400 unknown_field and counts no attempt', async () => {
  const a = await account('pro');
  const addr = '127.0.0.41';
  const throttled = () => pg.psql(`SELECT count(*) FROM login_throttle
    WHERE key = 'ip:${addr}' OR lower(key) LIKE 'login:%${a.account.toLowerCase()}%'`, db);
  // The right password and wrong ones, more than the 5 failures that lock a
  // user: the refusal comes before the credentials are looked at.
  for (const p of ['/api/v1/auth/login', '/api/v1/auth/token']) {
    for (const password of [PW, 'Wrong-pass1', 'Wrong-pass2', 'Wrong-pass3']) {
      const r = await post(p, { account: a.account, user: 'admin', password, remember: true },
        { localAddress: addr });
      assert.equal(r.status, 400, `${p} ${password}`);
      assert.equal(r.body.code, 'unknown_field');
      assert.equal(r.body.field, 'remember');
      assert.equal(r.headers['set-cookie'], undefined);
      assert.equal(r.body.token, undefined);
    }
  }
  const r = await post('/api/v1/auth/login', { email: 'x@y.test', password: PW, account: a.account,
    user: 'admin', extra: 1 }, { localAddress: addr });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'extra');
  assert.equal(await pg.psql(`SELECT count(*) FROM sessions WHERE account_id = ${a.accountId}`,
    db), '0');
  assert.equal(await pg.psql(`SELECT count(*) FROM api_tokens WHERE account_id = ${a.accountId}`,
    db), '0');
  assert.equal(await throttled(), '0');
  // The same query sees a real failure; the right password still signs in.
  const w = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
    password: 'Wrong-pass4' }, { localAddress: addr });
  assert.equal(w.status, 401);
  assert.notEqual(await throttled(), '0');
  await login(srv.url, { account: a.account, user: 'admin', password: PW, localAddress: addr });
});

test('wrong password and unknown user get the same 401', async () => {
  const a = await account();
  const wrong = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
    password: 'Wrong-pass1' });
  const nouser = await post('/api/v1/auth/login', { account: a.account, user: 'nobody',
    password: PW });
  const noacc = await post('/api/v1/auth/login', { account: 'no-such-account', user: 'admin',
    password: PW });
  for (const r of [wrong, nouser, noacc]) {
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, wrong.body);
    assert.equal(r.headers['set-cookie'], undefined);
  }
  assert.equal(wrong.body.code, 'invalid_credentials');
});

test('login with account ID + user ID + password sets a strict HttpOnly cookie', async () => {
  const a = await account('free');
  const r = await post('/api/v1/auth/login', { account: a.account.toUpperCase(), user: 'admin',
    password: PW });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const set = [].concat(r.headers['set-cookie'])[0];
  assert.match(set, /^metron_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.equal(typeof r.body.csrf_token, 'string');
  assert.equal(r.body.user.login_id, 'admin');
  assert.equal(r.body.user.role, 'admin');
  assert.equal(r.body.user.account.plan, 'free');
  assert.equal(r.body.user.account.id, a.accountId);
  assert.equal(r.body.user.password_hash, undefined);
  // The cookie value is stored only hashed.
  const cookie = sessionCookieOf(r);
  const rows = await pg.psql(`SELECT count(*) FROM sessions WHERE token_hash =
    sha256(convert_to('${cookie}', 'UTF8'))`, db);
  assert.equal(rows, '1');
  const raw = await pg.psql(`SELECT count(*) FROM sessions WHERE position(
    convert_to('${cookie.slice(0, 12)}', 'UTF8') IN token_hash) > 0`, db);
  assert.equal(raw, '0');
});

test('GET /auth/session tells who is signed in, with the CSRF token', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const r = await c.get('/api/v1/auth/session');
  assert.equal(r.status, 200);
  assert.equal(r.body.user.id, a.userId);
  assert.equal(r.body.user.account.plan, 'pro');
  assert.equal(r.body.csrf_token, c.csrf);
  assert.equal(r.body.via_token, false);
});

test('CSRF: cookie-authenticated writes need the session X-CSRF-Token', async () => {
  const a = await account();
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const other = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const noCsrf = sessionClient(srv.url, { cookie: c.cookie });
  let r = await noCsrf.post('/api/v1/auth/logout');
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'csrf');
  r = await noCsrf.post('/api/v1/auth/logout', undefined, { 'x-csrf-token': other.csrf });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'csrf');
  r = await noCsrf.put('/api/v1/me/two-step', { mode: 'off' }, { 'x-csrf-token': 'x' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'csrf');
  // Reads need none; the session is still alive after the refusals.
  r = await noCsrf.get('/api/v1/auth/session');
  assert.equal(r.status, 200);
  r = await c.post('/api/v1/auth/logout');
  assert.equal(r.status, 200);
});

test('logout ends the session and clears the cookie', async () => {
  const a = await account();
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/auth/logout');
  assert.equal(r.status, 200);
  assert.match([].concat(r.headers['set-cookie'])[0], /^metron_session=; .*Max-Age=0/);
  const again = await c.get('/api/v1/auth/session');
  assert.equal(again.status, 401);
});

test('administrator-only routes refuse members with 403 forbidden', async () => {
  const a = await account('pro');
  await createUser(srv.url, { accountId: a.accountId, user: 'member1', password: PW,
    role: 'member', fileAccess: 'view' });
  const m = await login(srv.url, { account: a.account, user: 'member1', password: PW });
  assert.equal(m.user.role, 'member');
  assert.equal(m.user.file_access, 'view');
  for (const p of ['/api/v1/audit', '/api/v1/account/ip-allow-list']) {
    const r = await m.get(p);
    assert.equal(r.status, 403, p);
    assert.equal(r.body.code, 'forbidden');
  }
  const s = await m.get('/api/v1/auth/session');
  assert.equal(s.status, 200);
});

test('A5: a session ends after 24 hours without activity, and activity extends it',
  async () => {
    const a = await account();
    const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
    try {
      await setClock(srv.url, 23 * 3600);
      assert.equal((await c.get('/api/v1/auth/session')).status, 200);
      await setClock(srv.url, 46 * 3600);
      assert.equal((await c.get('/api/v1/auth/session')).status, 200);
      await setClock(srv.url, 70 * 3600 + 60);
      const r = await c.get('/api/v1/auth/session');
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'unauthenticated');
    } finally {
      await setClock(srv.url, 0);
    }
  });
