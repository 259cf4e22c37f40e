// Batch ids kept for --batch-id-days (docs/ingest.md "How long a batch id is
// kept"): the job "ingest_batch_ids" deletes the rows of ingest_batches
// received before the retention, a bounded range of pages per step, one
// pass shared by every server process on the database; a retry inside the
// retention is still answered as a duplicate, and nothing else is touched.
// Rows are made old by setting received_at back in SQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { metricSamples, request, setClock, sleep, startServer, startStack, stopStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, storedCounts } from './data_helpers.mjs';

const METRICS_TOKEN = 'b'.repeat(20) + '-metrics-token-0123456789';
let pg;
let srv;
let db;
let url;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));

before(async () => {
  // The thread stays off: every round is one the test asks for.
  ({ pg, srv, db, url } = await startStack({ args: ['--jobs-interval', '0'],
    env: { METRON_METRICS_TOKEN: METRICS_TOKEN } }));
});

after(() => stopStack({ pg, srv }));

/** One round of the job on server "s"; returns what it deleted. */
async function prune(s = srv) {
  const r = await request(s.url, 'POST', '/api/v1/test/jobs?job=ingest_batch_ids');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs.length, 1);
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
  return r.body.jobs[0].done;
}

/** Forget the last pass, so that the next round starts one at once. */
const newPass = () => sql(`UPDATE ingest_batch_prune
  SET next_block = 0, pass_started_at = NULL, last_pass_at = NULL`);

/** Rounds on server "s" until the pass it is in ends; returns what they deleted. */
async function wholePass(s = srv) {
  let done = 0;
  for (let round = 0; round < 100; round++) {
    done += await prune(s);
    if (await sql('SELECT pass_started_at IS NULL FROM ingest_batch_prune') === 't') return done;
  }
  assert.fail('the pass did not end in 100 rounds');
}

const pruned = async (s = srv) => {
  const n = (await metricSamples(s.url, METRICS_TOKEN, 'metron_ingest_batch_ids_pruned_total')).metron_ingest_batch_ids_pruned_total;
  assert.ok(n !== undefined, 'metron_ingest_batch_ids_pruned_total is reported');
  return n;
};

const age = (t, batchId, days) => sql(`UPDATE ingest_batches
  SET received_at = now() - interval '${days} days'
  WHERE account_id = ${t.id} AND app_id = ${t.appId} AND batch_id = '${batchId}'`);

const ids = async (t) => (await sql(`SELECT batch_id FROM ingest_batches
  WHERE account_id = ${t.id} ORDER BY batch_id`)).split('\n').filter(Boolean);

test('batch ids past 30 days are deleted, a retry inside them is still a duplicate, nothing else is touched', async () => {
  const t = await dataTenant(srv);
  const other = await dataTenant(srv);
  const t0 = baseTime();
  const batch = (id, k) => ({ batch_id: id,
    channels: [{ id: t.channels[0], t: [t0 + k * MIN_US], v: [k] }] });
  for (const [id, k] of [['old', 1], ['recent', 2], ['fresh', 3]]) {
    assert.equal((await t.ingest.batch(batch(id, k))).status, 201);
  }
  assert.equal((await other.ingest.batch({ batch_id: 'other',
    channels: [{ id: other.channels[0], t: [t0], v: [7] }] })).status, 201);
  await age(t, 'old', 31);
  await age(t, 'recent', 29);
  await age(other, 'other', 10);
  const samples = await storedCounts(sql, t);
  const others = await storedCounts(sql, other);
  const appsBefore = await sql(`SELECT app_id, last_seen_at FROM app_seen ORDER BY app_id`);
  const metricBefore = await pruned();

  await newPass();
  assert.equal(await prune(), 1);
  assert.deepEqual(await ids(t), ['fresh', 'recent']);
  assert.equal(await count(`SELECT count(*) FROM ingest_batches WHERE account_id = ${other.id}`), 1);
  // The samples, the apps and the other account stay as they were.
  assert.deepEqual((await storedCounts(sql, t))[1], samples[1]);
  assert.deepEqual(await storedCounts(sql, other), others);
  assert.equal(await sql(`SELECT app_id, last_seen_at FROM app_seen ORDER BY app_id`), appsBefore);
  assert.equal(await pruned() - metricBefore, 1);

  // A retry 29 days late is still the same batch.
  let r = await t.ingest.batch(batch('recent', 2));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.duplicate, true);
  r = await t.ingest.batch(batch('fresh', 3));
  assert.equal(r.body.duplicate, true);
  // One 31 days late is stored again (its sample replaces the stored one).
  r = await t.ingest.batch(batch('old', 1));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.duplicate, false);
  assert.deepEqual(await ids(t), ['fresh', 'old', 'recent']);

  // The pass is over: the next round waits an hour (auth_now(), the test
  // clock) before it reads the table again.
  await age(t, 'recent', 31);
  assert.equal(await prune(), 0);
  try {
    await setClock(srv.url, 3601);
    assert.equal(await prune(), 1);
    assert.deepEqual(await ids(t), ['fresh', 'old']);
  } finally {
    await setClock(srv.url, 0);
  }
});

test('a pass reads a bounded range of pages per step and per round, shared by two server processes', async () => {
  const t = await dataTenant(srv);
  // 250,000 batch ids 40 days old, then one fresh: more pages than a round
  // reads (16 steps of 128 pages).
  await sql(`INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples, received_at)
    SELECT ${t.id}, ${t.appId}, 'gw-' || (1733000000 + g * 60) || '-60', 60,
      now() - interval '40 days' FROM generate_series(1, 250000) g`);
  assert.equal((await t.ingest.batch({ batch_id: 'fresh',
    channels: [{ id: t.channels[0], t: [baseTime()], v: [1] }] })).status, 201);
  const pages = await count(`SELECT pg_relation_size('ingest_batches') / 8192`);
  assert.ok(pages > 2048, `${pages} pages`);
  const oldIn = (from, to) => count(`SELECT count(*) FROM ingest_batches
    WHERE received_at < now() - interval '30 days'
      AND ctid >= '(${from},0)'::tid AND ctid < '(${to},0)'::tid`);
  const inRound = await oldIn(0, 2048);
  const rest = await oldIn(2048, pages + 1);
  assert.ok(inRound > 0 && rest > 0);

  await newPass();
  assert.equal(await prune(), inRound);
  assert.equal(await oldIn(0, 2048), 0);
  assert.equal(await oldIn(2048, pages + 1), rest);
  assert.equal(await sql(`SELECT next_block, pass_started_at IS NOT NULL, last_pass_at IS NULL
    FROM ingest_batch_prune`), '2048|t|t');

  // While another process holds the job's lock, a round does nothing.
  const holder = pg.psql(`SELECT pg_advisory_lock(hashtext('metron.job.ingest_batch_ids')),
    pg_sleep(4)`, db);
  const deadline = Date.now() + 3000;
  while (await count(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND l.granted AND a.query LIKE '%pg_sleep(4)%'
      AND l.pid <> pg_backend_pid()`) === 0) {
    assert.ok(Date.now() < deadline, 'the lock was not taken within 3 s');
    await sleep(50);
  }
  assert.equal(await prune(), 0);
  await holder;
  assert.equal(await oldIn(2048, pages + 1), rest);

  // A second server process on the database goes on with the same pass
  // from where the first left it, and ends it.
  const s2 = await startServer({ databaseUrl: url, args: ['--jobs-interval', '0'] });
  try {
    assert.equal(await prune(s2), rest);
  } finally {
    await s2.stop();
    fs.rmSync(s2.dataDir, { recursive: true, force: true });
  }
  assert.equal(await sql(`SELECT next_block, pass_started_at IS NULL, last_pass_at IS NOT NULL
    FROM ingest_batch_prune`), '0|t|t');
  assert.deepEqual(await ids(t), ['fresh']);
});

test('--batch-id-days sets the retention; 0 keeps batch ids for ever; out of range is refused', async () => {
  const t = await dataTenant(srv);
  for (const [id, k] of [['three', 3], ['one', 1]]) {
    assert.equal((await t.ingest.batch({ batch_id: id,
      channels: [{ id: t.channels[0], t: [baseTime() + k * MIN_US], v: [k] }] })).status, 201);
    await age(t, id, k);
  }
  const never = await startServer({ databaseUrl: url, args: ['--jobs-interval', '0'],
    env: { METRON_BATCH_ID_DAYS: '0' } });
  try {
    await newPass();
    assert.equal(await prune(never), 0);
    assert.equal(await sql('SELECT last_pass_at IS NULL FROM ingest_batch_prune'), 't');
    assert.deepEqual(await ids(t), ['one', 'three']);
  } finally {
    await never.stop();
    fs.rmSync(never.dataDir, { recursive: true, force: true });
  }
  const two = await startServer({ databaseUrl: url, args: ['--jobs-interval', '0',
    '--batch-id-days', '2'] });
  try {
    await newPass();
    // "three", and the first test's other account's batch id (10 days old).
    assert.equal(await wholePass(two), 2);
    assert.deepEqual(await ids(t), ['one']);
    assert.equal(await count(`SELECT count(*) FROM ingest_batches
      WHERE received_at < now() - interval '2 days'`), 0);
  } finally {
    await two.stop();
    fs.rmSync(two.dataDir, { recursive: true, force: true });
  }
  for (const bad of ['-1', '3651', 'a week']) {
    const e = await startServer({ databaseUrl: url, env: { METRON_BATCH_ID_DAYS: bad } })
      .catch((err) => err);
    assert.ok(e instanceof Error, bad);
    assert.match(e.message, /METRON_BATCH_ID_DAYS|batch-id-days/);
  }
});
