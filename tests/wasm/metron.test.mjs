// The aggregate API: one loadMetron() gives every binding on one module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const dir = process.env.METRON_WASM_DIR;
const { loadMetron, MetronError, specialKind, SV } =
  await import(pathToFileURL(path.join(dir, 'metron.mjs')).href);

test('loadMetron exposes every core binding on one module', async () => {
  const metron = await loadMetron();
  for (const k of ['expr', 'alarm', 'hok', 'csv', 'licence', 'decimate']) {
    assert.ok(metron[k], `binding ${k}`);
  }
  const e = metron.expr.compile('(CH1+CH2)/2');
  try {
    assert.deepEqual(Array.from(e.eval([new Float64Array([1, 3]), new Float64Array([3, 5])])), [2, 4]);
  } finally {
    e.free();
  }
});

test('errors from any binding are MetronErrors with a code', async () => {
  const metron = await loadMetron();
  assert.throws(() => metron.expr.compile('CH1 +'), (err) => err instanceof MetronError &&
    err.code === 'MT_ESYNTAX' && err.pos === 5);
});

test('special values decode in JS without a wasm call', () => {
  assert.equal(specialKind(1.5), SV.NONE);
  assert.equal(specialKind(Infinity), SV.OVER_POS);
  assert.equal(specialKind(NaN), SV.ERROR);
});
