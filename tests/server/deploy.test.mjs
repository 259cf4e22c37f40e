// Behind a reverse proxy and from another origin (docs/deploy.md): the
// client's address is read from X-Forwarded-For only when the connection
// comes from a trusted proxy (--trusted-proxies), so a forged header from
// anyone else changes nothing for the IP allow-list (A7), the sign-in
// throttles, the sessions' and the access log's addresses; CORS answers
// exactly the origins of --cors-origins, and cookie writes from them still
// need the CSRF token; static files are served with validators and no-cache.
// One cluster, one server; "the proxy" is requests from 127.0.0.5 (any
// 127.x address reaches a server on 127.0.0.1), and the last test puts a
// real nginx (deploy/nginx/metron.conf, from 127.0.0.1) in front.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, login, request, setClock, startStack, stopStack, tempDir } from './harness.mjs';
import { startNginx } from './nginx.mjs';

const PROXY = '127.0.0.5';
const PORTAL = 'http://portal.example.test:8081';
const PW = 'Correct-h0rse';
let pg;
let srv;
let n = 0;
const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;

before(async () => {
  ({ pg, srv } = await startStack({ args: ['--trusted-proxies', `${PROXY}, 10.0.0.0/8, 127.0.0.1`,
    '--cors-origins', `${PORTAL}, https://other.example.test`] }));
});

after(() => stopStack({ pg, srv }));

async function account(plan = 'pro') {
  const acc = uniq('px');
  await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  return acc;
}

const signIn = (acc, opts = {}) => request(srv.url, 'POST', '/api/v1/auth/login',
  { body: { account: acc, user: 'admin', password: opts.password || PW }, ...opts });

test('the IP allow-list sees the client a trusted proxy names, and nobody else\'s header', async () => {
  const acc = await account();
  const admin = await login(srv.url, { account: acc, user: 'admin', password: PW });
  let r = await admin.put('/api/v1/account/ip-allow-list',
    { ip_allow_list: ['127.0.0.1', '203.0.113.0/24'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  // A client not on the proxy list claims an allowed address: refused, at
  // sign-in and with the session alike.
  const forged = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' };
  r = await signIn(acc, { localAddress: '127.0.0.40', headers: forged });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'ip_not_allowed');
  r = await request(srv.url, 'GET', '/api/v1/auth/session', { localAddress: '127.0.0.40',
    headers: { ...forged, cookie: `metron_session=${admin.cookie}` } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'ip_not_allowed');

  // Through the proxy, the client it names is the one that counts.
  r = await signIn(acc, { localAddress: PROXY, headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const cookie = /metron_session=([^;]+)/.exec([].concat(r.headers['set-cookie']).join('\n'))[1];
  r = await request(srv.url, 'GET', '/api/v1/me/sessions', { localAddress: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.9', cookie: `metron_session=${cookie}` } });
  assert.equal(r.status, 200);
  assert.equal(r.body.items.find((s) => s.current).ip, '203.0.113.9');
  // ... and a client that forged the left part of the proxy's header is
  // still itself (the proxy appended the address it saw).
  r = await signIn(acc, { localAddress: PROXY,
    headers: { 'x-forwarded-for': '203.0.113.9, 127.0.0.40' } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'ip_not_allowed');
  // The proxy itself, naming nobody, is not on the account's list either.
  r = await signIn(acc, { localAddress: PROXY });
  assert.equal(r.status, 403);
  // A chain of trusted proxies (10.0.0.0/8 behind 127.0.0.5) is walked.
  r = await signIn(acc, { localAddress: PROXY,
    headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.10, 10.1.2.3' } });
  assert.equal(r.status, 200);

  // The access log names the same clients (a line is written once its
  // reply has gone: wait for the last one).
  let ips = [];
  for (let i = 0; i < 50; i++) {
    const log = fs.readFileSync(path.join(srv.dataDir, 'access.log'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l)).filter((l) => l.path === '/api/v1/auth/login');
    ips = log.slice(-5).map((l) => `${l.ip} ${l.status}`);
    if (ips[4] === '203.0.113.10 200') break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.deepEqual(ips, ['127.0.0.40 403', '203.0.113.9 200', '127.0.0.40 403', '127.0.0.5 403',
    '203.0.113.10 200']);
  await admin.put('/api/v1/account/ip-allow-list', { ip_allow_list: [] });
});

test('the per-address sign-in throttle counts the real client: a forged header neither spreads nor shifts it',
  async () => {
    const acc = await account('standard');
    const addr = '127.0.0.41';
    try {
      // 20 failures from one client (on users that do not exist, so that no
      // user's own lock comes first), each claiming another address.
      for (let i = 0; i < 20; i++) {
        const r = await request(srv.url, 'POST', '/api/v1/auth/login', { localAddress: addr,
          body: { account: acc, user: `nobody${i}`, password: PW },
          headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } });
        assert.equal(r.status, 401, `try ${i}`);
      }
      // That client is locked out whatever it claims next ...
      let r = await signIn(acc, { localAddress: addr, headers: { 'x-forwarded-for': '198.51.100.99' } });
      assert.equal(r.status, 429);
      // ... and so is the same client reaching us through the proxy.
      r = await signIn(acc, { localAddress: PROXY, headers: { 'x-forwarded-for': addr } });
      assert.equal(r.status, 429);
      // The addresses it claimed were never counted, nor the proxy's own.
      r = await signIn(acc, { localAddress: PROXY, headers: { 'x-forwarded-for': '198.51.100.1' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      r = await signIn(acc, { localAddress: PROXY });
      assert.equal(r.status, 200);
      r = await signIn(acc, { localAddress: '127.0.0.42' });
      assert.equal(r.status, 200);
    } finally {
      await setClock(srv.url, 0);
    }
  });

test('cookies are Secure when a trusted proxy says the client spoke HTTPS, not when a client says so', async () => {
  const acc = await account('standard');
  let r = await signIn(acc, { localAddress: PROXY,
    headers: { 'x-forwarded-for': '198.51.100.20', 'x-forwarded-proto': 'https' } });
  assert.equal(r.status, 200);
  assert.match([].concat(r.headers['set-cookie']).join('\n'), /metron_session=[^\n]*; Secure/);
  r = await signIn(acc, { localAddress: '127.0.0.43', headers: { 'x-forwarded-proto': 'https' } });
  assert.equal(r.status, 200);
  assert.doesNotMatch([].concat(r.headers['set-cookie']).join('\n'), /Secure/);
});

test('CORS: a listed origin may read with credentials and preflights are answered; any other is refused',
  async () => {
    const pre = (origin, method = 'PATCH') => request(srv.url, 'OPTIONS', '/api/v1/me',
      { headers: { origin, 'access-control-request-method': method,
        'access-control-request-headers': 'content-type, x-csrf-token' } });
    let r = await pre(PORTAL);
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-origin'], PORTAL);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      assert.match(r.headers['access-control-allow-methods'], new RegExp(`\\b${m}\\b`));
    }
    assert.match(r.headers['access-control-allow-headers'], /Content-Type/i);
    assert.match(r.headers['access-control-allow-headers'], /X-CSRF-Token/i);
    assert.equal(r.headers['access-control-max-age'], '7200');
    // An origin is compared whole: scheme, host and port.
    for (const other of ['http://evil.example', 'https://portal.example.test:8081',
      'http://portal.example.test:8082', 'http://portal.example.test:8081.evil.example', 'null']) {
      r = await pre(other);
      assert.equal(r.status, 403, other);
      assert.equal(r.body.code, 'origin_not_allowed');
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    // Replies to a listed origin carry its CORS headers, refusals too (so
    // the portal can read them); others carry none.
    r = await request(srv.url, 'GET', '/api/v1/health', { headers: { origin: PORTAL } });
    assert.equal(r.headers['access-control-allow-origin'], PORTAL);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.match(r.headers['access-control-expose-headers'], /Retry-After/);
    assert.match(r.headers.vary, /Origin/);
    r = await request(srv.url, 'GET', '/api/v1/me', { headers: { origin: 'https://other.example.test' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['access-control-allow-origin'], 'https://other.example.test');
    r = await request(srv.url, 'GET', '/api/v1/health', { headers: { origin: 'http://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    r = await request(srv.url, 'GET', '/api/v1/health');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
  });

test('CORS: cookie writes from a listed origin of the same site still need the CSRF token; other origins and sites are refused',
  async () => {
    const acc = await account('standard');
    const c = await login(srv.url, { account: acc, user: 'admin', password: PW });
    const write = (headers) => request(srv.url, 'PATCH', '/api/v1/me', { body: { name: 'Ada' },
      headers: { cookie: `metron_session=${c.cookie}`, ...headers } });
    let r = await write({ origin: PORTAL, 'sec-fetch-site': 'same-site', 'x-csrf-token': c.csrf });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers['access-control-allow-origin'], PORTAL);
    r = await write({ origin: PORTAL, 'sec-fetch-site': 'same-site' });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'csrf');
    r = await write({ origin: PORTAL, 'sec-fetch-site': 'same-site', 'x-csrf-token': 'x'.repeat(43) });
    assert.equal(r.body.code, 'csrf');
    // Another site never writes with the cookie, listed or not.
    r = await write({ origin: PORTAL, 'sec-fetch-site': 'cross-site', 'x-csrf-token': c.csrf });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'cross_site');
    for (const origin of ['http://evil.example', 'http://portal.example.test:8082']) {
      r = await write({ origin, 'sec-fetch-site': 'same-site', 'x-csrf-token': c.csrf });
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.code, 'cross_site');
    }
    assert.equal((await c.get('/api/v1/me')).body.name, 'Ada');
  });

test('static files: the right types for modules and WebAssembly, checked again on every use (a release shows at once)',
  async () => {
    const dir = srv.portalDir;
    fs.mkdirSync(path.join(dir, 'js'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><p>v1</p>');
    fs.writeFileSync(path.join(dir, 'js', 'app.mjs'), 'export const v = 1;\n');
    fs.writeFileSync(path.join(dir, 'core.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const get = (p, headers = {}) => fetch(srv.url + p, { headers });
    let r = await get('/js/app.mjs');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    const etag = r.headers.get('etag');
    assert.ok(etag && !etag.startsWith('W/'), `a strong validator: ${etag}`);
    r = await get('/core.wasm');
    assert.equal(r.headers.get('content-type'), 'application/wasm');
    // Unchanged: 304 without a body. Changed (a new release): the new bytes.
    r = await get('/js/app.mjs', { 'if-none-match': etag });
    assert.equal(r.status, 304);
    fs.writeFileSync(path.join(dir, 'js', 'app.mjs'), 'export const v = 22;\n');
    r = await get('/js/app.mjs', { 'if-none-match': etag });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'export const v = 22;\n');
    r = await get('/');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-type'), /^text\/html/);
  });

test('through nginx (deploy/nginx/metron.conf on a sub-path): the real client counts, a forged header does not; pages and releases are cached as they should',
  async () => {
    const dist = tempDir('metron-dist-');
    fs.mkdirSync(path.join(dist, 'release', 'abc123', 'js'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'index.html'), '<!doctype html><p>portal</p>');
    fs.writeFileSync(path.join(dist, 'release', 'abc123', 'js', 'app.mjs'), 'export {};\n');
    fs.writeFileSync(path.join(dist, 'release', 'abc123', 'core.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const ngx = await startNginx('metron.conf', { PREFIX: '/metron/', PORTAL_DIR: dist,
      SERVER: `127.0.0.1:${srv.port}` });
    try {
      const base = `${ngx.url}/metron/`;
      const acc = await account();
      const admin = await login(srv.url, { account: acc, user: 'admin', password: PW });
      let r = await admin.put('/api/v1/account/ip-allow-list',
        { ip_allow_list: ['127.0.0.1', '127.0.0.45', '203.0.113.0/24'] });
      assert.equal(r.status, 200);
      const body = { account: acc, user: 'admin', password: PW };
      // A client at 127.0.0.44 claims an allowed address: nginx appends the
      // one it saw, and that is the one that counts.
      r = await request(`${ngx.url}/metron`, 'POST', '/api/v1/auth/login', { body, localAddress: '127.0.0.44',
        headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.equal(r.status, 403);
      assert.equal(r.body.code, 'ip_not_allowed');
      r = await request(`${ngx.url}/metron`, 'POST', '/api/v1/auth/login', { body, localAddress: '127.0.0.45',
        headers: { 'x-forwarded-for': '198.51.100.66' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const cookies = [].concat(r.headers['set-cookie']).join('\n');
      const cookie = /metron_session=([^;]+)/.exec(cookies)[1];
      // The known-device cookie names the API's path under the prefix.
      assert.match(cookies, /metron_device=[^\n]*; Path=\/metron\/api\/v1\/auth;/);
      assert.match(cookies, /metron_session=[^\n]*; Path=\/;/);
      r = await request(`${ngx.url}/metron`, 'GET', '/api/v1/me/sessions', { localAddress: '127.0.0.45',
        headers: { cookie: `metron_session=${cookie}` } });
      assert.equal(r.body.items.find((s) => s.current).ip, '127.0.0.45');
      // A cookie write through nginx from the portal's own origin passes the
      // Origin check (nginx passes the Host with its port).
      r = await request(`${ngx.url}/metron`, 'GET', '/api/v1/auth/session', { localAddress: '127.0.0.45',
        headers: { cookie: `metron_session=${cookie}` } });
      assert.equal(r.status, 200);
      r = await request(`${ngx.url}/metron`, 'PATCH', '/api/v1/me', { body: { name: 'Via nginx' }, localAddress: '127.0.0.45',
        headers: { cookie: `metron_session=${cookie}`, 'x-csrf-token': r.body.csrf_token,
          origin: ngx.url, 'sec-fetch-site': 'same-origin' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await admin.put('/api/v1/account/ip-allow-list', { ip_allow_list: [] });

      // The pages: no-cache and the portal's headers; a release: a year.
      let f = await fetch(base);
      assert.equal(f.status, 200);
      assert.equal(f.headers.get('cache-control'), 'no-cache');
      assert.match(f.headers.get('content-security-policy'), /script-src 'self' 'wasm-unsafe-eval'/);
      assert.equal(f.headers.get('x-frame-options'), 'DENY');
      const etag = f.headers.get('etag');
      assert.equal((await fetch(base, { headers: { 'if-none-match': etag } })).status, 304);
      f = await fetch(`${base}release/abc123/js/app.mjs`);
      assert.equal(f.status, 200);
      assert.match(f.headers.get('content-type'), /^text\/javascript/);
      assert.equal(f.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      f = await fetch(`${base}release/abc123/core.wasm`);
      assert.equal(f.headers.get('content-type'), 'application/wasm');
      f = await fetch(base, { method: 'POST', body: 'x' });
      assert.equal(f.status, 403);

      // The sub-path without its last slash redirects to it (with the query,
      // a relative Location); a longer path that merely starts the same way
      // and the API's own paths are not redirected.
      f = await fetch(`${ngx.url}/metron`, { redirect: 'manual' });
      assert.equal(f.status, 301);
      assert.equal(f.headers.get('location'), '/metron/');
      f = await fetch(`${ngx.url}/metron?lang=de&x=1`, { redirect: 'manual' });
      assert.equal(f.status, 301);
      assert.equal(f.headers.get('location'), '/metron/?lang=de&x=1');
      f = await fetch(`${ngx.url}/metron`);
      assert.equal(f.status, 200);
      assert.equal(f.url, `${ngx.url}/metron/`);
      assert.equal(await f.text(), '<!doctype html><p>portal</p>');
      f = await fetch(`${ngx.url}/metronx`, { redirect: 'manual' });
      assert.equal(f.status, 404);
      f = await fetch(`${base}api/v1/health`, { redirect: 'manual' });
      assert.equal(f.status, 200);
    } finally {
      await ngx.stop();
    }
  });
