// Issue #11 item 3: request bodies cannot be used to make the server hold
// memory. Credentials are checked before a byte of the body is read, on
// every route that has them (the app credential of the ingestion routes
// too), and all bodies in flight share one budget (--body-memory): past it
// a request is refused with 503 server_busy and Retry-After.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { serverRoutes, sleep, startServer, startStack, stopStack } from './harness.mjs';
import { dataTenant } from './data_helpers.mjs';

let pg;
let srv;

before(async () => {
  // A small budget for the budget test: two 2 MiB batches do not fit in 3 MiB.
  // The operator's and the scraper's routes exist only with their tokens
  // set: set them, so that their credential check is tried too.
  ({ pg, srv } = await startStack({
    args: ['--max-raw-body', String(2 << 20), '--body-memory', String(3 << 20)],
    env: { METRON_METRICS_TOKEN: 'm'.repeat(40), METRON_OPS_TOKEN: 'o'.repeat(40) },
  }));
});

after(() => stopStack({ pg, srv }));

const MiB = 1 << 20;

/** The server's resident memory in bytes (VmRSS). */
function rss(proc) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

/**
 * A raw HTTP request on its own connection. "head" is the request line and
 * headers (without the blank line); the body is written as "bodyBytes"
 * bytes of "fill" in 1 MiB writes, stopping as soon as the server has
 * answered. Resolves { status, text, sent, ms } when the whole reply (its
 * Content-Length) has come, then closes the connection.
 */
function rawSend(port, head, { bodyBytes = 0, fill = 0x20, pauseAt = -1, resume } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let reply = '';
    let sent = 0;
    let done = false;
    const chunk = Buffer.alloc(MiB, fill);
    const finish = () => {
      if (done) return;
      done = true;
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      resolve({ status: m ? Number(m[1]) : 0, text: reply, sent, ms: Date.now() - t0 });
    };
    s.setEncoding('latin1');
    s.on('data', (d) => {
      reply += d;
      const end = reply.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(reply.slice(0, end));
      if (end >= 0 && len && reply.length >= end + 4 + Number(len[1])) finish();
    });
    s.on('end', finish);
    s.on('close', finish);
    s.on('error', () => { /* the server closed while we wrote */ });
    const pump = async () => {
      s.write(head + '\r\n\r\n');
      while (sent < bodyBytes && !s.destroyed && !reply) {
        let n = Math.min(MiB, bodyBytes - sent);
        if (pauseAt >= 0 && sent < pauseAt && sent + n > pauseAt) n = pauseAt - sent;
        if (!s.write(chunk.subarray(0, n))) {
          await new Promise((r) => {
            const go = () => { s.off('drain', go); s.off('close', go); r(); };
            s.on('drain', go);
            s.on('close', go);
          });
        }
        sent += n;
        if (sent === pauseAt && resume) await resume;
      }
    };
    pump().catch(() => {});
    s.setTimeout(20000, finish);
  });
}

/** Wait until the server's body bytes held (metron_http_body_bytes_held)
 * satisfy "ok"; fails with the last value after 60 s. */
async function bodyHeld(ok, what) {
  let n = -1;
  for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
    const r = await fetch(srv.url + '/metrics',
      { headers: { authorization: `Bearer ${'m'.repeat(40)}` } });
    const m = /^metron_http_body_bytes_held (\d+)$/m.exec(await r.text());
    assert.ok(m, 'metron_http_body_bytes_held in /metrics');
    n = Number(m[1]);
    if (ok(n)) return n;
    await sleep(20);
  }
  assert.fail(`${what}: ${n} bytes held`);
}

/** The status line and headers of a reply. */
function headOf(r) {
  return r.text.split('\r\n\r\n')[0];
}

test('four 59 MiB bodies without a credential are refused before they are read: no memory held', async () => {
  const routes = ['/api/v1/ingest/batches', '/api/v1/ingest/live'];
  const bogus = 'Bearer mta_' + 'A'.repeat(43); // the right shape, an unknown credential
  const before = rss(srv.proc);
  const started = Date.now();
  const replies = await Promise.all([0, 1, 2, 3].map((i) => rawSend(srv.port,
    `POST ${routes[i % 2]} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${59 * MiB}` + (i < 2 ? '' : `\r\nAuthorization: ${bogus}`),
    { bodyBytes: 59 * MiB })));
  const peak = rss(srv.proc);
  for (const r of replies) {
    assert.equal(r.status, 401, headOf(r));
    assert.match(r.text, /"code":"unauthenticated"/);
    assert.match(headOf(r), /Connection: close/i);
    assert.ok(r.ms < 5000, `answered after ${r.ms} ms`);
  }
  // A refused body was not read: far less than 4 x 59 MiB went through.
  const sentTotal = replies.reduce((a, r) => a + r.sent, 0);
  const after = rss(srv.proc);
  console.log(`# RSS before ${(before / MiB).toFixed(1)} MiB, after 4 bogus 59 MiB bodies ` +
    `${(peak / MiB).toFixed(1)} / ${(after / MiB).toFixed(1)} MiB; ` +
    `${(sentTotal / MiB).toFixed(0)} MiB written by the clients in ${Date.now() - started} ms`);
  assert.ok(peak - before < 8 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB`);
  assert.ok(after - before < 8 * MiB);
  const h = await fetch(srv.url + '/api/v1/health');
  assert.equal(h.status, 200);
});

/** Every route of the route tables that reads a body: [{method, path, auth, body}]. */
function bodyRoutes() {
  return serverRoutes()
    .map((r) => ({ method: r.method, path: r.pattern.replaceAll('*', '1'), auth: r.auth, body: r.body }));
}

test('every route with credentials refuses a request without them before reading its body', async () => {
  const routes = bodyRoutes().filter((r) => r.auth !== 'AUTH_PUBLIC');
  assert.ok(routes.length > 60, `${routes.length} routes`);
  assert.ok(routes.some((r) => r.path === '/api/v1/ingest/batches' && r.auth === 'AUTH_APP'));
  assert.ok(routes.some((r) => r.path === '/api/v1/ingest/live' && r.auth === 'AUTH_APP'));
  for (const r of routes) {
    // 1 MiB announced, 16 bytes sent: a server that read the body first
    // would wait for the rest (until its 30 s request timeout).
    const reply = await rawSend(srv.port,
      `${r.method} ${r.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${MiB}`, { bodyBytes: 16 });
    assert.equal(reply.status, 401, `${r.method} ${r.path}: ${headOf(reply)}`);
    assert.ok(reply.ms < 5000, `${r.method} ${r.path} answered after ${reply.ms} ms`);
  }
});

test('bodies in flight share the --body-memory budget: past it 503 server_busy with Retry-After', async () => {
  const t = await dataTenant(srv);
  const head = (len) => `POST /api/v1/ingest/batches HTTP/1.1\r\nHost: x\r\n` +
    `Authorization: Bearer ${t.app.credential}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${len}`;
  // A: 2 MiB announced, all but 10 bytes sent, then it waits (it holds 2 MiB).
  let release;
  const resume = new Promise((r) => { release = r; });
  const a = rawSend(srv.port, head(2 * MiB), { bodyBytes: 2 * MiB, pauseAt: 2 * MiB - 10, resume });
  // B: another 2 MiB does not fit beside it in 3 MiB, once the server has
  // read what A sent (on a loaded machine that may take a moment: wait for
  // the bytes held to show it).
  await bodyHeld((n) => n >= 2 * MiB - 10, 'A\'s 2 MiB read and held');
  const b = await rawSend(srv.port, head(2 * MiB), { bodyBytes: 2 * MiB });
  assert.equal(b.status, 503, headOf(b));
  assert.match(headOf(b), /Retry-After: \d+/i);
  assert.match(b.text, /"code":"server_busy"/);
  // A goes on and is answered as usual (spaces are not a batch: 400).
  release();
  const ra = await a;
  assert.equal(ra.status, 400, headOf(ra));
  // What A held is given back when its request ends, just after its reply
  // left: every byte (a leak would never come back to 0). Then B fits.
  await bodyHeld((n) => n === 0, 'every body given back');
  const b2 = await rawSend(srv.port, head(2 * MiB), { bodyBytes: 2 * MiB });
  assert.equal(b2.status, 400, headOf(b2));
  // A body the limit refuses is 413 before anything is read.
  const big = await rawSend(srv.port, head(3 * MiB), { bodyBytes: 16 });
  assert.equal(big.status, 413, headOf(big));
});

test('--body-memory below the body limits is refused at start', async () => {
  await assert.rejects(startServer({
    databaseUrl: 'postgresql://127.0.0.1:1/none', waitHealthy: false,
    args: ['--max-raw-body', String(2 << 20), '--body-memory', String(1 << 20)],
  }), /body-memory/);
});
