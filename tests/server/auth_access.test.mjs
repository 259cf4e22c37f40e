// Sign-in limits (A1, A2, A7, L4, A9): the alternative login ID and Trial
// e-mail login, throttling, trial expiry, Web API tokens (P20), the IP
// allow-list (P21) and the audit log. One cluster and one server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, createUser, login, request, setClock, tokenClient, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
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

test('throttling: the 6th try after 5 failures is 429 with Retry-After, even with the right password',
  async () => {
    const a = await account();
    const addr = '127.0.0.11';
    try {
      let fifth = 0;
      for (let i = 0; i < 5; i++) {
        if (i === 4) fifth = Date.now();
        const r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
          password: `Wrong-pass${i}` }, { localAddress: addr });
        assert.equal(r.status, 401, `try ${i}`);
      }
      let r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
        { localAddress: addr });
      assert.equal(r.status, 429);
      assert.equal(r.body.code, 'throttled');
      // 15 s from the 5th failure, less the seconds that went by since (the
      // 5th request's password hashing takes seconds on a loaded machine).
      const since = (Date.now() - fifth) / 1000;
      const retry = Number(r.headers['retry-after']);
      assert.ok(retry <= 15 && retry >= Math.floor(15 - since) - 1, `${retry} after ${since} s`);
      assert.equal(r.body.retry_after, Number(r.headers['retry-after']));
      // From another address the same user is locked too (per account+user).
      r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
        { localAddress: '127.0.0.12' });
      assert.equal(r.status, 429);
      await setClock(srv.url, 16);
      // One more failure doubles the lock.
      r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
        password: 'Wrong-again1' }, { localAddress: addr });
      assert.equal(r.status, 401);
      r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
        { localAddress: addr });
      assert.equal(r.status, 429);
      assert.ok(['29', '30'].includes(r.headers['retry-after']), r.headers['retry-after']);
      await setClock(srv.url, 16 + 31);
      r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
        { localAddress: addr });
      assert.equal(r.status, 200);
    } finally {
      await setClock(srv.url, 0);
    }
  });

test('throttling per client address: 20 failures on any users lock that address only',
  async () => {
    const addr = '127.0.0.21';
    const a = await account();
    try {
      for (let i = 0; i < 20; i++) {
        const r = await post('/api/v1/auth/login', { account: a.account, user: `nobody${i}`,
          password: PW }, { localAddress: addr });
        assert.equal(r.status, 401, `try ${i}`);
      }
      let r = await post('/api/v1/auth/login', { account: a.account, user: 'admin',
        password: PW }, { localAddress: addr });
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers['retry-after']) > 0);
      r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
        { localAddress: '127.0.0.22' });
      assert.equal(r.status, 200);
    } finally {
      await setClock(srv.url, 0);
    }
  });

test('Trial users sign in with e-mail + password; L4: login stops after trial expiry',
  async () => {
    const email = `${uniq('t')}@trial.test`;
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const t = await createAccount(srv.url, { plan: 'trial', email, password: PW,
      trialExpires: expires });
    let r = await post('/api/v1/auth/login', { email: email.toUpperCase(), password: 'Wrong-1a' });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'invalid_credentials');
    const c = await login(srv.url, { email, password: PW });
    assert.equal(c.user.account.plan, 'trial');
    assert.equal(c.user.account.login_id, null);
    assert.equal(c.user.id, t.userId);
    try {
      await setClock(srv.url, 3605);
      r = await c.get('/api/v1/auth/session');
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'trial_expired');
      r = await post('/api/v1/auth/login', { email, password: PW });
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'trial_expired');
      // The wrong password still learns nothing.
      r = await post('/api/v1/auth/login', { email, password: 'Wrong-1a' });
      assert.equal(r.status, 401);
    } finally {
      await setClock(srv.url, 0);
    }
  });

test('P23: the alternative login account ID works on Pro only', async () => {
  const pro = await account('pro', { altAccount: uniq('alt') });
  const alt = (await pg.psql(`SELECT alt_login_id FROM accounts WHERE id = ${pro.accountId}`, db));
  const c = await login(srv.url, { account: alt, user: 'admin', password: PW });
  assert.equal(c.user.account.id, pro.accountId);
  const std = await account('standard', { altAccount: uniq('alt') });
  const stdAlt = await pg.psql(`SELECT alt_login_id FROM accounts WHERE id = ${std.accountId}`, db);
  const r = await post('/api/v1/auth/login', { account: stdAlt, user: 'admin', password: PW });
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'invalid_credentials');
  await login(srv.url, { account: std.account, user: 'admin', password: PW });
});

test('P20: Web API tokens are refused below Pro, naming the quota and the plan', async () => {
  for (const plan of ['free', 'standard']) {
    const a = await account(plan);
    const r = await post('/api/v1/auth/token', { account: a.account, user: 'admin', password: PW });
    assert.equal(r.status, 403, plan);
    assert.equal(r.body.code, 'plan_limit');
    assert.equal(r.body.quota, 'P20');
    assert.equal(r.body.plan, plan);
    assert.equal(r.body.token, undefined);
  }
  const email = `${uniq('t')}@trial.test`;
  await createAccount(srv.url, { plan: 'trial', email, password: PW });
  const r = await post('/api/v1/auth/token', { email, password: PW });
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P20');
  // Wrong credentials stay a 401 (the plan is not revealed).
  const a = await account('free');
  const w = await post('/api/v1/auth/token', { account: a.account, user: 'admin',
    password: 'Wrong-pass1' });
  assert.equal(w.status, 401);
});

test('A2: a Pro token authenticates without cookie or CSRF, is stored hashed, and expires',
  async () => {
    const a = await account('pro');
    const r = await post('/api/v1/auth/token', { account: a.account, user: 'admin', password: PW });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(r.body.expires > Date.now() / 1000 + 29 * 86400);
    assert.equal(r.headers['set-cookie'], undefined);
    const t = tokenClient(srv.url, r.body.token);
    let s = await t.get('/api/v1/auth/session');
    assert.equal(s.status, 200);
    assert.equal(s.body.via_token, true);
    assert.equal(s.body.csrf_token, undefined);
    s = await t.put('/api/v1/me/two-step', { mode: 'off' });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    const stored = await pg.psql(`SELECT count(*) FROM api_tokens WHERE token_hash =
      sha256(convert_to('${r.body.token}', 'UTF8'))`, db);
    assert.equal(stored, '1');
    try {
      await setClock(srv.url, 31 * 86400);
      s = await t.get('/api/v1/auth/session');
      assert.equal(s.status, 401);
    } finally {
      await setClock(srv.url, 0);
    }
    // A token of an account that fell below Pro stops with plan_limit.
    const r2 = await post('/api/v1/auth/token', { account: a.account, user: 'admin', password: PW });
    await pg.psql(`UPDATE accounts SET plan = 'standard' WHERE id = ${a.accountId}`, db);
    s = await tokenClient(srv.url, r2.body.token).get('/api/v1/auth/session');
    assert.equal(s.status, 403);
    assert.equal(s.body.code, 'plan_limit');
    assert.equal(s.body.quota, 'P20');
  });

test('P21: the IP allow-list is refused below Pro', async () => {
  const a = await account('standard');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  let r = await c.get('/api/v1/account/ip-allow-list');
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P21');
  r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['127.0.0.1'] });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.plan, 'standard');
});

test('A7: the IP allow-list refuses portal and API requests from other addresses', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const tok = (await post('/api/v1/auth/token', { account: a.account, user: 'admin',
    password: PW })).body.token;
  let r = await c.get('/api/v1/account/ip-allow-list');
  assert.deepEqual(r.body, { ip_allow_list: [] });
  for (const bad of [{}, { ip_allow_list: '127.0.0.1' }, { ip_allow_list: ['300.1.1.1'] },
    { ip_allow_list: ['10.0.0.0/33'] }, { ip_allow_list: [7] }, { ip_allow_list: ['10.0.0.0/'] },
    { ip_allow_list: ['x/8'] }]) {
    r = await c.put('/api/v1/account/ip-allow-list', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
  r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['127.0.0.1'], note: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unknown_field');
  assert.equal(r.body.field, 'note');
  assert.deepEqual((await c.get('/api/v1/account/ip-allow-list')).body, { ip_allow_list: [] });
  // A list that would lock out the administrator's own address is refused.
  r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['10.0.0.0/8'] });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'would_lock_out');
  r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['127.0.0.1', '10.1.2.3/8',
    '2001:db8::/32'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.ip_allow_list.sort(), ['10.0.0.0/8', '127.0.0.1/32', '2001:db8::/32']);
  // From 127.0.0.31: sign-in, the session and the token are all refused.
  r = await post('/api/v1/auth/login', { account: a.account, user: 'admin', password: PW },
    { localAddress: '127.0.0.31' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'ip_not_allowed');
  r = await request(srv.url, 'GET', '/api/v1/auth/session',
    { headers: { cookie: `metron_session=${c.cookie}` }, localAddress: '127.0.0.31' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'ip_not_allowed');
  r = await tokenClient(srv.url, tok, { localAddress: '127.0.0.31' }).get('/api/v1/auth/session');
  assert.equal(r.status, 403);
  // From 127.0.0.1 all is well; an empty list allows everyone again.
  assert.equal((await c.get('/api/v1/auth/session')).status, 200);
  r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: [] });
  assert.equal(r.status, 200);
  r = await request(srv.url, 'GET', '/api/v1/auth/session',
    { headers: { cookie: `metron_session=${c.cookie}` }, localAddress: '127.0.0.31' });
  assert.equal(r.status, 200);
});

test('A9: sign-ins, tokens and allow-list changes are audited, newest first, paged', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  await post('/api/v1/auth/token', { account: a.account, user: 'admin', password: PW });
  await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['127.0.0.0/8'] });
  let r = await c.get('/api/v1/audit');
  assert.equal(r.status, 200);
  const actions = r.body.entries.map((e) => e.action);
  assert.deepEqual(actions, ['account.ip_allow_list_change', 'auth.token_create', 'auth.login']);
  const e = r.body.entries[0];
  assert.equal(e.actor_login, 'admin');
  assert.equal(e.user_id, a.userId);
  assert.equal(e.ip, '127.0.0.1');
  assert.deepEqual(e.detail, { ip_allow_list: ['127.0.0.0/8'] });
  assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // Paging.
  r = await c.get('/api/v1/audit?limit=2');
  assert.equal(r.body.entries.length, 2);
  assert.ok(r.body.next_before);
  r = await c.get(`/api/v1/audit?limit=2&before=${r.body.next_before}`);
  assert.deepEqual(r.body.entries.map((x) => x.action), ['auth.login']);
  assert.equal(r.body.next_before, null);
  for (const q of ['limit=0', 'limit=201', 'limit=x', 'before=-1']) {
    r = await c.get(`/api/v1/audit?${q}`);
    assert.equal(r.status, 400, q);
  }
  // Filters: the acting user, an action or its start, a time range (µs).
  r = await c.get(`/api/v1/audit?user_id=${a.userId}&action=auth.`);
  assert.deepEqual(r.body.entries.map((x) => x.action), ['auth.token_create', 'auth.login']);
  r = await c.get('/api/v1/audit?action=account.ip_allow_list_change');
  assert.deepEqual(r.body.entries.map((x) => x.action), ['account.ip_allow_list_change']);
  r = await c.get('/api/v1/audit?action=account');
  assert.deepEqual(r.body.entries, [], 'a start must end with a dot');
  // A filter's pages (read by the filter's index, migration 077): the
  // same entries as one page, none of another area or kind between them.
  for (const q of ['action=auth.', 'action=auth.login', 'actor_kind=user']) {
    const one = (await c.get(`/api/v1/audit?${q}`)).body.entries.map((x) => x.id);
    const paged = [];
    let next = '';
    do {
      r = await c.get(`/api/v1/audit?${q}&limit=1${next}`);
      assert.equal(r.status, 200, q);
      paged.push(...r.body.entries.map((x) => x.id));
      next = r.body.next_before ? `&before=${r.body.next_before}` : '';
    } while (next && paged.length <= one.length);
    assert.deepEqual(paged, one, q);
    assert.ok(one.length > 0, q);
  }
  r = await c.get(`/api/v1/audit?user_id=${a.userId + 1000000}`);
  assert.deepEqual(r.body.entries, []);
  const all = (await c.get('/api/v1/audit')).body.entries;
  const tLogin = Date.parse(all[2].at) * 1000;
  r = await c.get(`/api/v1/audit?from=${tLogin + 1e6}`);
  assert.ok(r.body.entries.every((x) => Date.parse(x.at) * 1000 >= tLogin + 1e6));
  r = await c.get(`/api/v1/audit?to=${tLogin + 1e6}`);
  assert.ok(r.body.entries.map((x) => x.action).includes('auth.login'));
  r = await c.get(`/api/v1/audit?from=0&to=${tLogin}`);
  assert.deepEqual(r.body.entries, []);
  for (const q of ['user_id=0', 'user_id=x', 'from=-5', 'to=1.5', 'action=USER.', 'action=.x', 'action=user;drop',
    `action=${'a'.repeat(80)}`]) {
    r = await c.get(`/api/v1/audit?${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.code, 'invalid_value', q);
  }
  // Another account's log stays its own.
  const b = await account('pro');
  const cb = await login(srv.url, { account: b.account, user: 'admin', password: PW });
  r = await cb.get('/api/v1/audit');
  assert.deepEqual(r.body.entries.map((x) => x.action), ['auth.login']);
});

test('A9: the filters by person and by time (migration 078) page through the same entries as one page, '
  + 'in id order by person, in time order by time', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const { userId: other } = await createUser(srv.url, { accountId: a.accountId, user: 'other', password: PW,
    email: `other@${a.account}.test` });
  const sql = (q) => pg.psql(q, db);
  // 60 entries: the admin's (1 in 2), the other person's (1 in 3 of the
  // rest) and the system's, 3 a second; every 7th written 100 s late (its
  // id newer than its time, as a slow writer's), so that time order and id
  // order differ.
  await sql(`INSERT INTO audit_log (account_id, at, actor_kind, user_id, actor_login, action, detail)
    SELECT ${a.accountId}, timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i / 3 - CASE WHEN i % 7 = 0 THEN 100 ELSE 0 END),
      CASE WHEN i % 2 = 0 OR i % 3 = 0 THEN 'user' ELSE 'system' END,
      CASE WHEN i % 2 = 0 THEN ${a.userId} WHEN i % 3 = 0 THEN ${other} END,
      '', 'user.update', jsonb_build_object('i', i)
    FROM generate_series(1, 60) i`);
  const t0 = Date.parse('2026-01-01T00:00:00Z') * 1000;
  const us = (s) => t0 + s * 1e6;
  const ids = (q) => sql(`SELECT coalesce(string_agg(id::text, ',' ORDER BY ${q.order}), '')
    FROM audit_log WHERE account_id = ${a.accountId} AND ${q.where}`);
  const pages = async (q, limit) => {
    const got = [];
    let next = '';
    do {
      const r = await c.get(`/api/v1/audit?${q}&limit=${limit}${next}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      got.push(...r.body.entries.map((x) => x.id));
      next = r.body.next_before ? `&before=${r.body.next_before}` : '';
    } while (next && got.length <= 100);
    return got.join(',');
  };
  const at = (x) => `to_timestamp(${x} / 1e6)`;
  const cases = [
    [`user_id=${a.userId}`, { where: `user_id = ${a.userId}`, order: 'id DESC' }],
    [`user_id=${other}`, { where: `user_id = ${other}`, order: 'id DESC' }],
    [`user_id=${other}&from=${us(5)}`, { where: `user_id = ${other} AND at >= ${at(us(5))}`, order: 'id DESC' }],
    [`user_id=${a.userId}&to=${us(12)}&actor_kind=user`, { where: `user_id = ${a.userId} AND at < ${at(us(12))}`, order: 'id DESC' }],
    // A person's entry is of kind user or api_token and has no app.
    [`user_id=${a.userId}&actor_kind=api_token`, { where: 'false', order: 'id' }],
    [`user_id=${a.userId}&actor_kind=system`, { where: 'false', order: 'id' }],
    [`user_id=${a.userId}&app_id=1`, { where: 'false', order: 'id' }],
    [`from=${us(5)}`, { where: `at >= ${at(us(5))}`, order: 'at DESC, id DESC' }],
    [`to=${us(12)}`, { where: `at < ${at(us(12))}`, order: 'at DESC, id DESC' }],
    [`from=${us(-95)}&to=${us(12)}`, { where: `at >= ${at(us(-95))} AND at < ${at(us(12))}`, order: 'at DESC, id DESC' }],
    [`from=${us(3)}&to=${us(4)}`, { where: `at >= ${at(us(3))} AND at < ${at(us(4))}`, order: 'at DESC, id DESC' }],
    [`from=${us(21)}&to=${us(30)}`, { where: 'false', order: 'id' }],
  ];
  for (const [q, want] of cases) {
    const expect = await ids(want);
    assert.equal(await pages(q, 200), expect, q);
    assert.equal(await pages(q, 1), expect, `${q}, one a page`);
    assert.equal(await pages(q, 7), expect, `${q}, 7 a page`);
  }
  // The time order is not the id order here: a late entry comes after
  // newer ids of its time.
  const byTime = (await pages(`from=${us(-100)}&to=${us(30)}`, 200)).split(',').map(Number);
  assert.equal(byTime.length, 60);
  assert.notDeepEqual(byTime, [...byTime].sort((x, y) => y - x));
  // "before" with a time filter: after that entry in time order, whichever
  // list gave it; an id that is no entry of the account gives none.
  const mid = byTime[20];
  let r = await c.get(`/api/v1/audit?to=${us(30)}&before=${mid}&limit=200`);
  assert.deepEqual(r.body.entries.map((x) => x.id), byTime.slice(21));
  // With "to" before that entry's time: the range's entries (4 late ones).
  r = await c.get(`/api/v1/audit?to=${us(-90)}&before=${mid}&limit=200`);
  const early = await ids({ where: `at < ${at(us(-90))}`, order: 'at DESC, id DESC' });
  assert.equal(early.split(',').length, 4);
  assert.equal(r.body.entries.map((x) => x.id).join(','), early);
  const gap = (await c.get('/api/v1/audit?limit=1')).body.entries[0].id + 1000;
  r = await c.get(`/api/v1/audit?to=${us(30)}&before=${gap}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.entries, []);
  // The person's entries leave their filter when the person is deleted
  // (their user_id set to NULL, the partial index's rows go).
  assert.equal((await c.del(`/api/v1/users/${other}`)).status, 200);
  r = await c.get(`/api/v1/audit?user_id=${other}`);
  assert.deepEqual(r.body.entries, []);
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${a.accountId} AND user_id IS NULL
    AND actor_kind = 'user'`), '10');
});

test('A9: each entry names its target as it is now (one statement for the page), of the account only; '
  + 'a deleted target is gone, a target of a kind without a name is neither', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const sql = (q) => pg.psql(q, db);
  const team = (await c.post('/api/v1/teams', { name: 'Night shift' })).body;
  const group = (await c.post('/api/v1/groups', { name: 'Boiler house' })).body;
  const app = (await c.post('/api/v1/apps', { kind: 'one', name: 'Roof gateway' })).body;
  const gone = (await c.post('/api/v1/groups', { name: 'Old site' })).body;
  assert.ok(team.id && group.id && app.id && gone.id);
  assert.equal((await c.patch(`/api/v1/groups/${group.id}`, { name: 'Boiler house 2' })).status, 200);
  assert.ok((await c.del(`/api/v1/groups/${gone.id}`)).status < 300);
  // Another account's team, named in an entry of this one (as if by a
  // mistake): not this account's, so not named.
  const b = await account('pro');
  const cb = await login(srv.url, { account: b.account, user: 'admin', password: PW });
  const theirs = (await cb.post('/api/v1/teams', { name: 'Their team' })).body;
  await sql(`INSERT INTO audit_log (account_id, actor_kind, action, target_type, target_id, detail)
    VALUES (${a.accountId}, 'system', 'team.update', 'team', ${theirs.id}, '{}'),
           (${a.accountId}, 'system', 'auth.session_end', 'session', 123456, '{}')`);
  const r = await c.get('/api/v1/audit?limit=200');
  assert.equal(r.status, 200);
  const of = (action, id) => r.body.entries.find((e) => e.action === action && e.target_id === id);
  const named = (e) => e && [e.target_name, e.target_gone];
  assert.deepEqual(named(of('team.create', team.id)), ['Night shift', false]);
  assert.deepEqual(named(of('group.create', group.id)), ['Boiler house 2', false], 'the name now, not then');
  assert.deepEqual(named(of('group.update', group.id)), ['Boiler house 2', false]);
  assert.deepEqual(named(of('app.create', app.id)), ['Roof gateway', false]);
  assert.deepEqual(named(of('group.create', gone.id)), [null, true]);
  assert.deepEqual(named(of('group.delete', gone.id)), [null, true]);
  assert.deepEqual(named(of('team.update', theirs.id)), [null, true], 'another account\'s item is not named');
  assert.deepEqual(named(of('auth.session_end', 123456)), [null, false], 'a session has no name');
  const login1 = r.body.entries.find((e) => e.action === 'auth.login');
  assert.equal(login1.target_type, 'user');
  assert.ok(login1.target_name.length > 0 && login1.target_gone === false, 'the signed-in user by name');
  for (const e of r.body.entries.filter((x) => x.target_type === null)) {
    assert.deepEqual(named(e), [null, false]);
  }
});

test('A9: a change and its audit entry are one transaction: a refused change leaves no entry, '
  + 'an entry that cannot be written undoes the change', async () => {
  const a = await account('pro');
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  const sql = (q) => pg.psql(q, db);
  const entries = async (action) => Number(await sql(`SELECT count(*) FROM audit_log
    WHERE account_id = ${a.accountId} AND action = '${action}'`));
  // Refused changes: the allow-list is written, audited and then found to
  // lock the caller out, all in one transaction: nothing stays.
  let r = await c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['10.0.0.0/8'] });
  assert.equal(r.status, 409);
  assert.equal(await entries('account.ip_allow_list_change'), 0);
  assert.deepEqual((await c.get('/api/v1/account/ip-allow-list')).body.ip_allow_list, []);
  r = await c.post('/api/v1/users', { login_id: 'admin', name: 'Twin', password: 'Twin-passw0rd!' });
  assert.equal(r.status, 409);
  assert.equal(await entries('user.create'), 0);
  r = await c.post('/api/v1/apps', { kind: 'nope', name: 'x' });
  assert.equal(r.status, 400);
  assert.equal(await entries('app.create'), 0);

  // The entry cannot be written (the test hook fails the next audit write):
  // the change is answered 500 and is not there; done again, it is there
  // with exactly one entry.
  const failNext = async () => {
    const f = await request(srv.url, 'POST', '/api/v1/test/audit-fail', { body: { count: 1 } });
    assert.equal(f.status, 200);
  };
  const cases = [
    ['user.create', () => c.post('/api/v1/users', { login_id: 'bob', name: 'Bob',
      password: 'Bob-passw0rd!1' }),
    async () => Number(await sql(`SELECT count(*) FROM users WHERE account_id = ${a.accountId}
      AND login_id = 'bob'`))],
    ['app.create', () => c.post('/api/v1/apps', { kind: 'one', name: 'gw' }),
      async () => Number(await sql(`SELECT count(*) FROM apps WHERE account_id = ${a.accountId}`))],
    ['account.update', () => c.patch('/api/v1/account', { name: 'Renamed' }),
      async () => Number(await sql(`SELECT count(*) FROM accounts WHERE id = ${a.accountId}
        AND name = 'Renamed'`))],
    ['account.ip_allow_list_change',
      () => c.put('/api/v1/account/ip-allow-list', { ip_allow_list: ['127.0.0.0/8'] }),
      async () => Number(await sql(`SELECT cardinality(ip_allow_list) FROM accounts
        WHERE id = ${a.accountId}`))],
    ['logo.set', () => c.put('/api/v1/account/logo', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]),
      { 'content-type': 'image/jpeg' }),
    async () => Number(await sql(`SELECT count(*) FROM accounts WHERE id = ${a.accountId}
      AND logo IS NOT NULL`))],
    ['auth.two_step_change', () => c.put('/api/v1/me/two-step', { mode: 'email' }),
      async () => Number(await sql(`SELECT count(*) FROM users WHERE id = ${a.userId}
        AND two_step = 'email'`))],
  ];
  for (const [action, change, state] of cases) {
    await failNext();
    r = await change();
    assert.equal(r.status, 500, `${action}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'internal_error');
    assert.equal(await state(), 0, `${action} happened without its entry`);
    assert.equal(await entries(action), 0, action);
    r = await change();
    assert.ok(r.status === 200 || r.status === 201, `${action}: ${JSON.stringify(r.body)}`);
    assert.ok(await state() >= 1, action);
    assert.equal(await entries(action), 1, action);
  }
  // Sessions ended by an administrator come back when the entry fails.
  await sql(`UPDATE users SET two_step = 'off' WHERE id = ${a.userId}`);
  const other = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  await failNext();
  r = await c.del(`/api/v1/users/${a.userId}/sessions`);
  assert.equal(r.status, 500);
  assert.equal((await other.get('/api/v1/auth/session')).status, 200);
  assert.equal(await entries('user.sessions_end'), 0);
  await sql(`UPDATE accounts SET ip_allow_list = '{}' WHERE id = ${a.accountId}`);
});
