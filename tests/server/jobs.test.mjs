// Background jobs (server/jobs.c): expired sessions, e-mailed codes, reset
// links, API tokens, login-throttle rows and console resume tokens are
// swept, and trial accounts are deleted with all their data when their
// trial ends (L4). The jobs run
// on demand through POST /api/v1/test/jobs at the test clock; a second
// server shows the thread running them by itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createAccount, login, request, setClock, sleep, startServer, tokenClient, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
let url;
const PW = 'Correct-h0rse';
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));
const DAY = 86400;

before(async () => {
  // The thread stays off here: every round is one the test asks for.
  ({ pg, srv, db, url } = await startStack({ args: ['--jobs-interval', '0'] }));
});

after(() => stopStack({ pg, srv }));

/** Run the jobs (or one) now; returns { name: done }. */
async function runJobs(job) {
  const r = await request(srv.url, 'POST', `/api/v1/test/jobs${job ? `?job=${job}` : ''}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const done = {};
  for (const j of r.body.jobs) {
    assert.equal(j.ok, true, JSON.stringify(j));
    done[j.name] = j.done;
  }
  return done;
}

async function account(plan = 'pro') {
  const acc = uniq('acc');
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  return { ...ids, account: acc };
}

const signIn = (a) => login(srv.url, { account: a.account, user: 'admin', password: PW });
const randomHash = "sha256(convert_to(random()::text || clock_timestamp()::text, 'UTF8'))";

test('the job route runs every job in order, or the one named; an unknown name is 400',
  async () => {
    let r = await request(srv.url, 'POST', '/api/v1/test/jobs');
    assert.equal(r.status, 200);
    // The sign-in and trial jobs first, in this order; jobs other areas add
    // to the table follow (data_retention, drive, exports, ...).
    assert.deepEqual(r.body.jobs.map((j) => j.name).slice(0, 6), ['sessions', 'email_codes',
      'password_resets', 'api_tokens', 'login_throttle', 'trial_accounts']);
    assert.ok(r.body.jobs.every((j) => j.ok && j.done >= 0 && j.ms >= 0), JSON.stringify(r.body));
    assert.ok(Math.abs(r.body.now - Date.now() / 1000) < 60);
    r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=sessions');
    assert.deepEqual(r.body.jobs.map((j) => j.name), ['sessions']);
    r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=nope');
    assert.equal(r.status, 400);
  });

test('sessions idle past 24 h are deleted; live ones stay', async () => {
  const a = await account('standard');
  try {
    await signIn(a);
    await signIn(a);
    assert.equal(await count(`SELECT count(*) FROM sessions WHERE account_id = ${a.accountId}`), 2);
    let done = await runJobs('sessions');
    assert.equal(await count(`SELECT count(*) FROM sessions WHERE account_id = ${a.accountId}`), 2);
    await setClock(srv.url, DAY + 61);
    const fresh = await signIn(a);
    done = await runJobs('sessions');
    assert.ok(done.sessions >= 2, JSON.stringify(done));
    assert.equal(await count(`SELECT count(*) FROM sessions WHERE account_id = ${a.accountId}`), 1);
    assert.equal((await fresh.get('/api/v1/auth/session')).status, 200);
  } finally {
    await setClock(srv.url, 0);
  }
});

test('e-mailed codes and reset links past their expiry are deleted, live ones stay', async () => {
  const a = await account('free');
  const ins = (table, extra, expires) => sql(`INSERT INTO ${table} (account_id, user_id,
    ${extra ? 'purpose, code_hash' : 'token_hash'}, expires_at) VALUES (${a.accountId},
    ${a.userId}, ${extra ? `'login', ${randomHash}` : randomHash}, now() + interval '${expires}')`);
  await ins('email_codes', true, '-1 second');
  await ins('email_codes', true, '10 minutes');
  await ins('password_resets', false, '-1 second');
  await ins('password_resets', false, '30 minutes');
  const done = await runJobs();
  assert.ok(done.email_codes >= 1 && done.password_resets >= 1, JSON.stringify(done));
  assert.equal(await count(`SELECT count(*) FROM email_codes WHERE account_id = ${a.accountId}`), 1);
  assert.equal(await count(`SELECT count(*) FROM password_resets
    WHERE account_id = ${a.accountId}`), 1);
  try {
    await setClock(srv.url, 31 * 60);
    await runJobs();
    assert.equal(await count(`SELECT count(*) FROM email_codes
      WHERE account_id = ${a.accountId}`), 0);
    assert.equal(await count(`SELECT count(*) FROM password_resets
      WHERE account_id = ${a.accountId}`), 0);
  } finally {
    await setClock(srv.url, 0);
  }
});

test('revoked and expired API tokens are deleted', async () => {
  const a = await account('pro');
  const c = await signIn(a);
  const tokens = [];
  for (let i = 0; i < 3; i++) {
    const r = await request(srv.url, 'POST', '/api/v1/auth/token',
      { body: { account: a.account, user: 'admin', password: PW } });
    tokens.push(r.body.token);
  }
  const ids = (await c.get('/api/v1/me/tokens')).body.items.map((k) => k.id);
  assert.equal((await c.del(`/api/v1/me/tokens/${ids[0]}`)).status, 200);
  await runJobs('api_tokens');
  assert.equal(await count(`SELECT count(*) FROM api_tokens WHERE account_id = ${a.accountId}`), 2);
  try {
    await setClock(srv.url, 31 * DAY);
    await runJobs('api_tokens');
    assert.equal(await count(`SELECT count(*) FROM api_tokens
      WHERE account_id = ${a.accountId}`), 0);
  } finally {
    await setClock(srv.url, 0);
  }
  assert.equal((await tokenClient(srv.url, tokens[2]).get('/api/v1/auth/session')).status, 401);
});

test('login-throttle rows go an hour after their last failure, not while locked', async () => {
  const a = await account('standard');
  // Failures count against the resolved user (issue #11 item 5).
  const key = `user:${a.userId}`;
  const addr = '127.0.0.31';
  try {
    for (let i = 0; i < 5; i++) {
      const r = await request(srv.url, 'POST', '/api/v1/auth/login', { localAddress: addr,
        body: { account: a.account, user: 'admin', password: `Wrong-pass${i}` } });
      assert.equal(r.status, 401);
    }
    // A long lock keeps its row even when the failures are old.
    await sql(`UPDATE login_throttle SET locked_until = now() + interval '2 hours'
      WHERE key = '${key}'`);
    await setClock(srv.url, 3601);
    await runJobs('login_throttle');
    assert.equal(await count(`SELECT count(*) FROM login_throttle WHERE key = '${key}'`), 1);
    assert.equal(await count(`SELECT count(*) FROM login_throttle WHERE key = 'ip:${addr}'`), 0);
    await setClock(srv.url, 2 * 3600 + 1);
    const done = await runJobs('login_throttle');
    assert.ok(done.login_throttle >= 1);
    assert.equal(await count(`SELECT count(*) FROM login_throttle WHERE key = '${key}'`), 0);
  } finally {
    await setClock(srv.url, 0);
  }
  // The count starts again: 5 new failures are needed for a lock.
  const r = await request(srv.url, 'POST', '/api/v1/auth/login', { localAddress: addr,
    body: { account: a.account, user: 'admin', password: PW } });
  assert.equal(r.status, 200);
});

/** Two devices of a new app of "a" (signed in as "c"). */
async function twoDevices(c) {
  const app = await c.post('/api/v1/apps', { kind: 'one', name: 'gw' });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const ids = [];
  for (const serial of ['1', '2']) {
    const d = await c.post(`/api/v1/apps/${app.body.id}/devices`, { model: 'LR8450', serial });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    ids.push(d.body.id);
  }
  return ids;
}

/** A console resume row of "device" for "a"'s admin, expiring "expires" from now. */
const resumeRow = (a, device, expires) => sql(`INSERT INTO console_resumes (account_id, device_id,
  user_id, token_hash, expires_at) VALUES (${a.accountId}, ${device}, ${a.userId}, ${randomHash},
  now() + interval '${expires}')`);

test('console resume tokens past their 10 minutes are deleted; live ones stay, whatever the test clock', async () => {
  const a = await account('pro');
  const [expired, live] = await twoDevices(await signIn(a));
  await resumeRow(a, expired, '-1 second');
  await resumeRow(a, live, '10 minutes');
  const rows = () => sql(`SELECT string_agg(device_id::text, ',' ORDER BY device_id)
    FROM console_resumes WHERE account_id = ${a.accountId}`);
  try {
    // Their expiry is the database's clock, as the console reads it: a
    // test clock a day ahead does not make the live one expired.
    await setClock(srv.url, DAY);
    const done = await runJobs('console_resumes');
    assert.ok(done.console_resumes >= 1, JSON.stringify(done));
  } finally {
    await setClock(srv.url, 0);
  }
  assert.equal(await rows(), String(live));
  await runJobs();
  assert.equal(await rows(), String(live));
});

test('L4: a trial is deleted with all its data when it ends; others stay', async () => {
  const email = `${uniq('t')}@trial.test`;
  const made = await request(srv.url, 'POST', '/api/v1/trial', { body: { email, password: PW } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const trialId = made.body.account_id;
  const t = await login(srv.url, { email, password: PW });
  // Data in as many tables as the API reaches on Trial, and a few more by SQL.
  assert.equal((await t.post('/api/v1/groups', { name: 'Site' })).status, 201);
  assert.equal((await t.post('/api/v1/inquiries', { kind: 'inquiry', subject: 's', body: 'b' }))
    .status, 201);
  const app = await t.post('/api/v1/apps', { kind: 'one', name: 'gw' });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const dev = await t.post(`/api/v1/apps/${app.body.id}/devices`, { model: 'LR8450', serial: '1' });
  assert.equal(dev.status, 201, JSON.stringify(dev.body));
  assert.equal((await t.post(`/api/v1/devices/${dev.body.id}/channels`, { key: 'CH1', name: 'T' }))
    .status, 201);
  await sql(`INSERT INTO notifications (account_id, user_id, kind, title)
    VALUES (${trialId}, ${made.body.user_id}, 'test', 'hello')`);
  // A trial upgraded in time, and accounts of the other plans, stay.
  const kept = [await account('free'), await account('standard'), await account('pro')];
  const email2 = `${uniq('u')}@trial.test`;
  const made2 = await request(srv.url, 'POST', '/api/v1/trial', { body: { email: email2, password: PW } });
  const t2 = await login(srv.url, { email: email2, password: PW });
  assert.equal((await t2.post('/api/v1/account/upgrade', { plan: 'free', login_id: uniq('up') }))
    .status, 200);
  try {
    const expires = Number(await sql(`SELECT extract(epoch FROM trial_expires_at)::bigint
      FROM accounts WHERE id = ${trialId}`));
    const offset = expires - Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(offset - 93 * DAY) < 120, `trial ends in ${offset} s`);
    await setClock(srv.url, offset - 60);
    await runJobs('trial_accounts');
    assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${trialId}`), 1);
    await setClock(srv.url, offset + 1);
    const done = await runJobs('trial_accounts');
    assert.ok(done.trial_accounts >= 1, JSON.stringify(done));
    assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${trialId}`), 0);
    // Nothing of it is left in any table that carries account_id, but the
    // record of its deletion (the number and what was removed; O4).
    const tables = (await sql(`SELECT DISTINCT c.table_name FROM information_schema.columns c
      JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'public' AND c.column_name = 'account_id'
      AND t.table_type = 'BASE TABLE' AND c.table_name <> 'account_deletions' ORDER BY 1`)).split('\n');
    assert.equal(await sql(`SELECT reason FROM account_deletions WHERE account_id = ${trialId}`),
      'trial_expired');
    assert.ok(tables.length >= 15, tables.join(','));
    const left = [];
    for (const table of tables) {
      const k = await count(`SELECT count(*) FROM ${table} WHERE account_id = ${trialId}`);
      if (k > 0) left.push(`${table}: ${k}`);
    }
    assert.deepEqual(left, []);
    for (const k of kept) {
      assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${k.accountId}`), 1);
    }
    assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${made2.body.account_id}`),
      1);
    // The trial's sign-in is gone with it.
    const r = await request(srv.url, 'POST', '/api/v1/auth/login', { body: { email, password: PW } });
    assert.equal(r.status, 401);
  } finally {
    await setClock(srv.url, 0);
  }
});

test('the thread runs the jobs every --jobs-interval seconds and stops cleanly', async () => {
  const s2 = await startServer({ databaseUrl: url, args: ['--jobs-interval', '1'] });
  try {
    const a = await account('pro');
    const [device] = await twoDevices(await signIn(a));
    await sql(`INSERT INTO password_resets (account_id, user_id, token_hash, expires_at)
      VALUES (${a.accountId}, ${a.userId}, ${randomHash}, now() - interval '1 minute')`);
    // A console resume token too: swept by this second process's thread as well.
    await resumeRow(a, device, '-1 minute');
    const deadline = Date.now() + 10000;
    while (await count(`SELECT (SELECT count(*) FROM password_resets WHERE account_id = ${a.accountId})
      + (SELECT count(*) FROM console_resumes WHERE account_id = ${a.accountId})`) > 0) {
      assert.ok(Date.now() < deadline, 'the expired link or resume token was not swept within 10 s');
      await sleep(200);
    }
  } finally {
    const exit = await s2.stop();
    fs.rmSync(s2.dataDir, { recursive: true, force: true });
    assert.equal(exit.code, 0, s2.stderr());
    assert.match(s2.stderr(), /jobs: password_resets: 1 done/);
    assert.match(s2.stderr(), /jobs: console_resumes: 1 done/);
  }
  // A bad interval is a usage error.
  const bad = await startServer({ databaseUrl: url, args: ['--jobs-interval', '-1'] })
    .catch((e) => e);
  assert.ok(bad instanceof Error);
  assert.match(bad.message, /jobs-interval/);
});
