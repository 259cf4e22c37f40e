// The JS API of computed channels over the WebAssembly core.
import { test } from 'node:test';
import assert from 'node:assert';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const { default: createCore } = await import(url.pathToFileURL(path.join(dir, 'metron_core.mjs')).href);
const { bindExpr } = await import(url.pathToFileURL(path.join(dir, 'expr.mjs')).href);
const { specialKind, SV } = await import(url.pathToFileURL(path.join(dir, 'mtw.mjs')).href);

const m = await createCore();
const { compile } = bindExpr(m);

function sv(kind) {
  const b = new DataView(new ArrayBuffer(8));
  b.setUint32(4, 0x7ff80000, true);
  b.setUint32(0, kind, true);
  return b.getFloat64(0, true);
}

function assertThrowsAt(src, code, pos) {
  assert.throws(() => compile(src), (e) => {
    assert.strictEqual(e.name, 'MetronError');
    assert.strictEqual(e.code, code, `${src}: ${e.message}`);
    assert.strictEqual(e.pos, pos, `${src}: ${e.message}`);
    assert.strictEqual(e.col, pos + 1);
    assert.strictEqual(e.line, 1);
    return true;
  });
}

test('compile errors carry the code and position', () => {
  assertThrowsAt('', 'MT_ESYNTAX', 0);
  assertThrowsAt('FOO(CH1)', 'MT_ESYNTAX', 0);
  assertThrowsAt('1 + CHX', 'MT_ESYNTAX', 4);
  assertThrowsAt('CH0', 'MT_ESYNTAX', 0);
  assertThrowsAt('(CH1+2', 'MT_ESYNTAX', 0);
  assertThrowsAt('CH1)', 'MT_ESYNTAX', 3);
  assertThrowsAt('1+', 'MT_ESYNTAX', 2);
  assertThrowsAt('*2', 'MT_ESYNTAX', 0);
  assertThrowsAt('()', 'MT_ESYNTAX', 1);
  assertThrowsAt('1+2', 'MT_ESYNTAX', 0);
  assertThrowsAt('CH1/0', 'MT_ERANGE', 3);
  assertThrowsAt('CH1+CH2+CH3+CH4+CH5+CH6+CH7+CH8+CH9+CH10+CH11', 'MT_ELIMIT', 41);
  assertThrowsAt('('.repeat(100000), 'MT_ELIMIT', 4096);
  assertThrowsAt('('.repeat(4000), 'MT_ELIMIT', 64);
  assertThrowsAt('CH1 + é', 'MT_ESYNTAX', 6);
  assert.throws(() => compile(42), { code: 'MT_EINVAL' });
});

test('inputs are the channel numbers in order', () => {
  const e = compile('ch7 - CH2*CH7 + CH999');
  try {
    assert.deepStrictEqual(e.inputs, [2, 7, 999]);
  } finally {
    e.free();
  }
});

test('eval computes hand-worked values and special values', () => {
  const e = compile('SQR(SQ(CH1)+SQ(CH2))/CH3');
  try {
    const out = e.eval([
      new Float64Array([3, 5, 8, sv(SV.MISSING), 3, 1e200]),
      new Float64Array([4, 12, 6, 1, 4, 1e200]),
      [2, 13, -5, 1, 0, 1],
    ]);
    assert.ok(out instanceof Float64Array);
    assert.deepStrictEqual(Array.from(out.slice(0, 3)), [2.5, 1, -2]);
    assert.strictEqual(specialKind(out[3]), SV.MISSING);
    assert.strictEqual(specialKind(out[4]), SV.ERROR);
    assert.strictEqual(specialKind(out[5]), SV.OVER_POS);
    assert.strictEqual(e.eval([[], [], []]).length, 0);
  } finally {
    e.free();
  }
});

test('precedence and unary minus', () => {
  const cases = [
    ['CH1-CH2-CH3', [1, 2, 3], -4],
    ['CH1+CH2*CH3', [1, 2, 3], 7],
    ['2*-CH1', [3], -6],
    ['CH1/CH2/CH3', [1, 2, 4], 0.125],
  ];
  for (const [src, xs, want] of cases) {
    const e = compile(src);
    try {
      assert.strictEqual(e.eval(xs.map((x) => [x]))[0], want, src);
    } finally {
      e.free();
    }
  }
});

test('eval rejects wrong inputs', () => {
  const e = compile('CH1+CH2');
  try {
    assert.throws(() => e.eval([[1]]), { code: 'MT_EINVAL' });
    assert.throws(() => e.eval([[1, 2], [1]]), { code: 'MT_EINVAL', pos: 1 });
  } finally {
    e.free();
  }
  assert.throws(() => e.eval([[1], [2]]), { code: 'MT_EINVAL' });
  e.free(); // twice is harmless
});

test('memory is freed: many compiles and evals do not grow the heap', () => {
  const a = new Float64Array(20000).map((_, i) => i);
  const b = new Float64Array(20000).fill(2);
  const run = () => {
    const e = compile('(CH1+CH2)/2');
    try {
      const out = e.eval([a, b]);
      assert.strictEqual(out[19999], (19999 + 2) / 2);
    } finally {
      e.free();
    }
    assert.throws(() => compile('CH1+'), { code: 'MT_ESYNTAX' });
  };
  for (let i = 0; i < 20; i++) run();
  const before = m.HEAPU8.length;
  for (let i = 0; i < 200; i++) run();
  assert.strictEqual(m.HEAPU8.length, before);
});
