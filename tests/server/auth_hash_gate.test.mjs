// Password hashing and the pool (docs/security.md "Password hashing"): a
// sign-in's argon2id hash (~20-50 ms of a CPU, 19 MiB) runs without a
// PostgreSQL connection and through a gate of --password-hashes slots, so a
// burst of sign-ins neither holds the pool that every other request needs
// nor the memory and CPUs of one hash per worker thread; a hash that finds
// no slot in time is refused with 503 server_busy and Retry-After, and the
// refusal counts as no failed sign-in.
//
// Every server here hashes with the real cost (METRON_TEST_PASSWORD_COST
// "real"), not the harness's cheap one for the test build: the gate's tests
// need hashes that take time, and the last test proves the real cost of new
// hashes, that a hash verifies whatever the cost of the server that checks
// it, and that the production build ignores the variable (docs/testing.md
// "Password hashing in the test build").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, createAccount, login, metricSamples, pollUntil, request, serverBin, startPostgres, startServer,
  stopStack, TEST_PASSWORD_COST,
} from './harness.mjs';

const PW = 'Correct-h0rse';
const METRICS = 'g'.repeat(40);
const REAL = { METRON_TEST_PASSWORD_COST: 'real' };
let pg;
let url;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase();
});

after(async () => {
  await destroyChecked(pg);
});

async function accounts(srv, prefix, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const account = `${prefix}${i}`;
    await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW });
    out.push(account);
  }
  return out;
}

const signIn = (srv, account, password = PW) =>
  request(srv.url, 'POST', '/api/v1/auth/login', { body: { account, user: 'admin', password } });

test('a burst of sign-ins leaves the pool to other requests while their hashes run', async () => {
  // One connection in the pool and one hash at a time: while the burst's
  // hashes take turns, a health check (SELECT 1 on a pooled connection)
  // answers at once. Before, each sign-in held the pool's only connection
  // for its hash, and the check waited behind the whole burst.
  const srv = await startServer({ databaseUrl: url, args: ['--db-pool', '1', '--password-hashes', '1'],
    env: { ...REAL, METRON_METRICS_TOKEN: METRICS, METRON_TEST_PASSWORD_WAIT_MS: '60000' } });
  try {
    const names = await accounts(srv, 'burst', 8);
    let answered = 0;
    const logins = names.map((a) => signIn(srv, a).then((r) => { answered++; return r; }));
    await pollUntil(async () => (await metricSamples(srv.url, METRICS))['metron_password_hashes{state="running"}'] >= 1,
      'a hash of the burst running');
    const health = await request(srv.url, 'GET', '/api/v1/health');
    const answeredThen = answered;
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.db, 'ok');
    const replies = await Promise.all(logins);
    console.log(`# the health check answered after ${answeredThen} of ${names.length} sign-ins`);
    assert.ok(answeredThen < names.length, 'the health check waited for the whole burst of sign-ins');
    for (const r of replies) assert.equal(r.status, 200, JSON.stringify(r.body));
    const m = await metricSamples(srv.url, METRICS);
    assert.equal(m['metron_password_hashes{state="running"}'], 0);
    assert.equal(m['metron_password_hashes{state="waiting"}'], 0);
    assert.equal(m.metron_password_hashes_refused_total, 0);
  } finally {
    await stopStack({ srv });
  }
});

test('a hash that finds no slot in time: 503 server_busy with Retry-After, and no failed sign-in counted', async () => {
  const srv = await startServer({ databaseUrl: url, args: ['--password-hashes', '1'],
    env: { ...REAL, METRON_METRICS_TOKEN: METRICS, METRON_TEST_PASSWORD_WAIT_MS: '0' } });
  try {
    const names = await accounts(srv, 'busy', 6);
    // Six sign-ins at once against one slot and no wait: those that find
    // the slot taken are refused (a burst is tried again until one is: the
    // scheduler may run them one after another).
    let busy = [];
    let ok = 0;
    for (let round = 0; round < 20 && busy.length === 0; round++) {
      const replies = await Promise.all(names.map((a) => signIn(srv, a)));
      for (const [i, r] of replies.entries()) {
        if (r.status === 200) {
          ok++;
          continue;
        }
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.code, 'server_busy');
        assert.match(r.body.message, /busy/);
        assert.equal(r.body.retry_after, 2);
        assert.equal(r.headers['retry-after'], '2');
        busy.push(names[i]);
      }
    }
    console.log(`# ${busy.length} sign-ins refused busy, ${ok} signed in`);
    assert.ok(busy.length > 0, 'no sign-in of the bursts found the slot taken');
    const m = await metricSamples(srv.url, METRICS);
    assert.equal(m.metron_password_hashes_refused_total, busy.length);
    // A refused sign-in is not a wrong password: even refused many times
    // over, the user signs in at once, unthrottled.
    const again = await signIn(srv, busy[0]);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const wrong = await signIn(srv, busy[0], 'Wrong-h0rse');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_credentials');
  } finally {
    await stopStack({ srv });
  }
});

test('--password-hashes takes 0..64', async () => {
  for (const bad of ['65', '-1', 'x']) {
    const srv = startServer({ databaseUrl: url, args: ['--password-hashes', bad], env: REAL });
    await assert.rejects(srv, /password-hashes|0\.\.64/);
  }
});

test('new hashes have the real cost (m=19456,t=2,p=1); a cheap test hash verifies on a real server and the other way round; the production build ignores the test cost', async (t) => {
  const db = new URL(url).pathname.slice(1);
  const hashOf = (account) => pg.psql(`SELECT u.password_hash FROM users u
    JOIN accounts a ON a.id = u.account_id WHERE a.login_id = '${account}' AND u.login_id = 'admin'`, db);
  const REAL_HASH = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;
  const [m, tc] = /^m=(\d+),t=(\d+)$/.exec(TEST_PASSWORD_COST).slice(1);
  const CHEAP_HASH = new RegExp(`^\\$argon2id\\$v=19\\$m=${m},t=${tc},p=1\\$`);

  // A test server with the harness's cheap cost; its hash says so.
  let srv = await startServer({ databaseUrl: url, env: { METRON_TEST_PASSWORD_COST: TEST_PASSWORD_COST } });
  try {
    assert.match(srv.stdout() + srv.stderr(), new RegExp(`password hashing: argon2id m=${m},t=${tc},p=1 `));
    await createAccount(srv.url, { account: 'costcheap', plan: 'pro', user: 'admin', password: PW });
  } finally {
    await stopStack({ srv });
  }
  assert.match(await hashOf('costcheap'), CHEAP_HASH);

  // A test server with the real cost: the cheap hash verifies (the hash
  // carries its cost), a wrong password still fails, and new hashes are as
  // production makes them.
  srv = await startServer({ databaseUrl: url, env: REAL });
  try {
    await login(srv.url, { account: 'costcheap', user: 'admin', password: PW });
    const wrong = await signIn(srv, 'costcheap', 'Wrong-h0rse');
    assert.equal(wrong.status, 401);
    await createAccount(srv.url, { account: 'costreal', plan: 'pro', user: 'admin', password: PW });
    assert.match(await hashOf('costreal'), REAL_HASH);
  } finally {
    await stopStack({ srv });
  }

  // And back: the real hash verifies on a cheap test server.
  srv = await startServer({ databaseUrl: url, env: { METRON_TEST_PASSWORD_COST: TEST_PASSWORD_COST } });
  try {
    await login(srv.url, { account: 'costreal', user: 'admin', password: PW });
  } finally {
    await stopStack({ srv });
  }

  // A value that is not a cost stops the test build at its start.
  for (const bad of ['m=4,t=1', 'm=19457,t=2', 'm=64,t=3', 'm=64,t=0', 'm=64', 'm=-8,t=1', 'cheap']) {
    await assert.rejects(startServer({ databaseUrl: url, env: { METRON_TEST_PASSWORD_COST: bad } }),
      /METRON_TEST_PASSWORD_COST: .* is not "m=KIB,t=N" with KIB in 8\.\.19456 and N in 1\.\.2, nor "real"/, bad);
  }

  // The production build: the variable is named in a warning and ignored;
  // a password changed through it is hashed with the real cost, and the
  // cheap hash verifies there too.
  const prod = path.join(path.dirname(serverBin), 'metron-server');
  if (!fs.existsSync(prod)) {
    t.skip(`no production build next to ${serverBin}`);
    return;
  }
  srv = await startServer({ databaseUrl: url, bin: prod,
    env: { METRON_TEST_PASSWORD_COST: TEST_PASSWORD_COST } });
  try {
    assert.match(srv.stderr(), /METRON_TEST_PASSWORD_COST is read by the test build only \(metron-server-test\); this server ignores it/);
    assert.doesNotMatch(srv.stdout() + srv.stderr(), /password hashing: argon2id/);
    const c = await login(srv.url, { account: 'costcheap', user: 'admin', password: PW });
    const r = await c.post('/api/v1/me/password', { current: PW, new: 'Fresh-h0rse' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  } finally {
    await stopStack({ srv });
  }
  assert.match(await hashOf('costcheap'), REAL_HASH);
});
