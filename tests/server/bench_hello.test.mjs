// The durable hello-world of scripts/bench-server (tests/bench/civet_hello.c
// with --db; docs/benchmarks.md "mixfloor"): a POST's body is in its table
// when the reply comes, a GET gets the fixed reply and stores nothing.
// Built with the server (build/tests/bench/metron-bench-hello).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, serverBin, spawnWatched, startPostgres } from './harness.mjs';

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
