// ingest_batches without its foreign key to apps (migration 060, issue 16):
// the ingest statements lock the apps of their batches FOR KEY SHARE once
// and raise the key's error for an app they do not find; a trigger on apps
// deletes a deleted app's batch ids. What the key guaranteed still holds:
// no batch of a deleted app is stored, a deleted app's batch ids go with it,
// also when the deletion races batches that are being stored.
//
// To make the race sure, a psql session holds the first batch's id (an
// uncommitted insert): the batch's statement, which has locked its app,
// waits for it; more batches queue behind it in the server (GET /metrics);
// the app is deleted by another session meanwhile (it waits, seen in
// pg_stat_activity); then the held id is rolled back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricSamples, pollUntil, psqlSession, useStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, storedCounts, uniq } from './data_helpers.mjs';

const METRICS_TOKEN = 'metrics-' + 'k'.repeat(32);
const stack = useStack({ env: { METRON_METRICS_TOKEN: METRICS_TOKEN }, args: ['--db-pool', '16'] });
const { sql } = stack;

const until = pollUntil;
/** A psql session that runs "first" (which prints "ready"), then "rest" on end(). */
const session = (first) => psqlSession(stack.pg, stack.db, first);

async function ingestWaits() {
  const n = (await metricSamples(stack.srv.url, METRICS_TOKEN, 'metron_ingest_group_waits_total')).metron_ingest_group_waits_total;
  assert.ok(n !== undefined, 'metron_ingest_group_waits_total');
  return n;
}

/** Sessions of the server waiting for a lock in a statement that contains "text". */
const waiting = async (text) => Number(await sql(`SELECT count(*) FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND query LIKE '%${text}%'`));

const batchAt = (t, id, t0, v = 1) => ({ batch_id: id,
  snapshots: [{ t: t0, ids: t.channels, v: t.channels.map((_, k) => v + k) }] });

test('a deleted app\'s batch ids are deleted with it', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime();
  const other = await dataTenant(stack.srv, { n: 2 });
  for (const [x, id] of [[t, uniq('d')], [t, uniq('d')], [other, uniq('o')]]) {
    const r = await x.ingest.batch(batchAt(x, id, t0));
    assert.equal(r.status, 201, r.text);
  }
  assert.equal((await storedCounts(sql, t))[0], 2);
  const r = await t.c.del(`/api/v1/apps/${t.appId}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE app_id = ${t.appId}`), '0');
  // Another account's app keeps its batch ids (and repeats stay duplicates).
  assert.equal((await storedCounts(sql, other))[0], 1);
  // A batch id of an app that does not exist is refused by PostgreSQL as
  // the foreign key refused it (the statement's own check).
  await assert.rejects(sql(`WITH app AS MATERIALIZED (SELECT 1 FROM apps a
      WHERE a.account_id = ${t.id} AND a.id = ${t.appId} FOR KEY SHARE)
    INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples)
    SELECT ${t.id}, CASE WHEN EXISTS (SELECT 1 FROM app) THEN ${t.appId}::bigint
      ELSE mt_ingest_app_gone(${t.id}, ${t.appId}) END, 'x', 1`), /foreign key/);
});

test('an app deleted while its batches are being stored: its deletion waits for them, and takes their batch ids', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime() + 3600e6;
  const id = uniq('r');
  // Another session holds the first batch's id (uncommitted): the batch's
  // statement, which has locked its app, waits for it in its claim.
  const hold = await session(`BEGIN; INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples)
    VALUES (${t.id}, ${t.appId}, '${id}-0', 0); SELECT 'ready';\n`);
  let del = null;
  let answers;
  try {
    await until(async () => hold.out().includes('ready'), 'the held batch id');
    const p0 = t.ingest.batch(batchAt(t, `${id}-0`, t0));
    await until(async () => (await waiting('INSERT INTO ingest_batches')) === 1, 'the first batch to wait');
    // Two more wait in the server's queue for the next group.
    const w0 = await ingestWaits();
    const ps = [];
    for (const i of [1, 2]) {
      ps.push(t.ingest.batch(batchAt(t, `${id}-${i}`, t0 + i * MIN_US)));
      await until(async () => (await ingestWaits()) === w0 + ps.length, 'the batches to queue');
    }
    // The app is deleted meanwhile, in another session: it waits for the
    // batch that locked the app.
    del = await session(`DELETE FROM apps WHERE id = ${t.appId}; SELECT 'deleted';\n`);
    await until(async () => (await waiting('DELETE FROM apps')) === 1, 'the deletion to wait');
    await hold.end('ROLLBACK;\n');
    answers = await Promise.all([p0, ...ps]);
  } catch (e) {
    await hold.end('ROLLBACK;\n').catch(() => {});
    throw e;
  }
  await until(async () => del.out().includes('deleted'), 'the deletion');
  await del.end('');
  const [first, ...queued] = answers;
  // The first batch was stored before the deletion went on; the queued ones
  // either locked the app before the deletion (stored) or were refused
  // after it (the app is unknown).
  assert.equal(first.status, 201, first.text);
  for (const r of queued) {
    assert.ok(r.status === 201 || r.status === 401, r.text);
  }
  // Whatever was stored lost its batch ids with the app.
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE app_id = ${t.appId}`), '0');
  // A hot row for each stored batch, none for a refused one.
  assert.equal(Number(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`)),
    answers.filter((r) => r.status === 201).length);
});
