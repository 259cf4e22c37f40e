// The WebAssembly core for dashboards (docs/dashboards.md): the module the
// viewer and the alarm editor load (chart/filesource.mjs, one instance per
// page, loaded without a CSP refusal), with the same C code as the
// server's: decimation (V1), statistics (mt_stats) and computed channels'
// expressions (X2).
let corePromise = null;

/** Resolves to { decimate, stats, expr, SV_NAMES, specialKind }. */
export function core() {
  if (!corePromise) {
    corePromise = Promise.all([import('../chart/filesource.mjs'), import('../../vendor/wasm/metron.mjs')])
      .then(async ([fs, mod]) => {
        const c = await fs.core();
        return { decimate: c.decimate, stats: c.stats, expr: c.expr, SV_NAMES: mod.SV_NAMES,
          specialKind: mod.specialKind };
      });
    corePromise.catch(() => { corePromise = null; });
  }
  return corePromise;
}
