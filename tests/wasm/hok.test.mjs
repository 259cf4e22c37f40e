// The JS API of HOK/HOK2 (wasm/hok.mjs) against the WebAssembly core.
import { test } from 'node:test';
import assert from 'node:assert';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const load = (f) => import(url.pathToFileURL(path.join(dir, f)).href);
const createCore = (await load('metron_core.mjs')).default;
const { bindHok } = await load('hok.mjs');
const { MetronError, specialKind, SV } = await load('mtw.mjs');
const m = await createCore();
const hok = bindHok(m);

const MIN = 60000;
const T0 = Date.UTC(2024, 0, 1);
const missing = (() => { const d = new DataView(new ArrayBuffer(8)); d.setUint32(4, 0x7ff80000, true); d.setUint32(0, 1, true); return d.getFloat64(0, true); })();

function sample(n) {
  const times = new Float64Array(n), temp = new Float64Array(n), volt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    times[i] = T0 + i * MIN;
    temp[i] = Math.round((20 + 3 * Math.sin(i / 500) + ((i * 7919) % 5 - 2) * 0.1) * 10) / 10;
    volt[i] = i % 1000 === 7 ? missing : Math.round(3300 + (i % 13)) / 1000;
  }
  return {
    meta: { title: 'Serverraum — 温度', app: 'node', device: 'LR8450-1', model: 'LR8450', timezone: 'Asia/Shanghai', created: T0 },
    channels: [{ id: 11, name: 'Temp 1', unit: '°C', kind: 'measured', model: 'Z2011' },
               { id: 12, name: 'Batt', unit: 'V', kind: 'computed', model: '' }],
    times, values: [temp, volt],
  };
}

for (const format of ['hok', 'hok2']) {
  test(`${format}: write then read round-trips meta, channels, times and values`, () => {
    const d = sample(5000);
    const bytes = hok.write(d, { format });
    assert.ok(bytes instanceof Uint8Array);
    const f = hok.read(bytes);
    try {
      assert.strictEqual(f.format, format);
      assert.deepStrictEqual(f.meta, d.meta);
      assert.deepStrictEqual(f.channels, d.channels);
      assert.strictEqual(f.rows, 5000);
      assert.deepStrictEqual(f.times(), d.times);
      assert.deepStrictEqual(f.values(0), d.values[0]);
      const v = f.values(1, 7, 1);
      assert.strictEqual(specialKind(v[0]), SV.MISSING);
      assert.deepStrictEqual(f.values(1, 100, 50), d.values[1].slice(100, 150));
      assert.strictEqual(f.seek(T0 + 10 * MIN - 1), 10);
      const r = f.decimate(0, T0, T0 + 5000 * MIN, 10);
      assert.strictEqual(r.count.reduce((a, b) => a + b, 0), 5000);
      const want = Math.min(...d.values[0].slice(0, 500));
      assert.strictEqual(r.min[0], want);
      assert.strictEqual(r.tFirst[0], T0);
      const b = f.decimate(1, T0, T0 + 5000 * MIN, 5);
      assert.strictEqual(b.nSpecial.reduce((a, x) => a + x, 0), 5);
      assert.strictEqual(b.special[0], SV.MISSING);
    } finally {
      f.close();
    }
  });
}

test('hok2: decimation uses the index (decodes only boundary blocks)', () => {
  const d = sample(100000);
  const f = hok.read(hok.write(d, { format: 'hok2' }));
  try {
    assert.strictEqual(f.blocks, Math.ceil(100000 / 4096));
    const r = f.decimate(0, T0, T0 + 100000 * MIN, 4);
    assert.ok(r.nDecoded <= 8, `decoded ${r.nDecoded} blocks`);
    assert.strictEqual(r.count.reduce((a, b) => a + b, 0), 100000);
  } finally {
    f.close();
  }
});

test('errors throw MetronError with code and pos', () => {
  assert.throws(() => hok.read(new TextEncoder().encode('Time,CH1\n')),
    (e) => e instanceof MetronError && e.code === 'MT_EFORMAT' && e.pos === 0);
  const bytes = hok.write(sample(10), { format: 'hok2' });
  assert.throws(() => hok.read(bytes.subarray(0, 100)),
    (e) => e instanceof MetronError && e.code === 'MT_ETRUNC' && e.pos === 100);
  const v3 = bytes.slice();
  v3[8] = 3;
  assert.throws(() => hok.read(v3), (e) => e.code === 'MT_EVERSION' && e.pos === 8);
  const flip = bytes.slice();
  flip[flip.length - 100] ^= 4;
  assert.throws(() => hok.read(flip), (e) => e.code === 'MT_ECHECKSUM');
  const d = sample(3);
  d.times[2] = d.times[0];
  assert.throws(() => hok.write(d, { format: 'hok' }), (e) => e.code === 'MT_EORDER' && e.pos === 2);
  const f = hok.read(bytes);
  assert.throws(() => f.values(5), (e) => e.code === 'MT_EINVAL');
  assert.throws(() => f.values(0, 5, 10), (e) => e.code === 'MT_ERANGE');
  f.close();
  assert.throws(() => f.times(), (e) => e.code === 'MT_EINVAL');
});

test('memory is freed: repeated write/read/close does not grow the heap', () => {
  const d = sample(20000);
  const once = () => {
    for (const format of ['hok', 'hok2']) {
      const f = hok.read(hok.write(d, { format }));
      f.values(0);
      f.times();
      f.decimate(1, T0, T0 + 20000 * MIN, 100);
      f.close();
    }
    try { hok.read(new Uint8Array(50)); } catch { /* expected */ }
  };
  for (let i = 0; i < 5; i++) once();
  const size = m.HEAPU8.length;
  for (let i = 0; i < 40; i++) once();
  assert.strictEqual(m.HEAPU8.length, size);
});

test('adopt opens a file already in wasm memory and takes ownership of the block', () => {
  const d = sample(3000);
  const bytes = hok.write(d, { format: 'hok2' });
  const ptr = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, ptr);
  const f = hok.adopt(ptr, bytes.length);
  try {
    assert.strictEqual(f.rows, 3000);
    assert.deepStrictEqual(f.values(0), d.values[0]);
  } finally {
    f.close(); // frees ptr
  }
  // A refused file frees the block too (no leak, no double free).
  const bad = m._malloc(16);
  m.HEAPU8.fill(0, bad, bad + 16);
  assert.throws(() => hok.adopt(bad, 16), MetronError);
});
