// High-speed monitoring (M3): start/stop per group, 5-second samples from the
// apps kept for display only, refused when the mode is off, never stored as
// acquired data, never visible to another account.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, stopStack } from './harness.mjs';
import { dataTenant } from './data_helpers.mjs';

let pg;
let srv;

before(async () => {
  ({ pg, srv } = await startStack());
});

after(() => stopStack({ pg, srv }));

const live = (t, body) => fetch(`${srv.url}/api/v1/ingest/live`, { method: 'POST',
  headers: { Authorization: `Bearer ${t.app.credential}`, 'Content-Type': 'application/json' },
  body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));

test('high-speed mode: 5-second samples for 10 minutes, for display only', async () => {
  const t = await dataTenant(srv, { n: 2 });
  let r = await t.c.post('/api/v1/groups', { name: 'Fast' });
  const g = r.body.id;
  await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: g });
  const now = Date.now() * 1000;
  const t0 = now - (now % 5e6) - 60e6;
  const body = { batch_id: 'live-1', snapshots: Array.from({ length: 12 }, (_, i) => ({
    t: t0 + i * 5e6, ids: t.channels, v: [i, i % 3 === 0 ? '+over' : -i] })) };
  r = await live(t, body);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'live_not_active');
  r = await t.ingest.channels();
  assert.equal(r.body.live_until, null);

  r = await t.c.post(`/api/v1/groups/${g}/live`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const until = r.body.until;
  assert.ok(Math.abs(until - (Date.now() * 1000 + 600e6)) < 30e6, `until ${until}`);
  assert.equal(r.body.interval_s, 5);
  r = await t.ingest.channels();
  assert.equal(r.body.live_until, until);

  r = await live(t, body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.samples, 24);
  r = await t.c.get(`/api/v1/groups/${g}/live`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.until, until);
  assert.deepEqual(r.body.channels.map((c) => c.id), t.channels);
  assert.deepEqual(r.body.channels[0].t, body.snapshots.map((s) => s.t));
  assert.deepEqual(r.body.channels[1].v.slice(0, 4), ['+over', -1, -2, '+over']);
  r = await t.c.get(`/api/v1/groups/${g}/live?since=${t0 + 30e6}`);
  assert.equal(r.body.channels[0].t.length, 6);
  // Bad samples are refused like any batch.
  r = await live(t, { batch_id: 'x', snapshots: [{ t: t0, ids: [999999], v: [1] }] });
  assert.equal(r.status, 422);
  // Not acquired data: the stored series has none of it.
  r = await t.c.get(`/api/v1/data/raw?channels=${t.channels[0]}&from=${t0}&to=${now + 60e6}`);
  assert.deepEqual(r.body.t, []);

  // Another account cannot see or start it; stopping ends it.
  const other = await dataTenant(srv, { n: 1 });
  r = await other.c.get(`/api/v1/groups/${g}/live`);
  assert.equal(r.status, 404);
  r = await other.c.post(`/api/v1/groups/${g}/live`);
  assert.equal(r.status, 404);
  r = await t.c.del(`/api/v1/groups/${g}/live`);
  assert.equal(r.status, 200);
  r = await live(t, body);
  assert.equal(r.status, 409);
  r = await t.c.get(`/api/v1/groups/${g}/live`);
  assert.equal(r.body.until, null);
});
