// JS API of the HIOKI text-export reader, against the built wasm module.
import { test } from 'node:test';
import assert from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const dir = process.env.METRON_WASM_DIR;
const here = path.dirname(url.fileURLToPath(import.meta.url));
const fixture = (name) => readFileSync(path.join(here, '..', 'fixtures', 'csv', name));
const { default: createCore } = await import(url.pathToFileURL(path.join(dir, 'metron_core.mjs')).href);
const { bindCsv } = await import(url.pathToFileURL(path.join(dir, 'csv.mjs')).href);
const { specialKind, SV, MetronError } = await import(url.pathToFileURL(path.join(dir, 'mtw.mjs')).href);
const m = await createCore();
const csv = bindCsv(m);

test('reads an LR8450 export with metadata, ms times and typed arrays', () => {
  const r = csv.read(fixture('lr8450_comma.csv'), { utcOffsetMinutes: 540 });
  // 2022-06-06 18:43:33 at UTC+9 = 09:43:33Z
  const trig = Date.UTC(2022, 5, 6, 9, 43, 33);
  assert.strictEqual(r.meta.fileName, 'LR8450_01.CSV');
  assert.strictEqual(r.meta.version, 'V 1.27');
  assert.strictEqual(r.meta.title, 'Boiler test');
  assert.strictEqual(r.meta.trigger, trig);
  assert.strictEqual(r.meta.style, 'column');
  assert.strictEqual(r.meta.delimiter, ',');
  assert.strictEqual(r.meta.decimalMark, '.');
  assert.strictEqual(r.meta.timeFormat, 'seconds');
  assert.strictEqual(r.channels.length, 5);
  assert.deepStrictEqual(r.channels[1], {
    name: 'U1-2', title: 'U1-2[kPa]', unit: 'kPa', mode: 'Voltage', range: '1V', unitId: 'U1',
    comment: 'pressure', scaling: true, ratio: 2.5, offset: -0.125, kind: 'analog',
  });
  assert.deepStrictEqual(r.channels.map((c) => c.kind), ['analog', 'analog', 'integer', 'integer', 'event']);
  assert.ok(r.times instanceof Float64Array);
  assert.deepStrictEqual(Array.from(r.times), [trig, trig + 100, trig + 200]);
  assert.deepStrictEqual(Array.from(r.values[0]), [23.15, 23.16, 23.17]);
  assert.deepStrictEqual(Array.from(r.values[2]), [5, 4, 65535]);
});

test('reads strings, semicolons with decimal commas and special values', () => {
  const r = csv.read('Time;a[V];b[V]\n0;1,5;+OVER\n0,5;-;9,9999E+99\n');
  assert.strictEqual(r.meta.delimiter, ';');
  assert.strictEqual(r.meta.decimalMark, ',');
  assert.strictEqual(r.meta.trigger, null);
  assert.strictEqual(r.meta.style, 'bare');
  assert.deepStrictEqual(Array.from(r.times), [0, 500]);
  assert.strictEqual(r.values[0][0], 1.5);
  assert.strictEqual(specialKind(r.values[0][1]), SV.MISSING);
  assert.strictEqual(specialKind(r.values[1][0]), SV.OVER_POS);
  assert.strictEqual(specialKind(r.values[1][1]), SV.OVER_POS);
});

test('reads the row-style and tab fixtures', () => {
  const row = csv.read(fixture('lr8431_row.csv'));
  assert.strictEqual(row.meta.style, 'row');
  assert.strictEqual(row.channels[0].name, 'CH-1');
  assert.strictEqual(row.channels[0].range, '100mV');
  const tab = csv.read(fixture('tab_export.txt'));
  assert.strictEqual(tab.meta.delimiter, '\t');
  assert.strictEqual(tab.meta.trigger, Date.UTC(2022, 5, 6, 18, 43, 33));
});

test('errors throw MetronError with code, line and col', () => {
  const cases = [
    ['Time,a\n0,1\n1,1.2.3\n', 'MT_ESYNTAX', 3, 3],
    ['Time,a\n1,1\n0.5,2\n', 'MT_EORDER', 3, 1],
    ['"Time","a\n', 'MT_ESYNTAX', 1, 8],
    ['"CH","a"\n0,1\n', 'MT_EFORMAT', 2, 1],
    ['Time,a,b\n0,1\n', 'MT_ESYNTAX', 2, 4],
  ];
  for (const [text, code, line, col] of cases) {
    assert.throws(() => csv.read(text), (e) => {
      assert.ok(e instanceof MetronError);
      assert.strictEqual(e.code, code);
      assert.strictEqual(e.line, line);
      assert.strictEqual(e.col, col);
      assert.ok(e.message.length > 0);
      return true;
    });
  }
  assert.throws(() => csv.read(new Uint8Array([72, 0, 1, 2])), (e) => e.code === 'MT_EFORMAT' && e.col === 2);
  assert.throws(() => csv.read('Time,a\n0,1\n', { utcOffsetMinutes: 5000 }), (e) => e.code === 'MT_EINVAL');
  assert.throws(() => csv.read(42), TypeError);
});

test('memory is freed: many reads do not grow the heap', () => {
  const bytes = fixture('lr8450_comma.csv');
  for (let i = 0; i < 200; i++) csv.read(bytes);
  for (let i = 0; i < 200; i++) assert.throws(() => csv.read('Time,a\n0,x\n'));
  const size = m.HEAPU8.length;
  for (let i = 0; i < 1000; i++) {
    csv.read(bytes, { utcOffsetMinutes: 60 });
    assert.throws(() => csv.read('Time,a\n0,x\n'));
  }
  assert.strictEqual(m.HEAPU8.length, size);
});
