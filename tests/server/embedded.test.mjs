// The embedded default: no DATABASE_URL -> a private cluster in DATA/pg.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { processesMentioning, sleep, startServer, tempDir } from './harness.mjs';

const dataDir = tempDir('metron-embed-');
after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function stopAndCheck(srv) {
  const { code } = await srv.stop('SIGTERM');
  assert.equal(code, 0, srv.stderr());
  assert.match(srv.stderr(), /embedded PostgreSQL: stopped/);
  // The postmaster named its data folder on its command line.
  let left = processesMentioning(path.join(dataDir, 'pg'));
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(100);
    left = processesMentioning(path.join(dataDir, 'pg'));
  }
  assert.deepEqual(left, [], 'no PostgreSQL left running for the data folder');
}

test('without DATABASE_URL the server creates, uses and stops its own cluster', async () => {
  const srv = await startServer({ dataDir, startTimeoutMs: 90000 });
  assert.match(srv.stderr(), /creating the cluster/);
  assert.ok(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION')));
  if (process.getuid() === 0) {
    const st = fs.statSync(path.join(dataDir, 'pg'));
    assert.notEqual(st.uid, 0, 'the cluster belongs to the postgres user');
  }
  const conf = fs.readFileSync(path.join(dataDir, 'pg', 'metron.conf'), 'utf8');
  assert.match(conf, /listen_addresses = '127\.0\.0\.1'/);
  const res = await fetch(srv.url + '/api/v1/health');
  assert.deepEqual(await res.json(), { status: 'ok', db: 'ok', changes_heard: true });
  await stopAndCheck(srv);
});

test('a second start reuses the cluster (and a second server on it is refused)', async () => {
  const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
  assert.doesNotMatch(srv.stderr(), /creating the cluster/);
  assert.match(srv.stderr(), /0 migrations applied now/);
  const other = await startServer({ dataDir, waitHealthy: false }).catch((e) => e);
  assert.ok(other instanceof Error);
  assert.match(other.message, /in use by another metron-server/);
  const res = await fetch(srv.url + '/api/v1/health');
  assert.equal(res.status, 200);
  await stopAndCheck(srv);
});
