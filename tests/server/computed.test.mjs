// Computed channels (X1-X4, S2, P8; docs/computed.md) over HTTP against a
// real PostgreSQL: expression errors with their position, bad inputs, P8
// per plan (and under concurrency), values computed as data is folded and
// compared with the same arithmetic done here (special values included),
// background back-fill after create / edit / copy, delete, tenant isolation
// and members' rights.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createAccount, createUser, login, request, startServer, sleep, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, baseTime, dataTenant, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);
const DAY = 86400e6;

before(async () => {
  // A long compactor interval: folding and back-fill happen when a test asks.
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000' } }));
});

after(() => stopStack({ pg, srv }));

const compact = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const backfill = async (q = '') => {
  const r = await request(srv.url, 'POST', `/api/v1/test/computed-backfill${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};

/** dataTenant + a measurement group holding its app: adds { group }. */
async function groupTenant(plan = 'pro', n = 4) {
  const t = await dataTenant(srv, { plan, n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return t;
}

/** A Trial tenant (e-mail login; a One app: no LR8450 direct on Trial). */
async function trialTenant() {
  const email = `${uniq('tri')}@trial.test`;
  await createAccount(srv.url, { plan: 'trial', user: email, email, password: PW });
  const c = await login(srv.url, { email, password: PW });
  let r = await c.post('/api/v1/groups', { name: 'Trial site' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const group = r.body.id;
  r = await c.post('/api/v1/apps', { kind: 'one', name: 'PC', group_id: group });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app = r.body;
  r = await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await c.post(`/api/v1/devices/${r.body.id}/channels`, { key: 'CH1', name: 'T', unit: 'V' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { c, group, channels: [r.body.id] };
}

const create = (t, body, group = t.group) => t.c.post(`/api/v1/groups/${group}/computed`, body);
const def = (t, expression, inputs, name = 'X') => ({ name, unit: 'V', expression, inputs });

async function mustCreate(t, expression, inputs, name = uniq('calc')) {
  const r = await create(t, def(t, expression, inputs, name));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** The computed (or any) channel's samples over [from, to) as [t], [v]. */
async function raw(t, ch, from, to) {
  const r = await t.c.get(`/api/v1/data/raw?channels=${ch}&from=${from}&to=${to}&limit=100000`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { t: r.body.t, v: r.body.channels[0].v };
}

// ------------------------------------------------ the arithmetic, in JS
// Special values as the API writes them; numbers as numbers. Mirrors
// docs/expr.md for the expressions used here.
const RANK = { break: 4, error: 3, '+over': 2, '-over': 2, missing: 1 };
function special(args) {
  let best = null;
  for (const a of args) {
    if (typeof a === 'string' && (best === null || RANK[a] > RANK[best])) best = a;
  }
  return best;
}
/** f over inputs with the special-value rules (OVER as ±Infinity). */
function evalJs(f, args) {
  const sp = special(args);
  if (sp !== null && sp !== '+over' && sp !== '-over') return sp;
  const x = args.map((a) => (a === '+over' ? Infinity : a === '-over' ? -Infinity : a));
  const { v, bad } = f(x);
  if (sp !== null) {
    if (v === Infinity) return '+over';
    if (v === -Infinity) return '-over';
    return args.find((a) => a === '+over' || a === '-over');
  }
  if (bad || Number.isNaN(v)) return 'error';
  if (v === Infinity) return '+over';
  if (v === -Infinity) return '-over';
  return v;
}
const F = {
  hyp: ([a, b]) => ({ v: Math.sqrt(a * a + b * b) }),
  avg: ([a, b]) => ({ v: (a + b) / 2 }),
  div: ([a, b]) => ({ v: a / b, bad: b === 0 }),
  root: ([a]) => ({ v: Math.sqrt(a), bad: a < 0 }),
};

function assertSeries(got, ts, want, what) {
  assert.deepEqual(got.t, ts, `${what}: times`);
  want.forEach((w, i) => {
    const g = got.v[i];
    if (typeof w === 'number' && typeof g === 'number') {
      assert.ok(Math.abs(g - w) <= 1e-12 * Math.max(1, Math.abs(w)), `${what}[${i}]: ${g} != ${w}`);
    } else {
      assert.equal(g, w, `${what}[${i}] at ${ts[i]}`);
    }
  });
}

/** Deterministic values with negatives, zeros and the odd special value. */
function values(seed, n, specials = {}) {
  const out = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(specials[i] ?? (i % 17 === 3 ? 0 : Math.round((x / 2147483648 - 0.3) * 2000) / 100));
  }
  return out;
}

// -------------------------------------------------------- unhappy paths

test('every bad expression answers expression_error with its position', async () => {
  const t = await groupTenant('pro', 2);
  const [a, b] = t.channels;
  const many = Array.from({ length: 11 }, (_, i) => `CH${i + 1}`).join('+');
  const cases = [
    ['', [a], 0],
    ['   ', [a], 3],
    ['FOO(CH1)', [a], 0],
    ['CH1 + CHX', [a], 6],
    ['CH0 + CH1', [a], 0],
    ['(CH1+CH2', [a, b], 0],
    ['CH1+CH2)', [a, b], 7],
    ['CH1+', [a], 4],
    ['*CH1', [a], 0],
    ['CH1 CH2', [a, b], 4],
    ['CH1^2', [a], 3],
    ['1+2', [a], 0],
    ['CH1/0', [a], 3],
    ['CH1 + 1e999', [a], 6],
    ['CH11', [a, b], 0],               // CH11 names no input
    ['CH1 + sqr(ch3)', [a, b], 10],    // a reference beyond the inputs
    [many, [a, b], many.indexOf('CH11')], // 11 distinct channels: core's limit
  ];
  for (const [expression, inputs, position] of cases) {
    const r = await create(t, def(t, expression, inputs));
    assert.equal(r.status, 400, `${JSON.stringify(expression)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'expression_error', expression);
    assert.equal(r.body.field, 'expression', expression);
    assert.equal(r.body.position, position, `${JSON.stringify(expression)}: ${r.body.message}`);
    assert.equal(typeof r.body.message, 'string');
  }
  let r = await create(t, def(t, 'CH3 + CH1', [a, b]));
  assert.match(r.body.message, /CH3 names no input: 2 inputs/);
  // An input that no CHn uses; a text too long for the column.
  r = await create(t, def(t, 'CH2 * 2', [a, b]));
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.deepEqual([r.body.code, r.body.field], ['invalid_value', 'inputs']);
  assert.match(r.body.message, /inputs\[0\] is bound to CH1/);
  r = await create(t, def(t, `CH1${'+1'.repeat(500)}`, [a]));
  assert.deepEqual([r.status, r.body.code, r.body.field], [400, 'too_long', 'expression']);
  // Nothing was created by all that.
  r = await t.c.get(`/api/v1/groups/${t.group}/computed`);
  assert.deepEqual(r.body, []);
});

test('bad inputs and bodies: other accounts, other groups, computed inputs, repeats, counts', async () => {
  const t = await groupTenant('pro', 2);
  const other = await groupTenant('pro', 1);
  const [a, b] = t.channels;
  // A second app of this account in another group, and one in no group.
  let r = await t.c.post('/api/v1/groups', { name: uniq('Other site') });
  const g2 = r.body.id;
  r = await t.c.post('/api/v1/apps', { kind: 'one', name: 'Second', group_id: g2 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await t.c.post(`/api/v1/apps/${r.body.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  r = await t.c.post(`/api/v1/devices/${r.body.id}/channels`, { key: 'CH1', name: 'Far', unit: 'V' });
  const far = r.body.id;
  const made = await mustCreate(t, 'CH1*2', [a]);

  const check = async (body, status, code, re, field = 'inputs') => {
    const res = await create(t, body);
    assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, code, JSON.stringify(body));
    assert.equal(res.body.field, field, JSON.stringify(body));
    if (re) assert.match(res.body.message, re);
    return res.body;
  };
  // Another account's channel reads exactly like a channel that does not exist.
  const foreign = await check(def(t, 'CH1+CH2', [a, other.channels[0]]), 400, 'invalid_value',
    /inputs\[1\]: no such channel/);
  const none = await check(def(t, 'CH1+CH2', [a, 987654321]), 400, 'invalid_value', /inputs\[1\]: no such channel/);
  assert.equal(foreign.message.replace(String(other.channels[0]), 'N'), none.message.replace('987654321', 'N'));
  await check(def(t, 'CH1+CH2', [a, far]), 400, 'invalid_value', /not in this measurement group/);
  await check(def(t, 'CH1+CH2', [a, made.id]), 400, 'invalid_value', /computed channel/);
  await check(def(t, 'CH1+CH2', [a, a]), 400, 'duplicate', /inputs\[1\]/);
  await check(def(t, 'CH1', []), 400, 'invalid_value', /1 to 10/);
  await check(def(t, 'CH1', Array.from({ length: 11 }, (_, i) => a + i)), 400, 'invalid_value', /1 to 10/);
  await check(def(t, 'CH1', 'x'), 400, 'wrong_type');
  await check(def(t, 'CH1', [1.5]), 400, 'wrong_type');
  await check(def(t, 'CH1', [-1]), 400, 'wrong_type');
  await check({ unit: 'V', expression: 'CH1', inputs: [a] }, 400, 'missing', null, 'name');
  await check({ name: 'n', inputs: [a] }, 400, 'missing', null, 'expression');
  await check({ name: 'n', expression: 'CH1' }, 400, 'missing', null, 'inputs');
  await check({ name: '', expression: 'CH1', inputs: [a] }, 400, 'invalid_value', null, 'name');
  await check({ name: 'n', expression: 12, inputs: [a] }, 400, 'wrong_type', null, 'expression');
  await check({ name: 'n', unit: 'x'.repeat(17), expression: 'CH1', inputs: [a] }, 400, 'too_long', null, 'unit');
  await check({ name: 'n', expression: 'CH1', inputs: [a], color: 'red' }, 400, 'unknown_field', null, 'color');
  // Groups: none, another account's.
  r = await create(t, def(t, 'CH1', [a]), 987654321);
  assert.equal(r.status, 404);
  r = await create(t, def(t, 'CH1', [a]), other.group);
  assert.equal(r.status, 404);
  r = await t.c.get(`/api/v1/groups/${other.group}/computed`);
  assert.equal(r.status, 404);
  // Edits are held to the same rules.
  r = await t.c.patch(`/api/v1/computed/${made.id}`, { expression: 'CH1+CH2' });
  assert.deepEqual([r.status, r.body.code, r.body.position], [400, 'expression_error', 4]);
  r = await t.c.patch(`/api/v1/computed/${made.id}`, { inputs: [a, b] });
  assert.deepEqual([r.status, r.body.code, r.body.field], [400, 'invalid_value', 'inputs']);
  r = await t.c.patch(`/api/v1/computed/${made.id}`, { inputs: [far] });
  assert.deepEqual([r.status, r.body.code], [400, 'invalid_value']);
  r = await t.c.patch(`/api/v1/computed/${made.id}`, { expression: '(CH1' });
  assert.deepEqual([r.status, r.body.position], [400, 0]);
  r = await t.c.get(`/api/v1/computed/${made.id}`);
  assert.deepEqual([r.body.expression, r.body.inputs], ['CH1*2', [a]]);
});

// ------------------------------------------------------------------- P8

const P8 = { trial: 0, free: 3, standard: 30, pro: 100 };

function assertLimit(r, plan) {
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P8');
  assert.equal(r.body.plan, plan);
  assert.equal(r.body.limit, P8[plan]);
  assert.match(r.body.message, /P8/);
}

test('P8 on Trial: no computed channel at all', async () => {
  const t = await trialTenant();
  const r = await create(t, def(t, 'CH1*2', t.channels));
  assertLimit(r, 'trial');
});

for (const plan of ['free', 'standard']) {
  test(`P8 on ${plan}: ${P8[plan]} per group are fine, one more is refused (create and copy)`, async () => {
    const t = await groupTenant(plan, 1);
    let first = null;
    for (let i = 0; i < P8[plan]; i++) {
      const made = await mustCreate(t, `CH1*${i + 1}`, t.channels, `c${i}`);
      first ??= made;
    }
    assertLimit(await create(t, def(t, 'CH1', t.channels)), plan);
    assertLimit(await t.c.post(`/api/v1/computed/${first.id}/copy`, {}), plan);
    const r = await t.c.get(`/api/v1/groups/${t.group}/computed`);
    assert.equal(r.body.length, P8[plan]);
    // Keys X1..Xn in order of creation.
    assert.deepEqual(r.body.map((x) => x.key), Array.from({ length: P8[plan] }, (_, i) => `X${i + 1}`));
    // Deleting one frees its slot.
    assert.equal((await t.c.del(`/api/v1/computed/${first.id}`)).status, 200);
    await mustCreate(t, 'CH1', t.channels);
  });
}

test('P8 on Pro, per group: a second group has its own quota', async () => {
  const t = await groupTenant('pro', 1);
  await mustCreate(t, 'CH1', t.channels);
  await mustCreate(t, '-CH1', t.channels);
  const r = await t.c.get(`/api/v1/groups/${t.group}/computed`);
  assert.equal(r.body.length, 2);
});

test('P8 under concurrency: parallel creations never take the last slot twice', async () => {
  const t = await groupTenant('free', 1);
  await mustCreate(t, 'CH1', t.channels);
  await mustCreate(t, 'CH1*2', t.channels);
  const rs = await Promise.all([0, 1, 2, 3].map((i) => create(t, def(t, `CH1+${i}`, t.channels))));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, 403, 403, 403], JSON.stringify(rs.map((r) => r.body)));
  assert.equal((await t.c.get(`/api/v1/groups/${t.group}/computed`)).body.length, 3);
});

// ---------------------------------------------------------- computation

test('computed as data is folded: SQR(SQ()), mean, division by zero, SQR of a negative, special inputs, alignment', async () => {
  const t = await groupTenant('pro', 3);
  const [a, b, c3] = t.channels;
  const hyp = await mustCreate(t, 'SQR(SQ(CH1)+SQ(CH2))', [a, b], 'Magnitude');
  const avg = await mustCreate(t, '(CH1 + CH2) / 2', [a, b], 'Mean');
  const div = await mustCreate(t, 'CH1/CH2', [a, b], 'Ratio');
  const root = await mustCreate(t, 'sqr(ch1)', [a], 'Root');
  const mixed = await mustCreate(t, 'CH2 - CH1', [a, c3], 'Every other minute');
  for (const x of [hyp, avg, div, root, mixed]) assert.equal(x.backfill, 'complete');
  assert.deepEqual(hyp.inputs, [a, b]);
  assert.deepEqual(hyp.input_channels.map((i) => i.id), [a, b]);
  assert.equal(hyp.key, 'X1');
  assert.equal(mixed.key, 'X5');

  // 1.5 days of one-minute data from 12:00 UTC: two UTC days are touched.
  const t0 = baseTime(72) + 12 * 3600e6;
  const n = 36 * 60;
  const ts = Array.from({ length: n }, (_, i) => t0 + i * MIN_US);
  const va = values(7, n, { 10: '+over', 11: '+over', 12: '-over', 13: 'break', 14: 'missing', 15: 'error', 16: '+over' });
  const vb = values(11, n, { 11: '-over', 12: 5, 13: '+over', 16: 'break', 20: '-over' });
  // CH3: every other minute, plus times CH1 does not have.
  const tc = ts.filter((_, i) => i % 2 === 0).concat([t0 + 30e6, t0 + 90e6]).sort((x, y) => x - y);
  const vc = tc.map((_, i) => i * 0.25);
  for (let i = 0; i < n; i += 1000) {
    const r = await t.ingest.batch({ batch_id: `d${i}`, channels: [
      { id: a, t: ts.slice(i, i + 1000), v: va.slice(i, i + 1000) },
      { id: b, t: ts.slice(i, i + 1000), v: vb.slice(i, i + 1000) }] });
    assert.equal(r.status, 201, r.text);
  }
  let r = await t.ingest.batch({ batch_id: 'c', channels: [{ id: c3, t: tc, v: vc }] });
  assert.equal(r.status, 201, r.text);
  // Nothing computed before the fold.
  assert.deepEqual((await raw(t, hyp.id, t0, t0 + 2 * DAY)).t, []);
  await compact();

  const expect = (f, ...cols) => cols[0].map((_, i) => evalJs(f, cols.map((col) => col[i])));
  assertSeries(await raw(t, hyp.id, t0, t0 + 2 * DAY), ts, expect(F.hyp, va, vb), 'hyp');
  assertSeries(await raw(t, avg.id, t0, t0 + 2 * DAY), ts, expect(F.avg, va, vb), 'avg');
  assertSeries(await raw(t, div.id, t0, t0 + 2 * DAY), ts, expect(F.div, va, vb), 'div');
  assertSeries(await raw(t, root.id, t0, t0 + 2 * DAY), ts, expect(F.root, va), 'root');
  // The rules spelled out on a few samples (docs/expr.md).
  const got = await raw(t, avg.id, t0, t0 + 2 * DAY);
  assert.equal(got.v[10], '+over');   // +over with a number: +inf
  assert.equal(got.v[11], '+over');   // +over and -over: inf-inf, the lowest-numbered input's kind
  assert.equal(got.v[12], '-over');
  assert.equal(got.v[13], 'break');   // break beats over
  assert.equal(got.v[14], 'missing');
  assert.equal(got.v[15], 'error');
  assert.equal(got.v[16], 'break');
  const d = await raw(t, div.id, t0, t0 + 2 * DAY);
  assert.equal(d.v[3], 'error');      // x/0 (vb[3] = 0)
  const rt = await raw(t, root.id, t0, t0 + 2 * DAY);
  assert.ok(va.some((v, i) => typeof v === 'number' && v < 0 && rt.v[i] === 'error'));
  const h = await raw(t, hyp.id, t0, t0 + 2 * DAY);
  assert.equal(h.v[12], '+over');     // SQ(-inf) = +inf
  // Alignment: a sample only where both inputs have one (exact times).
  const m = await raw(t, mixed.id, t0, t0 + 2 * DAY);
  const shared = tc.filter((x) => ts.includes(x));
  assertSeries(m, shared, shared.map((x) => evalJs(([p, q]) => ({ v: q - p }),
    [va[ts.indexOf(x)], vc[tc.indexOf(x)]])), 'aligned');
  // Stored as day blocks, one per UTC day touched.
  assert.equal(await sql(`SELECT count(*) FROM series_day WHERE channel_id = ${hyp.id}`), '2');

  // Later data: a late sample replaces one, new minutes extend the day.
  const late = [t0 + 5 * MIN_US, t0 + n * MIN_US, t0 + (n + 1) * MIN_US];
  r = await t.ingest.batch({ batch_id: 'late', channels: [{ id: a, t: late, v: [3, 4, 6] },
    { id: b, t: late.slice(1), v: [3, 8] }] });
  assert.equal(r.status, 201, r.text);
  await compact();
  va[5] = 3;
  const ts2 = ts.concat(late.slice(1));
  const va2 = va.concat([4, 6]);
  const vb2 = vb.concat([3, 8]);
  assertSeries(await raw(t, hyp.id, t0, t0 + 2 * DAY), ts2, expect(F.hyp, va2, vb2), 'hyp after late data');
  // The monitor lists computed channels with their latest value.
  r = await t.c.get(`/api/v1/groups/${t.group}/monitor`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const mon = r.body.computed.find((x) => x.id === hyp.id);
  assert.deepEqual(mon.latest, { t: ts2.at(-1), v: 10 });
  assert.equal(mon.expression, 'SQR(SQ(CH1)+SQ(CH2))');
  // Newer samples of one input, 20 hot rows not folded yet: the measured
  // channels show their newest samples, the computed one its folded value
  // (its samples never reach the hot table).
  const t9 = ts2.at(-1) + MIN_US;
  for (let i = 0; i < 20; i++) {
    r = await t.ingest.batch({ batch_id: `hot${i}`, channels: [{ id: a, t: [t9 + i * MIN_US], v: [i] }] });
    assert.equal(r.status, 201, r.text);
  }
  for (let k = 0; k < 2; k++) {
    r = await t.c.get(`/api/v1/groups/${t.group}/monitor`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const chOf = (id) => r.body.apps.flatMap((p) => p.devices.flatMap((d) => d.channels))
      .find((c) => c.id === id);
    assert.deepEqual(chOf(a).latest, { t: t9 + 19 * MIN_US, v: 19 });
    assert.deepEqual(chOf(b).latest, { t: late[2], v: 8 });
    assert.deepEqual(r.body.computed.find((x) => x.id === hyp.id).latest, { t: ts2.at(-1), v: 10 });
  }
});

// ------------------------------------------------------------ back-fill

/** Five UTC days of one-minute data on two channels, folded. */
async function history(t, days = 5) {
  const t0 = baseTime(24 * (days + 2));
  const n = days * 1440;
  const ts = Array.from({ length: n }, (_, i) => t0 + i * MIN_US);
  const va = values(3, n);
  const vb = values(5, n);
  for (let i = 0; i < n; i += 4000) {
    const r = await t.ingest.batch({ batch_id: `h${i}`, channels: [
      { id: t.channels[0], t: ts.slice(i, i + 4000), v: va.slice(i, i + 4000) },
      { id: t.channels[1], t: ts.slice(i, i + 4000), v: vb.slice(i, i + 4000) }] });
    assert.equal(r.status, 201, r.text);
  }
  await compact();
  return { t0, ts, va, vb, end: t0 + n * MIN_US };
}

test('creating a channel back-fills it in the background over earlier data; progress shows', async () => {
  const t = await groupTenant('pro', 2);
  const [a, b] = t.channels;
  const h = await history(t, 5);
  // One more day still hot (not folded) when the channel is created.
  const hot = Array.from({ length: 60 }, (_, i) => h.end + i * MIN_US);
  let r = await t.ingest.batch({ batch_id: 'hot', channels: [{ id: a, t: hot, v: hot.map(() => 1) },
    { id: b, t: hot, v: hot.map(() => 3) }] });
  assert.equal(r.status, 201, r.text);

  const x = await mustCreate(t, '(CH1+CH2)/2', [a, b], 'Mean');
  assert.deepEqual(x.backfill, { state: 'pending', done_days: 0, total_days: 5 });
  assert.deepEqual((await raw(t, x.id, h.t0, h.end)).t, []);
  let bf = await backfill('?rounds=1&days=2');
  assert.deepEqual([bf.days, bf.jobs_left], [2, 1]);
  r = await t.c.get(`/api/v1/computed/${x.id}`);
  assert.deepEqual(r.body.backfill, { state: 'pending', done_days: 2, total_days: 5 });
  r = await t.c.get(`/api/v1/groups/${t.group}/computed`);
  assert.deepEqual(r.body[0].backfill, { state: 'pending', done_days: 2, total_days: 5 });
  // The first two days are there already.
  assert.equal((await raw(t, x.id, h.t0, h.end)).t.length, 2 * 1440);
  bf = await backfill();
  assert.equal(bf.jobs_left, 0);
  assert.equal((await t.c.get(`/api/v1/computed/${x.id}`)).body.backfill, 'complete');
  const want = h.va.map((v, i) => evalJs(F.avg, [v, h.vb[i]]));
  assertSeries(await raw(t, x.id, h.t0, h.end), h.ts, want, 'back-filled');
  // The hot day is computed when it is folded.
  await compact();
  assertSeries(await raw(t, x.id, h.t0, h.end + DAY), h.ts.concat(hot), want.concat(hot.map(() => 2)),
    'back-filled + folded');
  // A channel over inputs without data needs no back-fill.
  const empty = await groupTenant('pro', 1);
  const y = await mustCreate(empty, 'CH1', empty.channels);
  assert.equal(y.backfill, 'complete');
});

test('editing the expression or the inputs replaces old values through a back-fill; renaming does not', async () => {
  const t = await groupTenant('pro', 3);
  const [a, b, c3] = t.channels;
  const h = await history(t, 3);
  const x = await mustCreate(t, 'CH1+CH2', [a, b]);
  await backfill();
  const bytesBefore = Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`));
  assertSeries(await raw(t, x.id, h.t0, h.end), h.ts, h.va.map((v, i) => evalJs(([p, q]) => ({ v: p + q }), [v, h.vb[i]])), 'sum');

  let r = await t.c.patch(`/api/v1/computed/${x.id}`, { expression: 'CH1/CH2' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.backfill, { state: 'pending', done_days: 0, total_days: 3 });
  // Old values are gone at once, their bytes given back.
  assert.deepEqual((await raw(t, x.id, h.t0, h.end)).t, []);
  assert.ok(Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`)) < bytesBefore);
  await backfill();
  assertSeries(await raw(t, x.id, h.t0, h.end), h.ts, h.va.map((v, i) => evalJs(F.div, [v, h.vb[i]])), 'ratio');

  // Swapping the inputs is an edit of the inputs.
  r = await t.c.patch(`/api/v1/computed/${x.id}`, { inputs: [b, a] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.backfill.state, 'pending');
  await backfill();
  assertSeries(await raw(t, x.id, h.t0, h.end), h.ts, h.vb.map((v, i) => evalJs(F.div, [v, h.va[i]])), 'swapped');

  // Fewer inputs: the expression and the inputs change together. CH3 has no data.
  r = await t.c.patch(`/api/v1/computed/${x.id}`, { expression: 'CH1*10', inputs: [c3] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.backfill, 'complete');
  assert.deepEqual((await raw(t, x.id, h.t0, h.end)).t, []);
  r = await t.c.patch(`/api/v1/computed/${x.id}`, { expression: 'CH1 * 10', inputs: [a] });
  await backfill();
  assertSeries(await raw(t, x.id, h.t0, h.end), h.ts, h.va.map((v) => evalJs(([p]) => ({ v: p * 10 }), [v])), 'times ten');

  // A new name or unit keeps the values; the same expression again changes nothing.
  r = await t.c.patch(`/api/v1/computed/${x.id}`, { name: 'Renamed', unit: 'kW', expression: 'CH1 * 10' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.name, r.body.unit, r.body.backfill], ['Renamed', 'kW', 'complete']);
  assert.equal((await raw(t, x.id, h.t0, h.end)).t.length, h.ts.length);
  // The monitor's latest value follows the new definition.
  r = await t.c.get(`/api/v1/groups/${t.group}/monitor`);
  const mon = r.body.computed.find((y) => y.id === x.id);
  assert.deepEqual(mon.latest, { t: h.ts.at(-1), v: evalJs(([p]) => ({ v: p * 10 }), [h.va.at(-1)]) });
});

test('copy (X1): a new channel with the same definition, back-filled; name given or derived', async () => {
  const t = await groupTenant('pro', 2);
  const [a, b] = t.channels;
  const h = await history(t, 2);
  const x = await mustCreate(t, 'SQR(SQ(CH1)+SQ(CH2))', [a, b], 'Magnitude');
  await backfill();
  let r = await t.c.post(`/api/v1/computed/${x.id}/copy`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const copy = r.body;
  assert.notEqual(copy.id, x.id);
  assert.deepEqual([copy.name, copy.unit, copy.expression, copy.inputs, copy.group_id, copy.key],
    ['Magnitude (copy)', 'V', x.expression, [a, b], t.group, 'X2']);
  assert.deepEqual(copy.backfill, { state: 'pending', done_days: 0, total_days: 2 });
  r = await t.c.post(`/api/v1/computed/${x.id}/copy`, { name: 'Second copy' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Second copy');
  r = await t.c.post(`/api/v1/computed/${x.id}/copy`, { name: 'x', extra: 1 });
  assert.equal(r.body.code, 'unknown_field');
  await backfill();
  const src = await raw(t, x.id, h.t0, h.end);
  assert.equal(src.t.length, h.ts.length);
  assert.deepEqual(await raw(t, copy.id, h.t0, h.end), src);
  // A long name stays within 100 characters.
  const long = await mustCreate(t, 'CH1', [a], 'é'.repeat(100));
  r = await t.c.post(`/api/v1/computed/${long.id}/copy`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal([...r.body.name].length, 100);
  assert.ok(r.body.name.endsWith(' (copy)'));
});

test('deleting a computed channel deletes its values, its bytes and any pending back-fill', async () => {
  const t = await groupTenant('pro', 2);
  const [a, b] = t.channels;
  const h = await history(t, 2);
  const x = await mustCreate(t, 'CH1-CH2', [a, b]);
  await backfill();
  const bytes = () => sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`).then(Number);
  const before = await bytes();
  const own = Number(await sql(`SELECT sum(octet_length(data) + octet_length(hours)) FROM series_day WHERE channel_id = ${x.id}`));
  assert.ok(own > 0);
  let r = await t.c.del(`/api/v1/computed/${x.id}`);
  assert.deepEqual([r.status, r.body], [200, { id: x.id, deleted: true }]);
  assert.equal(await sql(`SELECT count(*) FROM series_day WHERE channel_id = ${x.id}`), '0');
  assert.equal(await sql(`SELECT count(*) FROM channel_latest WHERE channel_id = ${x.id}`), '0');
  assert.equal(await bytes(), before - own);
  assert.equal((await t.c.get(`/api/v1/computed/${x.id}`)).status, 404);
  assert.equal((await t.c.get(`/api/v1/data/raw?channels=${x.id}&from=${h.t0}&to=${h.end}`)).status, 404);
  assert.equal((await t.c.del(`/api/v1/computed/${x.id}`)).status, 404);
  // Pending work goes with the channel.
  const y = await mustCreate(t, 'CH1', [a]);
  assert.equal(y.backfill.state, 'pending');
  assert.equal(await sql(`SELECT count(*) FROM computed_backfill WHERE channel_id = ${y.id}`), '1');
  assert.equal((await t.c.del(`/api/v1/computed/${y.id}`)).status, 200);
  assert.equal(await sql(`SELECT count(*) FROM computed_backfill WHERE channel_id = ${y.id}`), '0');
  // The inputs' own data is untouched.
  assert.equal((await raw(t, a, h.t0, h.end)).t.length, h.ts.length);
});

// ------------------------------------------------------------- who may

test('another account\'s computed channels and groups are 404 on every route', async () => {
  const a = await groupTenant('pro', 1);
  const b = await groupTenant('pro', 1);
  const x = await mustCreate(b, 'CH1*3', b.channels);
  const routes = [
    ['get', `/api/v1/computed/${x.id}`],
    ['patch', `/api/v1/computed/${x.id}`, { name: 'mine' }],
    ['del', `/api/v1/computed/${x.id}`],
    ['post', `/api/v1/computed/${x.id}/copy`, {}],
    ['get', `/api/v1/groups/${b.group}/computed`],
    ['post', `/api/v1/groups/${b.group}/computed`, def(a, 'CH1', a.channels)],
  ];
  for (const [m, p, body] of routes) {
    const r = await a.c[m](p, body);
    assert.equal(r.status, 404, `${m} ${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'not_found');
  }
  // Measured channel ids are not computed channels.
  assert.equal((await a.c.get(`/api/v1/computed/${a.channels[0]}`)).status, 404);
  assert.equal((await a.c.del(`/api/v1/computed/${a.channels[0]}`)).status, 404);
  const r = await b.c.get(`/api/v1/computed/${x.id}`);
  assert.deepEqual([r.status, r.body.name !== 'mine'], [200, true]);
});

test('members: no grant -> 404, view -> read only (403 on changes), edit -> may change', async () => {
  const t = await groupTenant('pro', 1);
  const x = await mustCreate(t, 'CH1+1', t.channels);
  const mk = async (user) => {
    const { userId } = await createUser(srv.url, { accountId: t.id, user, password: PW, role: 'member',
      email: `${user}@${t.account}.test` });
    return { userId, c: await login(srv.url, { account: t.account, user, password: PW }) };
  };
  const none = await mk('nobody');
  const viewer = await mk('viewer');
  const editor = await mk('editor');
  let r = await t.c.put(`/api/v1/groups/${t.group}/access`, { users: [
    { user_id: viewer.userId, access: 'view' }, { user_id: editor.userId, access: 'edit' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));

  assert.equal((await none.c.get(`/api/v1/groups/${t.group}/computed`)).status, 404);
  assert.equal((await none.c.get(`/api/v1/computed/${x.id}`)).status, 404);
  assert.equal((await none.c.patch(`/api/v1/computed/${x.id}`, { name: 'n' })).status, 404);
  assert.equal((await create(none, def(t, 'CH1', t.channels), t.group)).status, 404);

  r = await viewer.c.get(`/api/v1/groups/${t.group}/computed`);
  assert.deepEqual([r.status, r.body.map((y) => y.id)], [200, [x.id]]);
  assert.equal((await viewer.c.get(`/api/v1/computed/${x.id}`)).status, 200);
  for (const [m, p, body] of [
    ['post', `/api/v1/groups/${t.group}/computed`, def(t, 'CH1', t.channels)],
    ['patch', `/api/v1/computed/${x.id}`, { name: 'n' }],
    ['post', `/api/v1/computed/${x.id}/copy`, {}],
    ['del', `/api/v1/computed/${x.id}`]]) {
    r = await viewer.c[m](p, body);
    assert.deepEqual([r.status, r.body.code], [403, 'forbidden'], `${m} ${p}`);
  }

  r = await create(editor, def(t, 'CH1*4', t.channels, 'By the editor'), t.group);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const y = r.body;
  assert.equal((await editor.c.patch(`/api/v1/computed/${y.id}`, { unit: 'A' })).body.unit, 'A');
  assert.equal((await editor.c.post(`/api/v1/computed/${y.id}/copy`, {})).status, 201);
  assert.equal((await editor.c.del(`/api/v1/computed/${y.id}`)).status, 200);
  // The audit log has the changes, by whom.
  const rows = await sql(`SELECT action FROM audit_log WHERE account_id = ${t.id} AND action LIKE 'computed.%' ORDER BY id`);
  assert.deepEqual(rows.split('\n'), ['computed.create', 'computed.create', 'computed.update',
    'computed.copy', 'computed.delete']);
});

// ------------------------------------------------- the background thread

test('the back-fill thread does the work by itself (compactor interval 200 ms)', async () => {
  const url = await pg.createDatabase();
  const fast = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '200' } });
  try {
    const t = await dataTenant(fast, { plan: 'pro', n: 2 });
    let r = await t.c.post('/api/v1/groups', { name: 'Fast' });
    const group = r.body.id;
    await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
    const t0 = baseTime(24 * 5);
    const ts = Array.from({ length: 3 * 1440 }, (_, i) => t0 + i * MIN_US);
    r = await t.ingest.batch({ batch_id: 'f', channels: [{ id: t.channels[0], t: ts, v: ts.map((_, i) => i) },
      { id: t.channels[1], t: ts, v: ts.map(() => 2) }] });
    assert.equal(r.status, 201, r.text);
    // Wait for the compactor to fold everything.
    const db2 = new URL(url).pathname.slice(1);
    for (let i = 0; i < 100 && (await pg.psql('SELECT count(*) FROM series_hot', db2)) !== '0'; i++) {
      await sleep(100);
    }
    r = await t.c.post(`/api/v1/groups/${group}/computed`, { name: 'Scaled', expression: 'CH1*CH2', inputs: t.channels });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.id;
    let state = r.body.backfill;
    for (let i = 0; i < 100 && state !== 'complete'; i++) {
      await sleep(100);
      state = (await t.c.get(`/api/v1/computed/${id}`)).body.backfill;
    }
    assert.equal(state, 'complete');
    r = await t.c.get(`/api/v1/data/raw?channels=${id}&from=${t0}&to=${t0 + 3 * DAY}&limit=100000`);
    assert.equal(r.body.t.length, ts.length);
    assert.deepEqual(r.body.channels[0].v.slice(0, 3), [0, 2, 4]);
    assert.equal(r.body.channels[0].v.at(-1), 2 * (ts.length - 1));
    // New data is computed by the compactor's hook, without asking.
    const more = [t0 + ts.length * MIN_US];
    r = await t.ingest.batch({ batch_id: 'g', channels: [{ id: t.channels[0], t: more, v: [7] },
      { id: t.channels[1], t: more, v: [3] }] });
    assert.equal(r.status, 201, r.text);
    for (let i = 0; i < 100 && (await pg.psql('SELECT count(*) FROM series_hot', db2)) !== '0'; i++) {
      await sleep(100);
    }
    const q = await t.c.get(`/api/v1/data/raw?channels=${id}&from=${more[0]}&to=${more[0] + 1}`);
    assert.deepEqual(q.body.channels[0].v, [21]);
  } finally {
    const exit = await fast.stop();
    fs.rmSync(fast.dataDir, { recursive: true, force: true });
    assert.equal(exit?.code, 0, fast.stderr());
    assert.doesNotMatch(fast.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});

test('the account reports P8 usage; the channel routes of devices leave computed channels alone', async () => {
  const t = await groupTenant('standard', 2);
  const x1 = await mustCreate(t, 'CH1+CH2', t.channels.slice(0, 2));
  await mustCreate(t, 'CH1*2', [t.channels[0]]);
  let r = await t.c.get('/api/v1/account');
  assert.equal(r.status, 200);
  const p8 = r.body.usage.find((u) => u.quota === 'P8');
  assert.equal(p8.used, 2, JSON.stringify(p8));
  r = await t.c.patch(`/api/v1/channels/${x1.id}`, { name: 'renamed' });
  assert.equal(r.status, 404, JSON.stringify(r.body));
  r = await t.c.del(`/api/v1/channels/${x1.id}`);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  r = await t.c.get(`/api/v1/computed/${x1.id}`);
  assert.equal(r.status, 200);
  assert.notEqual(r.body.name, 'renamed');
});
