// The remembered GET /me reply and identities (issue #3,
// server/reply_cache.c, svc_auth.c): a change made through the API shows on
// the very next GET /me of every client; a change made behind the server's
// back (SQL by hand, another server process) as soon as PostgreSQL
// announces it (migration 012, server/db/db_listen.c), well before the 2 s
// that bound it when nothing is heard; the plan in force comes from the
// request. One cluster and one server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAccount, createUser, heardAll, herdShared, herdWhileLocked, login, request, setClock, sleep,
  startStack, stopStack, tokenClient,
} from './harness.mjs';

let pg;
let srv;
let db;
const PW = 'Correct-h0rse';
const DAY = 86400;
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);
const todayStart = () => Math.floor(Date.now() / 1000 / DAY) * DAY;

const METRICS = 'e'.repeat(40); // the scraper's token of /metrics

before(async () => {
  ({ pg, srv, db } = await startStack({ env: { METRON_METRICS_TOKEN: METRICS } }));
});

after(() => stopStack({ pg, srv }));

/** An account with an administrator and a member, each signed in by
 * session and by API token. */
async function account(plan = 'pro', opts = {}) {
  const acc = uniq('me');
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test`, ...opts });
  const m = await createUser(srv.url, { accountId: ids.accountId, user: 'member', password: PW,
    role: 'member' });
  const token = async (user) => {
    const r = await request(srv.url, 'POST', '/api/v1/auth/token',
      { body: { account: acc, user, password: PW } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return tokenClient(srv.url, r.body.token);
  };
  return {
    ...ids, account: acc, memberId: m.userId,
    admin: await login(srv.url, { account: acc, user: 'admin', password: PW }),
    member: await login(srv.url, { account: acc, user: 'member', password: PW }),
    adminToken: plan === 'pro' ? await token('admin') : null,
    memberToken: plan === 'pro' ? await token('member') : null,
  };
}

/** GET /me through "c" (asserting 200), several times: the later ones come
 * from the remembered reply when there is one. */
async function me(c, times = 3) {
  let body;
  for (let i = 0; i < times; i++) {
    const r = await c.get('/api/v1/me');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (body !== undefined) assert.deepEqual(r.body, body, 'GET /me changed by itself');
    body = r.body;
  }
  return body;
}

/** Poll GET /me through "c" until "ok(body)"; resolves with the milliseconds
 * it took, or fails after "limitMs". */
async function showsWithin(c, ok, limitMs) {
  const t0 = Date.now();
  for (;;) {
    const r = await c.get('/api/v1/me');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (ok(r.body)) return Date.now() - t0;
    assert.ok(Date.now() - t0 < limitMs, `GET /me still shows ${JSON.stringify(r.body)}`);
    await sleep(50);
  }
}

test('PATCH /me shows on the very next GET /me, by session and by token', async () => {
  const a = await account();
  for (const c of [a.member, a.memberToken]) await me(c);
  let r = await a.member.patch('/api/v1/me', { name: 'Mia Member', language: 'fr' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of [a.memberToken, a.member]) {
    const body = await me(c, 1);
    assert.deepEqual([body.name, body.language], ['Mia Member', 'fr']);
  }
  // Through the token now, seen by the session.
  r = await a.memberToken.patch('/api/v1/me', { language: 'de', time_zone: 'Europe/Berlin' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  let body = await me(a.member, 1);
  assert.deepEqual([body.language, body.time_zone], ['de', 'Europe/Berlin']);
  r = await a.member.patch('/api/v1/me', { language: null });
  assert.equal(r.status, 200);
  body = await me(a.memberToken, 1);
  assert.equal(body.language, null);
  // A refused PATCH changes nothing, and GET /me still answers the same.
  r = await a.member.patch('/api/v1/me', { language: 'klingon' });
  assert.equal(r.status, 400);
  assert.equal((await me(a.member)).language, null);
});

test('many GET /me at once right after a change all show it', async () => {
  const a = await account();
  await me(a.memberToken);
  const r = await a.member.patch('/api/v1/me', { name: 'Concurrent' });
  assert.equal(r.status, 200);
  const all = await Promise.all(Array.from({ length: 20 },
    (_, i) => (i % 2 ? a.member : a.memberToken).get('/api/v1/me')));
  for (const x of all) {
    assert.equal(x.status, 200);
    assert.equal(x.body.name, 'Concurrent');
  }
});

test('the GET /me that miss the remembered body at the same moment share one read of it', async () => {
  // issue 16, devstall (as GET /devices' list): here the body's read waits
  // for the team memberships it shows; the requests that come meanwhile
  // take that read's body, or the next one's.
  const a = await account();
  await me(a.adminToken);
  const r = await a.admin.patch('/api/v1/me', { name: 'Shared' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { replies: rs, d } = await herdWhileLocked({ pg, db, sql, table: 'team_members', like: '%team_members%',
    n: 20, send: () => a.adminToken.get('/api/v1/me'), metrics: { url: srv.url, token: METRICS } });
  for (const x of rs) {
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.equal(x.body.name, 'Shared');
    assert.deepEqual(x.body, rs[0].body);
  }
  herdShared(d, { leads: 3 });
});

test('an administrator\'s change of another user shows on that user\'s next GET /me', async () => {
  const a = await account();
  let body = await me(a.memberToken);
  assert.deepEqual([body.role, body.name, body.file_access], ['member', 'member', 'view']);
  await me(a.member);
  let r = await a.admin.patch(`/api/v1/users/${a.memberId}`,
    { role: 'admin', name: 'Promoted', file_access: 'edit' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of [a.memberToken, a.member]) {
    body = await me(c, 1);
    assert.deepEqual([body.role, body.name, body.file_access], ['admin', 'Promoted', 'edit']);
  }
  // Back to member, by the administrator's token this time.
  r = await a.adminToken.patch(`/api/v1/users/${a.memberId}`, { role: 'member' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await me(a.member, 1)).role, 'member');
  // Team membership is part of the user (team_ids).
  const team = await a.admin.post('/api/v1/teams', { name: uniq('team') });
  assert.equal(team.status, 201, JSON.stringify(team.body));
  assert.deepEqual((await me(a.memberToken)).team_ids, []);
  r = await a.admin.post(`/api/v1/teams/${team.body.id}/members`, { user_id: a.memberId });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await me(a.memberToken, 1)).team_ids, [team.body.id]);
  r = await a.admin.del(`/api/v1/teams/${team.body.id}/members/${a.memberId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await me(a.memberToken, 1)).team_ids, []);
});

test('a disabled user\'s session and token stop at once, and come back when enabled',
  async () => {
    const a = await account();
    await me(a.member);
    await me(a.memberToken);
    let r = await a.admin.patch(`/api/v1/users/${a.memberId}`, { disabled: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const c of [a.member, a.memberToken]) {
      r = await c.get('/api/v1/me');
      assert.equal(r.status, 401, JSON.stringify(r.body));
    }
    r = await a.admin.patch(`/api/v1/users/${a.memberId}`, { disabled: false });
    assert.equal(r.status, 200);
    const again = await login(srv.url, { account: a.account, user: 'member', password: PW });
    assert.equal((await me(again)).disabled, false);
  });

test('a sign-in shows in last_login_at on the next GET /me of an older session', async () => {
  const a = await account();
  const before_ = (await me(a.member)).last_login_at;
  await sleep(1100); // last_login_at has whole seconds
  await login(srv.url, { account: a.account, user: 'member', password: PW });
  const after_ = (await me(a.member, 1)).last_login_at;
  assert.ok(after_ > before_, `${after_} > ${before_}`);
});

test('a plan change shows on the next GET /me of every user of the account', async () => {
  const a = await account('standard', { licenceExpires: todayStart() + 365 * DAY });
  let body = await me(a.member);
  assert.deepEqual([body.account.plan, body.account.effective_plan], ['standard', 'standard']);
  await me(a.admin);
  const r = await a.admin.post('/api/v1/account/plan', { plan: 'pro' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of [a.member, a.admin]) {
    body = await me(c, 1);
    assert.deepEqual([body.account.plan, body.account.effective_plan], ['pro', 'pro']);
  }
  // The account's own fields too.
  const p = await a.admin.patch('/api/v1/account', { name: 'Renamed Ltd', language: 'it' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  body = await me(a.member, 1);
  assert.deepEqual([body.account.name, body.account.language], ['Renamed Ltd', 'it']);
});

test('the plan in force comes from the request: a licence lapsing (test clock) shows at once',
  async () => {
    const a = await account('pro', { licenceExpires: todayStart() + DAY });
    let body = await me(a.memberToken);
    assert.deepEqual([body.account.plan, body.account.effective_plan], ['pro', 'pro']);
    try {
      // Three days on, the licence lapsed two days ago: Free in effect (L3),
      // and the Web API (P20) with it.
      await setClock(srv.url, 3 * DAY);
      const r = await a.memberToken.get('/api/v1/me');
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, 'plan_limit');
      const s = await login(srv.url, { account: a.account, user: 'member', password: PW });
      body = await me(s);
      assert.deepEqual([body.account.plan, body.account.effective_plan], ['pro', 'free']);
    } finally {
      await setClock(srv.url, 0);
    }
    body = await me(a.memberToken);
    assert.equal(body.account.effective_plan, 'pro');
  });

test('a trial past its expiry (test clock) is refused on GET /me at once', async () => {
  const email = `${uniq('t')}@trial.test`;
  await createAccount(srv.url, { plan: 'trial', email, password: PW,
    trialExpires: Math.floor(Date.now() / 1000) + 3600 });
  const c = await login(srv.url, { email, password: PW });
  assert.equal((await me(c)).account.plan, 'trial');
  try {
    await setClock(srv.url, 3605);
    const r = await c.get('/api/v1/me');
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.code, 'trial_expired');
  } finally {
    await setClock(srv.url, 0);
  }
});

// Under 2 s (AUTH_CACHE_TTL_S, what bounds a change nobody announces): a
// change that shows sooner was heard. Remembered entries live 60 s while
// changes are heard.
const HEARD_MS = 1500;

test('the server hears committed changes (health says so)', async () => {
  const r = await request(srv.url, 'GET', '/api/v1/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok', db: 'ok', changes_heard: true,
    backup: { state: 'off', last_archived_at: null }, replica: { configured: false } });
});

test('a change made in SQL behind the server\'s back shows as soon as it is announced',
  async () => {
    const a = await account();
    await me(a.memberToken);
    await me(a.member);
    await sql(`UPDATE users SET name = 'Set in SQL' WHERE id = ${a.memberId}`);
    const ms = await showsWithin(a.memberToken, (b) => b.name === 'Set in SQL', HEARD_MS);
    await showsWithin(a.member, (b) => b.name === 'Set in SQL', HEARD_MS);
    assert.ok(ms < HEARD_MS, `${ms} ms`);
    await me(a.memberToken);
    await sql(`UPDATE accounts SET name = 'Account by SQL' WHERE id = ${a.accountId}`);
    await showsWithin(a.memberToken, (b) => b.account.name === 'Account by SQL', HEARD_MS);
    // A team membership added in SQL shows in team_ids.
    await sql(`INSERT INTO teams (account_id, name) VALUES (${a.accountId}, 'SQL team')`);
    const team = Number(await sql(`SELECT id FROM teams WHERE account_id = ${a.accountId}`));
    await me(a.member);
    await sql(`INSERT INTO team_members (account_id, team_id, user_id)
      VALUES (${a.accountId}, ${team}, ${a.memberId})`);
    await showsWithin(a.member, (b) => b.team_ids.includes(team), HEARD_MS);
    // Another account's entries are not the ones that change.
    const b = await account();
    const before = await me(b.memberToken);
    await sql(`UPDATE users SET name = 'Only A' WHERE id = ${a.memberId}`);
    await showsWithin(a.memberToken, (x) => x.name === 'Only A', HEARD_MS);
    assert.deepEqual(await me(b.memberToken), before);
  });

test('while changes are heard, an entry lives past 2 s: a change nobody announces stays unseen',
  async () => {
    const a = await account();
    // Every announcement of the set-up heard first: one heard after
    // "before" was remembered would end it, and the unannounced change
    // would then show.
    await heardAll(srv);
    const before = await me(a.memberToken);
    const beforeSession = await me(a.member);
    try {
      await sql('ALTER TABLE users DISABLE TRIGGER users_auth_notify');
      await sql(`UPDATE users SET name = 'Unannounced' WHERE id = ${a.memberId}`);
      await sleep(2500);
      assert.deepEqual(await me(a.memberToken), before);
      assert.equal((await me(a.member)).name, beforeSession.name);
    } finally {
      await sql('ALTER TABLE users ENABLE TRIGGER users_auth_notify');
    }
    // The next announced change of the account brings it all.
    await sql(`UPDATE accounts SET name = 'Announced' WHERE id = ${a.accountId}`);
    await showsWithin(a.memberToken, (b) => b.name === 'Unannounced' &&
      b.account.name === 'Announced', HEARD_MS);
  });

test('a write through the API ends the remembered /me of its own account only', async () => {
  const a = await account();
  const b = await account();
  // Every announcement of the set-ups heard first: a late one would end
  // B's remembered reply below.
  await heardAll(srv);
  const beforeB = await me(b.memberToken);
  try {
    // A change nobody announces, so that only the server's own epochs decide
    // (a notification made for B meanwhile would announce B's account too).
    await sql('ALTER TABLE users DISABLE TRIGGER users_auth_notify');
    await sql('ALTER TABLE notifications DISABLE TRIGGER notifications_unread_notify');
    await sql('ALTER TABLE notifications DISABLE TRIGGER notifications_unread_notify_update');
    await sql(`UPDATE users SET name = 'Quiet B' WHERE id = ${b.memberId}`);
    // A write in account A: B's remembered reply stays.
    const r = await a.member.patch('/api/v1/me', { name: 'A wrote' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await me(a.memberToken, 1)).name, 'A wrote');
    assert.deepEqual(await me(b.memberToken), beforeB);
    // A write in account B (its administrator's own language): B's reply is read again.
    const w = await b.admin.patch('/api/v1/me', { language: 'it' });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal((await me(b.memberToken, 1)).name, 'Quiet B');
  } finally {
    await sql('ALTER TABLE notifications ENABLE TRIGGER notifications_unread_notify');
    await sql('ALTER TABLE notifications ENABLE TRIGGER notifications_unread_notify_update');
    await sql('ALTER TABLE users ENABLE TRIGGER users_auth_notify');
  }
});

test('a session deleted and a token revoked in SQL stop as soon as it is announced',
  async () => {
    const a = await account();
    await me(a.member);
    await me(a.memberToken);
    const stops = async (c, what) => {
      const t0 = Date.now();
      for (;;) {
        const r = await c.get('/api/v1/me');
        if (r.status === 401) return Date.now() - t0;
        assert.equal(r.status, 200);
        assert.ok(Date.now() - t0 < HEARD_MS, `${what} still answers after ${Date.now() - t0} ms`);
        await sleep(25);
      }
    };
    await sql(`DELETE FROM sessions WHERE user_id = ${a.memberId}`);
    await stops(a.member, 'the deleted session');
    await sql(`UPDATE api_tokens SET revoked_at = now() WHERE user_id = ${a.memberId}`);
    await stops(a.memberToken, 'the revoked token');
    // The administrator's session and token go on.
    await me(a.admin, 1);
    await me(a.adminToken, 1);
  });

test('the triggers announce what changes an identity or /me, and not the touch', async () => {
  const a = await account();
  await me(a.member);
  const out = await pg.psqlEach([
    'LISTEN metron_auth',
    // The touch of every use (last_seen_at, idle_expires_at; last_used_at).
    `UPDATE sessions SET last_seen_at = now(), idle_expires_at = now() + interval '1 day'
      WHERE user_id = ${a.memberId}`,
    `UPDATE api_tokens SET last_used_at = now() WHERE user_id = ${a.memberId}`,
    'SELECT 1',
    `UPDATE users SET language = 'de' WHERE id = ${a.memberId}`,
    'SELECT 2',
    `UPDATE users SET name = 'x' WHERE id = ${a.memberId}; ` +
      `UPDATE users SET name = 'y' WHERE id = ${a.memberId}`,
    'SELECT 3',
  ], db);
  const lines = out.split('\n');
  const heard = (afterMark) => {
    const i = lines.indexOf(afterMark);
    const got = [];
    for (let j = i + 1; j < lines.length && !/^\d+$/.test(lines[j]); j++) {
      const m = lines[j].match(/notification "metron_auth" with payload "(\d+)"/);
      if (m) got.push(Number(m[1]));
    }
    return got;
  };
  const beforeFirst = lines.slice(0, lines.indexOf('1'))
    .filter((l) => l.includes('notification'));
  assert.deepEqual(beforeFirst, [], `the touch was announced: ${out}`);
  assert.deepEqual(heard('1'), [a.accountId], out);
  // Two changes of one transaction: one announcement.
  assert.deepEqual(heard('2'), [a.accountId], out);
});

test('the once-a-minute touch still slides a session and marks a token used', async () => {
  const a = await account();
  await me(a.member);
  await me(a.memberToken);
  const seen = async () => Number(await sql(`SELECT max(extract(epoch FROM last_seen_at))::bigint
    FROM sessions WHERE user_id = ${a.memberId}`));
  const used = async () => Number(await sql(`SELECT max(extract(epoch FROM last_used_at))::bigint
    FROM api_tokens WHERE user_id = ${a.memberId}`));
  const [seen0, used0] = [await seen(), await used()];
  try {
    await setClock(srv.url, 600);
    await me(a.member, 1);
    await me(a.memberToken, 1);
    assert.ok(await seen() >= seen0 + 600, `last_seen_at ${await seen()} after ${seen0}`);
    assert.ok(await used() >= used0 + 600, `last_used_at ${await used()} after ${used0}`);
  } finally {
    await setClock(srv.url, 0);
  }
});
