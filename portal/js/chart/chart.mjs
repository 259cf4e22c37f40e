// The time-series chart (V1, V2, V4, V5) over uPlot: up to 32 series drawn
// from min/max buckets (buckets.mjs), special values as gaps and marks
// (marks.mjs), zoom and pan by drag selection, wheel, buttons, keys and
// touch (gestures.mjs), each asking the data source again for the visible
// range at the plot's pixel width, y-axis settings per channel and for all
// (yaxis.mjs), times in the browser's time zone with Intl (format.mjs).
//
//   const chart = createChart(host, {
//     t,                      // t(key, params): strings of the "viewer" catalogue
//     locale,                 // BCP 47 tag for Intl (e.g. 'de')
//     channels,               // [{key, name, unit}] (at most 64; colour, dash, decimals optional)
//     source,                 // async ({from, to, buckets, channels, signal}) -> block (buckets.mjs)
//     from, to,               // the first range (ms)
//     limits,                 // optional {from, to}: the view never leaves it
//     minSpan,                // optional smallest range (ms), default 1
//     fill,                   // optional: the plot fills the window below its top (the viewer)
//   });
//
// Y axes (V4): every scale gets an axis of its own — channels in automatic
// mode share one scale per unit, a channel with a fixed range has its own —
// so no series is ever drawn against another unit's numbers. Axes alternate
// left and right, each with its unit written above it. When a chart has
// more units than its width has room for axes (about one per 150 px of
// plot), the channels of the extra units start hidden and a note under the
// toolbar names them; showing one from the legend gives it its axis.
//   chart.setRange(from, to, {home}) · chart.zoom(f) · chart.pan(frac) · chart.reset()
//   chart.setChannels(list) · chart.setYSettings(s) · chart.setLocale(locale)
//   chart.reload() · chart.destroy()
//   chart.uplot, chart.block, chart.view   (read-only; tests look at them)
//
// Events on host: 'mc-range' {from, to} when the view changes, 'mc-drawn'
// {from, to, buckets, ms, queryMs, prepareMs, drawMs, refined} once new data
// is drawn (ms: from the start of the query; refined: the exact answer after
// a coarse one), 'mc-error' {error} when the source fails.
import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { toPlot, bucketOf, bucketValue, KINDS } from './buckets.mjs';
import { timeTicks, valueTicks, rangeLabel, dateTime, value as fmtValue, getZone } from './format.mjs';
import { colour } from './palette.mjs';
import { attachGestures } from './gestures.mjs';
import { drawMarks, markSwatch } from './marks.mjs';
import { defaultSettings, scaleKey, effective, openYSettings } from './yaxis.mjs';
import { icon } from './icons.mjs';

export const MAX_CHANNELS = 32; // channels shown at once (V2)
export const MAX_SERIES = 64; // 32 channels, twice in a comparison (V2, V4)
const AXIS_ROOM_PX = 150; // plot width per value axis before extra units start hidden
const MAX_BUCKETS = 4000;

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) if (k) e.appendChild(k);
  return e;
}

function cssVar(node, name, fallback) {
  const v = getComputedStyle(node).getPropertyValue(name).trim();
  return v || fallback;
}

/**
 * Make sure the page has uPlot's and the viewer's style sheets (the shell's
 * index.html links only app.css; offline.html links them itself). Resolves
 * once both are loaded (or failed), so that sizes read afterwards are the
 * styled ones.
 */
export function ensureStyles() {
  const waits = [];
  for (const rel of ['../../vendor/uplot/uPlot.min.css', '../../css/viewer.css']) {
    const href = new URL(rel, import.meta.url).href;
    let link = [...document.querySelectorAll('link[rel=stylesheet]')].find((l) => l.href === href);
    if (!link) {
      link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.appendChild(link);
    }
    if (!link.sheet) {
      waits.push(new Promise((resolve) => {
        link.addEventListener('load', resolve, { once: true });
        link.addEventListener('error', resolve, { once: true });
      }));
    }
  }
  return Promise.all(waits);
}

export function createChart(host, options) {
  // The first query waits for the style sheets: the plot's width (its
  // buckets) is the styled one, not that of an unstyled page.
  let styled = false;
  const stylesReady = ensureStyles().then(() => {
    styled = true;
    fit();
    if (u && !destroyed) {
      const sz = plotSize();
      if (sz.width !== u.width || sz.height !== u.height) u.setSize(sz);
    }
  });
  let t = options.t;
  let locale = options.locale || navigator.language;
  let channels = [];
  let settings = defaultSettings();
  const hidden = new Set();
  let view = { from: options.from, to: options.to };
  let home = { ...view };
  let limits = options.limits || null;
  const minSpan = options.minSpan || 1;
  let block = null, plot = null;
  let u = null;
  let gen = 0; // bumped when channels change: older answers are dropped
  let inFlight = false, dirty = false, ctrl = null;
  let drawnPending = null;
  let rescalePending = false;
  let refineTimer = 0;
  let destroyed = false;

  // ---- DOM
  host.classList.add('mc-chart');
  host.replaceChildren();
  const btn = (name, key, fn) => {
    const b = el('button', { type: 'button', class: 'mc-btn mc-icon-btn', title: t(key),
      'aria-label': t(key), 'data-testid': `chart-${name}` }, icon(name));
    b.addEventListener('click', fn);
    b.dataset.key = key;
    return b;
  };
  const rangeText = el('span', { class: 'mc-range', 'data-testid': 'chart-range', 'aria-live': 'polite' });
  const status = el('span', { class: 'mc-status', role: 'status' });
  const tools = el('div', { class: 'mc-toolbar', role: 'toolbar' },
    el('div', { class: 'mc-tools' },
      btn('zoomIn', 'chart.zoomIn', () => api.zoom(0.5)),
      btn('zoomOut', 'chart.zoomOut', () => api.zoom(2)),
      btn('left', 'chart.panLeft', () => api.pan(-0.25)),
      btn('right', 'chart.panRight', () => api.pan(0.25)),
      btn('reset', 'chart.reset', () => api.reset()),
      btn('axis', 'chart.yaxis.open', () => openYSettings(host, {
        t, channels: channels.map((c, i) => ({ ...c, colour: c.colour || colour(i) })),
        settings, onApply: (s) => api.setYSettings(s),
      }))),
    rangeText, status);
  const plotWrap = el('div', { class: 'mc-plot', tabIndex: 0, role: 'img',
    'data-testid': 'chart-plot' });
  const emptyNote = el('p', { class: 'mc-empty', 'data-testid': 'chart-empty', hidden: true });
  const note = el('p', { class: 'mc-note', 'data-testid': 'chart-note', role: 'status', hidden: true });
  const hint = el('p', { class: 'mc-hint' });
  const cursorTime = el('div', { class: 'mc-cursor-time', 'aria-live': 'off', 'data-testid': 'chart-cursor-time' });
  const legend = el('ul', { class: 'mc-legend', 'data-testid': 'chart-legend' });
  const side = el('div', { class: 'mc-side' }, note, cursorTime, legend);
  const key = el('div', { class: 'mc-key' });
  const plotBox = el('div', { class: 'mc-plot-box' }, plotWrap, emptyNote);
  const body = el('div', { class: 'mc-body' }, plotBox, side);
  host.append(tools, body, key, hint);

  const dispatch = (name, detail) => host.dispatchEvent(new CustomEvent(name, { detail }));

  // ---- strings (re-applied on a language change)
  function applyStrings() {
    for (const b of tools.querySelectorAll('button[data-key]')) {
      b.title = t(b.dataset.key);  // i18n-keys: chart.*
      b.setAttribute('aria-label', t(b.dataset.key));  // i18n-keys: chart.*
    }
    plotWrap.setAttribute('aria-label', t('chart.plotLabel'));
    hint.textContent = t('chart.hint');
    showRange();
    renderLegend();
    renderKey();
    showNote();
    showEmpty();
  }

  function showRange() {
    rangeText.textContent = Number.isFinite(view.from) && Number.isFinite(view.to) && view.to > view.from
      ? rangeLabel(locale, view.from, view.to) : '';
  }

  function setStatus(state, text = '') {
    host.dataset.state = state;
    status.textContent = text;
    status.classList.toggle('mc-busy', state === 'loading');
  }

  // ---- legend: one entry per channel, click to show/hide, value at the cursor.
  // Names wrap rather than being cut; the value under the cursor has a line
  // of its own.
  let legendItems = [];
  const autoHidden = new Set(); // hidden because their unit had no room for an axis
  function renderLegend() {
    legend.replaceChildren();
    legendItems = channels.map((ch, i) => {
      const sw = el('span', { class: 'mc-swatch' });
      const c = ch.colour || colour(i);
      sw.style.background = ch.dash ? `repeating-linear-gradient(90deg, ${c} 0 4px, transparent 4px 6px)` : c;
      const name = el('span', { class: 'mc-name', text: ch.name });
      const unit = el('span', { class: 'mc-unit', text: ch.unit || '' });
      const val = el('span', { class: 'mc-val', 'data-testid': `legend-value-${i}` });
      const b = el('button', { type: 'button', class: 'mc-legend-btn', 'aria-pressed': String(!hidden.has(ch.key)),
        title: t('chart.toggleSeries') }, sw, el('span', { class: 'mc-label' }, name, unit));
      b.addEventListener('click', () => {
        if (hidden.has(ch.key)) hidden.delete(ch.key); else hidden.add(ch.key);
        autoHidden.delete(ch.key);
        b.setAttribute('aria-pressed', String(!hidden.has(ch.key)));
        li.classList.toggle('mc-off', hidden.has(ch.key));
        // A unit shown or hidden changes the axes: draw again.
        rebuild();
        showNote();
        showEmpty();
      });
      const li = el('li', { class: 'mc-legend-item', 'data-key': ch.key }, b, val);
      li.classList.toggle('mc-off', hidden.has(ch.key));
      legend.appendChild(li);
      return { val, li };
    });
    showIdleValues();
  }

  /** With no cursor: "no values in this period" beside the channels without any. */
  function showIdleValues() {
    legendItems.forEach((it, i) => {
      const s = block && block.series[i];
      const none = s && !s.n.some((n) => n > 0) && !(s.special || []).some(Boolean);
      it.val.textContent = none ? t('chart.noValues') : '';
      it.val.classList.toggle('mc-none', !!none);
    });
  }

  /** The non-empty bucket nearest to bucket b of series s (-1: none). */
  function nearestBucket(s, b) {
    const nb = s.n.length;
    const full = (i) => s.n[i] > 0 || (s.special && s.special[i]);
    for (let d = 1; d < nb; d++) {
      const l = b - d, r = b + d;
      if (l < 0 && r >= nb) break;
      if (l >= 0 && full(l)) return l;
      if (r < nb && full(r)) return r;
    }
    return -1;
  }

  function valueText(v, decimals) {
    const parts = [];
    if (v.lo != null) {
      parts.push(v.lo === v.hi ? fmtValue(locale, v.lo, decimals)
        : t('chart.minMax', { min: fmtValue(locale, v.lo, decimals), max: fmtValue(locale, v.hi, decimals) }));
    }
    if (v.kind) parts.push(t(`chart.special.${v.kind}`));
    return parts.join(' · ');
  }

  function showCursor(idx, left) {
    if (!block || idx == null || left == null || left < 0) {
      cursorTime.textContent = '';
      showIdleValues();
      return;
    }
    const tm = u.posToVal(left, 'x');
    cursorTime.textContent = dateTime(locale, tm, { seconds: true });
    const b = bucketOf(block.from, block.to, block.buckets, tm);
    const w = (block.to - block.from) / block.buckets;
    legendItems.forEach((it, i) => {
      it.val.classList.remove('mc-none');
      const s = block.series[i];
      const v = bucketValue(s, b);
      const dec = channels[i] ? channels[i].decimals : null;
      if (v) { it.val.textContent = valueText(v, dec); return; }
      // Between samples (zoomed in further than their spacing): the nearest
      // sample, with its time (its bucket's middle: within half a pixel).
      const nb = s && b >= 0 ? nearestBucket(s, b) : -1;
      if (nb < 0) { it.val.textContent = t('chart.noValues'); it.val.classList.add('mc-none'); return; }
      const at = block.from + w * (nb + 0.5);
      it.val.textContent = t('chart.nearest', { value: valueText(bucketValue(s, nb), dec),
        time: dateTime(locale, at, { seconds: w < 60000 }) });
    });
  }

  /** The note naming the channels hidden because their unit had no room for an axis. */
  function showNote() {
    const names = channels.filter((c) => autoHidden.has(c.key));
    if (!names.length) { note.hidden = true; note.textContent = ''; return; }
    const units = [...new Set(names.map((c) => c.unit || t('chart.noUnit')))];
    note.textContent = t('chart.unitsHidden', { n: names.length, units: units.join(', '), axes: maxAxes() });
    note.hidden = false;
  }

  /** "No values in this period" over the plot when no shown channel has any. */
  function showEmpty() {
    const shown = channels.map((c, i) => i).filter((i) => !hidden.has(channels[i].key));
    const none = !!block && shown.length > 0 && shown.every((i) => {
      const s = block.series[i];
      return !s || (!s.n.some((n) => n > 0) && !(s.special || []).some(Boolean));
    });
    emptyNote.textContent = none ? t('chart.emptyPeriod') : '';
    emptyNote.hidden = !none;
    host.dataset.empty = String(none);
  }

  // ---- key of the special-value marks present in the data
  function renderKey() {
    key.replaceChildren();
    if (!plot) return;
    const present = new Set();
    plot.marks.forEach((list) => list.forEach((m) => present.add(m.kind)));
    for (const k of KINDS) {
      if (!present.has(k)) continue;
      key.appendChild(el('span', { class: 'mc-key-item', 'data-kind': k },
        markSwatch(k, cssVar(host, '--mc-text', '#333')), el('span', { text: t(`chart.special.${k}`) })));
    }
  }

  // ---- uPlot
  let fillHeight = 0; // the plot's height when it fills the window (options.fill)
  function plotSize() {
    const w = Math.max(200, plotWrap.clientWidth);
    const h = fillHeight || Math.max(180, plotWrap.clientHeight || Math.round(w * 0.5));
    return { width: w, height: h };
  }

  /**
   * options.fill: the plot takes the window's height below its top, so that
   * the whole chart is on the first screen (at least 220 px; the legend sits
   * beside it on a wide screen and below it on a narrow one).
   */
  function fit() {
    const wide = host.clientWidth >= 900;
    host.classList.toggle('mc-wide', wide);
    if (!options.fill) return;
    const top = plotWrap.getBoundingClientRect().top + window.scrollY;
    const reserve = wide ? 12 : 8;
    const hNew = Math.max(220, Math.round(window.innerHeight - top - reserve));
    if (hNew === fillHeight) return;
    fillHeight = hNew;
    plotWrap.style.height = `${hNew}px`;
    side.style.maxHeight = wide ? `${hNew}px` : '';
  }

  /** How many value axes the plot's width has room for. */
  function maxAxes() {
    return Math.max(2, Math.floor(plotSize().width / AXIS_ROOM_PX));
  }

  function buckets() {
    const px = u ? u.bbox.width / uPlot.pxRatio : plotSize().width - 70;
    return Math.max(8, Math.min(MAX_BUCKETS, Math.round(px)));
  }

  /** [{key, unit, members: [i]}] of every scale, in channel order. */
  function scaleGroups() {
    const groups = [];
    channels.forEach((ch, i) => {
      const k = scaleKey(settings, ch);
      let g = groups.find((x) => x.key === k);
      if (!g) groups.push(g = { key: k, unit: ch.unit || '', members: [] });
      g.members.push(i);
    });
    return groups;
  }

  let axisGroups = []; // the groups that have an axis, in axis order
  function buildOpts() {
    const text = cssVar(host, '--mc-text', '#2b2f36');
    const grid = cssVar(host, '--mc-grid', 'rgba(0,0,0,0.07)');
    const scales = {
      x: { time: true, auto: false, range: () => [view.from, view.to] },
    };
    const series = [{}];
    const groups = scaleGroups();
    for (const g of groups) {
      const e = effective(settings, channels[g.members[0]].key);
      scales[g.key] = e.mode === 'fixed'
        ? { auto: false, range: [e.min, e.max] }
        : { auto: true, range: (self, lo, hi) => autoRange(lo, hi) };
    }
    channels.forEach((ch, i) => {
      series.push({
        label: ch.name,
        scale: scaleKey(settings, ch),
        stroke: ch.colour || colour(i),
        width: 1.25,
        spanGaps: false,
        dash: ch.dash ? [6, 4] : undefined,
        // A lone sample (its neighbours beyond gaps) is drawn as a dot.
        points: { show: false, size: 5, fill: ch.colour || colour(i), filter: lonePoints },
        show: !hidden.has(ch.key),
      });
    });
    const axes = [{
      scale: 'x', stroke: text, space: plotSize().width < 500 ? 64 : 90, size: 46,
      grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
      values: (self, splits, ai, space, incr) => timeTicks(locale, splits, incr),
    }];
    // One axis per scale that has a shown channel, alternating left and right.
    axisGroups = groups.filter((g) => g.members.some((i) => !hidden.has(channels[i].key)));
    const unitFont = '12px system-ui, sans-serif';
    axisGroups.forEach((g, j) => {
      const single = g.members.length === 1;
      const ch = channels[g.members[0]];
      axes.push({
        scale: g.key, side: j % 2 === 0 ? 3 : 1,
        stroke: single ? (ch.colour || colour(g.members[0])) : text,
        grid: { show: j === 0, stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
        values: (self, splits, ai, space, incr) => valueTicks(locale, splits, incr),
        size: (self, values) => {
          const longest = (values || []).reduce((m, s) => Math.max(m, String(s).length), 3);
          return Math.max(14 + longest * 7, textWidth(g.unit, unitFont) + 12);
        },
      });
    });
    return {
      ...plotSize(),
      ms: 1,
      // Ticks on the days and hours of the chosen time zone (else the browser's).
      ...(getZone() ? { tzDate: (ts) => uPlot.tzDate(new Date(ts), getZone()) } : {}),
      scales, series, axes,
      legend: { show: false },
      // room above for the units, and on the right for the last time label
      padding: [axisGroups.some((g) => g.unit) ? 22 : 12, axisGroups.length > 1 ? 8 : 30, 4, 4],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { show: false },
        bind: { dblclick: () => null },
      },
      hooks: {
        setSelect: [(self) => {
          const sel = self.select;
          if (sel.width < 4) return;
          const a = self.posToVal(sel.left, 'x'), b = self.posToVal(sel.left + sel.width, 'x');
          self.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          api.setRange(a, b);
        }],
        setCursor: [(self) => showCursor(self.cursor.idx, self.cursor.left)],
        draw: [(self) => {
          drawMarks(self, block, plot && plot.marks);
          drawUnits(self, text);
          if (drawnPending) {
            const d = drawnPending;
            drawnPending = null;
            const now = performance.now();
            d.ms = now - d.t0; // request -> drawn
            d.queryMs = d.t1 - d.t0; // the data source (fetch and parse, or core)
            d.prepareMs = d.t2 - d.t1; // buckets -> uPlot arrays
            d.drawMs = now - d.t2; // uPlot: paths and canvas
            delete d.t0; delete d.t1; delete d.t2;
            host.dataset.drawn = String((Number(host.dataset.drawn) || 0) + 1);
            dispatch('mc-drawn', d);
          }
        }],
      },
    };
  }

  // A lone sample shows as a dot (uPlot's points filter): a bucket with a
  // value and no value in the buckets on either side — one value in the
  // period, or samples further apart than the buckets when zoomed in.
  function lonePoints(self, si) {
    const y = self.data[si];
    if (!y) return null;
    const out = [];
    for (let i = 0; i < y.length; i += 4) {
      if (y[i] == null) continue;
      if (y[i - 1] == null && y[i + 4] == null) out.push(i);
    }
    return out.length ? out : null;
  }

  function autoRange(lo, hi) {
    if (lo == null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
    if (hi - lo <= Math.abs(hi) * 1e-9) {
      const pad = Math.abs(lo) * 0.05 || 1;
      return [lo - pad, hi + pad];
    }
    return uPlot.rangeNum(lo, hi, 0.08, true);
  }

  let measureCtx = null;
  function textWidth(s, font) {
    if (!s) return 0;
    if (!measureCtx) measureCtx = document.createElement('canvas').getContext('2d');
    measureCtx.font = font;
    return Math.ceil(measureCtx.measureText(s).width);
  }

  // The unit of each value axis, written level above it (uPlot's own axis
  // labels stand on their side, where "V" reads as ">"), in the axis's colour.
  function drawUnits(self, textColour) {
    const ctx = self.ctx;
    const dpr = uPlot.pxRatio;
    const top = self.bbox.top;
    ctx.save();
    ctx.font = `${Math.round(12 * dpr)}px system-ui, sans-serif`;
    ctx.textBaseline = 'bottom';
    axisGroups.forEach((g, j) => {
      const ax = self.axes[j + 1];
      if (!g.unit || !ax || !ax._show) return;
      const single = g.members.length === 1;
      ctx.fillStyle = single ? (channels[g.members[0]].colour || colour(g.members[0])) : textColour;
      const leftSide = ax.side === 3;
      ctx.textAlign = leftSide ? 'right' : 'left';
      const x = leftSide ? ax._pos * dpr - 4 * dpr : ax._pos * dpr + 4 * dpr;
      ctx.fillText(g.unit, x, top - 6 * dpr);
    });
    ctx.restore();
  }

  function data() {
    if (!plot) return [new Float64Array(0), ...channels.map(() => [])];
    return [plot.x, ...plot.ys];
  }

  function rebuild() {
    if (u) u.destroy();
    u = new uPlot(buildOpts(), data(), plotWrap);
    u.root.setAttribute('aria-hidden', 'true');
  }

  // ---- loading: at most one query in flight; changes meanwhile ask again
  async function load() {
    if (destroyed || !channels.length) return;
    if (!styled) {
      await stylesReady;
      if (destroyed || !channels.length) return;
    }
    if (inFlight) { dirty = true; return; }
    inFlight = true;
    dirty = false;
    const myGen = gen;
    const q = { from: view.from, to: view.to, buckets: buckets(), channels: channels.slice() };
    ctrl = new AbortController();
    q.signal = ctrl.signal;
    const t0 = performance.now();
    setStatus('loading', t('chart.loading'));
    try {
      const b = await options.source(q);
      const t1 = performance.now();
      if (destroyed || myGen !== gen) return;
      block = b;
      plot = toPlot(b);
      drawnPending = { from: b.from, to: b.to, buckets: b.buckets, t0, t1, t2: performance.now() };
      show();
      if (b.refine) refineLater(b, myGen, q);
    } catch (e) {
      if (destroyed || myGen !== gen || (e && e.name === 'AbortError')) return;
      setStatus('error', t('chart.loadFailed'));
      dispatch('mc-error', { error: e });
    } finally {
      inFlight = false;
      ctrl = null;
      if (dirty && !destroyed) {
        dirty = false;
        setTimeout(load, 0);
      }
    }
  }

  function show() {
    rescalePending = false;
    if (!u) rebuild();
    else {
      u.setData(data(), false);
      u.setScale('x', { min: view.from, max: view.to });
    }
    renderKey();
    showEmpty();
    if (!(u && u.cursor.left >= 0)) showIdleValues();
    setStatus('ready');
  }

  // A source may answer coarsely first (block.refine(): the exact buckets,
  // see filesource.mjs); the exact answer is drawn next if the view has
  // not moved meanwhile.
  function refineLater(b, myGen, q) {
    clearTimeout(refineTimer);
    const current = () => !destroyed && myGen === gen && !inFlight && !dirty &&
      view.from === q.from && view.to === q.to;
    refineTimer = setTimeout(async () => {
      if (!current()) return;
      const t0 = performance.now();
      const r = await b.refine();
      if (!current()) return;
      const t1 = performance.now();
      block = r;
      plot = toPlot(r);
      drawnPending = { from: r.from, to: r.to, buckets: r.buckets, t0, t1, t2: performance.now(), refined: true };
      show();
    }, 30);
  }

  // ---- view changes
  function clampView(from, to) {
    // Whole milliseconds unless zoomed below a second: uPlot lays out time
    // ticks from the scale's minimum and a fraction of a millisecond there
    // shifts every tick by one (11:59 instead of 12:00).
    if (to - from > 1000) {
      from = Math.round(from);
      to = Math.round(to);
    }
    let span = Math.max(minSpan, to - from);
    if (limits) {
      span = Math.min(span, limits.to - limits.from);
      from = Math.min(Math.max(from, limits.from), limits.to - span);
    }
    return { from, to: from + span };
  }

  let fetchTimer = 0;
  function showView(from, to, { fetch = true, delay = 0 } = {}) {
    if (!Number.isFinite(from) || !Number.isFinite(to)) return;
    view = clampView(from, to);
    showRange();
    // Show the new range with the data at hand on the next frame, unless new
    // data is drawn before it (a fast source): one drawing instead of two.
    if (u && !rescalePending) {
      rescalePending = true;
      requestAnimationFrame(() => {
        if (!rescalePending || !u) return;
        rescalePending = false;
        u.setScale('x', { min: view.from, max: view.to });
      });
    }
    dispatch('mc-range', { ...view });
    if (!fetch) return;
    clearTimeout(fetchTimer);
    if (delay) fetchTimer = setTimeout(load, delay);
    else load();
  }

  const detachGestures = attachGestures(plotWrap, {
    area: () => (u ? u.over : null),
    getRange: () => [view.from, view.to],
    // While a finger moves, redraw at once and ask for data at most every
    // 80 ms; when it lifts (or on a wheel notch) ask at once.
    setRange: (from, to, final) => showView(from, to, { delay: final ? 0 : 80 }),
  });

  plotWrap.addEventListener('dblclick', () => api.reset());
  plotWrap.addEventListener('keydown', (e) => {
    const k = e.key;
    if (k === 'ArrowLeft') api.pan(-0.2);
    else if (k === 'ArrowRight') api.pan(0.2);
    else if (k === '+' || k === '=') api.zoom(0.5);
    else if (k === '-' || k === '_') api.zoom(2);
    else if (k === 'Home' || k === 'Escape') api.reset();
    else return;
    e.preventDefault();
  });

  let lastBuckets = 0;
  const onWindowResize = () => { fit(); };
  window.addEventListener('resize', onWindowResize);
  const ro = new ResizeObserver(() => {
    fit();
    if (!u || destroyed) return;
    const sz = plotSize();
    if (sz.width === u.width && sz.height === u.height) return;
    u.setSize(sz);
    const nb = buckets();
    if (Math.abs(nb - lastBuckets) > lastBuckets * 0.1) {
      lastBuckets = nb;
      clearTimeout(fetchTimer);
      fetchTimer = setTimeout(load, 150);
    }
  });
  ro.observe(plotWrap);

  const api = {
    get uplot() { return u; },
    get block() { return block; },
    get view() { return { ...view }; },
    get home() { return { ...home }; },
    get channels() { return channels.slice(); },
    get settings() { return JSON.parse(JSON.stringify(settings)); },
    get element() { return host; },

    /**
     * Show [from, to) (ms); {home: true} also makes it the reset range,
     * {fetch: false} only moves the axis (e.g. before setChannels()).
     */
    setRange(from, to, { home: h = false, fetch = true } = {}) {
      if (h) home = clampView(from, to);
      showView(from, to, { fetch });
    },
    /** Zoom by "f" (0.5 = twice as close) around "at" (0..1 of the width, default the middle). */
    zoom(f, at = 0.5) {
      const span = view.to - view.from, c = view.from + span * at;
      showView(c - span * f * at, c + span * f * (1 - at));
    },
    /** Move by "frac" of the visible span (negative = back in time). */
    pan(frac) {
      const d = (view.to - view.from) * frac;
      showView(view.from + d, view.to + d);
    },
    reset() { showView(home.from, home.to); },
    /** Keep the view inside {from, to} (null: no limit). */
    setLimits(l) { limits = l ? { from: l.from, to: l.to } : null; },

    /** Replace the channels ([{key, name, unit, colour?}], at most MAX_SERIES) and reload. */
    setChannels(list) {
      channels = list.slice(0, MAX_SERIES);
      gen++;
      block = null;
      plot = null;
      for (const k of [...hidden]) if (!channels.some((c) => c.key === k)) hidden.delete(k);
      // More units than the width has room for axes: the extra units' channels
      // start hidden (named in the note; the legend shows them).
      for (const k of autoHidden) hidden.delete(k);
      autoHidden.clear();
      fit();
      const groups = scaleGroups();
      const room = maxAxes();
      groups.slice(room).forEach((g) => g.members.forEach((i) => {
        hidden.add(channels[i].key);
        autoHidden.add(channels[i].key);
      }));
      showNote();
      renderLegend();
      renderKey();
      rebuild();
      lastBuckets = buckets();
      if (ctrl) ctrl.abort();
      inFlight = false;
      if (channels.length) load();
      else setStatus('empty');
    },
    setYSettings(s) {
      settings = { all: { ...s.all }, channels: { ...s.channels } };
      rebuild();
      dispatch('mc-yaxis', api.settings);
    },
    setLocale(lc, tfn) {
      locale = lc;
      if (tfn) t = tfn;
      applyStrings();
      if (u) rebuild();
    },
    reload() { load(); },
    /** Fit the plot to the window again (options.fill) after the page above it changed. */
    fit() { fit(); },
    destroy() {
      destroyed = true;
      window.removeEventListener('resize', onWindowResize);
      clearTimeout(fetchTimer);
      clearTimeout(refineTimer);
      if (ctrl) ctrl.abort();
      ro.disconnect();
      detachGestures();
      if (u) u.destroy();
      u = null;
      host.replaceChildren();
      delete host.__chart;
    },
  };
  host.__chart = api;
  fit();
  applyStrings();
  setStatus('empty');
  if (options.channels) api.setChannels(options.channels);
  return api;
}
