// Chart decimation (V1, V2) for JavaScript: min/max buckets and LTTB.
//
//   const d = bindDecimate(m);
//   const b = d.minmax(tMs, v, t0Ms, t1Ms, nBuckets);
//   // b.min, b.max, b.first, b.last: Float64Array (NaN in a gap: a bucket
//   //   with no ordinary value; the NaN is core's "missing" special value)
//   // b.n, b.nSpecial: Float64Array counts; b.special: Uint8Array, the kind
//   //   of the bucket's last special value (SV.*, 0 when none)
//   // b.tMin, b.tMax, b.tFirst, b.tLast: Float64Array ms (NaN in a gap)
//   const idx = d.lttb(tMs, v, nOut);   // Uint32Array of indexes into v
//
// Times are ms since the epoch (fractions keep µs); "tMs" must not decrease.
// Errors throw MetronError: MT_EINVAL (bad arguments, .pos the index of a
// bad time), MT_EORDER (.pos the index of the time before its predecessor).
import { MetronError, alloc, check, copyIn, f64Out, u32Out, withError } from './mtw.mjs';

const ROWS = 11;

function f64(x, name) {
  if (x instanceof Float64Array) return x;
  if (x && typeof x.length === 'number') return Float64Array.from(x);
  throw new MetronError(-2, 'MT_EINVAL', `${name} must be an array of numbers`, 0, 0, 0);
}

function count(x, name, min) {
  if (!Number.isInteger(x) || x < min || x > 0x7fffffff) {
    throw new MetronError(-2, 'MT_EINVAL', `${name} must be an integer >= ${min}`, 0, 0, 0);
  }
  return x;
}

function samples(tMs, v) {
  const t = f64(tMs, 'tMs');
  const vv = f64(v, 'v');
  if (t.length !== vv.length) {
    throw new MetronError(-2, 'MT_EINVAL', 'tMs and v differ in length', 0, 0, 0);
  }
  return [t, vv];
}

export function bindDecimate(m) {
  return {
    minmax(tMs, v, t0Ms, t1Ms, nBuckets) {
      const [t, vv] = samples(tMs, v);
      const nb = count(nBuckets, 'nBuckets', 1);
      let tp = 0, vp = 0, op = 0;
      try {
        tp = copyIn(m, t);
        vp = copyIn(m, vv);
        op = alloc(m, ROWS * nb * 8);
        withError(m, (e) =>
          check(m, m._mtw_decimate_minmax(tp, vp, t.length, Number(t0Ms), Number(t1Ms), nb, op, e), e));
        const row = (k) => f64Out(m, op + k * nb * 8, nb);
        return {
          min: row(0), max: row(1), first: row(2), last: row(3), n: row(4),
          tMin: row(5), tMax: row(6), tFirst: row(7), tLast: row(8),
          nSpecial: row(9), special: Uint8Array.from(row(10)),
        };
      } finally {
        if (tp) m._free(tp);
        if (vp) m._free(vp);
        if (op) m._free(op);
      }
    },

    lttb(tMs, v, nOut) {
      const [t, vv] = samples(tMs, v);
      const no = count(nOut, 'nOut', 0);
      let tp = 0, vp = 0, ip = 0, lp = 0;
      try {
        tp = copyIn(m, t);
        vp = copyIn(m, vv);
        ip = alloc(m, Math.max(1, no) * 4);
        lp = alloc(m, 4);
        withError(m, (e) => check(m, m._mtw_decimate_lttb(tp, vp, t.length, no, ip, lp, e), e));
        return u32Out(m, ip, m.HEAPU32[lp >> 2]);
      } finally {
        if (tp) m._free(tp);
        if (vp) m._free(vp);
        if (ip) m._free(ip);
        if (lp) m._free(lp);
      }
    },
  };
}
