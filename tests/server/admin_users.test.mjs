// Administration API part A: users (G2), teams (G3), measurement groups
// (G1) with access, own info and current group (M1); quotas P4/P5/P6 at
// their limit and one past it on every plan; tenant isolation; members
// refused on admin routes; malformed input changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, createAccount, createUser, login, pollUntil, psqlSession, request, startPostgres, startServer,
} from './harness.mjs';

const PW = 'Secret-pass1';
let pg;
let srv;
let db;
let seq = 0;

before(async () => {
  pg = await startPostgres();
  db = `metron_users_${process.pid}`;
  await pg.createDatabase(db);
  srv = await startServer({ databaseUrl: pg.url(db) });
});

after(async () => {
  const exit = await srv?.stop();
  await destroyChecked(pg);
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer/);
});

const sql = (q) => pg.psql(q, db);

/** A fresh account on "plan" with an admin; trial accounts sign in by e-mail. */
async function account(plan) {
  const n = ++seq;
  if (plan === 'trial') {
    const email = `trial${n}@example.test`;
    const { accountId, userId } = await createAccount(srv.url, {
      plan, email, password: PW, user: email,
    });
    return { id: accountId, userId, admin: await login(srv.url, { email, password: PW }) };
  }
  const acc = `u-${plan}-${n}`;
  const { accountId, userId } = await createAccount(srv.url, {
    account: acc, plan, user: 'admin', password: PW, email: `a${n}@example.test`,
  });
  return {
    id: accountId, userId, login: acc,
    admin: await login(srv.url, { account: acc, user: 'admin', password: PW }),
  };
}

async function member(acc, name = 'member') {
  const { userId } = await createUser(srv.url,
    { accountId: acc.id, user: name, password: PW, role: 'member' });
  return { id: userId, client: await login(srv.url, { account: acc.login, user: name, password: PW }) };
}

/** Seed "n" more rows of "kind" directly (fast), for the limits of large plans. */
async function seed(acc, kind, n) {
  if (n <= 0) return;
  if (kind === 'users') {
    await sql(`INSERT INTO users (account_id, login_id, name, role, password_hash)
      SELECT ${acc.id}, 'seed' || g, 'Seed ' || g, 'member', u.password_hash
      FROM generate_series(1, ${n}) g, (SELECT password_hash FROM users WHERE account_id = ${acc.id} LIMIT 1) u`);
  } else {
    const table = kind === 'teams' ? 'teams' : 'measurement_groups';
    await sql(`INSERT INTO ${table} (account_id, name)
      SELECT ${acc.id}, 'seed ' || g FROM generate_series(1, ${n}) g`);
  }
}

const LIMITS = { // FEATURES P4 users, P5 teams, P6 groups (checked against GET /plans below)
  trial: { users: 1, teams: 0, groups: 1 },
  free: { users: 3, teams: 3, groups: 1 },
  standard: { users: 10, teams: 10, groups: 10 },
  pro: { users: 100, teams: 100, groups: 100 },
};
const QUOTA = { users: 'P4', teams: 'P5', groups: 'P6' };

test('the limits tested here are the plan table of core', async () => {
  const plans = (await request(srv.url, 'GET', '/api/v1/plans')).body.plans;
  for (const p of plans) {
    for (const kind of Object.keys(QUOTA)) {
      assert.equal(p.quotas.find((q) => q.quota === QUOTA[kind]).limit, LIMITS[p.name][kind]);
    }
  }
});

function createBody(kind, i) {
  if (kind === 'users') return { login_id: `new${i}`, name: `New ${i}`, password: PW };
  return { name: `new ${kind} ${i}` };
}

for (const plan of ['trial', 'free', 'standard', 'pro']) {
  for (const kind of ['users', 'teams', 'groups']) {
    test(`${QUOTA[kind]} ${kind} on ${plan}: up to ${LIMITS[plan][kind]}, then plan_limit`, async () => {
      const acc = await account(plan);
      const limit = LIMITS[plan][kind];
      const have = kind === 'users' ? 1 : 0; // the admin
      // Seed all but the last allowed one, create that one over HTTP.
      await seed(acc, kind, limit - have - 1);
      if (limit - have >= 1) {
        const ok = await acc.admin.post(`/api/v1/${kind}`, createBody(kind, 'last'));
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
      }
      const res = await acc.admin.post(`/api/v1/${kind}`, createBody(kind, 'over'));
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.deepEqual(res.body, {
        code: 'plan_limit', quota: QUOTA[kind], limit, plan, message: res.body.message,
      });
      assert.match(res.body.message, new RegExp(`^${QUOTA[kind]} .*limit ${limit} on plan ${plan}`));
      const table = { users: 'users', teams: 'teams', groups: 'measurement_groups' }[kind];
      assert.equal(Number(await sql(`SELECT count(*) FROM ${table} WHERE account_id = ${acc.id}`)), limit);
    });
  }
}

test('parallel creates cannot pass a limit together (account row locked)', async () => {
  const acc = await account('free'); // P4 = 3: the admin + 2 more
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    acc.admin.post('/api/v1/users', { login_id: `par${i}`, name: `P ${i}`, password: PW })));
  const codes = results.map((r) => r.status).sort();
  assert.deepEqual(codes, [201, 201, 403, 403, 403, 403], JSON.stringify(results.map((r) => r.body)));
  assert.equal(Number(await sql(`SELECT count(*) FROM users WHERE account_id = ${acc.id}`)), 3);
  const groups = await Promise.all(Array.from({ length: 4 }, (_, i) =>
    acc.admin.post('/api/v1/groups', { name: `pg${i}` })));
  assert.equal(groups.filter((r) => r.status === 201).length, 1);
});

test('users: create, list, detail, update (role, rights, two-step), delete', async () => {
  const acc = await account('standard');
  let res = await acc.admin.post('/api/v1/users', {
    login_id: 'alice', name: 'Alice', email: 'alice@example.test', role: 'member',
    file_access: 'none', password: PW,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const alice = res.body;
  assert.deepEqual([alice.login_id, alice.role, alice.file_access, alice.two_step],
    ['alice', 'member', 'none', 'off']);
  assert.equal(alice.password_hash, undefined);
  // She can sign in with the password the admin set.
  await login(srv.url, { account: acc.login, user: 'alice', password: PW });
  res = await acc.admin.get('/api/v1/users');
  assert.deepEqual(res.body.users.map((u) => u.login_id), ['admin', 'alice']);
  res = await acc.admin.get(`/api/v1/users/${alice.id}`);
  assert.equal(res.body.email, 'alice@example.test');
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`,
    { name: 'Alice B', file_access: 'edit', two_step: 'email' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual([res.body.name, res.body.file_access, res.body.two_step], ['Alice B', 'edit', 'email']);
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { two_step: 'totp' });
  assert.deepEqual([res.status, res.body.code], [409, 'totp_not_enrolled']);
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { two_step: 'none' });
  assert.equal(res.body.two_step, 'off');
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { role: 'admin' });
  assert.deepEqual([res.body.role, res.body.file_access], ['admin', 'edit']);
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { role: 'member', file_access: 'view' });
  assert.deepEqual([res.body.role, res.body.file_access], ['member', 'view']);
  // Duplicate login, weak password, bad values.
  for (const [body, status, code, field] of [
    [{ login_id: 'alice', name: 'A2', password: PW }, 409, 'login_id_taken', 'login_id'],
    [{ login_id: 'bob', name: 'Bob', password: 'weak' }, 400, 'password_too_short', 'password'],
    [{ login_id: 'bob', name: 'Bob', password: 'Bob-pass-no-digit' }, 400, 'password_no_digit', 'password'],
    [{ login_id: 'bob', name: 'Bob', password: PW, role: 'owner' }, 400, 'invalid_value', 'role'],
    [{ login_id: 'bob', name: 'Bob', password: PW, file_access: 'all' }, 400, 'invalid_value', 'file_access'],
    [{ login_id: 'bob', name: 'Bob', password: PW, email: 'nope' }, 400, 'invalid_value', 'email'],
    [{ login_id: 'bob', name: 'Bob', password: PW, two_step: 'email' }, 400, 'missing', 'email'],
    [{ login_id: 'b o b', name: 'Bob', password: PW }, 400, 'invalid_value', 'login_id'],
    [{ login_id: 'bob', name: 'x'.repeat(101), password: PW }, 400, 'too_long', 'name'],
    [{ login_id: 'bob', name: 'Bob', password: PW, admin: true }, 400, 'unknown_field', 'admin'],
    [{ login_id: 'bob', password: PW }, 400, 'missing', 'name'],
    [{ login_id: 7, name: 'Bob', password: PW }, 400, 'wrong_type', 'login_id'],
  ]) {
    res = await acc.admin.post('/api/v1/users', body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.deepEqual([res.body.code, res.body.field], [code, field], JSON.stringify(body));
  }
  assert.equal(Number(await sql(`SELECT count(*) FROM users WHERE account_id = ${acc.id}`)), 2);
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { disabled: 'yes' });
  assert.deepEqual([res.status, res.body.code], [400, 'wrong_type']);
  res = await acc.admin.patch(`/api/v1/users/${alice.id}`, { password: 'alice' });
  assert.equal(res.status, 400);
  res = await acc.admin.del(`/api/v1/users/${alice.id}`);
  assert.equal(res.status, 200);
  assert.equal((await acc.admin.get(`/api/v1/users/${alice.id}`)).status, 404);
  // Audit entries.
  const audit = (await acc.admin.get('/api/v1/audit')).body.entries.map((e) => e.action);
  for (const a of ['user.create', 'user.update', 'user.delete']) assert.ok(audit.includes(a), a);
});

test('users: not yourself, not the last administrator', async () => {
  const acc = await account('standard');
  let res = await acc.admin.del(`/api/v1/users/${acc.userId}`);
  assert.deepEqual([res.status, res.body.code], [409, 'cannot_delete_self']);
  res = await acc.admin.patch(`/api/v1/users/${acc.userId}`, { role: 'member' });
  assert.deepEqual([res.status, res.body.code], [409, 'last_admin']);
  const b = await acc.admin.post('/api/v1/users',
    { login_id: 'boss2', name: 'Boss 2', role: 'admin', password: PW });
  assert.equal(b.status, 201);
  res = await acc.admin.patch(`/api/v1/users/${acc.userId}`, { disabled: true });
  assert.deepEqual([res.status, res.body.code], [409, 'cannot_change_self']);
  const boss2 = await login(srv.url, { account: acc.login, user: 'boss2', password: PW });
  res = await boss2.patch(`/api/v1/users/${acc.userId}`, { role: 'member' });
  assert.equal(res.status, 200);
  res = await boss2.patch(`/api/v1/users/${b.body.id}`, { role: 'member' });
  assert.equal(res.status, 409);
  assert.equal(Number(await sql(`SELECT count(*) FROM users WHERE account_id = ${acc.id} AND role = 'admin'`)), 1);
});

test('teams: CRUD and members', async () => {
  const acc = await account('standard');
  const m1 = await member(acc, 'm1');
  const m2 = await member(acc, 'm2');
  let res = await acc.admin.post('/api/v1/teams', { name: 'Ops', description: 'Night shift', member_ids: [m1.id] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const team = res.body;
  assert.deepEqual(team.member_ids, [m1.id]);
  res = await acc.admin.post(`/api/v1/teams/${team.id}/members`, { user_id: m2.id });
  assert.deepEqual(res.body.member_ids, [m1.id, m2.id]);
  res = await acc.admin.del(`/api/v1/teams/${team.id}/members/${m1.id}`);
  assert.equal(res.status, 200);
  res = await acc.admin.del(`/api/v1/teams/${team.id}/members/${m1.id}`);
  assert.equal(res.status, 404);
  res = await acc.admin.patch(`/api/v1/teams/${team.id}`, { name: 'Ops 2', member_ids: [m1.id, m2.id] });
  assert.deepEqual([res.body.name, res.body.member_ids], ['Ops 2', [m1.id, m2.id]]);
  assert.deepEqual((await acc.admin.get(`/api/v1/users/${m1.id}`)).body.team_ids, [team.id]);
  res = await acc.admin.patch(`/api/v1/teams/${team.id}`, { member_ids: [m1.id, m1.id] });
  assert.deepEqual([res.status, res.body.code], [400, 'duplicate']);
  res = await acc.admin.patch(`/api/v1/teams/${team.id}`, { member_ids: [999999] });
  assert.equal(res.status, 404);
  res = await acc.admin.post('/api/v1/teams', { name: 'Ops 2' });
  assert.deepEqual([res.status, res.body.code], [409, 'name_taken']);
  res = await acc.admin.get('/api/v1/teams');
  assert.deepEqual(res.body.teams.map((t) => t.name), ['Ops 2']);
  assert.deepEqual((await acc.admin.get(`/api/v1/teams/${team.id}`)).body.member_ids, [m1.id, m2.id]);
  res = await acc.admin.del(`/api/v1/teams/${team.id}`);
  assert.equal(res.status, 200);
  assert.equal((await acc.admin.get(`/api/v1/teams/${team.id}`)).status, 404);
});

test('groups: CRUD, per-user and per-team access; members see only their groups (M1)', async () => {
  const acc = await account('standard');
  const m1 = await member(acc, 'm1');
  const m2 = await member(acc, 'm2');
  const team = (await acc.admin.post('/api/v1/teams', { name: 'T', member_ids: [m2.id] })).body;
  const g1 = (await acc.admin.post('/api/v1/groups', { name: 'Plant 1', description: 'North' })).body;
  const g2 = (await acc.admin.post('/api/v1/groups', { name: 'Plant 2' })).body;
  const g3 = (await acc.admin.post('/api/v1/groups', { name: 'Plant 3' })).body;
  assert.equal(g1.name, 'Plant 1');
  assert.equal(g1.my_access, 'edit');
  let res = await acc.admin.put(`/api/v1/groups/${g1.id}/access`, {
    users: [{ user_id: m1.id, access: 'view' }], teams: [{ team_id: team.id, access: 'edit' }],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(res.body.access, {
    users: [{ user_id: m1.id, access: 'view' }], teams: [{ team_id: team.id, access: 'edit' }],
  });
  await acc.admin.put(`/api/v1/groups/${g2.id}/access`, { users: [{ user_id: m1.id, access: 'edit' }] });
  // m1 sees g1 (view) and g2 (edit); m2 sees g1 through the team.
  res = await m1.client.get('/api/v1/groups');
  assert.deepEqual(res.body.groups.map((g) => [g.name, g.my_access]), [['Plant 1', 'view'], ['Plant 2', 'edit']]);
  res = await m2.client.get('/api/v1/groups');
  assert.deepEqual(res.body.groups.map((g) => [g.name, g.my_access]), [['Plant 1', 'edit']]);
  assert.equal((await m2.client.get(`/api/v1/groups/${g2.id}`)).status, 404);
  assert.equal((await m2.client.get(`/api/v1/groups/${g1.id}`)).body.access, undefined);
  assert.equal((await acc.admin.get('/api/v1/groups')).body.groups.length, 3);
  // Current group (M1).
  res = await m1.client.put('/api/v1/me/group', { group_id: g2.id });
  assert.equal(res.status, 200);
  assert.equal(res.body.group.id, g2.id);
  assert.equal((await m1.client.get('/api/v1/me/group')).body.group.name, 'Plant 2');
  res = await m1.client.put('/api/v1/me/group', { group_id: g3.id });
  assert.equal(res.status, 404);
  assert.equal((await m1.client.get('/api/v1/me/group')).body.group.id, g2.id);
  // Losing access hides the selection.
  await acc.admin.put(`/api/v1/groups/${g2.id}/access`, { users: [] });
  assert.equal((await m1.client.get('/api/v1/me/group')).body.group, null);
  res = await m1.client.put('/api/v1/me/group', { group_id: null });
  assert.equal(res.body.group, null);
  // Bad access bodies.
  for (const body of [{ users: [{ user_id: m1.id, access: 'own' }] }, { users: 'x' },
    { users: [{ user_id: m1.id, access: 'view' }, { user_id: m1.id, access: 'edit' }] },
    { users: [{ user_id: m1.id, access: 'view', extra: 1 }] }, { people: [] }]) {
    res = await acc.admin.put(`/api/v1/groups/${g1.id}/access`, body);
    assert.equal(res.status, 400, JSON.stringify(body));
  }
  assert.equal((await acc.admin.get(`/api/v1/groups/${g1.id}`)).body.access.users.length, 1);
  // Update and delete.
  res = await acc.admin.patch(`/api/v1/groups/${g1.id}`, { name: 'Plant One' });
  assert.equal(res.body.name, 'Plant One');
  res = await acc.admin.patch(`/api/v1/groups/${g1.id}`, { name: 'Plant 3' });
  assert.deepEqual([res.status, res.body.code], [409, 'name_taken']);
  res = await acc.admin.del(`/api/v1/groups/${g3.id}`);
  assert.equal(res.status, 200);
  assert.equal((await acc.admin.get(`/api/v1/groups/${g3.id}`)).status, 404);
  // Members may not administer groups.
  assert.equal((await m1.client.post('/api/v1/groups', { name: 'Mine' })).status, 403);
  assert.equal((await m1.client.patch(`/api/v1/groups/${g1.id}`, { name: 'Mine' })).status, 403);
  assert.equal((await m1.client.del(`/api/v1/groups/${g1.id}`)).status, 403);
});

test('me: own info and update; bad input changes nothing', async () => {
  const acc = await account('free');
  const m = await member(acc, 'mia');
  let res = await m.client.get('/api/v1/me');
  assert.equal(res.status, 200);
  assert.deepEqual([res.body.login_id, res.body.role, res.body.account.login_id, res.body.account.plan],
    ['mia', 'member', acc.login, 'free']);
  res = await m.client.patch('/api/v1/me', { name: 'Mia M', email: 'mia@example.test', language: 'ja', time_zone: 'Asia/Tokyo' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual([res.body.name, res.body.email, res.body.language, res.body.time_zone],
    ['Mia M', 'mia@example.test', 'ja', 'Asia/Tokyo']);
  for (const body of [{ role: 'admin' }, { language: 'klingon' }, { time_zone: 'Nowhere/City' },
    { name: '' }, { email: 'bad' }, { name: 3 }]) {
    res = await m.client.patch('/api/v1/me', body);
    assert.equal(res.status, 400, JSON.stringify(body));
  }
  res = await m.client.get('/api/v1/me');
  assert.deepEqual([res.body.name, res.body.role, res.body.language], ['Mia M', 'member', 'ja']);
  res = await m.client.patch('/api/v1/me', { language: null });
  assert.equal(res.body.language, null);
});

test('me: language_if_unset sets the language only while the profile has none, and its reply says which won', async () => {
  const acc = await account('free');
  const m = await member(acc, 'lena');
  const lang = async () => (await m.client.get('/api/v1/me')).body.language;
  assert.equal(await lang(), null);
  // Refused like "language": one of the seven codes, a sentence otherwise;
  // not with "language" in the same request. Nothing changes.
  for (const body of [{ language_if_unset: 'klingon' }, { language_if_unset: null },
    { language_if_unset: 3 }, { language_if_unset: 'ja'.repeat(50) },
    { language_if_unset: 'ja', language: 'de' }, { language_if_unset: 'ja', language: null }]) {
    const res = await m.client.patch('/api/v1/me', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.message, /'language_if_unset'/, JSON.stringify(res.body));
    assert.match(res.body.message, / /, 'a sentence');
  }
  assert.equal(await lang(), null);
  // Set when unset: the reply and the next GET /me (its remembered reply
  // ends with the change) say so.
  let res = await m.client.patch('/api/v1/me', { language_if_unset: 'ja' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.language, 'ja');
  assert.equal(await lang(), 'ja');
  // Not set over a language the profile has: the reply says the one kept.
  res = await m.client.patch('/api/v1/me', { language: 'fr' });
  assert.equal(res.body.language, 'fr');
  assert.equal(await lang(), 'fr');
  res = await m.client.patch('/api/v1/me', { language_if_unset: 'de', name: 'Lena L' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual([res.body.language, res.body.name], ['fr', 'Lena L']);
  assert.equal(await lang(), 'fr');
  assert.equal(await sql(`SELECT language FROM users WHERE id = ${m.id}`), 'fr');
});

test('me: an explicit language and a concurrent language_if_unset end with the explicit one, whichever commits first', async () => {
  const acc = await account('free');
  const m = await member(acc, 'kai');
  // A second session of the same user: the other tab.
  const tab = await login(srv.url, { account: acc.login, user: 'kai', password: PW });
  const waiting = async (text) => Number(await sql(`SELECT count(*) FROM pg_stat_activity
    WHERE wait_event_type = 'Lock' AND query LIKE '%${text}%'`));
  const IF_UNSET = 'language IS NULL';
  const EXPLICIT = 'language = CASE WHEN';
  // Both requests are held on the user's row (locked here) until both are
  // waiting, in the order sent; the one sent first then commits first.
  for (const explicitFirst of [true, false]) {
    assert.equal((await m.client.patch('/api/v1/me', { language: null })).body.language, null);
    const lock = psqlSession(pg, db, `BEGIN; SELECT 1 FROM users WHERE id = ${m.id} FOR UPDATE;\n`);
    await pollUntil(() => lock.out().includes('1'), 'the row lock');
    const send = {
      explicit: () => tab.patch('/api/v1/me', { language: 'de' }),
      ifUnset: () => m.client.patch('/api/v1/me', { language_if_unset: 'ja' }),
    };
    const order = explicitFirst ? ['explicit', 'ifUnset'] : ['ifUnset', 'explicit'];
    const text = { explicit: EXPLICIT, ifUnset: IF_UNSET };
    const replies = {};
    replies[order[0]] = send[order[0]]();
    await pollUntil(async () => await waiting(text[order[0]]) === 1, `${order[0]} waiting`);
    replies[order[1]] = send[order[1]]();
    await pollUntil(async () => await waiting(text[order[1]]) === 1, `${order[1]} waiting`);
    await lock.end('COMMIT;\n');
    const [ex, iu] = await Promise.all([replies.explicit, replies.ifUnset]);
    assert.equal(ex.status, 200, JSON.stringify(ex.body));
    assert.equal(iu.status, 200, JSON.stringify(iu.body));
    assert.equal(ex.body.language, 'de');
    // The if-unset that waited for the explicit choice saw it and says so.
    if (explicitFirst) assert.equal(iu.body.language, 'de', 'the if-unset reply names the winner');
    assert.equal(await sql(`SELECT language FROM users WHERE id = ${m.id}`), 'de');
    for (const c of [m.client, tab]) {
      assert.equal((await c.get('/api/v1/me')).body.language, 'de');
    }
  }
  // And at once, many times, without a lock to order them.
  for (let i = 0; i < 10; i++) {
    assert.equal((await m.client.patch('/api/v1/me', { language: null })).body.language, null);
    const [ex, iu] = await Promise.all([tab.patch('/api/v1/me', { language: 'it' }),
      m.client.patch('/api/v1/me', { language_if_unset: 'es' })]);
    assert.deepEqual([ex.status, iu.status], [200, 200]);
    assert.equal(await sql(`SELECT language FROM users WHERE id = ${m.id}`), 'it');
    assert.equal((await m.client.get('/api/v1/me')).body.language, 'it');
  }
});

test('members are refused on every administrator route (403) and nothing changes', async () => {
  const acc = await account('standard');
  const m = await member(acc);
  const team = (await acc.admin.post('/api/v1/teams', { name: 'T' })).body;
  const g = (await acc.admin.post('/api/v1/groups', { name: 'G' })).body;
  const routes = [
    ['get', '/api/v1/users'], ['post', '/api/v1/users', { login_id: 'x', name: 'x', password: PW }],
    ['get', `/api/v1/users/${acc.userId}`], ['patch', `/api/v1/users/${acc.userId}`, { name: 'x' }],
    ['del', `/api/v1/users/${acc.userId}`],
    ['get', '/api/v1/teams'], ['post', '/api/v1/teams', { name: 'x' }],
    ['get', `/api/v1/teams/${team.id}`], ['patch', `/api/v1/teams/${team.id}`, { name: 'x' }],
    ['del', `/api/v1/teams/${team.id}`], ['post', `/api/v1/teams/${team.id}/members`, { user_id: m.id }],
    ['del', `/api/v1/teams/${team.id}/members/${m.id}`],
    ['post', '/api/v1/groups', { name: 'x' }], ['patch', `/api/v1/groups/${g.id}`, { name: 'x' }],
    ['del', `/api/v1/groups/${g.id}`], ['put', `/api/v1/groups/${g.id}/access`, { users: [] }],
  ];
  for (const [method, p, body] of routes) {
    const res = await m.client[method](p, body);
    assert.equal(res.status, 403, `${method} ${p}`);
  }
  assert.equal((await acc.admin.get(`/api/v1/teams/${team.id}`)).body.name, 'T');
  assert.equal((await acc.admin.get(`/api/v1/groups/${g.id}`)).body.name, 'G');
  assert.equal((await acc.admin.get('/api/v1/users')).body.users.length, 2);
});

test('tenant isolation: ids of another account answer 404, lists never include them', async () => {
  const a = await account('pro');
  const b = await account('pro');
  const bm = await member(b, 'bm');
  const bTeam = (await b.admin.post('/api/v1/teams', { name: 'B team', member_ids: [bm.id] })).body;
  const bGroup = (await b.admin.post('/api/v1/groups', { name: 'B group' })).body;
  const aUser = (await a.admin.post('/api/v1/users', { login_id: 'au', name: 'AU', password: PW })).body;
  const aTeam = (await a.admin.post('/api/v1/teams', { name: 'A team' })).body;
  const aGroup = (await a.admin.post('/api/v1/groups', { name: 'A group' })).body;
  const probes = [
    ['get', `/api/v1/users/${bm.id}`], ['patch', `/api/v1/users/${bm.id}`, { name: 'pwned' }],
    ['del', `/api/v1/users/${bm.id}`],
    ['get', `/api/v1/teams/${bTeam.id}`], ['patch', `/api/v1/teams/${bTeam.id}`, { name: 'pwned' }],
    ['del', `/api/v1/teams/${bTeam.id}`],
    ['post', `/api/v1/teams/${bTeam.id}/members`, { user_id: aUser.id }],
    ['del', `/api/v1/teams/${bTeam.id}/members/${bm.id}`],
    ['post', `/api/v1/teams/${aTeam.id}/members`, { user_id: bm.id }],
    ['patch', `/api/v1/teams/${aTeam.id}`, { member_ids: [bm.id] }],
    ['post', '/api/v1/teams', { name: 'x', member_ids: [bm.id] }],
    ['get', `/api/v1/groups/${bGroup.id}`], ['patch', `/api/v1/groups/${bGroup.id}`, { name: 'pwned' }],
    ['del', `/api/v1/groups/${bGroup.id}`], ['put', `/api/v1/groups/${bGroup.id}/access`, { users: [] }],
    ['put', `/api/v1/groups/${aGroup.id}/access`, { users: [{ user_id: bm.id, access: 'view' }] }],
    ['put', `/api/v1/groups/${aGroup.id}/access`, { teams: [{ team_id: bTeam.id, access: 'view' }] }],
    ['put', '/api/v1/me/group', { group_id: bGroup.id }],
  ];
  for (const [method, p, body] of probes) {
    const res = await a.admin[method](p, body);
    assert.equal(res.status, 404, `${method} ${p} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'not_found');
  }
  // Nothing of B changed, nothing of B leaked into A's lists.
  assert.equal((await b.admin.get(`/api/v1/users/${bm.id}`)).body.name, 'bm');
  assert.deepEqual((await b.admin.get(`/api/v1/teams/${bTeam.id}`)).body.member_ids, [bm.id]);
  assert.equal((await b.admin.get(`/api/v1/groups/${bGroup.id}`)).body.name, 'B group');
  const ids = (r) => JSON.stringify(r.body);
  const lists = [await a.admin.get('/api/v1/users'), await a.admin.get('/api/v1/teams'),
    await a.admin.get('/api/v1/groups'), await a.admin.get('/api/v1/account'), await a.admin.get('/api/v1/me')];
  for (const l of lists) {
    assert.doesNotMatch(ids(l), /B team|B group|"bm"/);
  }
  assert.deepEqual((await a.admin.get('/api/v1/users')).body.users.map((u) => u.login_id), ['admin', 'au']);
  assert.deepEqual((await a.admin.get('/api/v1/teams')).body.teams.map((t) => t.name), ['A team']);
  assert.deepEqual((await a.admin.get('/api/v1/groups')).body.groups.map((g) => g.name), ['A group']);
  // Malformed ids are 404 too.
  for (const p of ['/api/v1/users/abc', '/api/v1/users/0', '/api/v1/users/-1', '/api/v1/teams/1e3',
    '/api/v1/groups/99999999999999999999']) {
    assert.equal((await a.admin.get(p)).status, 404, p);
  }
});
