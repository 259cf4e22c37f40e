// Group commit in a steady flow (issue 16, grpfixed; server/svc/ingest_group.h,
// INGEST_GATHER_US): once a group of at least 4 batches was stored, the next
// group starts no sooner than METRON_INGEST_GATHER_US after it started (or
// once no batch has come for a quarter of that), so that the batches coming
// meanwhile share one statement and one commit; a batch that follows a
// smaller group is not held. The wait is 1 s here (6 ms by default) so that
// it can be seen at any load.
//
// The first group of 5 is made as in ingest_group.test.mjs: a psql session
// holds series_hot, the first batch's statement waits for it, five more
// queue behind it in the server, then the session commits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricSamples, pollUntil, psqlSession, useStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, storedCounts, uniq } from './data_helpers.mjs';

const METRICS_TOKEN = 'metrics-' + 'g'.repeat(32);
const GATHER_MS = 1000;
const stack = useStack({ env: { METRON_METRICS_TOKEN: METRICS_TOKEN, METRON_INGEST_GATHER_US: String(GATHER_MS * 1000) },
  args: ['--db-pool', '16'] });
const { sql } = stack;

const counters = () => metricSamples(stack.srv.url, METRICS_TOKEN, 'metron_ingest_');

const delta = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] || 0)]));

const batchAt = (t, id, t0, v = 1) => ({ batch_id: id,
  snapshots: [{ t: t0, ids: t.channels, v: t.channels.map((_, k) => v + k) }] });

/** The answer to "b" and the milliseconds it took. */
async function timed(t, b) {
  const t0 = Date.now();
  const r = await t.ingest.batch(b);
  return { r, ms: Date.now() - t0 };
}

test('after a group of 5, batches coming within METRON_INGEST_GATHER_US of its start share the next group; after a smaller group a batch is not held', async () => {
  const t = await dataTenant(stack.srv, { n: 3 });
  const t0 = baseTime();
  const id = uniq('gather');
  let k = 0;
  const next = () => batchAt(t, `${id}-${k}`, t0 + k * MIN_US, 10 * k++);

  // A group of 5: the first batch alone behind the held table, five queued.
  const c0 = await counters();
  const p = psqlSession(stack.pg, stack.db, "BEGIN; LOCK TABLE series_hot IN SHARE MODE; SELECT 'locked';\n");
  await pollUntil(async () => p.out().includes('locked') || p.exited(), 'the lock');
  assert.ok(p.out().includes('locked'), p.err());
  let first;
  try {
    first = [t.ingest.batch(next())];
    await pollUntil(async () => Number(await sql(`SELECT count(*) FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ingest_batches%'`)) === 1,
    'the first batch to wait for the lock');
    const w0 = (await counters()).metron_ingest_group_waits_total;
    for (let i = 0; i < 5; i++) {
      first.push(t.ingest.batch(next()));
      await pollUntil(async () => (await counters()).metron_ingest_group_waits_total === w0 + i + 1,
        'the batch to queue');
    }
  } finally {
    await p.end('COMMIT;\n');
  }
  for (const r of await Promise.all(first)) assert.equal(r.status, 201, r.text);
  const c1 = await counters();
  assert.equal(delta(c0, c1).metron_ingest_group_statements_total, 1);
  assert.equal(delta(c0, c1).metron_ingest_grouped_batches_total, 5);

  // Three batches right after it, 30 ms apart: the first waits for the
  // others (until no batch came for GATHER_MS / 4, at most until GATHER_MS
  // after the group of 5 started); one statement.
  const three = [];
  for (let i = 0; i < 3; i++) {
    three.push(timed(t, next()));
    await new Promise((res) => setTimeout(res, 30));
  }
  const answers = await Promise.all(three);
  for (const { r } of answers) assert.equal(r.status, 201, r.text);
  const c2 = await counters();
  assert.equal(delta(c1, c2).metron_ingest_group_statements_total, 1, JSON.stringify(delta(c1, c2)));
  assert.equal(delta(c1, c2).metron_ingest_grouped_batches_total, 3);
  assert.ok(answers[0].ms >= GATHER_MS / 5, `the first of the three answered in ${answers[0].ms} ms: not held`);

  // The last group had 3 batches: a batch now goes at once, alone, though
  // the last group started less than GATHER_MS ago.
  const lone = await timed(t, next());
  assert.equal(lone.r.status, 201, lone.r.text);
  const c3 = await counters();
  assert.equal(delta(c2, c3).metron_ingest_group_statements_total, 0);
  assert.ok(lone.ms < GATHER_MS * 0.8, `a batch after a group of 3 took ${lone.ms} ms`);

  // Every batch stored once, each with its samples.
  assert.deepEqual(await storedCounts(sql, t), [k, 3 * k]);
  const again = await t.ingest.batch(batchAt(t, `${id}-7`, t0 + 7 * MIN_US, 70));
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.duplicate, true);
});
