// PostgreSQL going away and coming back; graceful shutdown.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sleep, startPostgres, startServer } from './harness.mjs';

let pg;
let srv;

before(async () => {
  pg = await startPostgres();
  srv = await startServer({ databaseUrl: await pg.createDatabase() });
});
after(async () => {
  await srv?.stop();
  await pg?.destroy();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

async function health() {
  const r = await fetch(srv.url + '/api/v1/health');
  return { status: r.status, body: await r.json() };
}

test('a PostgreSQL restart: 503 db down while it is away, 200 again without a restart',
  async () => {
    // Warm every pooled connection so that the restart breaks them all.
    await Promise.all(Array.from({ length: 8 }, health));
    assert.equal((await health()).status, 200);
    await pg.stop();
    for (let i = 0; i < 3; i++) {
      const h = await health();
      assert.equal(h.status, 503);
      assert.deepEqual(h.body, { status: 'unavailable', db: 'down' });
    }
    await pg.start();
    let h;
    const deadline = Date.now() + 5000;
    do {
      h = await health();
      if (h.status === 200) break;
      await sleep(100);
    } while (Date.now() < deadline);
    assert.equal(h.status, 200);
    assert.deepEqual(h.body, { status: 'ok', db: 'ok' });
    // Every connection works again.
    const all = await Promise.all(Array.from({ length: 8 }, health));
    assert.deepEqual(all.map((x) => x.status), Array(8).fill(200));
    assert.equal(srv.proc.exitCode, null);
  });

test('SIGTERM lets a request in flight finish, then the server exits 0', async () => {
  const t0 = Date.now();
  const slow = fetch(srv.url + '/api/v1/debug/sleep?ms=1500').then(async (r) => ({
    status: r.status, body: await r.json() }));
  await sleep(300);
  srv.proc.kill('SIGTERM');
  await sleep(200);
  const during = await fetch(srv.url + '/api/v1/health');
  assert.equal(during.status, 503);
  assert.equal((await during.json()).code, 'shutting_down');
  const res = await slow;
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { slept_ms: 1500 });
  assert.ok(Date.now() - t0 >= 1500);
  // While draining, new requests are refused cleanly (or the port is closed).
  const late = await fetch(srv.url + '/api/v1/health').then((r) => r.status, () => 'closed');
  assert.ok(late === 503 || late === 'closed', String(late));
  const { code } = await srv.exited;
  assert.equal(code, 0);
  assert.match(srv.stderr(), /shutting down/);
  // No longer accepting.
  await assert.rejects(fetch(srv.url + '/api/v1/health'));
});
