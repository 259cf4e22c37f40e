// Ingestion API (S1, S6, M2): app credentials, JSON and HOK bodies, the
// all-or-nothing rule for every kind of bad input, retried batches stored
// once, limits, and tenant isolation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startStack, stopStack } from './harness.mjs';
import { MIN_US, appClient, baseTime, dataTenant, loadHok, storedCounts, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));

before(async () => {
  // A small raw-body limit so that "too large" is cheap to reach.
  ({ pg, srv, db } = await startStack({ args: ['--max-raw-body', '2000000'] }));
});

after(() => stopStack({ pg, srv }));

const stored = (t) => storedCounts(sql, t);

test('a JSON batch is stored once; its retry is acknowledged as a duplicate', async () => {
  const t = await dataTenant(srv);
  const t0 = baseTime();
  const body = { batch_id: 'b-1', channels: [
    { id: t.channels[0], t: [t0, t0 + MIN_US, t0 + 2 * MIN_US], v: [1.5, '+over', -2] },
    { id: t.channels[1], t: [t0], v: [0] }] };
  let r = await t.ingest.batch(body);
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { duplicate: false, samples: 4, stored: 4, channels: 2 });
  assert.deepEqual(await stored(t), [1, 4]);
  r = await t.ingest.batch(body);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { duplicate: true, samples: 4, stored: 0 });
  assert.deepEqual(await stored(t), [1, 4]);
  // The same id with other content is still the same batch: never stored twice.
  r = await t.ingest.batch({ ...body, channels: [body.channels[1]] });
  assert.equal(r.status, 200);
  assert.equal(r.body.duplicate, true);
  assert.deepEqual(await stored(t), [1, 4]);
  // last seen is recorded.
  assert.equal(await sql(`SELECT last_seen_at IS NOT NULL FROM app_seen WHERE app_id = ${t.appId}`), 't');
});

test('the snapshot form: one time, many channels', async () => {
  const t = await dataTenant(srv, { n: 3 });
  const t0 = baseTime();
  const r = await t.ingest.batch({ batch_id: 'snap-1', snapshots: [
    { t: t0, ids: t.channels, v: [1, 2, 3] },
    { t: t0 + MIN_US, ids: t.channels, v: [4, 'missing', 'break'] }] });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.samples, 6);
  assert.equal(r.body.channels, 3);
});

test('credentials: missing, malformed, unknown, disabled app, frozen account', async () => {
  const t = await dataTenant(srv);
  const body = { batch_id: 'x', channels: [{ id: t.channels[0], t: [baseTime()], v: [1] }] };
  for (const cred of [null, 'nonsense', 'mta_' + 'A'.repeat(43)]) {
    const r = await appClient(srv.url, cred).batch(body);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.code, 'unauthenticated');
  }
  let r = await t.c.patch(`/api/v1/apps/${t.appId}`, { enabled: false });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.ingest.batch(body);
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'app_disabled');
  await t.c.patch(`/api/v1/apps/${t.appId}`, { enabled: true });
  // A change in SQL reaches the server's remembered app when PostgreSQL
  // announces it (app_cache.test.mjs): within milliseconds, not at once.
  const answers = async (status, code) => {
    const t0 = Date.now();
    for (;;) {
      r = await t.ingest.batch(body);
      if (r.status === status && (code === undefined || r.body.code === code)) return;
      assert.ok(Date.now() - t0 < 1500, `still ${r.status} ${r.text}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  };
  await sql(`UPDATE accounts SET status = 'frozen' WHERE id = ${t.id}`);
  await answers(403, 'account_inactive');
  await sql(`UPDATE accounts SET status = 'active' WHERE id = ${t.id}`);
  assert.deepEqual(await stored(t), [0, 0]);
  await answers(201);
});

test('every bad batch is refused with the item named, and nothing is kept', async () => {
  const t = await dataTenant(srv, { n: 3, selected: 2 });
  const other = await dataTenant(srv, { n: 1 });
  const t0 = baseTime();
  const [a, b, unselected] = t.channels;
  const ok = { id: a, t: [t0], v: [1] };
  const cases = [
    [{ channels: [ok] }, 400, 'missing', 'batch_id'],
    [{ batch_id: '', channels: [ok] }, 400, 'invalid_value', 'batch_id'],
    [{ batch_id: 'a b', channels: [ok] }, 400, 'invalid_value', 'batch_id'],
    [{ batch_id: 'x'.repeat(65), channels: [ok] }, 400, 'invalid_value', 'batch_id'],
    [{ batch_id: 7, channels: [ok] }, 400, 'invalid_value', 'batch_id'],
    [{ batch_id: 'e' }, 400, 'empty_batch', undefined],
    [{ batch_id: 'e', channels: [] }, 400, 'empty_batch', undefined],
    [{ batch_id: 'e', extra: 1, channels: [ok] }, 400, 'unknown_member', 'extra'],
    [{ batch_id: 'e', channels: {} }, 400, 'wrong_type', 'channels'],
    [{ batch_id: 'e', channels: [ok, 5] }, 400, 'wrong_type', 'channels[1]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0], v: [1], unit: 'V' }] }, 400,
      'unknown_member', 'channels[1].unit'],
    [{ batch_id: 'e', channels: [ok, { t: [t0], v: [1] }] }, 400, 'missing', 'channels[1].id'],
    [{ batch_id: 'e', channels: [ok, { id: '12', t: [t0], v: [1] }] }, 400, 'wrong_type',
      'channels[1].id'],
    [{ batch_id: 'e', channels: [ok, { id: 999999999, t: [t0], v: [1] }] }, 422,
      'unknown_channel', 'channels[1].id'],
    [{ batch_id: 'e', channels: [ok, { id: other.channels[0], t: [t0], v: [1] }] }, 422,
      'unknown_channel', 'channels[1].id'],
    [{ batch_id: 'e', channels: [ok, { id: unselected, t: [t0], v: [1] }] }, 422,
      'channel_not_selected', 'channels[1].id'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: t0, v: [1] }] }, 400, 'wrong_type',
      'channels[1].t'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0, t0 + MIN_US], v: [1] }] }, 400,
      'length_mismatch', 'channels[1].v'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0 + 0.5], v: [1] }] }, 400, 'wrong_type',
      'channels[1].t[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: ['2024-01-01'], v: [1] }] }, 400, 'wrong_type',
      'channels[1].t[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0], v: ['7'] }] }, 400, 'wrong_type',
      'channels[1].v[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0], v: [null] }] }, 400, 'wrong_type',
      'channels[1].v[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0], v: [true] }] }, 400, 'wrong_type',
      'channels[1].v[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0, t0 + MIN_US], v: [1, 'overflow'] }] }, 400,
      'wrong_type', 'channels[1].v[1]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0 + MIN_US, t0], v: [1, 2] }] }, 422,
      'out_of_order', 'channels[1].t[1]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [t0, t0], v: [1, 2] }] }, 422,
      'out_of_order', 'channels[1].t[1]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [Date.now() * 1000 + 3600e6], v: [1] }] }, 422,
      'time_in_future', 'channels[1].t[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [Date.UTC(1999, 11, 31) * 1000], v: [1] }] },
      422, 'time_out_of_range', 'channels[1].t[0]'],
    [{ batch_id: 'e', channels: [ok, { id: b, t: [-1], v: [1] }] }, 422, 'time_out_of_range',
      'channels[1].t[0]'],
    // The same sample twice across the two forms.
    [{ batch_id: 'e', channels: [ok], snapshots: [{ t: t0, ids: [a], v: [2] }] }, 422,
      'duplicate_sample', undefined],
    [{ batch_id: 'e', snapshots: [{ t: t0, ids: [a, b], v: [1] }] }, 400, 'length_mismatch',
      'snapshots[0].v'],
    [{ batch_id: 'e', snapshots: [{ ids: [a], v: [1] }] }, 400, 'missing', 'snapshots[0].t'],
    [{ batch_id: 'e', snapshots: [{ t: t0, ids: [a, unselected], v: [1, 2] }] }, 422,
      'channel_not_selected', 'snapshots[0].ids[1]'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await t.ingest.batch(body);
    const what = `${JSON.stringify(body).slice(0, 160)} -> ${r.status} ${r.text}`;
    assert.equal(r.status, status, what);
    assert.equal(r.body.code, code, what);
    assert.equal(r.body.field, field, what);
    assert.ok(r.body.message.length > 10, what);
  }
  // Bodies that are not batches at all.
  for (const [text, code] of [['{"batch_id": "x", ', 'malformed_json'], ['[1,2]', 'wrong_type'],
    ['"x"', 'wrong_type']]) {
    const r = await t.ingest.batch(text, { 'Content-Type': 'application/json' });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.code, code);
  }
  let r = await t.ingest.batch('a,b', { 'Content-Type': 'text/csv' });
  assert.equal(r.status, 415);
  r = await t.ingest.batch('', { 'Content-Type': 'application/json' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'empty_batch');
  r = await t.ingest.batch('x'.repeat(2_000_001), { 'Content-Type': 'application/json' });
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 'body_too_large');
  // Nothing of any refused batch was kept, and the id "e" is still free.
  assert.deepEqual(await stored(t), [0, 0]);
  r = await t.ingest.batch({ batch_id: 'e', channels: [ok] });
  assert.equal(r.status, 201, r.text);
});

test('limits: channel runs per batch', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(400);
  const runs = [];
  for (let i = 0; i <= 20000; i++) runs.push({ id: t.channels[0], t: [t0 + i * MIN_US], v: [i] });
  let r = await t.ingest.batch({ batch_id: 'runs', channels: runs });
  assert.equal(r.status, 413, r.text);
  assert.equal(r.body.code, 'batch_too_large');
  r = await t.ingest.batch({ batch_id: 'runs', channels: runs.slice(0, 20000) });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.samples, 20000);
});

test('HOK and HOK2 bodies: channels by id, missing values skipped, bad bodies refused', async (ctx) => {
  const hok = await loadHok();
  if (!hok) return ctx.skip('the wasm build (build/wasm-build) is not there');
  const t = await dataTenant(srv, { n: 2 });
  const t0ms = baseTime() / 1000;
  const times = [t0ms, t0ms + 60000, t0ms + 120000];
  // core's "missing" special value (a NaN with payload 1, mt/types.h)
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(4, 0x7ff80000, true);
  dv.setUint32(0, 1, true);
  const missing = dv.getFloat64(0, true);
  const file = (format, ids = t.channels) => hok.write({
    meta: { title: 'import' },
    channels: ids.map((id, i) => ({ id, name: `CH${i + 1}`, unit: 'V' })),
    times, values: [[1, 2, 3], [4, missing, 6]] }, { format });
  let r = await t.ingest.hok(file('hok'), 'hok-1');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.samples, 5);
  r = await t.ingest.hok(file('hok2'), 'hok-2');
  // The same samples under another batch id: accepted; equal times replace
  // the earlier values when they are folded into the day blocks.
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.samples, 5);
  // Fold now, so that the compactor cannot change the counts below.
  assert.equal((await request(srv.url, 'POST', '/api/v1/test/compact')).status, 200);
  const before = await stored(t);
  assert.deepEqual(before, [2, 5]);
  r = await t.ingest.hok(file('hok2'), undefined);
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'X-Batch-Id');
  const bytes = file('hok2');
  r = await t.ingest.hok(bytes.slice(0, bytes.length - 3), 'hok-3');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'bad_hok');
  r = await t.ingest.hok(file('hok2', [t.channels[0], 999999]), 'hok-3');
  assert.equal(r.status, 422);
  assert.equal(r.body.code, 'unknown_channel');
  assert.equal(r.body.field, 'channel[1].id');
  assert.deepEqual(await stored(t), before);
});

test('connect, heartbeat and disconnect are recorded; the app learns its channel ids', async () => {
  const t = await dataTenant(srv, { n: 2, selected: 1 });
  // An unknown member is refused and records nothing.
  let r = await request(srv.url, 'POST', '/api/v1/ingest/status', {
    body: { state: 'connect', version: '1.2' },
    headers: { authorization: `Bearer ${t.app.credential}` } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unknown_field');
  assert.equal(r.body.field, 'version');
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 'f');
  r = await t.ingest.status('connect');
  assert.equal(r.status, 200, r.text);
  assert.equal(await sql(`SELECT connected FROM app_seen WHERE app_id = ${t.appId}`), 't');
  r = await t.ingest.status('heartbeat');
  assert.equal(r.status, 200);
  r = await t.ingest.status('disconnect');
  assert.equal(r.status, 200);
  assert.equal(await sql(`SELECT connected::text || (disconnected_at IS NOT NULL)::text
    FROM app_seen WHERE app_id = ${t.appId}`), 'falsetrue');
  r = await t.ingest.status('asleep');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'state');
  r = await t.ingest.channels();
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.devices.length, 1);
  assert.deepEqual(r.body.devices[0].channels.map((c) => [c.id, c.selected]),
    [[t.channels[0], true], [t.channels[1], false]]);
  r = await appClient(srv.url, 'mta_' + 'B'.repeat(43)).channels();
  assert.equal(r.status, 401);
});

test('apps of two accounts never see each other', async () => {
  const a = await dataTenant(srv, { n: 1 });
  const b = await dataTenant(srv, { n: 1 });
  const t0 = baseTime();
  // Same batch id in two accounts: both stored (ids are per app).
  let r = await a.ingest.batch({ batch_id: 'same', channels: [{ id: a.channels[0], t: [t0], v: [1] }] });
  assert.equal(r.status, 201);
  r = await b.ingest.batch({ batch_id: 'same', channels: [{ id: b.channels[0], t: [t0], v: [1] }] });
  assert.equal(r.status, 201);
  r = await a.ingest.batch({ batch_id: 'x', channels: [{ id: b.channels[0], t: [t0], v: [1] }] });
  assert.equal(r.status, 422);
  assert.equal(r.body.code, 'unknown_channel');
  assert.equal(uniq('x').length > 0, true);
});

test('a change of the selection applies to the very next batch (no stale channel table)', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const t0 = baseTime();
  const body = (id, b) => ({ batch_id: b, channels: [{ id, t: [t0], v: [1] }] });
  let r = await t.ingest.batch(body(t.channels[1], 'c1'));
  assert.equal(r.status, 201, r.text);
  r = await t.c.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [t.channels[0]] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.ingest.batch(body(t.channels[1], 'c2'));
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.code, 'channel_not_selected');
  r = await t.c.post(`/api/v1/devices/${t.deviceId}/channels`, { key: 'CH9', name: 'New', unit: 'A' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const added = r.body.id;
  r = await t.ingest.batch(body(added, 'c3'));
  assert.equal(r.body.code, 'channel_not_selected');
  r = await t.c.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [t.channels[0], added] });
  assert.equal(r.status, 200);
  r = await t.ingest.batch(body(added, 'c4'));
  assert.equal(r.status, 201, r.text);
  r = await t.c.del(`/api/v1/channels/${added}`);
  r = await t.ingest.batch(body(added, 'c5'));
  assert.equal(r.status, 422);
  assert.equal(r.body.code, 'unknown_channel');
});

test('limits: samples per batch (2,000,000), refused before anything is read', async (ctx) => {
  const hok = await loadHok();
  if (!hok) return ctx.skip('the wasm build (build/wasm-build) is not there');
  const t = await dataTenant(srv, { n: 1 });
  const n = 2_000_001;
  const t0ms = baseTime(24 * 60) / 1000;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = t0ms + i;
  const bytes = hok.write({ meta: {}, channels: [{ id: t.channels[0], name: 'CH1', unit: 'V' }],
    times, values: [new Float64Array(n).fill(1.25)] }, { format: 'hok2' });
  const r = await t.ingest.hok(bytes, 'too-many');
  assert.equal(r.status, 413, r.text);
  assert.equal(r.body.code, 'batch_too_large');
  assert.match(r.body.message, /2000000/);
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`), '0');
});
