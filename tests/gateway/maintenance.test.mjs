// metron-gateway through a maintenance window (O1; docs/operations.md
// "Maintenance windows"): while the API answers 503 maintenance the
// gateway keeps its batches in its spool and backs off; when the window
// ends it back-fills them: every sample arrives once, with no gap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request, sleep, startPostgres, startServer } from '../server/harness.mjs';
import { dataTenant } from '../server/data_helpers.mjs';
import { rawOf, startGateway, until } from './helpers.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
let pg;
let db;
let srv;
let gw = null;
const sql = (q) => pg.psql(q, db);
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const ops = (method, p, body) => request(srv.url, method, `/api/v1/ops${p}`,
  { body, headers: { authorization: `Bearer ${OPS_TOKEN}` } });

before(async () => {
  pg = await startPostgres();
  const dbUrl = await pg.createDatabase();
  db = new URL(dbUrl).pathname.slice(1);
  srv = await startServer({ databaseUrl: dbUrl, args: ['--jobs-interval', '0'],
    env: { METRON_COMPACT_MS: '500', METRON_OPS_TOKEN: OPS_TOKEN } });
});

after(async () => {
  if (gw) {
    await gw.stop('SIGKILL');
    fs.rmSync(gw.state, { recursive: true, force: true });
  }
  await srv?.stop();
  await pg?.destroy();
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer|LeakSanitizer/);
});

test('a maintenance window: batches wait in the gateway, then arrive once each with no gap', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const from = Date.now() * 1000 - 5e6;
  gw = startGateway({ url: srv.url, code: t.app.credential });
  const batches = async () => Number(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`));
  await until(async () => (await batches()) >= 3, 'three batches stored');

  const now = Math.floor(Date.now() / 1000);
  let r = await ops('POST', '/maintenance', { starts_at: iso(now - 60), ends_at: iso(now + 3600) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const during = Date.now() * 1000;
  // The window is in force: nothing more is stored, batches wait in the spool.
  await until(async () => gw.spooled() >= 3, 'three batches waiting in the spool', 30000);
  const stored = await batches();
  await sleep(2000);
  assert.equal(await batches(), stored, 'nothing stored during the window');
  assert.deepEqual(gw.refused(), [], 'a 503 refuses nothing for good');

  r = await ops('POST', `/maintenance/${r.body.id}/cancel`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const over = Date.now() * 1000;
  await until(async () => gw.spooled() === 0, 'an empty spool (back-filled)', 30000);
  await sleep(1500);
  await gw.stop();
  assert.deepEqual(gw.refused(), []);

  // Every selected channel: one sample a second across the window, each once.
  r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200);
  for (const ch of t.channels) {
    const { t: times } = await rawOf(t.c, ch, from, Date.now() * 1000 + 5e6);
    assert.ok(times[0] < during && times[times.length - 1] > over, 'the samples span the window');
    for (let i = 1; i < times.length; i++) {
      assert.equal(times[i] - times[i - 1], 1e6, `channel ${ch}: a gap or a duplicate at ${times[i]}`);
    }
    const n = Number(await sql(`SELECT COALESCE(sum(n), 0) FROM series_day
      WHERE account_id = ${t.id} AND channel_id = ${ch}`));
    assert.equal(n, times.length, `channel ${ch}: every sample stored once`);
  }
  const [n, distinct] = (await sql(`SELECT count(*), count(DISTINCT batch_id) FROM ingest_batches
    WHERE account_id = ${t.id}`)).split('|').map(Number);
  assert.equal(n, distinct);
});
