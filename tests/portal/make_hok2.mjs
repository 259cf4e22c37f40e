// Test files for the viewer, written by the WebAssembly core (hok.write):
// a known signal per channel, with spikes and special values where asked.
//
//   import { makeHok2, signalValue } from './make_hok2.mjs';
//   const bytes = await makeHok2({ rows: 100000, channels: 3 });
//
// As a command (scripts/bench-portal uses it for the 100-million-sample file):
//   node tests/portal/make_hok2.mjs OUT.hok2 --rows 25000000 --channels 4
//
// The core comes from METRON_WASM_DIR, else portal/vendor/wasm (what the
// portal loads), else build/wasm-build/wasm.
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const here = path.dirname(url.fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

export async function loadCore() {
  const dirs = [process.env.METRON_WASM_DIR, path.join(repo, 'portal', 'vendor', 'wasm'),
    path.join(repo, 'build', 'wasm-build', 'wasm')].filter(Boolean);
  const dir = dirs.find((d) => fs.existsSync(path.join(d, 'metron.mjs')));
  if (!dir) throw new Error('no wasm build: set METRON_WASM_DIR or build the portal_vendor target');
  const { loadMetron } = await import(url.pathToFileURL(path.join(dir, 'metron.mjs')).href);
  return loadMetron();
}

/** Core's NaN-boxed special value of "kind" (1 missing .. 5 error). */
export function special(kind) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(4, 0x7ff80000, true);
  dv.setUint32(0, kind, true);
  return dv.getFloat64(0, true);
}

/**
 * The value of channel "c" at row "i": a slow sine of its own period and
 * amplitude plus a small ripple, rounded to 3 decimals (HOK2 stores it as
 * decimal-scaled integers). Every `spikeEvery` rows, one +100 spike.
 */
export function signalValue(c, i, { rows, spikeEvery = 0 } = {}) {
  if (spikeEvery && i % spikeEvery === spikeEvery / 2) return 100 + c;
  const period = rows / (2 + c);
  const v = (10 + 5 * c) * Math.sin((2 * Math.PI * i) / period) + 0.25 * Math.sin(i / 7) + c * 3;
  return Math.round(v * 1000) / 1000;
}

/**
 * A HOK2 file (Uint8Array). Options: rows, channels, start (ms, default
 * 2024-05-01T00:00Z), stepMs (default 1000), blockRows (default core's),
 * spikeEvery (0 = none), specials (true: a sensor break over rows
 * [rows/2, rows/2 + rows/100) of channel 0 and +OVER on every 1000th row of
 * channel 1).
 */
export async function makeHok2({
  rows, channels, start = Date.UTC(2024, 4, 1), stepMs = 1000, blockRows = 0,
  spikeEvery = 0, specials = false, format = 'hok2', core = null,
} = {}) {
  const m = core || await loadCore();
  const times = new Float64Array(rows);
  for (let i = 0; i < rows; i++) times[i] = start + i * stepMs;
  const values = [];
  for (let c = 0; c < channels; c++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = signalValue(c, i, { rows, spikeEvery });
    values.push(v);
  }
  if (specials && channels > 0) {
    const a = Math.floor(rows / 2), b = a + Math.max(1, Math.floor(rows / 100));
    values[0].fill(special(4), a, b);
  }
  if (specials && channels > 1) for (let i = 500; i < rows; i += 1000) values[1][i] = special(2);
  const meta = { title: 'Metron viewer test', app: 'make_hok2', device: 'LR8450', model: 'LR8450',
    timezone: 'UTC', created: start };
  const chs = Array.from({ length: channels }, (_, c) => ({
    id: c + 1, name: `CH${c + 1}`, unit: c % 2 ? 'A' : 'V', model: 'LR8450',
  }));
  return m.hok.write({ meta, channels: chs, times, values }, { format, blockRows });
}

async function main() {
  const args = process.argv.slice(2);
  const out = args.find((a) => !a.startsWith('--'));
  const opt = (name, def) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  if (!out) {
    console.error('usage: node tests/portal/make_hok2.mjs OUT.hok2 [--rows N] [--channels C] [--step-ms S] [--spike-every K]');
    process.exit(2);
  }
  const t0 = Date.now();
  const bytes = await makeHok2({ rows: opt('rows', 1e6), channels: opt('channels', 4),
    stepMs: opt('step-ms', 1), spikeEvery: opt('spike-every', 0), specials: args.includes('--specials') });
  fs.writeFileSync(out, bytes);
  console.log(`${out}: ${bytes.length} bytes in ${Date.now() - t0} ms`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === url.fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
