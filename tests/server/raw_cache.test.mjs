// The raw data route's remembered replies (server/base/raw_cache.h, issue
// 16): a window read twice alike is answered from the reply this process
// made, after PostgreSQL has said on that very request that the viewer may
// see its channels and that its hot rows and day blocks are the ones the
// reply was made from. Two processes on one database: whatever changes a
// window's rows, through the other process or by the compactor, shows on
// the next read; a right taken away, too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from './harness.mjs';
import { accountOnBoth, gatewayDevice, startTwo, stopTwo, uniq } from './two_servers.mjs';
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
/** A reader of the raw data page "q": (client) => its body, after checking
 * that it answered 200. */
const reader = (q) => async (c) => {
  const x = await c.get(q);
  assert.equal(x.status, 200, JSON.stringify(x.body));
  return x.body;
};

async function tenant() {
  const t = await accountOnBoth(two.srvA, two.srvB, uniq('raw'));
  const { app, ch } = await gatewayDevice(t.adminA, t.groupId);
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
  const read = reader(q);
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

test("a member's raw day: its samples, current after each ingest and compaction, only its groups' channels", async () => {
  const t = await tenant();
  // A second app in a group not granted to the member, with a channel.
  let r = await t.adminA.post('/api/v1/groups', { name: 'Other' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const other = r.body.id;
  r = await t.adminA.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Other gateway', group_id: other });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app2 = r.body;
  r = await t.adminA.post(`/api/v1/apps/${app2.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await t.adminA.post(`/api/v1/devices/${r.body.id}/channels`, { key: 'CH1', name: 'CH1', unit: 'V' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const hidden = r.body.id;
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  const d0 = baseTime(96);
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * MIN_US);
  r = await t.viaA.batch({ batch_id: 'day', channels: [{ id: t.ch[0], t: ts, v: ts.map((_, i) => i / 2) }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvA);
  const q = `/api/v1/data/raw?channels=${t.ch.join(',')}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;
  const read = reader(q);
  // The member's day is the administrator's, read often enough on A to be
  // remembered there.
  const first = await read(t.memberA);
  assert.equal(first.t.length, 1440);
  assert.equal(first.channels[0].v[7], 3.5);
  assert.deepEqual(first.channels[1].v.filter((v) => v !== null), []);
  assert.deepEqual(await read(t.adminA), first);
  for (let k = 0; k < 3; k++) assert.deepEqual(await read(t.memberA), first);
  // Each acknowledged batch (through either process) shows on the member's
  // very next read: a hot row in the window, then its compaction.
  for (let k = 1; k <= 3; k++) {
    r = await t.viaB.batch({ batch_id: `late${k}`, channels: [{ id: t.ch[1], t: [ts[k]], v: [k * 10] }] });
    assert.equal(r.status, 201, r.text);
    const now = await read(t.memberA);
    assert.deepEqual(now.channels[1].v.slice(1, k + 1), Array.from({ length: k }, (_, i) => (i + 1) * 10));
    assert.deepEqual(now.t, first.t);
    assert.deepEqual(await read(t.memberB), now);
  }
  await compact(two.srvB);
  const folded = await read(t.memberA);
  assert.deepEqual(folded.channels[1].v.slice(0, 5), [null, 10, 20, 30, null]);
  r = await t.viaA.batch({ batch_id: 'late4', channels: [{ id: t.ch[0], t: [ts[7]], v: [-1] }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvA);
  assert.equal((await read(t.memberA)).channels[0].v[7], -1);
  // A channel of a group not granted: refused with the others, however
  // often the visible ones were read; the administrator reads it.
  const q2 = `/api/v1/data/raw?channels=${t.ch[0]},${hidden}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;
  for (let k = 0; k < 3; k++) {
    r = await t.memberA.get(q2);
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.code, 'not_found');
  }
  r = await t.adminA.get(q2);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.channels[0].v[7], -1);
});

test('rows out of order from PostgreSQL: the later arrival wins, and a read and its check agree (the remembered page is served)', async () => {
  const t = await tenant();
  let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const d0 = baseTime(120);
  const ts = Array.from({ length: 60 }, (_, i) => d0 + i * MIN_US);
  // Day blocks of both channels, then two hot rows in the window: the
  // later one (higher id) ends earlier, so the index on t_max returns it
  // first (migration 053: the functions return rows in no order).
  r = await t.viaA.batch({ batch_id: 'day', channels: [{ id: t.ch[0], t: ts, v: ts.map((_, i) => i) },
    { id: t.ch[1], t: ts, v: ts.map((_, i) => -i) }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvA);
  r = await t.viaA.batch({ batch_id: 'h1', channels: [{ id: t.ch[0], t: [ts[3], ts[50]], v: [100, 101] },
    { id: t.ch[1], t: [ts[50]], v: [102] }] });
  assert.equal(r.status, 201, r.text);
  r = await t.viaB.batch({ batch_id: 'h2', channels: [{ id: t.ch[0], t: [ts[3]], v: [200] },
    { id: t.ch[1], t: [ts[3]], v: [201] }] });
  assert.equal(r.status, 201, r.text);
  const q = `/api/v1/data/raw?channels=${t.ch[1]},${t.ch[0]}&from=${d0}&to=${d0 + 3600e6}&limit=100`;
  const read = reader(q);
  const first = await read(t.adminA);
  assert.equal(first.t.length, 60);
  assert.deepEqual([first.channels[1].v[3], first.channels[1].v[4], first.channels[1].v[50]], [200, 4, 101]);
  assert.deepEqual([first.channels[0].v[3], first.channels[0].v[4], first.channels[0].v[50]], [201, -4, 102]);
  for (let k = 0; k < 3; k++) {
    assert.deepEqual(await read(t.adminA), first);
    assert.deepEqual(await read(t.memberA), first);
  }
  // The two hot rows' bytes swapped behind the servers' backs (a change no
  // version shows: a hot row's version is its id). A fresh read on B sees
  // the earlier arrival win now; A answers from the pages it remembered,
  // which it does only when its check's versions are the read's, byte for
  // byte, whatever order PostgreSQL returned the rows in.
  await two.pg.psql(`WITH h AS (SELECT id, n, payload, lead(id) OVER (ORDER BY id) AS nx,
    lag(id) OVER (ORDER BY id) AS pv FROM series_hot WHERE account_id = ${t.accountId})
    UPDATE series_hot s SET n = o.n, payload = o.payload FROM h, h o
    WHERE s.id = h.id AND o.id = coalesce(h.nx, h.pv)`, two.db);
  assert.equal((await read(t.adminB)).channels[1].v[3], 100);
  assert.deepEqual(await read(t.adminA), first);
  assert.deepEqual(await read(t.memberA), first);
  // A compaction changes the versions: the swapped rows are read.
  await compact(two.srvB);
  const folded = await read(t.adminA);
  assert.equal(folded.channels[1].v[3], 100);
  assert.deepEqual(await read(t.memberA), folded);
});

test('a remembered page goes out with each request\'s own headers: the first headers kept before it, others copied', async () => {
  const t = await tenant();
  const d0 = baseTime(96);
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * MIN_US);
  let r = await t.viaA.batch({ batch_id: 'day', channels: [{ id: t.ch[0], t: ts, v: ts.map((_, i) => i / 8) }] });
  assert.equal(r.status, 201, r.text);
  await compact(two.srvA);
  const q = `/api/v1/data/raw?channels=${t.ch[0]}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;
  /** GET "q" on A as the administrator, on a connection that closes after
   * it (the harness's) or, with "agent", one kept open: status, headers and
   * the body's bytes. */
  const get = (agent) => new Promise((resolve, reject) => {
    const u = new URL(q, two.srvA.url);
    const req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search,
      agent: agent || false, headers: { cookie: `metron_session=${t.adminA.cookie}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
  // Read twice alike: remembered; the third is answered from it.
  const first = await get();
  assert.equal(first.status, 200, first.body.toString());
  assert.equal(JSON.parse(first.body).t.length, 1440);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let k = 0; k < 3; k++) {
      for (const [how, a] of [['closing', undefined], ['kept open', agent]]) {
        const x = await get(a);
        assert.equal(x.status, 200, `${how}: ${x.body.toString()}`);
        assert.ok(x.body.equals(first.body), `${how}: the same page`);
        assert.equal(Number(x.headers['content-length']), first.body.length, how);
        assert.equal(x.headers['content-type'], 'application/json; charset=utf-8', how);
        assert.equal(x.headers['cache-control'], 'no-store', how);
        assert.equal(x.headers.connection === 'close', a === undefined, `${how}: ${x.headers.connection}`);
      }
    }
  } finally {
    agent.destroy();
  }
});
