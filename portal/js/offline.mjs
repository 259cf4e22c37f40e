// The offline HOK viewer (D5; offline.html): open a local .hok / .hok2 or
// HIOKI CSV file from a file input or by drag and drop, with no server at
// all. Core (WebAssembly) reads and decimates it (chart/filesource.mjs); the
// chart component draws it and asks for new buckets on every zoom.
//
// It does not use the portal shell: its own small catalogue loader reads
// portal/i18n/viewer/<lang>.json, or the copies the bundle carries when the
// page runs from file:// (window.__METRON_VIEWER_I18N, see
// scripts/bundle-offline.mjs).
import { createChart, MAX_CHANNELS as MAX_SERIES } from './chart/chart.mjs';
import { openFile, core } from './chart/filesource.mjs';
import { number, dateTime } from './chart/format.mjs';
import { fileErrorText } from './chart/fileerrors.mjs';

const LANGUAGES = [
  ['zh-CN', '简体中文'], ['ja', '日本語'], ['en', 'English'], ['es', 'Español'],
  ['fr', 'Français'], ['de', 'Deutsch'], ['it', 'Italiano'],
];
const CODES = LANGUAGES.map(([c]) => c);
const STORE_KEY = 'metron.lang'; // the language code only, shared with the portal

let lang = 'en';
let strings = {};
let english = {};

async function catalogue(code) {
  const inlined = globalThis.__METRON_VIEWER_I18N;
  if (inlined) return inlined[code] || {};
  try {
    const r = await fetch(new URL(`../i18n/viewer/${code}.json`, import.meta.url));
    return r.ok ? await r.json() : {};
  } catch {
    return {};
  }
}

export function t(key, params) {
  let s = strings[key] ?? english[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] == null ? m : String(params[k])));
  return s;
}

function preferred() {
  let stored = null;
  try { stored = localStorage.getItem(STORE_KEY); } catch { /* file:// or blocked */ }
  if (CODES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language]) {
    const low = String(tag).toLowerCase();
    if (low.startsWith('zh')) return 'zh-CN';
    const hit = CODES.find((c) => c.toLowerCase() === low || c === low.split('-')[0]);
    if (hit) return hit;
  }
  return 'en';
}

const $ = (id) => document.getElementById(id);

function h(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (['checked', 'disabled', 'value', 'hidden'].includes(k)) e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}

function translate() {
  document.documentElement.lang = lang;
  document.title = `${t('offline.title')} · Metron`;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);  // i18n-keys: as written (offline.html's data-i18n attributes, checked above)
}

// ---------------------------------------------------------------- state

let chart = null;
let file = null; // the open file (filesource.mjs)
let selected = []; // channel indexes shown
let lastFile = null; // a CSV file, read again when the clock offset changes
let reading = false; // the open file's blocks are still streaming in
// ms from choosing the file: core holds it (open), chart drawn (firstDraw),
// every block in memory (loaded); for scripts/bench-portal
export const timings = { open: 0, firstDraw: 0, loaded: 0 };

function showError(msg) {
  const e = $('ov-error');
  e.textContent = msg;
  e.hidden = !msg;
}

function busy(msg) {
  const b = $('ov-busy');
  b.textContent = msg || '';
  b.hidden = !msg;
}

function errorText(e) {
  return fileErrorText(e, t, (n) => number(lang, n));
}

function formatName(f) {
  return t(`offline.format.${f}`);
}

function renderInfo() {
  const box = $('ov-info');
  if (!file) { box.hidden = true; return; }
  const rows = [
    ['offline.info.file', file.name],
    ['offline.info.format', formatName(file.format)],
    ['offline.info.size', t('offline.info.mb', { n: number(lang, file.size / 1e6, { maximumFractionDigits: 1 }) })],
    ['offline.info.rows', number(lang, file.rows)],
    ['offline.info.channels', number(lang, file.channels.length)],
    ['offline.info.samples', number(lang, file.rows * file.channels.length)],
    ['offline.info.from', file.rows ? dateTime(lang, file.first) : '–'],
    ['offline.info.to', file.rows ? dateTime(lang, file.last) : '–'],
  ];
  const m = file.meta || {};
  for (const k of ['title', 'app', 'device', 'model', 'timezone']) {
    if (m[k]) rows.push([`offline.meta.${k}`, m[k]]);
  }
  const dl = h('dl', { class: 'ov-facts' });
  for (const [k, v] of rows) dl.append(h('dt', { text: t(k) }), h('dd', { text: v }));  // i18n-keys: offline.info.*, offline.meta.*
  const close = h('button', { type: 'button', class: 'small', 'data-testid': 'offline-close',
    text: t('offline.close') });
  close.addEventListener('click', closeFile);
  box.replaceChildren(h('div', { class: 'ov-file-head' }, h('h2', { text: file.name }), close), dl);
  box.hidden = false;
}

function renderChannels() {
  const box = $('ov-channels');
  if (!file) { box.hidden = true; return; }
  const list = h('div', { class: 'ov-chlist' });
  const count = h('span', { class: 'ov-count' });
  const sync = () => {
    count.textContent = t('offline.channels.count', { n: selected.length, max: MAX_SERIES });
    for (const cb of list.querySelectorAll('input')) {
      cb.disabled = !cb.checked && selected.length >= MAX_SERIES;
    }
  };
  file.channels.forEach((ch, i) => {
    const cb = h('input', { type: 'checkbox', checked: selected.includes(i), 'data-index': i });
    cb.addEventListener('change', () => {
      if (cb.checked && !selected.includes(i)) selected.push(i);
      if (!cb.checked) selected = selected.filter((x) => x !== i);
      selected.sort((a, b) => a - b);
      sync();
      showChannels();
    });
    list.append(h('label', { class: 'ov-ch' }, cb,
      h('span', { text: ch.unit ? `${ch.name} [${ch.unit}]` : ch.name })));
  });
  const details = h('details', { class: 'ov-chdetails', open: file.channels.length <= 12 },
    h('summary', {}, h('span', { text: t('offline.channels.title') }), ' ', count), list);
  box.replaceChildren(details);
  sync();
  box.hidden = false;
}

function showChannels() {
  chart.setChannels(selected.map((i) => file.channels[i]));
}

function ensureChart() {
  const host = $('ov-chart');
  host.hidden = false;
  if (chart) return chart;
  chart = createChart(host, {
    t, locale: lang, from: 0, to: 1,
    source: (q) => file.source(q),
  });
  host.addEventListener('mc-drawn', (e) => {
    if (!timings.firstDraw && timings.start) {
      timings.firstDraw = performance.now() - timings.start;
      const f = file;
      setTimeout(() => { if (f === file) f.warm(); }, 50);
    }
    host.dataset.decodedBlocks = String(file ? file.stats.decoded : 0);
    host.dataset.decimateMs = String(file ? file.stats.ms.toFixed(1) : 0);
    host.dataset.drawMs = String(e.detail.ms.toFixed(1));
  });
  return chart;
}

function closeFile() {
  if (chart) {
    chart.setChannels([]);
    $('ov-chart').hidden = true;
  }
  if (file) file.close();
  file = null;
  lastFile = null;
  selected = [];
  document.body.classList.remove('ov-has-file');
  renderInfo();
  renderChannels();
  showError('');
}

/** Open a File (from the input or a drop). */
export async function open(f) {
  showError('');
  timings.start = performance.now();
  timings.firstDraw = 0;
  reading = false;
  busy(t('offline.opening', { name: f.name }));
  try {
    // A HOK file is read piece by piece into wasm memory (held once); a CSV
    // file is parsed into HOK2 in memory (filesource.mjs).
    const head = new Uint8Array(await f.slice(0, 8).arrayBuffer());
    const isCsv = !(head[0] === 0x4d && head[1] === 0x54 && head[2] === 0x48);
    const offset = Number($('ov-offset').value) || 0;
    // A big HOK2 file is charted from its index while its blocks still
    // stream in: the progress shows until the whole file is in memory.
    let shown = -1;
    const progress = (n, total) => {
      const pct = Math.floor((100 * n) / total);
      if (pct === shown) return;
      shown = pct;
      busy(t('offline.reading', { pct: number(lang, n / total, { style: 'percent' }) }));
    };
    const next = await openFile(f, { name: f.name, utcOffsetMinutes: offset, onProgress: progress });
    lastFile = isCsv ? f : null;
    if (file) file.close();
    file = next;
    file.size = f.size;
    timings.open = performance.now() - timings.start;
    timings.loaded = 0;
    const opened = file;
    reading = true;
    file.loaded.then(() => {
      if (opened !== file) return;
      timings.loaded = performance.now() - timings.start;
      reading = false;
      busy('');
    }, (e) => {
      if (opened !== file) return;
      reading = false;
      busy('');
      showError(errorText(e));
    });
    selected = file.channels.slice(0, MAX_SERIES).map((c) => c.index);
    document.body.classList.add('ov-has-file');
    renderInfo();
    renderChannels();
    const c = ensureChart();
    c.setLimits({ from: file.from, to: file.to });
    c.setRange(file.from, file.to, { home: true, fetch: false });
    showChannels();
  } catch (e) {
    console.warn('offline viewer', e);
    showError(errorText(e));
  } finally {
    if (!reading) busy('');
  }
}

async function reopenCsv() {
  if (lastFile) await open(lastFile);
}

function fillOffsets() {
  const sel = $('ov-offset');
  const here = -new Date().getTimezoneOffset();
  const offs = new Set([here]);
  for (let m = -12 * 60; m <= 14 * 60; m += 30) offs.add(m);
  for (const m of [345, 525, 765, 825]) offs.add(m); // +5:45, +8:45, +12:45, +13:45
  const sorted = [...offs].sort((a, b) => a - b);
  const prev = sel.value;
  sel.replaceChildren(...sorted.map((m) => {
    const sign = m < 0 ? '−' : '+';
    const a = Math.abs(m);
    const hhmm = `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
    return h('option', { value: String(m), text: t('offline.utc', { offset: hhmm }) });
  }));
  sel.value = prev !== '' && prev != null && offs.has(Number(prev)) ? prev : String(here);
}

async function setLang(code) {
  lang = CODES.includes(code) ? code : 'en';
  [english, strings] = await Promise.all([catalogue('en'), catalogue(lang)]);
  try { localStorage.setItem(STORE_KEY, lang); } catch { /* file:// or blocked */ }
  translate();
  fillOffsets();
  $('ov-lang').value = lang;
  if (chart) chart.setLocale(lang, t);
  renderInfo();
  renderChannels();
}

export async function start() {
  if (globalThis.__metronOfflineStarted) return;
  globalThis.__metronOfflineStarted = true;
  const sel = $('ov-lang');
  sel.replaceChildren(...LANGUAGES.map(([c, n]) => h('option', { value: c, lang: c, text: n })));
  sel.addEventListener('change', () => setLang(sel.value));
  await setLang(preferred());
  $('ov-starting').remove();
  core().then((m) => { coreModule = m; }, (e) => showError(errorText(e))); // compile the wasm now

  const input = $('ov-file');
  input.addEventListener('change', () => {
    if (input.files && input.files[0]) open(input.files[0]);
    input.value = '';
  });
  $('ov-offset').addEventListener('change', reopenCsv);

  const drop = $('ov-drop');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    drop.classList.add('ov-dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) drop.classList.remove('ov-dragging');
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    drop.classList.remove('ov-dragging');
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) open(f);
  });
  document.body.dataset.ready = 'true';
}

// For tests and scripts/bench-portal.
let coreModule = null;
globalThis.__metronOffline = {
  open, timings,
  get chart() { return chart; },
  get file() { return file; },
  /** Bytes of wasm memory in use by the module (the file is held there once). */
  get heapBytes() { return coreModule ? coreModule.module.HEAPU8.length : 0; },
};

// Evaluated as an ES module (js/offline-boot.js loads it) or inside the
// bundle (whose start() evaluates this module, then calls start() again: a
// no-op), the page starts here.
start();
