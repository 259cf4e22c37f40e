// The statistics of a channel over a period (mt/stats.h) for JavaScript:
// the same figures as the server's GET /data/summary and a report's summary
// table (count, min and max with their first times, compensated mean,
// special values by kind).
//
//   const { stats } = bindStats(m);
//   const s = stats(tMs, v);
//   // { n, min, tMin, max, tMax, mean, rows, special: {missing, '+over', '-over', break, error} }
//   // min, max, mean, tMin, tMax are null when there is no ordinary value.
//
// Times are ms (fractions carry µs) and must not decrease; values are
// Float64Array (special values as core's NaN boxes). Errors throw
// MetronError (MT_EINVAL, MT_EORDER with .pos the index).
import { MetronError, alloc, check, copyIn, withError, SV_NAMES } from './mtw.mjs';

function f64(x, name) {
  if (x instanceof Float64Array) return x;
  if (x && typeof x.length === 'number') return Float64Array.from(x);
  throw new MetronError(-2, 'MT_EINVAL', `${name} must be an array of numbers`, 0, 0, 0);
}

export function bindStats(m) {
  const fields = m._mtw_stats_fields();
  return {
    stats(tMs, v) {
      const t = f64(tMs, 'tMs');
      const vv = f64(v, 'v');
      if (t.length !== vv.length) {
        throw new MetronError(-2, 'MT_EINVAL', 'tMs and v differ in length', 0, 0, 0);
      }
      let tp = 0, vp = 0, op = 0;
      try {
        tp = copyIn(m, t);
        vp = copyIn(m, vv);
        op = alloc(m, fields * 8);
        withError(m, (e) => check(m, m._mtw_stats(tp, vp, t.length, op, e), e));
        const o = new Float64Array(m.HEAPF64.buffer, op, fields).slice();
        const n = o[0];
        const special = {};
        for (let k = 1; k < SV_NAMES.length; k++) special[SV_NAMES[k]] = o[7 + k];
        return {
          n,
          min: n ? o[1] : null,
          tMin: n ? o[2] : null,
          max: n ? o[3] : null,
          tMax: n ? o[4] : null,
          mean: n ? o[5] : null,
          rows: o[6],
          special,
        };
      } finally {
        if (tp) m._free(tp);
        if (vp) m._free(vp);
        if (op) m._free(op);
      }
    },
  };
}
