// Connections a client holds wrongly (docs/server.md "Connections", issue-16
// area): a request that cannot be read closes its connection after its 400
// while one refused for what its body holds keeps it; a 408 its client does
// not read frees its worker within the bound; a TLS connection waiting in
// CivetWeb's queue with its handshake sent is not shed as idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { metricSamples, startPostgres, startServer } from './harness.mjs';

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
  await pg?.destroy();
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
});

/** "promise", or a failure naming "what" once "ms" pass first (a bound on
 * what must happen, never a wait: the test goes on at the event). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

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
