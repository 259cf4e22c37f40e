// Queries of acquired data (M2, V1, V2, D2): decimated graphs checked
// against a brute-force computation (from samples and from hourly
// summaries), raw pages, the monitor's latest values, hot + folded data,
// the compactor, channel history, the 32-channel limit, access control.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, login, request, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, baseTime, dataTenant } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);
const HOUR = 3600e6;

before(async () => {
  // A long compactor interval: the tests fold explicitly with /test/compact.
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000' } }));
});

after(() => stopStack({ pg, srv }));

const compact = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};

/** A tenant of two selected channels whose app is in a new group "name". */
async function monitoredTenant(name) {
  const t = await dataTenant(srv, { n: 2, selected: 2 });
  const r = await t.c.post('/api/v1/groups', { name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: r.body.id });
  return { t, g: r.body.id };
}

/** A deterministic signal with spikes and the odd special value. */
function signal(seed, n) {
  const v = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    if (i % 997 === 500) v.push('+over');
    else if (i % 1499 === 700) v.push('missing');
    else v.push(Math.round((20 + 5 * Math.sin(i / 300) + (x / 2147483648 - 0.5)) * 100) / 100 +
      (i % 5003 === 2000 ? 100 : 0));
  }
  return v;
}

/** Send samples of several channels in batches of "per" minutes each. */
async function sendRuns(t, runs, per = 5000) {
  let k = 0;
  const n = runs[0].t.length;
  for (let i = 0; i < n; i += per) {
    const r = await t.ingest.batch({ batch_id: `run-${k++}`, channels: runs.map((run) => ({
      id: run.id, t: run.t.slice(i, i + per), v: run.v.slice(i, i + per) })) });
    assert.equal(r.status, 201, r.text);
  }
}

/** Brute-force min/max/first/last/n per bucket of ordinary values. */
function brute(ts, vs, t0, t1, nb) {
  const w = (t1 - t0) / nb;
  const out = Array.from({ length: nb }, () => ({ n: 0, min: null, max: null, first: null, last: null, sp: 0 }));
  ts.forEach((t, i) => {
    if (t < t0 || t >= t1) return;
    let b = Math.floor((t - t0) / w);
    if (b >= nb) b = nb - 1;
    while (b > 0 && t < t0 + b * w) b--;
    while (b + 1 < nb && t >= t0 + (b + 1) * w) b++;
    const o = out[b];
    const v = vs[i];
    if (typeof v === 'string') { o.sp++; return; }
    o.n++;
    if (o.min === null || v < o.min) o.min = v;
    if (o.max === null || v > o.max) o.max = v;
    if (o.first === null) o.first = v;
    o.last = v;
  });
  return out;
}

function assertBuckets(got, want, what) {
  assert.equal(got.n.length, want.length, what);
  want.forEach((b, i) => {
    assert.deepEqual([got.n[i], got.min[i], got.max[i], got.first[i], got.last[i],
      got.special[i]?.count ?? 0],
    [b.n, b.min, b.max, b.first, b.last, b.sp], `${what}: bucket ${i}`);
  });
}

test('graph mode: from samples and from hourly summaries, equal to brute force', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const t0 = baseTime(24 * 40); // 40 days ago, midnight UTC
  const n = 30 * 1440; // 30 days of one-minute data
  const ts = Array.from({ length: n }, (_, i) => t0 + i * MIN_US);
  const runs = [{ id: t.channels[0], t: ts, v: signal(7, n) },
    { id: t.channels[1], t: ts, v: signal(11, n) }];
  await sendRuns(t, runs, 10000);
  // Half before folding: answers must not depend on where samples are.
  for (const phase of ['hot', 'folded']) {
    if (phase === 'folded') {
      const st = await compact();
      // "missing" sent in JSON is kept as an explicit gap marker (a special value).
      assert.equal(st.samples, 2 * n);
    }
    // Samples path: a 2-day window at odd edges into 500 buckets.
    const a = t0 + 3 * 86400e6 + 12345, b = a + 2 * 86400e6 - 999;
    let r = await t.c.get(`/api/v1/data/graph?channels=${t.channels.join(',')}&from=${a}&to=${b}&buckets=500`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.source, 'samples');
    assert.equal(r.body.buckets, 500);
    for (let c = 0; c < 2; c++) {
      assertBuckets(r.body.channels[c], brute(ts, runs[c].v, a, b, 500), `${phase} samples ch${c}`);
    }
    // Hours path: the whole month into 100 buckets (7.2 h -> 8 h buckets).
    r = await t.c.get(`/api/v1/data/graph?channels=${t.channels.join(',')}&from=${t0 + 1800e6}&to=${t0 + n * MIN_US}&buckets=100`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.source, 'hours');
    assert.equal(r.body.from, t0); // aligned down to the hour
    assert.equal(r.body.bucket_us, 8 * HOUR);
    const nb = r.body.buckets;
    assert.equal(nb, Math.ceil((n * MIN_US) / (8 * HOUR)));
    for (let c = 0; c < 2; c++) {
      assertBuckets(r.body.channels[c], brute(ts, runs[c].v, r.body.from, r.body.to, nb),
        `${phase} hours ch${c}`);
    }
  }
  // Stored as day blocks with hourly summaries, and under 4 bytes a sample.
  const [blocks, bytes] = (await sql(`SELECT count(*), sum(octet_length(data) + octet_length(hours))
    FROM series_day WHERE account_id = ${t.id}`)).split('|').map(Number);
  assert.equal(blocks, 60);
  assert.ok(bytes / (2 * n) < 4, `bytes per sample ${bytes / (2 * n)}`);
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`), '0');
  // The storage counter follows the blocks (acquired data counts against P2).
  assert.equal(Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`)), bytes);
});

test('a late sample replaces the stored one; hot data is merged into answers', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const ch = t.channels[0];
  const t0 = baseTime(30);
  let r = await t.ingest.batch({ batch_id: 'a', channels: [{ id: ch, t: [t0, t0 + MIN_US, t0 + 2 * MIN_US], v: [1, 2, 3] }] });
  assert.equal(r.status, 201);
  await compact();
  r = await t.ingest.batch({ batch_id: 'b', channels: [{ id: ch, t: [t0 + MIN_US, t0 + 3 * MIN_US], v: [20, 4] }] });
  assert.equal(r.status, 201);
  const q = `/api/v1/data/raw?channels=${ch}&from=${t0}&to=${t0 + 10 * MIN_US}`;
  r = await t.c.get(q);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.t, [t0, t0 + MIN_US, t0 + 2 * MIN_US, t0 + 3 * MIN_US]);
  assert.deepEqual(r.body.channels[0].v, [1, 20, 3, 4]);
  await compact();
  const again = await t.c.get(q);
  assert.deepEqual(again.body, r.body);
});

test('hot rows however wide: a window anywhere inside a back-fill row finds its samples', async () => {
  // The hot read bounds t_max by the window's end plus the widest hot row
  // of the account (migrations 034, 038): a row spanning three days and
  // rows of a minute, read at each end, in the middle and past them.
  const t = await dataTenant(srv, { n: 1 });
  const ch = t.channels[0];
  const t0 = baseTime(4 * 24);
  const wide = [t0, t0 + 36 * HOUR, t0 + 72 * HOUR];
  let r = await t.ingest.batch({ batch_id: 'wide', channels: [{ id: ch, t: wide, v: [1, 2, 3] }] });
  assert.equal(r.status, 201, r.text);
  const later = t0 + 80 * HOUR;
  r = await t.ingest.batch({ batch_id: 'minute', channels: [{ id: ch, t: [later], v: [4] }] });
  assert.equal(r.status, 201, r.text);
  const raw = async (from, to) => {
    const q = await t.c.get(`/api/v1/data/raw?channels=${ch}&from=${from}&to=${to}`);
    assert.equal(q.status, 200, JSON.stringify(q.body));
    return q.body.t;
  };
  for (let pass = 0; pass < 2; pass++) {
    assert.deepEqual(await raw(t0 - MIN_US, t0 + MIN_US), [t0]);
    assert.deepEqual(await raw(t0 + 35 * HOUR, t0 + 37 * HOUR), [t0 + 36 * HOUR]);
    assert.deepEqual(await raw(t0 + 72 * HOUR, t0 + 73 * HOUR), [t0 + 72 * HOUR]);
    assert.deepEqual(await raw(t0 + 73 * HOUR, t0 + 79 * HOUR), []);
    assert.deepEqual(await raw(t0 - HOUR, later + 1), [...wide, later]);
    await compact(); // the same answers from the day blocks
  }
});

test('list mode: rows of distinct times, nulls where a channel has no sample, paging', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const [a, b] = t.channels;
  const t0 = baseTime(30);
  await t.ingest.batch({ batch_id: 'l', channels: [
    { id: a, t: [0, 1, 2, 3, 4].map((i) => t0 + i * MIN_US), v: [1, 2, 'break', 4, 5] },
    { id: b, t: [1, 3, 5].map((i) => t0 + i * MIN_US), v: [10, 30, 50] }] });
  let r = await t.c.get(`/api/v1/data/raw?channels=${a},${b}&from=${t0}&to=${t0 + 10 * MIN_US}&limit=4`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.t, [0, 1, 2, 3].map((i) => t0 + i * MIN_US));
  assert.deepEqual(r.body.channels.map((c) => c.v), [[1, 2, 'break', 4], [null, 10, null, 30]]);
  assert.equal(r.body.next, t0 + 3 * MIN_US + 1);
  r = await t.c.get(`/api/v1/data/raw?channels=${a},${b}&from=${r.body.next}&to=${t0 + 10 * MIN_US}&limit=4`);
  assert.deepEqual(r.body.t, [4, 5].map((i) => t0 + i * MIN_US));
  assert.deepEqual(r.body.channels.map((c) => c.v), [[5, null], [null, 50]]);
  assert.equal(r.body.next, null);
});

test('bad queries: every parameter checked, 32-channel limit', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const ch = t.channels[0];
  const ok = `from=1000000&to=2000000`;
  const cases = [
    [`/api/v1/data/graph?${ok}`, 'missing', 'channels'],
    [`/api/v1/data/graph?channels=&${ok}`, 'invalid_value', 'channels'],
    [`/api/v1/data/graph?channels=x&${ok}`, 'invalid_value', 'channels'],
    [`/api/v1/data/graph?channels=${ch},${ch}&${ok}`, 'invalid_value', 'channels'],
    [`/api/v1/data/graph?channels=-1&${ok}`, 'invalid_value', 'channels'],
    [`/api/v1/data/graph?channels=${Array.from({ length: 33 }, (_, i) => i + 1).join(',')}&${ok}`,
      'too_many_channels', 'channels'],
    [`/api/v1/data/graph?channels=${ch}&to=2000000`, 'missing', 'from'],
    [`/api/v1/data/graph?channels=${ch}&from=abc&to=2000000`, 'invalid_value', 'from'],
    [`/api/v1/data/graph?channels=${ch}&from=2000000&to=2000000`, 'invalid_value', 'to'],
    [`/api/v1/data/graph?channels=${ch}&${ok}&buckets=0`, 'invalid_value', 'buckets'],
    [`/api/v1/data/graph?channels=${ch}&${ok}&buckets=20001`, 'invalid_value', 'buckets'],
    [`/api/v1/data/raw?channels=${ch}&${ok}&limit=0`, 'invalid_value', 'limit'],
    [`/api/v1/data/raw?channels=${ch}&from=0&to=${1e18}`, 'invalid_value', 'to'],
  ];
  for (const [p, code, field] of cases) {
    const r = await t.c.get(p);
    assert.equal(r.status, 400, `${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, p);
    assert.equal(r.body.field, field, p);
  }
  // 32 of one's own channels are fine.
  const many = await dataTenant(srv, { n: 32 });
  const r = await many.c.get(`/api/v1/data/graph?channels=${many.channels.join(',')}&${ok}&buckets=10`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.channels.length, 32);
});

test('another account\'s channels and groups are never reachable; members see granted groups', async () => {
  const a = await dataTenant(srv, { n: 1 });
  const b = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(30);
  await b.ingest.batch({ batch_id: 's', channels: [{ id: b.channels[0], t: [t0], v: [42] }] });
  let r = await a.c.get(`/api/v1/data/raw?channels=${b.channels[0]}&from=${t0}&to=${t0 + 1}`);
  assert.equal(r.status, 404);
  r = await a.c.get(`/api/v1/data/graph?channels=${a.channels[0]},${b.channels[0]}&from=${t0}&to=${t0 + 1}`);
  assert.equal(r.status, 404);
  assert.match(r.body.message, new RegExp(String(b.channels[0])));
  // Groups: put b's app in a group; a member of b without access sees nothing.
  r = await b.c.post('/api/v1/groups', { name: 'Site' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const g = r.body.id;
  r = await b.c.patch(`/api/v1/apps/${b.appId}`, { group_id: g });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await a.c.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 404);
  await createUser(srv.url, { accountId: b.id, user: 'viewer', password: PW, role: 'member',
    email: `v@${b.account}.test` });
  const m = await login(srv.url, { account: b.account, user: 'viewer', password: PW });
  r = await m.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 404);
  r = await m.get(`/api/v1/data/raw?channels=${b.channels[0]}&from=${t0}&to=${t0 + 1}`);
  assert.equal(r.status, 404);
  const uid = Number(await sql(`SELECT id FROM users WHERE account_id = ${b.id} AND login_id = 'viewer'`));
  r = await b.c.put(`/api/v1/groups/${g}/access`, { users: [{ user_id: uid, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await m.get(`/api/v1/data/raw?channels=${b.channels[0]}&from=${t0}&to=${t0 + 1}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.channels[0].v, [42]);
});

test('monitor: apps, devices, channels with the latest value, hot or folded', async () => {
  const { t, g } = await monitoredTenant('Plant');
  let r;
  const t0 = baseTime(2);
  await t.ingest.batch({ batch_id: '1', snapshots: [{ t: t0, ids: t.channels, v: [1, 2] },
    { t: t0 + MIN_US, ids: t.channels, v: [3, '-over'] }] });
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const chans = () => r.body.apps[0].devices[0].channels.map((c) => [c.id, c.latest]);
  assert.deepEqual(chans(), [[t.channels[0], { t: t0 + MIN_US, v: 3 }],
    [t.channels[1], { t: t0 + MIN_US, v: '-over' }]]);
  await compact();
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.deepEqual(chans(), [[t.channels[0], { t: t0 + MIN_US, v: 3 }],
    [t.channels[1], { t: t0 + MIN_US, v: '-over' }]]);
  await t.ingest.batch({ batch_id: '2', snapshots: [{ t: t0 + 2 * MIN_US, ids: [t.channels[0]], v: [5] }] });
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.deepEqual(chans()[0], [t.channels[0], { t: t0 + 2 * MIN_US, v: 5 }]);
  assert.equal(r.body.apps[0].id, t.appId);
  assert.equal(typeof r.body.apps[0].last_seen_at, 'string');
});

test('monitor: an app just registered is listed, without devices and with a device without channels', async () => {
  const t = await dataTenant(srv, { n: 1 });
  let r = await t.c.post('/api/v1/groups', { name: 'New site' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const g = r.body.id;
  await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: g });
  r = await t.c.post('/api/v1/apps', { kind: 'one', name: 'Just registered' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const bare = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${bare}`, { group_id: g });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const app = (id) => r.body.apps.find((a) => a.id === id);
  assert.deepEqual(r.body.apps.map((a) => a.id), [t.appId, bare].sort((x, y) => x - y));
  assert.deepEqual(app(bare).devices, []);
  assert.equal(app(bare).name, 'Just registered');
  assert.equal(app(bare).last_seen_at, null);
  assert.deepEqual(app(t.appId).devices[0].channels.map((c) => c.id), t.channels);
  // Its first instrument, before any channel.
  r = await t.c.post(`/api/v1/apps/${bare}/devices`, { model: 'LR8450', serial: 'SN-NEW-1' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const dev = r.body.id;
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(app(bare).devices.map((d) => [d.id, d.serial, d.channels]),
    [[dev, 'SN-NEW-1', []]]);
  assert.equal(app(t.appId).devices[0].channels.length, 1);
  assert.deepEqual(r.body.computed, []);
});

test('compaction: a round takes rows by their samples, so small batches rewrite a day block once, not every 256 rows', async () => {
  const t = await dataTenant(srv, { n: 2, selected: 2 });
  const [c1, c2] = t.channels;
  const t0 = baseTime(5);
  await compact();
  const N = 1500;
  for (let i = 0; i < N; i += 50) {
    const rs = await Promise.all(Array.from({ length: 50 }, (_, k) => t.ingest.batch({
      batch_id: `s${i + k}`, snapshots: [{ t: t0 + (i + k) * 1e6, ids: [c1, c2], v: [i + k, -(i + k)] }] })));
    for (const r of rs) assert.equal(r.status, 201, r.text);
  }
  // Rounds of 256 rows rewrote both blocks 6 times (12); now the first
  // round learns 2 samples a row and the next takes every row left.
  const got = await compact();
  assert.equal(got.hot_rows, N);
  assert.equal(got.samples, 2 * N);
  assert.ok(got.blocks <= 4, `${got.blocks} block writes`);
  const r = await t.c.get(`/api/v1/data/raw?channels=${c1},${c2}&from=${t0}&to=${t0 + N * 1e6}&limit=2000`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.t.length, N);
  assert.deepEqual([r.body.t[N - 1], r.body.channels[0].v[N - 1], r.body.channels[1].v[N - 1]],
    [t0 + (N - 1) * 1e6, N - 1, -(N - 1)]);
});

test('monitor: the newest hot sample of each channel, however many hot rows wait for the compactor', async () => {
  const { t, g } = await monitoredTenant('Many rows');
  let r;
  const [c1, c2] = t.channels;
  const t0 = baseTime(3);
  // CH2 only in the oldest hot row; CH1 in the 40 rows after it (the
  // monitor reads rows newest first, a page at a time: CH2 is pages away).
  await t.ingest.batch({ batch_id: 'old', channels: [{ id: c2, t: [t0, t0 + 1], v: [7, 8] }] });
  for (let i = 1; i <= 40; i++) {
    await t.ingest.batch({ batch_id: `b${i}`, channels: [{ id: c1, t: [t0 + i * MIN_US], v: [i] }] });
  }
  // A later arrival at the newest time wins; a back-fill sent last, older
  // than both, changes nothing.
  await t.ingest.batch({ batch_id: 'again', channels: [{ id: c1, t: [t0 + 40 * MIN_US], v: [99] }] });
  await t.ingest.batch({ batch_id: 'fill', channels: [{ id: c1, t: [t0 - MIN_US], v: [-1] },
    { id: c2, t: [t0 - MIN_US], v: [-1] }] });
  const chans = () => r.body.apps[0].devices[0].channels.map((c) => [c.id, c.latest]);
  const want = [[c1, { t: t0 + 40 * MIN_US, v: 99 }], [c2, { t: t0 + 1, v: 8 }]];
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(chans(), want);
  // Folded: the latest values come from channel_latest; a hot sample older
  // than them does not count, a newer one does.
  await compact();
  await t.ingest.batch({ batch_id: 'older', channels: [{ id: c2, t: [t0 - 2 * MIN_US], v: [-2] }] });
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.deepEqual(chans(), want);
  await t.ingest.batch({ batch_id: 'newer', channels: [{ id: c2, t: [t0 + 2], v: [9] }] });
  r = await t.c.get(`/api/v1/groups/${g}/monitor`);
  assert.deepEqual(chans(), [want[0], [c2, { t: t0 + 2, v: 9 }]]);
});

test('monitor: a first page sized by the last read still finds a channel pages behind it; a later arrival at an equal time wins', async () => {
  const { t, g } = await monitoredTenant('Remembered page');
  let r;
  const [c1, c2] = t.channels;
  const t0 = baseTime(4);
  const chans = () => r.body.apps[0].devices[0].channels.map((c) => [c.id, c.latest]);
  const get = async () => {
    r = await t.c.get(`/api/v1/groups/${g}/monitor`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return chans();
  };
  // Both channels in every batch: the newest row settles the read, and the
  // next read asks that one row first.
  await t.ingest.batch({ batch_id: 'a', channels: [{ id: c1, t: [t0], v: [1] }, { id: c2, t: [t0], v: [2] }] });
  await t.ingest.batch({ batch_id: 'b', channels: [{ id: c1, t: [t0 + MIN_US], v: [3] },
    { id: c2, t: [t0 + MIN_US], v: [4] }] });
  assert.deepEqual(await get(), [[c1, { t: t0 + MIN_US, v: 3 }], [c2, { t: t0 + MIN_US, v: 4 }]]);
  assert.deepEqual(await get(), [[c1, { t: t0 + MIN_US, v: 3 }], [c2, { t: t0 + MIN_US, v: 4 }]]);
  // A later arrival of CH2 at the same time wins over the row before it.
  await t.ingest.batch({ batch_id: 'c', channels: [{ id: c2, t: [t0 + MIN_US], v: [5] }] });
  assert.deepEqual(await get(), [[c1, { t: t0 + MIN_US, v: 3 }], [c2, { t: t0 + MIN_US, v: 5 }]]);
  // 30 rows of CH1 alone: CH2's newest sample is pages behind the first page.
  for (let i = 2; i <= 31; i++) {
    await t.ingest.batch({ batch_id: `d${i}`, channels: [{ id: c1, t: [t0 + i * MIN_US], v: [i] }] });
  }
  const want = [[c1, { t: t0 + 31 * MIN_US, v: 31 }], [c2, { t: t0 + MIN_US, v: 5 }]];
  assert.deepEqual(await get(), want);
  assert.deepEqual(await get(), want);
  // And back to batches of both: one row settles it again.
  await t.ingest.batch({ batch_id: 'e', channels: [{ id: c1, t: [t0 + 32 * MIN_US], v: [6] },
    { id: c2, t: [t0 + 32 * MIN_US], v: [7] }] });
  assert.deepEqual(await get(), [[c1, { t: t0 + 32 * MIN_US, v: 6 }], [c2, { t: t0 + 32 * MIN_US, v: 7 }]]);
});

test('channel history: the 10 most recently viewed channels', async () => {
  const t = await dataTenant(srv, { n: 12 });
  for (const ch of t.channels) {
    const r = await t.c.get(`/api/v1/data/graph?channels=${ch}&from=0&to=1000&buckets=1`);
    assert.equal(r.status, 200);
  }
  const r = await t.c.get('/api/v1/me/channel-history');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.map((c) => c.id), t.channels.slice(2).reverse());
});

test('deleting a channel deletes its samples and frees their bytes', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(30);
  await t.ingest.batch({ batch_id: 'x', channels: [{ id: t.channels[0], t: [t0, t0 + MIN_US], v: [1, 2] }] });
  await compact();
  assert.ok(Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`)) > 0);
  const r = await t.c.del(`/api/v1/channels/${t.channels[0]}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM series_day WHERE channel_id = ${t.channels[0]}`), '0');
  assert.equal(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`), '0');
});

test('retention (L5): Free keeps one year of acquired data, Pro keeps everything', async () => {
  const free = await dataTenant(srv, { plan: 'free', n: 1 });
  const pro = await dataTenant(srv, { n: 1 });
  const old = baseTime(24 * 400), recent = baseTime(24 * 10);
  for (const t of [free, pro]) {
    const r = await t.ingest.batch({ batch_id: 'ret', channels: [{ id: t.channels[0],
      t: [old, old + MIN_US, recent], v: [1, 2, 3] }] });
    assert.equal(r.status, 201, r.text);
  }
  await compact();
  const bytes = async (t) => Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`));
  const before = await bytes(free);
  const r = await request(srv.url, 'POST', '/api/v1/test/jobs?job=data_retention');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true);
  const days = async (t) => (await sql(`SELECT string_agg(n::text, ',' ORDER BY day) FROM series_day
    WHERE account_id = ${t.id}`));
  assert.equal(await days(free), '1');
  assert.equal(await days(pro), '2,1');
  assert.ok(await bytes(free) < before);
  const q = await free.c.get(`/api/v1/data/raw?channels=${free.channels[0]}&from=${old}&to=${recent + 1}`);
  assert.deepEqual(q.body.channels[0].v, [3]);
  // The month rows of deleted days went with them; Pro's old month is built.
  await compact();
  const oldMonth = async (t) => sql(`SELECT count(*) FROM series_month WHERE account_id = ${t.id}
    AND month <= ${Math.floor(old / 86400e6)} AND month_end > ${Math.floor(old / 86400e6)}`);
  assert.equal(await oldMonth(free), '0');
  assert.equal(await oldMonth(pro), '1');
});

test('numbers come back exactly as sent, whatever their digits', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(30);
  const vals = [0, -0.5, 0.1, 0.1 + 0.2, 21.53, -273.15, 1e-7, 123456789.123456, 999999999999.5,
    1e12, 1.5e15, -1e300, 5e-324, 2 ** 53 + 2, 1 / 3, 1234.000001, -0.000123];
  const r0 = await t.ingest.batch({ batch_id: 'n', channels: [{ id: t.channels[0],
    t: vals.map((_, i) => t0 + i * MIN_US), v: vals }] });
  assert.equal(r0.status, 201, r0.text);
  for (const phase of ['hot', 'folded']) {
    if (phase === 'folded') await compact();
    const r = await t.c.get(`/api/v1/data/raw?channels=${t.channels[0]}&from=${t0}&to=${t0 + 100 * MIN_US}`);
    assert.deepEqual(r.body.channels[0].v, vals, phase);
  }
});

test('month rows: long ranges read one row per channel and month, rebuilt after every late write', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const [ch, other] = t.channels;
  const now = new Date();
  const t0 = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1) * 1000; // 3 months back
  const step = 10 * MIN_US;
  const n = Math.floor((baseTime(48) - t0) / step);
  const ts = Array.from({ length: n }, (_, i) => t0 + i * step);
  const vs = signal(5, n);
  await sendRuns(t, [{ id: ch, t: ts, v: vs }, { id: other, t: ts, v: signal(9, n) }], 20000);
  await compact();
  const closed = Number(await sql(`SELECT count(DISTINCT mt_month_of(day)) FROM series_day
    WHERE channel_id = ${ch} AND mt_month_after(day) <= mt_today() - 2`));
  assert.ok(closed >= 2, `closed months ${closed}`);
  const monthRows = () => sql(`SELECT count(*) FROM series_month WHERE channel_id = ${ch}`).then(Number);
  assert.equal(await monthRows(), closed);
  // Each month row is its day rows' summaries, in order.
  assert.equal(await sql(`SELECT count(*) FROM series_month m WHERE channel_id = ${ch} AND hours <>
    (SELECT string_agg(hours, ''::bytea ORDER BY day) FROM series_day d
     WHERE d.channel_id = m.channel_id AND d.day >= m.month AND d.day < m.month_end)`), '0');
  assert.equal(await sql(`SELECT count(*) FROM series_month_dirty WHERE channel_id = ${ch}
    AND month_end <= mt_today() - 2`), '0');

  const whole = async (what) => {
    const r = await t.c.get(`/api/v1/data/graph?channels=${ch},${other}&from=${t0}&to=${ts[n - 1] + 1}&buckets=150`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.source, 'hours');
    assertBuckets(r.body.channels[0], brute(ts, vs, r.body.from, r.body.to, r.body.buckets), what);
    return r.body;
  };
  const first = await whole('built');
  // The same answer as from day rows alone.
  await sql(`DELETE FROM series_month WHERE account_id = ${t.id}`);
  assert.deepEqual(await whole('day rows only'), first);
  await compact(); // nothing marked them dirty: they stay missing
  assert.equal(await monthRows(), 0);
  await sql(`DELETE FROM series_month_swept`);
  await compact(); // a sweep marks closed months again
  assert.equal(await monthRows(), closed);

  // A late write into the oldest month: a replaced value and a new spike.
  const k = 1000;
  const late = [{ t: ts[k], v: -500 }, { t: ts[k] + 3 * MIN_US, v: 9999 }];
  const r = await t.ingest.batch({ batch_id: 'late', channels: [{ id: ch, t: late.map((x) => x.t),
    v: late.map((x) => x.v) }] });
  assert.equal(r.status, 201, r.text);
  vs[k] = -500;
  ts.splice(k + 1, 0, late[1].t);
  vs.splice(k + 1, 0, 9999);
  await whole('hot late samples'); // merged from the hot table
  const day = Math.floor(ts[k] / 86400e6);
  const monthOf = Number(await sql(`SELECT mt_month_of(${day})`));
  // Folding rewrites the day row: its month row goes at once, in the same
  // transaction, and the month is dirty until the builder runs.
  await sql(`UPDATE series_day SET n = n WHERE channel_id = ${ch} AND day = ${day}`);
  assert.equal(await sql(`SELECT count(*) FROM series_month WHERE channel_id = ${ch} AND month = ${monthOf}`), '0');
  assert.equal(await sql(`SELECT count(*) FROM series_month_dirty WHERE channel_id = ${ch} AND month = ${monthOf}`), '1');
  await compact();
  assert.equal(await monthRows(), closed);
  const after = await whole('late samples folded');
  assert.equal(Math.max(...after.channels[0].max.filter((x) => x !== null)), 9999);
  assert.equal(Math.min(...after.channels[0].min.filter((x) => x !== null)), -500);

  // Writes of today and yesterday (the everyday pattern) skip month rows.
  // (Today's sample a minute ago, or at midnight in the day's first minute.)
  await sql(`DELETE FROM series_month_dirty WHERE channel_id = ${ch}`);
  const y = await t.ingest.batch({ batch_id: 'recent', channels: [{ id: ch,
    t: [baseTime(24) + MIN_US, Math.max(baseTime(0), Date.now() * 1000 - 60e6)], v: [1, 2] }] });
  assert.equal(y.status, 201, y.text);
  await compact();
  assert.equal(await sql(`SELECT count(*) FROM series_day WHERE channel_id = ${ch} AND day >= mt_today() - 1`), '2');
  assert.equal(await sql(`SELECT count(*) FROM series_month_dirty WHERE channel_id = ${ch}`), '0');

  // Deleting the channel deletes its month rows with its day rows.
  const d = await t.c.del(`/api/v1/channels/${ch}`);
  assert.ok(d.status === 200 || d.status === 204, JSON.stringify(d.body));
  assert.equal(await monthRows(), 0);
  await compact();
  assert.equal(await monthRows(), 0);
  assert.equal(await sql(`SELECT count(*) FROM series_month_dirty WHERE channel_id = ${ch} AND month_end <= mt_today() - 2`), '0');
});
