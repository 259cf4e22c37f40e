// The time-series viewer (V1-V5): up to 32 channels (route parameters, the
// channel picker over the monitor data, the recent channels) over a period,
// in graph mode (GET /api/v1/data/graph at the chart's pixel width, asked
// again on every zoom and pan), list mode (GET /data/raw, paged), export
// mode (POST /exports with a progress bar) and comparison mode (two periods
// of the same channels, or two channel sets, overlaid). Times are shown in
// the browser's time zone.
//
// Route: #/viewer?channels=1,2&from=<ms>&to=<ms>&mode=graph|list|export|compare
//        &cmp=period|set&bfrom=<ms>&bset=3,4
import { registerPage } from '../router.mjs';
import { t, language, formatDateTime, formatDateTimeRange, formatNumber, toInputValue, fromInputValue, shownZone, zoneLabel } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { session } from '../session.mjs';
import { dateField } from '../ui/datefield.mjs';
import { createChart, ensureStyles } from '../chart/chart.mjs';
import { fromGraph, rebucket } from '../chart/buckets.mjs';
import { colour } from '../chart/palette.mjs';
import { pickChannels, describeChannels, channelHistory, channelLabel, MAX_CHANNELS } from './viewer_picker.mjs';
import { listMode } from './viewer_list.mjs';
import { exportMode } from './viewer_export.mjs';

const MODES = ['graph', 'list', 'export', 'compare'];
const HOUR = 3600e3, DAY = 24 * HOUR;
const RANGES = [['1h', HOUR], ['24h', DAY], ['7d', 7 * DAY], ['30d', 30 * DAY], ['1y', 365 * DAY]];

const ids = (s) => [...new Set(String(s || '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0))];
const num = (s) => (s !== undefined && s !== '' && Number.isFinite(Number(s)) ? Number(s) : null);

// Date-time field values ('YYYY-MM-DDTHH:MM', ui/datefield.mjs) in the shown
// time zone (the user's chosen one, I2, else the browser's).
const toLocalInput = toInputValue;
const fromLocalInput = fromInputValue;

/** The graph route as a chart data source for "list" ([{id}]) over [from, to). */
async function graphQuery(list, from, to, buckets, signal) {
  const chIds = [...new Set(list.map((c) => c.id))];
  const r = await api.get(`/data/graph?channels=${chIds.join(',')}&from=${Math.floor(from * 1000)}` +
    `&to=${Math.ceil(to * 1000)}&buckets=${buckets}`, { signal });
  if (r.status === 0 && r.body && r.body.code === 'aborted') {
    const e = new Error('aborted');
    e.name = 'AbortError';
    throw e;
  }
  if (r.status !== 200) {
    const e = new Error('graph query refused');
    e.body = r.body;
    e.status = r.status;
    throw e;
  }
  return fromGraph(r.body, list.map((c) => c.id));
}

registerPage('viewer', { title: 'viewer.title', render });

async function render(container, params) {
  ensureStyles();
  const now = Date.now();
  const asked = ids(params.channels);
  const st = {
    ids: asked.slice(0, MAX_CHANNELS),
    dropped: asked.slice(MAX_CHANNELS), // more than 32 asked for (a link): named, never dropped silently
    to: num(params.to) ?? now - (now % 60000) + 60000,
    from: null,
    mode: MODES.includes(params.mode) ? params.mode : 'graph',
    cmp: params.cmp === 'set' ? 'set' : 'period',
    bfrom: num(params.bfrom),
    bids: ids(params.bset).slice(0, MAX_CHANNELS),
  };
  st.from = num(params.from) ?? st.to - DAY;
  if (!(st.from < st.to)) st.from = st.to - DAY;
  if (st.bfrom === null) st.bfrom = st.from - (st.to - st.from);

  let meta = await describeChannels([...st.ids, ...st.bids, ...st.dropped]);
  const chans = () => st.ids.map((id) => meta.get(id)).filter(Boolean);
  const bchans = () => st.bids.map((id) => meta.get(id)).filter(Boolean);
  let cleanupBody = null;
  let chart = null;
  let urlTimer = 0;

  function saveUrl() {
    const p = { channels: st.ids, from: Math.round(st.from), to: Math.round(st.to), mode: st.mode };
    if (st.mode === 'compare') Object.assign(p, { cmp: st.cmp, bfrom: Math.round(st.bfrom), bset: st.bids });
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(p)) {
      if (v === undefined || v === null || (Array.isArray(v) && !v.length)) continue;
      sp.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    history.replaceState(null, '', `#/viewer?${sp}`);
  }

  // ---------------------------------------------------------------- head
  const tabs = MODES.map((m) => h('button', { type: 'button', 'aria-pressed': String(m === st.mode),
    'data-mode': m, 'data-testid': `viewer-mode-${m}`, text: t(`viewer.mode.${m}`),
    onclick: () => { st.mode = m; for (const b of tabs) b.setAttribute('aria-pressed', String(b.dataset.mode === m)); saveUrl(); renderSetup(); renderBody(); } }));
  const head = h('div', { class: 'page-head' }, h('h1', { text: t('viewer.title') }),
    h('div', { class: 'segmented vw-modes', role: 'group', 'aria-label': t('viewer.modeLabel') }, tabs));

  // ---------------------------------------------------------------- setup
  // Channels and period. On a phone, once channels are chosen, they fold
  // behind a one-line summary so that the chart is on the first screen.
  const setup = h('div', { class: 'vw-setup-rows' });
  const setupSum = h('summary', { class: 'vw-setup-sum', 'data-testid': 'viewer-setup-summary' });
  const setupBox = h('details', { class: 'panel vw-setup', 'aria-label': t('viewer.setupLabel'),
    open: !(st.ids.length && window.matchMedia('(max-width: 640px)').matches) }, setupSum, setup);
  setupBox.addEventListener('toggle', () => { if (chart) chart.fit(); });
  function renderSummary() {
    setupSum.textContent = t(st.ids.length === 1 ? 'viewer.setupSummary_one' : 'viewer.setupSummary',
      { n: formatNumber(st.ids.length), period: formatDateTimeRange(st.from, st.to) });
  }
  const bodyBox = h('section', { class: 'panel vw-body', 'data-testid': 'viewer-body' });
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'viewer-error' });

  function chips(list, onRemove) {
    return h('ul', { class: 'vw-chips' }, list.map((c, i) => {
      const sw = h('span', { class: 'mc-swatch' });
      sw.style.background = colour(i);
      return h('li', { class: 'vw-chip', 'data-channel': String(c.id) }, sw,
        h('span', { class: 'vw-chip-name', text: channelLabel(c) }),
        h('button', { type: 'button', class: 'icon-btn vw-chip-x', 'aria-label': t('viewer.removeChannel', { name: c.name }),
          text: '×', onclick: () => onRemove(c.id) }));
    }));
  }

  async function choose(which) {
    const isB = which === 'b';
    // Each set (and each period) holds up to 32 channels: a comparison draws
    // up to 64 series, all of them.
    const picked = await pickChannels({ selected: isB ? bchans() : chans(), max: MAX_CHANNELS,
      title: isB ? t('viewer.compare.pickB') : undefined });
    if (!picked) return;
    for (const c of picked) meta.set(c.id, { id: c.id, name: c.name, unit: c.unit, decimals: c.decimals ?? null });
    if (isB) st.bids = picked.map((c) => c.id);
    else { st.ids = picked.map((c) => c.id); st.dropped = []; }
    saveUrl();
    renderSetup();
    renderBody();
  }

  function setPeriod(from, to) {
    st.from = from;
    st.to = to;
    saveUrl();
    renderSetup();
    renderBody();
  }

  /** The chosen channels: inline when few, else folded behind a one-line summary (the chart comes first). */
  function channelRow(list, label, onRemove, chooseBtn, testid) {
    const chipList = list.length ? chips(list, onRemove) : null;
    const head = h('h2', { class: 'vw-label', text: label });
    if (list.length <= 4) return h('div', { class: 'vw-row', 'data-testid': testid }, head, h('div', { class: 'vw-row-body' }, chipList, chooseBtn));
    const names = list.map((c) => c.name).join(', ');
    return h('div', { class: 'vw-row', 'data-testid': testid }, head, h('div', { class: 'vw-row-body' },
      h('details', { class: 'vw-chip-box' }, h('summary', { class: 'vw-chip-sum', text: names }), chipList), chooseBtn));
  }

  function renderSetup() {
    const fromIn = dateField({ kind: 'datetime', id: 'vw-from', label: t('viewer.period.from'), value: toLocalInput(st.from), testid: 'viewer-from' });
    const toIn = dateField({ kind: 'datetime', id: 'vw-to', label: t('viewer.period.to'), value: toLocalInput(st.to), testid: 'viewer-to' });
    const apply = h('button', { type: 'button', class: 'small', text: t('viewer.period.apply'), 'data-testid': 'viewer-apply',
      onclick: () => {
        if (!fromIn.check() || !toIn.check()) return;
        const a = fromLocalInput(fromIn.value), b = fromLocalInput(toIn.value);
        if (!(a < b)) { errorBox.textContent = t('viewer.period.invalid'); errorBox.hidden = false; return; }
        errorBox.hidden = true;
        setPeriod(a, b);
      } });
    const quick = RANGES.map(([k, span]) => h('button', { type: 'button', class: 'small', 'data-range': k,
      text: t(`viewer.period.last.${k}`), onclick: () => {
        const end = Date.now();
        setPeriod(end - span, end);
      } }));
    const rows = [
      channelRow(chans(), t('viewer.channels', { n: st.ids.length, max: MAX_CHANNELS }),
        (id) => { st.ids = st.ids.filter((x) => x !== id); saveUrl(); renderSetup(); renderBody(); },
        h('button', { type: 'button', class: 'small', 'data-testid': 'viewer-choose', text: t('viewer.chooseChannels'),
          onclick: () => choose('a') }), 'viewer-channels'),
      st.dropped.length ? h('p', { class: 'notice warn vw-dropped', 'data-testid': 'viewer-dropped', text: t('viewer.dropped', {
        n: st.dropped.length, max: MAX_CHANNELS,
        names: st.dropped.map((id) => (meta.get(id) ? meta.get(id).name : `#${id}`)).join(', ') }) }) : null,
      h('div', { class: 'vw-row vw-period' },
        h('h2', { class: 'vw-label', text: t('viewer.period.label') }),
        h('div', { class: 'vw-row-body' },
          h('div', { class: 'vw-quick' }, quick),
          h('div', { class: 'vw-range' },
            h('div', { class: 'vw-dt' }, h('label', { for: 'vw-from', text: t('viewer.period.from') }), fromIn),
            h('div', { class: 'vw-dt' }, h('label', { for: 'vw-to', text: t('viewer.period.to') }), toIn), apply),
          h('p', { class: 'help vw-zone', text: t('viewer.zone', { zone: zoneLabel(shownZone()) }) }))),
    ];
    if (st.mode === 'compare') rows.push(compareSetup());
    fill(setup, rows, errorBox);
    renderSummary();
    if (chart) chart.fit();
  }

  function compareSetup() {
    const radio = (v) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'vw-cmp', value: v,
      checked: st.cmp === v, 'data-testid': `compare-${v}`,
      onchange: () => { st.cmp = v; saveUrl(); renderSetup(); renderBody(); } }), h('span', { text: t(`viewer.compare.${v}`) }));
    const parts = [h('div', { class: 'vw-quick' }, radio('period'), radio('set'))];
    if (st.cmp === 'period') {
      const span = st.to - st.from;
      const bIn = dateField({ kind: 'datetime', id: 'vw-bfrom', label: t('viewer.compare.bStart'), value: toLocalInput(st.bfrom), testid: 'compare-bfrom' });
      const setB = (v) => { st.bfrom = v; saveUrl(); renderSetup(); renderBody(); };
      parts.push(
        h('div', { class: 'vw-dt' }, h('label', { for: 'vw-bfrom', text: t('viewer.compare.bStart') }), bIn),
        h('button', { type: 'button', class: 'small', text: t('viewer.period.apply'),
          onclick: () => { if (!bIn.check()) return; const v = fromLocalInput(bIn.value); if (Number.isFinite(v)) setB(v); } }),
        h('div', { class: 'vw-quick' },
          h('button', { type: 'button', class: 'small', text: t('viewer.compare.previous'), onclick: () => setB(st.from - span) }),
          h('button', { type: 'button', class: 'small', text: t('viewer.compare.dayBefore'), onclick: () => setB(st.from - DAY) }),
          h('button', { type: 'button', class: 'small', text: t('viewer.compare.weekBefore'), onclick: () => setB(st.from - 7 * DAY) })));
    } else {
      parts.push(channelRow(bchans(), t('viewer.compare.setB', { n: st.bids.length, max: MAX_CHANNELS }),
        (id) => { st.bids = st.bids.filter((x) => x !== id); saveUrl(); renderSetup(); renderBody(); },
        h('button', { type: 'button', class: 'small', 'data-testid': 'compare-choose-b', text: t('viewer.compare.pickB'),
          onclick: () => choose('b') }), 'viewer-channels-b'));
    }
    return h('div', { class: 'vw-row vw-compare' }, h('h2', { class: 'vw-label', text: t('viewer.compare.label') }),
      h('div', { class: 'vw-row-body' }, parts));
  }

  // ---------------------------------------------------------------- body
  function showError(e) {
    errorBox.textContent = e && e.body ? errorMessage(e.body, e.status) : t('chart.loadFailed');
    errorBox.hidden = false;
  }

  function chartChannels() {
    const a = chans();
    if (st.mode !== 'compare') {
      return a.map((c, i) => ({ key: `a${c.id}`, id: c.id, name: c.name, unit: c.unit, decimals: c.decimals, colour: colour(i) }));
    }
    if (st.cmp === 'period') {
      // Every chosen channel, over both periods (the second dashed): up to 64 series.
      const label = formatDateTime(st.bfrom);
      return [
        ...a.map((c, i) => ({ key: `a${c.id}`, id: c.id, name: c.name, unit: c.unit, decimals: c.decimals, colour: colour(i), set: 'a' })),
        ...a.map((c, i) => ({ key: `b${c.id}`, id: c.id, name: t('viewer.compare.seriesB', { name: c.name, start: label }),
          unit: c.unit, decimals: c.decimals, colour: colour(i), dash: true, set: 'b' })),
      ];
    }
    const b = bchans();
    return [
      ...a.map((c, i) => ({ key: `a${c.id}`, id: c.id, name: c.name, unit: c.unit, colour: colour(i), set: 'a' })),
      ...b.map((c, i) => ({ key: `b${c.id}`, id: c.id, name: c.name, unit: c.unit, colour: colour(a.length + i), dash: true, set: 'b' })),
    ];
  }

  async function source(q) {
    if (st.mode !== 'compare') return graphQuery(q.channels, q.from, q.to, q.buckets, q.signal);
    if (st.cmp === 'set') {
      // Two sets of up to 32 channels each: one graph query per set (the route takes 32).
      const a = q.channels.filter((c) => c.set === 'a'), b = q.channels.filter((c) => c.set === 'b');
      const [blockA, blockB] = await Promise.all([
        graphQuery(a, q.from, q.to, q.buckets, q.signal),
        b.length ? graphQuery(b, q.from, q.to, q.buckets, q.signal) : null,
      ]);
      if (!blockB) return blockA;
      const grid = { from: blockA.from, to: blockA.to, buckets: blockA.buckets };
      return { ...grid, series: [...blockA.series, ...blockB.series.map((sr) => rebucket(sr, blockB, grid, 0))] };
    }
    // Two periods: the same channels over [from, to) and, shifted, over the
    // second period; the second is moved onto the first's buckets.
    const shift = st.bfrom - st.from;
    const a = q.channels.filter((c) => c.set === 'a');
    const [blockA, blockB] = await Promise.all([
      graphQuery(a, q.from, q.to, q.buckets, q.signal),
      graphQuery(a, q.from + shift, q.to + shift, q.buckets, q.signal),
    ]);
    const grid = { from: blockA.from, to: blockA.to, buckets: blockA.buckets };
    return { ...grid, series: [...blockA.series, ...blockB.series.map((s) => rebucket(s, blockB, grid, -shift))] };
  }

  function renderBody() {
    if (cleanupBody) { cleanupBody(); cleanupBody = null; }
    errorBox.hidden = true;
    const list = chans();
    bodyBox.dataset.mode = st.mode;
    if (!list.length) {
      if (chart) { chart.destroy(); chart = null; }
      // An account without any measurement group has no channel to choose:
      // say so, and where a group comes from, rather than offer an empty picker.
      if (!session.groups.length) {
        fill(bodyBox, noGroupNotice());
        return;
      }
      const recent = h('div', { class: 'vw-recent' });
      fill(bodyBox, h('div', { class: 'vw-empty' }, h('p', { text: t('viewer.empty') }),
        h('button', { type: 'button', class: 'primary', text: t('viewer.chooseChannels'), onclick: () => choose('a') })), recent);
      channelHistory().then((hist) => {
        if (!hist.length) return;
        fill(recent, h('h3', { text: t('viewer.recent') }), h('div', { class: 'vw-quick' }, hist.map((c) => h('button', {
          type: 'button', class: 'small', text: channelLabel({ name: c.name || c.key, unit: c.unit }),
          onclick: () => {
            meta.set(c.id, { id: c.id, name: c.name || c.key, unit: c.unit || '' });
            st.ids = [c.id];
            saveUrl(); renderSetup(); renderBody();
          } }))));
      });
      return;
    }
    if (st.mode === 'list') {
      if (chart) { chart.destroy(); chart = null; }
      fill(bodyBox);
      cleanupBody = listMode(bodyBox, { channels: list, from: st.from, to: st.to });
      return;
    }
    if (st.mode === 'export') {
      if (chart) { chart.destroy(); chart = null; }
      fill(bodyBox);
      cleanupBody = exportMode(bodyBox, { channels: list, from: st.from, to: st.to });
      return;
    }
    if (!chart) {
      const host = h('div', { class: 'vw-chart', 'data-testid': 'viewer-chart' });
      fill(bodyBox, host);
      chart = createChart(host, { t, locale: language(), source, from: st.from, to: st.to, fill: true });
      host.addEventListener('mc-error', (e) => showError(e.detail.error));
      host.addEventListener('mc-drawn', () => { errorBox.hidden = true; });
      host.addEventListener('mc-range', (e) => {
        // The range the page set itself (a mode switched, a period applied):
        // nothing to write back. Writing it 300 ms later anyway put the old
        // period back into the inputs while someone was typing a new one.
        if (e.detail.from === st.from && e.detail.to === st.to) return;
        st.bfrom += e.detail.from - st.from; // the second period keeps its distance
        st.from = e.detail.from;
        st.to = e.detail.to;
        clearTimeout(urlTimer);
        urlTimer = setTimeout(() => {
          renderSummary();
          saveUrl();
          // The date fields (ui/datefield.mjs) around the text fields take the value.
          const f = setup.querySelector('#vw-from')?.closest('.datefield'), tt = setup.querySelector('#vw-to')?.closest('.datefield');
          if (f) f.value = toLocalInput(st.from);
          if (tt) tt.value = toLocalInput(st.to);
        }, 300);
      });
    }
    chart.setRange(st.from, st.to, { home: true, fetch: false });
    chart.setChannels(chartChannels());
  }

  fill(container, head, setupBox, bodyBox);
  renderSetup();
  renderBody();
  return () => {
    clearTimeout(urlTimer);
    if (cleanupBody) cleanupBody();
    if (chart) chart.destroy();
    meta = null;
  };
}
