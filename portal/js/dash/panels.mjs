// The six panel kinds of a dashboard (B1): graph + value, graph only,
// value only, picture, values on a picture (B3), alarms. Each is an object
// made once per panel and fed the dashboard's data at every refresh:
//
//   const view = panelView(panel, ctx);   // ctx: {data, core, editing(), onValues(values), openValue(i)}
//   body.append(view.el); view.update();  // after each refresh (and on resize)
//   view.measure?.()                      // optional: read the layout first, so that
//                                         // updating every panel in turn forces none
//   view.destroy();
//
// Graphs: core's decimation of the window to the plot's pixel width and
// core's statistics (min, max, mean) of the window, both in WebAssembly;
// a window the server sent reduced brings the server's statistics (the
// same core function over every sample). Values: the latest with its time,
// special values as words and marks (never as numbers), older than three
// minutes marked "not current", like the monitor.
import { t, language, formatDateTime, formatAgo, formatNumber } from '../i18n.mjs';
import { h, fill } from '../ui/dom.mjs';
import { colour } from '../chart/palette.mjs';
import { fromCore } from '../chart/buckets.mjs';
import { value as fmtValue } from '../chart/format.mjs';
import { valueText, STALE_MS } from '../pages/monitor.mjs';
import { eventSentence } from '../alarms/events.mjs';
import { panelChart } from './panel_chart.mjs';
import { apiUrl } from '../config.mjs';

const MAX_BUCKETS = 4000;

/** A channel's name as the panels show it. */
export function channelLabel(e) {
  if (!e) return '';
  return e.name || e.key || '';
}

/** The sentence for a channel a panel cannot show. */
function problemText(code) {
  return t({ gone: 'dash.channel_gone', inputs: 'dash.preview_inputs', expression: 'dash.preview_expression' }[code] ||
    'dash.no_data');
}

/** The text of a latest value with the channel's (or the value's) decimals. */
function latestText(e, decimals) {
  const v = e && e.latest ? e.latest.v : null;
  return valueText(v, Number.isInteger(decimals) ? decimals : (e ? e.decimals : null));
}

/** "12:04:00 · 2 minutes ago", and whether it is stale. */
function whenOf(e) {
  if (!e || !e.latest) return { text: '', stale: false };
  const ms = e.latest.t;
  return {
    text: `${formatDateTime(ms, { seconds: true })} · ${formatAgo(ms)}`,
    stale: Date.now() - ms > STALE_MS,
  };
}

function valueRow(e, id, data) {
  if (!e) {
    return h('div', { class: 'dash-value dash-value-missing', 'data-channel': String(id) },
      h('span', { class: 'dash-value-name', text: problemText(data.missing.has(id) ? 'gone' : 'none') }));
  }
  const val = latestText(e);
  const when = whenOf(e);
  return h('div', { class: ['dash-value', when.stale && 'stale'], 'data-channel': String(id) },
    h('span', { class: 'dash-value-name', text: channelLabel(e) }),
    h('span', { class: ['dash-value-number', val.cls], 'data-testid': 'dash-value', 'data-special': val.kind || null },
      val.mark ? `${val.mark} ${val.text}` : val.text,
      !val.cls && e.unit ? h('span', { class: 'dash-value-unit', text: e.unit }) : null),
    h('span', { class: 'dash-value-time', text: when.stale ? t('monitor.value_stale', { ago: formatAgo(e.latest.t) }) : when.text }));
}

/* ------------------------------------------------------------- graphs */

function statsOf(s, c) {
  if (s.reduced && s.stats) {
    const st = s.stats;
    return { n: st.n, min: st.min, max: st.max, mean: st.mean };
  }
  if (!s.t.length) return { n: 0, min: null, max: null, mean: null };
  return c.stats.stats(s.t, s.v);
}

function graphView(panel, ctx) {
  const withValues = panel.kind === 'graph_value';
  const plotHost = h('div', { class: 'dash-plot' });
  const legend = h('div', { class: 'dash-legend' });
  const el = h('div', { class: 'dash-graph' }, plotHost, legend);
  let chart = null;
  let chartKey = '';
  let measured = null; // the plot's size, read before this round of updates
  /** Every channel decimated by core to "nb" buckets of window "w", and the legend's rows. */
  function buckets(nb, w, entries, locale, c) {
    const ids = panel.channels;
    const series = [];
    const rows = [];
    ids.forEach((id, i) => {
      const s = ctx.data.samples(id, panel.window);
      const e = entries[i];
      if (s.error) {
        series.push({ n: new Float64Array(nb), min: [], max: [], first: [], last: [], special: new Array(nb).fill(null) });
        rows.push(h('div', { class: 'dash-legend-row dash-legend-problem' },
          h('span', { class: 'dash-swatch', 'data-colour': String(i) }),
          h('span', { class: 'dash-legend-name', text: e ? channelLabel(e) : String(id) }),
          h('span', { class: 'muted', text: problemText(s.error) })));
        return;
      }
      const d = c.decimate.minmax(s.t, s.v, w.from, w.to, nb);
      series.push(fromCore(d, c.SV_NAMES));
      const st = statsOf(s, c);
      const dec = e ? e.decimals : null;
      const num = (x) => (x === null || x === undefined ? '—' : fmtValue(locale, x, dec));
      const val = withValues ? latestText(e) : null;
      const stale = withValues && whenOf(e).stale;
      rows.push(h('div', { class: ['dash-legend-row', stale && 'stale'], 'data-channel': String(id) },
        h('span', { class: 'dash-swatch', 'data-colour': String(i) }),
        h('span', { class: 'dash-legend-name', text: channelLabel(e) }),
        withValues ? h('span', { class: ['dash-legend-value', val.cls], 'data-testid': 'dash-value', 'data-special': val.kind || null,
          title: whenOf(e).text },
        val.mark ? `${val.mark} ${val.text}` : val.text,
        !val.cls && e && e.unit ? h('span', { class: 'dash-value-unit', text: e.unit }) : null) : null,
        h('span', { class: 'dash-legend-stats', 'data-testid': 'dash-stats',
          'data-n': String(st.n), 'data-min': String(st.min), 'data-max': String(st.max), 'data-mean': String(st.mean),
          title: st.n ? t('dash.stats_title', { n: formatNumber(st.n) }) : '' },
        st.n ? t('dash.stats', { min: num(st.min), max: num(st.max), mean: num(st.mean) }) : t('dash.no_values'))));
    });
    return { series, rows };
  }

  return {
    el,
    measure() {
      // Only a drawn graph: before the first drawing its legend is empty,
      // and the legend's rows take their height from the plot.
      measured = chart && legend.firstChild ? chart.measure() : null;
    },
    update() {
      const { data, core: c } = ctx;
      const locale = language();
      const size = measured;
      measured = null;
      const ids = panel.channels;
      const entries = ids.map((id) => data.channel(id));
      const key = entries.map((e, i) => `${ids[i]}:${e ? e.unit : ''}:${e ? e.name : ''}`).join('|') + locale;
      let fresh = false;
      if (!chart || key !== chartKey) {
        fresh = true;
        if (chart) chart.destroy();
        plotHost.replaceChildren();
        chart = panelChart(plotHost, { locale, channels: ids.map((id, i) => ({
          name: channelLabel(entries[i]) || String(id), unit: entries[i] ? entries[i].unit : '', colour: colour(i) })) });
        chartKey = key;
      }
      const w = data.windows[panel.window];
      // Core's decimation to one bucket per pixel column of the plotting
      // area; the axes take their width from the values, so when the first
      // draw changed that width, the buckets are computed once more for it.
      let nb = 0;
      for (let pass = 0; pass < 2; pass++) {
        const want = Math.max(8, Math.min(MAX_BUCKETS, chart.width()));
        if (want === nb) break;
        nb = want;
        const { series, rows } = buckets(nb, w, entries, locale, c);
        chart.draw({ from: w.from, to: w.to, buckets: nb, series }, pass === 0 && !fresh ? size : null);
        fill(legend, rows);
      }
      el.dataset.from = String(w.from);
      el.dataset.to = String(w.to);
      el.dataset.buckets = String(nb);
      el.dataset.plotWidth = String(chart.width());
      el.dataset.drawn = String((Number(el.dataset.drawn) || 0) + 1);
    },
    destroy() { if (chart) chart.destroy(); },
  };
}

/* ------------------------------------------------------------- values */

function valuesView(panel, ctx) {
  const el = h('div', { class: 'dash-values' });
  return {
    el,
    update() {
      fill(el, panel.channels.map((id) => valueRow(ctx.data.channel(id), id, ctx.data)));
    },
    destroy() {},
  };
}

/* ------------------------------------------------------------- pictures */

export function pictureUrl(pic) {
  return apiUrl(`/dashboard-pictures/${pic.id}/content?v=${encodeURIComponent(pic.sha256)}`);
}

/** The picture box: as large as fits the body, the picture's own proportions. */
function fitBox(box, body, pic, rect) {
  const r = rect || body.getBoundingClientRect();
  if (!pic || !r.width) return r.width || 0;
  const aspect = pic.width / pic.height;
  let w = r.width, hgt = w / aspect;
  if (r.height > 40 && hgt > r.height && !body.closest('.dash-stacked')) { hgt = r.height; w = hgt * aspect; }
  box.style.width = `${Math.floor(w)}px`;
  box.style.height = `${Math.floor(hgt)}px`;
  return w;
}

/**
 * The panel's picture into "img" inside "box" in "el"; the sentence in
 * "note" instead when the picture is gone. Returns the picture or null.
 */
function showPicture(panel, ctx, { el, box, img, note }) {
  const pic = ctx.data.picture(panel.picture_id);
  if (!pic) { fill(el, note); note.textContent = t('dash.picture_gone'); return null; }
  if (!box.isConnected) fill(el, box);
  const src = pictureUrl(pic);
  if (img.getAttribute('src') !== src) img.setAttribute('src', src);
  return pic;
}

function pictureView(panel, ctx) {
  const img = h('img', { class: 'dash-img', alt: panel.title || t('dash.kind.picture'), draggable: 'false' });
  const box = h('div', { class: 'dash-imgbox' }, img);
  const el = h('div', { class: 'dash-picture' }, box);
  const note = h('p', { class: 'muted dash-note' });
  let measured = null;
  return {
    el,
    measure() { measured = box.isConnected ? el.getBoundingClientRect() : null; },
    update() {
      const rect = measured;
      measured = null;
      const pic = showPicture(panel, ctx, { el, box, img, note });
      if (pic) fitBox(box, el, pic, rect);
    },
    destroy() {},
  };
}

/**
 * Values placed on a picture (B3): each at x, y (fractions of the picture),
 * its text size scaled with the picture (size px at 800 px wide), its
 * colour, decimals and unit. In edit mode a value is dragged to its place
 * (pointer events; the arrow keys move it by 1 %), and a click opens its
 * settings.
 */
function imageValuesView(panel, ctx) {
  const img = h('img', { class: 'dash-img', alt: panel.title || t('dash.kind.image_values'), draggable: 'false' });
  const layer = h('div', { class: 'dash-layer' });
  const box = h('div', { class: 'dash-imgbox' }, img, layer);
  const el = h('div', { class: 'dash-picture' }, box);
  const note = h('p', { class: 'muted dash-note' });
  let values = panel.values.map((v) => ({ ...v }));
  let scale = 1;
  let measured = null;

  function place(label, v) {
    label.style.left = `${v.x * 100}%`;
    label.style.top = `${v.y * 100}%`;
    label.style.fontSize = `${Math.max(9, v.size * scale)}px`; // legible on a phone
    label.style.color = v.colour;
  }

  function label(v, i) {
    const e = ctx.data.channel(v.channel_id);
    const val = e ? latestText(e, v.decimals) : { text: t('dash.channel_gone_short'), cls: 'special' };
    const unit = v.unit !== null && v.unit !== undefined ? v.unit : (e ? e.unit : '');
    const when = whenOf(e);
    const lab = h('div', {
      class: ['dash-pv', ctx.editing() && 'dash-pv-edit', when.stale && 'stale'],
      'data-index': String(i), 'data-channel': String(v.channel_id), 'data-testid': 'picture-value',
      tabindex: ctx.editing() ? '0' : null, role: ctx.editing() ? 'button' : null,
      title: [channelLabel(e), when.text].filter(Boolean).join(' · '),
      'aria-label': ctx.editing() ? t('dash.value_drag', { name: channelLabel(e) }) : null,
    },
    v.show_name && e ? h('span', { class: 'dash-pv-name', text: channelLabel(e) }) : null,
    h('span', { class: ['dash-pv-value', val.cls], 'data-special': val.kind || null },
      val.mark ? `${val.mark} ${val.text}` : val.text,
      !val.cls && unit ? h('span', { class: 'dash-pv-unit', text: ` ${unit}` }) : null));
    place(lab, v);
    return lab;
  }

  function draw() {
    fill(layer, values.map((v, i) => label(v, i)));
  }

  // Dragging a value (edit mode).
  let drag = null;
  layer.addEventListener('pointerdown', (e) => {
    const lab = e.target.closest('.dash-pv');
    if (!lab || !ctx.editing()) return;
    e.preventDefault();
    lab.setPointerCapture(e.pointerId);
    const i = Number(lab.dataset.index);
    const r = box.getBoundingClientRect();
    drag = { lab, i, x0: e.clientX, y0: e.clientY, v0: { ...values[i] }, r, moved: false };
    lab.classList.add('dash-pv-dragging');
  });
  layer.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = (e.clientX - drag.x0) / drag.r.width, dy = (e.clientY - drag.y0) / drag.r.height;
    if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) > 3) drag.moved = true;
    const v = values[drag.i];
    v.x = Math.round(Math.max(0, Math.min(1, drag.v0.x + dx)) * 10000) / 10000;
    v.y = Math.round(Math.max(0, Math.min(1, drag.v0.y + dy)) * 10000) / 10000;
    place(drag.lab, v);
  });
  const end = (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    d.lab.classList.remove('dash-pv-dragging');
    try { d.lab.releasePointerCapture(e.pointerId); } catch { /* released */ }
    if (d.moved) ctx.onValues(values.map((v) => ({ ...v })));
    else ctx.openValue(d.i);
  };
  layer.addEventListener('pointerup', end);
  layer.addEventListener('pointercancel', end);
  layer.addEventListener('keydown', (e) => {
    const lab = e.target.closest('.dash-pv');
    if (!lab || !ctx.editing()) return;
    const i = Number(lab.dataset.index);
    const step = { ArrowLeft: [-0.01, 0], ArrowRight: [0.01, 0], ArrowUp: [0, -0.01], ArrowDown: [0, 0.01] }[e.key];
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); ctx.openValue(i); return; }
    if (!step) return;
    e.preventDefault();
    const v = values[i];
    v.x = Math.round(Math.max(0, Math.min(1, v.x + step[0])) * 10000) / 10000;
    v.y = Math.round(Math.max(0, Math.min(1, v.y + step[1])) * 10000) / 10000;
    ctx.onValues(values.map((x) => ({ ...x })));
  });

  return {
    el,
    measure() { measured = box.isConnected ? el.getBoundingClientRect() : null; },
    update() {
      const rect = measured;
      measured = null;
      const pic = showPicture(panel, ctx, { el, box, img, note });
      if (!pic) return;
      values = panel.values.map((v) => ({ ...v }));
      scale = fitBox(box, el, pic, rect) / 800;
      draw();
    },
    destroy() {},
  };
}

/* ------------------------------------------------------------- alarms */

function alarmView(panel, ctx) {
  const el = h('div', { class: 'dash-alarms' });
  return {
    el,
    update() {
      const s = ctx.data.alarmSummary;
      if (!s) { fill(el, h('p', { class: 'muted', text: t('dash.alarm_none_service') })); return; }
      const active = s.active || [];
      fill(el,
        h('div', { class: 'dash-alarm-head' },
          h('span', { class: ['dash-alarm-count', s.raised ? 'raised' : 'calm'], 'data-testid': 'alarm-raised', text: formatNumber(s.raised) }),
          h('span', { class: 'dash-alarm-words' },
            h('strong', { text: s.raised ? t('dash.alarm_raised', { n: formatNumber(s.raised) }) : t('dash.alarm_calm') }),
            s.raised ? h('span', { class: 'muted small-text', text: t('dash.alarm_unacked', { n: formatNumber(s.unacked) }) }) : null)),
        active.length ? h('ul', { class: 'dash-alarm-list' }, active.map((ev) => h('li', { class: ev.severity === 'alert' ? 'sev-alert' : 'sev-warning' },
          h('span', { class: `pill ${ev.severity === 'alert' ? 'bad' : 'warn'}`, text: t(`alarms.severity.${ev.severity}`) }),
          h('a', { href: `#/alarms/events/${ev.id}`, text: eventSentence(ev) }),
          h('span', { class: 'muted small-text', title: formatDateTime(ev.time), text: t('alarms.raised_ago', { ago: formatAgo(ev.time) }) })))) : null,
        h('p', { class: 'muted small-text dash-alarm-foot' },
          t('dash.alarm_day', { raised: formatNumber(s.last_24h.raised), cleared: formatNumber(s.last_24h.cleared),
            rules: formatNumber(s.rules.enabled) }), ' ',
          h('a', { href: '#/alarms/events', text: t('dash.alarm_history') })));
    },
    destroy() {},
  };
}

/** The view of one panel (its body). */
export function panelView(panel, ctx) {
  switch (panel.kind) {
    case 'graph_value':
    case 'graph': return graphView(panel, ctx);
    case 'value': return valuesView(panel, ctx);
    case 'picture': return pictureView(panel, ctx);
    case 'image_values': return imageValuesView(panel, ctx);
    default: return alarmView(panel, ctx);
  }
}

/** The channels a panel shows (for its viewer link and the editor). */
export function panelChannels(panel) {
  if (panel.channels) return panel.channels;
  if (panel.values) return [...new Set(panel.values.map((v) => v.channel_id))];
  return [];
}
