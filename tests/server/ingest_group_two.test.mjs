// The ingest group statement across server processes (issue 16, grpstmt2,
// server/store/db_series.c): the exactly-once guarantee is ingest_batches'
// primary key, whichever process's statement claims a batch id, and a copy
// claimed meanwhile by another process is a duplicate without failing the
// other batches of its group. Two servers on one database, server B an older
// binary when METRON_OLD_SERVER_BIN names one (e.g. `scripts/bench-kept build
// 41ce161`'s: its own group statement beside this one), else this build.
// Every batch is sent to both at once, many at a time, so that groups form
// in both processes and copies meet in concurrent statements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricSamples, startServer, startStack } from './harness.mjs';
import { MIN_US, appClient, baseTime, dataTenant, inNewGroup, storedCounts, uniq } from './data_helpers.mjs';
import { stopTwo } from './two_servers.mjs';

const METRICS_TOKEN = 'metrics-' + 'w'.repeat(32);
const options = { env: { METRON_METRICS_TOKEN: METRICS_TOKEN }, args: ['--db-pool', '8'] };

/** One batch of one sample per channel of "t" at time "ts". */
const batchAt = (t, id, ts, v) => ({ batch_id: id,
  snapshots: [{ t: ts, ids: t.channels, v: t.channels.map((_, k) => v + k) }] });

/** Batches [i0, i1) of "t" sent to both servers at once (viaA, viaB), the
 * copies' order alternated: each answered stored by one and duplicate by
 * the other. */
async function sendTwice(t, viaA, viaB, id, t0, i0, i1) {
  const sends = [];
  for (let i = i0; i < i1; i++) {
    const b = batchAt(t, `${id}-${i}`, t0 + i * MIN_US, i);
    const pair = i % 2 ? [viaA, viaB] : [viaB, viaA];
    for (const via of pair) sends.push(via.batch(b).then((r) => ({ i, r })));
  }
  const byBatch = new Map();
  for (const { i, r } of await Promise.all(sends)) byBatch.set(i, [...(byBatch.get(i) || []), r]);
  for (const [i, rs] of byBatch) {
    assert.deepEqual(rs.map((r) => r.status).sort(), [200, 201], `batch ${i}: ${rs.map((r) => r.text)}`);
    assert.deepEqual(rs.find((r) => r.status === 201).body,
      { duplicate: false, samples: t.channels.length, stored: t.channels.length, channels: t.channels.length },
      `batch ${i}`);
    assert.deepEqual(rs.find((r) => r.status === 200).body,
      { duplicate: true, samples: t.channels.length, stored: 0 }, `batch ${i}`);
  }
}

test('each batch sent to two server processes at once is stored once, with and without an alarm group', async () => {
  const { pg, srv: srvA, url, db } = await startStack(options);
  let srvB;
  try {
    srvB = await startServer({ ...options, databaseUrl: url,
      ...(process.env.METRON_OLD_SERVER_BIN ? { bin: process.env.METRON_OLD_SERVER_BIN } : {}) });
    const sql = (q) => pg.psql(q, db);
    const t = await dataTenant(srvA, { n: 3 });
    const viaA = appClient(srvA.url, t.app.credential);
    const viaB = appClient(srvB.url, t.app.credential);
    const t0 = baseTime();
    const id = uniq('w');
    const groupsA = async () => (await metricSamples(srvA.url, METRICS_TOKEN, 'metron_ingest_'))
      .metron_ingest_group_statements_total || 0;
    const g0 = await groupsA();
    // The app in no measurement group: st_store_group_plain in this build.
    await sendTwice(t, viaA, viaB, id, t0, 0, 120);
    assert.deepEqual(await storedCounts(sql, t), [120, 360]);
    // In a group: its alarm sequence checked (st_store_group).
    await inNewGroup(t);
    await sendTwice(t, viaA, viaB, id, t0, 120, 240);
    assert.deepEqual(await storedCounts(sql, t), [240, 720]);
    assert.ok(await groupsA() > g0, 'no group statement in this build');
    // Each batch's own samples at its own time; a later copy to either is a duplicate.
    const r = await t.c.get(`/api/v1/data/raw?channels=${t.channels.join(',')}&from=${t0}` +
      `&to=${t0 + 240 * MIN_US}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.t, Array.from({ length: 240 }, (_, i) => t0 + i * MIN_US));
    assert.deepEqual(r.body.channels.map((c) => c.v),
      [0, 1, 2].map((k) => Array.from({ length: 240 }, (_, i) => i + k)));
    for (const via of [viaA, viaB]) {
      const again = await via.batch(batchAt(t, `${id}-7`, t0 + 7 * MIN_US, 7));
      assert.equal(again.status, 200, again.text);
      assert.deepEqual(again.body, { duplicate: true, samples: 3, stored: 0 });
    }
    assert.equal(await sql(`SELECT connected AND last_seen_at IS NOT NULL FROM app_seen WHERE app_id = ${t.appId}`), 't');
  } finally {
    await stopTwo({ pg, srvA, srvB });
  }
});
