// Issue #11: probes of the HTTP surface, one case each -- reply headers
// sized from their content (item 6), header values that are stored
// (item 7), and the second layers of item 9 that live in HTTP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, stopStack } from './harness.mjs';
import { dataTenant } from './data_helpers.mjs';

let pg;
let srv;

before(async () => {
  ({ pg, srv } = await startStack());
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
