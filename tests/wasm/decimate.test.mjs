// The JS API of decimation (wasm/decimate.mjs) against a JS brute force.
import test from 'node:test';
import assert from 'node:assert';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const imp = (f) => import(url.pathToFileURL(path.join(dir, f)).href);
const createCore = (await imp('metron_core.mjs')).default;
const { bindDecimate } = await imp('decimate.mjs');
const { MetronError, specialKind } = await imp('mtw.mjs');
const m = await createCore();
const d = bindDecimate(m);

let seed = 12345;
const rnd = (n) => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return Math.floor((seed / 2147483648) * n);
};

// A special value with core's NaN payload, written as bits (a JS number may
// lose a NaN payload, a typed array keeps it).
function setSpecial(arr, i, kind) {
  const u32 = new Uint32Array(arr.buffer, arr.byteOffset + i * 8, 2);
  u32[0] = kind;
  u32[1] = 0x7ff80000;
}

// Brute force: exact bucket index in BigInt microseconds.
function bruteMinmax(tMs, v, t0Ms, t1Ms, nb) {
  const us = (ms) => BigInt(Math.round(ms * 1000));
  const t0 = us(t0Ms), t1 = us(t1Ms), span = t1 - t0;
  const b = Array.from({ length: nb }, () => ({ n: 0, nSpecial: 0, special: 0 }));
  for (let i = 0; i < tMs.length; i++) {
    const t = us(tMs[i]);
    if (t < t0 || t >= t1) continue;
    const k = b[Number(((t - t0) * BigInt(nb)) / span)];
    const kind = specialKind(v[i]);
    if (kind) { k.nSpecial++; k.special = kind; continue; }
    const tm = Number(t) / 1000;
    if (k.n === 0) { k.min = k.max = k.first = v[i]; k.tMin = k.tMax = k.tFirst = tm; }
    if (v[i] < k.min) { k.min = v[i]; k.tMin = tm; }
    if (v[i] > k.max) { k.max = v[i]; k.tMax = tm; }
    k.last = v[i]; k.tLast = tm; k.n++;
  }
  return b;
}

function assertSame(got, want) {
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    assert.strictEqual(got.n[i], w.n, `n of bucket ${i}`);
    assert.strictEqual(got.nSpecial[i], w.nSpecial, `nSpecial of bucket ${i}`);
    assert.strictEqual(got.special[i], w.special, `special of bucket ${i}`);
    for (const f of ['min', 'max', 'first', 'last', 'tMin', 'tMax', 'tFirst', 'tLast']) {
      if (w.n === 0) assert.ok(Number.isNaN(got[f][i]), `${f} of gap ${i} is NaN`);
      else assert.ok(Object.is(got[f][i], w[f]), `${f} of bucket ${i}: ${got[f][i]} vs ${w[f]}`);
    }
  }
}

test('minmax rejects bad arguments with MetronError', () => {
  const t = new Float64Array([1, 2, 3]), v = new Float64Array([1, 2, 3]);
  const err = (fn, code, pos) => assert.throws(fn, (e) => {
    assert.ok(e instanceof MetronError);
    assert.strictEqual(e.code, code);
    if (pos !== undefined) assert.strictEqual(e.pos, pos);
    return true;
  });
  err(() => d.minmax(t, v, 0, 10, 0), 'MT_EINVAL');
  err(() => d.minmax(t, v, 10, 10, 3), 'MT_EINVAL');
  err(() => d.minmax(t, new Float64Array(2), 0, 10, 3), 'MT_EINVAL');
  err(() => d.minmax(new Float64Array([1, NaN, 3]), v, 0, 10, 3), 'MT_EINVAL', 1);
  err(() => d.minmax(new Float64Array([1, 3, 2]), v, 0, 10, 3), 'MT_EORDER', 2);
  err(() => d.lttb(new Float64Array([1, 3, 2]), v, 3), 'MT_EORDER', 2);
  err(() => d.lttb(t, v, 2), 'MT_EINVAL');
});

test('minmax by hand: boundaries 0, 4, 7 ms of [0, 10) in 3 buckets; gaps are NaN', () => {
  const t = new Float64Array([-1, 0, 3, 3, 4, 6, 7, 9, 10]);
  const v = new Float64Array([100, 5, -2, 7, 1, 1, 0, 0, 100]);
  setSpecial(v, 6, 4); // break
  v[7] = Infinity; // +over
  const b = d.minmax(t, v, 0, 10, 3);
  assert.deepStrictEqual([...b.n], [3, 2, 0]);
  assert.deepStrictEqual([...b.min.slice(0, 2)], [-2, 1]);
  assert.deepStrictEqual([...b.max.slice(0, 2)], [7, 1]);
  assert.deepStrictEqual([...b.tMin.slice(0, 2)], [3, 4]);
  assert.deepStrictEqual([...b.tLast.slice(0, 2)], [3, 6]);
  assert.ok(Number.isNaN(b.min[2]) && Number.isNaN(b.tFirst[2]));
  assert.strictEqual(specialKind(b.min[2]), 1); // missing
  assert.strictEqual(b.nSpecial[2], 2);
  assert.strictEqual(b.special[2], 2); // +over, the last special
});

test('minmax keeps microseconds of fractional milliseconds', () => {
  // [0, 4 µs) in buckets of 1 µs; 2.5 µs rounds to 3 µs
  const b = d.minmax([0.001, 0.002, 0.0025], [1, 2, 3], 0, 0.004, 4);
  assert.deepStrictEqual([...b.n], [0, 1, 1, 1]);
  assert.strictEqual(b.tFirst[2], 0.002);
  assert.strictEqual(b.tFirst[3], 0.003);
});

test('minmax matches a JS brute force on random data', () => {
  for (let round = 0; round < 60; round++) {
    const n = rnd(2000);
    const t = new Float64Array(n), v = new Float64Array(n);
    let cur = 1.7e12 + rnd(1000);
    for (let i = 0; i < n; i++) {
      cur += rnd(4) * (rnd(10) === 0 ? 100 : 0.25);
      t[i] = cur;
      const r = rnd(100);
      if (r < 5) setSpecial(v, i, 1 + rnd(5));
      else if (r < 7) v[i] = rnd(2) ? Infinity : -Infinity;
      else v[i] = (rnd(21) - 10) / 2;
    }
    const nb = [1, 2, n + 5, 1 + rnd(300)][round % 4];
    const t0 = n ? t[rnd(n)] - rnd(5) : 0;
    const t1 = t0 + 0.001 + (n ? rnd(Math.ceil(t[n - 1] - t0) + 10) : 10);
    const got = d.minmax(t, v, t0, t1, nb);
    assertSame(got, bruteMinmax(t, v, t0, t1, nb));
  }
});

test('lttb keeps first and last, skips specials, picks the spike', () => {
  const t = [0, 1, 2, 3, 4, 5, 6, 7];
  const v = new Float64Array([0, 0, 10, 0, 0, -5, 0, 0]);
  setSpecial(v, 1, 1);
  assert.deepStrictEqual([...d.lttb(t, v, 5)], [0, 2, 3, 5, 7]);
  assert.deepStrictEqual([...d.lttb(t, v, 100)], [0, 2, 3, 4, 5, 6, 7]);
  const n = 10000, tt = new Float64Array(n), vv = new Float64Array(n);
  for (let i = 0; i < n; i++) { tt[i] = i; vv[i] = Math.sin(i / 100); }
  vv[5000] = 50;
  const idx = d.lttb(tt, vv, 100);
  assert.ok(idx instanceof Uint32Array);
  assert.strictEqual(idx.length, 100);
  assert.strictEqual(idx[0], 0);
  assert.strictEqual(idx[99], n - 1);
  assert.ok(idx.includes(5000));
  for (let i = 1; i < idx.length; i++) assert.ok(idx[i] > idx[i - 1]);
});

test('repeated calls and errors free their memory', () => {
  const n = 100000, t = new Float64Array(n), v = new Float64Array(n);
  for (let i = 0; i < n; i++) { t[i] = i; v[i] = i % 7; }
  d.minmax(t, v, 0, n, 1000);
  d.lttb(t, v, 500);
  const before = m.HEAPU8.length;
  for (let k = 0; k < 40; k++) {
    d.minmax(t, v, 0, n, 1000);
    d.lttb(t, v, 500);
    assert.throws(() => d.minmax(t, v, 0, n, 0));
    t[10] = -1;
    assert.throws(() => d.minmax(t, v, 0, n, 10));
    t[10] = 10;
  }
  assert.strictEqual(m.HEAPU8.length, before);
});
