// Replies a client stops reading (docs/server.md "A reply that is not
// read", issue-16 area): a client that pipelines large static files and
// never reads loses its connection at the write deadline and its worker
// serves another request; a slow but steady reader of a large file (far
// above the minimum rate) gets all of it, over more than the floor; a
// missing static file is answered not_found with a sentence. Every wait is
// for an event, bounded far below CivetWeb's own 30 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { destroyChecked, metricSamples, startPostgres, startServer } from './harness.mjs';
import { tcpSocket, within } from './sock_helpers.mjs';

let pg;
let srv;
const METRICS = 'w'.repeat(40); // the scraper's token of /metrics
const FLOOR_MS = 1000; // the write deadline's floor for the test (10 s by default)
const BIG = 8 * 1024 * 1024; // a portal file larger than loopback's socket buffers hold at first
let bigHash;

before(async () => {
  pg = await startPostgres();
  srv = await startServer({ databaseUrl: await pg.createDatabase(), args: ['--threads', '2'],
    env: { METRON_TEST_WRITE_FLOOR_MS: String(FLOOR_MS), METRON_METRICS_TOKEN: METRICS } });
  const big = crypto.randomBytes(BIG);
  bigHash = crypto.createHash('sha256').update(big).digest('hex');
  fs.writeFileSync(path.join(srv.portalDir, 'big.png'), big);
});

after(async () => {
  const exit = await srv?.stop();
  await destroyChecked(pg);
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

/** Resolves once "check()" is true, looked at every 20 ms. */
function when(check) {
  return new Promise((resolve) => {
    const look = () => { if (check()) resolve(); else setTimeout(look, 20); };
    look();
  });
}

test('clients that pipeline large files and never read lose their connections at the write deadline, and their workers serve others', async () => {
  // 2 workers, each taken by a client that asks for the 8 MiB file four
  // times on one connection and reads nothing (paused from the start):
  // its receive window closes, the server's send buffer fills, and the
  // worker waits in its write. CivetWeb alone would wait 30 s for each
  // byte the client takes; the watchdog sees the server's unsent bytes
  // stay and the client take nothing for the floor (1 s here) and cuts
  // the connection. Only a worker given back can then answer /metrics.
  const before = await metricSamples(srv.url, METRICS);
  const clients = [];
  try {
    for (let i = 0; i < 2; i++) {
      const s = net.connect({ port: srv.port, host: '127.0.0.1' });
      s.on('error', () => {});
      s.pause();
      await within(new Promise((resolve) => s.once('connect', resolve)), 20000, 'connected');
      s.write('GET /big.png HTTP/1.1\r\nHost: metron\r\n\r\n'.repeat(4));
      clients.push(s);
    }
    // The server's side of each connection holds bytes it cannot send
    // (the client's window is closed)...
    for (const s of clients) {
      await within(when(() => (tcpSocket(srv.port, s.localPort)?.txQueue || 0) > 0), 20000,
        'the server held bytes the client does not take');
    }
    // ... until the watchdog cuts it: it leaves the established state.
    for (const s of clients) {
      await within(when(() => tcpSocket(srv.port, s.localPort)?.state !== '01'), 20000,
        'the server cut a connection whose client stopped reading');
    }
    const m = await within(metricSamples(srv.url, METRICS), 20000, 'a request served by a worker given back');
    assert.equal(m.metron_http_replies_cut_total - before.metron_http_replies_cut_total, 2);
    // What each client got before the cut: the first file's head and part
    // of its body, never more than was sent.
    for (const s of clients) {
      const chunks = [];
      s.on('data', (d) => chunks.push(d));
      const closed = new Promise((resolve) => s.once('close', resolve));
      s.resume();
      await within(closed, 20000, 'the connection closed');
      const got = Buffer.concat(chunks);
      assert.match(got.subarray(0, 20).toString('latin1'), /^HTTP\/1\.1 200 /);
      assert.ok(got.length < 4 * BIG, `cut before the four files went out (${got.length} bytes)`);
    }
  } finally {
    for (const s of clients) s.destroy();
  }
});

test('a slow but steady reader of a large file gets all of it, over more than the floor', async () => {
  // The client reads one chunk (at most 64 KiB) every 30 ms: about
  // 2 MB/s, far above the minimum rate (16 KiB/s), and the 8 MiB take at
  // least 128 chunks, 3.8 s: more than the floor. The server's queue holds
  // unsent bytes all along (looked at below): the deadline applies, and
  // every byte taken buys time.
  const before = await metricSamples(srv.url, METRICS);
  const s = net.connect({ port: srv.port, host: '127.0.0.1' });
  const chunks = [];
  let length = 0;
  let heldLate = false;
  const start = Date.now();
  s.on('error', () => {});
  s.on('data', (d) => {
    chunks.push(d);
    length += d.length;
    const t = tcpSocket(srv.port, s.localPort);
    if (t && t.txQueue > 0 && Date.now() - start > 2 * FLOOR_MS) heldLate = true;
    s.pause();
    setTimeout(() => s.resume(), 30);
  });
  const closed = new Promise((resolve) => s.once('close', resolve));
  s.write('GET /big.png HTTP/1.1\r\nHost: metron\r\nConnection: close\r\n\r\n');
  await within(closed, 120000, 'the whole file read');
  const raw = Buffer.concat(chunks);
  const headEnd = raw.indexOf('\r\n\r\n');
  assert.match(raw.subarray(0, headEnd).toString('latin1'), /^HTTP\/1\.1 200 /);
  const body = raw.subarray(headEnd + 4);
  assert.equal(body.length, BIG, `got ${body.length} of ${BIG} bytes (${length} with the head)`);
  assert.equal(crypto.createHash('sha256').update(body).digest('hex'), bigHash);
  assert.ok(heldLate, 'the server held unsent bytes past twice the floor: the deadline was running');
  const m = await metricSamples(srv.url, METRICS);
  assert.equal(m.metron_http_replies_cut_total, before.metron_http_replies_cut_total);
});

test('a missing portal file is answered not_found with a sentence', async () => {
  const r = await fetch(`${srv.url}/no-such-file.js`);
  assert.equal(r.status, 404);
  const body = await r.json();
  assert.equal(body.code, 'not_found');
  assert.match(body.message, /no such file/);
});

test("CivetWeb's own refusals carry the code of their status, with a sentence", async () => {
  // HTTP/9.9 is refused by CivetWeb before any route: 505 said bad_request before.
  const raw = await within(new Promise((resolve, reject) => {
    const s = net.connect(new URL(srv.url).port, '127.0.0.1');
    let d = '';
    s.on('data', (b) => { d += b; });
    s.on('end', () => resolve(d));
    s.on('error', reject);
    s.write('GET /api/v1/health HTTP/9.9\r\nHost: metron\r\n\r\n');
  }), 20000, 'HTTP/9.9');
  assert.match(raw, /^HTTP\/1\.1 505 /);
  const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
  assert.equal(body.code, 'http_version_not_supported');
  assert.match(body.message, /HTTP\/1\.0 and HTTP\/1\.1 only/);
});
