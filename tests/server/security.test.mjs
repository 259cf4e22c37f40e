// The probes of the outside security review (issue #11), one case each, kept
// so that none of them comes back: a request an attacker can send must get a
// clear refusal and change nothing, and never take the server down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, serverRoutes, startStack, stopStack } from './harness.mjs';
import { PW, appClient, baseTime, dataTenant } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

/** Every route of the server's route tables that reads a body:
 * [{ method, path, auth, body }] with each '*' replaced by "1". */
function bodyRoutes() {
  return serverRoutes().filter((r) => /BODY_(JSON|RAW)/.test(r.body))
    .map((r) => ({ method: r.method, path: r.pattern.replaceAll('*', '1'), auth: r.auth, body: r.body }));
}

async function alive() {
  const r = await fetch(srv.url + '/api/v1/health');
  assert.equal(r.status, 200, 'the server still answers');
  await r.arrayBuffer();
}

const JSON_CT = { 'Content-Type': 'application/json' };
const nested = (n) => '['.repeat(n) + ']'.repeat(n);
const nestedObj = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

test('deeply nested JSON is refused with 400 on every route, signed in or not, before any parser recurses', async () => {
  const routes = bodyRoutes();
  assert.ok(routes.length > 40, `found ${routes.length} routes with a body`);
  assert.ok(routes.some((r) => r.path === '/api/v1/auth/login'));
  const t = await dataTenant(srv);
  const withApp = { authorization: `Bearer ${t.app.credential}` };
  const signedIn = { cookie: `metron_session=${t.c.cookie}`, 'x-csrf-token': t.c.csrf };
  for (const body of [nested(800), nested(5000), '{"x":' + nested(1000) + '}', nestedObj(2000)]) {
    for (const r of routes) {
      for (const headers of [{}, signedIn, withApp]) {
        const res = await request(srv.url, r.method, r.path, { body, headers });
        assert.ok(res.status >= 400 && res.status < 500, `${r.method} ${r.path}: ${res.status}`);
        if (res.status === 400) {
          assert.equal(typeof res.body?.code, 'string', `${r.method} ${r.path}`);
        }
      }
    }
    await alive();
  }
});

test('the public JSON routes and ingestion say why a deep body is refused', async () => {
  const t = await dataTenant(srv);
  for (const p of ['/api/v1/auth/login', '/api/v1/auth/two-step', '/api/v1/auth/token',
    '/api/v1/auth/reset-request', '/api/v1/auth/reset']) {
    const res = await request(srv.url, 'POST', p, { body: nested(800) });
    assert.equal(res.status, 400, p);
    assert.equal(res.body.code, 'malformed_json', p);
    assert.match(res.body.message, /at most 32 levels/, p);
  }
  // With the app's credential: the batch parser and the status route.
  const app = appClient(srv.url, t.app.credential);
  let r = await app.batch(`{"batch_id":"deep","channels":${nested(1000)}}`, JSON_CT);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.code, 'malformed_json');
  assert.match(r.body.message, /at most 32 levels/);
  r = await app.batch(`{"batch_id":"deep","channels":[{"x":${nested(40)}}]}`, JSON_CT);
  assert.equal(r.status, 400, r.text);
  assert.match(r.body.message, /at most 32 levels/);
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`), '0');
  r = await request(srv.url, 'POST', '/api/v1/ingest/status',
    { body: nested(1000), headers: { authorization: `Bearer ${t.app.credential}` } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'malformed_json');
  await alive();
});

test('32 levels are parsed; 33 are refused (the documented limit)', async () => {
  // The login route reads the body before it checks the members: 32 levels
  // reach the member check (wrong type), 33 stop at the guard.
  let r = await request(srv.url, 'POST', '/api/v1/auth/login',
    { body: `{"account":${nested(31)}}` });
  assert.equal(r.status, 400);
  assert.notEqual(r.body.code, 'malformed_json', JSON.stringify(r.body));
  r = await request(srv.url, 'POST', '/api/v1/auth/login', { body: `{"account":${nested(32)}}` });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'malformed_json');
  // Brackets inside strings are not nesting.
  r = await request(srv.url, 'POST', '/api/v1/auth/login',
    { body: JSON.stringify({ account: '['.repeat(500), user: '{'.repeat(100), password: 'x' }) });
  assert.notEqual(r.body.code, 'malformed_json', JSON.stringify(r.body));
});

test('an escaped NUL in a JSON string is refused everywhere, not cut short', async () => {
  const t = await dataTenant(srv);
  // A password with \u0000 after the right one must not sign in.
  let r = await request(srv.url, 'POST', '/api/v1/auth/login',
    { body: `{"account":"${t.account}","user":"admin","password":"${PW}\\u0000anything"}` });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.code, 'malformed_json');
  assert.match(r.body.message, /NUL/);
  // A drive folder "a\u0000b" is not stored as "a".
  r = await request(srv.url, 'POST', '/api/v1/drive/folders', {
    body: '{"name":"a\\u0000b"}',
    headers: { cookie: `metron_session=${t.c.cookie}`, 'x-csrf-token': t.c.csrf },
  });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.code, 'malformed_json');
  assert.equal(await sql(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), '0');
  // In an ingestion batch too (a batch id).
  r = await appClient(srv.url, t.app.credential).batch(
    `{"batch_id":"a\\u0000b","channels":[{"id":${t.channels[0]},"t":[${baseTime()}],"v":[1]}]}`,
    JSON_CT);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.code, 'malformed_json');
  // An escaped backslash before "u0000" is plain text, not a NUL.
  r = await request(srv.url, 'POST', '/api/v1/auth/login',
    { body: `{"account":"${t.account}","user":"admin","password":"x\\\\u0000"}` });
  assert.equal(r.status, 401, JSON.stringify(r.body));
});
