// Administration API part A: the account (L7), plan table (P), quotation
// requests, plan change (L2), trial creation and upgrade (L4). One cluster
// and one server for the file; every test makes its own accounts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, createAccount, createUser, login, request, setClock, startPostgres, startServer,
} from './harness.mjs';

const PW = 'Secret-pass1';
let pg;
let srv;
let db;
let seq = 0;

before(async () => {
  pg = await startPostgres();
  db = `metron_acct_${process.pid}`;
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
const DAY = 86400;
const todayStart = () => Math.floor(Date.now() / 1000 / DAY) * DAY;
const isoDay = (unixS) => new Date(unixS * 1000).toISOString().slice(0, 10);

/** A fresh account on "plan" with an admin; { id, admin (client), login }. */
async function account(plan, opts = {}) {
  const login_ = `acct-${plan}-${++seq}`;
  const { accountId, userId } = await createAccount(srv.url, {
    account: login_, plan, user: 'admin', password: PW, email: `admin${seq}@example.test`,
    ...opts,
  });
  const admin = await login(srv.url, { account: login_, user: 'admin', password: PW });
  return { id: accountId, userId, admin, login: login_ };
}

async function member(acc) {
  await createUser(srv.url, { accountId: acc.id, user: 'member', password: PW, role: 'member' });
  return login(srv.url, { account: acc.login, user: 'member', password: PW });
}

test('GET /plans is public and is the plan table of core (P1-P25)', async () => {
  const res = await request(srv.url, 'GET', '/api/v1/plans');
  assert.equal(res.status, 200);
  const plans = Object.fromEntries(res.body.plans.map((p) => [p.name, p]));
  assert.deepEqual(Object.keys(plans), ['trial', 'free', 'standard', 'pro']);
  const q = (p, id) => plans[p].quotas.find((x) => x.quota === id);
  assert.equal(plans.free.quotas.length, 25);
  assert.deepEqual([q('trial', 'P4').limit, q('free', 'P4').limit, q('standard', 'P4').limit,
    q('pro', 'P4').limit], [1, 3, 10, 100]);
  assert.equal(q('free', 'P2').limit, 5e9);
  assert.equal(q('trial', 'P11').available, false);
  assert.equal(q('pro', 'P20').access, 'full');
  assert.equal(q('standard', 'P20').access, 'none');
  assert.deepEqual(q('standard', 'P25').terms_months, [1, 3, 12]);
  assert.deepEqual(q('free', 'P25').terms_months, []);
});

test('GET /account: plan, licence, usage against the quotas; subscriber for admins only', async () => {
  const acc = await account('standard', { licenceExpires: todayStart() + 100 * DAY });
  const res = await acc.admin.get('/api/v1/account');
  assert.equal(res.status, 200);
  const a = res.body;
  assert.equal(a.id, acc.id);
  assert.equal(a.plan, 'standard');
  assert.equal(a.effective_plan, 'standard');
  assert.equal(a.licence_expiry, isoDay(todayStart() + 100 * DAY));
  assert.equal(a.plan_changed_at, null);
  assert.equal(a.next_plan_change, null);
  assert.equal(typeof a.subscriber, 'object');
  const u = Object.fromEntries(a.usage.map((x) => [x.quota, x]));
  assert.deepEqual(Object.keys(u), ['P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8']);
  assert.deepEqual([u.P4.used, u.P4.limit], [1, 10]);
  assert.deepEqual([u.P6.used, u.P6.limit], [0, 10]);
  assert.equal(u.P2.limit, 50e9);
  const m = await member(acc);
  const mres = await m.get('/api/v1/account');
  assert.equal(mres.status, 200);
  assert.equal(mres.body.subscriber, undefined);
  assert.equal(mres.body.id, acc.id);
});

test('a lapsed licence is free in effect (L3): usage limits follow the effective plan', async () => {
  const acc = await account('pro', { licenceExpires: todayStart() - 2 * DAY });
  const a = (await acc.admin.get('/api/v1/account')).body;
  assert.equal(a.plan, 'pro');
  assert.equal(a.effective_plan, 'free');
  assert.equal(a.usage.find((x) => x.quota === 'P4').limit, 3);
});

test('PATCH /account edits account and subscriber data; bad input changes nothing', async () => {
  const acc = await account('free');
  const ok = await acc.admin.patch('/api/v1/account', {
    name: 'Acme Labs', time_zone: 'Asia/Shanghai', language: 'zh-CN',
    subscriber: { company: 'Acme', name: 'Ann', email: 'ann@acme.test', phone: '+86 1',
      address: 'Road 1', country: 'CN' },
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.name, 'Acme Labs');
  assert.equal(ok.body.time_zone, 'Asia/Shanghai');
  assert.equal(ok.body.language, 'zh-CN');
  assert.equal(ok.body.subscriber.company, 'Acme');
  const bad = [
    [{ time_zone: 'Mars/Olympus' }, 400, 'invalid_value', 'time_zone'],
    [{ language: 'xx' }, 400, 'invalid_value', 'language'],
    [{ name: '' }, 400, 'invalid_value', 'name'],
    [{ name: 7 }, 400, 'wrong_type', 'name'],
    [{ name: 'x'.repeat(201) }, 400, 'too_long', 'name'],
    [{ plan: 'pro' }, 400, 'unknown_field', 'plan'],
    [{ subscriber: { company: 'x', shoe: 1 } }, 400, 'unknown_field', 'subscriber'],
    [{ subscriber: 'x' }, 400, 'wrong_type', 'subscriber'],
    [{ alt_login_id: 'Bad ID' }, 400, 'invalid_value', 'alt_login_id'],
  ];
  for (const [body, status, code, field] of bad) {
    const res = await acc.admin.patch('/api/v1/account', body);
    assert.equal(res.status, status, JSON.stringify(body));
    assert.equal(res.body.code, code, JSON.stringify(body));
    assert.equal(res.body.field, field, JSON.stringify(body));
  }
  const raw = await acc.admin.patch('/api/v1/account', '{"name": "x",,}');
  assert.equal(raw.status, 400);
  assert.equal(raw.body.code, 'malformed_json');
  const after_ = (await acc.admin.get('/api/v1/account')).body;
  assert.equal(after_.name, 'Acme Labs');
  assert.equal(after_.subscriber.company, 'Acme');
  // Members may not.
  const m = await member(acc);
  const res = await m.patch('/api/v1/account', { name: 'Hijack' });
  assert.equal(res.status, 403);
  assert.equal((await acc.admin.get('/api/v1/account')).body.name, 'Acme Labs');
});

test('alternative login ID is Pro only (P23)', async () => {
  const free = await account('free');
  const res = await free.admin.patch('/api/v1/account', { alt_login_id: 'free-alt' });
  assert.equal(res.status, 403);
  assert.deepEqual([res.body.code, res.body.quota, res.body.plan], ['plan_limit', 'P23', 'free']);
  const pro = await account('pro');
  const ok = await pro.admin.patch('/api/v1/account', { alt_login_id: `alt-${pro.login}` });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.alt_login_id, `alt-${pro.login}`);
  const taken = await free.admin.patch('/api/v1/account', { alt_login_id: null });
  assert.equal(taken.status, 200);
  const pro2 = await account('pro');
  const dup = await pro2.admin.patch('/api/v1/account', { alt_login_id: `alt-${pro.login}` });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.code, 'alt_login_id_taken');
  const clear = await pro.admin.patch('/api/v1/account', { alt_login_id: null });
  assert.equal(clear.body.alt_login_id, null);
});

test('quotation requests are stored and listed; plan and term are checked (P25)', async () => {
  const acc = await account('free');
  const res = await acc.admin.post('/api/v1/account/quotation',
    { plan: 'pro', months: 12, note: 'for 3 sites' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual([res.body.plan, res.body.months, res.body.note], ['pro', 12, 'for 3 sites']);
  for (const [body, code, field] of [
    [{ plan: 'pro', months: 2 }, 'invalid_term', 'months'],
    [{ plan: 'free', months: 1 }, 'invalid_value', 'plan'],
    [{ plan: 'gold', months: 1 }, 'invalid_value', 'plan'],
    [{ plan: 'pro' }, 'missing', 'months'],
    [{ plan: 'pro', months: '12' }, 'wrong_type', 'months'],
    [{ plan: 'pro', months: 12, extra: 1 }, 'unknown_field', 'extra'],
  ]) {
    const bad = await acc.admin.post('/api/v1/account/quotation', body);
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.deepEqual([bad.body.code, bad.body.field], [code, field], JSON.stringify(body));
  }
  const list = await acc.admin.get('/api/v1/account/quotation');
  assert.equal(list.status, 200);
  assert.equal(list.body.quotations.length, 1);
  const other = await account('free');
  assert.equal((await other.admin.get('/api/v1/account/quotation')).body.quotations.length, 0);
  assert.equal(Number(await sql(`SELECT count(*) FROM quotation_requests WHERE account_id = ${acc.id}`)), 1);
  const m = await member(acc);
  assert.equal((await m.post('/api/v1/account/quotation', { plan: 'pro', months: 1 })).status, 403);
});

test('free -> standard needs a licence term (P25) and records the change (L2)', async () => {
  const acc = await account('free');
  let res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard' });
  assert.equal(res.status, 400);
  assert.deepEqual([res.body.code, res.body.field], ['missing', 'months']);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard', months: 2 });
  assert.deepEqual([res.status, res.body.code], [400, 'invalid_term']);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'trial' });
  assert.deepEqual([res.status, res.body.field], [400, 'plan']);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'free' });
  assert.deepEqual([res.status, res.body.code], [409, 'same_plan']);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard', months: 3 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.plan, 'standard');
  assert.equal(res.body.licence_term_months, 3);
  const t = new Date();
  const exp = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 3, 1));
  const dim = new Date(Date.UTC(exp.getUTCFullYear(), exp.getUTCMonth() + 1, 0)).getUTCDate();
  exp.setUTCDate(Math.min(t.getUTCDate(), dim));
  assert.equal(res.body.licence_expiry, exp.toISOString().slice(0, 10));
  assert.ok(res.body.plan_changed_at);
  assert.ok(res.body.next_plan_change);
  // L2: a second change in the same month is refused with the date.
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'pro' });
  assert.equal(res.status, 409);
  assert.equal(res.body.code, 'plan_change_too_soon');
  assert.equal(res.body.next_allowed, (await acc.admin.get('/api/v1/account')).body.next_plan_change);
  assert.equal((await acc.admin.get('/api/v1/account')).body.plan, 'standard');
  // The audit log has the change.
  const audit = await acc.admin.get('/api/v1/audit');
  assert.equal(audit.status, 200);
  assert.ok(audit.body.entries.some((e) => e.action === 'account.plan_change'), JSON.stringify(audit.body));
});

test('plan change once a month, with the test clock: allowed again one month later', async () => {
  const acc = await account('free');
  let res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard', months: 12 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const next = res.body.next_plan_change;
  try {
    // The day before the next allowed date: refused.
    const nextS = Date.parse(`${next}T00:00:00Z`) / 1000;
    await setClock(srv.url, nextS - DAY + 3600 - Math.floor(Date.now() / 1000));
    let a = await login(srv.url, { account: acc.login, user: 'admin', password: PW });
    res = await a.post('/api/v1/account/plan', { plan: 'pro' });
    assert.deepEqual([res.status, res.body.code], [409, 'plan_change_too_soon']);
    // On the date: allowed (Standard -> Pro converts the remaining days).
    await setClock(srv.url, nextS + 3600 - Math.floor(Date.now() / 1000));
    a = await login(srv.url, { account: acc.login, user: 'admin', password: PW });
    res = await a.post('/api/v1/account/plan', { plan: 'pro' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.plan, 'pro');
    assert.ok(res.body.conversion);
  } finally {
    await setClock(srv.url, 0);
  }
});

test('Standard 365 days <-> Pro 73 days through the API (L2)', async () => {
  const acc = await account('standard', { licenceExpires: todayStart() + 365 * DAY });
  let res = await acc.admin.post('/api/v1/account/plan', { plan: 'pro' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.plan, 'pro');
  assert.equal(res.body.conversion.days, 73);
  assert.equal(res.body.conversion.dropped, 0);
  assert.equal(res.body.licence_expiry, isoDay(todayStart() + 73 * DAY));
  assert.equal(res.body.licence_term_months, 12);
  // A month later (seeded: the last change 40 days ago), back to Standard.
  await sql(`UPDATE accounts SET plan_changed_at = now() - interval '40 days' WHERE id = ${acc.id}`);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.conversion.days, 365);
  assert.equal(res.body.licence_expiry, isoDay(todayStart() + 365 * DAY));
  // months cannot be given for a conversion.
  await sql(`UPDATE accounts SET plan_changed_at = now() - interval '40 days' WHERE id = ${acc.id}`);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'pro', months: 1 });
  assert.deepEqual([res.status, res.body.code], [400, 'invalid_term']);
});

test('Pro -> Standard is capped at 13 months, the excess dropped (L2)', async () => {
  const acc = await account('pro', { licenceExpires: todayStart() + 100 * DAY });
  const res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.conversion.days, res.body.conversion.cap_days);
  assert.equal(res.body.conversion.dropped, 500 - res.body.conversion.cap_days);
  assert.ok(res.body.conversion.cap_days >= 393 && res.body.conversion.cap_days <= 397);
});

test('a downgrade the data does not fit is refused naming the quota; nothing changes', async () => {
  const acc = await account('pro');
  for (let i = 0; i < 3; i++) {
    await createUser(srv.url, { accountId: acc.id, user: `u${i}`, password: PW, role: 'member' });
  }
  let res = await acc.admin.post('/api/v1/account/plan', { plan: 'free' });
  assert.equal(res.status, 403);
  assert.deepEqual([res.body.code, res.body.quota, res.body.limit, res.body.plan],
    ['plan_limit', 'P4', 3, 'free']);
  assert.match(res.body.message, /P4/);
  let a = (await acc.admin.get('/api/v1/account')).body;
  assert.equal(a.plan, 'pro');
  assert.equal(a.plan_changed_at, null);
  // Groups: 2 > Free's 1 (P6).
  await sql(`DELETE FROM users WHERE account_id = ${acc.id} AND login_id <> 'admin'`);
  await sql(`INSERT INTO measurement_groups (account_id, name) VALUES (${acc.id}, 'g1'), (${acc.id}, 'g2')`);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'free' });
  assert.deepEqual([res.status, res.body.quota, res.body.limit], [403, 'P6', 1]);
  // Alternative login ID in use: P23.
  await sql(`DELETE FROM measurement_groups WHERE account_id = ${acc.id} AND name = 'g2'`);
  await sql(`UPDATE accounts SET alt_login_id = 'alt-${acc.login}' WHERE id = ${acc.id}`);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'standard' });
  assert.deepEqual([res.status, res.body.quota], [403, 'P23']);
  await sql(`UPDATE accounts SET alt_login_id = NULL WHERE id = ${acc.id}`);
  res = await acc.admin.post('/api/v1/account/plan', { plan: 'free' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  a = res.body;
  assert.deepEqual([a.plan, a.licence_expiry, a.licence_term_months], ['free', null, null]);
});

test('members cannot change plan, upgrade or read quotations (403)', async () => {
  const acc = await account('free');
  const m = await member(acc);
  for (const [method, p, body] of [
    ['post', '/api/v1/account/plan', { plan: 'standard', months: 1 }],
    ['post', '/api/v1/account/upgrade', { plan: 'free', login_id: 'zzz' }],
    ['get', '/api/v1/account/quotation'],
  ]) {
    const res = await m[method](p, body);
    assert.equal(res.status, 403, p);
  }
  assert.equal((await acc.admin.get('/api/v1/account')).body.plan, 'free');
});

test('POST /trial creates a trial account and its user; login by e-mail; 93 days (L4)', async () => {
  const email = `trial${++seq}@example.test`;
  const before_ = Date.now();
  const res = await request(srv.url, 'POST', '/api/v1/trial', { body: { email, password: PW } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.plan, 'trial');
  const exp = Date.parse(res.body.trial_expires_at);
  assert.ok(Math.abs(exp - before_ - 93 * DAY * 1000) < 5000, res.body.trial_expires_at);
  const t = await login(srv.url, { email, password: PW });
  const a = (await t.get('/api/v1/account')).body;
  assert.equal(a.plan, 'trial');
  assert.equal(a.login_id, null);
  assert.equal(a.trial_expires_at, res.body.trial_expires_at);
  assert.equal(a.usage.find((x) => x.quota === 'P4').limit, 1);
  const me = (await t.get('/api/v1/me')).body;
  assert.equal(me.email, email);
  assert.equal(me.role, 'admin');
  // A trial changes plan only through upgrade.
  const pc = await t.post('/api/v1/account/plan', { plan: 'free' });
  assert.deepEqual([pc.status, pc.body.code], [409, 'trial_upgrade_required']);
  // The same e-mail again: 409; invalid input: 400 and nothing created.
  const n0 = await sql('SELECT count(*) FROM accounts');
  const dup = await request(srv.url, 'POST', '/api/v1/trial', { body: { email, password: PW } });
  assert.deepEqual([dup.status, dup.body.code], [409, 'email_taken']);
  for (const [body, code, field] of [
    [{ email: 'not-an-email', password: PW }, 'invalid_value', 'email'],
    [{ email: 'x@y.test', password: 'short1A' }, 'password_too_short', 'password'],
    [{ email: 'x@y.test', password: 'alllowercase1' }, 'password_no_upper', 'password'],
    [{ email: 'x@y.test' }, 'missing', 'password'],
    [{ email: 'x@y.test', password: PW, plan: 'pro' }, 'unknown_field', 'plan'],
    [{ email: 5, password: PW }, 'wrong_type', 'email'],
  ]) {
    const bad = await request(srv.url, 'POST', '/api/v1/trial', { body });
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.deepEqual([bad.body.code, bad.body.field], [code, field], JSON.stringify(body));
  }
  assert.equal(await sql('SELECT count(*) FROM accounts'), n0);
});

test('trial creation is throttled per client address (429)', async () => {
  const from = '127.0.0.9';
  let last;
  for (let i = 0; i < 12; i++) {
    last = await request(srv.url, 'POST', '/api/v1/trial',
      { body: { email: `flood${i}-${++seq}@example.test`, password: PW }, localAddress: from });
    if (last.status === 429) break;
    assert.equal(last.status, 201);
  }
  assert.equal(last.status, 429);
  assert.equal(last.body.code, 'too_many_requests');
  const other = await request(srv.url, 'POST', '/api/v1/trial',
    { body: { email: `calm-${++seq}@example.test`, password: PW }, localAddress: '127.0.0.10' });
  assert.equal(other.status, 201);
});

test('upgrade a trial to Standard keeps its data; then account login works', async () => {
  const email = `up${++seq}@example.test`;
  const created = await request(srv.url, 'POST', '/api/v1/trial', { body: { email, password: PW } });
  assert.equal(created.status, 201);
  const t = await login(srv.url, { email, password: PW });
  const g = await t.post('/api/v1/groups', { name: 'Site A' });
  assert.equal(g.status, 201, JSON.stringify(g.body));
  let res = await t.post('/api/v1/account/upgrade', { plan: 'standard', login_id: 'UPPER' });
  assert.deepEqual([res.status, res.body.field], [400, 'login_id']);
  res = await t.post('/api/v1/account/upgrade', { plan: 'standard', login_id: `up-${seq}` });
  assert.deepEqual([res.status, res.body.field], [400, 'months']);
  const acc = await account('free');
  res = await t.post('/api/v1/account/upgrade', { plan: 'standard', login_id: acc.login, months: 1 });
  assert.deepEqual([res.status, res.body.code], [409, 'login_id_taken']);
  res = await t.post('/api/v1/account/upgrade', { plan: 'standard', login_id: `up-${seq}`, months: 1 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual([res.body.plan, res.body.login_id, res.body.trial_expires_at, res.body.licence_term_months],
    ['standard', `up-${seq}`, null, 1]);
  // The data stays; the user now signs in with account + user ID.
  const a = await login(srv.url, { account: `up-${seq}`, user: email, password: PW });
  const groups = (await a.get('/api/v1/groups')).body.groups;
  assert.deepEqual(groups.map((x) => x.name), ['Site A']);
  // Upgrading again: not a trial.
  res = await a.post('/api/v1/account/upgrade', { plan: 'pro', login_id: 'whatever', months: 1 });
  assert.deepEqual([res.status, res.body.code], [409, 'not_a_trial']);
});

test('upgrade a trial to free', async () => {
  const email = `upf${++seq}@example.test`;
  await request(srv.url, 'POST', '/api/v1/trial', { body: { email, password: PW } });
  const t = await login(srv.url, { email, password: PW });
  let res = await t.post('/api/v1/account/upgrade', { plan: 'free', login_id: `upf-${seq}`, months: 1 });
  assert.deepEqual([res.status, res.body.code], [400, 'invalid_term']);
  res = await t.post('/api/v1/account/upgrade', { plan: 'free', login_id: `upf-${seq}` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual([res.body.plan, res.body.licence_expiry], ['free', null]);
});

test('account routes need a session (401)', async () => {
  for (const [m, p] of [['GET', '/api/v1/account'], ['PATCH', '/api/v1/account'],
    ['POST', '/api/v1/account/plan'], ['POST', '/api/v1/account/upgrade'],
    ['GET', '/api/v1/account/quotation'], ['POST', '/api/v1/account/quotation']]) {
    const res = await request(srv.url, m, p, { body: m === 'GET' ? undefined : {} });
    assert.equal(res.status, 401, `${m} ${p}`);
  }
});
