// The raw day's check skipped when nothing changed (issue 16, rawstamp;
// server/base/raw_cache.h raw_check_stamped(), migration 089): a process
// answers a remembered raw day without its versions statement when the
// account's change stamp (086's, the monitor's pre-check) is the one kept
// with it for the same viewer. Two server processes on one database: every
// write that changes a stored day, acknowledged through the other process
// (or its compactor, its jobs, SQL, or a server of before 089), shows on
// the next read of a process whose remembered day is in use (counted by
// metron_raw_stamp_total{result="kept"}); a right taken away answers 404 at
// once, on either process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createUser, login, request, startServer } from './harness.mjs';
import { PW, backfill, compact, computedSum, gatewayOnBoth, keptPair, uniq, untilCounted } from './two_servers.mjs';
import { MIN_US, appClient, baseTime } from './data_helpers.mjs';

const TOKEN = 'r'.repeat(20) + '-metrics-token-rawst0123';
const { two, env: ENV, sql, kept } = keptPair(TOKEN, 'metron_raw_stamp_total');

/** An account of "plan" signed in on both processes (administrator and
 * member), a group with an app, a device and two channels. */
async function tenant(plan = 'pro') {
  return gatewayOnBoth(two, 'rawst', plan);
}

const dayQuery = (ch, d0) => `/api/v1/data/raw?channels=${ch.join(',')}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;

/** The day "q" through client "c" (200). */
async function read(c, q) {
  const r = await c.get(q);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Read "q" through "c" (of process "srv") until a reply comes from the
 * remembered day with the stamp unchanged (no versions statement); that
 * reply. */
async function keptOn(c, srv, q) {
  return untilCounted(() => kept(srv), () => read(c, q), 'the remembered day by its stamp');
}

/** A day of samples of t.ch[0] (i / 4 at minute i) and ten of t.ch[1],
 * folded into day blocks by "srv"'s compactor. */
async function day(t, d0, srv = two.srvA) {
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * MIN_US);
  const r = await t.viaA.batch({ batch_id: uniq('day'), channels: [{ id: t.ch[0], t: ts, v: ts.map((_, i) => i / 4) },
    { id: t.ch[1], t: ts.slice(0, 10), v: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }] });
  assert.equal(r.status, 201, r.text);
  await compact(srv);
  return ts;
}

test('hot rows, folds, a day deleted and a channel deleted through the other process show on the next read of a remembered day',
  async () => {
    const t = await tenant();
    const d0 = baseTime(72);
    const ts = await day(t, d0);
    const q = dayQuery(t.ch, d0);
    const first = await keptOn(t.adminB, two.srvB, q);
    assert.equal(first.channels[0].v[5], 1.25);
    // A hot row into the day through A (a batch alone).
    let r = await t.viaA.batch({ batch_id: 'late1', channels: [{ id: t.ch[0], t: [ts[5]], v: [-7] }] });
    assert.equal(r.status, 201, r.text);
    let b = await read(t.adminB, q);
    assert.equal(b.channels[0].v[5], -7, 'a hot row through A');
    // Batches stored together (group statements) through A.
    await keptOn(t.adminB, two.srvB, q);
    const many = [];
    for (let k = 0; k < 12; k++) {
      many.push(t.viaA.batch({ batch_id: `g${k}`, channels: [{ id: t.ch[1], t: [ts[100 + k]], v: [100 + k] }] }));
    }
    for (const x of await Promise.all(many)) assert.equal(x.status, 201, JSON.stringify(x.body));
    b = await read(t.adminB, q);
    assert.deepEqual(b.channels[1].v.slice(100, 112), Array.from({ length: 12 }, (_, k) => 100 + k), 'a group through A');
    // A fold by either process's compactor: a new version of the day block.
    for (const [by, srv] of [['A', two.srvA], ['B', two.srvB]]) {
      await keptOn(t.adminB, two.srvB, q);
      r = await t.viaB.batch({ batch_id: `f${by}`, channels: [{ id: t.ch[1], t: [ts[200] + (by === 'A' ? 1 : 2)],
        v: [by === 'A' ? 7 : 8] }] });
      assert.equal(r.status, 201, r.text);
      await keptOn(t.adminB, two.srvB, q);
      await compact(srv);
      assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.accountId}`), '0');
      const k0 = await kept(two.srvB);
      b = await read(t.adminB, q);
      assert.equal(await kept(two.srvB), k0, `checked again after the fold by ${by}`);
      assert.equal(b.t.length, by === 'A' ? 1441 : 1442);
      assert.equal(b.channels[0].v[5], -7);
    }
    // A day block rewritten in SQL (as the demo and tools do): its values.
    await keptOn(t.adminB, two.srvB, q);
    await sql(`UPDATE series_day SET data = o.data, hours = o.hours, n = o.n, t_first = o.t_first, t_last = o.t_last
      FROM series_day o WHERE series_day.channel_id = ${t.ch[1]} AND o.channel_id = ${t.ch[0]}
      AND o.day = series_day.day`);
    b = await read(t.adminB, q);
    assert.deepEqual(b.channels[1].v.slice(0, 3), [0, 0.25, 0.5], 'a day block rewritten in SQL');
    // A day deleted (in SQL): gone from the answer.
    await keptOn(t.adminB, two.srvB, q);
    await sql(`DELETE FROM series_day WHERE channel_id = ${t.ch[1]}`);
    b = await read(t.adminB, q);
    assert.deepEqual(b.channels[1].v.filter((v) => v !== null), [], 'a day deleted');
    // A channel deleted through A: not found on B's next read.
    await keptOn(t.adminB, two.srvB, q);
    r = await t.adminA.del(`/api/v1/channels/${t.ch[1]}`);
    assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
    r = await t.adminB.get(q);
    assert.equal(r.status, 404, JSON.stringify(r.body));
  });

test('retention through the other process shows on the next read of a remembered day', async () => {
  const t = await tenant('free');
  const old = baseTime(24 * 400);
  await day(t, old);
  const q = dayQuery(t.ch, old);
  const b0 = await keptOn(t.adminB, two.srvB, q);
  assert.equal(b0.t.length, 1440);
  const r = await request(two.srvA.url, 'POST', '/api/v1/test/jobs?job=data_retention');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM series_day WHERE account_id = ${t.accountId}`), '0');
  const b = await read(t.adminB, q);
  assert.deepEqual(b.t, [], 'retention');
});

test("a computed channel's days deleted and written again outside a fold show on the next read", async () => {
  const t = await tenant();
  const t0 = baseTime(30);
  const x = await computedSum(t, two.srvA, t0);
  const q = dayQuery([x], t0);
  let b = await keptOn(t.adminB, two.srvB, q);
  assert.deepEqual(b.channels[0].v, [8, 9]);
  // The expression edited through A: its days deleted at once.
  const r = await t.adminA.patch(`/api/v1/computed/${x}`, { expression: 'CH1-CH2' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  b = await read(t.adminB, q);
  assert.deepEqual(b.channels[0].v, [], 'the computed days deleted');
  // Written again by A's back-fill (series_write_day()).
  await keptOn(t.adminB, two.srvB, q);
  await backfill(two.srvA);
  b = await read(t.adminB, q);
  assert.deepEqual(b.channels[0].v, [2, 5], 'the back-fill through A');
});

test('a right taken away answers 404 at once on both processes, however the day was remembered', async () => {
  const t = await tenant();
  let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [{ user_id: t.memberId,
    access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const d0 = baseTime(96);
  await day(t, d0);
  const q = dayQuery(t.ch, d0);
  const first = await keptOn(t.memberA, two.srvA, q);
  assert.deepEqual(await keptOn(t.memberB, two.srvB, q), first);
  await keptOn(t.adminB, two.srvB, q);
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of [t.memberB, t.memberA]) {
    r = await c.get(q);
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.code, 'not_found');
  }
  // The administrator's remembered day still answers.
  assert.deepEqual(await keptOn(t.adminB, two.srvB, q), first);
});

// A member's right remembered at the stamp's rights version (issue 16,
// precheck; svc_data.c raw_right_by_stamp()): a day kept with the stamp for
// one member answers another member whose right to its channels is
// remembered at that version, without the versions statement; that right
// taken away (through the other process) refuses the next request at once.
test("a day kept for one member answers another whose right the stamp proves, and an administrator; that right taken away answers 404 at once",
  async () => {
    const t = await tenant();
    const m2 = await createUser(two.srvA.url, { accountId: t.accountId, user: 'member2', password: PW,
      role: 'member' });
    const m2B = await login(two.srvB.url, { account: t.acc, user: 'member2', password: PW });
    const grant = (ids) => t.adminA.put(`/api/v1/groups/${t.groupId}/access`, {
      users: ids.map((id) => ({ user_id: id, access: 'view' })), teams: [] });
    let r = await grant([t.memberId, m2.userId]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d0 = baseTime(100);
    await day(t, d0);
    const q = dayQuery(t.ch, d0);
    // member2's right learnt on B (its first reads), then member's day kept with the stamp.
    const first = await read(m2B, q);
    await read(m2B, q);
    assert.deepEqual(await keptOn(t.memberB, two.srvB, q), first);
    const k0 = await kept(two.srvB);
    assert.deepEqual(await read(m2B, q), first);
    assert.equal(await kept(two.srvB), k0 + 1, "member2 answered from member's day by the stamp");
    // An administrator too (every channel of the account: the member's check found them).
    assert.deepEqual(await read(t.adminB, q), first);
    assert.equal(await kept(two.srvB), k0 + 2, "the administrator answered from member's day by the stamp");
    // member2's right taken away through A: 404 at once on B; member still sees the day.
    r = await grant([t.memberId]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await m2B.get(q);
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.deepEqual(await read(t.memberB, q), first);
    r = await m2B.get(q);
    assert.equal(r.status, 404, JSON.stringify(r.body));
  });

test('requests at once of a remembered day: every batch acknowledged before them shows', async () => {
  const t = await tenant();
  const d0 = baseTime(48);
  const ts = await day(t, d0);
  const q = dayQuery(t.ch, d0);
  for (let k = 1; k <= 10; k++) {
    await keptOn(t.adminB, two.srvB, q);
    const r = await (k % 2 ? t.viaA : t.viaB).batch({ batch_id: `p${k}`,
      channels: [{ id: t.ch[1], t: [ts[300]], v: [k] }] });
    assert.equal(r.status, 201, r.text);
    const asks = [];
    for (let i = 0; i < 8; i++) asks.push((i % 2 ? t.adminB : t.adminA).get(q));
    for (const a of await Promise.all(asks)) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.channels[1].v[300], k);
    }
  }
});

// A server of before 089 (and 086): METRON_OLD_BIN, or the one
// scripts/bench-kept build 41ce161 makes (skipped without either).
const OLD_BIN = process.env.METRON_OLD_BIN ||
  [new URL('../../build/kept/41ce161/metron-server-test', import.meta.url).pathname]
    .find((p) => fs.existsSync(p));

test('a server of before 089 beside this one: its writes of a day move the stamp too',
  { skip: !OLD_BIN && 'no old binary' }, async () => {
    const old = await startServer({ bin: OLD_BIN, env: ENV, databaseUrl: two.url });
    try {
      const t = await tenant();
      const viaOld = appClient(old.url, t.credential);
      const d0 = baseTime(72);
      const ts = await day(t, d0);
      const q = dayQuery(t.ch, d0);
      await keptOn(t.adminB, two.srvB, q);
      // A late sample through the old server, then its compactor's fold.
      let r = await viaOld.batch({ batch_id: 'o1', channels: [{ id: t.ch[1], t: [ts[500] + 1], v: [55] }] });
      assert.equal(r.status, 201, r.text);
      let b = await read(t.adminB, q);
      assert.equal(b.t.length, 1441);
      assert.equal(b.channels[1].v[501], 55, 'a batch through the old server');
      await keptOn(t.adminB, two.srvB, q);
      await compact(old);
      assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.accountId}`), '0');
      b = await read(t.adminB, q);
      assert.equal(b.channels[1].v[501], 55, 'the old server\'s fold');
      // A channel deleted through the old server (its days by cascade).
      await keptOn(t.adminB, two.srvB, q);
      const adminOld = await login(old.url, { account: t.acc, user: 'admin', password: PW });
      r = await adminOld.del(`/api/v1/channels/${t.ch[1]}`);
      assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
      r = await t.adminB.get(q);
      assert.equal(r.status, 404, JSON.stringify(r.body));
      b = await read(t.adminB, dayQuery([t.ch[0]], d0));
      assert.equal(b.channels[0].v[5], 1.25);
    } finally {
      const exit = await old.stop();
      assert.equal(exit?.code, 0, old.stderr());
    }
  });
