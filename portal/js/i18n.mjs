// Languages (I1): catalogues portal/i18n/<area>/<lang>.json, one per area in
// AREAS, merged. t(key, {name}) fills "{name}" placeholders; a key missing in
// the language falls back to English, then to the key itself. Numbers and
// dates are formatted with Intl for the language, in the time zone of the
// viewing device (V5) unless the user chose one of the ZONES in their
// profile (I2): setTimeZone() — every time the portal shows, and every time
// typed into a form, is then in that zone.
// The chosen language is remembered in localStorage (the code only).
//
// Areas are loaded when needed (issue 16): START_AREAS ('app': the shell,
// sign-in, every page that names no area, and the keys several areas
// share) before the first page; any other area with the first page that
// names it in the route table (pages/index.mjs, areas: [...]) — the router
// awaits loadAreas() with the page's module and style sheets, so that the
// page is drawn once its words are there, in the language and English, and
// tells a failed fetch like a module that could not be loaded. A part shown
// outside its page calls loadAreas() itself (the monitor's "Add to
// dashboard" dialog). The areas loaded are "in use": setLanguage() fetches
// them all in the new language before it switches (a page is never drawn
// half in English). tests/code/portal_i18n.test.mjs checks that every key a
// module uses is in an area loaded where that module runs.
import { dateForm } from './chart/format.mjs';

export const LANGUAGES = [
  { code: 'zh-CN', name: '简体中文' },
  { code: 'ja', name: '日本語' },
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'it', name: 'Italiano' },
];
export const AREAS = ['app', 'viewer', 'alarms', 'reports', 'dashboards'];
export const START_AREAS = ['app'];
const STORE_KEY = 'metron.lang';
const CODES = LANGUAGES.map((l) => l.code);

/**
 * The time zones a user may choose (I2): the specification's list, one IANA
 * zone each. Shown with Intl's own name of the zone in the user's language.
 */
export const ZONES = [
  'Pacific/Pago_Pago', 'Pacific/Honolulu', 'America/Anchorage', 'America/Los_Angeles', 'America/Denver',
  'America/Chicago', 'America/Bogota', 'America/Guayaquil', 'America/Lima', 'America/Havana',
  'America/New_York', 'America/La_Paz', 'America/Santiago', 'America/Argentina/Buenos_Aires',
  'America/Sao_Paulo', 'America/Montevideo', 'UTC', 'Europe/Lisbon', 'Africa/Lagos', 'Europe/Berlin',
  'Africa/Maputo', 'Europe/Athens', 'Asia/Jerusalem', 'Africa/Nairobi', 'Asia/Tehran', 'Asia/Dubai',
  'Asia/Kabul', 'Asia/Karachi', 'Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Dhaka', 'Asia/Thimphu',
  'Indian/Cocos', 'Asia/Bangkok', 'Asia/Jakarta', 'Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Kuala_Lumpur',
  'Asia/Brunei', 'Asia/Manila', 'Asia/Makassar', 'Australia/Perth', 'Asia/Ulaanbaatar', 'Asia/Tokyo',
  'Asia/Seoul', 'Asia/Jayapura', 'Pacific/Palau', 'Australia/Adelaide', 'Australia/Sydney', 'Pacific/Guam',
  'Pacific/Auckland', 'Pacific/Fiji',
];

let current = 'en';
let target = null; // the language setLanguage() is switching to
let switches = 0;
let zone; // undefined: the device's time zone (V5)
let catalogue = {};
let english = {};
// "<area>/<code>" -> the promise of its catalogue; one that could not be
// fetched is forgotten, so that the next page (or "try again") asks again.
const files = new Map();
const loaded = new Map(); // "<area>/<code>" -> the catalogue, once fetched
const inUse = new Set(START_AREAS); // loaded in the current language and merged
const listeners = new Set();

function fetchArea(area, code) {
  const id = `${area}/${code}`;
  let p = files.get(id);
  if (!p) {
    p = fetch(new URL(`../i18n/${id}.json`, import.meta.url)).then(async (res) => {
      if (!res.ok) throw new Error(`catalogue ${id}: HTTP ${res.status}`);
      const cat = await res.json();
      loaded.set(id, cat);
      return cat;
    });
    files.set(id, p);
    p.catch(() => { if (files.get(id) === p) files.delete(id); });
  }
  return p;
}

/** Areas "areas" in language "code" and in English (the fallback), fetched. */
function fetchAreas(areas, code) {
  return Promise.all(areas.flatMap((a) => [fetchArea(a, code), code === 'en' ? null : fetchArea(a, 'en')]));
}

const isLoaded = (area, code) => loaded.has(`${area}/${code}`) && loaded.has(`${area}/en`);

/** The catalogues of the areas in use, merged (in the order of AREAS, as they always were). */
function merge() {
  const pick = (code) => Object.assign({}, ...AREAS.filter((a) => inUse.has(a)).map((a) => loaded.get(`${a}/${code}`) || {}));
  catalogue = pick(current);
  english = current === 'en' ? catalogue : pick('en');
}

/** Whether the areas "areas" are loaded for the language shown (t() has their words). */
export function areasLoaded(areas = []) {
  return areas.every((a) => inUse.has(a) && isLoaded(a, current));
}

/**
 * Load areas "areas" (their catalogues in the language shown, and the one
 * being switched to, and English) and put them in use; resolves when t()
 * has their words, rejects when one could not be fetched (the network).
 */
export async function loadAreas(areas = []) {
  if (areasLoaded(areas) && (!target || areas.every((a) => isLoaded(a, target)))) return;
  for (;;) {
    const langs = [...new Set([current, target].filter(Boolean))];
    await Promise.all(langs.map((code) => fetchAreas(areas, code)));
    // A language chosen meanwhile: its catalogues too.
    if ([current, target].filter(Boolean).every((code) => areas.every((a) => isLoaded(a, code)))) break;
  }
  let added = false;
  for (const a of areas) if (!inUse.has(a)) { inUse.add(a); added = true; }
  if (added) merge();
}

/** Start fetching the areas of a page about to be shown (nothing is put in use; failures are told when shown). */
export function preloadAreas(areas = []) {
  const code = target || current;
  if (code) fetchAreas(areas, code).catch(() => { /* told when the page is shown */ });
}

/** The supported code closest to a browser language tag ('zh-Hans-CN' → 'zh-CN'). */
export function matchLanguage(tag) {
  if (!tag) return null;
  const lower = String(tag).toLowerCase();
  const exact = CODES.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  const base = lower.split('-')[0];
  if (base === 'zh') return 'zh-CN';
  return CODES.find((c) => c === base) || null;
}

/** The remembered language, else the browser's, else English. */
export function preferredLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORE_KEY); } catch { /* blocked */ }
  if (stored && CODES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language]) {
    const m = matchLanguage(tag);
    if (m) return m;
  }
  return 'en';
}

/**
 * Switch to "code" (unknown codes → English), remember it, tell listeners.
 * The areas in use are fetched in the new language first; one that cannot
 * be fetched is no longer in use (the page that needs it asks again when
 * it is drawn again, and tells the failure), the start-up's keep what they
 * have (an empty catalogue at worst, as before areas were loaded lazily).
 */
export async function setLanguage(code, { remember = true } = {}) {
  const lang = CODES.includes(code) ? code : 'en';
  const mine = ++switches;
  target = lang;
  for (;;) {
    const areas = [...inUse];
    const got = await Promise.allSettled(areas.map((a) => fetchAreas([a], lang)));
    got.forEach((g, i) => {
      if (g.status === 'rejected' && !START_AREAS.includes(areas[i])) inUse.delete(areas[i]);
    });
    // Areas put in use meanwhile (a page shown): fetched too.
    if ([...inUse].every((a) => START_AREAS.includes(a) || isLoaded(a, lang))) break;
  }
  if (mine !== switches) return lang; // a later choice wins
  target = null;
  const changed = lang !== current;
  current = lang;
  merge();
  document.documentElement.lang = lang;
  if (remember) {
    try { localStorage.setItem(STORE_KEY, lang); } catch { /* blocked */ }
  }
  translateTree(document);
  if (changed) for (const fn of [...listeners]) fn(lang);
  return lang;
}

/** Load the preferred language (the start-up's areas) once at start-up. */
export async function initI18n() {
  current = null;
  return setLanguage(preferredLanguage(), { remember: false });
}

export function language() { return current || 'en'; }

/** fn(code) after every change; returns a function that unsubscribes. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalogue, key) ||
    Object.prototype.hasOwnProperty.call(english, key);
}

/** The text of "key" with {name} placeholders filled from "params". */
export function t(key, params) {
  let s = catalogue[key];
  if (s === undefined) s = english[key];
  if (s === undefined) return key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  }
  return s;
}

/** Set the text of elements marked data-i18n="key" (and data-i18n-aria-label, -title, -placeholder). */
export function translateTree(root) {
  if (!root || !root.querySelectorAll) return;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);  // i18n-keys: as written (data-i18n attributes: index.html, checked above, and literals in the modules)
  for (const attr of ['aria-label', 'title', 'placeholder']) {
    const data = `data-i18n-${attr}`;
    for (const el of root.querySelectorAll(`[${data}]`)) el.setAttribute(attr, t(el.getAttribute(data)));  // i18n-keys: as written (data-i18n-* attributes, literals in the modules)
  }
}

/** The chosen IANA time zone, or undefined for the device's. */
export function timeZone() { return zone; }

/** The zone times are shown in: the chosen one or the device's. */
export function shownZone() {
  return zone || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Show times in "z" (an IANA name; null/'' = the device's zone). Unknown names are ignored. */
export function setTimeZone(z) {
  let next;
  if (z) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: z });
      next = z;
    } catch { next = undefined; }
  }
  const changed = next !== zone;
  zone = next;
  if (changed) for (const fn of [...zoneListeners]) fn(zone);
}
const zoneListeners = new Set();
/** fn(zone) after every change of the shown time zone; returns an unsubscribe function. */
export function onTimeZoneChange(fn) {
  zoneListeners.add(fn);
  return () => zoneListeners.delete(fn);
}

/** "UTC+09:00" for the offset of zone "z" at time "ms". */
export function offsetLabel(z, ms = Date.now()) {
  const min = zoneOffset(z, ms);
  const sign = min < 0 ? '−' : '+';
  const a = Math.abs(min);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** A zone's name for people in the current language: "Japan Standard Time (UTC+09:00)". */
export function zoneLabel(z) {
  let name = z;
  try {
    const parts = new Intl.DateTimeFormat(language(), { timeZone: z, timeZoneName: 'long' }).formatToParts(new Date());
    const p = parts.find((x) => x.type === 'timeZoneName');
    if (p) name = p.value;
  } catch { /* an unknown zone keeps its id */ }
  return `${name} (${offsetLabel(z)})`;
}

const partsCache = new Map();
/** The wall-clock fields of time "ms" in zone "z" (undefined: the device's). */
export function wallClock(ms, z = zone) {
  const key = z || '';
  let f = partsCache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: z, hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    partsCache.set(key, f);
  }
  const o = {};
  for (const p of f.formatToParts(new Date(ms))) if (p.type !== 'literal') o[p.type] = Number(p.value);
  return { year: o.year, month: o.month, day: o.day, hour: o.hour % 24, minute: o.minute, second: o.second };
}

/** Minutes east of UTC of zone "z" at time "ms". */
export function zoneOffset(z, ms) {
  const w = wallClock(ms, z);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - (ms - (ms % 1000 + 1000) % 1000)) / 60000);
}

/** The time (ms) of a wall-clock time in zone "z" (undefined: the shown zone). */
export function fromWallClock(year, month, day, hour = 0, minute = 0, z = zone) {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  let ms = guess - zoneOffset(z, guess) * 60000;
  ms = guess - zoneOffset(z, ms) * 60000; // again, for a guess across a change of offset
  return ms;
}

/** 'YYYY-MM-DDTHH:MM' in the shown zone, for a date-time field (ui/datefield.mjs, kind 'datetime'). */
export function toInputValue(ms) {
  const w = wallClock(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)}T${p(w.hour)}:${p(w.minute)}`;
}

/** The time (ms) of a date-time field's value in the shown zone (NaN when empty or bad). */
export function fromInputValue(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(s || '');
  if (!m) return NaN;
  return fromWallClock(+m[1], +m[2], +m[3], +m[4], +m[5]);
}

// Intl formatters cost far more to make than to use (a dashboard formats a
// few hundred values and times a refresh): one per language, zone and
// options, kept while they are asked for.
const formatters = new Map();
function formatter(Kind, opts) {
  const key = `${Kind.name}|${language()}|${zone || ''}|${opts ? JSON.stringify(opts) : ''}`;
  let f = formatters.get(key);
  if (!f) {
    if (formatters.size >= 200) formatters.clear();
    f = new Kind(language(), opts);
    formatters.set(key, f);
  }
  return f;
}

export function formatNumber(x, opts) {
  if (x === null || x === undefined || Number.isNaN(x)) return '';
  return formatter(Intl.NumberFormat, opts).format(x);
}

/** Bytes for people (the drive, reports): "1.4 MB" in the current language (decimal units, like the quota). */
export function formatBytes(n) {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
  let v = Number(n) || 0, i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  if (i > 0) return formatNumber(v, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: v < 10 ? 1 : 0 });
  // Bytes as the narrow unit ("B", French "o"), which most languages glue to
  // the number ("0B", "512o"): a space before it, as the other units have ("7.5 kB").
  const parts = formatter(Intl.NumberFormat, { style: 'unit', unit: 'byte', unitDisplay: 'narrow', maximumFractionDigits: 0 })
    .formatToParts(v);
  return parts.map((p, k) => (p.type === 'unit' && k > 0 && parts[k - 1].type !== 'literal' ? `\u00a0${p.value}` : p.value)).join('');
}

function when(v, form, z) {
  if (v === null || v === undefined || v === '') return '';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return '';
  return formatter(Intl.DateTimeFormat, { ...form, timeZone: z }).format(d);
}

// The portal's one form of dates and times (chart/format.mjs dateForm(): the
// language's medium date, "07.12.2026", "2026年12月7日", "Dec 7, 2026"). Pages
// show dates and times only through these three, never with Intl or
// toLocaleString() of their own (tests/code/portal_pages.test.mjs).

/** A date and time (ms since the epoch, or an ISO string) in the shown time zone; seconds: with seconds. */
export function formatDateTime(ms, { seconds = false } = {}) {
  return when(ms, dateForm({ seconds }), zone);
}

/**
 * A period "from – to" (ms or ISO strings) in the shown time zone, in the
 * form of formatDateTime(), the day given once when both ends are on the
 * same day there: "07.12.2026, 00:10 – 01:10", else
 * "07.12.2026, 23:10 – 08.12.2026, 01:10" (the chart's rangeLabel() alike).
 */
export function formatDateTimeRange(from, to, { seconds = false } = {}) {
  const a = formatDateTime(from, { seconds });
  const b = formatDateTime(to, { seconds });
  if (!a || !b) return a || b;
  const oneDay = formatDate(new Date(from).getTime()) === formatDate(new Date(to).getTime());
  return `${a} – ${oneDay ? formatTime(to, { seconds }) : b}`;
}

/** A time of day only (ms or an ISO string) in the shown time zone, for a time of today ("updated at"). */
export function formatTime(ms, { seconds = false } = {}) {
  return when(ms, dateForm({ date: false, seconds }), zone);
}

/**
 * A date only: a '2025-03-31' date is a calendar date (licences are UTC, L1);
 * a time (ms or an ISO string) is shown on its date in zone "z" (a report's
 * time zone), by default the shown one.
 */
export function formatDate(v, z = zone) {
  if (v === null || v === undefined || v === '') return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return when(`${v}T00:00:00Z`, dateForm({ time: false }), 'UTC');
  return when(v, dateForm({ time: false }), z);
}

/**
 * Sentences of the catalogue as one text: after a space in the languages
 * that put one between sentences, joined directly in Japanese and Chinese
 * (whose 。 needs none: "…発生します。 条件…" had a space).
 */
export function joinSentences(parts) {
  return parts.filter(Boolean).join(/^(ja|zh)/.test(language()) ? '' : ' ');
}

/** A common noun of the catalogue for joinList() (term()). */
class Term {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

/**
 * The catalogue's text of "key" as a common noun or noun phrase ("Summary
 * table", "Alarm events"), for joinList(): where it stands alone it keeps
 * the capital it has in the catalogue, after the first item of a list it
 * is written as the language writes such a word inside a sentence
 * (midSentence()). Not for names (a format, an app kind, a product) and
 * never for a user's own names (channels, devices): those are passed to
 * joinList() as plain strings and kept as they are.
 */
export function term(key, params) {
  return new Term(t(key, params));  // i18n-keys: as written (its callers' literals, checked in their modules)
}

// German words that take a capital only at the start of a label: articles,
// determiners and prepositions (a noun keeps its capital anywhere).
const DE_LOWER = new Set(['ein', 'eine', 'einen', 'einem', 'einer', 'eines', 'kein', 'keine', 'keinen', 'keinem',
  'keiner', 'keines', 'der', 'die', 'das', 'den', 'dem', 'des', 'alle', 'allen', 'aller', 'alles', 'jede', 'jeder',
  'jedes', 'jeden', 'jedem', 'beide', 'beiden', 'einige', 'mehrere', 'nur', 'ohne', 'mit', 'je', 'pro', 'für',
  'von', 'vom', 'zu', 'zum', 'zur', 'im', 'in', 'am', 'an', 'auf', 'aus', 'bei', 'nach', 'über', 'unter', 'vor']);

/**
 * Common noun "text" (written as it stands alone) as the language shown
 * writes it inside a sentence: English, French, Spanish and Italian put
 * its first letter in lower case ("Tableau récapitulatif, événements
 * d’alarme") unless its first word is written in capitals (PDF, LR8450);
 * German keeps a noun's capital and lowers only a first word that is an
 * article, a determiner or a preposition ("Übersichtstabelle, alle Kanäle
 * in einem Diagramm"); Japanese and Chinese have no case.
 */
export function midSentence(text) {
  const lang = language();
  const first = /^[^\s]+/u.exec(text);
  if (!first || /^(ja|zh)/.test(lang)) return text;
  const word = first[0];
  if (lang === 'de') {
    return DE_LOWER.has(word.toLocaleLowerCase('de')) ? word.toLocaleLowerCase('de') + text.slice(word.length) : text;
  }
  // Capitals or digits after the first letter: an abbreviation or a model, kept.
  if (/^.[^\s]*[\p{Lu}\d]/u.test(word)) return text;
  const c = text[0];
  return c.toLocaleLowerCase(lang) + text.slice(1);
}

/**
 * Items of a list as one text: "A, B, C", in Japanese and Chinese "A、B、C"
 * (a report's contents said "集計表, …"). An item made by term() is written
 * as inside a sentence after the first ("Summary table, alarm events"); a
 * plain string (a name, a user's text) as it is. Empty items are left out.
 */
export function joinList(items) {
  return items.filter(Boolean).map((x, i) => (x instanceof Term ? (i ? midSentence(x.text) : x.text) : String(x)))
    .join(/^(ja|zh)/.test(language()) ? '、' : ', ');
}

/** "3 minutes ago" for a time in the past. */
export function formatAgo(ms) {
  const d = typeof ms === 'string' ? Date.parse(ms) : ms;
  if (!Number.isFinite(d)) return '';
  const s = Math.round((d - Date.now()) / 1000);
  const rtf = formatter(Intl.RelativeTimeFormat, { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}
