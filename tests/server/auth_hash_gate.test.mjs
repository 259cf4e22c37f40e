// Password hashing and the pool (docs/security.md "Password hashing"): a
// sign-in's argon2id hash (~20-50 ms of a CPU, 19 MiB) runs without a
// PostgreSQL connection and through a gate of --password-hashes slots, so a
// burst of sign-ins neither holds the pool that every other request needs
// nor the memory and CPUs of one hash per worker thread; a hash that finds
// no slot in time is refused with 503 server_busy and Retry-After, and the
// refusal counts as no failed sign-in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAccount, metricSamples, pollUntil, request, startPostgres, startServer, stopStack,
} from './harness.mjs';

const PW = 'Correct-h0rse';
const METRICS = 'g'.repeat(40);
let pg;
let url;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase();
});

after(async () => {
  await pg?.destroy();
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
    env: { METRON_METRICS_TOKEN: METRICS, METRON_TEST_PASSWORD_WAIT_MS: '60000' } });
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
    env: { METRON_METRICS_TOKEN: METRICS, METRON_TEST_PASSWORD_WAIT_MS: '0' } });
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
    const srv = startServer({ databaseUrl: url, args: ['--password-hashes', bad] });
    await assert.rejects(srv, /password-hashes|0\.\.64/);
  }
});
