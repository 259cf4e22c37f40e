// The alarm preview: the rule evaluated in the browser by core's alarm
// evaluator (WebAssembly: the same code the server runs on ingest) over the
// last 7 days of the channels' stored samples (GET /data/raw, every page),
// with the rows the server would feed it: every sample of CH1, or the times
// at which CH1 and CH2 both have a sample (docs/alarms.md). The chart shows
// the channels and marks where the rule would have raised (red line), the
// time it stayed raised (a band) and where it would have cleared (green
// line); a table lists the occurrences.
//
//   const p = createPreview(host);
//   p.update({ kind: 'condition', rule, channels: [{id, name, unit}, ...] });
//   p.update({ kind: 'no_data', minutes: 15, channels: [{...}] });
//   p.refresh();  // fetch the data again (the window moves to now)
//   p.destroy();
import { t, language, formatNumber, formatDateTime, joinSentences } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { table } from '../ui/table.mjs';
import { createChart } from '../chart/chart.mjs';
import { alarmCore, durationText } from './rule.mjs';

export const PREVIEW_MS = 7 * 86400000;
const PAGE_ROWS = 100000; // the data API's largest page
const MAX_ROWS = 2000000; // what one preview holds (7 days of 1 s data for two channels is 1.2 M)
const LIST_MAX = 200; // occurrences listed under the chart
const MARKS_MAX = 2000; // marks drawn at once (the rest are counted)
const SV_KINDS = ['', 'missing', '+over', '-over', 'break', 'error']; // core's special kinds
const SHORT = { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' };

/** A special value as core's NaN-boxed double (+over/-over are ±∞, as core reads them). */
export function encodeSpecial(kind) {
  if (kind === '+over') return Infinity;
  if (kind === '-over') return -Infinity;
  const k = SV_KINDS.indexOf(kind);
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(4, 0x7ff80000, true);
  dv.setUint32(0, k > 0 ? k : 5, true);
  return dv.getFloat64(0, true);
}

/**
 * The samples of "ids" over [fromMs, toMs) from the data API, every page:
 * {t: Float64Array (µs), cols: [Array of number|string|null per channel], truncated}.
 * Throws {body, status} on a refusal.
 */
export async function fetchRows(ids, fromMs, toMs, { signal, onProgress } = {}) {
  const tAll = [];
  const cols = ids.map(() => []);
  let from = Math.floor(fromMs * 1000);
  const to = Math.ceil(toMs * 1000);
  let truncated = false;
  for (;;) {
    const r = await api.get(`/data/raw?channels=${ids.join(',')}&from=${from}&to=${to}&limit=${PAGE_ROWS}`, { signal });
    if (r.status !== 200) throw Object.assign(new Error('data'), { body: r.body, status: r.status });
    const byId = new Map(r.body.channels.map((c) => [Number(c.id), c.v]));
    for (const x of r.body.t) tAll.push(x);
    ids.forEach((id, k) => { for (const v of byId.get(Number(id)) || r.body.t.map(() => null)) cols[k].push(v); });
    if (onProgress) onProgress(tAll.length);
    if (r.body.next === null || r.body.next === undefined) break;
    if (tAll.length >= MAX_ROWS) { truncated = true; break; }
    from = r.body.next;
  }
  return { t: tAll, cols, truncated };
}

/**
 * The rows core is fed for a rule over "nSlots" channels (1: every sample of
 * CH1; 2: the times where both have one): {tMs, v1, v2} (Float64Array; v2
 * null for one channel) and tUs (the exact µs times).
 */
export function ruleRows(data, nSlots) {
  const n = data.t.length;
  const tUs = [];
  const v1 = [];
  const v2 = [];
  const val = (x) => (typeof x === 'string' ? encodeSpecial(x) : x);
  for (let i = 0; i < n; i++) {
    const a = data.cols[0][i];
    if (a === null || a === undefined) continue;
    if (nSlots === 2) {
      const b = data.cols[1][i];
      if (b === null || b === undefined) continue;
      v2.push(val(b));
    }
    tUs.push(data.t[i]);
    v1.push(val(a));
  }
  return {
    tUs, tMs: Float64Array.from(tUs, (x) => x / 1000),
    v1: Float64Array.from(v1), v2: nSlots === 2 ? Float64Array.from(v2) : null,
  };
}

/**
 * core's evaluation of "rule" over the rows: the occurrences
 * [{raise: {tUs, values}, clear: {tUs, values} | null}] and the count of
 * special-value events. A fresh evaluator, as for a new rule.
 */
export function evaluate(alarm, rule, rows) {
  const ev = alarm.createEvaluator(rule);
  let events;
  try {
    events = ev.feed(rows.tMs, rows.v1, rows.v2);
  } finally {
    ev.free();
  }
  const out = [];
  let specials = 0;
  for (const e of events) {
    // The exact µs time of the row (the event's ms time rounds back to it).
    const tUs = rows.tUs[e.row];
    if (e.kind === 'raise') out.push({ raise: { tUs, values: e.values }, clear: null });
    else if (e.kind === 'clear' && out.length && !out[out.length - 1].clear) {
      out[out.length - 1].clear = { tUs, values: e.values };
    } else if (e.kind === 'special') specials++;
  }
  return { occurrences: out, specials };
}

/**
 * A no-data rule over the sample times of CH1: raised "minutes" after a
 * sample that no other followed in that time, cleared by the next sample
 * (the server checks once a minute, so it comes up to a minute later).
 */
export function evaluateNoData(tUs, minutes, nowUs) {
  const gap = minutes * 60e6;
  const out = [];
  for (let i = 0; i < tUs.length; i++) {
    const next = i + 1 < tUs.length ? tUs[i + 1] : null;
    if ((next === null ? nowUs : next) - tUs[i] > gap) {
      out.push({ raise: { tUs: tUs[i] + gap, values: [] }, clear: next === null ? null : { tUs: next, values: [] } });
    }
  }
  return { occurrences: out, specials: 0 };
}

/** The chart's min/max buckets of the rows' channels over [from, to) (ms). */
function bucketsOf(data, from, to, nb) {
  const series = data.cols.map(() => ({ n: new Array(nb).fill(0), min: [], max: [], first: [], last: [], special: new Array(nb).fill(null) }));
  const w = (to - from) / nb;
  for (let i = 0; i < data.t.length; i++) {
    const tm = data.t[i] / 1000;
    if (tm < from || tm >= to) continue;
    const b = Math.min(nb - 1, Math.floor((tm - from) / w));
    data.cols.forEach((col, k) => {
      const v = col[i];
      if (v === null || v === undefined) return;
      const s = series[k];
      if (typeof v === 'string') {
        const prev = s.special[b];
        s.special[b] = { kind: v, count: (prev ? prev.count : 0) + 1 };
        return;
      }
      if (!s.n[b]) { s.min[b] = s.max[b] = s.first[b] = v; } else {
        if (v < s.min[b]) s.min[b] = v;
        if (v > s.max[b]) s.max[b] = v;
      }
      s.last[b] = v;
      s.n[b]++;
    });
  }
  return { from, to, buckets: nb, series };
}

export function createPreview(host) {
  let input = null;
  let data = null; // {ids, from, to, t, cols, truncated}
  let result = null;
  let chart = null;
  let seq = 0;
  let alive = true;
  let ctrl = null;
  const info = h('p', { class: 'muted', role: 'status', 'data-testid': 'alarm-preview-info' });
  const chartHost = h('div', { class: 'alarm-chart', 'data-testid': 'alarm-preview-chart' });
  const marks = h('div', { class: 'alarm-marks', 'aria-hidden': 'true', 'data-testid': 'alarm-preview-marks' });
  const key = h('p', { class: 'alarm-key small-text' },
    h('span', { class: 'alarm-key-raise', text: t('alarms.preview.key_raise') }),
    h('span', { class: 'alarm-key-band', text: t('alarms.preview.key_band') }),
    h('span', { class: 'alarm-key-clear', text: t('alarms.preview.key_clear') }));
  const list = h('div', { class: 'alarm-preview-list', 'data-testid': 'alarm-preview-list' });
  fill(host, info, chartHost, key, list);
  key.hidden = true;

  function placeMarks() {
    const u = chart && chart.uplot;
    if (!u || !result) { marks.replaceChildren(); return; }
    if (marks.parentNode !== u.over) u.over.appendChild(marks);
    const view = chart.view;
    const x = (ms) => u.valToPos(ms, 'x');
    const nodes = [];
    const endMs = data.to;
    for (const o of result.occurrences) {
      if (nodes.length >= MARKS_MAX) break;
      const r = o.raise.tUs / 1000;
      const c = o.clear ? o.clear.tUs / 1000 : endMs;
      if (c < view.from || r > view.to) continue;
      const left = x(Math.max(r, view.from));
      const right = x(Math.min(c, view.to));
      nodes.push(h('div', { class: 'alarm-band', dataset: { left: String(left), width: String(Math.max(1, right - left)) } }));
      if (r >= view.from) nodes.push(h('div', { class: 'alarm-mark raise', 'data-testid': 'preview-mark', dataset: { kind: 'raise', t: String(o.raise.tUs), left: String(x(r)) } }));
      if (o.clear && c <= view.to) nodes.push(h('div', { class: 'alarm-mark clear', 'data-testid': 'preview-mark', dataset: { kind: 'clear', t: String(o.clear.tUs), left: String(x(c)) } }));
    }
    marks.replaceChildren(...nodes);
    // Positions through CSSOM (the page's CSP allows no inline style attribute).
    for (const n of nodes) {
      n.style.left = `${n.dataset.left}px`;
      if (n.dataset.width) n.style.width = `${n.dataset.width}px`;
    }
  }

  function drawList() {
    const occ = result.occurrences;
    const chs = input.channels;
    const valueText = (vals) => chs.map((c, k) => {
      const v = (vals || [])[k];
      const shown = typeof v === 'number' && Number.isFinite(v) ? formatNumber(v, { maximumSignificantDigits: 6 }) : '—';
      return `${c.name} ${shown}${c.unit ? ` ${c.unit}` : ''}`;
    }).join(' · ');
    const rows = occ.slice(0, LIST_MAX);
    fill(list, table([
      { label: t('alarms.preview.raised_at'), value: (o) => h('span', { 'data-testid': 'preview-raise', 'data-t': String(o.raise.tUs), text: formatDateTime(o.raise.tUs / 1000, SHORT) }) },
      { label: t('alarms.preview.cleared_at'), value: (o) => (o.clear
        ? h('span', { 'data-testid': 'preview-clear', 'data-t': String(o.clear.tUs), text: formatDateTime(o.clear.tUs / 1000, SHORT) })
        : h('span', { class: 'pill bad', text: t('alarms.preview.still_raised') })) },
      { label: t('alarms.preview.lasted'), value: (o) => (o.clear ? durationWords(o.clear.tUs - o.raise.tUs) : '') },
      input.kind === 'no_data' ? null : { label: t('alarms.preview.values'), value: (o) => valueText(o.raise.values) },
    ].filter(Boolean), rows, { empty: t('alarms.preview.none_raised') }),
    occ.length > LIST_MAX ? h('p', { class: 'muted small-text', text: t('alarms.preview.list_more', { n: formatNumber(LIST_MAX), total: formatNumber(occ.length) }) }) : null);
  }

  function summary() {
    const occ = result.occurrences;
    const totalUs = occ.reduce((s, o) => s + ((o.clear ? o.clear.tUs : data.to * 1000) - o.raise.tUs), 0);
    const parts = [];
    const rows = result.rows;
    parts.push(t('alarms.preview.summary_data', { n: formatNumber(rows), from: formatDateTime(data.from), to: formatDateTime(data.to) }));
    if (!occ.length) parts.push(t('alarms.preview.summary_none'));
    else {
      parts.push(t('alarms.preview.summary_raised', { n: formatNumber(occ.length), total: durationWords(totalUs) }));
      if (!occ[occ.length - 1].clear) parts.push(t('alarms.preview.summary_now'));
    }
    if (result.specials) parts.push(t('alarms.preview.summary_specials', { n: formatNumber(result.specials) }));
    if (input.kind === 'no_data') parts.push(t('alarms.preview.no_data_note'));
    if (data.truncated) parts.push(t('alarms.preview.truncated', { n: formatNumber(data.t.length) }));
    return joinSentences(parts);
  }

  function run() {
    if (!input || !data) return;
    const my = seq;
    alarmCore().then((alarm) => {
      if (!alive || my !== seq) return;
      if (input.kind === 'no_data') {
        const rows = ruleRows(data, 1);
        result = { ...evaluateNoData(rows.tUs, input.minutes, data.to * 1000), rows: rows.tUs.length };
      } else {
        const nSlots = input.rule.conditions.some((c) => c.channel === 2) ? 2 : 1;
        const rows = ruleRows(data, nSlots);
        result = { ...evaluate(alarm, input.rule, rows), rows: rows.tUs.length };
      }
      info.textContent = summary();
      info.dataset.state = 'done';
      info.dataset.raised = String(result.occurrences.length);
      key.hidden = false;
      if (!chart) {
        chart = createChart(chartHost, { t, locale: language(), from: data.from, to: data.to,
          source: async (q) => bucketsOf(data, q.from, q.to, q.buckets) });
        chartHost.addEventListener('mc-drawn', placeMarks);
        new ResizeObserver(() => placeMarks()).observe(chartHost);
      }
      const shown = input.channels.map((c) => c.id).join(',');
      if (chart.__shown !== shown || chart.__data !== data) {
        chart.__shown = shown;
        chart.__data = data;
        chart.setRange(data.from, data.to, { home: true, fetch: false });
        chart.setChannels(input.channels.map((c, k) => ({ key: `ch${k + 1}`, name: c.name, unit: c.unit || '' })));
      } else placeMarks();
      drawList();
    }).catch((e) => {
      if (!alive || my !== seq) return;
      console.warn('alarm preview', e);
      info.textContent = t('alarms.preview.failed');
      info.dataset.state = 'failed';
    });
  }

  async function load() {
    const ids = input.channels.map((c) => c.id);
    const my = ++seq;
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const to = Date.now();
    info.textContent = t('alarms.preview.loading');
    info.dataset.state = 'loading';
    try {
      const d = await fetchRows(ids, to - PREVIEW_MS, to, { signal: ctrl.signal,
        onProgress: (n) => { if (my === seq) info.textContent = t('alarms.preview.loading_n', { n: formatNumber(n) }); } });
      if (!alive || my !== seq) return;
      data = { ...d, ids: ids.join(','), from: to - PREVIEW_MS, to };
    } catch (e) {
      if (!alive || my !== seq || (e.body && e.body.code === 'aborted')) return;
      info.textContent = e.body ? errorMessage(e.body, e.status) : t('alarms.preview.failed');
      info.dataset.state = 'failed';
      return;
    }
    run();
  }

  return {
    /** Show the preview of a rule (null: nothing to preview yet, with the reason). */
    update(next, reason) {
      input = next;
      if (!next) {
        seq++;
        info.textContent = reason || t('alarms.preview.wait');
        info.dataset.state = 'waiting';
        result = null;
        placeMarks();
        return;
      }
      const ids = next.channels.map((c) => c.id).join(',');
      if (!data || data.ids !== ids) load();
      else { seq++; run(); }
    },
    refresh() { if (input) load(); },
    get result() { return result; },
    destroy() {
      alive = false;
      if (ctrl) ctrl.abort();
      if (chart) chart.destroy();
    },
  };
}

/** A length of time (µs) as "2 hours 5 minutes" (two largest units). */
export function durationWords(us) {
  const s = Math.max(0, Math.round(us / 1e6));
  const parts = [];
  const add = (n, unit) => parts.push(formatNumber(n, { style: 'unit', unit, unitDisplay: 'long' }));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  if (d) add(d, 'day');
  if (hh) add(hh, 'hour');
  if (mm && parts.length < 2) add(mm, 'minute');
  if (ss && parts.length < 2 && !d) add(ss, 'second');
  if (!parts.length) return durationText(0);
  return parts.slice(0, 2).join(' ');
}
