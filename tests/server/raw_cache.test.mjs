// The raw data route's remembered replies (server/base/raw_cache.h, issue
// 16): a window read twice alike is answered from the reply this process
// made, after PostgreSQL has said on that very request that the viewer may
// see its channels and that its hot rows and day blocks are the ones the
// reply was made from. Two processes on one database: whatever changes a
// window's rows, through the other process or by the compactor, shows on
// the next read; a right taken away, too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from './harness.mjs';
import { accountOnBoth, startTwo, stopTwo, uniq } from './two_servers.mjs';
import { MIN_US, appClient, baseTime } from './data_helpers.mjs';

let two;
before(async () => { two = await startTwo(); });
after(() => stopTwo(two));

const compact = async (srv) => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
};

/** An account on both processes with an app in group "Plant", a device and
 * two channels. */
async function tenant() {
  const t = await accountOnBoth(two.srvA, two.srvB, uniq('raw'));
  let r = await t.adminA.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway',
    group_id: t.groupId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app = r.body;
  r = await t.adminA.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const dev = r.body.id;
  const ch = [];
  for (const key of ['CH1', 'CH2']) {
    r = await t.adminA.post(`/api/v1/devices/${dev}/channels`, { key, name: key, unit: 'V' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ch.push(r.body.id);
  }
  r = await t.adminA.put(`/api/v1/devices/${dev}/selection`, { channel_ids: ch });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { ...t, ch, viaA: appClient(two.srvA.url, app.credential),
    viaB: appClient(two.srvB.url, app.credential) };
}

test('a remembered raw window follows late samples, compactions and rights on either process', async () => {
  const t = await tenant();
  const d0 = baseTime(72);
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * MIN_US);
  let r = await t.viaA.batch({ batch_id: 'day', channels: [{ id: t.ch[0], t: ts, v: ts.map((_, i) => i / 4) },
    { id: t.ch[1], t: ts.slice(0, 10), v: [1, 2, 3, 'break', 5, 6, 7, 8, 9, 10] }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvA);
  const q = `/api/v1/data/raw?channels=${t.ch.join(',')}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;
  const read = async (c) => {
    const x = await c.get(q);
    assert.equal(x.status, 200, JSON.stringify(x.body));
    return x.body;
  };
  // Read often enough on A to be remembered there.
  const first = await read(t.adminA);
  for (let k = 0; k < 3; k++) assert.deepEqual(await read(t.adminA), first);
  assert.equal(first.channels[0].v[5], 1.25);
  // A late sample through B: a hot row in the window.
  r = await t.viaB.batch({ batch_id: 'late', channels: [{ id: t.ch[0], t: [ts[5]], v: [-7] }] });
  assert.equal(r.status, 201, r.text);
  for (let k = 0; k < 3; k++) {
    const now = await read(t.adminA);
    assert.equal(now.channels[0].v[5], -7);
    assert.deepEqual(now.t, first.t);
  }
  // Folded into the day block by B's compactor: the same answer, from the block.
  await compact(two.srvB);
  for (let k = 0; k < 3; k++) assert.equal((await read(t.adminA)).channels[0].v[5], -7);
  // A late sample at a new time, folded at once: a new version of the block.
  r = await t.viaB.batch({ batch_id: 'late2', channels: [{ id: t.ch[1], t: [ts[20] + 1], v: ['+over'] }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvB);
  let now = await read(t.adminA);
  assert.equal(now.t.length, 1441);
  assert.equal(now.channels[1].v[21], '+over');
  // The member sees the window only while the group is granted to them,
  // however often it was read before.
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (let k = 0; k < 3; k++) assert.deepEqual(await read(t.memberA), now);
  r = await t.adminB.put(`/api/v1/groups/${t.groupId}/access`, { users: [], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.memberA.get(q);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  assert.equal(r.body.code, 'not_found');
  // A day deleted (the channel's data removed by SQL): gone from the answer.
  await two.pg.psql(`DELETE FROM series_day WHERE channel_id = ${t.ch[1]}`, two.db);
  now = await read(t.adminA);
  assert.deepEqual(now.channels[1].v.filter((v) => v !== null), []);
});
