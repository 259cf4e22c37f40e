// The monitor's values kept with their account's change stamp (issue 16,
// stamp; server/base/monitor_cache.h, migration 086): a process answers a
// group's monitor from the values it read before when the stamp it reads on
// the request is the one they were read with. Two server processes on one
// database: whatever a monitor shows, written through the other process (or
// its compactor, or SQL), shows on the next request of a process whose kept
// values are in use (counted by metron_monitor_values_total{result="kept"}),
// and a right taken away ends the replies at once. A server of before 086
// beside this one (METRON_OLD_BIN, or build/kept/41ce161's when present)
// moves the stamp with its writes too (the migration's triggers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { heardAll, login, metricSamples, request, startServer } from './harness.mjs';
import { PW, backfill, compact, computedSum, gatewayOnBoth, keptPair, untilCounted } from './two_servers.mjs';
import { appClient, baseTime, MIN_US } from './data_helpers.mjs';

const TOKEN = 'm'.repeat(20) + '-metrics-token-stamp0123';
const { two, env: ENV, sql, kept } = keptPair(TOKEN, 'metron_monitor_values_total');

/** An account on both processes: a group with an app, a device of two
 * selected channels. */
async function tenant() {
  const t = await gatewayOnBoth(two, 'stamp');
  t.path = `/api/v1/groups/${t.groupId}/monitor`;
  return t;
}

const chan = (b, id) => b.apps.flatMap((a) => a.devices.flatMap((d) => d.channels))
  .concat(b.computed).find((c) => c.id === id);

/** The monitor through client "c" (200). */
async function monitor(t, c) {
  const r = await c.get(t.path);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Ask through "c" (of process "srv") until a reply comes from kept values
 * (read twice with the same stamp first); that reply. */
async function keptOn(t, c, srv) {
  return untilCounted(() => kept(srv), () => monitor(t, c), 'kept values');
}

test('ingest, folds and deletions through the other process show on the next reply of kept values',
  async () => {
    const t = await tenant();
    const t0 = baseTime(2);
    // A batch stored alone through A.
    let r = await t.viaA.batch({ batch_id: 'a1', snapshots: [{ t: t0, ids: t.ch, v: [1, 2] }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    let b = await keptOn(t, t.adminB, two.srvB);
    assert.deepEqual(chan(b, t.ch[0]).latest, { t: t0, v: 1 });
    r = await t.viaA.batch({ batch_id: 'a2', snapshots: [{ t: t0 + MIN_US, ids: t.ch, v: [3, 4] }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    b = await monitor(t, t.adminB);
    assert.deepEqual(chan(b, t.ch[0]).latest, { t: t0 + MIN_US, v: 3 }, 'a single batch through A');
    // Batches stored together (group statements) through A.
    await keptOn(t, t.adminB, two.srvB);
    const many = [];
    for (let k = 0; k < 12; k++) {
      many.push(t.viaA.batch({ batch_id: `g${k}`, snapshots: [{ t: t0 + (2 + k) * MIN_US, ids: t.ch,
        v: [10 + k, 20 + k] }] }));
    }
    for (const x of await Promise.all(many)) assert.equal(x.status, 201, JSON.stringify(x.body));
    b = await monitor(t, t.adminB);
    assert.deepEqual(chan(b, t.ch[1]).latest, { t: t0 + 13 * MIN_US, v: 31 }, 'a group through A');
    // A fold by either process's compactor: the same values, from channel_latest.
    for (const [by, srv] of [['A', two.srvA], ['B', two.srvB]]) {
      r = await t.viaB.batch({ batch_id: `f${by}`, snapshots: [{ t: t0 + 20 * MIN_US, ids: [t.ch[0]],
        v: [by === 'A' ? 7 : 8] }] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await keptOn(t, t.adminB, two.srvB);
      const before = await sql(`SELECT string_agg(xmin::text, ',' ORDER BY shard) FROM series_hot_count
        WHERE account_id = ${t.accountId}`);
      await compact(srv);
      assert.notEqual(await sql(`SELECT string_agg(xmin::text, ',' ORDER BY shard) FROM series_hot_count
        WHERE account_id = ${t.accountId}`), before, `the fold by ${by} moves the stamp`);
      assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.accountId}`), '0');
      const k0 = await kept(two.srvB);
      b = await monitor(t, t.adminB);
      assert.equal(await kept(two.srvB), k0, `read again after the fold by ${by}`);
      assert.deepEqual(chan(b, t.ch[0]).latest, { t: t0 + 20 * MIN_US, v: by === 'A' ? 7 : 8 });
      assert.deepEqual(chan(b, t.ch[1]).latest, { t: t0 + 13 * MIN_US, v: 31 });
    }
    // Retention deletes day blocks only: nothing a monitor shows; kept values stay in use.
    await keptOn(t, t.adminB, two.srvB);
    r = await request(two.srvA.url, 'POST', '/api/v1/test/jobs?job=data_retention');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await keptOn(t, t.adminB, two.srvB);
    // Every stored sample deleted (the over-quota deadline, in SQL): channel_latest goes.
    await sql(`SELECT mt_account_delete_stored(${t.accountId})`);
    b = await monitor(t, t.adminB);
    assert.equal(chan(b, t.ch[0]).latest, null, 'stored data deleted');
    assert.equal(chan(b, t.ch[1]).latest, null, 'stored data deleted');
    // A channel_latest row written outside a fold (a computed channel's day, the demo).
    await keptOn(t, t.adminB, two.srvB);
    await sql(`INSERT INTO channel_latest (account_id, channel_id, t, v) VALUES (${t.accountId}, ${t.ch[1]},
      ${t0 + 30 * MIN_US}, 42)`);
    b = await monitor(t, t.adminB);
    assert.deepEqual(chan(b, t.ch[1]).latest, { t: t0 + 30 * MIN_US, v: 42 }, 'channel_latest in SQL');
    // A channel deleted through A: gone from B's reply once announced.
    await keptOn(t, t.adminB, two.srvB);
    r = await t.adminA.del(`/api/v1/channels/${t.ch[1]}`);
    assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
    await heardAll(two.srvB);
    b = await monitor(t, t.adminB);
    assert.equal(chan(b, t.ch[1]), undefined, 'a channel deleted');
  });

test('a computed channel\'s days deleted and written again outside a fold (its expression edited, the back-fill) show on the next reply',
  async () => {
    const t = await tenant();
    const t0 = baseTime(30);
    const x = await computedSum(t, two.srvA, t0);
    await heardAll(two.srvB);
    let b = await keptOn(t, t.adminB, two.srvB);
    assert.deepEqual(chan(b, x).latest, { t: t0 + MIN_US, v: 9 });
    // The expression edited through A: its days and channel_latest row deleted at once.
    const r = await t.adminA.patch(`/api/v1/computed/${x}`, { expression: 'CH1-CH2' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await heardAll(two.srvB);
    b = await monitor(t, t.adminB);
    assert.equal(chan(b, x).expression, 'CH1-CH2');
    assert.equal(chan(b, x).latest, null, 'the computed values deleted');
    // The back-fill by B's process writes them again (series_write_day(), series_update_latest()).
    await keptOn(t, t.adminA, two.srvA);
    await backfill(two.srvB);
    b = await monitor(t, t.adminA);
    assert.deepEqual(chan(b, x).latest, { t: t0 + MIN_US, v: 5 }, 'the back-fill through B');
  });

test('a disconnect through the other process, by its sweep, and in SQL shows on the next reply', async () => {
  const t = await tenant();
  const t0 = baseTime(2);
  let r = await t.viaA.batch({ batch_id: 'c1', snapshots: [{ t: t0, ids: t.ch, v: [1, 2] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  let b = await keptOn(t, t.adminB, two.srvB);
  assert.equal(b.apps[0].connected, true);
  // POST /ingest/status through A.
  r = await t.viaA.status('disconnect');
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  b = await monitor(t, t.adminB);
  assert.equal(b.apps[0].connected, false, 'disconnected through A');
  r = await t.viaA.status('connect');
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  b = await monitor(t, t.adminB);
  assert.equal(b.apps[0].connected, true, 'connected through A');
  // The S6 sweep of A: an app silent past its group's minutes.
  await sql(`UPDATE app_seen SET last_seen_at = now() - interval '3 hours' WHERE app_id = ${t.appId}`);
  b = await keptOn(t, t.adminB, two.srvB);
  assert.equal(b.apps[0].connected, true);
  r = await request(two.srvA.url, 'POST', '/api/v1/test/jobs?job=app_connections');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 'f');
  b = await monitor(t, t.adminB);
  assert.equal(b.apps[0].connected, false, 'disconnected by the sweep');
  // Last contact alone, in SQL.
  await keptOn(t, t.adminB, two.srvB);
  await sql(`UPDATE app_seen SET last_seen_at = '2026-01-02T03:04:05Z' WHERE app_id = ${t.appId}`);
  b = await monitor(t, t.adminB);
  assert.equal(b.apps[0].last_seen_at, '2026-01-02T03:04:05Z', 'last contact in SQL');
});

test('a right taken away ends the replies of kept values at once on its process, on the other once heard',
  async () => {
    const t = await tenant();
    let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [{ user_id: t.memberId,
      access: 'view' }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await heardAll(two.srvB);
    await keptOn(t, t.memberA, two.srvA);
    await keptOn(t, t.memberB, two.srvB);
    r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await t.memberA.get(t.path)).status, 404);
    await heardAll(two.srvB);
    assert.equal((await t.memberB.get(t.path)).status, 404);
    // The administrator's kept values still answer.
    await keptOn(t, t.adminB, two.srvB);
  });

test('requests at once of kept values: every batch acknowledged before them shows', async () => {
  const t = await tenant();
  const t0 = baseTime(3);
  for (let k = 1; k <= 15; k++) {
    await keptOn(t, t.adminB, two.srvB);
    const r = await (k % 2 ? t.viaA : t.viaB).batch({ batch_id: `p${k}`,
      snapshots: [{ t: t0 + k * MIN_US, ids: t.ch, v: [k, k + 0.5] }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const asks = [];
    for (let i = 0; i < 8; i++) asks.push((i % 2 ? t.adminB : t.adminA).get(t.path));
    for (const a of await Promise.all(asks)) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(chan(a.body, t.ch[0]).latest, { t: t0 + k * MIN_US, v: k });
    }
  }
});

// A server of before 086: METRON_OLD_BIN, or the one scripts/bench-kept
// build 41ce161 makes (skipped without either).
const OLD_BIN = process.env.METRON_OLD_BIN ||
  [new URL('../../build/kept/41ce161/metron-server-test', import.meta.url).pathname]
    .find((p) => fs.existsSync(p));

test('a server of before 086 beside this one: its writes move the stamp too', { skip: !OLD_BIN && 'no old binary' },
  async () => {
    const old = await startServer({ bin: OLD_BIN, env: ENV, databaseUrl: two.url });
    try {
      const t = await tenant();
      const viaOld = appClient(old.url, t.credential);
      const t0 = baseTime(2);
      // The first batch of its channels through the old server (its channel_sent rows, its statement).
      let r = await viaOld.batch({ batch_id: 'o1', snapshots: [{ t: t0, ids: t.ch, v: [1, 2] }] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      let b = await keptOn(t, t.adminB, two.srvB);
      assert.deepEqual(chan(b, t.ch[0]).latest, { t: t0, v: 1 });
      r = await viaOld.batch({ batch_id: 'o2', snapshots: [{ t: t0 + MIN_US, ids: t.ch, v: [3, 4] }] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      b = await monitor(t, t.adminB);
      assert.deepEqual(chan(b, t.ch[0]).latest, { t: t0 + MIN_US, v: 3 }, 'a batch through the old server');
      // Its disconnect (no counter row moves with it).
      await keptOn(t, t.adminB, two.srvB);
      r = await viaOld.status('disconnect');
      assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
      b = await monitor(t, t.adminB);
      assert.equal(b.apps[0].connected, false, 'disconnected through the old server');
      // Its compactor's fold, then every stored sample deleted.
      await keptOn(t, t.adminB, two.srvB);
      await compact(old);
      b = await monitor(t, t.adminB);
      assert.deepEqual(chan(b, t.ch[1]).latest, { t: t0 + MIN_US, v: 4 });
      // A channel deleted through the old server.
      await keptOn(t, t.adminB, two.srvB);
      const adminOld = await login(old.url, { account: t.acc, user: 'admin', password: PW });
      r = await adminOld.del(`/api/v1/channels/${t.ch[1]}`);
      assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
      await heardAll(two.srvB);
      b = await monitor(t, t.adminB);
      assert.equal(chan(b, t.ch[1]), undefined);
    } finally {
      const exit = await old.stop();
      assert.equal(exit?.code, 0, old.stderr());
    }
  });

// The postmaster's start is read once per connection (issue 16, precheck:
// series_read.c's st_monitor_stamp_start, db_conn_start()): a restart of
// PostgreSQL ends every connection, and the first pre-check on a new one
// reads the start again, so values kept before the restart are not used
// after it (a cluster restored to an earlier point hands out its xids
// again: the start is all that tells its stamps apart).
test('after a restart of PostgreSQL the kept values are read anew, not used', async () => {
  const t = await tenant();
  const r = await t.viaA.batch({ batch_id: 'p1', snapshots: [{ t: baseTime(2), ids: t.ch, v: [1, 2] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await keptOn(t, t.adminB, two.srvB);
  await keptOn(t, t.adminB, two.srvB); // the same connection's start, twice
  const moved = async () => (await metricSamples(two.srvB.url, TOKEN, 'metron_monitor_values_total'))[
    'metron_monitor_values_total{result="moved"}'] ?? 0;
  await two.pg.stop();
  await two.pg.start();
  const k0 = await kept(two.srvB), m0 = await moved();
  let b = null;
  for (let i = 0; i < 50 && b === null; i++) {
    const x = await t.adminB.get(t.path);
    if (x.status === 200) b = x.body;
    else assert.equal(x.status, 503, JSON.stringify(x.body));
  }
  assert.ok(b, 'a reply after the restart');
  assert.deepEqual(chan(b, t.ch[0]).latest, { t: baseTime(2), v: 1 });
  assert.equal(await kept(two.srvB), k0, 'no reply from values kept before the restart');
  assert.equal(await moved(), m0 + 1, 'the stamp read after the restart is another');
  // Read twice with the new start, the values are kept again.
  await keptOn(t, t.adminB, two.srvB);
});
