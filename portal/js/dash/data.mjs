// The data of one dashboard: one request per refresh
// (GET /dashboards/{id}/data, docs/dashboards.md "The refresh"), decoded
// and kept between refreshes, and the samples each panel needs.
//
//   const d = new DashData(id);
//   await d.refresh();              // the whole windows the first time, then
//                                   // what is new (from an hour before the last answer)
//   d.dashboard, d.windows, d.channel(id), d.alarmSummary, d.picture(id)
//   d.samples(channelId, window)    // {t, v, reduced, stats} for a graph
//   await d.previews()              // computed channels evaluated by core
//
// Samples stay typed arrays from the network to the WebAssembly core:
// values are the server's little-endian float64 bytes (special values keep
// core's NaN boxes, which a plain JS array may not keep), times are ms.
import { api } from '../api.mjs';
import { core } from './core.mjs';

const OVERLAP_MS = 3600e3; // each refresh asks again for the last hour (late samples)
const FULL_EVERY_MS = 3600e3; // and for the whole windows once an hour
const WINDOW_MS = { hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };

/** The bytes of base64 text. */
function bytesOf(b64) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(b64);
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Little-endian float64 values from base64 (a fresh, aligned buffer). */
export function float64Of(b64) {
  const b = bytesOf(b64 || '');
  if (b.byteOffset % 8 === 0) return new Float64Array(b.buffer, b.byteOffset, b.byteLength >> 3);
  return new Float64Array(b.slice().buffer, 0, b.byteLength >> 3);
}

/** The times of a series in ms: its runs [first, step, count, ...] (µs) or "t". */
export function timesOf(s) {
  if (s.t_runs) {
    const out = new Float64Array(s.n);
    let k = 0;
    for (let i = 0; i + 2 < s.t_runs.length; i += 3) {
      const t0 = s.t_runs[i] / 1000, step = s.t_runs[i + 1] / 1000, n = s.t_runs[i + 2];
      for (let j = 0; j < n && k < out.length; j++) out[k++] = t0 + j * step;
    }
    return out;
  }
  const us = float64Of(s.t);
  for (let i = 0; i < us.length; i++) us[i] /= 1000;
  return us;
}

/** The first index of sorted "t" at or after "x". */
export function lowerBound(t, x) {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/**
 * old[from, to) followed by "add", in old's own buffer when it has room
 * after the kept part (the window moves on by a minute a refresh: the kept
 * part is not copied, the new samples go into the room behind it), else in
 * a new buffer with room for about forty more refreshes. "old" is given
 * up: its samples past "to" are overwritten.
 */
export function splice(old, from, to, add) {
  const n = to - from + add.length;
  const start = old.byteOffset / 8 + from;
  if (start + n <= old.buffer.byteLength / 8) {
    const out = new Float64Array(old.buffer, start * 8, n);
    out.set(add, to - from);
    return out;
  }
  const out = new Float64Array(new ArrayBuffer(8 * (n + (n >> 2) + 64)), 0, n);
  out.set(old.subarray(from, to), 0);
  out.set(add, to - from);
  return out;
}

function decode(s) {
  return {
    window: s.window, from: s.from / 1000, to: s.to / 1000, partial: s.partial, reduced: s.reduced,
    t: timesOf(s), v: float64Of(s.v), stats: s.stats || null,
  };
}

/**
 * Samples at the times at which every column has one (the server's rule for
 * computed channels, docs/computed.md): [times, values per column]. Values
 * are copied as bits (two 32-bit words), so NaN boxes survive.
 */
export function align(cols) {
  const k = cols.length;
  const first = cols[0];
  const pos = new Int32Array(k);
  const rows = [];
  outer: for (let i = 0; i < first.t.length; i++) {
    const tt = first.t[i];
    for (let j = 1; j < k; j++) {
      const ct = cols[j].t;
      let p = pos[j];
      while (p < ct.length && ct[p] < tt) p++;
      pos[j] = p;
      if (p >= ct.length) break outer;
      if (ct[p] !== tt) continue outer;
    }
    rows.push(i);
  }
  const t = new Float64Array(rows.length);
  const vals = cols.map(() => new Float64Array(rows.length));
  const words = vals.map((v) => new Uint32Array(v.buffer));
  const src = cols.map((c) => new Uint32Array(c.v.buffer, c.v.byteOffset, c.v.length * 2));
  const at = new Int32Array(k);
  rows.forEach((i, r) => {
    const tt = first.t[i];
    t[r] = tt;
    for (let j = 0; j < k; j++) {
      let p = j === 0 ? i : at[j];
      if (j > 0) {
        const ct = cols[j].t;
        while (ct[p] < tt) p++;
        at[j] = p;
      }
      words[j][2 * r] = src[j][2 * p];
      words[j][2 * r + 1] = src[j][2 * p + 1];
    }
  });
  return { t, vals };
}

export class DashData {
  constructor(id) {
    this.id = id;
    this.dashboard = null;
    this.version = 0;
    this.now = 0; // ms, the server's
    this.windows = null; // {hour: {from, to}, ...} ms
    this.entries = new Map();
    this.pictures = new Map();
    this.missing = new Set();
    this.alarmSummary = null;
    this.lastFull = 0;
    this.lastNow = 0;
    this.generation = 0; // moves on with every answer
    this.previewCache = new Map();
    this.bytes = 0; // of the last answer
  }

  /**
   * One refresh: the whole windows the first time and once an hour,
   * otherwise the samples from an hour before the last answer. Resolves to
   * {layout: whether the dashboard itself changed}; rejects with
   * {status, body} on a refusal.
   */
  async refresh({ full = false } = {}) {
    const whole = full || !this.lastNow || Date.now() - this.lastFull > FULL_EVERY_MS;
    const since = whole ? 0 : Math.max(1, Math.floor((this.lastNow - OVERLAP_MS) * 1000));
    const q = new URLSearchParams();
    if (since) q.set('since', String(since));
    q.set('version', String(this.version));
    const r = await api.get(`/dashboards/${this.id}/data?${q}`);
    if (r.status !== 200) throw Object.assign(new Error('dashboard data'), { status: r.status, body: r.body });
    const layout = this.apply(r.body, since);
    if (whole) this.lastFull = Date.now();
    if (this.needFull) {
      this.needFull = false;
      return this.refresh({ full: true });
    }
    return { layout };
  }

  /** Take an answer in; returns whether the dashboard (its layout) changed. */
  apply(body, since) {
    let layout = false;
    if (body.dashboard) {
      this.dashboard = body.dashboard;
      this.version = body.dashboard.version;
      layout = true;
    }
    this.now = body.now / 1000;
    this.lastNow = this.now;
    this.windows = {};
    for (const [w, r] of Object.entries(body.windows)) this.windows[w] = { from: r.from / 1000, to: r.to / 1000 };
    this.alarmSummary = body.alarm_summary;
    this.missing = new Set(body.missing_channels);
    this.pictures = new Map(body.pictures.map((p) => [p.id, p]));
    const next = new Map();
    for (const ch of body.channels) {
      const prev = this.entries.get(ch.id);
      const e = {
        id: ch.id, key: ch.key, name: ch.name, unit: ch.unit, decimals: ch.decimals, panel: ch.panel,
        computed: ch.computed, expression: ch.expression, inputs: ch.inputs, preview: ch.preview,
        latest: ch.latest ? { t: ch.latest.t / 1000, v: ch.latest.v } : null,
        raw: null, reduced: new Map(),
      };
      for (const s of ch.series) {
        const d = decode(s);
        if (d.reduced) { e.reduced.set(d.window, d); continue; }
        if (!d.partial) { e.raw = d; continue; }
        // Only the new samples: merged with what this page has.
        const old = prev && prev.raw;
        if (!old || old.window !== d.window || !since) { this.needFull = true; continue; }
        const wFrom = this.windows[d.window].from;
        const keepFrom = lowerBound(old.t, wFrom), keepTo = lowerBound(old.t, d.from);
        e.raw = {
          ...d, partial: false, from: wFrom,
          t: splice(old.t, keepFrom, keepTo, d.t),
          v: splice(old.v, keepFrom, keepTo, d.v),
        };
      }
      next.set(ch.id, e);
    }
    this.entries = next;
    this.generation++;
    this.previewCache.clear();
    return layout;
  }

  channel(id) { return this.entries.get(id) || null; }
  picture(id) { return this.pictures.get(id) || null; }

  /**
   * The computed channels that are previewed, evaluated by core over their
   * inputs' samples (once per answer). Their values then stand beside the
   * channel: previewCache.get(id) = {t, v} or {error}.
   */
  async previews() {
    const todo = [...this.entries.values()].filter((e) => e.computed && e.preview && !this.previewCache.has(e.id));
    if (!todo.length) return;
    const c = await core();
    for (const e of todo) {
      const cols = (e.inputs || []).map((id) => this.entries.get(id));
      if (!cols.length || cols.some((x) => !x || !x.raw)) {
        this.previewCache.set(e.id, { error: 'inputs' });
        continue;
      }
      let ex = null;
      try {
        ex = c.expr.compile(e.expression);
        const { t, vals } = align(cols.map((x) => x.raw));
        // core wants one array per CHn it names, in the order of n.
        const v = t.length ? ex.eval(ex.inputs.map((k) => vals[k - 1])) : new Float64Array(0);
        this.previewCache.set(e.id, { t, v });
        // Its newest value, when newer than the stored one.
        if (t.length && (!e.latest || t[t.length - 1] > e.latest.t)) {
          const kind = c.specialKind(v[v.length - 1]);
          e.latest = { t: t[t.length - 1], v: kind ? c.SV_NAMES[kind] : v[v.length - 1], preview: true };
        }
      } catch (err) {
        this.previewCache.set(e.id, { error: 'expression' });
      } finally {
        if (ex) ex.free();
      }
    }
  }

  /**
   * The samples a graph of "window" shows of channel "id": {t, v, reduced,
   * stats} with t in ms within the window (views, not copies), or {error}
   * ('gone', 'inputs', 'expression', 'none').
   */
  samples(id, window) {
    const e = this.entries.get(id);
    const w = this.windows && this.windows[window];
    if (!e || !w) return { error: this.missing.has(id) ? 'gone' : 'none' };
    let src = null;
    if (e.computed && e.preview) {
      const p = this.previewCache.get(id);
      if (!p) return { error: 'none' };
      if (p.error) return { error: p.error };
      src = p;
    } else if (e.reduced.has(window)) {
      const r = e.reduced.get(window);
      return { t: r.t, v: r.v, reduced: true, stats: r.stats, from: w.from, to: w.to };
    } else if (e.raw) {
      src = e.raw;
    } else {
      return { t: new Float64Array(0), v: new Float64Array(0), reduced: false, from: w.from, to: w.to };
    }
    const a = lowerBound(src.t, w.from), b = lowerBound(src.t, w.to);
    return { t: src.t.subarray(a, b), v: src.v.subarray(a, b), reduced: false, stats: null, from: w.from, to: w.to };
  }
}

export { WINDOW_MS };
