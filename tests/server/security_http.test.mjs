// Issue #11: probes of the HTTP surface, one case each -- reply headers
// sized from their content (item 6), header values that are stored
// (item 7), and the second layers of item 9 that live in HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { request, startStack, stopStack } from './harness.mjs';
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

