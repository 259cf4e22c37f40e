// The durable hello-world of scripts/bench-server (tests/bench/civet_hello.c
// with --db; docs/benchmarks.md "mixfloor"): a POST's body is in its table
// when the reply comes, a GET gets the fixed reply and stores nothing. With
// --replies ("bytesceil"): a request of the index gets its file's bytes as
// they are, path and query matched exactly; any other the fixed reply, counted.
// Built with the server (build/tests/bench/metron-bench-hello).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, serverBin, spawnWatched, startPostgres, tempDir } from './harness.mjs';

const helloBin = process.env.BENCH_HELLO_BIN ||
  path.join(path.dirname(serverBin), '..', 'tests', 'bench', 'metron-bench-hello');

test('the durable hello-world stores a POST body before its reply', { skip: !fs.existsSync(helloBin) &&
  `no ${helloBin}` }, async () => {
  const pg = await startPostgres();
  let hello = null;
  try {
    const dbUrl = await pg.createDatabase();
    const db = new URL(dbUrl).pathname.slice(1);
    const port = await freePort();
    hello = spawnWatched(helloBin, ['--listen', `127.0.0.1:${port}`, '--threads', '4', '--db', dbUrl,
      '--committers', '2'], {}, 'metron-bench-hello --db');
    await hello.waitFor(/listening on .*POST bodies stored durably, committers: 2, synchronous_commit=\w+/, 10000);
    const body = '{"batch_id":"one","snapshots":[{"t":1,"ids":[1],"v":[2.5]}]}';
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/ingest/batches`, { method: 'POST', body,
      headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^\{"hello":"x+"\}$/);
    assert.equal(await pg.psql("SELECT count(*) || ' ' || string_agg(convert_from(body, 'UTF8'), '') FROM hello_body", db),
      `1 ${body}`);
    const g = await fetch(`http://127.0.0.1:${port}/api/v1/me`);
    assert.equal(g.status, 200);
    await g.text();
    assert.equal(await pg.psql('SELECT count(*) FROM hello_body', db), '1');
    hello.proc.kill('SIGTERM');
    assert.deepEqual(await hello.exited, { code: 0, signal: null });
  } finally {
    if (hello && hello.proc.exitCode === null && hello.proc.signalCode === null) {
      hello.proc.kill('SIGKILL');
      await hello.exited;
    }
    await pg.destroy();
  }
});

// The whole reply to "request" (its bytes as sent) on a connection of its own.
function exchange(port, request) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end(request));
    const got = [];
    sock.on('data', (d) => got.push(d));
    sock.on('end', () => resolve(Buffer.concat(got).toString('latin1')));
    sock.on('error', reject);
  });
}

test('the hello-world with --replies sends each matched request its reply as it is', { skip:
  !fs.existsSync(helloBin) && `no ${helloBin}` }, async () => {
  const pg = await startPostgres();
  let hello = null;
  try {
    const dbUrl = await pg.createDatabase();
    const db = new URL(dbUrl).pathname.slice(1);
    const dir = tempDir('metron-hello-replies-');
    const list = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n' +
      'Connection: close\r\n\r\n{"items":[1]}';
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n[raw]';
    const stored = 'HTTP/1.1 201 Created\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"stored":true}\n';
    fs.writeFileSync(path.join(dir, 'list.http'), list);
    fs.writeFileSync(path.join(dir, 'raw.http'), raw);
    fs.writeFileSync(path.join(dir, 'stored.http'), stored);
    fs.writeFileSync(path.join(dir, 'index'), `GET /api/v1/devices ${dir}/list.http\n` +
      `GET /api/v1/data/raw?channels=1&from=2 ${dir}/raw.http\nPOST /api/v1/ingest/batches ${dir}/stored.http\n`);
    const port = await freePort();
    hello = spawnWatched(helloBin, ['--listen', `127.0.0.1:${port}`, '--threads', '4', '--db', dbUrl,
      '--replies', path.join(dir, 'index')], {}, 'metron-bench-hello --replies');
    await hello.waitFor(/listening on .*POST bodies stored durably.*; the replies of .*index, 3 requests\)/, 10000);
    const get = (uri) => exchange(port, `GET ${uri} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(await get('/api/v1/devices'), list);
    assert.equal(await get('/api/v1/data/raw?channels=1&from=2'), raw);
    const body = '{"batch_id":"one","snapshots":[]}';
    assert.equal(await exchange(port, `POST /api/v1/ingest/batches HTTP/1.1\r\nHost: x\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`), stored);
    assert.equal(await pg.psql("SELECT convert_from(body, 'UTF8') FROM hello_body", db), body);
    // Not in the index: another query, a path that only starts like one, another method.
    for (const r of [await get('/api/v1/data/raw?channels=1&from=3'), await get('/api/v1/devices/7'),
      await get('/api/v1/data/raw'), await exchange(port, 'DELETE /api/v1/devices HTTP/1.1\r\nHost: x\r\n' +
        'Connection: close\r\n\r\n')]) {
      assert.match(r, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"hello":"x+"\}$/);
    }
    hello.proc.kill('SIGTERM');
    assert.deepEqual(await hello.exited, { code: 0, signal: null });
    assert.match(hello.output(), /4 requests matched no reply/);
  } finally {
    if (hello && hello.proc.exitCode === null && hello.proc.signalCode === null) {
      hello.proc.kill('SIGKILL');
      await hello.exited;
    }
    await pg.destroy();
  }
});
