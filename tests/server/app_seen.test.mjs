// An app's last contact and connection state in app_seen (migration 064,
// issue 16): a narrow table of their own, written by every batch (at most
// every 5 s per app), POST /ingest/status, the MQTT bridge, the S6 sweep and
// the notices' record. What `connected` means stays what it was on apps:
// a batch connects its app again at once after a disconnect that another
// server process noted, however recently the app was seen before it; the
// sweep does not disconnect an app whose batch is being stored.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { pollUntil, psqlSession, request, setClock, startServer, useStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, uniq } from './data_helpers.mjs';

const ENV = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' };
// No job runs by itself: the test runs the S6 job where and when it says.
const stack = useStack({ env: ENV, args: ['--jobs-interval', '0'] });
const { sql } = stack;
let other;

/** A second server process on the same database (started once). */
async function otherServer() {
  other ??= await startServer({ databaseUrl: stack.url, env: ENV, args: ['--jobs-interval', '0'] });
  return other;
}

after(async () => {
  if (other) {
    await setClock(other.url, 0).catch(() => {});
    await other.stop();
    fs.rmSync(other.dataDir, { recursive: true, force: true });
  }
});

/** Run the S6 job (app_connections) on "srv" now: how many it did. */
async function s6(srv) {
  const r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=app_connections');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
  return r.body.jobs[0].done;
}

const batchAt = (t, id, t0) => ({ batch_id: id,
  snapshots: [{ t: t0, ids: t.channels, v: t.channels.map((_, k) => k) }] });

const state = (t) => sql(`SELECT connected || ' ' || COALESCE(connection_cause, '-')
  FROM app_seen WHERE app_id = ${t.appId}`);

/** Sessions waiting for a lock in a statement that contains "text". */
const waiting = async (text) => Number(await sql(`SELECT count(*) FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND query LIKE '%${text}%'`));

test('the seen columns are in app_seen: no CHECK, only 086\'s stamp trigger, no index on what a batch\'s seen update writes', async () => {
  const cols = await sql(`SELECT string_agg(column_name, ',' ORDER BY column_name)
    FROM information_schema.columns WHERE table_name = 'apps'
    AND column_name IN ('last_seen_at', 'last_seen_ip', 'connected', 'connected_at',
      'disconnected_at', 'connection_cause', 'connection_seen')`);
  assert.equal(cols, '', 'apps keeps none of the seen columns');
  assert.equal(await sql(`SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint
    WHERE conrelid = 'app_seen'::regclass`), 'fp', 'its key and its foreign key only');
  // One trigger: 086's row trigger that moves the account's change stamp
  // (account_changes) for a write outside the ingest statements; an
  // ingest statement's update has its counter row written already, and
  // the trigger's call ends at that look-up.
  assert.equal(await sql(`SELECT string_agg(tgname || ':' || tgfoid::regproc::text, ',') FROM pg_trigger
    WHERE tgrelid = 'app_seen'::regclass AND NOT tgisinternal`), 'app_seen_changed:mt_account_changed_row');
  assert.equal(await sql(`SELECT array_to_string(reloptions, ',') FROM pg_class
    WHERE oid = 'app_seen'::regclass`), 'fillfactor=50');
  // A batch's seen update writes these (connected stays true once it is):
  // no index holds them, so it is a heap-only update.
  const written = ['last_seen_at', 'last_seen_ip', 'connected_at', 'connection_cause'];
  const defs = (await sql(`SELECT pg_get_indexdef(indexrelid) FROM pg_index
    WHERE indrelid = 'app_seen'::regclass`)).split('\n');
  assert.equal(defs.length, 3, defs.join('\n'));
  for (const d of defs) {
    for (const col of written) {
      assert.ok(!new RegExp(`\\b${col}\\b`).test(d), `${d} holds ${col}`);
    }
  }
  // Every app has its row from its creation, and loses it with the app.
  const t = await dataTenant(stack.srv, { n: 1 });
  assert.equal(await state(t), 'false -');
  const r = await t.c.del(`/api/v1/apps/${t.appId}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM app_seen WHERE app_id = ${t.appId}`), '0');
});

test('a batch connects its app again at once after a disconnect noted by another server process', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime();
  let r = await t.ingest.batch(batchAt(t, uniq('a'), t0));
  assert.equal(r.status, 201, r.text);
  assert.equal(await state(t), 'true data');
  assert.ok(await s6(stack.srv) >= 1);
  // The other process, 11 minutes on, times the app out (10 minutes
  // without a batch, no group): a disconnect this process did not see.
  await setClock((await otherServer()).url, 11 * 60);
  try {
    assert.ok(await s6(await otherServer()) >= 1);
  } finally {
    await setClock(other.url, 0);
  }
  assert.equal(await state(t), 'false timeout');
  // The app's next batch, a moment after its last (well within 5 s), is
  // stored through this process: the app is connected by it.
  r = await t.ingest.batch(batchAt(t, uniq('b'), t0 + MIN_US));
  assert.equal(r.status, 201, r.text);
  assert.equal(await state(t), 'true data');
  const app = (await t.c.get(`/api/v1/apps/${t.appId}`)).body;
  assert.equal(app.connection.connected, true);
  assert.equal(app.connection.cause, 'data');
  assert.ok(await s6(other) >= 1);
  assert.equal(await sql(`SELECT string_agg(event || '/' || cause, ',' ORDER BY id)
    FROM app_connection_events WHERE app_id = ${t.appId}`),
  'connected/data,disconnected/timeout,connected/data');
});

test('the S6 sweep does not disconnect an app whose batch is being stored', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime() + 3600e6;
  let r = await t.ingest.batch(batchAt(t, uniq('c'), t0));
  assert.equal(r.status, 201, r.text);
  assert.ok(await s6(stack.srv) >= 1);
  // Silent for 20 minutes, as far as the table says.
  await sql(`UPDATE app_seen SET last_seen_at = now() - interval '20 minutes'
    WHERE app_id = ${t.appId}`);
  // A session holds the app's row: the next batch's seen update waits for
  // it, and so does the other process's sweep, queued behind the batch.
  const hold = psqlSession(stack.pg, stack.db, `BEGIN; SELECT 1 FROM app_seen
    WHERE app_id = ${t.appId} FOR SHARE; SELECT 'ready';\n`);
  let batch;
  let sweep;
  try {
    await pollUntil(async () => hold.out().includes('ready'), 'the held row');
    batch = t.ingest.batch(batchAt(t, uniq('d'), t0 + MIN_US));
    await pollUntil(async () => (await waiting('UPDATE app_seen')) === 1, 'the batch to wait');
    sweep = s6(await otherServer());
    await pollUntil(async () => (await waiting('app_seen')) === 2, 'the sweep to wait');
    await hold.end('ROLLBACK;\n');
  } catch (e) {
    await hold.end('ROLLBACK;\n').catch(() => {});
    throw e;
  }
  r = await batch;
  assert.equal(r.status, 201, r.text);
  await sweep;
  // Whichever went first, the batch is the app's last word: connected,
  // seen now.
  assert.equal(await state(t), 'true data');
  assert.equal(await sql(`SELECT last_seen_at > now() - interval '1 minute' FROM app_seen
    WHERE app_id = ${t.appId}`), 't');
});
