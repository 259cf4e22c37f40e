// Metron core in WebAssembly — the JavaScript API.
//
//   import { loadMetron } from './metron.mjs';
//   const metron = await loadMetron();
//   const e = metron.expr.compile('SQR(SQ(CH1)+SQ(CH2))');
//   const out = e.eval([a, b]); e.free();
//
// One module instance carries every binding; each binding lives in its own
// file (expr.mjs, alarm.mjs, hok.mjs, csv.mjs, licence.mjs, decimate.mjs,
// stats.mjs)
// and follows the conventions of mtw.mjs: times in milliseconds, values as
// Float64Array, failures as MetronError with .code, .pos, .line and .col.
import createCore from './metron_core.mjs';
import { bindExpr } from './expr.mjs';
import { bindAlarm } from './alarm.mjs';
import { bindHok } from './hok.mjs';
import { bindCsv } from './csv.mjs';
import { bindLicence } from './licence.mjs';
import { bindDecimate } from './decimate.mjs';
import { bindStats } from './stats.mjs';

export { MetronError, SV, SV_NAMES, specialKind } from './mtw.mjs';

// Instantiate the module (the .wasm is inlined in metron_core.mjs, so this
// works in node, from any static host and in an offline page alike).
// "options" go to the Emscripten factory (e.g. { wasmMemory }).
export async function loadMetron(options = {}) {
  const m = await createCore(options);
  return Object.freeze({
    module: m,
    expr: bindExpr(m),
    alarm: bindAlarm(m),
    hok: bindHok(m),
    csv: bindCsv(m),
    licence: bindLicence(m),
    decimate: bindDecimate(m),
    stats: bindStats(m),
  });
}
