// The dashboard's refresh merge (portal/js/dash/data.mjs), in node: the
// samples of every minute's answer (those since an hour before the last
// one) merged with what the page has must be exactly the window's samples,
// bit for bit (special values are NaN boxes), whether the new samples went
// into the room behind the kept ones or into a new buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DashData, splice } from '../../portal/js/dash/data.mjs';

test('splice: the kept part and the new samples, in place when there is room', () => {
  const a = new Float64Array([1, 2, 3, 4, 5]);
  const b = splice(a, 1, 4, new Float64Array([10, 11]));
  assert.deepEqual([...b], [2, 3, 4, 10, 11]);
  assert.notEqual(b.buffer, a.buffer, 'no room: a new buffer');
  const c = splice(b, 1, 3, new Float64Array([12, 13]));
  assert.deepEqual([...c], [3, 4, 12, 13]);
  assert.equal(c.buffer, b.buffer, 'room behind: the same buffer');
  const d = splice(c, 0, 4, new Float64Array(200).fill(7));
  assert.equal(d.length, 204);
  assert.deepEqual([...d.subarray(0, 5)], [3, 4, 12, 13, 7]);
  assert.equal(d[203], 7);
  const e = splice(d, 204, 204, new Float64Array(0));
  assert.equal(e.length, 0);
});

const MIN = 60e6; // µs
const HOUR = 60 * MIN;
const WEEK = 7 * 24 * HOUR;
const T0 = Date.UTC(2026, 11, 1) * 1000;
// A NaN box with a payload (what core's special values look like).
const BOX = new Float64Array(new BigUint64Array([0x7ff8_0000_0000_0003n]).buffer)[0];
const valueAt = (k) => (k % 97 === 0 ? BOX : k * 0.5);
const bits = (x) => new BigUint64Array(new Float64Array([x]).buffer)[0];

/** A /data answer at "now" (µs) with a week and an hour of channel 7 from "since" (0: whole). */
function answer(now, since) {
  const series = [['week', 1], ['hour', 2]].map(([w, id]) => {
    const from = now + 1 - (w === 'week' ? WEEK : HOUR);
    const start = Math.max(from, since || 0);
    const k0 = Math.ceil((start - T0) / MIN), k1 = Math.floor((now - T0) / MIN);
    const v = new Float64Array(Math.max(0, k1 - k0 + 1));
    for (let k = k0; k <= k1; k++) v[k - k0] = valueAt(k);
    return { id, window: w, s: { window: w, from: start, to: now + 1, partial: !!since && since > from, reduced: false,
      n: v.length, t_runs: v.length ? [T0 + k0 * MIN, MIN, v.length] : [], v: Buffer.from(v.buffer).toString('base64') } };
  });
  return {
    now, windows: { hour: { from: now + 1 - HOUR, to: now + 1 }, day: { from: now + 1 - 24 * HOUR, to: now + 1 },
      week: { from: now + 1 - WEEK, to: now + 1 } },
    channels: series.map(({ id, s }) => ({ id, key: `CH${id}`, name: `C${id}`, unit: 'V', decimals: null, panel: true,
      computed: false, expression: null, inputs: null, preview: false, latest: null, series: [s] })),
    missing_channels: [], pictures: [], alarm_summary: null,
  };
}

function expectWindow(d, id, w, now) {
  const s = d.samples(id, w);
  const from = now + 1 - (w === 'week' ? WEEK : HOUR);
  const k0 = Math.ceil((from - T0) / MIN), k1 = Math.floor((now - T0) / MIN);
  assert.equal(s.t.length, k1 - k0 + 1, `${w}: samples at ${now}`);
  for (let k = k0; k <= k1; k++) {
    const i = k - k0;
    assert.equal(s.t[i], (T0 + k * MIN) / 1000, `${w}: time ${i}`);
    assert.equal(bits(s.v[i]), bits(valueAt(k)), `${w}: value ${i} (bits)`);
  }
}

test('a minute refresh merged with what the page has is the window, bit for bit, for three hours of minutes', () => {
  const d = new DashData(1);
  let now = T0 + WEEK + 30e6;
  d.apply(answer(now, 0), 0);
  expectWindow(d, 1, 'week', now);
  expectWindow(d, 2, 'hour', now);
  const buffers = new Set();
  for (let j = 0; j < 180; j++) {
    const since = Math.floor(now - HOUR); // an hour before the last answer, as DashData.refresh asks
    now += MIN;
    d.apply(answer(now, since), since);
    assert.ok(!d.needFull, 'no whole answer needed');
    expectWindow(d, 1, 'week', now);
    expectWindow(d, 2, 'hour', now);
    buffers.add(d.channel(1).raw.t.buffer);
  }
  // Mostly in place: a new buffer only when the room behind ran out.
  assert.ok(buffers.size < 20, `${buffers.size} buffers for 180 refreshes`);
});
