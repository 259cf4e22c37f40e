// Min/max buckets -> the arrays uPlot draws (pure functions, no DOM).
//
// A data source answers a range [from, to) (ms) cut into `buckets` equal
// buckets with, per series and bucket, the count n of ordinary values, their
// min, max, first and last, and the special values met (kind, count):
//
//   { from, to, buckets,
//     series: [{ n, min, max, first, last, special: [null | {kind, count}] }] }
//
// Each bucket becomes four points (first, the two extremes in the order that
// joins them best, last) at fixed fractions of the bucket: the "M4" reduction
// (Jugel et al., VLDB 2014). A line through them draws, per pixel column, the
// vertical min..max bar joined to the neighbours by first/last, so every
// spike shows whatever the number of samples per pixel.
//
// Gaps: uPlot breaks a line at `null` and joins over `undefined`. A bucket
// without ordinary values but with special values (a sensor break, a missing
// value...) is a gap (null). An empty bucket with no special value is only a
// gap when it sits in a run of empty buckets much longer than the series'
// usual spacing (zoomed in far enough, one-minute data leaves most pixel
// columns empty, and those must not cut the line); otherwise it is joined
// over (undefined).

export const KINDS = Object.freeze(['missing', '+over', '-over', 'break', 'error']);

// Fractions of a bucket where its four points sit.
const FRAC = [0.125, 0.375, 0.625, 0.875];

/** Start (ms) of bucket i of [from, to) cut into nb buckets. */
export function bucketStart(from, to, nb, i) {
  return from + ((to - from) * i) / nb;
}

/** The bucket holding time t, or -1 when t is outside [from, to). */
export function bucketOf(from, to, nb, t) {
  if (!(t >= from && t < to)) return -1;
  return Math.min(nb - 1, Math.floor(((t - from) * nb) / (to - from)));
}

/** The x array (ms) shared by every series: 4 points per bucket. */
export function xValues(from, to, nb) {
  const x = new Float64Array(4 * nb);
  const w = (to - from) / nb;
  for (let i = 0; i < nb; i++) {
    const s = from + w * i;
    for (let k = 0; k < 4; k++) x[4 * i + k] = s + w * FRAC[k];
  }
  return x;
}

function median(a) {
  if (!a.length) return 0;
  const s = Float64Array.from(a).sort();
  return s[s.length >> 1];
}

/**
 * The uPlot y array of one series: 4 values per bucket, null in gaps,
 * undefined over empty buckets that are only sparse sampling.
 */
export function yValues(s, nb) {
  const y = new Array(4 * nb).fill(undefined);
  const runs = [];
  let prev = -1;
  for (let i = 0; i < nb; i++) {
    const n = s.n[i];
    if (n > 0) {
      const first = s.first[i], last = s.last[i], lo = s.min[i], hi = s.max[i];
      // Go to the extreme nearer the first value first: fewer crossings.
      const loFirst = Math.abs(first - lo) <= Math.abs(first - hi);
      y[4 * i] = first;
      y[4 * i + 1] = loFirst ? lo : hi;
      y[4 * i + 2] = loFirst ? hi : lo;
      y[4 * i + 3] = last;
      if (prev >= 0) runs.push(i - prev - 1);
      prev = i;
    } else if (s.special && s.special[i]) {
      y[4 * i] = y[4 * i + 1] = y[4 * i + 2] = y[4 * i + 3] = null;
      prev = -1; // a gap starts afresh
    }
  }
  // Long empty stretches between values are gaps too.
  const limit = Math.max(3, 3 * median(runs) + 2);
  let runStart = -1;
  for (let i = 0; i <= nb; i++) {
    const empty = i < nb && !(s.n[i] > 0) && !(s.special && s.special[i]);
    if (empty) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0) {
      const inner = runStart > 0 && i < nb; // leading/trailing runs stay undefined
      if (inner && i - runStart > limit) {
        y.fill(null, 4 * runStart, 4 * i);
      }
      runStart = -1;
    }
  }
  return y;
}

/**
 * Special-value marks of one series: [{i, kind, count}] for each bucket
 * that holds special values.
 */
export function marks(s, nb) {
  const out = [];
  if (!s.special) return out;
  for (let i = 0; i < nb; i++) {
    const sp = s.special[i];
    if (sp) out.push({ i, kind: sp.kind, count: sp.count });
  }
  return out;
}

/** { x, ys: [y per series], marks: [[...] per series] } for uPlot. */
export function toPlot(block) {
  const nb = block.buckets;
  return {
    x: xValues(block.from, block.to, nb),
    ys: block.series.map((s) => yValues(s, nb)),
    marks: block.series.map((s) => marks(s, nb)),
  };
}

/** The bucket's value(s) as {lo, hi, kind, count} or null when empty. */
export function bucketValue(s, i) {
  if (!s || i < 0 || i >= s.n.length) return null;
  const sp = s.special && s.special[i];
  if (!(s.n[i] > 0) && !sp) return null;
  return {
    lo: s.n[i] > 0 ? s.min[i] : null,
    hi: s.n[i] > 0 ? s.max[i] : null,
    kind: sp ? sp.kind : null,
    count: sp ? sp.count : 0,
  };
}

/**
 * The server's graph answer (µs, docs in server/http_data.c) as a block in
 * ms. `ids` orders the series like the chart's channels.
 */
export function fromGraph(body, ids) {
  const byId = new Map(body.channels.map((c) => [String(c.id), c]));
  const nb = body.buckets;
  const empty = () => ({ n: new Array(nb).fill(0), min: [], max: [], first: [], last: [],
    special: new Array(nb).fill(null) });
  return {
    from: body.from / 1000,
    to: body.to / 1000,
    buckets: nb,
    series: ids.map((id) => {
      const c = byId.get(String(id));
      if (!c) return empty();
      return {
        n: c.n, min: c.min, max: c.max, first: c.first, last: c.last,
        special: (c.special || []).map((sp) => (sp ? { kind: sp.last, count: sp.count } : null)),
      };
    }),
  };
}

/** One channel of core's decimation (wasm hok.decimate / decimate.minmax). */
export function fromCore(d, kindNames) {
  const nb = d.min.length;
  const count = d.count || d.n;
  const special = new Array(nb);
  for (let i = 0; i < nb; i++) {
    special[i] = d.nSpecial[i] > 0 ? { kind: kindNames[d.special[i]] || 'error', count: d.nSpecial[i] } : null;
  }
  return { n: count, min: d.min, max: d.max, first: d.first, last: d.last, special };
}

/**
 * Series "s" of buckets over "src" ({from, to, buckets}) moved by "shift"
 * ms and merged into the buckets of "dst": each source bucket goes whole
 * to the destination bucket holding its middle. Used to overlay a second
 * period on the first (comparison mode), and whenever two answers came on
 * different bucket grids (the server aligns buckets of an hour or more to
 * UTC hours).
 */
export function rebucket(s, src, dst, shift = 0) {
  const nb = dst.buckets;
  const out = {
    n: new Array(nb).fill(0), min: new Array(nb).fill(null), max: new Array(nb).fill(null),
    first: new Array(nb).fill(null), last: new Array(nb).fill(null), special: new Array(nb).fill(null),
  };
  const w = (src.to - src.from) / src.buckets;
  for (let j = 0; j < src.buckets; j++) {
    const sp = s.special && s.special[j];
    if (!(s.n[j] > 0) && !sp) continue;
    const i = bucketOf(dst.from, dst.to, nb, src.from + w * (j + 0.5) + shift);
    if (i < 0) continue;
    if (s.n[j] > 0) {
      if (!(out.n[i] > 0)) {
        out.first[i] = s.first[j];
        out.min[i] = s.min[j];
        out.max[i] = s.max[j];
      } else {
        out.min[i] = Math.min(out.min[i], s.min[j]);
        out.max[i] = Math.max(out.max[i], s.max[j]);
      }
      out.last[i] = s.last[j];
      out.n[i] += s.n[j];
    }
    if (sp) {
      const prev = out.special[i];
      out.special[i] = { kind: sp.kind, count: (prev ? prev.count : 0) + sp.count };
    }
  }
  return out;
}
