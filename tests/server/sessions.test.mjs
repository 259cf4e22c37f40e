// Sessions and API tokens of the signed-in user (A2, A5, P20) and the
// administrator's "sign this user out everywhere": listing (the current one
// marked), ending one or all others, revoking tokens, and what disabling a
// user or setting their password does to their sessions. One cluster and
// one server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, createUser, login, request, tokenClient, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
const PW = 'Correct-h0rse';
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

/** An account with an administrator "admin" and a member "member". */
async function account(plan = 'pro') {
  const acc = uniq('acc');
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  const m = await createUser(srv.url, { accountId: ids.accountId, user: 'member', password: PW,
    role: 'member' });
  return { ...ids, memberId: m.userId, account: acc };
}

const signIn = (a, user = 'admin', localAddress) =>
  login(srv.url, { account: a.account, user, password: PW, localAddress });

async function newToken(a, user = 'admin') {
  const r = await request(srv.url, 'POST', '/api/v1/auth/token',
    { body: { account: a.account, user, password: PW } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.token;
}

const alive = async (c) => (await c.get('/api/v1/auth/session')).status === 200;

test('GET /me/sessions lists the live sessions of the user, the current one marked', async () => {
  const a = await account('standard');
  const one = await signIn(a, 'admin', '127.0.0.21');
  const two = await signIn(a, 'admin', '127.0.0.22');
  const other = await signIn(a, 'member');
  let r = await one.get('/api/v1/me/sessions');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.items.length, 2);
  const mine = r.body.items.find((s) => s.current);
  assert.ok(mine);
  assert.equal(r.body.items.filter((s) => s.current).length, 1);
  assert.equal(mine.ip, '127.0.0.21');
  for (const s of r.body.items) {
    assert.equal(typeof s.id, 'number');
    assert.match(s.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(s.idle_expires_at, /Z$/);
  }
  r = await two.get('/api/v1/me/sessions');
  assert.equal(r.body.items.find((s) => s.current).ip, '127.0.0.22');
  // The member sees only their own.
  r = await other.get('/api/v1/me/sessions');
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].current, true);
  // A two-step challenge is no session and is not listed.
  await sql(`UPDATE users SET two_step = 'email' WHERE id = ${a.userId}`);
  const ch = await request(srv.url, 'POST', '/api/v1/auth/login',
    { body: { account: a.account, user: 'admin', password: PW } });
  assert.equal(ch.status === 200 || ch.status === 503, true);
  assert.equal((await one.get('/api/v1/me/sessions')).body.items.length, 2);
  await sql(`UPDATE users SET two_step = 'off' WHERE id = ${a.userId}`);
});

test('DELETE /me/sessions/{id} ends one session; another user\'s id is 404', async () => {
  const a = await account('free');
  const one = await signIn(a);
  const two = await signIn(a);
  const member = await signIn(a, 'member');
  const list = (await one.get('/api/v1/me/sessions')).body.items;
  const twoId = list.find((s) => !s.current).id;
  const memberId = (await member.get('/api/v1/me/sessions')).body.items[0].id;
  // CSRF applies to cookie writes.
  let r = await request(srv.url, 'DELETE', `/api/v1/me/sessions/${twoId}`,
    { headers: { cookie: `metron_session=${one.cookie}` } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'csrf');
  r = await one.del(`/api/v1/me/sessions/${memberId}`);
  assert.equal(r.status, 404);
  assert.equal(await alive(member), true);
  for (const bad of ['0', 'x', '99999999999']) {
    assert.equal((await one.del(`/api/v1/me/sessions/${bad}`)).status, 404, bad);
  }
  r = await one.del(`/api/v1/me/sessions/${twoId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id: twoId, ended: true, current: false });
  assert.equal(r.headers['set-cookie'], undefined);
  assert.equal(await alive(two), false);
  assert.equal(await alive(one), true);
  assert.equal((await one.del(`/api/v1/me/sessions/${twoId}`)).status, 404);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${a.accountId}
    AND action = 'auth.session_end' AND target_id = ${twoId} AND user_id = ${a.userId}`), 1);
  // Ending the current session signs out, like logout.
  const oneId = (await one.get('/api/v1/me/sessions')).body.items[0].id;
  r = await one.del(`/api/v1/me/sessions/${oneId}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.current, true);
  assert.match([].concat(r.headers['set-cookie'])[0], /^metron_session=;.*Max-Age=0/);
  assert.equal(await alive(one), false);
});

test('DELETE /me/sessions ends every other session of the user and keeps the current one',
  async () => {
    const a = await account('standard');
    const keep = await signIn(a);
    const others = [await signIn(a), await signIn(a), await signIn(a)];
    const member = await signIn(a, 'member');
    const r = await keep.del('/api/v1/me/sessions');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { ended: 3 });
    assert.equal(await alive(keep), true);
    for (const o of others) assert.equal(await alive(o), false);
    assert.equal(await alive(member), true);
    assert.equal((await keep.get('/api/v1/me/sessions')).body.items.length, 1);
    assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${a.accountId}
      AND action = 'auth.sessions_end' AND detail->>'ended' = '3'`), 1);
    // Through an API token (Pro), every session of the user ends.
    const p = await account('pro');
    const s1 = await signIn(p);
    const t = tokenClient(srv.url, await newToken(p));
    const r2 = await t.del('/api/v1/me/sessions');
    assert.deepEqual(r2.body, { ended: 1 });
    assert.equal(await alive(s1), false);
    assert.equal(await alive(t), true);
  });

test('P20: GET /me/tokens lists the live tokens, DELETE /me/tokens/{id} revokes one', async () => {
  const a = await account('pro');
  const c = await signIn(a);
  const t1 = await newToken(a);
  const t2 = await newToken(a);
  const tm = await newToken(a, 'member');
  let r = await c.get('/api/v1/me/tokens');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.items.length, 2);
  assert.ok(r.body.items.every((k) => k.current === false && k.token === undefined));
  assert.ok(r.body.items.every((k) => /Z$/.test(k.expires_at)));
  const tc1 = tokenClient(srv.url, t1);
  r = await tc1.get('/api/v1/me/tokens');
  const cur = r.body.items.find((k) => k.current);
  assert.ok(cur);
  const otherId = r.body.items.find((k) => !k.current).id;
  const memberTokenId = (await tokenClient(srv.url, tm).get('/api/v1/me/tokens')).body.items[0].id;
  // Not the member's token, not a made-up id.
  assert.equal((await c.del(`/api/v1/me/tokens/${memberTokenId}`)).status, 404);
  assert.equal(await alive(tokenClient(srv.url, tm)), true);
  assert.equal((await c.del('/api/v1/me/tokens/123456789')).status, 404);
  // Revoke the other token from the session: it stops at once.
  r = await c.del(`/api/v1/me/tokens/${otherId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id: otherId, revoked: true });
  assert.equal(await alive(tokenClient(srv.url, t2)), false);
  assert.equal((await c.del(`/api/v1/me/tokens/${otherId}`)).status, 404);
  // A token may revoke itself.
  r = await tc1.del(`/api/v1/me/tokens/${cur.id}`);
  assert.equal(r.status, 200);
  assert.equal(await alive(tc1), false);
  assert.deepEqual((await c.get('/api/v1/me/tokens')).body.items, []);
  assert.equal(await count(`SELECT count(*) FROM api_tokens WHERE account_id = ${a.accountId}
    AND user_id = ${a.userId} AND revoked_at IS NOT NULL`), 2);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${a.accountId}
    AND action = 'auth.token_revoke'`), 2);
  // Below Pro the token routes are refused with the quota.
  const s = await account('standard');
  const sc = await signIn(s);
  for (const [m, p] of [['get', '/api/v1/me/tokens'], ['del', '/api/v1/me/tokens/1']]) {
    r = await sc[m](p);
    assert.equal(r.status, 403, p);
    assert.equal(r.body.code, 'plan_limit');
    assert.equal(r.body.quota, 'P20');
  }
});

test('P20: the token reply carries its id; PATCH /me/tokens/{id} names one of the user\'s tokens', async () => {
  const a = await account('pro');
  const c = await signIn(a);
  let r = await request(srv.url, 'POST', '/api/v1/auth/token', { body: { account: a.account, user: 'admin', password: PW } });
  assert.equal(r.status, 200);
  const { id } = r.body;
  assert.ok(Number.isInteger(id) && id > 0, JSON.stringify(r.body));
  r = await c.patch(`/api/v1/me/tokens/${id}`, { name: 'Nightly export script' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id, name: 'Nightly export script' });
  r = await c.get('/api/v1/me/tokens');
  assert.deepEqual(r.body.items.map((k) => [k.id, k.name]), [[id, 'Nightly export script']]);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${a.accountId}
    AND action = 'auth.token_rename' AND target_id = ${id}`), 1);
  // Refusals change nothing: too long, wrong type, missing, an unknown member,
  // a token of another user, a revoked one.
  for (const [body, code] of [[{ name: 'x'.repeat(101) }, 'too_long'], [{ name: 5 }, 'wrong_type'], [{}, 'missing'],
    [{ name: 'a', expires: 1 }, 'unknown_field']]) {
    r = await c.patch(`/api/v1/me/tokens/${id}`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, code);
  }
  const mt = await request(srv.url, 'POST', '/api/v1/auth/token', { body: { account: a.account, user: 'member', password: PW } });
  assert.equal((await c.patch(`/api/v1/me/tokens/${mt.body.id}`, { name: 'not mine' })).status, 404);
  assert.equal((await c.del(`/api/v1/me/tokens/${id}`)).status, 200);
  assert.equal((await c.patch(`/api/v1/me/tokens/${id}`, { name: 'gone' })).status, 404);
  assert.equal(await count(`SELECT count(*) FROM api_tokens WHERE account_id = ${a.accountId}
    AND name = 'Nightly export script'`), 1);
  // Below Pro: the quota.
  const s = await account('standard');
  r = await (await signIn(s)).patch('/api/v1/me/tokens/1', { name: 'x' });
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P20');
});

test('DELETE /users/{id}/sessions: an administrator signs a user out everywhere', async () => {
  const a = await account('pro');
  const admin = await signIn(a);
  const m1 = await signIn(a, 'member');
  const m2 = await signIn(a, 'member');
  const mt = tokenClient(srv.url, await newToken(a, 'member'));
  // Members may not; CSRF applies; other accounts' users are 404.
  let r = await m1.del(`/api/v1/users/${a.memberId}/sessions`);
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'forbidden');
  const b = await account('pro');
  r = await admin.del(`/api/v1/users/${b.memberId}/sessions`);
  assert.equal(r.status, 404);
  const bm = await signIn(b, 'member');
  assert.equal(await alive(bm), true);
  r = await admin.del(`/api/v1/users/${a.memberId}/sessions`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { user_id: a.memberId, sessions_ended: 2, tokens_revoked: 1 });
  for (const c of [m1, m2, mt]) assert.equal(await alive(c), false);
  assert.equal(await alive(admin), true);
  assert.equal(await count(`SELECT count(*) FROM sessions WHERE account_id = ${a.accountId}
    AND user_id = ${a.memberId}`), 0);
  const row = (await sql(`SELECT user_id, target_type, target_id, detail::text FROM audit_log
    WHERE account_id = ${a.accountId} AND action = 'user.sessions_end'`)).split('|');
  assert.deepEqual(row.slice(0, 3), [String(a.userId), 'user', String(a.memberId)]);
  assert.deepEqual(JSON.parse(row[3]), { sessions: 2, tokens: 1 });
  // The user can sign in again.
  assert.equal(await alive(await signIn(a, 'member')), true);
  // Naming oneself keeps the current session.
  const admin2 = await signIn(a);
  r = await admin.del(`/api/v1/users/${a.userId}/sessions`);
  assert.equal(r.status, 200);
  assert.equal(r.body.sessions_ended, 1);
  assert.equal(await alive(admin), true);
  assert.equal(await alive(admin2), false);
});

test('disabling a user ends their sessions and tokens for good; a new password ends sessions',
  async () => {
    const a = await account('pro');
    const admin = await signIn(a);
    const m = await signIn(a, 'member');
    const mt = tokenClient(srv.url, await newToken(a, 'member'));
    let r = await admin.patch(`/api/v1/users/${a.memberId}`, { disabled: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await count(`SELECT count(*) FROM sessions WHERE user_id = ${a.memberId}`), 0);
    assert.equal(await count(`SELECT count(*) FROM api_tokens WHERE user_id = ${a.memberId}
      AND revoked_at IS NULL`), 0);
    assert.deepEqual(JSON.parse(await sql(`SELECT detail::text FROM audit_log
      WHERE account_id = ${a.accountId} AND action = 'user.update' ORDER BY id DESC LIMIT 1`)),
    { sessions_ended: 1, tokens_revoked: 1 });
    // Enabling again brings none of them back.
    r = await admin.patch(`/api/v1/users/${a.memberId}`, { disabled: false });
    assert.equal(r.status, 200);
    assert.equal(await alive(m), false);
    assert.equal(await alive(mt), false);
    // A password set by the administrator ends the user's sessions (not tokens).
    const m2 = await signIn(a, 'member');
    const mt2 = tokenClient(srv.url, await newToken(a, 'member'));
    r = await admin.patch(`/api/v1/users/${a.memberId}`, { password: 'Another-h0rse!' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await alive(m2), false);
    assert.equal(await alive(mt2), true);
    // Setting one's own password through /users keeps the current session.
    const admin2 = await signIn(a);
    r = await admin.patch(`/api/v1/users/${a.userId}`, { password: 'Admin-n3w-pass!' });
    assert.equal(r.status, 200);
    assert.equal(await alive(admin), true);
    assert.equal(await alive(admin2), false);
  });
