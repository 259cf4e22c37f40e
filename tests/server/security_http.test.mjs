// Issue #11: probes of the HTTP surface, one case each -- reply headers
// sized from their content (item 6), header values that are stored
// (item 7), and the second layers of item 9 that live in HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { accessLogSize, accessLogWith, rawRequest, request, startStack, stopStack } from './harness.mjs';
import { PW, dataTenant } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

/** GET with a session cookie: { status, headers, buf } (raw bytes). */
function rawGet(c, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, srv.url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
      method: 'GET', agent: false, headers: { cookie: `metron_session=${c.cookie}`, ...headers } },
    (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        buf: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a valid 255-byte drive name is downloadable: the headers are sized from their content', async () => {
  const t = await dataTenant(srv);
  // The longest header a valid name gives: every byte both kept in the
  // ASCII fallback and percent-encoded (4 bytes of header per byte), and
  // the widest UTF-8 (a 4-byte character: "_" + 12 bytes encoded).
  const names = [
    '('.repeat(127) + ' ,;=@' + ')'.repeat(123),
    '\u{1F4C8}'.repeat(63) + 'abc',
    '\u20AC'.repeat(85),
  ];
  for (const name of names) {
    assert.equal(Buffer.byteLength(name), 255, name);
    const bytes = Buffer.from(`bytes of ${name.length}`);
    const up = await t.c.post(`/api/v1/drive/files?name=${encodeURIComponent(name)}`, bytes,
      { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const d = await rawGet(t.c, `/api/v1/drive/files/${up.body.id}/content`);
    assert.equal(d.status, 200);
    assert.ok(d.buf.equals(bytes));
    const enc = /filename\*=UTF-8''(.*)$/.exec(d.headers['content-disposition'])[1];
    assert.equal(decodeURIComponent(enc), name);
    // A resumed download of it too (a Content-Range on top).
    const part = await rawGet(t.c, `/api/v1/drive/files/${up.body.id}/content`,
      { range: 'bytes=2-' });
    assert.equal(part.status, 206);
    assert.ok(part.buf.equals(bytes.subarray(2)));
  }
});

/** POST a JSON body with the header bytes "extra" (a Buffer of header
 * lines) sent as they are: { status, head, body }. */
function rawPost(p, body, extra) {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1');
    const data = Buffer.from(JSON.stringify(body));
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, rest] = text.split('\r\n\r\n');
      let parsed = null;
      try { parsed = JSON.parse(rest); } catch { parsed = rest; }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] || 0), head, body: parsed });
    });
    s.on('error', reject);
    s.write(Buffer.concat([
      Buffer.from(`POST ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n`),
      extra, Buffer.from('\r\n'), data]));
  });
}

test('a User-Agent that is not UTF-8 is stored cleaned, and sign-in works', async () => {
  const t = await dataTenant(srv);
  const form = { account: t.account, user: 'admin', password: PW };
  // Bytes as sent: \xff\xfe are not UTF-8, \xc2\x85 is a C1 control, \xc3\x28 a
  // broken sequence, \xe9 Latin-1.
  const agents = [Buffer.from('Mozilla/5.0 \xff\xfe (probe)', 'latin1'),
    Buffer.from('agent \xc2\x85 \xc3\x28 end', 'latin1'), Buffer.from('\xe9t\xe9', 'latin1')];
  for (const ua of agents) {
    const r = await rawPost('/api/v1/auth/login', form,
      Buffer.concat([Buffer.from('User-Agent: '), ua, Buffer.from('\r\n')]));
    assert.equal(r.status, 200, `${ua.toString('hex')}: ${JSON.stringify(r.body)}`);
  }
  const stored = (await sql(`SELECT string_agg(user_agent, '|' ORDER BY id) FROM sessions
    WHERE account_id = ${t.id} AND user_agent LIKE '%\uFFFD%'`)).split('|');
  assert.deepEqual(stored, ['Mozilla/5.0 \uFFFD\uFFFD (probe)', 'agent \uFFFD \uFFFD( end',
    '\uFFFDt\uFFFD']);
  // The user's session list shows them as text.
  const list = await t.c.get('/api/v1/me/sessions');
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((s) => s.user_agent === '\uFFFDt\uFFFD'));
  // A long one is cut at a character boundary, within the column's 512 bytes.
  const long = Buffer.from('\u00e9'.repeat(400));
  const r = await rawPost('/api/v1/auth/login', form,
    Buffer.concat([Buffer.from('User-Agent: '), long, Buffer.from('\r\n')]));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const kept = await sql(`SELECT user_agent FROM sessions WHERE account_id = ${t.id}
    ORDER BY id DESC LIMIT 1`);
  assert.ok(Buffer.byteLength(kept) <= 512 && kept.length >= 250, `${kept.length} characters`);
  assert.equal(kept, '\u00e9'.repeat(kept.length));
});


test('cookie writes from another site are refused by Origin and Sec-Fetch-Site, under the CSRF token', async () => {
  const t = await dataTenant(srv);
  const headers = { cookie: `metron_session=${t.c.cookie}`, 'x-csrf-token': t.c.csrf };
  const folder = (extra, name) => request(srv.url, 'POST', '/api/v1/drive/folders',
    { body: { name }, headers: { ...headers, ...extra } });
  let i = 0;
  for (const extra of [{ origin: 'http://evil.example' }, { origin: 'null' },
    { origin: `http://127.0.0.1:${srv.port}.evil.example` }, { origin: `${srv.url}/path` },
    { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' },
    { 'sec-fetch-site': 'cross-site', origin: srv.url }]) {
    const r = await folder(extra, `refused${i++}`);
    assert.equal(r.status, 403, JSON.stringify(extra));
    assert.equal(r.body.code, 'cross_site');
  }
  assert.equal(await sql(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), '0');
  // The portal's own pages, and clients that say nothing, go on.
  for (const extra of [{ origin: srv.url, 'sec-fetch-site': 'same-origin' },
    { origin: srv.url.toUpperCase().replace('HTTP', 'http') }, { 'sec-fetch-site': 'none' }, {}]) {
    const r = await folder(extra, `ok${i++}`);
    assert.equal(r.status, 201, `${JSON.stringify(extra)}: ${JSON.stringify(r.body)}`);
  }
  // Reads are not changes; an API token is never sent by a browser on its own.
  const r = await request(srv.url, 'GET', '/api/v1/drive',
    { headers: { ...headers, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
  assert.equal(r.status, 200);
});

test('the portal folder serves files to read, nothing else', async () => {
  const dir = srv.portalDir;
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><p>portal</p>');
  fs.writeFileSync(path.join(dir, 'CMakeLists.txt'), 'add_custom_target(secret)');
  fs.writeFileSync(path.join(dir, 'vendor.cmake'), 'set(secret 1)');
  fs.writeFileSync(path.join(dir, '.env'), 'SECRET=1');
  fs.mkdirSync(path.join(dir, 'js'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'js', 'app.mjs'), 'export {};');
  const get = (line) => rawRequest(srv.port, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const status = (reply) => Number(/^HTTP\/1\.\d (\d+)/.exec(reply)?.[1]);
  for (const p of ['/CMakeLists.txt', '/vendor.cmake', '/.env', '/js/../CMakeLists.txt',
    '/%43MakeLists.txt', '/vendor.CMAKE']) {
    const reply = await get(`GET ${p} HTTP/1.1`);
    assert.equal(status(reply), 404, `${p}: ${reply.split('\r\n')[0]}`);
    assert.doesNotMatch(reply, /secret|SECRET/);
  }
  // "//js" was redirected to "//js/", which a browser reads as the host "js".
  for (const p of ['//js', '//js?x=1', '/%2Fjs', '//evil.example/', '/\\evil.example']) {
    const reply = await get(`GET ${p} HTTP/1.1`);
    assert.equal(status(reply), 404, `${p}: ${reply.split('\r\n')[0]}`);
    assert.doesNotMatch(reply, /Location:/i);
  }
  // WebDAV and writes: CivetWeb answered PROPFIND with the folder's listing.
  for (const m of ['PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'OPTIONS', 'POST']) {
    const reply = await get(`${m} / HTTP/1.1\r\nContent-Length: 0`);
    assert.equal(status(reply), 405, `${m}: ${reply.split('\r\n')[0]}`);
    assert.match(reply, /Allow: GET, HEAD/);
    assert.doesNotMatch(reply, /multistatus|app\.mjs/i);
  }
  // What the portal is made of is served as before.
  for (const p of ['/', '/index.html', '/js/app.mjs']) {
    const reply = await get(`GET ${p} HTTP/1.1`);
    assert.equal(status(reply), 200, p);
    assert.match(reply, /X-Content-Type-Options: nosniff/);
  }
  assert.equal(status(await get('HEAD /index.html HTTP/1.1')), 200);
  assert.match(await get('GET /js HTTP/1.1'), /Location: \/js\//);
});

test("CivetWeb's own log lines never carry a query string", async () => {
  const logFrom = accessLogSize(srv.dataDir);
  fs.mkdirSync(path.join(srv.portalDir, 'js'), { recursive: true });
  // A long query string on a folder's redirect made CivetWeb log its whole
  // access line ("truncating vsnprintf buffer: [...]") while it formatted
  // one; it no longer does (the access line is the server's own), and any
  // of its messages still has its query strings cut ("?(query removed)").
  await rawRequest(srv.port, `GET /js?token=SECRET${'x'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n` +
    'Connection: close\r\n\r\n');
  await rawRequest(srv.port, `GET /nope.html?token=SECRET2${'y'.repeat(9000)} HTTP/1.1\r\n` +
    'Host: x\r\nConnection: close\r\n\r\n');
  await request(srv.url, 'GET', '/api/v1/health');
  assert.doesNotMatch(srv.stderr(), /SECRET/);
  // The access log's lines are written by its thread in batches
  // (docs/server.md): wait until this test's three requests are in it.
  const access = await accessLogWith(srv.dataDir, [/"path":"\/js"/, /"path":"\/nope\.html"/,
    /"path":"\/api\/v1\/health"/], { from: logFrom });
  assert.match(access, /"path":"\/nope\.html"/);
  assert.doesNotMatch(access, /SECRET/);
});
