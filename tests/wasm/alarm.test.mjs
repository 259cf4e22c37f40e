// The alarm JS binding (wasm/alarm.mjs) against the WebAssembly build.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const fileUrl = (name) => url.pathToFileURL(path.join(dir, name)).href;
const { default: createCore } = await import(fileUrl('metron_core.mjs'));
const { bindAlarm } = await import(url.pathToFileURL(path.join(dir, 'alarm.mjs')).href);
const { MetronError } = await import(url.pathToFileURL(path.join(dir, 'mtw.mjs')).href);
const m = await createCore();
const alarm = bindAlarm(m);

const T0 = Date.UTC(2024, 0, 1);
const MISSING = m._mtw_sv_value(1);

function throwsMetron(fn, code, pos) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof MetronError, `not a MetronError: ${e}`);
    assert.equal(e.code, code);
    if (pos !== undefined) assert.equal(e.pos, pos);
    return true;
  });
}

test('parse errors throw MetronError with code and byte position', () => {
  throwsMetron(() => alarm.parseRule('CH1 > 5 XOR CH2 > 1'), 'MT_ESYNTAX', 8);
  throwsMetron(() => alarm.parseRule('CH1 OUTSIDE [20, 10]'), 'MT_ERANGE', 12);
  throwsMetron(() => alarm.parseRule('CH1 > 5 FOR 60'), 'MT_ESYNTAX', 14);
  throwsMetron(() => alarm.parseRule('é CH1 > 5'), 'MT_ESYNTAX', 0);
  throwsMetron(() => alarm.parseRule('CH1 > 5 é'), 'MT_ESYNTAX', 8);
  throwsMetron(() => alarm.parseRule(42), 'MT_EINVAL');
});

test('parseRule returns plain data that prints back (round trip)', () => {
  const text = 'CH1 > 30 AND CH2 <= 5 FOR 1m CLEAR 2m DURING 08:00-18:00 TZ +08:00';
  const r = alarm.parseRule(text);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), {
    conditions: [{ channel: 1, op: '>', value: 30 }, { channel: 2, op: '<=', value: 5 }],
    join: 'AND', raiseFilterMs: 60000, clearFilterMs: 120000, hyst: 0,
    window: { startMin: 480, endMin: 1080, offhours: false }, utcOffsetMin: 480,
  });
  assert.equal(String(r), text);
  for (const t of ['CH1 OUTSIDE [10, 20] HYST 0.5', 'CH1 OUTSIDE (10, 20)',
    'CH2 >= 1000 OFFHOURS DURING 08:00-18:00']) {
    assert.equal(alarm.parseRule(t).toString(), t);
  }
  assert.equal(alarm.parseRule('ch2>=1e3 during 8:00-18:00 offhours').toString(),
    'CH2 >= 1000 OFFHOURS DURING 08:00-18:00');
  // edited objects print through core's validation
  const r2 = alarm.parseRule('CH1 > 1');
  r2.conditions[0].value = 2.5;
  r2.raiseFilterMs = 90000;
  assert.equal(String(r2), 'CH1 > 2.5 FOR 90s CLEAR 0s'); // clearFilterMs stays 0
  r2.conditions[0].channel = 3;
  throwsMetron(() => String(r2), 'MT_EINVAL');
  r2.conditions[0].channel = 1;
  r2.raiseFilterMs = 1.5;
  throwsMetron(() => String(r2), 'MT_EINVAL');
});

test('evaluator raises and clears with filters, from text or a rule object', () => {
  const ev = alarm.createEvaluator(alarm.parseRule('CH1 > 0 FOR 10s CLEAR 30s'));
  const t = Float64Array.from([0, 10, 20, 30, 40, 50, 60, 70], (s) => T0 + s * 1000);
  const v = Float64Array.from([1, 1, 0, 0, 0, 0, 1, 1]);
  const events = ev.feed(t, v);
  assert.deepEqual(events.map((e) => [e.kind, (e.timeMs - T0) / 1000, e.row]),
    [['raise', 10, 1], ['clear', 50, 5], ['raise', 70, 7]]);
  assert.equal(events[0].values[0], 1);
  assert.ok(Number.isNaN(events[0].values[1]));
  assert.equal(ev.raised, true);
  ev.free();
  throwsMetron(() => ev.feed(t, v), 'MT_EINVAL');
  ev.free(); // twice is harmless
});

test('special values give special events, never a raise', () => {
  const ev = alarm.createEvaluator('CH1 < 1 AND CH2 < 1');
  const t = [T0, T0 + 1000, T0 + 2000];
  const events = ev.feed(t, [MISSING, 0, 0], [0, Infinity, 0]);
  assert.deepEqual(events.map((e) => [e.kind, e.channel, e.special, e.row]), [
    ['special', 1, 'missing', 0],
    ['special-end', 1, 'missing', 1], ['special', 2, '+over', 1],
    ['special-end', 2, '+over', 2], ['raise', 0, '', 2],
  ]);
  ev.free();
});

test('feed errors throw with the row and change nothing', () => {
  const ev = alarm.createEvaluator('CH1 > 0 AND CH2 > 0');
  const before = ev.saveState();
  throwsMetron(() => ev.feed([T0, T0 + 2000, T0 + 1000], [1, 1, 1], [1, 1, 1]), 'MT_EORDER', 2);
  assert.deepEqual(ev.saveState(), before);
  throwsMetron(() => ev.feed([T0, NaN], [1, 1], [1, 1]), 'MT_EINVAL', 1);
  throwsMetron(() => ev.feed([T0], [1]), 'MT_EINVAL'); // CH2 array missing
  throwsMetron(() => ev.feed([T0], [1, 2], [1]), 'MT_EINVAL');
  // an order error after the event buffer filled more than once
  const n = 5000;
  const t = Float64Array.from({ length: n }, (_, i) => T0 + i * 1000);
  t[n - 1] = T0;
  const v = Float64Array.from({ length: n }, (_, i) => i % 2);
  throwsMetron(() => ev.feed(t, v, v), 'MT_EORDER', n - 1);
  assert.deepEqual(ev.saveState(), before);
  assert.equal(ev.raised, false);
  ev.free();
});

test('many events across buffer refills; save/restore matches one call', () => {
  const n = 10000;
  const t = Float64Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const v = Float64Array.from({ length: n }, (_, i) => i % 2);
  const a = alarm.createEvaluator('CH1 > 0.5');
  const all = a.feed(t, v);
  assert.equal(all.length, n - 1);
  assert.equal(all[n - 2].row, n - 1);
  let b = alarm.createEvaluator('CH1 > 0.5');
  const pieces = [];
  for (let i = 0; i < n; i += 777) {
    pieces.push(...b.feed(t.subarray(i, i + 777), v.subarray(i, i + 777)).map((e) => e.timeMs));
    const state = b.saveState();
    assert.equal(state.length, alarm.STATE_SIZE);
    b.free();
    b = alarm.createEvaluator('CH1 > 0.5');
    b.restoreState(state);
  }
  assert.deepEqual(pieces, all.map((e) => e.timeMs));
  a.free();
  b.free();
});

test('restore rejects corrupt, truncated and foreign states', () => {
  const a = alarm.createEvaluator('CH1 > 0 FOR 1m');
  a.feed([T0], [1]);
  const good = a.saveState();
  for (let len = 0; len < good.length; len++) {
    throwsMetron(() => a.restoreState(good.slice(0, len)), 'MT_ETRUNC', len);
  }
  const bad = good.slice();
  bad[20] ^= 1;
  throwsMetron(() => a.restoreState(bad), 'MT_ECHECKSUM');
  const b = alarm.createEvaluator('CH1 > 0 FOR 2m');
  throwsMetron(() => b.restoreState(good), 'MT_EINVAL', 8);
  a.restoreState(good);
  a.free();
  b.free();
});

test('memory is freed: many calls do not grow the heap', () => {
  const t = Float64Array.from({ length: 2000 }, (_, i) => T0 + i * 1000);
  const v = Float64Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? MISSING : i % 2));
  const round = () => {
    const r = alarm.parseRule('CH1 > 0.5 OR CH2 < 0.5 FOR 2s DURING 22:00-06:00 TZ +08:00');
    const ev = alarm.createEvaluator(r);
    ev.feed(t, v, v);
    ev.restoreState(ev.saveState());
    String(r);
    try { alarm.parseRule('CH1 >'); } catch { /* expected */ }
    try { ev.feed([0, -1], [0, 0], [0, 0]); } catch { /* expected */ }
    ev.free();
  };
  for (let i = 0; i < 50; i++) round();
  const size = m.HEAPU8.length;
  for (let i = 0; i < 2000; i++) round();
  assert.equal(m.HEAPU8.length, size);
});
