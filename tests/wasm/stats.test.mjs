// The JS API of the statistics (wasm/stats.mjs) against a JS brute force:
// the figures of GET /data/summary and of a dashboard panel's min/max/mean.
import test from 'node:test';
import assert from 'node:assert';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const imp = (f) => import(url.pathToFileURL(path.join(dir, f)).href);
const createCore = (await imp('metron_core.mjs')).default;
const { bindStats } = await imp('stats.mjs');
const { MetronError } = await imp('mtw.mjs');
const s = bindStats(await createCore());

// A special value with core's NaN payload, written as bits.
function setSpecial(arr, i, kind) {
  const u32 = new Uint32Array(arr.buffer, arr.byteOffset + i * 8, 2);
  u32[0] = kind;
  u32[1] = 0x7ff80000;
}

test('stats: count, first extremes with their times, mean, special values by kind', () => {
  const n = 10080;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    t[i] = 1.7e12 + i * 60000;
    v[i] = Math.round(seed / 2147483.648) / 100;
  }
  v[10] = 5000; // the maximum, twice: the first one counts
  v[20] = 5000;
  v[30] = -1;
  setSpecial(v, 40, 4); // break
  setSpecial(v, 41, 2); // +over
  v[42] = Infinity; // +over too
  setSpecial(v, 43, 1); // missing
  const got = s.stats(t, v);
  const ordinary = [...v].map((x, i) => [x, t[i]]).filter(([x]) => Number.isFinite(x));
  const mean = ordinary.reduce((a, [x]) => a + x, 0) / ordinary.length;
  assert.strictEqual(got.n, n - 4);
  assert.strictEqual(got.rows, n);
  assert.strictEqual(got.max, 5000);
  assert.strictEqual(got.tMax, t[10]);
  assert.strictEqual(got.min, -1);
  assert.strictEqual(got.tMin, t[30]);
  assert.ok(Math.abs(got.mean - mean) < 1e-9, `${got.mean} vs ${mean}`);
  assert.deepStrictEqual(got.special, { missing: 1, '+over': 2, '-over': 0, break: 1, error: 0 });
});

test('stats: no ordinary value gives nulls; errors name the sample', () => {
  const v = new Float64Array(2);
  setSpecial(v, 0, 4);
  setSpecial(v, 1, 4);
  const got = s.stats([1, 2], v);
  assert.deepStrictEqual([got.n, got.min, got.max, got.mean, got.tMin, got.special.break], [0, null, null, null, null, 2]);
  assert.deepStrictEqual(s.stats([], []).n, 0);
  assert.throws(() => s.stats([1, 3, 2], [1, 2, 3]), (e) => e instanceof MetronError && e.code === 'MT_EORDER' && e.pos === 2);
  assert.throws(() => s.stats([1], [1, 2]), (e) => e.code === 'MT_EINVAL');
  assert.throws(() => s.stats([NaN], [1]), (e) => e.code === 'MT_EINVAL' && e.pos === 0);
});
