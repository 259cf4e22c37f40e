// The group monitor with a channel that never sent data (a spare input of a
// logger; issue 16, migration 046, series_read_monitor()): it answers as
// before, and its read of the account's hot rows stays bounded by the other
// channels' channel_latest times instead of walking every hot row of the
// account. "No channel_sent row" must prove "no hot sample": the first
// sample of a channel arriving through another process, a back-fill older
// than everything, the deletion of all stored data, a channel's deletion,
// and group commits of several batches. Two server processes on one
// database, the compactor stopped (folded with /api/v1/test/compact).
// The reads are counted with pg_stat_statements (buffers and rows of the
// monitor's statements; track=all: since migration 068 the monitor's read
// is a statement in mt_monitor_read(), counted under its own text, the one
// that reads the apps' app_seen rows, whichever of 084's forms it is).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { login } from './harness.mjs';
import { compact as compactOn, startTwo, stopTwo } from './two_servers.mjs';
import { MIN_US, PW, appClient, baseTime, dataTenant } from './data_helpers.mjs';

process.env.METRON_TEST_PG_OPTS = `${process.env.METRON_TEST_PG_OPTS || ''} ` +
  '-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all';

// The monitor's values not kept (METRON_MONITOR_CACHE=0, base/monitor_cache.h):
// these tests count the reads themselves, which kept values would skip.
const ENV = { METRON_COMPACT_MS: '3600000', METRON_MONITOR_CACHE: '0' };
let pg, srvA, srvB, db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srvA, srvB, db } = await startTwo({ env: ENV }));
  await sql('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
});

after(async () => {
  await stopTwo({ pg, srvA, srvB });
});

const compact = () => compactOn(srvA);

/** An account of four selected channels CH1..CH4 (CH4 the spare input that
 * never sends) whose app is in a group, signed in on both processes, with
 * an app client of each process. */
async function tenant() {
  const t = await dataTenant(srvA, { n: 4, selected: 4 });
  const r = await t.c.post('/api/v1/groups', { name: 'Spare input' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.groupId = r.body.id;
  const p = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.groupId });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  t.a = t.c;
  t.b = await login(srvB.url, { account: t.account, user: 'admin', password: PW });
  t.ingestA = t.ingest;
  t.ingestB = appClient(srvB.url, t.app.credential);
  t.spare = t.channels[3];
  return t;
}

/** The channels' [id, latest] of the monitor read through "c". */
async function latest(t, c) {
  const r = await c.get(`/api/v1/groups/${t.groupId}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.apps[0].devices[0].channels.map((ch) => [ch.id, ch.latest ?? null]);
}

/** The monitor as read before migration 046 would answer (every hot row of
 * the account read when a channel has no channel_latest row): the same
 * read with a channel_sent row of every channel of the group for a moment,
 * which makes the bound -infinity again whenever one has no channel_latest
 * row. Asserts both processes answer "want" with and without. */
async function same(t, want, what) {
  const ids = t.channels.join(',');
  for (const c of [t.a, t.b]) assert.deepEqual(await latest(t, c), want, `${what}`);
  const had = (await sql(`SELECT string_agg(channel_id::text, ',' ORDER BY channel_id)
    FROM channel_sent WHERE channel_id IN (${ids})`)) || '';
  await sql(`INSERT INTO channel_sent (channel_id, account_id)
    SELECT unnest('{${ids}}'::bigint[]), ${t.id} ON CONFLICT DO NOTHING`);
  try {
    for (const c of [t.a, t.b]) assert.deepEqual(await latest(t, c), want, `${what}: unbounded`);
  } finally {
    await sql(`DELETE FROM channel_sent WHERE channel_id IN (${ids})
      AND channel_id <> ALL('{${had}}'::bigint[])`);
  }
}

/** Every channel with a record in a hot row has a channel_sent row; the
 * number of such channels. */
async function sentCoversHot() {
  const [missing, found] = (await sql(`SELECT count(*) FILTER (WHERE NOT EXISTS (
      SELECT 1 FROM channel_sent s WHERE s.channel_id = x.ch)), count(*) FROM (
    SELECT DISTINCT get_byte(h.payload, 24 * k)::bigint
         | (get_byte(h.payload, 24 * k + 1)::bigint << 8)
         | (get_byte(h.payload, 24 * k + 2)::bigint << 16)
         | (get_byte(h.payload, 24 * k + 3)::bigint << 24) AS ch
    FROM series_hot h, generate_series(0, h.n - 1) k) x
    WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = x.ch)`)).split('|').map(Number);
  assert.equal(missing, 0, 'a channel of a hot row has no channel_sent row');
  return found;
}

/** "n" hot rows of the account older than "before" (µs) holding a sample of
 * no channel of the group: a backlog the compactor has not folded. */
async function backlog(t, n, beforeUs) {
  await sql(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
    SELECT ${t.id}, ${beforeUs} - g * 1000, ${beforeUs} - g * 1000, 1,
      decode('ffffff7f00000000', 'hex') || int8send(0) || int8send(0)
    FROM generate_series(1, ${n}) g`);
}

/** Buffers the monitor's statements read during "fn" (the monitor's and
 * its later pages of hot rows), and how many of each ran. */
async function reads(fn) {
  await sql('SELECT pg_stat_statements_reset()');
  await fn();
  const row = await sql(`SELECT COALESCE(sum(shared_blks_hit + shared_blks_read), 0),
      COALESCE(sum(calls) FILTER (WHERE query LIKE 'SELECT id, t_max, payload FROM mt_hot_newest%'), 0),
      COALESCE(sum(calls) FILTER (WHERE query LIKE '%FROM app_seen p%'), 0)
    FROM pg_stat_statements WHERE query LIKE '%mt_hot_newest%' OR query LIKE '%mt_monitor_hot%'
      OR query LIKE '%FROM app_seen p%'`);
  const [buffers, pages, monitors] = row.split('|').map(Number);
  return { buffers, pages, monitors };
}

/** A tenant whose three sending channels stored 1, 2 and 3 at t0, folded
 * into channel_latest, then "rows" hot rows of backlog (the spare channel
 * never sent). */
async function seeded(rows) {
  const t = await tenant();
  const [c1, c2, c3] = t.channels;
  const t0 = baseTime(3);
  const r = await t.ingestA.batch({ batch_id: 'a', channels: [{ id: c1, t: [t0], v: [1] },
    { id: c2, t: [t0], v: [2] }, { id: c3, t: [t0], v: [3] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await compact();
  await backlog(t, rows, t0);
  return { t, t0 };
}

test('a channel that never sent data: the same answer, and the read bounded by the other channels', async (ctx) => {
  const { t, t0 } = await seeded(20000);
  const [c1, c2, c3] = t.channels;
  let r;
  const want = [[c1, { t: t0, v: 1 }], [c2, { t: t0, v: 2 }], [c3, { t: t0, v: 3 }], [t.spare, null]];
  // Every connection's statements prepared and planned before counting.
  for (let i = 0; i < 8; i++) {
    for (const c of [t.a, t.b]) assert.deepEqual(await latest(t, c), want);
  }
  const bounded = await reads(async () => {
    for (let i = 0; i < 5; i++) {
      for (const c of [t.a, t.b]) assert.deepEqual(await latest(t, c), want);
    }
  });
  assert.equal(bounded.monitors, 10, JSON.stringify(bounded));
  assert.equal(bounded.pages, 0, `no further page of hot rows: ${JSON.stringify(bounded)}`);
  assert.ok(bounded.buffers < 10 * 40, `bounded: ${JSON.stringify(bounded)}`);
  // Unbounded (as before migration 046) the same requests read the backlog.
  await sql(`INSERT INTO channel_sent (channel_id, account_id) VALUES (${t.spare}, ${t.id})`);
  const walked = await reads(async () => {
    for (let i = 0; i < 5; i++) {
      for (const c of [t.a, t.b]) assert.deepEqual(await latest(t, c), want);
    }
  });
  await sql(`DELETE FROM channel_sent WHERE channel_id = ${t.spare}`);
  ctx.diagnostic(`10 monitor reads, 20,000 older hot rows: bounded ${JSON.stringify(bounded)}, ` +
    `unbounded ${JSON.stringify(walked)}`);
  assert.ok(walked.pages >= 10 && walked.buffers > 3 * bounded.buffers,
    `walked ${JSON.stringify(walked)} bounded ${JSON.stringify(bounded)}`);
  // A newer sample of a sent channel, still hot: found in the first page.
  r = await t.ingestB.batch({ batch_id: 'b', channels: [{ id: c2, t: [t0 + MIN_US], v: [5] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await same(t, [[c1, { t: t0, v: 1 }], [c2, { t: t0 + MIN_US, v: 5 }], [c3, { t: t0, v: 3 }],
    [t.spare, null]], 'newer hot sample');
  // Only the spare channel and nothing else stored: no hot row read at all.
  const alone = await tenant();
  await backlog(alone, 500, t0);
  const none = await reads(async () => {
    assert.deepEqual(await latest(alone, alone.a), alone.channels.map((id) => [id, null]));
  });
  assert.equal(none.pages, 0, JSON.stringify(none));
  await sentCoversHot();
});

test('the first sample of the spare channel arrives through the other process, older than everything', async () => {
  const { t, t0 } = await seeded(200);
  const [c1, c2, c3] = t.channels;
  let r;
  const base = [[c1, { t: t0, v: 1 }], [c2, { t: t0, v: 2 }], [c3, { t: t0, v: 3 }]];
  await same(t, [...base, [t.spare, null]], 'never sent');
  // A back-fill, older than every channel_latest row and every backlog row,
  // through B: both processes show it at once (A read the channel as never
  // sent a moment ago).
  const old = t0 - 1000 * MIN_US;
  r = await t.ingestB.batch({ batch_id: 'spare-1', channels: [{ id: t.spare, t: [old], v: [42] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await same(t, [...base, [t.spare, { t: old, v: 42 }]], 'first sample through B');
  // A newer one through A.
  r = await t.ingestA.batch({ batch_id: 'spare-2', channels: [{ id: t.spare, t: [old + 1], v: ['+over'] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await same(t, [...base, [t.spare, { t: old + 1, v: '+over' }]], 'second sample through A');
  // Channels a process saw with their rows cost its next batches no SQL.
  await sql('SELECT pg_stat_statements_reset()');
  for (let i = 0; i < 5; i++) {
    r = await t.ingestA.batch({ batch_id: `known-${i}`, channels: [{ id: c1, t: [t0 + i], v: [i] },
      { id: t.spare, t: [old + 2 + i], v: [i] }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  assert.equal(await sql(`SELECT COALESCE(sum(calls), 0) FROM pg_stat_statements
    WHERE query LIKE 'INSERT INTO channel_sent%'`), '0');
  const spareNow = { t: old + 6, v: 4 };
  base[0] = [c1, { t: t0 + 4, v: 4 }];
  await same(t, [...base, [t.spare, spareNow]], 'known channels');
  // Folded: from channel_latest.
  await compact();
  await same(t, [...base, [t.spare, spareNow]], 'folded');
  await sentCoversHot();
});

test('batches stored together (group commit) and large batches make their channels\' rows first', async () => {
  const ts = [await tenant(), await tenant(), await tenant()];
  const t0 = baseTime(2);
  // Many small batches at once through both processes: some are stored
  // together in one statement.
  const sends = [];
  for (const [k, t] of ts.entries()) {
    for (let i = 0; i < 8; i++) {
      const via = i % 2 ? t.ingestA : t.ingestB;
      sends.push(via.batch({ batch_id: `g${i}`, channels: [{ id: t.channels[i % 3], t: [t0 + i], v: [k + i] }] }));
    }
  }
  for (const r of await Promise.all(sends)) assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(await sentCoversHot() >= 9);
  // A large batch (hot rows written in a transaction).
  const t = ts[0];
  const n = 5000;
  const times = Array.from({ length: n }, (_, i) => t0 + 100 + i * 1000);
  const r = await t.ingestB.batch({ batch_id: 'large', channels: [{ id: t.spare, t: times,
    v: times.map((_, i) => i) }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await sentCoversHot();
  const want = await latest(t, t.a);
  assert.deepEqual(want.find(([id]) => id === t.spare)[1], { t: times[n - 1], v: n - 1 });
  await same(t, want, 'after the large batch');
});

test('deleting data: all stored data, a channel, the account', async () => {
  const t = await tenant();
  const [c1, c2, c3] = t.channels;
  const t0 = baseTime(3);
  let r = await t.ingestA.batch({ batch_id: 'a', channels: [{ id: c1, t: [t0], v: [1] },
    { id: c2, t: [t0], v: [2] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await compact();
  r = await t.ingestB.batch({ batch_id: 'b', channels: [{ id: c3, t: [t0 + 5], v: [3] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await same(t, [[c1, { t: t0, v: 1 }], [c2, { t: t0, v: 2 }], [c3, { t: t0 + 5, v: 3 }],
    [t.spare, null]], 'stored');
  // Every stored sample deleted (the over-quota deadline): channel_latest
  // and the hot rows go, the channel_sent rows stay (the processes
  // remember them); the next samples, through either process, show.
  const sent = await sql(`SELECT count(*) FROM channel_sent WHERE account_id = ${t.id}`);
  assert.equal(sent, '3');
  await sql(`SELECT mt_account_delete_stored(${t.id})`);
  assert.equal(await sql(`SELECT count(*) FROM channel_sent WHERE account_id = ${t.id}`), sent);
  await same(t, t.channels.map((id) => [id, null]), 'all deleted');
  r = await t.ingestA.batch({ batch_id: 'c', channels: [{ id: c1, t: [t0 - 7], v: [7] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await t.ingestB.batch({ batch_id: 'd', channels: [{ id: c3, t: [t0 - 8], v: [8] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await same(t, [[c1, { t: t0 - 7, v: 7 }], [c2, null], [c3, { t: t0 - 8, v: 8 }], [t.spare, null]],
    'after the deletion');
  await compact();
  await same(t, [[c1, { t: t0 - 7, v: 7 }], [c2, null], [c3, { t: t0 - 8, v: 8 }], [t.spare, null]],
    'after the deletion, folded');
  // A channel deleted: its row goes with it.
  r = await t.a.del(`/api/v1/channels/${c3}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM channel_sent WHERE channel_id = ${c3}`), '0');
  assert.deepEqual(await latest(t, t.b), [[c1, { t: t0 - 7, v: 7 }], [c2, null], [t.spare, null]]);
  // The account deleted: every row of it.
  await sql(`SELECT mt_account_delete(${t.id})`);
  assert.equal(await sql(`SELECT count(*) FROM channel_sent WHERE account_id = ${t.id}`), '0');
  await sentCoversHot();
});

test('the migration\'s rows of the channels stored before it: channel_latest rows and records of hot rows', async () => {
  const t = await tenant();
  const [c1, c2, c3] = t.channels;
  const t0 = baseTime(3);
  let r = await t.ingestA.batch({ batch_id: 'a', channels: [{ id: c1, t: [t0], v: [1] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await compact();
  r = await t.ingestB.batch({ batch_id: 'b', channels: [{ id: c2, t: [t0], v: [2] }, { id: c3, t: [t0], v: [3] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const migration = fs.readFileSync(new URL('../../server/migrations/046_channel_sent.sql', import.meta.url), 'utf8');
  const insert = migration.slice(migration.indexOf('INSERT INTO channel_sent'),
    migration.indexOf('ON CONFLICT DO NOTHING;') + 'ON CONFLICT DO NOTHING'.length);
  await sql(`DELETE FROM channel_sent WHERE account_id = ${t.id}`);
  await sql(insert);
  assert.equal(await sql(`SELECT string_agg(channel_id::text, ',' ORDER BY channel_id) FROM channel_sent
    WHERE account_id = ${t.id}`), [c1, c2, c3].sort((a, b) => a - b).join(','));
  await same(t, [[c1, { t: t0, v: 1 }], [c2, { t: t0, v: 2 }], [c3, { t: t0, v: 3 }], [t.spare, null]],
    'after the migration\'s rows');
});

test('a group whose channel ids are one run reads channel_latest as a range; with a gap, by its ids; both answer alike', async () => {
  const t = await tenant();
  const [c1, c2, c3] = t.channels;
  const t0 = baseTime(3);
  /** How many monitor statements of each form ran during "fn". */
  const forms = async (fn) => {
    await sql('SELECT pg_stat_statements_reset()');
    await fn();
    const row = await sql(`SELECT
        COALESCE(sum(calls) FILTER (WHERE query LIKE '%channel_id BETWEEN%'), 0),
        COALESCE(sum(calls) FILTER (WHERE query LIKE '%channel_id = ANY%'), 0)
      FROM pg_stat_statements WHERE query LIKE '%FROM app_seen p%'`);
    const [run, ids] = row.split('|').map(Number);
    return { run, ids };
  };
  /** Both processes' monitor as {id: latest}, before and after a fold. */
  const both = async (want, what) => {
    for (const c of [t.a, t.b]) {
      const r = await c.get(`/api/v1/groups/${t.groupId}/monitor`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const got = Object.fromEntries(r.body.apps[0].devices[0].channels.map((ch) => [ch.id, ch.latest ?? null]));
      assert.deepEqual(got, want, what);
    }
  };
  let r = await t.ingestA.batch({ batch_id: 'r1', channels: [{ id: c1, t: [t0], v: [1] },
    { id: c3, t: [t0], v: [3] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  let want = { [c1]: { t: t0, v: 1 }, [c2]: null, [c3]: { t: t0, v: 3 }, [t.spare]: null };
  const asRun = await forms(() => both(want, 'a run of ids, hot'));
  assert.deepEqual(asRun, { run: 2, ids: 0 }, 'a run of ids: read as a range');
  await compact();
  await both(want, 'a run of ids, folded');
  // Two more channels of the same device, made after another account's:
  // the group's ids have a gap.
  await dataTenant(srvA, { n: 2 });
  const more = [];
  for (const key of ['CH5', 'CH6']) {
    r = await t.c.post(`/api/v1/devices/${t.deviceId}/channels`, { key, name: key, unit: 'V' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    more.push(r.body.id);
  }
  const [c5, c6] = more;
  assert.ok(c5 > t.spare + 1, `a gap: ${t.spare} then ${c5}`);
  r = await t.c.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [...t.channels, c5, c6] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.ingestB.batch({ batch_id: 'g1', channels: [{ id: c5, t: [t0 + MIN_US], v: [5] },
    { id: c2, t: [t0 + MIN_US], v: [2] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  want = { ...want, [c2]: { t: t0 + MIN_US, v: 2 }, [c5]: { t: t0 + MIN_US, v: 5 }, [c6]: null };
  const withGap = await forms(() => both(want, 'ids with a gap, hot'));
  assert.deepEqual(withGap, { run: 0, ids: 2 }, 'ids with a gap: read by its ids');
  await compact();
  await both(want, 'ids with a gap, folded');
});
