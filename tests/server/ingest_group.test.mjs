// Group commit of small ingest batches (issue 16, server/svc/ingest_group.h):
// batches that reach the store while another batch's statement runs are
// stored together, in one statement and one commit, and each is answered
// after that commit. Every answer stays what the batch would get alone: a
// second copy of a batch id in the same group is a duplicate, a batch that
// fails fails alone (the others are stored), a batch whose group's alarm
// sequence moved on is evaluated again and stored.
//
// To make a group for sure, a psql session holds series_hot (LOCK ... SHARE
// MODE): the first batch's statement waits for it (seen in pg_stat_activity),
// the next ones queue behind it in the server (seen in GET /metrics), then
// the session commits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricSamples, pollUntil, psqlSession, useStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, inNewGroup, storedCounts, uniq } from './data_helpers.mjs';

const METRICS_TOKEN = 'metrics-' + 'g'.repeat(32);
const stack = useStack({ env: { METRON_METRICS_TOKEN: METRICS_TOKEN }, args: ['--db-pool', '16'] });
const { sql } = stack;

/** The counters of GET /metrics whose names start with metron_ingest_. */
const counters = () => metricSamples(stack.srv.url, METRICS_TOKEN, 'metron_ingest_');

const until = pollUntil;

/** A psql session holding series_hot until release(). */
async function holdHotTable() {
  const p = psqlSession(stack.pg, stack.db, "BEGIN; LOCK TABLE series_hot IN SHARE MODE; SELECT 'locked';\n");
  await until(async () => p.out().includes('locked') || p.exited(), 'the lock');
  assert.ok(p.out().includes('locked'), p.err());
  return { release: () => p.end('COMMIT;\n') };
}

/** Statements of the server waiting for a lock while they store a batch. */
const blockedStores = async () => Number(await sql(`SELECT count(*) FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ingest_batches%'`));

/** One batch of one sample per channel at time "t". */
const batchAt = (t, id, t0, v = 1) => ({ batch_id: id,
  snapshots: [{ t: t0, ids: t.channels, v: t.channels.map((_, k) => v + k) }] });

/**
 * Send "first" and wait until its statement waits for the held table; send
 * "rest" in order, each once the one before waits in the server's queue; release the
 * table. Returns the answers [first, ...rest] and the counters' changes.
 */
async function inOneGroup(t, first, rest, between = async () => {}) {
  const before0 = await counters();
  const lock = await holdHotTable();
  let answers;
  try {
    const p0 = t.ingest.batch(first);
    await until(async () => (await blockedStores()) === 1, 'the first batch to wait for the lock');
    const w0 = (await counters()).metron_ingest_group_waits_total;
    // One at a time, each queued before the next is sent: the queue's order
    // is then that of "rest" (which copy of a batch id is the duplicate
    // depends on it; sent all at once, they reached the queue in any order).
    const ps = [];
    for (const b of rest) {
      ps.push(t.ingest.batch(b));
      await until(async () => (await counters()).metron_ingest_group_waits_total === w0 + ps.length,
        'the other batches to queue');
    }
    await between();
    await lock.release();
    answers = await Promise.all([p0, ...ps]);
  } catch (e) {
    await lock.release().catch(() => {});
    throw e;
  }
  const after0 = await counters();
  const delta = Object.fromEntries(Object.keys(after0).map((k) => [k, after0[k] - (before0[k] || 0)]));
  return { answers, delta };
}

const stored = (t) => storedCounts(sql, t);

test('batches arriving together are stored in one statement; a copy of a batch id in the group is a duplicate', async () => {
  const t = await dataTenant(stack.srv, { n: 3 });
  const t0 = baseTime();
  const id = uniq('g');
  const rest = [1, 2, 3, 4].map((i) => batchAt(t, `${id}-${i}`, t0 + i * MIN_US, 10 * i));
  // Two copies of batch 2 in the same group (other values: still the same batch).
  rest.push(batchAt(t, `${id}-2`, t0 + 9 * MIN_US, 99));
  const { answers, delta } = await inOneGroup(t, batchAt(t, `${id}-0`, t0, 0), rest);
  for (const r of answers.slice(0, 5)) {
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body, { duplicate: false, samples: 3, stored: 3, channels: 3 });
  }
  assert.equal(answers[5].status, 200, answers[5].text);
  assert.deepEqual(answers[5].body, { duplicate: true, samples: 3, stored: 0 });
  // The four queued batches (and the copy) went in one statement that did not fail.
  assert.equal(delta.metron_ingest_group_statements_total, 1);
  assert.equal(delta.metron_ingest_grouped_batches_total, 4);
  assert.equal(delta.metron_ingest_group_retries_total, 0);
  assert.equal(delta['metron_ingest_batches_total{result="stored"}'], 5);
  assert.equal(delta['metron_ingest_batches_total{result="duplicate"}'], 1);
  assert.deepEqual(await stored(t), [5, 15]);
  // Each batch's own samples, at its own time (the payloads cut right).
  const r = await t.c.get(`/api/v1/data/raw?channels=${t.channels.join(',')}&from=${t0}` +
    `&to=${t0 + 10 * MIN_US}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.t, [0, 1, 2, 3, 4].map((i) => t0 + i * MIN_US));
  assert.deepEqual(r.body.channels.map((c) => c.v),
    [0, 1, 2].map((k) => [0, 1, 2, 3, 4].map((i) => 10 * i + k)));
  // The app is seen, and a retry later is still a duplicate.
  assert.equal(await sql(`SELECT connected AND last_seen_at IS NOT NULL FROM app_seen WHERE app_id = ${t.appId}`), 't');
  const again = await t.ingest.batch(rest[2]);
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.duplicate, true);
});

test('a batch that fails inside a group fails alone: the others of its group are stored', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime() + 3600e6;
  const bad = t0 + 3 * MIN_US;
  // A real refusal by PostgreSQL for one batch's hot row (a trigger of this
  // test), so that the group's statement fails.
  await sql(`CREATE FUNCTION test_refuse_hot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.account_id = ${t.id} AND NEW.t_min = ${bad} THEN
      RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER test_refuse_hot BEFORE INSERT ON series_hot
      FOR EACH ROW EXECUTE FUNCTION test_refuse_hot()`);
  try {
    const id = uniq('f');
    const rest = [1, 2, 3, 4].map((i) => batchAt(t, `${id}-${i}`, t0 + i * MIN_US, i));
    rest.push(batchAt(t, `${id}-2`, t0 + 9 * MIN_US, 99)); // a copy inside the failing group
    const { answers, delta } = await inOneGroup(t, batchAt(t, `${id}-0`, t0), rest);
    const [first, b1, b2, b3, b4, copy] = answers;
    for (const r of [first, b1, b4]) assert.equal(r.status, 201, r.text);
    assert.equal(b3.status, 500, b3.text);
    // Batch 2 and its copy, each retried alone: one stored, one duplicate.
    assert.deepEqual([b2.status, copy.status].sort(), [200, 201]);
    assert.equal([b2, copy].find((r) => r.status === 200).body.duplicate, true);
    assert.equal(delta.metron_ingest_group_statements_total, 1);
    assert.equal(delta.metron_ingest_group_retries_total, 5);
    assert.equal(delta['metron_ingest_batches_total{result="stored"}'], 4);
    assert.deepEqual(await stored(t), [4, 8]);
    assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}
      AND batch_id = '${id}-3'`), '0');
  } finally {
    await sql('DROP TRIGGER test_refuse_hot ON series_hot; DROP FUNCTION test_refuse_hot()');
  }
});

test('batches of a group whose alarm sequence moved while they waited are evaluated again and stored', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const group = await inNewGroup(t);
  let r;
  const t0 = baseTime() + 2 * 3600e6;
  const id = uniq('s');
  // Known to the server's memory before the group is held.
  r = await t.ingest.batch(batchAt(t, `${id}-w`, t0 - MIN_US));
  assert.equal(r.status, 201, r.text);
  const rest = [1, 2, 3].map((i) => batchAt(t, `${id}-${i}`, t0 + i * MIN_US, i));
  const { answers, delta } = await inOneGroup(t, batchAt(t, `${id}-0`, t0), rest, async () => {
    // Another process moves the group's sequence on while the batches wait.
    await sql(`INSERT INTO alarm_groups (account_id, group_id, seq) VALUES (${t.id}, ${group}, 7)
      ON CONFLICT (account_id, group_id) DO UPDATE SET seq = alarm_groups.seq + 7`);
  });
  for (const a of answers) {
    assert.equal(a.status, 201, a.text);
    assert.equal(a.body.duplicate, false);
  }
  assert.equal(delta.metron_ingest_group_statements_total >= 1, true);
  assert.deepEqual(await stored(t), [5, 10]);
});

test('waiting batches hold no pooled connection: more batches than connections wait, and other requests are served meanwhile', async () => {
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime() + 4 * 3600e6;
  const id = uniq('p');
  /** A gauge or counter of GET /metrics by its full name. */
  const metric = async (name) => {
    const n = (await metricSamples(stack.srv.url, METRICS_TOKEN, name))[name];
    assert.ok(n !== undefined, name);
    return n;
  };
  const timeouts0 = await metric('metron_db_pool_timeouts_total');
  // 24 waiting batches: more than the pool's 16 connections (each would
  // hold one while it waits if waiters kept theirs).
  const rest = Array.from({ length: 24 }, (_, i) => batchAt(t, `${id}-${i + 1}`, t0 + (i + 1) * MIN_US, i));
  const { answers } = await inOneGroup(t, batchAt(t, `${id}-0`, t0), rest, async () => {
    // The first batch's statement holds one connection, the waiting ones
    // none (background work may hold a few: a bound well under the 16 that
    // waiters holding theirs would take).
    assert.ok(await metric('metron_db_pool_connections{state="in_use"}') < 8);
    assert.equal(await metric('metron_db_pool_waiting'), 0);
    const r = await t.c.post('/api/v1/groups', { name: uniq('Busy') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  for (const a of answers) {
    assert.equal(a.status, 201, a.text);
    assert.equal(a.body.duplicate, false);
  }
  assert.equal(await metric('metron_db_pool_timeouts_total'), timeouts0);
  assert.deepEqual(await stored(t), [25, 50]);
});

test('many batches at once, copies among them and some refused by PostgreSQL: each is answered as it would be alone', async () => {
  // Groups form and end while other batches arrive, store and are answered
  // (each waiter reads its answer without the queue's lock, issue 16): every
  // batch gets its own answer, once, whichever group took it.
  const t = await dataTenant(stack.srv, { n: 2 });
  const t0 = baseTime() + 6 * 3600e6;
  const id = uniq('m');
  const N = 160;
  const refused = new Set(Array.from({ length: N }, (_, i) => i).filter((i) => i % 13 === 5));
  await sql(`CREATE FUNCTION test_refuse_many() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.account_id = ${t.id} AND NEW.t_min IN (${[...refused].map((i) => t0 + i * MIN_US).join(',')}) THEN
      RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER test_refuse_many BEFORE INSERT ON series_hot
      FOR EACH ROW EXECUTE FUNCTION test_refuse_many()`);
  try {
    const before0 = await counters();
    // Each batch twice, both copies sent at once (in one group, or not).
    const sends = [];
    for (let i = 0; i < N; i++) {
      const b = batchAt(t, `${id}-${i}`, t0 + i * MIN_US, i);
      sends.push(t.ingest.batch(b).then((r) => ({ i, r })), t.ingest.batch(b).then((r) => ({ i, r })));
    }
    const answers = await Promise.all(sends);
    const byBatch = new Map();
    for (const { i, r } of answers) byBatch.set(i, [...(byBatch.get(i) || []), r]);
    for (const [i, rs] of byBatch) {
      if (refused.has(i)) {
        for (const r of rs) assert.equal(r.status, 500, `batch ${i}: ${r.text}`);
        continue;
      }
      assert.deepEqual(rs.map((r) => r.status).sort(), [200, 201], `batch ${i}: ${rs.map((r) => r.text)}`);
      assert.deepEqual(rs.find((r) => r.status === 201).body, { duplicate: false, samples: 2, stored: 2, channels: 2 });
      const dup = rs.find((r) => r.status === 200).body;
      // The first copy's count, also when the copy's statement ran while the
      // first copy's, in another group, committed (its snapshot does not see
      // that row: db_series.c reads the count again in a statement of its own).
      assert.deepEqual(dup, { duplicate: true, samples: 2, stored: 0 }, `batch ${i}`);
    }
    const good = N - refused.size;
    assert.deepEqual(await stored(t), [good, 2 * good]);
    const after0 = await counters();
    assert.equal(after0['metron_ingest_batches_total{result="stored"}'] -
      before0['metron_ingest_batches_total{result="stored"}'], good);
    assert.ok(after0.metron_ingest_group_statements_total > before0.metron_ingest_group_statements_total,
      'no group was made');
    // The values, each at its own time.
    const r = await t.c.get(`/api/v1/data/raw?channels=${t.channels.join(',')}&from=${t0}` +
      `&to=${t0 + N * MIN_US}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const kept = Array.from({ length: N }, (_, i) => i).filter((i) => !refused.has(i));
    assert.deepEqual(r.body.t, kept.map((i) => t0 + i * MIN_US));
    assert.deepEqual(r.body.channels.map((c) => c.v), [0, 1].map((k) => kept.map((i) => i + k)));
  } finally {
    await sql('DROP TRIGGER test_refuse_many ON series_hot; DROP FUNCTION test_refuse_many()');
  }
});
