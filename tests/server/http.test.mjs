// The HTTP layer: routing errors, JSON bodies and their limits, static files,
// the access log. One cluster and one server for the whole file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, accessLogSize, accessLogWith, rawRequest, sleep, startPostgres, startServer } from './harness.mjs';

let pg;
let srv;

before(async () => {
  pg = await startPostgres();
  srv = await startServer({ databaseUrl: await pg.createDatabase(), args: ['--max-body', '4096'] });
  fs.writeFileSync(path.join(srv.portalDir, 'index.html'), '<!doctype html><title>Metron</title>');
  fs.writeFileSync(path.join(srv.portalDir, 'app.js'), 'export const x = 1;\n');
});

after(async () => {
  const exit = await srv?.stop();
  await destroyChecked(pg);
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
  // A clean exit: under ASan/UBSan (-DMT_SANITIZE=ON) leaks and errors fail it.
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer/);
});

async function json(res) {
  assert.match(res.headers.get('content-type'), /^application\/json/);
  return res.json();
}

const post = (p, body, headers = { 'content-type': 'application/json' }) =>
  fetch(srv.url + p, { method: 'POST', headers, body });

test('health answers ok with the database up', async () => {
  const res = await fetch(srv.url + '/api/v1/health');
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { status: 'ok', db: 'ok', changes_heard: true,
    backup: { state: 'off', last_archived_at: null }, replica: { configured: false } });
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

test('an unknown API route is a 404 JSON error', async () => {
  for (const p of ['/api/v1/nope', '/api/v1/health/extra', '/api', '/api/v2/health']) {
    const res = await fetch(srv.url + p);
    assert.equal(res.status, 404, p);
    const body = await json(res);
    assert.equal(body.code, 'not_found');
    assert.equal(typeof body.message, 'string');
  }
});

test('a known route with another method is a 405 with Allow', async () => {
  const res = await fetch(srv.url + '/api/v1/health', { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET');
  assert.equal((await json(res)).code, 'method_not_allowed');
});

test('malformed JSON is a 400 naming the byte where parsing stopped', async () => {
  const res = await post('/api/v1/debug/echo', '{"name": "x",, }');
  assert.equal(res.status, 400);
  const body = await json(res);
  assert.equal(body.code, 'malformed_json');
  assert.match(body.message, /byte 1[34]$/);
});

test('JSON bodies: empty, trailing garbage, non-objects and invalid UTF-8 are refused', async () => {
  const cases = [
    ['', 'malformed_json'],
    ['{"a":1} x', 'malformed_json'],
    ['[1,2]', 'wrong_type'],
    ['"str"', 'wrong_type'],
    [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'malformed_json'],
  ];
  for (const [body, code] of cases) {
    const res = await post('/api/v1/debug/echo', body);
    assert.equal(res.status, 400, String(body));
    assert.equal((await json(res)).code, code, String(body));
  }
});

test('wrong types and over-long strings are 400 with the field', async () => {
  let res = await post('/api/v1/debug/echo', JSON.stringify({ name: 5 }));
  assert.equal(res.status, 400);
  assert.deepEqual(await json(res), { code: 'wrong_type', message: "'name' must be a string",
    field: 'name' });
  res = await post('/api/v1/debug/echo', JSON.stringify({ name: 'é'.repeat(21) }));
  assert.equal(res.status, 400);
  const body = await json(res);
  assert.equal(body.code, 'too_long');
  assert.equal(body.field, 'name');
  res = await post('/api/v1/debug/echo', JSON.stringify({ name: 'é'.repeat(20), n: [1] }));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { name: 'é'.repeat(20), n: [1] });
});

test('a non-JSON content type is a 415', async () => {
  const res = await post('/api/v1/debug/echo', 'name=x',
    { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(res.status, 415);
  assert.equal((await json(res)).code, 'unsupported_media_type');
});

test('a body over --max-body is a 413 and the server keeps serving', async () => {
  const big = JSON.stringify({ name: 'x', pad: 'y'.repeat(5000) });
  const res = await post('/api/v1/debug/echo', big);
  assert.equal(res.status, 413);
  assert.equal((await json(res)).code, 'body_too_large');
  // Chunked (no Content-Length): cut off while reading.
  const stream = new ReadableStream({
    start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); },
  });
  const res2 = await fetch(srv.url + '/api/v1/debug/echo', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: stream,
    duplex: 'half',
  });
  assert.equal(res2.status, 413);
  await res2.body?.cancel();
  const ok = await fetch(srv.url + '/api/v1/health');
  assert.equal(ok.status, 200);
});

test('keep-alive: many requests share connections and all succeed', async () => {
  const all = await Promise.all(Array.from({ length: 50 },
    () => fetch(srv.url + '/api/v1/health').then((r) => r.status)));
  assert.deepEqual(new Set(all), new Set([200]));
});

test('static files come from --portal with security headers', async () => {
  let res = await fetch(srv.url + '/');
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<title>Metron/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  res = await fetch(srv.url + '/app.js');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
});

test('no path traversal out of the portal folder', async () => {
  fs.writeFileSync(path.join(srv.dataDir, 'secret.txt'), 'TOP-SECRET');
  const attempts = ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt',
    '/portal/../../secret.txt', '/./../secret.txt', '/%2e%2e%2fsecret.txt',
    '/..\\secret.txt', '/../../../../etc/passwd'];
  for (const p of attempts) {
    const reply = await rawRequest(srv.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.doesNotMatch(reply, /TOP-SECRET|root:x:0/, p);
    assert.doesNotMatch(reply.split('\r\n')[0], / 200 /, p);
  }
  const res = await fetch(srv.url + '/secret.txt');
  assert.equal(res.status, 404);
});

test('no directory listings', async () => {
  fs.mkdirSync(path.join(srv.portalDir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(srv.portalDir, 'sub', 'a.txt'), 'a');
  const res = await fetch(srv.url + '/sub/');
  assert.notEqual(res.status, 200);
  assert.doesNotMatch(await res.text(), /a\.txt/);
});

test('the access log has one JSON line per request, without query strings', async () => {
  const from = accessLogSize(srv.dataDir);
  await fetch(srv.url + '/api/v1/health?token=SECRET123');
  await fetch(srv.url + '/app.js');
  // "bytes" is what the server wrote, headers included (http_write()).
  const raw = await rawRequest(srv.port, 'GET /api/v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  // Its lines are written by one thread in batches (docs/server.md).
  await accessLogWith(srv.dataDir, [/"path":"\/api\/v1\/health"/, /"path":"\/app\.js"/,
    /"path":"\/api\/v1\/nope"/], { from });
  const lines = fs.readFileSync(path.join(srv.dataDir, 'access.log'), 'utf8').trim().split('\n');
  assert.ok(lines.length >= 3);
  const entries = lines.map((l) => JSON.parse(l));
  for (const e of entries) {
    for (const k of ['time', 'method', 'path', 'status', 'bytes', 'ms', 'ip', 'account', 'user']) {
      assert.ok(k in e, `${k} in ${JSON.stringify(e)}`);
    }
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(e.ip, '127.0.0.1');
  }
  const health = entries.filter((e) => e.path === '/api/v1/health' && e.status === 200).at(-1);
  assert.ok(health.bytes > 25);
  const nope = entries.filter((e) => e.path === '/api/v1/nope').at(-1);
  assert.equal(nope.status, 404);
  assert.equal(nope.bytes, Buffer.byteLength(raw, 'latin1'));
  // A portal file is sent by CivetWeb itself: its byte count is not known
  // (CivetWeb's own count was its headers only), null (docs/server.md).
  const js = entries.filter((e) => e.path === '/app.js').at(-1);
  assert.equal(js.status, 200);
  assert.equal(js.bytes, null);
  assert.doesNotMatch(lines.join('\n'), /SECRET123/);
  assert.ok(entries.some((e) => e.status === 413));
});
