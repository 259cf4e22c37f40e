// Connections a client holds wrongly (docs/server.md "Connections", issue-16
// area): a request that cannot be read closes its connection after its 400
// while one refused for what its body holds keeps it; a 408 its client does
// not read frees its worker within the bound; a TLS connection waiting in
// CivetWeb's queue with its handshake sent is not shed as idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { destroyChecked, metricSamples, startPostgres, startServer, tempDir } from './harness.mjs';
import { tcpSocket, within } from './sock_helpers.mjs';

let pg;
let srv;
const METRICS = 'm'.repeat(40); // the scraper's token of /metrics

before(async () => {
  pg = await startPostgres();
  srv = await startServer({ databaseUrl: await pg.createDatabase(),
    env: { METRON_METRICS_TOKEN: METRICS } });
});

after(async () => {
  const exit = await srv?.stop();
  await destroyChecked(pg);
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
});

/** The complete replies at the start of "raw" (latin1): [{ status, head, body }]. */
function replies(raw) {
  const out = [];
  let at = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const head = raw.slice(at, end);
    const len = /\r\nContent-Length: (\d+)/i.exec(head);
    const bodyEnd = end + 4 + (len ? Number(len[1]) : 0);
    if (raw.length < bodyEnd) return out;
    const text = raw.slice(end + 4, bodyEnd);
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON */ }
    out.push({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] || 0), head, body });
    at = bodyEnd;
  }
}

const HEALTH = 'GET /api/v1/health HTTP/1.1\r\nHost: metron\r\n\r\n';

/** Send "text" on a new connection; once its reply is complete, ask
 * GET /api/v1/health on the same connection. Resolves with the first reply
 * and whether the connection was closed (the server closed it before a
 * second reply) or kept (the health check answered on it). */
function thenAgain(text, port = srv.port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let raw = '';
    let asked = false;
    const done = (kept) => { s.destroy(); resolve({ first: replies(raw)[0], kept, raw }); };
    s.on('error', () => {});
    s.on('data', (d) => {
      raw += d.toString('latin1');
      const got = replies(raw);
      if (got.length >= 1 && !asked) { asked = true; s.write(HEALTH); }
      if (got.length >= 2) done(true);
    });
    s.on('close', () => done(false));
    s.write(text, 'latin1');
  });
}

const LOGIN = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: metron\r\nContent-Type: application/json\r\n';

test('a request that cannot be read is answered 400 with a sentence and its connection closed; one refused for what it holds keeps it', async () => {
  // Not read: the connection closes after the reply, and what the client
  // sends after it is never read as a request. Before, a body that is not
  // JSON (and, from CivetWeb, conflicting length headers) was answered on
  // a connection kept open for the 5 s keep-alive wait, and a
  // Content-Length under what was sent left the rest to be read as the
  // next request.
  const closes = {
    'a body that is not JSON': [`${LOGIN}Content-Length: 5\r\n\r\n{bad}`, 'malformed_json', /malformed JSON at byte/],
    'an empty JSON body': [`${LOGIN}Content-Length: 0\r\n\r\n`, 'malformed_json', /body is empty/],
    'a body that is not UTF-8': [`${LOGIN}Content-Length: 3\r\n\r\n"\xff"`, 'malformed_json', /not valid UTF-8/],
    'a Content-Length under what is sent': [`${LOGIN}Content-Length: 5\r\n\r\n{"account":"a","user":"b"}`, 'malformed_json', /malformed JSON/],
    'a chunk size that is not one': [`${LOGIN}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, 'bad_body', /could not be read/],
    'two Content-Length headers': [`${LOGIN}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 'bad_request', /more than one Content-Length/],
    'the same Content-Length twice': [`${LOGIN}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`, 'bad_request', /more than one Content-Length/],
    'Content-Length and Transfer-Encoding': [`${LOGIN}Content-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 'bad_request', /both a Content-Length and a Transfer-Encoding/],
    'chunked twice': [`${LOGIN}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, 'bad_request', /more than one Transfer-Encoding/],
    'a Content-Length with a sign': [`${LOGIN}Content-Length: +2\r\n\r\n{}`, 'bad_request', /not a number of bytes/],
    'a Content-Length list': [`${LOGIN}Content-Length: 2, 2\r\n\r\n{}`, 'bad_request', /not a number of bytes/],
    'a request line of garbage': ['\x00\x01\x02 \xff\xfe HTTP/1.1\r\n\r\n', 'bad_request', /could not be read/],
    'a header without a colon': ['GET /api/v1/health HTTP/1.1\r\nHost x\r\n\r\n', 'bad_request', /could not be read/],
  };
  for (const [what, [text, code, sentence]] of Object.entries(closes)) {
    const r = await within(thenAgain(text), 20000, what);
    assert.equal(r.first?.status, 400, `${what}: ${r.raw.slice(0, 300)}`);
    assert.equal(r.first.body?.code, code, what);
    assert.match(r.first.body.message, sentence, what);
    assert.match(r.first.head, /\r\nConnection: close/i, what);
    assert.equal(r.kept, false, `${what}: the connection was closed after the 400`);
  }
  // Read, and refused for what it holds: the connection stays for the next.
  const keeps = {
    'a member of the wrong type': [`${LOGIN}Content-Length: 13\r\n\r\n{"account":1}`, 400, 'wrong_type'],
    'a JSON body that is not an object': [`${LOGIN}Content-Length: 2\r\n\r\n[]`, 400, 'wrong_type'],
    'no such route': ['GET /api/v1/nope HTTP/1.1\r\nHost: metron\r\n\r\n', 404, 'not_found'],
    'one Content-Length on a GET': ['GET /api/v1/health HTTP/1.1\r\nHost: metron\r\nContent-Length: 2\r\n\r\n{}', 200, undefined],
  };
  for (const [what, [text, status, code]] of Object.entries(keeps)) {
    const r = await within(thenAgain(text), 20000, what);
    assert.equal(r.first?.status, status, `${what}: ${r.raw.slice(0, 300)}`);
    assert.equal(r.first.body?.code, code, what);
    assert.doesNotMatch(r.first.head, /\r\nConnection: close/i, what);
    assert.equal(r.kept, true, `${what}: the connection was kept for the next request`);
  }
});

/** A client that pipelines 4 static files of 256 KiB and a POST whose body
 * it never sends, and reads nothing (paused from the start). */
async function nonReader(port) {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => {});
  s.pause();
  await within(new Promise((resolve) => s.once('connect', resolve)), 20000, 'connected');
  s.write('GET /fill.png HTTP/1.1\r\nHost: metron\r\n\r\n'.repeat(4) +
    'POST /api/v1/debug/echo HTTP/1.1\r\nHost: metron\r\nContent-Type: application/json\r\n' +
    'Content-Length: 400\r\n\r\n{');
  return s;
}

test('clients that send their bodies too slowly and never read get their workers given back at the deadline, with the socket buffers full', async () => {
  // 2 workers, each taken by a client that pipelines 4 static files of
  // 256 KiB whose replies it never reads (its receive window closes and
  // the server holds the rest, unsent), then a POST that announces a body
  // and sends none of it. The body's deadline (a floor of 1 s for the
  // test) shuts the read side and the 408 is written behind the unsent
  // replies: the server's send buffer (megabytes on loopback) still has
  // room for a few hundred bytes. Only replies that left it full to
  // within that would block it (then the watchdog shuts the socket both
  // ways 1 s later, http_deadline.c); more, and the worker would block in
  // an earlier reply instead. Each worker then closes its connection (the server's
  // socket closed with bytes still to send: FIN_WAIT1) and is given back:
  // a third request is served, which only a worker given back can do.
  const small = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '2'], env: { METRON_TEST_BODY_FLOOR_MS: '1000', METRON_METRICS_TOKEN: METRICS } });
  fs.writeFileSync(path.join(small.portalDir, 'fill.png'), Buffer.alloc(256 * 1024, 0x61));
  const clients = [];
  try {
    clients.push(await nonReader(small.port), await nonReader(small.port));
    for (const s of clients) {
      const port = s.localPort;
      const closedSide = await within(new Promise((resolve) => {
        const look = () => {
          const t = tcpSocket(small.port, port);
          if (t && t.state !== '01') resolve(t); else setTimeout(look, 20);
        };
        look();
      }), 20000, 'the server closed a connection whose client does not read');
      assert.equal(closedSide.state, '04', JSON.stringify(closedSide));
      assert.ok(closedSide.txQueue > 0, `the server held bytes it could not send (${closedSide.txQueue})`);
      assert.ok(tcpSocket(port, small.port).rxQueue > 0, 'the client left bytes unread');
    }
    // On a new connection (startServer()'s readiness check left none in
    // fetch's pool to hold a worker, be shed as idle and cut this request).
    const m = await within(metricSamples(small.url, METRICS), 20000, 'a request served by a worker given back');
    assert.equal(m.metron_http_bodies_cut_total, 2);
    // What each left unread: the 4 files, then the 408 with its sentence.
    for (const s of clients) {
      const chunks = [];
      s.on('data', (d) => chunks.push(d));
      const ended = new Promise((resolve) => s.once('end', resolve));
      s.resume();
      await within(ended, 20000, 'the unread replies');
      const got = replies(Buffer.concat(chunks).toString('latin1'));
      assert.equal(got.length, 5);
      assert.ok(got.slice(0, 4).every((r) => r.status === 200));
      assert.equal(got[4].status, 408);
      assert.equal(got[4].body?.code, 'body_too_slow');
      assert.match(got[4].body.message, /did not arrive in time/);
    }
  } finally {
    for (const s of clients) s.destroy();
    const exit = await small.stop();
    assert.equal(exit.code, 0, small.stderr());
    assert.doesNotMatch(small.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});

/** A certificate for 127.0.0.1 and the server's PEM (certificate + key). */
function makeCert() {
  const dir = tempDir('metron-conn-tls-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  fs.writeFileSync(path.join(dir, 'server.pem'),
    Buffer.concat([cert, fs.readFileSync(path.join(dir, 'key.pem'))]));
  return { dir, cert, pem: path.join(dir, 'server.pem') };
}

/** A TLS connection: { socket, secured (the handshake done), raw() (what
 * came), closed (resolves with what came once it closes) }. */
function tlsConnect(port, ca) {
  const socket = tls.connect({ port, host: '127.0.0.1', ca, servername: undefined });
  let raw = '';
  socket.on('error', () => {});
  socket.on('data', (d) => { raw += d.toString('latin1'); });
  const secured = new Promise((resolve) => socket.once('secureConnect', resolve));
  const closed = new Promise((resolve) => socket.once('close', () => resolve(raw)));
  return { socket, secured, raw: () => raw, closed };
}

test('a TLS connection waiting in the queue with its handshake sent is not shed as idle, and is served once a worker frees', async () => {
  // 4 workers, all busy (4 TLS requests whose bodies have not come yet:
  // busy connections are never shed). A fifth TLS client connects: its
  // ClientHello waits, encrypted, in the socket of a connection accepted
  // but queued for a worker; it cannot send its request before a worker
  // does the handshake. A sixth connection sends nothing. While more than
  // half of the workers are taken, connections idle for 2 s are shed,
  // oldest first: before, the TLS one was shed first (its bytes hold no
  // "\r\n\r\n" to see) and its client's request was lost; now its unread
  // bytes count as a request waiting, and only the silent one is shed.
  const cert = makeCert();
  const small = await startServer({ databaseUrl: await pg.createDatabase(), waitHealthy: false,
    args: ['--threads', '4', '--tls-cert', cert.pem] });
  const holders = [];
  let queued = null;
  let silent = null;
  try {
    for (let i = 0; i < 4; i++) holders.push(tlsConnect(small.port, cert.cert));
    // Each handshake is done by a worker: all four are taken.
    await within(Promise.all(holders.map((h) => h.secured)), 20000, 'four TLS handshakes');
    for (const h of holders) {
      h.socket.write('POST /api/v1/debug/echo HTTP/1.1\r\nHost: metron\r\nContent-Type: application/json\r\n' +
        'Content-Length: 12\r\nConnection: close\r\n\r\n');
    }
    queued = tlsConnect(small.port, cert.cert);
    await within(new Promise((resolve) => queued.socket.once('connect', resolve)), 20000, 'the fifth connection');
    silent = net.connect(small.port, '127.0.0.1');
    silent.on('error', () => {});
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    // The silent one, accepted after the queued one, is shed: the watchdog
    // passed both of them after their 2 s.
    await within(silentClosed, 20000, 'the silent connection shed');
    assert.equal(queued.socket.destroyed, false, 'the queued TLS connection is still open');
    // One worker frees: it takes the queued connection, which is served.
    holders[0].socket.write('{"name":"a"}');
    assert.match(await within(holders[0].closed, 20000, 'the first request answered'), /^HTTP\/1\.1 200 /);
    await within(queued.secured, 20000, 'the queued connection\'s handshake');
    queued.socket.write('GET /api/v1/health HTTP/1.1\r\nHost: metron\r\nConnection: close\r\n\r\n');
    const answer = await within(queued.closed, 20000, 'the queued connection answered');
    assert.match(answer, /^HTTP\/1\.1 200 /, answer.slice(0, 200));
    for (const h of holders.slice(1)) h.socket.write('{"name":"b"}');
    for (const h of holders.slice(1)) {
      assert.match(await within(h.closed, 20000, 'a held request answered'), /^HTTP\/1\.1 200 /);
    }
  } finally {
    for (const h of holders) h.socket.destroy();
    queued?.socket.destroy();
    silent?.destroy();
    const exit = await small.stop();
    fs.rmSync(cert.dir, { recursive: true, force: true });
    fs.rmSync(small.dataDir, { recursive: true, force: true });
    assert.equal(exit.code, 0, small.stderr());
    assert.doesNotMatch(small.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});
